boxoffice::event_main!(expire_holds);
