boxoffice::http_main!(login::handler);
