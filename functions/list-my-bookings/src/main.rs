boxoffice::http_main!(list_my_bookings);
