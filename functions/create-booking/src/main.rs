boxoffice::http_main!(create_booking);
