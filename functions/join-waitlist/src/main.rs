boxoffice::http_main!(join_waitlist);
