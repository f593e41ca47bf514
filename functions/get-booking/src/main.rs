boxoffice::http_main!(get_booking);
