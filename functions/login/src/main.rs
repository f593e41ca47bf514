boxoffice::http_main!(login);
