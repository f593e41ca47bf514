boxoffice::http_main!(create_movie);
