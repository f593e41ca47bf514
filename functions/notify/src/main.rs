boxoffice::event_main!(notify::handler);
