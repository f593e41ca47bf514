boxoffice::http_main!(route_not_found);
