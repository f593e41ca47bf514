boxoffice::http_main!(join_queue);
