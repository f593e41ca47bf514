boxoffice::sqs_main!(confirm_payment);
