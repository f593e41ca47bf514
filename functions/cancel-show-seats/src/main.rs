boxoffice::sqs_main!(cancel_show_seats);
