//! Seat holds and the booking lifecycle through the real handlers, the real SDK and DynamoDB Local.

use boxoffice::{domain::user::Role, store::catalog::SeatItem};
use boxoffice_local::{counter::sequential_rounds, gateway::Gateway};
use boxoffice_tests::{
    call_on,
    faults::{Fault, FaultWhen},
    fixtures::ist,
    stack_with, Reply, TestStack,
};
use futures::future::join_all;
use serde_json::{json, Value};
use std::{
    collections::{BTreeSet, HashMap},
    sync::atomic::Ordering,
};

fn seat(i: usize) -> String {
    format!("R{}-{}", i / 20, i % 20)
}

async fn book(s: &TestStack, token: &str, show: &str, seats: &[String]) -> Reply {
    s.call("POST", "/api/v1/bookings")
        .token(token)
        .json(&json!({"showId": show, "seatIds": seats}))
        .send()
        .await
}

/// Every seat item of a show, read straight from the table.
async fn seat_items(s: &TestStack, show_id: &str) -> Vec<SeatItem> {
    let out = s
        .deps()
        .store
        .get_show_collection(show_id)
        .await
        .expect("collection")
        .expect("show exists");
    out.seats
}

/// No rate limit, and holds that outlive the test (so no hold lapses while a test runs).
async fn unlimited() -> TestStack {
    stack_with(&[
        ("BOOKING_RATE_LIMIT_PER_MINUTE", "1000000"),
        ("HOLD_SECONDS", "3600"),
    ])
    .await
}

/// Tokens for `n` customers (no account item is needed to hold seats).
fn customers(s: &TestStack, n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let id = format!("usr_c{i:05}");
            let t = s.token_for(&id, &format!("c{i}@example.com"), Role::Customer);
            (id, t)
        })
        .collect()
}

