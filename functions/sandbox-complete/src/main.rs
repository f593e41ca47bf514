boxoffice::http_main!(sandbox_complete);
