boxoffice::http_main!(list_offers);
