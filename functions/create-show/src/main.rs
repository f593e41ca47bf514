boxoffice::http_main!(create_show::handler);
