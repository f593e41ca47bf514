boxoffice::http_main!(put_offer);
