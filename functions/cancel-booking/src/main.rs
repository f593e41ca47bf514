boxoffice::http_main!(cancel_booking);
