boxoffice::http_main!(get_movie);
