boxoffice::event_main!(notify);
