boxoffice::http_main!(put_show_queue);
