boxoffice::http_main!(list_cities);
