boxoffice::http_main!(list_notifications);
