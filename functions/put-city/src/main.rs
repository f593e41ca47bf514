boxoffice::http_main!(put_city);
