boxoffice::http_main!(cancel_show);
