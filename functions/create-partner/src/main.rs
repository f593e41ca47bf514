boxoffice::http_main!(create_partner);
