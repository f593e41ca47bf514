boxoffice::http_main!(get_ticket_image);
