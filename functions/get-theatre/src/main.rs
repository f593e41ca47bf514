boxoffice::http_main!(get_theatre);
