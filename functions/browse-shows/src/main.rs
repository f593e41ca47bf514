boxoffice::http_main!(browse_shows);
