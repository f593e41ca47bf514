boxoffice::http_main!(list_movies);
