boxoffice::http_main!(show_stats);
