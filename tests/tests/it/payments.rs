//! Payments end to end against DynamoDB Local and the SQS/EventBridge emulator: hold → initiate →
//! sandbox → signed webhook → SQS → confirm-payment → ticket; duplicates, ordering, refunds,
//! signatures, batches with failures, tickets, cancellations.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use boxoffice::{
    domain::user::Role,
    payments::{sandbox_webhook, signature::sign, SandboxEvent},
};
use boxoffice_local::counter::sequential_rounds;
use boxoffice_tests::{
    call_on, emails_to, eventually, fixtures::ist, inbox_of, stack_with, Reply, TestStack,
};
use futures::future::join_all;
use serde_json::{json, Value};

struct Booked {
    user_id: String,
    token: String,
    booking_id: String,
    intent: String,
    total: i64,
}

fn seat(i: usize) -> String {
    format!("R{}-{}", i / 20, i % 20)
}

async fn stack() -> TestStack {
    stack_with(&[
        ("HOLD_SECONDS", "600"),
        ("BOOKING_RATE_LIMIT_PER_MINUTE", "1000"),
    ])
    .await
}

/// A customer's booking of `seats` with a payment intent opened.
async fn booked_and_initiated(s: &TestStack, show: &str, seats: &[usize]) -> Booked {
    let (user_id, token) = s.user(Role::Customer).await;
    let ids: Vec<String> = seats.iter().map(|i| seat(*i)).collect();
    let b = s
        .call("POST", "/api/v1/bookings")
        .token(&token)
        .json(&json!({"showId": show, "seatIds": ids}))
        .send()
        .await;
    assert_eq!(b.status, 201, "{}", b.text);
    let booking_id = b.body["bookingId"].as_str().expect("id").to_owned();
    let p = s
        .call("POST", &format!("/api/v1/bookings/{booking_id}/payments"))
        .token(&token)
        .json(&json!({"provider": "sandbox", "returnUrl": "https://app.example.com/return"}))
        .send()
        .await;
    assert_eq!(p.status, 201, "{}", p.text);
    Booked {
        user_id,
        token,
        booking_id,
        intent: p.body["providerPayload"]["paymentIntentId"]
            .as_str()
            .expect("intent")
            .to_owned(),
        total: b.body["pricing"]["total"].as_i64().expect("total"),
    }
}

/// Waits until the refund worker has paid the booking's refund (the sandbox's refund id), and
/// returns the booking.
async fn refund_paid(s: &TestStack, b: &Booked) -> Value {
    let v = eventually(
        &format!("booking {}'s refund paid", b.booking_id),
        120,
        || async {
            let v = booking(s, b).await;
            (v["refund"]["status"] == "SUCCEEDED").then_some(v)
        },
    )
    .await;
    let refund_id = v["refund"]["refundId"].as_str().expect("a refund id");
    assert_eq!(
        v["refund"]["providerRefundId"],
        format!("re_sandbox_{refund_id}").as_str()
    );
    v
}

async fn booking(s: &TestStack, b: &Booked) -> Value {
    s.call("GET", &format!("/api/v1/bookings/{}", b.booking_id))
        .token(&b.token)
        .send()
        .await
        .body
}

async fn wait_status(s: &TestStack, b: &Booked, want: &str) -> Value {
    eventually(&format!("booking {} {want}", b.booking_id), 120, || async {
        let v = booking(s, b).await;
        (v["status"] == want).then_some(v)
    })
    .await
}

/// A signed sandbox webhook, as the provider would send it.
fn webhook(s: &TestStack, b: &Booked, kind: &str, event_id: &str, amount: i64) -> (String, String) {
    let now = s.deps().clock.now_epoch();
    let event = SandboxEvent {
        event_id: event_id.into(),
        kind: kind.into(),
        payment_intent_id: b.intent.clone(),
        amount,
        currency: "INR".into(),
        booking_reference: b.booking_id.clone(),
        timestamp: now,
    };
    sandbox_webhook(&s.deps().config, &event, now).expect("signed")
}

async fn deliver(s: &TestStack, signature: &str, body: &str) -> Reply {
    s.call("POST", "/api/v1/payments/webhooks/sandbox")
        .header("x-signature", signature)
        .raw("application/json", body.to_owned())
        .send()
        .await
}

/// Delivers a signed provider webhook through the endpoint (its own verification and
/// translation onto the queue), expecting the provider's 200.
async fn send_webhook(s: &TestStack, b: &Booked, kind: &str, event_id: &str, amount: i64) {
    let (sig, body) = webhook(s, b, kind, event_id, amount);
    let r = deliver(s, &sig, &body).await;
    assert_eq!(r.status, 200, "{kind} {event_id}: {}", r.text);
}

/// Waits until the payments queue is empty: every delivery applied (deleted by the trigger).
async fn drained(s: &TestStack) {
    eventually("the payments queue to drain", 120, || async {
        (s.queue_depth("PaymentsQueue").await == 0).then_some(())
    })
    .await;
}

/// Takes the `n` messages the webhook queued (its own translation), without applying them.
async fn queued(s: &TestStack, n: usize) -> Vec<String> {
    let bodies = std::sync::Mutex::new(Vec::new());
    eventually(&format!("{n} queued payment messages"), 120, || async {
        let out = s
            .sqs()
            .receive_message()
            .queue_url(s.queue_url("PaymentsQueue"))
            .max_number_of_messages(10)
            .send()
            .await
            .expect("received");
        for m in out.messages.unwrap_or_default() {
            bodies
                .lock()
                .expect("lock")
                .push(m.body.unwrap_or_default());
            s.sqs()
                .delete_message()
                .queue_url(s.queue_url("PaymentsQueue"))
                .receipt_handle(m.receipt_handle.unwrap_or_default())
                .send()
                .await
                .expect("deleted");
        }
        (bodies.lock().expect("lock").len() >= n).then_some(())
    })
    .await;
    let bodies = bodies.into_inner().expect("lock");
    assert_eq!(bodies.len(), n, "exactly the deliveries were queued");
    bodies
}

