boxoffice::http_main!(get_seat_map);