#[tokio::test]
async fn a_hold_prices_and_locks_exactly_its_seats() {
    let s = unlimited().await;
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (_, customer) = s.user(Role::Customer).await;
    let r = book(&s, &customer, &show, &[seat(0), seat(20), seat(21)]).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["status"], "PAYMENT_PENDING");
    // PREMIUM 25000 + WHEELCHAIR 15000 + REGULAR 18000; fee 3000 × 3; 18 % tax on 67000.
    assert_eq!(
        r.body["pricing"],
        json!({"currency": "INR", "subtotal": 58000, "discount": 0, "fees": 9000, "tax": 12060, "total": 79060, "appliedOffers": []})
    );
    assert!(r.body["expiresAt"]
        .as_str()
        .is_some_and(|e| e.ends_with('Z')));
    assert_eq!(r.body["show"]["showId"], show.as_str());

    let map = s
        .call("GET", &format!("/api/v1/shows/{show}/seats"))
        .send()
        .await;
    let locked: BTreeSet<String> = map.body["seatMap"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .flat_map(|r| r["seats"].as_array().cloned().unwrap_or_default())
        .filter(|x| x["status"] == "LOCKED")
        .map(|x| x["seatId"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(locked, [seat(0), seat(20), seat(21)].into_iter().collect());

    let taken = book(
        &s,
        &s.user(Role::Customer).await.1,
        &show,
        &[seat(1), seat(21), seat(0)],
    )
    .await;
    assert_eq!(
        (taken.status, taken.code()),
        (409, "SEAT_LOCK_FAILED"),
        "{}",
        taken.text
    );
    assert_eq!(
        taken.body["error"]["details"]["unavailableSeatIds"],
        json!([seat(21), seat(0)])
    );
    assert_eq!(taken.body["error"]["details"]["showId"], show.as_str());
}

#[tokio::test]
async fn bad_booking_requests_are_refused_clearly() {
    let s = unlimited().await;
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (_, customer) = s.user(Role::Customer).await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"showId": show, "seatIds": []}),
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"showId": show, "seatIds": (0..11).map(seat).collect::<Vec<_>>()}),
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"showId": show, "seatIds": [seat(1), seat(1)]}),
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"showId": show, "seatIds": ["Z9"]}),
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"showId": show, "seatIds": [seat(1)], "couponCode": "NOPE"}),
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"showId": show, "seatIds": "A1"}),
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"showId": "sh_01JD0000000000000000000000", "seatIds": [seat(1)]}),
            404,
            "NOT_FOUND",
        ),
        (
            json!({"showId": "bogus", "seatIds": [seat(1)]}),
            404,
            "NOT_FOUND",
        ),
    ];
    for (body, status, code) in cases {
        let r = s
            .call("POST", "/api/v1/bookings")
            .token(&customer)
            .json(&body)
            .send()
            .await;
        assert_eq!((r.status, r.code()), (status, code), "{body}: {}", r.text);
    }
    let dup = s
        .call("POST", "/api/v1/bookings")
        .token(&customer)
        .json(&json!({"showId": show, "seatIds": [seat(1), seat(1)]}))
        .send()
        .await;
    assert_eq!(
        dup.body["error"]["details"]["duplicateSeatIds"],
        json!([seat(1)])
    );
    assert_eq!(
        book(&s, &f.partner, &show, &[seat(1)]).await.status,
        403,
        "partners do not book"
    );
    let bad_key = s
        .call("POST", "/api/v1/bookings")
        .token(&customer)
        .header("idempotency-key", "short")
        .json(&json!({"showId": show, "seatIds": [seat(1)]}))
        .send()
        .await;
    assert_eq!(bad_key.status, 400);
    assert!(
        seat_items(&s, &show).await.is_empty(),
        "nothing was held by refused requests"
    );

    // A show that has started is not bookable.
    s.deps().clock.advance(chrono::Duration::days(4));
    let late = book(&s, &customer, &show, &[seat(2)]).await;
    assert_eq!(
        (late.status, late.code()),
        (422, "SHOW_NOT_BOOKABLE"),
        "{}",
        late.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_concurrent_holds_never_share_a_seat() {
    let s = unlimited().await;
    let f = s.catalog(100).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let users = customers(&s, 2000);
    // A fixed pseudo-random sequence: 1–4 seats each, anywhere in the 100.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % m) as usize
    };
    let requests: Vec<Vec<String>> = (0..2000)
        .map(|_| {
            let n = 1 + next(4);
            let mut set = BTreeSet::new();
            while set.len() < n {
                set.insert(seat(next(100)));
            }
            set.into_iter().collect()
        })
        .collect();
    let replies = join_all(
        users
            .iter()
            .zip(&requests)
            .map(|((_, t), seats)| book(&s, t, &show, seats)),
    )
    .await;

    let items = seat_items(&s, &show).await;
    let holder: HashMap<&str, &str> = items
        .iter()
        .map(|i| (i.seat_id.as_str(), i.booking_id.as_str()))
        .collect();
    let mut won: BTreeSet<String> = BTreeSet::new();
    for (r, seats) in replies.iter().zip(&requests) {
        match r.status {
            201 => {
                let id = r.body["bookingId"].as_str().expect("id");
                for seat in seats {
                    assert_eq!(
                        holder.get(seat.as_str()),
                        Some(&id),
                        "{seat} of a 201 is held by its booking"
                    );
                    assert!(won.insert(seat.clone()), "{seat} won twice");
                }
                let booked: Vec<&str> = r.body["seats"]
                    .as_array()
                    .expect("seats")
                    .iter()
                    .filter_map(|x| x["seatId"].as_str())
                    .collect();
                assert_eq!(booked, seats.iter().map(String::as_str).collect::<Vec<_>>());
            }
            409 => {
                let unavailable: Vec<String> = serde_json::from_value(
                    r.body["error"]["details"]["unavailableSeatIds"].clone(),
                )
                .expect("ids");
                assert!(!unavailable.is_empty());
                for u in &unavailable {
                    assert!(seats.contains(u), "{u} was not asked for");
                    assert!(
                        holder.contains_key(u.as_str()),
                        "{u} reported taken but is free"
                    );
                }
            }
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    // Every seat item belongs to a booking that got a 201, and to nobody else: no partial holds.
    let winners: BTreeSet<&str> = replies
        .iter()
        .filter(|r| r.status == 201)
        .filter_map(|r| r.body["bookingId"].as_str())
        .collect();
    assert!(
        items
            .iter()
            .all(|i| winners.contains(i.booking_id.as_str())),
        "a seat is held by a booking that lost"
    );
    assert_eq!(won.len(), items.len());
    let ok = replies.iter().filter(|r| r.status == 201).count();
    eprintln!(
        "contention: {ok} holds won, {} refused, {} seats held of 100",
        replies.len() - ok,
        items.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyone_asking_for_the_same_two_seats_gives_one_winner() {
    let s = unlimited().await;
    let f = s.catalog(100).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let users = customers(&s, 2000);
    let pair = vec![seat(50), seat(51)];
    let replies = join_all(users.iter().map(|(_, t)| book(&s, t, &show, &pair))).await;
    let statuses: BTreeSet<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(replies.iter().filter(|r| r.status == 201).count(), 1);
    assert_eq!(statuses, [201, 409].into_iter().collect());
    assert_eq!(seat_items(&s, &show).await.len(), 2);
}

#[tokio::test]
async fn overlapping_multi_seat_holds_are_all_or_nothing() {
    let s = unlimited().await;
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let users = customers(&s, 60);
    // Chains of overlapping windows: [i, i+1, i+2] for i in 0..20, three times over.
    let asks: Vec<Vec<String>> = (0..60)
        .map(|i| (0..3).map(|k| seat((i + k) % 20)).collect())
        .collect();
    let replies = join_all(
        users
            .iter()
            .zip(&asks)
            .map(|((_, t), seats)| book(&s, t, &show, seats)),
    )
    .await;
    let items = seat_items(&s, &show).await;
    let mut by_booking: HashMap<&str, Vec<&str>> = HashMap::new();
    for i in &items {
        by_booking
            .entry(i.booking_id.as_str())
            .or_default()
            .push(i.seat_id.as_str());
    }
    for r in replies.iter().filter(|r| r.status == 201) {
        let id = r.body["bookingId"].as_str().expect("id");
        assert_eq!(
            by_booking.get(id).map(Vec::len),
            Some(3),
            "a 201 holds all three"
        );
    }
    assert!(
        by_booking.values().all(|v| v.len() == 3),
        "no booking holds part of its seats"
    );
}

#[tokio::test]
async fn an_expired_hold_is_taken_over_before_any_sweep() {
    let s = stack_with(&[("HOLD_SECONDS", "60")]).await;
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (_, first) = s.user(Role::Customer).await;
    let (_, second) = s.user(Role::Customer).await;
    let a = book(&s, &first, &show, &[seat(3), seat(4)]).await;
    assert_eq!(a.status, 201);
    assert_eq!(book(&s, &second, &show, &[seat(4)]).await.status, 409);
    s.deps().clock.advance(chrono::Duration::seconds(61));
    let b = book(&s, &second, &show, &[seat(4), seat(5)]).await;
    assert_eq!(b.status, 201, "{}", b.text);
    let items = seat_items(&s, &show).await;
    let s4 = items.iter().find(|i| i.seat_id == seat(4)).expect("seat 4");
    assert_eq!(s4.booking_id, b.body["bookingId"].as_str().expect("id"));
}

#[tokio::test]
async fn idempotent_retries_replay_one_booking() {
    let s = unlimited().await;
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (_, customer) = s.user(Role::Customer).await;
    let body = json!({"showId": show, "seatIds": [seat(7), seat(8)]});
    let key = "8b0e1c64-5d0b-4f5e-8a2a-3f0a1f3c9d77";
    let attempt = || {
        s.call("POST", "/api/v1/bookings")
            .token(&customer)
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let replies = join_all((0..20).map(|_| attempt())).await;
    assert!(
        replies.iter().all(|r| r.status == 201),
        "{:?}",
        replies
            .iter()
            .map(|r| (r.status, &r.text))
            .collect::<Vec<_>>()
    );
    assert!(
        replies.iter().all(|r| r.text == replies[0].text),
        "20 identical responses"
    );
    let mine = s
        .call("GET", "/api/v1/me/bookings")
        .token(&customer)
        .send()
        .await;
    assert_eq!(
        mine.body["bookings"].as_array().map(Vec::len),
        Some(1),
        "{}",
        mine.text
    );

    let other = json!({"showId": show, "seatIds": [seat(9)]});
    let reused = s
        .call("POST", "/api/v1/bookings")
        .token(&customer)
        .header("idempotency-key", key)
        .json(&other)
        .send()
        .await;
    assert_eq!(
        (reused.status, reused.code()),
        (422, "IDEMPOTENCY_KEY_REUSED"),
        "{}",
        reused.text
    );
    // Keys are per user: another customer's same key is a new request.
    let (_, someone) = s.user(Role::Customer).await;
    let theirs = s
        .call("POST", "/api/v1/bookings")
        .token(&someone)
        .header("idempotency-key", key)
        .json(&other)
        .send()
        .await;
    assert_eq!(theirs.status, 201, "{}", theirs.text);
}

#[tokio::test]
async fn a_warm_hold_is_one_dynamodb_call_and_so_is_a_conflict() {
    let s = unlimited().await;
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (_, customer) = s.user(Role::Customer).await;
    let (gw, counter) = s.counted();
    let hold = |seats: Vec<String>| {
        call_on(&gw, "POST", "/api/v1/bookings")
            .token(&customer)
            .json(&json!({"showId": show, "seatIds": seats}))
            .send()
    };
    // Cold container: the show and the cities list are read at once (one wait), then cached.
    let first = hold(vec![seat(1)]).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let cold = counter.take_calls();
    assert_eq!(cold.len(), 3, "{cold:?}");
    let mut reads: Vec<&str> = cold[..2].iter().map(|c| c.operation.as_str()).collect();
    reads.sort_unstable();
    assert_eq!(reads, ["GetItem", "Query"], "{cold:?}");
    assert_eq!(cold[2].operation, "TransactWriteItems");
    // The second read went out before the first answered: one wait, then the transaction.
    assert_eq!(sequential_rounds(&cold), 2, "{cold:?}");
    assert_eq!(hold(vec![seat(2), seat(3)]).await.status, 201);
    assert_eq!(
        counter.take(),
        vec!["TransactWriteItems"],
        "a warm hold is one call"
    );
    assert_eq!(hold(vec![seat(3), seat(4)]).await.status, 409);
    assert_eq!(
        counter.take(),
        vec!["TransactWriteItems"],
        "a 409 is one call too"
    );
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let s = stack_with(&[("BOOKING_RATE_LIMIT_PER_MINUTE", "3")]).await;
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (_, customer) = s.user(Role::Customer).await;
    let mut statuses = Vec::new();
    let mut last = None;
    for i in 0..5 {
        let r = book(&s, &customer, &show, &[seat(i)]).await;
        statuses.push(r.status);
        last = Some(r);
    }
    // The window is per calendar minute: the limit may straddle a minute boundary at most once.
    assert!(statuses.iter().filter(|st| **st == 201).count() <= 6);
    let last = last.expect("replies");
    if last.status == 429 {
        assert_eq!(last.code(), "RATE_LIMITED");
        let retry: u64 = last.headers["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!((1..=60).contains(&retry));
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    let (_, other) = s.user(Role::Customer).await;
    assert_eq!(
        book(&s, &other, &show, &[seat(10)]).await.status,
        201,
        "the limit is per user"
    );
}

#[tokio::test]
async fn cancelling_frees_the_seats_at_once_and_is_repeatable() {
    let s = unlimited().await;
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (_, owner) = s.user(Role::Customer).await;
    let (_, stranger) = s.user(Role::Customer).await;
    let b = book(&s, &owner, &show, &[seat(5), seat(6)]).await;
    let id = b.body["bookingId"].as_str().expect("id").to_owned();
    assert_eq!(
        s.call("GET", &format!("/api/v1/bookings/{id}"))
            .token(&stranger)
            .send()
            .await
            .status,
        403
    );
    assert_eq!(
        s.call("GET", &format!("/api/v1/bookings/{id}"))
            .token(&f.admin)
            .send()
            .await
            .status,
        200
    );
    assert_eq!(
        s.call("POST", &format!("/api/v1/bookings/{id}/cancel"))
            .token(&stranger)
            .send()
            .await
            .status,
        403
    );
    let c = s
        .call("POST", &format!("/api/v1/bookings/{id}/cancel"))
        .token(&owner)
        .send()
        .await;
    assert_eq!(
        (c.status, c.body["status"].as_str()),
        (200, Some("CANCELLED")),
        "{}",
        c.text
    );
    assert!(seat_items(&s, &show).await.is_empty(), "seats free at once");
    let again = s
        .call("POST", &format!("/api/v1/bookings/{id}/cancel"))
        .token(&owner)
        .send()
        .await;
    assert_eq!(
        (again.status, again.body["status"].as_str()),
        (200, Some("CANCELLED"))
    );
    assert_eq!(
        book(&s, &stranger, &show, &[seat(5), seat(6)]).await.status,
        201
    );
    let got = s
        .call("GET", &format!("/api/v1/bookings/{id}"))
        .token(&owner)
        .send()
        .await;
    assert_eq!(got.body["status"], "CANCELLED");
    assert!(got.body["cancelledAt"].is_string());
    assert_eq!(
        s.call("GET", "/api/v1/bookings/bk_01JD0000000000000000000000")
            .token(&owner)
            .send()
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn my_bookings_are_newest_first_and_paged() {
    let s = unlimited().await;
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (_, me) = s.user(Role::Customer).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            book(&s, &me, &show, &[seat(i)]).await.body["bookingId"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    let p1 = s
        .call("GET", "/api/v1/me/bookings?limit=2")
        .token(&me)
        .send()
        .await;
    let got: Vec<&str> = p1.body["bookings"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|b| b["bookingId"].as_str())
        .collect();
    assert_eq!(got, vec![ids[2].as_str(), ids[1].as_str()]);
    let cursor = p1.body["nextCursor"].as_str().expect("cursor");
    let p2 = s
        .call(
            "GET",
            &format!("/api/v1/me/bookings?limit=2&cursor={cursor}"),
        )
        .token(&me)
        .send()
        .await;
    assert_eq!(p2.body["bookings"][0]["bookingId"], ids[0].as_str());
    assert_eq!(
        s.call("GET", "/api/v1/me/bookings?cursor=zzz")
            .token(&me)
            .send()
            .await
            .status,
        400
    );
    let (_, other) = s.user(Role::Customer).await;
    let theirs = s
        .call("GET", &format!("/api/v1/me/bookings?cursor={cursor}"))
        .token(&other)
        .send()
        .await;
    assert_eq!(
        theirs.status, 400,
        "a cursor of another user's list is refused"
    );
}

#[tokio::test]
async fn coupons_apply_as_rules_and_per_user_limits_hold_under_concurrency() {
    let s = unlimited().await;
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let put = |code: &str, body: Value| {
        s.call("PUT", &format!("/api/v1/admin/offers/{code}"))
            .token(&f.admin)
            .json(&body)
            .send()
    };
    assert_eq!(put("THIRD50", json!({"description": "Every third ticket half price", "rule": {"type": "THIRD50"}, "perUserLimit": 2})).await.status, 200);
    assert_eq!(put("BIG", json!({"description": "100 off 500", "rule": {"type": "FLAT_OFF", "amount": 10000, "minSubtotal": 50000}})).await.status, 200);
    assert_eq!(
        put(
            "bad%20code!",
            json!({"description": "x", "rule": {"type": "THIRD50"}})
        )
        .await
        .status,
        400
    );
    assert_eq!(put("PCT", json!({"description": "x", "rule": {"type": "PERCENT_OFF", "percent": 0, "maxDiscount": 1}})).await.status, 400);
    let customer = s.user(Role::Customer).await.1;
    assert_eq!(
        s.call("PUT", "/api/v1/admin/offers/X1")
            .token(&customer)
            .json(&json!({"description": "x", "rule": {"type": "THIRD50"}}))
            .send()
            .await
            .status,
        403
    );
    let list = s
        .call("GET", "/api/v1/admin/offers")
        .token(&f.admin)
        .send()
        .await;
    assert_eq!(
        list.body["offers"].as_array().map(Vec::len),
        Some(2),
        "{}",
        list.text
    );

    let (_, me) = s.user(Role::Customer).await;
    let with = |seats: Vec<String>, code: &str| {
        s.call("POST", "/api/v1/bookings")
            .token(&me)
            .json(&json!({"showId": show, "seatIds": seats, "couponCode": code}))
            .send()
    };
    let two = with(vec![seat(20), seat(21)], "THIRD50").await;
    assert_eq!(two.status, 400, "THIRD50 needs three tickets: {}", two.text);
    assert!(two.body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("at least 3")));
    let small = with(vec![seat(22)], "BIG").await;
    assert_eq!(small.status, 400, "{}", small.text);

    // Five concurrent bookings with a 2-use coupon: exactly two get it.
    let tries = (0..5).map(|i| {
        with(
            vec![seat(25 + i * 3), seat(26 + i * 3), seat(27 + i * 3)],
            "THIRD50",
        )
    });
    let replies = join_all(tries).await;
    let won: Vec<&Reply> = replies.iter().filter(|r| r.status == 201).collect();
    assert_eq!(
        won.len(),
        2,
        "{:?}",
        replies
            .iter()
            .map(|r| (r.status, &r.text))
            .collect::<Vec<_>>()
    );
    assert!(replies
        .iter()
        .filter(|r| r.status != 201)
        .all(|r| r.status == 400 && r.text.contains("use limit")));
    assert_eq!(won[0].body["pricing"]["discount"], 9000);
    assert_eq!(
        won[0].body["pricing"]["appliedOffers"][0]["code"],
        "THIRD50"
    );

    // Cancelling gives the use back.
    let id = won[0].body["bookingId"].as_str().expect("id");
    assert_eq!(
        s.call("POST", &format!("/api/v1/bookings/{id}/cancel"))
            .token(&me)
            .send()
            .await
            .status,
        200
    );
    assert_eq!(
        with(vec![seat(0), seat(1), seat(2)], "third50")
            .await
            .status,
        201,
        "codes are case-insensitive"
    );
}

/// A two-seat hold by a fresh customer whose DynamoDB requests (those of `operation` that name
/// the customer) meet `fault`: the stack, the show, the customer's token, the answer and the injector.
async fn hold_under(
    fault: Fault,
    operation: Option<&str>,
) -> (TestStack, String, String, Reply, FaultWhen) {
    let s = unlimited().await;
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (user, customer) = s.user(Role::Customer).await;
    let injected = s.fault(fault, &user, operation);
    let gw = Gateway::new(
        &s.stack.template,
        s.deps_with_dynamodb_fault(injected.clone()),
    );
    let r = call_on(&gw, "POST", "/api/v1/bookings")
        .token(&customer)
        .json(&json!({"showId": show, "seatIds": [seat(1), seat(2)]}))
        .send()
        .await;
    (s, show, customer, r, injected)
}

async fn my_bookings(s: &TestStack, token: &str) -> Vec<Value> {
    let mine = s
        .call("GET", "/api/v1/me/bookings")
        .token(token)
        .send()
        .await;
    mine.body["bookings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_throttled_or_hung_store_answers_503_with_retry_after_and_writes_nothing() {
    for fault in [Fault::Throttle, Fault::Hang] {
        let (s, show, customer, r, injected) = hold_under(fault, None).await;
        r.assert_unavailable(&format!("{fault:?}"));
        // Hung attempts time out and are retried by the SDK (throttles too: both are transient).
        assert!(injected.hits.load(Ordering::SeqCst) >= 2, "{fault:?}");
        assert!(
            seat_items(&s, &show).await.is_empty(),
            "{fault:?}: no seat held"
        );
        assert!(
            my_bookings(&s, &customer).await.is_empty(),
            "{fault:?}: no booking"
        );
    }
}

#[tokio::test]
async fn a_hold_whose_response_was_lost_is_retried_without_taking_its_own_seats_twice() {
    // The hold transaction executes, its answer is lost, the SDK times out and sends it again:
    // DynamoDB answers the retry from its client request token (and, were it evaluated again,
    // the hold's own idempotency record would replay the stored answer).
    let (s, show, customer, r, lossy) =
        hold_under(Fault::LoseFirstResponse, Some("TransactWriteItems")).await;
    assert_eq!(lossy.hits.load(Ordering::SeqCst), 2);
    assert_eq!(
        r.status, 201,
        "the retry is answered with the first outcome: {}",
        r.text
    );
    let id = r.body["bookingId"].as_str().expect("id");
    let held = seat_items(&s, &show).await;
    assert_eq!(held.len(), 2, "{held:?}");
    assert!(held.iter().all(|i| i.booking_id == id), "{held:?}");
    assert_eq!(my_bookings(&s, &customer).await.len(), 1);
}
