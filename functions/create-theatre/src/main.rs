boxoffice::http_main!(create_theatre);
