boxoffice::http_main!(create_show);
