boxoffice::http_main!(register);