/// The show's seat items that are SOLD: (seat, the booking it names).
async fn sold_items(s: &TestStack, show: &str) -> Vec<(String, String)> {
    let mut sold: Vec<(String, String)> = s
        .deps()
        .store
        .get_show_collection(show)
        .await
        .expect("read")
        .expect("show")
        .seats
        .into_iter()
        .filter(|i| i.state == "SOLD")
        .map(|i| (i.seat_id, i.booking_id))
        .collect();
    sold.sort();
    sold
}

fn seat_statuses(map: &Value) -> Vec<(String, String)> {
    map["seatMap"]["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["seats"].as_array().cloned().unwrap_or_default())
        .map(|x| {
            (
                x["seatId"].as_str().unwrap_or("").to_owned(),
                x["status"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_flow_confirms_with_a_ticket_and_sells_the_seats() {
    let s = stack().await;
    let triggers = s.start_triggers();
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let b = booked_and_initiated(&s, &show, &[21, 22]).await;
    let done = s
        .call(
            "POST",
            &format!("/api/v1/sandbox/payments/{}/complete", b.intent),
        )
        .token(&b.token)
        .json(&json!({"outcome": "succeeded"}))
        .send()
        .await;
    assert_eq!(done.status, 200, "{}", done.text);

    let confirmed = wait_status(&s, &b, "CONFIRMED").await;
    assert!(confirmed["confirmedAt"].is_string());
    assert_eq!(confirmed["payment"]["status"], "SUCCEEDED");
    let ticket = &confirmed["ticket"];
    assert!(ticket["ticketId"]
        .as_str()
        .is_some_and(|t| t.starts_with("tkt_")));
    assert_eq!(ticket["seatIds"], json!([seat(21), seat(22)]));
    let map = s
        .call("GET", &format!("/api/v1/shows/{show}/seats"))
        .send()
        .await
        .body;
    let sold: Vec<String> = seat_statuses(&map)
        .into_iter()
        .filter(|(_, st)| st == "SOLD")
        .map(|(id, _)| id)
        .collect();
    assert_eq!(sold, vec![seat(21), seat(22)]);
    let browse = s
        .call(
            "GET",
            &format!(
                "/api/v1/cities/blr/movies/{}/shows?date={}",
                f.movie_id,
                boxoffice_tests::fixtures::ist_date(3)
            ),
        )
        .send()
        .await;
    assert_eq!(
        browse.body["theatres"][0]["shows"][0]["availability"]["availableSeats"], 38,
        "{}",
        browse.text
    );

    // The ticket admits once, at the partner's theatre only.
    let code = ticket["qrCodeData"].as_str().expect("code").to_owned();
    let s = &s;
    let verify = |token: String, code: String| async move {
        s.call("POST", "/api/v1/tickets/verify")
            .token(&token)
            .json(&json!({"qrCodeData": code}))
            .send()
            .await
    };
    let (_, stranger) = s.user(Role::Partner).await;
    assert_eq!(verify(stranger, code.clone()).await.status, 403);
    let first = verify(f.partner.clone(), code.clone()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["seatIds"], json!([seat(21), seat(22)]));
    let again = verify(f.partner.clone(), code.clone()).await;
    assert_eq!((again.status, again.code()), (409, "ALREADY_ADMITTED"));
    let mut altered = code.clone().into_bytes();
    let i = altered.len() - 3;
    altered[i] = if altered[i] == b'x' { b'y' } else { b'x' };
    let forged = verify(
        f.partner.clone(),
        String::from_utf8_lossy(&altered).into_owned(),
    )
    .await;
    assert_eq!((forged.status, forged.code()), (400, "VALIDATION_ERROR"));
    assert_eq!(
        verify(f.partner.clone(), "BX1.e30.AAAA".into())
            .await
            .status,
        400
    );
    triggers.stop().await;
}

/// Runs the confirm function on messages as SQS would deliver them.
async fn confirm_directly(deps: &boxoffice::Deps, bodies: Vec<String>) -> Vec<String> {
    let mut event = SqsEvent::default();
    event.records = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let mut m = SqsMessage::default();
            m.message_id = Some(format!("m{i}"));
            m.body = Some(body);
            m
        })
        .collect();
    confirm_payment::handler(deps, event)
        .await
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

/// The provider delivers the same success five times at once, and three more later, then a
/// failure after the fact; all through the webhook endpoint with the triggers running and the
/// email channel on. Exactly once means: one ticket, exactly the booking's seats SOLD to it,
/// one BookingConfirmed on the bus, one inbox entry, one email, nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_delivered_five_times_confirms_once() {
    let sender = format!(
        "tickets-{}@boxoffice.test",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let s = stack_with(&[
        ("HOLD_SECONDS", "600"),
        ("BOOKING_RATE_LIMIT_PER_MINUTE", "1000"),
        ("NOTIFICATION_EMAIL_FROM", sender.as_str()),
    ])
    .await;
    aws_sdk_sesv2::Client::new(&s.stack.sdk)
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .expect("sender verified");
    let tap = s.tap_events().await;
    let triggers = s.start_triggers();
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let b = booked_and_initiated(&s, &show, &[3, 4, 5]).await;
    let email = s
        .deps()
        .store
        .get_user(&b.user_id)
        .await
        .expect("read")
        .expect("user")
        .email;
    let (sig, body) = webhook(&s, &b, "payment.succeeded", "evt_dup_1", b.total);
    let replies = join_all((0..5).map(|_| deliver(&s, &sig, &body))).await;
    assert!(replies
        .iter()
        .all(|r| r.status == 200 && r.body == json!({"received": true})));
    let first = wait_status(&s, &b, "CONFIRMED").await;
    drained(&s).await;
    // And later again, three at once, then a failure reported after the success: nothing changes.
    let again = join_all((0..3).map(|_| deliver(&s, &sig, &body))).await;
    assert!(again.iter().all(|r| r.status == 200));
    send_webhook(&s, &b, "payment.failed", "evt_fail_late", b.total).await;
    drained(&s).await;
    let later = booking(&s, &b).await;
    assert_eq!(later["ticket"], first["ticket"], "one ticket");
    assert_eq!(later["confirmedAt"], first["confirmedAt"]);
    assert_eq!(later["status"], "CONFIRMED");
    assert_eq!(later["payment"]["status"], "SUCCEEDED");
    assert!(later.get("refund").is_none(), "no refund: {later}");

    let mine: Vec<(String, String)> = [3, 4, 5]
        .iter()
        .map(|i| (seat(*i), b.booking_id.clone()))
        .collect();
    assert_eq!(
        sold_items(&s, &show).await,
        mine,
        "exactly the booking's seats are SOLD, each to it"
    );
    let notified = eventually("the confirmation in the inbox", 120, || async {
        let n = inbox_of(&s, &b.token).await;
        (!n.is_empty()).then_some(n)
    })
    .await;
    eventually("the confirmation email", 120, || async {
        (!emails_to(&email).await.is_empty()).then_some(())
    })
    .await;
    eventually("the notify rule's queue to drain", 120, || async {
        (s.rule_queue_depth("notify").await == 0).then_some(())
    })
    .await;
    let types: Vec<Value> = inbox_of(&s, &b.token)
        .await
        .iter()
        .map(|n| json!([n["type"], n["bookingId"]]))
        .collect();
    assert_eq!(
        types,
        vec![json!(["BOOKING_CONFIRMED", b.booking_id])],
        "exactly one notification: {notified:?}"
    );
    let published: Vec<Value> = tap
        .events()
        .await
        .into_iter()
        .filter(|e| e["detail"]["bookingId"] == b.booking_id.as_str())
        .map(|e| e["detail-type"].clone())
        .collect();
    assert_eq!(
        published,
        vec![json!("BookingConfirmed")],
        "exactly one event on the bus"
    );
    let sent = emails_to(&email).await;
    assert_eq!(sent.len(), 1, "exactly one email: {sent:?}");
    triggers.stop().await;
}

#[tokio::test]
async fn a_failure_before_the_success_fails_the_booking_and_refunds_the_success() {
    let s = stack().await;
    let triggers = s.start_triggers();
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let b = booked_and_initiated(&s, &show, &[6, 7]).await;
    send_webhook(&s, &b, "payment.failed", "evt_f", b.total).await;
    let failed = wait_status(&s, &b, "FAILED").await;
    assert_eq!(
        (
            failed["status"].as_str(),
            failed["payment"]["status"].as_str()
        ),
        (Some("FAILED"), Some("FAILED"))
    );
    let map = s
        .call("GET", &format!("/api/v1/shows/{show}/seats"))
        .send()
        .await
        .body;
    assert!(
        seat_statuses(&map).iter().all(|(_, st)| st == "AVAILABLE"),
        "seats released"
    );
    send_webhook(&s, &b, "payment.succeeded", "evt_s", b.total).await;
    drained(&s).await;
    let after = booking(&s, &b).await;
    assert_eq!(after["status"], "FAILED");
    assert_eq!(after["payment"]["status"], "REFUND_INITIATED");
    assert_eq!(after["refund"]["amount"], b.total);
    refund_paid(&s, &b).await;
    assert!(after.get("ticket").is_none());
    assert!(sold_items(&s, &show).await.is_empty(), "nothing sold");
    triggers.stop().await;
}

#[tokio::test]
async fn a_late_payment_is_refunded_when_the_seats_were_taken_and_honoured_when_they_were_not() {
    let s = stack_with(&[
        ("HOLD_SECONDS", "60"),
        ("PAYMENT_WINDOW_SECONDS", "60"),
        ("BOOKING_RATE_LIMIT_PER_MINUTE", "1000"),
    ])
    .await;
    let triggers = s.start_triggers();
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let late = booked_and_initiated(&s, &show, &[10, 11]).await;
    let still_free = booked_and_initiated(&s, &show, &[30, 31]).await;
    s.deps().clock.advance(chrono::Duration::seconds(120));
    // Someone else takes one of the first booking's expired seats.
    let (_, other) = s.user(Role::Customer).await;
    let taker = s
        .call("POST", "/api/v1/bookings")
        .token(&other)
        .json(&json!({"showId": show, "seatIds": [seat(11)]}))
        .send()
        .await;
    assert_eq!(taker.status, 201, "{}", taker.text);

    send_webhook(&s, &late, "payment.succeeded", "evt_late", late.total).await;
    drained(&s).await;
    let refunded = booking(&s, &late).await;
    assert_eq!(refunded["status"], "EXPIRED", "{refunded}");
    refund_paid(&s, &late).await;
    let items = s
        .deps()
        .store
        .get_show_collection(&show)
        .await
        .expect("read")
        .expect("show")
        .seats;
    let s11 = items
        .iter()
        .find(|i| i.seat_id == seat(11))
        .expect("seat 11 held");
    assert_eq!(
        s11.booking_id,
        taker.body["bookingId"].as_str().expect("id"),
        "the other customer keeps the seat"
    );
    assert!(items.iter().all(|i| i.state != "SOLD"), "nothing sold");
    assert!(
        items.iter().all(|i| i.booking_id != late.booking_id),
        "the refunded booking holds nothing"
    );

    // Policy: a payment after the hold time is honoured while every seat is still held by the
    // booking (nobody took them and no sweep has run); otherwise it is refunded.
    send_webhook(
        &s,
        &still_free,
        "payment.succeeded",
        "evt_free",
        still_free.total,
    )
    .await;
    drained(&s).await;
    assert_eq!(booking(&s, &still_free).await["status"], "CONFIRMED");
    triggers.stop().await;
}

#[tokio::test]
async fn mismatched_amounts_are_refunded_not_sold() {
    let s = stack().await;
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let triggers = s.start_triggers();
    let b = booked_and_initiated(&s, &show, &[12]).await;
    // A provider reporting another amount than we asked for is a message it can send.
    send_webhook(&s, &b, "payment.succeeded", "evt_m", b.total - 1).await;
    drained(&s).await;
    let v = booking(&s, &b).await;
    assert_eq!(
        (v["status"].as_str(), v["refund"]["reason"].as_str()),
        (Some("EXPIRED"), Some("amount, currency or intent mismatch"))
    );
    // Not sold: the table has no seat item of this booking (none SOLD, none still held), and its
    // seat is free for anyone.
    let items = seat_items(&s, &show).await;
    assert!(
        items.iter().all(|i| i.booking_id != b.booking_id),
        "the refunded booking holds nothing: {items:?}"
    );
    assert!(
        items.iter().all(|i| i.state != "SOLD"),
        "nothing sold: {items:?}"
    );
    assert!(
        items.iter().all(|i| i.seat_id != seat(12)),
        "its seat has no item: {items:?}"
    );
    let map = s
        .call("GET", &format!("/api/v1/shows/{show}/seats"))
        .send()
        .await
        .body;
    assert!(seat_statuses(&map).contains(&(seat(12), "AVAILABLE".to_owned())));
    let (_, other) = s.user(Role::Customer).await;
    let taken = s
        .call("POST", "/api/v1/bookings")
        .token(&other)
        .json(&json!({"showId": show, "seatIds": [seat(12)]}))
        .send()
        .await;
    assert_eq!(taken.status, 201, "the seat is free again: {}", taken.text);
    assert!(sold_items(&s, &show).await.is_empty(), "nothing sold");
    triggers.stop().await;
}

/// The queue message for a payment, as the webhook would queue it: for the tests that drive
/// confirm-payment's handler directly, under a fault the webhook path cannot inject.
fn message(b: &Booked, outcome: &str, event_id: &str, amount: i64) -> String {
    json!({"provider": "sandbox", "eventId": event_id, "outcome": outcome, "paymentIntentId": b.intent,
           "bookingId": b.booking_id, "amount": amount, "currency": "INR", "occurredAt": 1}).to_string()
}

/// Every seat item of a show, read straight from the table.
async fn seat_items(s: &TestStack, show: &str) -> Vec<boxoffice::store::catalog::SeatItem> {
    s.deps()
        .store
        .get_show_collection(show)
        .await
        .expect("read")
        .expect("show")
        .seats
}

#[tokio::test]
async fn bad_signatures_are_refused_and_never_queued() {
    let s = stack().await;
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let b = booked_and_initiated(&s, &show, &[1]).await;
    let (sig, body) = webhook(&s, &b, "payment.succeeded", "evt_sig", b.total);
    let now = s.deps().clock.now_epoch();
    let wrong_secret = sign(b"not-the-secret", now, body.as_bytes());
    let stale = sign(s.sandbox_webhook_key(), now - 301, body.as_bytes());
    let altered = body.replace(&b.total.to_string(), "1");
    for (what, header, payload) in [
        ("wrong secret", Some(wrong_secret.as_str()), body.as_str()),
        ("altered body", Some(sig.as_str()), altered.as_str()),
        ("stale timestamp", Some(stale.as_str()), body.as_str()),
        ("malformed", Some("v1=abc"), body.as_str()),
        ("missing", None, body.as_str()),
    ] {
        let mut call = s
            .call("POST", "/api/v1/payments/webhooks/sandbox")
            .raw("application/json", payload.to_owned());
        if let Some(h) = header {
            call = call.header("x-signature", h);
        }
        let r = call.send().await;
        assert_eq!(
            (r.status, r.code()),
            (400, "INVALID_SIGNATURE"),
            "{what}: {}",
            r.text
        );
    }
    // Several v1 entries: one matching is enough.
    let both = format!("{},{}", wrong_secret, sig.split(',').nth(1).expect("v1"));
    assert_eq!(deliver(&s, &both, &body).await.status, 200);
    assert_eq!(
        s.call("POST", "/api/v1/payments/webhooks/paypal")
            .raw("application/json", body.clone())
            .send()
            .await
            .status,
        404
    );
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(70 * 1024));
    let too_big = s
        .call("POST", "/api/v1/payments/webhooks/sandbox")
        .header("x-signature", &sign(b"k", now, big.as_bytes()))
        .raw("application/json", big)
        .send()
        .await;
    assert_eq!(too_big.status, 413);
    assert_eq!(
        s.queue_depth("PaymentsQueue").await,
        1,
        "only the genuine delivery was queued"
    );

    // The webhook path makes no DynamoDB call at all.
    let (gw, counter) = s.counted();
    let r = call_on(&gw, "POST", "/api/v1/payments/webhooks/sandbox")
        .header("x-signature", &sig)
        .raw("application/json", body.clone())
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert!(counter.take().is_empty());
}

#[tokio::test]
async fn a_batch_reports_exactly_its_bad_messages_and_confirm_commits_in_two_calls() {
    let s = stack().await;
    let f = s.catalog(60).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let mut booked = Vec::new();
    for i in 0..9 {
        booked.push(booked_and_initiated(&s, &show, &[i * 2]).await);
    }
    let throttled = &booked[4];
    // Its write (the confirm transaction) is throttled; its read goes through.
    let deps = s.deps_throttled_when(&throttled.booking_id, Some("TransactWriteItems"));
    // The messages are the webhook's own: each delivered, signed, through the endpoint, then
    // taken off the queue in the bookings' order to make one batch.
    for (i, b) in booked.iter().enumerate() {
        send_webhook(
            &s,
            b,
            "payment.succeeded",
            &format!("evt_batch_{i}"),
            b.total,
        )
        .await;
    }
    let mut waiting = queued(&s, booked.len()).await;
    let mut bodies: Vec<String> = booked
        .iter()
        .map(|b| {
            let i = waiting
                .iter()
                .position(|m| m.contains(&b.booking_id))
                .expect("queued for its booking");
            waiting.remove(i)
        })
        .collect();
    // Hand-crafted on purpose: the webhook refuses a body that is not JSON (400, never queued),
    // so only a broken producer could put this on the queue; the consumer must fail it alone.
    bodies.insert(7, "{\"this is\": not json".into());
    let failures = confirm_directly(&deps, bodies).await;
    assert_eq!(
        failures,
        vec!["m4".to_owned(), "m7".to_owned()],
        "the throttled one and the malformed one"
    );
    for (i, b) in booked.iter().enumerate() {
        let want = if i == 4 {
            "PAYMENT_PENDING"
        } else {
            "CONFIRMED"
        };
        assert_eq!(booking(&s, b).await["status"], want, "booking {i}");
    }

    let (counted, counter) = s.counted_deps();
    let b = booked_and_initiated(&s, &show, &[50]).await;
    send_webhook(&s, &b, "payment.succeeded", "evt_count", b.total).await;
    let message = queued(&s, 1).await;
    counter.take();
    assert!(confirm_directly(&counted, message).await.is_empty());
    assert_eq!(booking(&s, &b).await["status"], "CONFIRMED");
    let calls = counter.take_calls();
    let ops: Vec<&str> = calls.iter().map(|c| c.operation.as_str()).collect();
    // Two calls to the commit (the read, the transaction that also writes the event's outbox
    // item), then, once EventBridge has the event, the outbox item's delete: one more call,
    // after the commit.
    assert_eq!(
        ops,
        vec!["GetItem", "TransactWriteItems", "DeleteItem"],
        "confirm is two DynamoDB calls to its commit, plus the outbox delete"
    );
    assert_eq!(sequential_rounds(&calls), 3, "{calls:?}");
    assert!(
        s.deps()
            .store
            .outbox_waiting()
            .await
            .expect("read")
            .iter()
            .all(|e| !e.event_id.contains(&b.booking_id)),
        "its event left the outbox"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_message_reaches_the_dead_letter_queue_after_max_receive_count_receives() {
    let s = stack().await;
    let triggers = s.start_triggers();
    s.sqs()
        .send_message()
        .queue_url(s.queue_url("PaymentsQueue"))
        .message_body("not a payment")
        .send()
        .await
        .expect("sent");
    eventually("the malformed message in the DLQ", 60, || async {
        (s.queue_depth("PaymentsDLQ").await == 1).then_some(())
    })
    .await;
    assert_eq!(s.queue_depth("PaymentsQueue").await, 0);
    let msg = s
        .sqs()
        .receive_message()
        .queue_url(s.queue_url("PaymentsDLQ"))
        .message_system_attribute_names(
            aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
        )
        .send()
        .await
        .expect("received");
    let m = msg.messages.unwrap_or_default();
    assert_eq!(
        m.first().and_then(|m| m.body.as_deref()),
        Some("not a payment")
    );
    // It was received exactly the template's maxReceiveCount times from PaymentsQueue before
    // SQS moved it (the count travels with the message); this receive from the DLQ is one more.
    let (dlq, max_receive_count) = s
        .stack
        .template
        .queues
        .iter()
        .find(|q| q.logical_id == "PaymentsQueue")
        .and_then(|q| q.redrive.clone())
        .expect("PaymentsQueue has a redrive policy in template.yaml");
    assert_eq!(dlq, "PaymentsDLQ");
    let receives: i64 = m
        .first()
        .and_then(|m| m.attributes.as_ref())
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
        })
        .and_then(|c| c.parse().ok())
        .expect("ApproximateReceiveCount");
    assert_eq!(
        receives - 1,
        max_receive_count,
        "received {receives} times in all"
    );
    triggers.stop().await;
}

#[tokio::test]
async fn payments_are_refused_in_the_wrong_states() {
    let s = stack_with(&[
        ("HOLD_SECONDS", "60"),
        ("BOOKING_RATE_LIMIT_PER_MINUTE", "1000"),
    ])
    .await;
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let b = booked_and_initiated(&s, &show, &[1]).await;
    let pay = |token: &str, id: &str, key: Option<&str>| {
        let mut c = s
            .call("POST", &format!("/api/v1/bookings/{id}/payments"))
            .token(token);
        if let Some(k) = key {
            c = c.header("idempotency-key", k);
        }
        c.json(&json!({"provider": "sandbox", "returnUrl": "https://app.example.com/return"}))
            .send()
    };
    let again = pay(&b.token, &b.booking_id, None).await;
    assert_eq!((again.status, again.code()), (409, "PAYMENT_PENDING"));
    let (_, stranger) = s.user(Role::Customer).await;
    assert_eq!(pay(&stranger, &b.booking_id, None).await.status, 403);

    // Idempotent: the same key replays the same 201.
    let (_, me) = s.user(Role::Customer).await;
    let mine = s
        .call("POST", "/api/v1/bookings")
        .token(&me)
        .json(&json!({"showId": show, "seatIds": [seat(2)]}))
        .send()
        .await;
    let id = mine.body["bookingId"].as_str().expect("id").to_owned();
    let k = "5f0c3a8e-2b1d-4e6f-9a7b-8c9d0e1f2a3b";
    let p1 = pay(&me, &id, Some(k)).await;
    let p2 = pay(&me, &id, Some(k)).await;
    assert_eq!((p1.status, p2.status), (201, 201));
    assert_eq!(p1.text, p2.text);

    let cancelled = s
        .call("POST", "/api/v1/bookings")
        .token(&me)
        .json(&json!({"showId": show, "seatIds": [seat(3)]}))
        .send()
        .await;
    let cid = cancelled.body["bookingId"].as_str().expect("id").to_owned();
    s.call("POST", &format!("/api/v1/bookings/{cid}/cancel"))
        .token(&me)
        .send()
        .await;
    let r = pay(&me, &cid, None).await;
    assert_eq!((r.status, r.code()), (422, "NOT_PAYABLE"));

    let expiring = s
        .call("POST", "/api/v1/bookings")
        .token(&me)
        .json(&json!({"showId": show, "seatIds": [seat(4)]}))
        .send()
        .await;
    let eid = expiring.body["bookingId"].as_str().expect("id").to_owned();
    s.deps().clock.advance(chrono::Duration::seconds(61));
    let r = pay(&me, &eid, None).await;
    assert_eq!((r.status, r.code()), (410, "BOOKING_EXPIRED"));
}

#[tokio::test]
async fn cancelling_confirmed_bookings_and_shows_refunds() {
    let s = stack().await;
    let triggers = s.start_triggers();
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let paid = booked_and_initiated(&s, &show, &[1, 2]).await;
    send_webhook(&s, &paid, "payment.succeeded", "evt_c1", paid.total).await;
    wait_status(&s, &paid, "CONFIRMED").await;
    let c = s
        .call(
            "POST",
            &format!("/api/v1/bookings/{}/cancel", paid.booking_id),
        )
        .token(&paid.token)
        .send()
        .await;
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(
        (
            c.body["status"].as_str(),
            c.body["refund"]["status"].as_str()
        ),
        (Some("CANCELLED"), Some("INITIATED"))
    );
    assert_eq!(c.body["refund"]["amount"], paid.total);
    let map = s
        .call("GET", &format!("/api/v1/shows/{show}/seats"))
        .send()
        .await
        .body;
    assert!(seat_statuses(&map).iter().all(|(_, st)| st == "AVAILABLE"));

    let confirmed = booked_and_initiated(&s, &show, &[5]).await;
    send_webhook(
        &s,
        &confirmed,
        "payment.succeeded",
        "evt_c2",
        confirmed.total,
    )
    .await;
    wait_status(&s, &confirmed, "CONFIRMED").await;
    let pending = booked_and_initiated(&s, &show, &[6]).await;
    let customer = s.user(Role::Customer).await.1;
    assert_eq!(
        s.call("POST", &format!("/api/v1/shows/{show}/cancel"))
            .token(&customer)
            .send()
            .await
            .status,
        403
    );
    let r = s
        .call("POST", &format!("/api/v1/shows/{show}/cancel"))
        .token(&f.partner)
        .send()
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    // 20 seats: one part of the cancellation, on CancelShowQueue for cancel-show-seats.
    assert_eq!(
        (r.body["status"].as_str(), r.body["partsQueued"].as_i64()),
        (Some("CANCELLED"), Some(1))
    );
    let refunded = refund_paid(&s, &confirmed).await;
    assert_eq!(refunded["status"], "CANCELLED");
    assert_eq!(refunded["refund"]["amount"], confirmed.total);
    wait_status(&s, &pending, "CANCELLED").await;
    // A container that starts after the cancellation refuses the show. (One that is already warm
    // has the show cached for up to 30 s, as on AWS, where each function's containers cache on
    // their own: closing that window is the confirm step's job, not the hold's.)
    let cold = s.fresh_gateway();
    let late = call_on(&cold, "POST", "/api/v1/bookings")
        .token(&customer)
        .json(&json!({"showId": show, "seatIds": [seat(9)]}))
        .send()
        .await;
    assert_eq!(
        (late.status, late.code()),
        (422, "SHOW_NOT_BOOKABLE"),
        "{}",
        late.text
    );
    let again = s
        .call("POST", &format!("/api/v1/shows/{show}/cancel"))
        .token(&f.admin)
        .send()
        .await;
    // Repeating it queues the parts again; they find nothing left to do.
    assert_eq!(
        (again.status, again.body["partsQueued"].as_i64()),
        (202, Some(1))
    );
    eventually("the repeated cancellation's part consumed", 120, || async {
        (s.queue_depth("CancelShowQueue").await == 0).then_some(())
    })
    .await;
    triggers.stop().await;
    let after = booking(&s, &confirmed).await;
    assert_eq!(after["refund"], refunded["refund"], "one refund, paid once");
}

#[tokio::test]
async fn an_sqs_failure_on_the_webhook_is_a_5xx_so_the_provider_retries_and_nothing_is_queued() {
    use boxoffice_tests::faults::Fault;
    let s = stack().await;
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let b = booked_and_initiated(&s, &show, &[1]).await;
    let (sig, body) = webhook(&s, &b, "payment.succeeded", "evt_sqs_down", b.total);
    for fault in [Fault::Unreachable, Fault::Hang] {
        let injected = s.fault(fault, "", Some("SendMessage"));
        let gw = boxoffice_local::gateway::Gateway::new(
            &s.stack.template,
            s.deps_with_sqs_fault(injected.clone()),
        );
        let r = call_on(&gw, "POST", "/api/v1/payments/webhooks/sandbox")
            .header("x-signature", &sig)
            .raw("application/json", body.clone())
            .send()
            .await;
        r.assert_unavailable(&format!("{fault:?}"));
        assert!(injected.hits.load(std::sync::atomic::Ordering::SeqCst) >= 1);
        assert_eq!(
            s.queue_depth("PaymentsQueue").await,
            0,
            "{fault:?}: nothing queued"
        );
    }
    // The provider's retry, once SQS is back, is queued and confirms the booking.
    assert_eq!(deliver(&s, &sig, &body).await.status, 200);
    assert_eq!(s.queue_depth("PaymentsQueue").await, 1);
    let _triggers = s.start_triggers();
    wait_status(&s, &b, "CONFIRMED").await;
}

/// The sandbox lets its caller decide a payment's outcome, so only the booking's owner may: no
/// token is 401, another customer's is 403, and neither queues anything.
#[tokio::test]
async fn only_the_bookings_owner_can_complete_a_sandbox_payment() {
    let s = stack().await;
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let b = booked_and_initiated(&s, &show, &[5]).await;
    let path = format!("/api/v1/sandbox/payments/{}/complete", b.intent);
    let anonymous = s
        .call("POST", &path)
        .json(&json!({"outcome": "failed"}))
        .send()
        .await;
    assert_eq!(
        (anonymous.status, anonymous.code()),
        (401, "UNAUTHORIZED"),
        "{}",
        anonymous.text
    );
    let (_, stranger) = s.user(Role::Customer).await;
    let other = s
        .call("POST", &path)
        .token(&stranger)
        .json(&json!({"outcome": "failed"}))
        .send()
        .await;
    assert_eq!(
        (other.status, other.code()),
        (403, "FORBIDDEN"),
        "{}",
        other.text
    );
    assert_eq!(
        s.queue_depth("PaymentsQueue").await,
        0,
        "nothing was delivered"
    );
    let owner = s
        .call("POST", &path)
        .token(&b.token)
        .json(&json!({"outcome": "failed"}))
        .send()
        .await;
    assert_eq!(owner.status, 200, "{}", owner.text);
    assert_eq!(s.queue_depth("PaymentsQueue").await, 1);
}

/// What a booking's confirmation wrote or did not write, read from the table: the booking's
/// status, its seat items (id, state, owner), whether the event's processed marker exists, and
/// whether the show's sold counters count the sale.
async fn confirmation_state(
    s: &TestStack,
    show: &str,
    b: &Booked,
    event_id: &str,
) -> (String, Vec<(String, String, String)>, bool, bool) {
    use boxoffice::store::keys;
    let status = s
        .deps()
        .store
        .get_booking(&b.booking_id)
        .await
        .expect("read")
        .expect("booking")
        .status
        .as_str()
        .to_owned();
    let mut seats: Vec<(String, String, String)> = seat_items(s, show)
        .await
        .into_iter()
        .map(|i| (i.seat_id, i.state.as_str().to_owned(), i.booking_id))
        .collect();
    seats.sort_unstable();
    let marker = s
        .item(
            &keys::processed_event_pk("sandbox", event_id),
            keys::PROCESSED_EVENT_SK,
        )
        .await
        .is_some();
    // The booking is its show's only sale: the sold counter its id falls on counts exactly its
    // sold seats.
    let shard = boxoffice::store::catalog::sold_shard(&b.booking_id);
    let sold_to_it = seats
        .iter()
        .filter(|(_, state, owner)| state == "SOLD" && owner == &b.booking_id)
        .count();
    let listed = s
        .item(&keys::sold_pk(show, shard), keys::SOLD_SK)
        .await
        .and_then(|c| c.get("seats").and_then(|n| n.as_n().ok()).cloned())
        .is_some_and(|n| sold_to_it > 0 && n == sold_to_it.to_string());
    (status, seats, marker, listed)
}

fn seats_of(b: &Booked, state: &str, seats: &[usize]) -> Vec<(String, String, String)> {
    seats
        .iter()
        .map(|i| (seat(*i), state.to_owned(), b.booking_id.clone()))
        .collect()
}

#[tokio::test]
async fn a_confirmation_that_conflicts_twice_is_retried_and_confirms_once() {
    use boxoffice_tests::faults::{Conflicts, Fault};
    use std::sync::atomic::Ordering;
    let s = stack().await;
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let b = booked_and_initiated(&s, &show, &[8, 9]).await;
    let conflicts = s.fault(
        Fault::TransactionConflict(Conflicts::First(2)),
        &b.booking_id,
        Some("TransactWriteItems"),
    );
    let deps = s.deps_with_dynamodb_fault(conflicts.clone());
    let failures = confirm_directly(&deps, vec![message(&b, "SUCCEEDED", "evt_cf", b.total)]).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(
        (
            conflicts.injected.load(Ordering::SeqCst),
            conflicts.hits.load(Ordering::SeqCst)
        ),
        (2, 3),
        "two cancelled attempts, then the one that committed"
    );
    assert_eq!(
        confirmation_state(&s, &show, &b, "evt_cf").await,
        (
            "CONFIRMED".to_owned(),
            seats_of(&b, "SOLD", &[8, 9]),
            true,
            true
        )
    );
    let first = booking(&s, &b).await;
    assert_eq!(first["payment"]["status"], "SUCCEEDED");
    assert!(first["ticket"]["ticketId"].is_string());
    assert!(first.get("refund").is_none(), "{first}");
    // Delivered again: confirmed once, one ticket.
    assert!(
        confirm_directly(&deps, vec![message(&b, "SUCCEEDED", "evt_cf", b.total)])
            .await
            .is_empty()
    );
    assert_eq!(booking(&s, &b).await, first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmation_conflicting_past_the_budget_is_redelivered_and_never_half_written() {
    use boxoffice::store::TRANSACTION_ATTEMPTS;
    use boxoffice_tests::faults::{Conflicts, Fault};
    use std::sync::atomic::Ordering;
    let s = stack().await;
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let b = booked_and_initiated(&s, &show, &[14, 15]).await;
    let budget = TRANSACTION_ATTEMPTS as usize;
    let untouched = (
        "PAYMENT_PENDING".to_owned(),
        seats_of(&b, "HELD", &[14, 15]),
        false,
        false,
    );

    // Every attempt conflicts: the message is reported failed (SQS will deliver it again), and
    // nothing of the confirmation is written: the booking pending, its seats held, no marker.
    let always = s.fault(
        Fault::TransactionConflict(Conflicts::First(usize::MAX)),
        &b.booking_id,
        Some("TransactWriteItems"),
    );
    let deps = s.deps_with_dynamodb_fault(always.clone());
    let before = s.table_items().await;
    let failures = confirm_directly(&deps, vec![message(&b, "SUCCEEDED", "evt_cb", b.total)]).await;
    assert_eq!(failures, vec!["m0".to_owned()], "a batch item failure");
    assert_eq!(always.hits.load(Ordering::SeqCst), budget);
    assert_eq!(confirmation_state(&s, &show, &b, "evt_cb").await, untouched);
    let changes = boxoffice_tests::table_changes(&before, &s.table_items().await);
    assert!(changes.is_empty(), "nothing written at all: {changes:#?}");
    assert_eq!(booking(&s, &b).await["status"], "PAYMENT_PENDING");

    // Through the real queue: the first receive's invocation spends the whole budget on
    // conflicts and reports the message failed; SQS redelivers it, and it confirms, once.
    let budgeted = s.fault(
        Fault::TransactionConflict(Conflicts::First(budget)),
        &b.booking_id,
        Some("TransactWriteItems"),
    );
    let triggers = boxoffice_local::triggers::start(
        &s.stack.template,
        &s.stack.provisioned,
        &s.deps_with_dynamodb_fault(budgeted.clone()),
        s.sqs(),
        boxoffice_local::triggers::TriggerOptions {
            failed_visibility_seconds: 1,
            schedule_interval: None,
            schedules: false,
            except: Vec::new(),
            faults: None,
        },
    );
    s.sqs()
        .send_message()
        .queue_url(s.queue_url("PaymentsQueue"))
        .message_body(message(&b, "SUCCEEDED", "evt_cb", b.total))
        .send()
        .await
        .expect("sent");
    let confirmed = wait_status(&s, &b, "CONFIRMED").await;
    assert_eq!(budgeted.injected.load(Ordering::SeqCst), budget);
    assert!(
        budgeted.hits.load(Ordering::SeqCst) > budget,
        "a second invocation, after the first gave up"
    );
    eventually("the queue to drain", 120, || async {
        (s.queue_depth("PaymentsQueue").await == 0).then_some(())
    })
    .await;
    assert_eq!(s.queue_depth("PaymentsDLQ").await, 0);
    assert_eq!(
        confirmation_state(&s, &show, &b, "evt_cb").await,
        (
            "CONFIRMED".to_owned(),
            seats_of(&b, "SOLD", &[14, 15]),
            true,
            true
        )
    );
    assert!(confirmed["ticket"]["ticketId"].is_string());
    assert!(confirmed.get("refund").is_none(), "{confirmed}");
    triggers.stop().await;
}

/// Found by the history checker (seed 20261202 of `history::`): the provider reports one capture
/// under two event ids, and both land in one batch. Both read the booking PAYMENT_PENDING; one
/// confirms, the other's confirmation is refused and it used to refund the payment that had just
/// bought the seats (a CONFIRMED booking with a refund: the money gone, the seats sold). The
/// refused one now sees its own payment confirmed and records it without a refund.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_capture_reported_under_two_event_ids_at_once_confirms_and_refunds_nothing() {
    let s = stack().await;
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    for round in 0..5 {
        let b = booked_and_initiated(&s, &show, &[2 * round, 2 * round + 1]).await;
        let bodies = vec![
            message(&b, "SUCCEEDED", &format!("evt_a_{round}"), b.total),
            message(&b, "SUCCEEDED", &format!("evt_b_{round}"), b.total),
        ];
        assert_eq!(
            confirm_directly(s.deps(), bodies).await,
            Vec::<String>::new()
        );
        let got = booking(&s, &b).await;
        assert_eq!(got["status"], "CONFIRMED", "round {round}: {got}");
        assert!(
            got.get("refund").is_none(),
            "round {round}: a sold booking refunded: {got}"
        );
        assert_eq!(
            got["payment"]["status"], "SUCCEEDED",
            "round {round}: {got}"
        );
    }
}
