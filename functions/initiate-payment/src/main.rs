boxoffice::http_main!(initiate_payment);
