boxoffice::event_main!(queue_sequencer);
