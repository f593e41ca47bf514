boxoffice::http_main!(verify_ticket);
