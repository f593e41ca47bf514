//! Scheduled work and notifications: the expiry sweep, domain events into inboxes (exactly once),
//! reminders, the waitlist. Against DynamoDB Local and the SQS/EventBridge emulator.

use boxoffice::domain::user::Role;
use boxoffice_tests::{emails_to, eventually, fixtures::ist, stack_with, Reply, TestStack};
use futures::future::join_all;
use serde_json::{json, Value};

fn seat(i: usize) -> String {
    format!("R{}-{}", i / 20, i % 20)
}

async fn stack() -> TestStack {
    stack_with(&[
        ("HOLD_SECONDS", "60"),
        ("PAYMENT_WINDOW_SECONDS", "60"),
        ("BOOKING_RATE_LIMIT_PER_MINUTE", "100000"),
    ])
    .await
}

async fn sweep(s: &TestStack) -> Value {
    expire_holds::handler(
        s.deps(),
        boxoffice_local::triggers::scheduled_event("expire-holds"),
    )
    .await
    .expect("sweep runs")
}

async fn hold(s: &TestStack, token: &str, show: &str, seats: &[usize]) -> Reply {
    let ids: Vec<String> = seats.iter().map(|i| seat(*i)).collect();
    let r = s
        .call("POST", "/api/v1/bookings")
        .token(token)
        .json(&json!({"showId": show, "seatIds": ids}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r
}

async fn inbox(s: &TestStack, token: &str) -> Vec<Value> {
    let r = s
        .call("GET", "/api/v1/me/notifications")
        .token(token)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["notifications"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The EventBridge event a rule delivers for a domain event.
fn bridge_event(detail_type: &str, detail: Value) -> Value {
    json!({"version": "0", "id": "e1", "detail-type": detail_type, "source": "boxoffice", "account": "000000000000",
           "time": "2026-11-22T12:00:00Z", "region": "us-east-1", "resources": [], "detail": detail})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_left_alone_expires_frees_its_seats_and_lands_in_the_inbox() {
    let s = stack().await;
    let triggers = s.start_triggers();
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (_, me) = s.user(Role::Customer).await;
    let b = hold(&s, &me, &show, &[1, 2]).await;
    let id = b.body["bookingId"].as_str().expect("id").to_owned();
    assert_eq!(sweep(&s).await["expired"], 0, "nothing is due yet");
    s.deps().clock.advance(chrono::Duration::seconds(61));
    assert_eq!(sweep(&s).await["expired"], 1);
    let got = s
        .call("GET", &format!("/api/v1/bookings/{id}"))
        .token(&me)
        .send()
        .await;
    assert_eq!(got.body["status"], "EXPIRED");
    let map = s
        .call("GET", &format!("/api/v1/shows/{show}/seats"))
        .send()
        .await;
    assert!(map.text.contains("\"status\":\"AVAILABLE\"") && !map.text.contains("LOCKED"));
    assert!(
        s.deps()
            .store
            .get_show_collection(&show)
            .await
            .expect("read")
            .expect("show")
            .seats
            .is_empty(),
        "seat items deleted"
    );
    // The BookingExpired event travels the bus → rule → notify → inbox, no manual step.
    let n = eventually("a BOOKING_EXPIRED notification", 120, || async {
        inbox(&s, &me)
            .await
            .into_iter()
            .find(|n| n["type"] == "BOOKING_EXPIRED")
    })
    .await;
    assert_eq!(n["bookingId"], id.as_str());
    assert_eq!(
        sweep(&s).await["expired"],
        0,
        "a second sweep finds nothing"
    );
    triggers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_racing_a_confirmation_never_leaves_a_mix() {
    let s = stack().await;
    let f = s.catalog(100).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let mut booked = Vec::new();
    for i in 0..40 {
        let (_, token) = s.user(Role::Customer).await;
        let b = hold(&s, &token, &show, &[i * 2, i * 2 + 1]).await;
        let id = b.body["bookingId"].as_str().expect("id").to_owned();
        let total = b.body["pricing"]["total"].as_i64().expect("total");
        let p = s
            .call("POST", &format!("/api/v1/bookings/{id}/payments"))
            .token(&token)
            .json(&json!({"provider": "sandbox", "returnUrl": "https://x.example/r"}))
            .send()
            .await;
        assert_eq!(p.status, 201, "{}", p.text);
        booked.push((token, id, total));
    }
    s.deps().clock.advance(chrono::Duration::seconds(120));
    // The order the sweep will take them in (its shards in turn, each oldest first): the late
    // payments arrive one after another in the opposite order, so the sweep and the payments
    // start at opposite ends and meet somewhere between, and both outcomes happen.
    let now = s.deps().clock.now_epoch();
    let mut sweep_order = Vec::new();
    for shard in 0..boxoffice::store::bookings::PENDING_SHARDS {
        let (due, _) = s
            .deps()
            .store
            .expired_pending(shard, now, 100, None)
            .await
            .expect("read");
        sweep_order.extend(due.into_iter().map(|b| b.booking_id));
    }
    assert_eq!(sweep_order.len(), 40, "every booking is due");
    let by_id: std::collections::HashMap<&str, (usize, i64)> = booked
        .iter()
        .enumerate()
        .map(|(i, (_, id, total))| (id.as_str(), (i, *total)))
        .collect();
    let confirms = async {
        let mut results = Vec::new();
        for id in sweep_order.iter().rev() {
            let (i, total) = by_id[id.as_str()];
            let m = json!({"provider": "sandbox", "eventId": format!("evt_race_{i}"), "outcome": "SUCCEEDED", "paymentIntentId": format!("pi_sandbox_{id}"),
                           "bookingId": id, "amount": total, "currency": "INR", "occurredAt": 1});
            results.push(
                confirm_payment::apply(s.deps(), &serde_json::from_value(m).expect("message"))
                    .await,
            );
        }
        results
    };
    let (confirmed, swept) = tokio::join!(confirms, sweep(&s));
    assert!(confirmed.iter().all(Result::is_ok), "{confirmed:?}");
    let items = s
        .deps()
        .store
        .get_show_collection(&show)
        .await
        .expect("read")
        .expect("show")
        .seats;
    let (mut n_confirmed, mut n_expired) = (0, 0);
    for (token, id, _) in &booked {
        let b = s
            .call("GET", &format!("/api/v1/bookings/{id}"))
            .token(token)
            .send()
            .await
            .body;
        let mine: Vec<_> = items.iter().filter(|i| &i.booking_id == id).collect();
        match b["status"].as_str() {
            Some("CONFIRMED") => {
                n_confirmed += 1;
                assert_eq!(mine.len(), 2, "{id}: confirmed with both seats");
                assert!(mine.iter().all(|i| i.state == "SOLD"));
                assert!(b.get("refund").is_none());
            }
            Some("EXPIRED") => {
                n_expired += 1;
                assert!(mine.is_empty(), "{id}: expired holds nothing");
                assert_eq!(
                    b["refund"]["status"], "INITIATED",
                    "{id}: its late payment is refunded"
                );
            }
            other => panic!("{id} ended {other:?}"),
        }
    }
    assert_eq!(n_confirmed + n_expired, 40);
    eprintln!("race: {n_confirmed} confirmed, {n_expired} expired (sweep said {swept})");
    assert!(n_confirmed > 0, "some payments won the race");
    assert!(n_expired > 0, "the sweep won some of it");
    assert_eq!(
        swept["expired"].as_u64(),
        Some(n_expired as u64),
        "the sweep expired exactly the expired ones: {swept}"
    );
}

/// Two held bookings past their hold, one of them (`conflicted`) meeting `conflicts` on its
/// transactions: the stack, the show, both bookings (token, id, seats), and the injector.
async fn expiring_with(
    conflicts: boxoffice_tests::faults::Conflicts,
) -> (
    TestStack,
    String,
    [(String, String, [usize; 2]); 2],
    boxoffice_tests::faults::FaultWhen,
) {
    let s = stack().await;
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let mut two = Vec::new();
    for seats in [[1, 2], [3, 4]] {
        let (_, token) = s.user(Role::Customer).await;
        let b = hold(&s, &token, &show, &seats).await;
        two.push((
            token,
            b.body["bookingId"].as_str().expect("id").to_owned(),
            seats,
        ));
    }
    s.deps().clock.advance(chrono::Duration::seconds(61));
    let injected = s.fault(
        boxoffice_tests::faults::Fault::TransactionConflict(conflicts),
        &two[0].1,
        Some("TransactWriteItems"),
    );
    let two: [(String, String, [usize; 2]); 2] = two.try_into().expect("two");
    (s, show, two, injected)
}

/// A booking's status and its seat items (seat, state), read from the table.
async fn expiry_state(s: &TestStack, show: &str, id: &str) -> (String, Vec<(String, String)>) {
    let status = s
        .deps()
        .store
        .get_booking(id)
        .await
        .expect("read")
        .expect("booking")
        .status
        .as_str()
        .to_owned();
    let mut seats: Vec<(String, String)> = s
        .deps()
        .store
        .get_show_collection(show)
        .await
        .expect("read")
        .expect("show")
        .seats
        .into_iter()
        .filter(|i| i.booking_id == id)
        .map(|i| (i.seat_id, i.state.as_str().to_owned()))
        .collect();
    seats.sort_unstable();
    (status, seats)
}

fn held(seats: [usize; 2]) -> Vec<(String, String)> {
    seats
        .iter()
        .map(|i| (seat(*i), "HELD".to_owned()))
        .collect()
}

#[tokio::test]
async fn a_conflicted_expiry_is_retried_and_expires_the_booking_whole() {
    use boxoffice_tests::faults::Conflicts;
    use std::sync::atomic::Ordering;
    let (s, show, [a, b], injected) = expiring_with(Conflicts::First(1)).await;
    let deps = s.deps_with_dynamodb_fault(injected.clone());
    let run = expire_holds::handler(
        &deps,
        boxoffice_local::triggers::scheduled_event("expire-holds"),
    )
    .await
    .expect("the sweep runs");
    assert_eq!(
        (run["expired"].as_u64(), run["skipped"].as_u64()),
        (Some(2), Some(0)),
        "{run}"
    );
    assert_eq!(
        (
            injected.injected.load(Ordering::SeqCst),
            injected.hits.load(Ordering::SeqCst)
        ),
        (1, 2),
        "one cancelled attempt, then the one that committed"
    );
    for (_, id, _) in [&a, &b] {
        assert_eq!(
            expiry_state(&s, &show, id).await,
            ("EXPIRED".to_owned(), vec![]),
            "{id}"
        );
    }
    assert_eq!(sweep(&s).await["expired"], 0, "nothing left");
}

#[tokio::test]
async fn an_expiry_conflicting_past_the_budget_is_left_whole_for_the_next_run() {
    use boxoffice::store::TRANSACTION_ATTEMPTS;
    use boxoffice_tests::faults::Conflicts;
    use std::sync::atomic::Ordering;
    let (s, show, [a, b], injected) = expiring_with(Conflicts::First(usize::MAX)).await;
    let deps = s.deps_with_dynamodb_fault(injected.clone());
    let run = expire_holds::handler(
        &deps,
        boxoffice_local::triggers::scheduled_event("expire-holds"),
    )
    .await;
    // The run fails as unavailable (EventBridge retries it; the next minute's run comes anyway).
    assert!(
        matches!(run, Err(boxoffice::ApiError::ServiceUnavailable(_))),
        "{run:?}"
    );
    assert_eq!(
        injected.hits.load(Ordering::SeqCst),
        TRANSACTION_ATTEMPTS as usize,
        "every attempt conflicted"
    );
    // Not half-expired: still pending, with both its seats held.
    assert_eq!(
        expiry_state(&s, &show, &a.1).await,
        ("PAYMENT_PENDING".to_owned(), held(a.2))
    );
    // The other booking is whole either way: expired with no seats, or pending with both.
    let other = expiry_state(&s, &show, &b.1).await;
    assert!(
        other == ("EXPIRED".to_owned(), vec![])
            || other == ("PAYMENT_PENDING".to_owned(), held(b.2)),
        "{other:?}"
    );
    // The next run, its transactions no longer conflicting, expires what is left.
    let next = sweep(&s).await;
    let left = if other.0 == "EXPIRED" { 1 } else { 2 };
    assert_eq!(next["expired"].as_u64(), Some(left), "{next}");
    for (_, id, _) in [&a, &b] {
        assert_eq!(
            expiry_state(&s, &show, id).await,
            ("EXPIRED".to_owned(), vec![]),
            "{id}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_expired_bookings_are_swept_over_consecutive_runs_once_each() {
    let s = stack().await;
    let f = s.catalog(1000).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let users: Vec<String> = (0..1000)
        .map(|i| s.token_for(&format!("usr_s{i:04}"), "s@example.com", Role::Customer))
        .collect();
    let s = &s;
    let holds = join_all(users.iter().enumerate().map(|(i, t)| {
        let body = json!({"showId": show, "seatIds": [format!("R{}-{}", i / 20, i % 20)]});
        async move {
            s.call("POST", "/api/v1/bookings")
                .token(t)
                .json(&body)
                .send()
                .await
                .status
        }
    }))
    .await;
    assert!(holds.iter().all(|st| *st == 201));
    s.deps().clock.advance(chrono::Duration::seconds(61));
    let mut runs = Vec::new();
    loop {
        let r = sweep(s).await;
        let n = r["expired"].as_u64().expect("count");
        assert_eq!(r["skipped"], 0, "nothing is expired twice");
        runs.push(n);
        if n == 0 {
            break;
        }
        assert!(runs.len() < 10, "the sweep does not converge: {runs:?}");
    }
    assert_eq!(runs.iter().sum::<u64>(), 1000, "{runs:?}");
    assert!(runs.len() >= 3, "bounded per run: {runs:?}");
    assert!(s
        .deps()
        .store
        .get_show_collection(&show)
        .await
        .expect("read")
        .expect("show")
        .seats
        .is_empty());
}

/// Every kind of event delivered three times at once (EventBridge is at least once, and the
/// outbox re-drive may publish again): one inbox entry and one email each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_domain_event_gives_one_notification_even_when_delivered_twice() {
    let sender = format!(
        "tickets-{}@boxoffice.test",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let s = stack_with(&[
        ("HOLD_SECONDS", "60"),
        ("NOTIFICATION_EMAIL_FROM", sender.as_str()),
    ])
    .await;
    aws_sdk_sesv2::Client::new(&s.stack.sdk)
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .expect("sender verified");
    let (user, me) = s.user(Role::Customer).await;
    let email = s
        .deps()
        .store
        .get_user(&user)
        .await
        .expect("read")
        .expect("user")
        .email;
    let kinds = [
        "BookingConfirmed",
        "BookingCancelled",
        "BookingExpired",
        "PaymentFailed",
        "RefundInitiated",
        "ShowCancelled",
    ];
    let deliveries = kinds.iter().enumerate().flat_map(|(i, kind)| {
        let detail = json!({"eventId": format!("{kind}#bk_{i}"), "bookingId": format!("bk_{i}"), "userId": user, "showId": "sh_1",
                            "seatIds": ["A1"], "amount": 100, "currency": "INR"});
        let s = &s;
        (0..3).map(move |_| {
            let event = bridge_event(kind, detail.clone());
            async move { notify::handler(s.deps(), event).await }
        })
    });
    let results = join_all(deliveries).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let sent = emails_to(&email).await;
    assert_eq!(sent.len(), kinds.len(), "one email per event: {sent:?}");
    let got = inbox(&s, &me).await;
    let mut types: Vec<&str> = got.iter().filter_map(|n| n["type"].as_str()).collect();
    types.sort_unstable();
    assert_eq!(
        types,
        vec![
            "BOOKING_CANCELLED",
            "BOOKING_CONFIRMED",
            "BOOKING_EXPIRED",
            "PAYMENT_FAILED",
            "REFUND_INITIATED",
            "SHOW_CANCELLED"
        ]
    );
    assert!(got
        .iter()
        .all(|n| n["message"].as_str().is_some_and(|m| !m.is_empty())
            && n["notificationId"].is_string()));
    let (_, someone) = s.user(Role::Customer).await;
    assert!(inbox(&s, &someone).await.is_empty(), "inboxes are per user");
    assert_eq!(
        s.call("GET", "/api/v1/me/notifications")
            .send()
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn reminders_go_once_to_shows_in_the_next_two_hours() {
    let s = stack().await;
    let f = s.catalog(40).await;
    // Every time here is the stack's clock, which the functions read too: moved a day ahead of
    // the system clock, so a reminder sent by the wall clock's two hours would find nothing.
    s.deps().clock.advance(chrono::Duration::hours(24));
    let now = s.deps().clock.now();
    let soon = s
        .show_at(
            &f,
            &boxoffice::clock::rfc3339(now + chrono::Duration::minutes(90)),
        )
        .await;
    // Past the first show's 120 minutes plus cleaning on the fixture's one screen, and well outside 2 h.
    let later = s
        .show_at(
            &f,
            &boxoffice::clock::rfc3339(now + chrono::Duration::minutes(235)),
        )
        .await;
    let (_, me) = s.user(Role::Customer).await;
    for (show, seats) in [(&soon, [1usize, 2]), (&later, [3, 4])] {
        let b = hold(&s, &me, show, &seats).await;
        let id = b.body["bookingId"].as_str().expect("id");
        let total = b.body["pricing"]["total"].as_i64().expect("total");
        let m = json!({"provider": "sandbox", "eventId": format!("evt_{id}"), "outcome": "SUCCEEDED", "paymentIntentId": format!("pi_sandbox_{id}"),
                       "bookingId": id, "amount": total, "currency": "INR", "occurredAt": 1});
        confirm_payment::apply(s.deps(), &serde_json::from_value(m).expect("message"))
            .await
            .expect("confirmed");
    }
    let reminders = || {
        notify::handler(
            s.deps(),
            boxoffice_local::triggers::scheduled_event("notify"),
        )
    };
    assert_eq!(reminders().await.expect("ran")["reminders"], 1);
    assert_eq!(reminders().await.expect("ran")["reminders"], 0, "not twice");
    let got = inbox(&s, &me).await;
    let sent: Vec<&Value> = got
        .iter()
        .filter(|n| n["type"] == "SHOW_REMINDER")
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["showId"], soon.as_str());
}

#[tokio::test]
async fn the_waitlist_opens_only_when_sold_out_and_hears_when_seats_free_up() {
    let s = stack().await;
    let f = s.catalog(4).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (_, early) = s.user(Role::Customer).await;
    let join = |t: String| {
        let show = show.clone();
        let s = &s;
        async move {
            s.call("POST", &format!("/api/v1/shows/{show}/waitlist"))
                .token(&t)
                .json(&json!({"seats": 2}))
                .send()
                .await
        }
    };
    let open = join(early.clone()).await;
    assert_eq!((open.status, open.code()), (409, "SEATS_AVAILABLE"));
    assert_eq!(open.body["error"]["details"]["availableSeats"], 4);
    let (_, buyer) = s.user(Role::Customer).await;
    let b = hold(&s, &buyer, &show, &[0, 1, 2, 3]).await;
    assert_eq!(join(early.clone()).await.status, 201);
    let (_, second) = s.user(Role::Customer).await;
    assert_eq!(join(second.clone()).await.status, 201);
    let bad = s
        .call("POST", &format!("/api/v1/shows/{show}/waitlist"))
        .token(&early)
        .json(&json!({"seats": 0}))
        .send()
        .await;
    assert_eq!(bad.status, 400);

    // Two seats come free: the first in line hears about it, the second not yet.
    let id = b.body["bookingId"].as_str().expect("id");
    let detail = json!({"eventId": format!("SeatsReleased#{id}"), "bookingId": id, "userId": "usr_x", "showId": show, "seatIds": [seat(0), seat(1)]});
    notify::handler(s.deps(), bridge_event("SeatsReleased", detail.clone()))
        .await
        .expect("notified");
    // Redelivered seconds later: still the one notification (dated by the event, not the delivery).
    s.deps().clock.advance(chrono::Duration::seconds(2));
    notify::handler(s.deps(), bridge_event("SeatsReleased", detail))
        .await
        .expect("notified");
    let first: Vec<Value> = inbox(&s, &early)
        .await
        .into_iter()
        .filter(|n| n["type"] == "WAITLIST_SEATS_AVAILABLE")
        .collect();
    assert_eq!(first.len(), 1);
    assert!(inbox(&s, &second).await.is_empty());
}

#[tokio::test]
async fn the_email_channel_sends_once_and_a_rejected_send_is_retried_on_redelivery() {
    let sender = format!(
        "tickets-{}@boxoffice.test",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let s = stack_with(&[("NOTIFICATION_EMAIL_FROM", sender.as_str())]).await;
    let (user, me) = s.user(Role::Customer).await;
    let email = s
        .deps()
        .store
        .get_user(&user)
        .await
        .expect("read")
        .expect("user")
        .email;
    let detail = json!({"eventId": "BookingConfirmed#bk_mail", "bookingId": "bk_mail", "userId": user, "showId": "sh_1", "seatIds": ["A1", "A2"]});
    let deliver = || notify::handler(s.deps(), bridge_event("BookingConfirmed", detail.clone()));

    // The sender is not verified yet: SES rejects the send for good; the inbox has it anyway.
    deliver()
        .await
        .expect("a rejected email does not fail the event");
    assert!(emails_to(&email).await.is_empty());
    assert_eq!(inbox(&s, &me).await.len(), 1);

    aws_sdk_sesv2::Client::new(&s.stack.sdk)
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .expect("sender verified");
    // Delivered again (EventBridge is at-least-once): the failed send is retried, the inbox untouched.
    deliver().await.expect("notified");
    let sent = emails_to(&email).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, "BoxOffice: Your booking is confirmed");
    assert!(
        sent[0].1.contains("bk_mail") && sent[0].1.contains("A1, A2"),
        "{}",
        sent[0].1
    );
    // And once sent, never again.
    deliver().await.expect("notified");
    assert_eq!(emails_to(&email).await.len(), 1);
    assert_eq!(inbox(&s, &me).await.len(), 1);
}
