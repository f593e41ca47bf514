//! Issue 15's per-customer limits through the real create-booking handler against DynamoDB
//! Local: every attempt counts toward the rate window (a 409 included), and the per-show seat cap
//! holds under concurrency, given back when a hold is cancelled or expires.

use boxoffice::{
    domain::user::Role,
    store::{keys, limits::Attempt},
};
use boxoffice_tests::{fixtures::ist, stack_with, Reply, TestStack};
use futures::future::join_all;
use serde_json::json;

async fn book(s: &TestStack, token: &str, show: &str, seats: &[&str]) -> Reply {
    s.call("POST", "/api/v1/bookings")
        .token(token)
        .json(&json!({"showId": show, "seatIds": seats}))
        .send()
        .await
}

/// Seats the customer holds plus owns for the show, as the cap's counter has them.
async fn counted(s: &TestStack, show: &str, customer: &str) -> i64 {
    s.deps()
        .store
        .seats_counted(show, customer)
        .await
        .expect("the counter reads")
}

async fn cancel(s: &TestStack, token: &str, booking: &str) {
    let c = s
        .call("POST", &format!("/api/v1/bookings/{booking}/cancel"))
        .token(token)
        .send()
        .await;
    assert_eq!(c.status, 200, "{}", c.text);
}

/// The clock 5 s into a fresh minute, so every attempt of the test falls in one rate window.
fn pin_to_a_window_start(s: &TestStack) {
    let now = s.deps().clock.now_epoch();
    let start = (now.div_euclid(60) + 1) * 60 + 5;
    s.deps()
        .clock
        .pin(chrono::DateTime::from_timestamp(start, 0).expect("a valid instant"));
}

#[tokio::test]
async fn the_eleventh_attempt_is_429_even_when_the_first_ten_were_409() {
    let s = stack_with(&[("HOLD_SECONDS", "3600")]).await;
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    pin_to_a_window_start(&s);
    let (_, other) = s.user(Role::Customer).await;
    assert_eq!(book(&s, &other, &show, &["R0-0"]).await.status, 201);
    let (customer_id, customer) = s.user(Role::Customer).await;
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let r = book(&s, &customer, &show, &["R0-0"]).await;
        assert_eq!(r.code(), "SEAT_LOCK_FAILED", "{}", r.text);
        statuses.push(r.status);
    }
    assert_eq!(statuses, vec![409; 10]);
    let eleventh = book(&s, &customer, &show, &["R0-1"]).await;
    assert_eq!(
        (eleventh.status, eleventh.code()),
        (429, "RATE_LIMITED"),
        "{}",
        eleventh.text
    );
    assert!(eleventh.headers.contains_key("retry-after"));
    // The window counted exactly the ten 409s; the 429 itself wrote nothing.
    let minute = s.deps().clock.now_epoch().div_euclid(60);
    let window = s
        .item(&keys::rate_pk(&customer_id, minute), keys::RATE_SK)
        .await
        .expect("the rate window exists");
    assert_eq!(window["attempts"].as_n().map(String::as_str), Ok("10"));
    // A new minute, a new window: the customer may try again.
    s.deps().clock.advance(chrono::Duration::seconds(60));
    assert_eq!(book(&s, &customer, &show, &["R0-1"]).await.status, 201);
}

#[tokio::test]
async fn the_seat_cap_holds_under_fifty_concurrent_requests_from_one_customer() {
    let s = stack_with(&[
        ("BOOKING_RATE_LIMIT_PER_MINUTE", "1000000"),
        ("HOLD_SECONDS", "3600"),
    ])
    .await;
    let f = s.catalog(200).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (customer_id, customer) = s.user(Role::Customer).await;
    // 50 concurrent holds of 2 distinct seats each: the default cap of 10 lets exactly 5 through.
    let seats: Vec<[String; 2]> = (0..50)
        .map(|i| {
            [
                format!("R{}-{}", i / 10, (i % 10) * 2),
                format!("R{}-{}", i / 10, (i % 10) * 2 + 1),
            ]
        })
        .collect();
    let replies = join_all(seats.iter().map(|pair| {
        let refs = [pair[0].as_str(), pair[1].as_str()];
        let (s, customer, show) = (&s, &customer, &show);
        async move { book(s, customer, show, &refs).await }
    }))
    .await;
    let won: Vec<&Reply> = replies.iter().filter(|r| r.status == 201).collect();
    for r in &replies {
        assert!(
            r.status == 201 || (r.status, r.code()) == (422, "SEAT_LIMIT_REACHED"),
            "{}",
            r.text
        );
    }
    assert_eq!(won.len(), 5, "exactly the cap's worth of holds");
    assert_eq!(counted(&s, &show, &customer_id).await, 10);
    let refused = replies
        .iter()
        .find(|r| r.status == 422)
        .expect("some refused");
    assert_eq!(refused.body["error"]["details"]["maxSeatsPerCustomer"], 10);
    // Cancelling a hold gives its seats back to the cap at once.
    let id = won[0].body["bookingId"].as_str().expect("id").to_owned();
    cancel(&s, &customer, &id).await;
    assert_eq!(counted(&s, &show, &customer_id).await, 8);
    assert_eq!(
        book(&s, &customer, &show, &["R9-0", "R9-1"]).await.status,
        201
    );
    assert_eq!(book(&s, &customer, &show, &["R9-2"]).await.status, 422);
    // Another customer is not affected.
    let (_, other) = s.user(Role::Customer).await;
    assert_eq!(book(&s, &other, &show, &["R9-3", "R9-4"]).await.status, 201);
}

