boxoffice::http_main!(payment_webhook);
