boxoffice::sqs_main!(refund_payment);
