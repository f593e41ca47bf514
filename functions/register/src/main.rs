boxoffice::http_main!(register::handler);
