//! Lost events: EventBridge fails right after a change committed (SDK-level fault injection on
//! PutEvents), the change stands, its events wait in the outbox, and the re-drive (expire-holds'
//! every-minute run) publishes them once they are past the grace period: exactly one
//! notification each, however often the re-drive runs. For confirm-payment (through the
//! webhook), cancel-booking, expire-holds and cancel-show.

use boxoffice::{domain::user::Role, events::OUTBOX_GRACE_SECONDS, payments::sandbox_webhook};
use boxoffice_local::gateway::Gateway;
use boxoffice_tests::{
    call_on, eventually, faults::Fault, faults::FaultWhen, fixtures::ist, inbox_of, stack_with,
    EventTap, TestStack,
};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;

async fn stack() -> TestStack {
    stack_with(&[
        ("HOLD_SECONDS", "60"),
        ("PAYMENT_WINDOW_SECONDS", "600"),
        ("BOOKING_RATE_LIMIT_PER_MINUTE", "1000"),
    ])
    .await
}

fn seat(i: usize) -> String {
    format!("R{}-{}", i / 20, i % 20)
}

/// Handler dependencies whose every PutEvents fails to connect (after the SDK's 3 attempts).
fn bus_down(s: &TestStack) -> (boxoffice::Deps, FaultWhen) {
    let fault = s.fault(Fault::Unreachable, "", Some("PutEvents"));
    (s.deps_with_eventbridge_fault(fault.clone()), fault)
}

async fn sweep(deps: &boxoffice::Deps) -> Value {
    expire_holds::handler(
        deps,
        boxoffice_local::triggers::scheduled_event("expire-holds"),
    )
    .await
    .expect("sweep runs")
}

/// The ids of the events waiting in the outbox, sorted.
async fn waiting(s: &TestStack) -> Vec<String> {
    let mut ids: Vec<String> = s
        .deps()
        .store
        .outbox_waiting()
        .await
        .expect("outbox read")
        .into_iter()
        .map(|e| e.event_id)
        .collect();
    ids.sort();
    ids
}