#[tokio::test]
async fn a_show_configures_its_cap_and_an_expired_hold_gives_its_seats_back() {
    let s = stack_with(&[
        ("BOOKING_RATE_LIMIT_PER_MINUTE", "1000000"),
        ("HOLD_SECONDS", "60"),
    ])
    .await;
    let f = s.catalog(40).await;
    let mut body = s.show_body(&f, &ist(3, 18, 0));
    body["maxSeatsPerCustomer"] = json!(3);
    let r = s
        .call("POST", "/api/v1/shows")
        .token(&f.partner)
        .json(&body)
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let show = r.body["showId"].as_str().expect("id").to_owned();
    body["maxSeatsPerCustomer"] = json!(0);
    let bad = s
        .call("POST", "/api/v1/shows")
        .token(&f.partner)
        .json(&body)
        .send()
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);

    let (customer_id, customer) = s.user(Role::Customer).await;
    let four = book(&s, &customer, &show, &["R0-0", "R0-1", "R0-2", "R0-3"]).await;
    assert_eq!((four.status, four.code()), (422, "SEAT_LIMIT_REACHED"));
    assert_eq!(
        book(&s, &customer, &show, &["R0-0", "R0-1"]).await.status,
        201
    );
    assert_eq!(
        book(&s, &customer, &show, &["R0-2", "R0-3"]).await.status,
        422
    );
    // The hold lapses and the sweep expires it: its seats count no more.
    s.deps().clock.advance(chrono::Duration::seconds(61));
    expire_holds::handler(
        s.deps(),
        boxoffice_local::triggers::scheduled_event("expire-holds"),
    )
    .await
    .expect("the sweep runs");
    assert_eq!(counted(&s, &show, &customer_id).await, 0);
    assert_eq!(
        book(&s, &customer, &show, &["R0-2", "R0-3", "R0-4"])
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn a_refunded_booking_gives_its_seats_back_to_the_cap() {
    let s = stack_with(&[
        ("BOOKING_RATE_LIMIT_PER_MINUTE", "1000000"),
        ("HOLD_SECONDS", "3600"),
    ])
    .await;
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (customer_id, customer) = s.user(Role::Customer).await;
    let held = book(&s, &customer, &show, &["R0-0", "R0-1", "R0-2"]).await;
    assert_eq!(held.status, 201, "{}", held.text);
    let id = held.body["bookingId"].as_str().expect("id").to_owned();
    let triggers = s.start_triggers();
    s.pay_with_sandbox(&customer, &id).await;
    assert_eq!(
        counted(&s, &show, &customer_id).await,
        3,
        "bought seats count too"
    );
    cancel(&s, &customer, &id).await;
    assert_eq!(
        counted(&s, &show, &customer_id).await,
        0,
        "the refund gave them back"
    );
    drop(triggers);
}

/// The losers' counts sent together (`boxoffice::attempts`): concurrent counts in one container
/// go in fewer requests than there are counts, each window counted exactly once; and a batch
/// holding a full window counts nothing together, so each count is then made alone and answered
/// exactly (the full window refused: a 429, left as it was).
#[tokio::test]
async fn losers_counts_go_together_and_each_is_counted_exactly_once() {
    let s = stack_with(&[]).await;
    pin_to_a_window_start(&s);
    let (deps, counter) = s.counted_deps();
    let now = deps.clock.now_epoch();
    let minute = now.div_euclid(60);
    let limit = 3;
    let attempts = |who: &[String], within: Option<u32>| -> Vec<Attempt> {
        who.iter()
            .map(|user_id| Attempt {
                user_id: user_id.clone(),
                now,
                within,
            })
            .collect()
    };
    let count_all = |attempts: Vec<Attempt>| {
        join_all(
            attempts
                .into_iter()
                .map(|a| deps.caches.attempts.count(&deps.store, a)),
        )
    };
    let window = |user: String| {
        let s = &s;
        async move {
            s.item(&keys::rate_pk(&user, minute), keys::RATE_SK)
                .await
                .and_then(|w| w["attempts"].as_n().ok().cloned())
        }
    };
    let customers: Vec<String> = (0..30).map(|i| format!("usr_batch{i:02}")).collect();

    // 30 counts at once, half of them only within the limit: all counted, in fewer requests.
    let mut first = attempts(&customers[..15], Some(limit));
    first.extend(attempts(&customers[15..], None));
    let answers = count_all(first).await;
    assert!(answers.iter().all(|a| matches!(a, Ok(true))), "{answers:?}");
    let requests = counter.take();
    assert!(
        requests.len() < customers.len(),
        "30 counts went in {} requests: {requests:?}",
        requests.len()
    );
    for c in &customers {
        assert_eq!(window(c.clone()).await.as_deref(), Some("1"), "{c}");
    }

    // One window full (3 attempts), counted beside 29 open ones: exact answers all the same.
    let full = customers[7].clone();
    for _ in 0..2 {
        let one = attempts(std::slice::from_ref(&full), Some(limit));
        assert_eq!(count_all(one).await.pop().map(Result::ok), Some(Some(true)));
    }
    counter.take();
    let answers = count_all(attempts(&customers, Some(limit))).await;
    let requests = counter.take();
    assert!(
        requests.iter().any(|r| r == "TransactWriteItems") && requests.len() >= customers.len(),
        "a batch tried, then each alone: {requests:?}"
    );
    for (c, answer) in customers.iter().zip(&answers) {
        let expected = c != &full;
        assert!(matches!(answer, Ok(a) if *a == expected), "{c}: {answer:?}");
        let counted = if c == &full { "3" } else { "2" };
        assert_eq!(window(c.clone()).await.as_deref(), Some(counted), "{c}");
    }
}
