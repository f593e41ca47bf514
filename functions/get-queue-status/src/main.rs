boxoffice::http_main!(get_queue_status);