/// A customer's hold of `seats`: (user token, booking id, total).
async fn hold(s: &TestStack, gw: &Gateway, show: &str, seats: &[usize]) -> (String, String, i64) {
    let (_, token) = s.user(Role::Customer).await;
    let ids: Vec<String> = seats.iter().map(|i| seat(*i)).collect();
    let r = call_on(gw, "POST", "/api/v1/bookings")
        .token(&token)
        .json(&json!({"showId": show, "seatIds": ids}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["bookingId"].as_str().expect("id").to_owned();
    let total = r.body["pricing"]["total"].as_i64().expect("total");
    (token, id, total)
}

/// Opens the sandbox intent and delivers its signed success webhook through the endpoint.
async fn pay(s: &TestStack, token: &str, booking_id: &str, total: i64) {
    let p = s
        .call("POST", &format!("/api/v1/bookings/{booking_id}/payments"))
        .token(token)
        .json(&json!({"provider": "sandbox", "returnUrl": "https://app.example.com/return"}))
        .send()
        .await;
    assert_eq!(p.status, 201, "{}", p.text);
    let intent = p.body["providerPayload"]["paymentIntentId"]
        .as_str()
        .expect("intent");
    let now = s.deps().clock.now_epoch();
    let event = boxoffice::payments::SandboxEvent {
        event_id: format!("evt_{booking_id}"),
        kind: "payment.succeeded".into(),
        payment_intent_id: intent.into(),
        amount: total,
        currency: "INR".into(),
        booking_reference: booking_id.into(),
        timestamp: now,
    };
    let (sig, body) = sandbox_webhook(&s.deps().config, &event, now).expect("signed");
    let r = s
        .call("POST", "/api/v1/payments/webhooks/sandbox")
        .header("x-signature", &sig)
        .raw("application/json", body)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn status(s: &TestStack, token: &str, booking_id: &str) -> Value {
    s.call("GET", &format!("/api/v1/bookings/{booking_id}"))
        .token(token)
        .send()
        .await
        .body["status"]
        .clone()
}

/// The inbox entries of `kind` about `booking_id`.
async fn notifications(s: &TestStack, token: &str, kind: &str, booking_id: &str) -> usize {
    inbox_of(s, token)
        .await
        .iter()
        .filter(|n| n["type"] == kind && n["bookingId"] == booking_id)
        .count()
}

/// Past the grace period, the re-drive runs twice; then each `(token, kind, booking, detail
/// type)` has exactly one inbox entry and exactly one event on the bus, and the outbox is empty.
async fn redrive_and_expect_one_each(
    s: &TestStack,
    tap: &EventTap,
    expect: &[(&str, &str, &str, &str)],
) {
    s.deps()
        .clock
        .advance(chrono::Duration::seconds(OUTBOX_GRACE_SECONDS + 1));
    let first = sweep(s.deps()).await;
    assert!(
        first["republished"].as_u64() >= Some(expect.len() as u64),
        "{first}"
    );
    for (token, kind, booking, _) in expect {
        eventually(
            &format!("{kind} for {booking} after the re-drive"),
            120,
            || async { (notifications(s, token, kind, booking).await >= 1).then_some(()) },
        )
        .await;
    }
    assert_eq!(sweep(s.deps()).await["republished"], 0, "nothing left");
    assert!(waiting(s).await.is_empty(), "the outbox is empty");
    eventually("the notify rule's queue to drain", 120, || async {
        (s.rule_queue_depth("notify").await == 0).then_some(())
    })
    .await;
    for (token, kind, booking, detail_type) in expect {
        assert_eq!(
            notifications(s, token, kind, booking).await,
            1,
            "exactly one {kind} for {booking}"
        );
        assert_eq!(
            tap.count(detail_type, booking).await,
            1,
            "{detail_type} for {booking} published exactly once"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmation_whose_publish_fails_is_notified_once_after_the_redrive() {
    let s = stack().await;
    let tap = s.tap_events().await;
    let (down, fault) = bus_down(&s);
    // confirm-payment runs (from the queue the webhook fills) with the bus unreachable.
    let triggers = s.start_triggers_with(&down);
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (token, id, total) = hold(&s, &s.gateway, &show, &[1, 2]).await;
    pay(&s, &token, &id, total).await;
    eventually("the booking confirmed", 120, || async {
        (status(&s, &token, &id).await == "CONFIRMED").then_some(())
    })
    .await;
    eventually("the publish attempted", 120, || async {
        (waiting(&s).await == vec![format!("BookingConfirmed#{id}")]).then_some(())
    })
    .await;
    assert!(fault.hits.load(Ordering::SeqCst) >= 1, "the bus was down");
    assert_eq!(
        tap.count("BookingConfirmed", &id).await,
        0,
        "nothing reached the bus"
    );
    triggers.stop().await;
    // The bus is back; notify runs from its rule.
    let triggers = s.start_triggers();
    redrive_and_expect_one_each(
        &s,
        &tap,
        &[(&token, "BOOKING_CONFIRMED", &id, "BookingConfirmed")],
    )
    .await;
    triggers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancellation_whose_publish_fails_is_notified_once_after_the_redrive() {
    let s = stack().await;
    let tap = s.tap_events().await;
    let triggers = s.start_triggers();
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (down, fault) = bus_down(&s);
    let down = Gateway::new(&s.stack.template, down);
    let (token, id, _) = hold(&s, &s.gateway, &show, &[3]).await;
    let r = call_on(&down, "POST", &format!("/api/v1/bookings/{id}/cancel"))
        .token(&token)
        .send()
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("CANCELLED")),
        "{}",
        r.text
    );
    assert!(fault.hits.load(Ordering::SeqCst) >= 1, "the bus was down");
    assert_eq!(
        waiting(&s).await,
        vec![
            format!("BookingCancelled#{id}"),
            format!("SeatsReleased#{id}")
        ]
    );
    redrive_and_expect_one_each(
        &s,
        &tap,
        &[(&token, "BOOKING_CANCELLED", &id, "BookingCancelled")],
    )
    .await;
    assert_eq!(tap.count("SeatsReleased", &id).await, 1);
    triggers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiry_whose_publish_fails_is_notified_once_after_the_redrive() {
    let s = stack().await;
    let tap = s.tap_events().await;
    let triggers = s.start_triggers();
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (token, id, _) = hold(&s, &s.gateway, &show, &[4, 5]).await;
    s.deps().clock.advance(chrono::Duration::seconds(61));
    let (down, fault) = bus_down(&s);
    let swept = sweep(&down).await;
    assert_eq!(swept["expired"], 1, "{swept}");
    assert_eq!(status(&s, &token, &id).await, "EXPIRED");
    assert!(fault.hits.load(Ordering::SeqCst) >= 1, "the bus was down");
    assert_eq!(
        waiting(&s).await,
        vec![
            format!("BookingExpired#{id}"),
            format!("SeatsReleased#{id}")
        ]
    );
    redrive_and_expect_one_each(
        &s,
        &tap,
        &[(&token, "BOOKING_EXPIRED", &id, "BookingExpired")],
    )
    .await;
    triggers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_show_cancellation_whose_publish_fails_is_notified_once_after_the_redrive() {
    let s = stack().await;
    let tap = s.tap_events().await;
    // The cancellation's parts run with the bus down too (below); everything else as usual.
    let triggers = s.start_triggers_except(&["cancel-show-seats"]);
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (pending_token, pending, _) = hold(&s, &s.gateway, &show, &[6]).await;
    let (paid_token, paid, total) = hold(&s, &s.gateway, &show, &[7, 8]).await;
    pay(&s, &paid_token, &paid, total).await;
    eventually("the paid booking's confirmation", 120, || async {
        (notifications(&s, &paid_token, "BOOKING_CONFIRMED", &paid).await == 1).then_some(())
    })
    .await;
    let (down_deps, fault) = bus_down(&s);
    let down = Gateway::new(&s.stack.template, down_deps.clone());
    let parts = s.start_triggers_only_with(&down_deps, &["cancel-show-seats"]);
    let r = call_on(&down, "POST", &format!("/api/v1/shows/{show}/cancel"))
        .token(&f.partner)
        .send()
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["partsQueued"].as_i64(), Some(1));
    eventually("the cancellation's part consumed", 120, || async {
        (s.queue_depth("CancelShowQueue").await == 0).then_some(())
    })
    .await;
    parts.stop().await;
    assert!(fault.hits.load(Ordering::SeqCst) >= 1, "the bus was down");
    let mut want = vec![
        format!("BookingCancelled#{paid}"),
        // One event per refund record (its id: the booking's and the payment intent's).
        format!(
            "RefundInitiated#{}",
            boxoffice::domain::refund::refund_id(
                &paid,
                &boxoffice::payments::sandbox_intent_id(&paid)
            )
        ),
        format!("SeatsReleased#{paid}"),
        format!("SeatsReleased#{pending}"),
        format!("ShowCancelled#{pending}"),
        format!("ShowCancelled#{show}"),
    ];
    want.sort();
    assert_eq!(waiting(&s).await, want);
    redrive_and_expect_one_each(
        &s,
        &tap,
        &[
            (&pending_token, "SHOW_CANCELLED", &pending, "ShowCancelled"),
            (&paid_token, "BOOKING_CANCELLED", &paid, "BookingCancelled"),
            (&paid_token, "REFUND_INITIATED", &paid, "RefundInitiated"),
        ],
    )
    .await;
    assert_eq!(
        notifications(&s, &paid_token, "BOOKING_CONFIRMED", &paid).await,
        1,
        "the earlier confirmation is not repeated"
    );
    triggers.stop().await;
}
