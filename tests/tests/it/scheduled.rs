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
    let n = eventually("a BOOKING_EXPIRED notification", 30, || async {
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
    for i in 0..25 {
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
    let confirms = booked.iter().enumerate().map(|(i, (_, id, total))| {
        let m = json!({"provider": "sandbox", "eventId": format!("evt_race_{i}"), "outcome": "SUCCEEDED", "paymentIntentId": format!("pi_sandbox_{id}"),
                       "bookingId": id, "amount": total, "currency": "INR", "occurredAt": 1});
        let deps = s.deps().clone();
        async move { confirm_payment::apply(&deps, &serde_json::from_value(m).expect("message")).await }
    });
    let (confirmed, swept) = tokio::join!(join_all(confirms), sweep(&s));
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
    assert_eq!(n_confirmed + n_expired, 25);
    eprintln!("race: {n_confirmed} confirmed, {n_expired} expired (sweep said {swept})");
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
    let soon = s
        .show_at(
            &f,
            &boxoffice::clock::rfc3339(chrono::Utc::now() + chrono::Duration::minutes(90)),
        )
        .await;
    // Past the first show's 120 minutes plus cleaning on the fixture's one screen, and well outside 2 h.
    let later = s
        .show_at(
            &f,
            &boxoffice::clock::rfc3339(chrono::Utc::now() + chrono::Duration::minutes(235)),
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
