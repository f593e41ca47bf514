boxoffice::http_main!(best_available);
