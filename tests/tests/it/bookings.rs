//! Seat holds and the booking lifecycle through the real handlers, the real SDK and DynamoDB Local.

use boxoffice::{
    domain::user::Role,
    store::{catalog::SeatItem, keys, TRANSACTION_ATTEMPTS},
};
use boxoffice_local::{counter::sequential_rounds, gateway::Gateway};
use boxoffice_tests::{
    call_on,
    faults::{Conflicts, Fault, FaultWhen},
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

/// The seat rush: 2,000 customers, each asking for the same seeded 1–4 of a 100-seat show's
/// seats at once, through `gateway`. Checks that no seat is held twice, that each 201 holds
/// exactly its seats, that each 409 names only seats it asked for and someone holds, and that no
/// loser holds anything; a 503 (only when `unavailable_allowed`) must be the contract's, with a
/// Retry-After, and hold nothing. Returns the replies with what each asked for, and the seat items.
async fn rush(
    s: &TestStack,
    gateway: &Gateway,
    show: &str,
    unavailable_allowed: bool,
) -> (Vec<(Reply, Vec<String>)>, Vec<SeatItem>) {
    let users = customers(s, 2000);
    // A fixed pseudo-random sequence: 1–4 seats each, anywhere in the 100 seats R2-0..R7-19 of
    // a 200-seat show, half of them in its first block (partition key) and half in its second.
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
                set.insert(seat(50 + next(100)));
            }
            set.into_iter().collect()
        })
        .collect();
    let replies = join_all(users.iter().zip(&requests).map(|((_, t), seats)| {
        call_on(gateway, "POST", "/api/v1/bookings")
            .token(t)
            .json(&json!({"showId": show, "seatIds": seats}))
            .send()
    }))
    .await;

    let items = seat_items(s, show).await;
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
            503 if unavailable_allowed => {
                r.assert_unavailable("a hold conflicting past its retries")
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
    // The rush crossed the partitions: seats were won in both blocks, and some holds won seats
    // in both at once (one transaction over two partition keys).
    let layout = s
        .deps()
        .store
        .get_show(show)
        .await
        .expect("read")
        .expect("show")
        .layout;
    let block = |seat: &str| layout.place(seat).map(|p| p.block);
    let blocks_won: BTreeSet<_> = items.iter().map(|i| block(&i.seat_id)).collect();
    assert_eq!(blocks_won, BTreeSet::from([Some(0), Some(1)]));
    let spanning = replies
        .iter()
        .zip(&requests)
        .filter(|(r, seats)| {
            r.status == 201
                && seats
                    .iter()
                    .map(|s| block(s))
                    .collect::<BTreeSet<_>>()
                    .len()
                    == 2
        })
        .count();
    assert!(spanning > 0, "no winning hold spanned two partitions");
    let ok = replies.iter().filter(|r| r.status == 201).count();
    eprintln!(
        "contention: {ok} holds won ({spanning} over two partitions), {} refused, {} unavailable, {} seats held of 100",
        replies.iter().filter(|r| r.status == 409).count(),
        replies.iter().filter(|r| r.status == 503).count(),
        items.len()
    );
    (replies.into_iter().zip(requests).collect(), items)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_concurrent_holds_never_share_a_seat() {
    let s = unlimited().await;
    let f = s.catalog(200).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    rush(&s, &s.gateway, &show, false).await;
}

/// The rush with 5 % of the hold transactions (seeded) cancelled for a `TransactionConflict`, as
/// DynamoDB does when two transactions touch an item at once (DynamoDB Local never does), and the
/// winners then paid through confirm-payment, whose transactions conflict at the same rate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_concurrent_holds_meeting_transaction_conflicts_never_share_a_seat() {
    // Every attempt sends its transaction here (this test counts them against the conflicts),
    // so the memory of taken seats, which spares some losers theirs, is off.
    let s = stack_with(&[
        ("BOOKING_RATE_LIMIT_PER_MINUTE", "1000000"),
        ("HOLD_SECONDS", "3600"),
        ("SEAT_MEMORY_MS", "0"),
    ])
    .await;
    let f = s.catalog(200).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let rate = |seed| Conflicts::Rate {
        per_mille: 50,
        seed,
    };
    // The show's transactions (its holds, then its confirmations), not the losers' rate-window
    // counts, which go together in transactions of their own (`attempts`).
    let holds = s.fault(
        Fault::TransactionConflict(rate(0x5EED_0001)),
        &show,
        Some("TransactWriteItems"),
    );
    let gw = Gateway::new(
        &s.stack.template,
        s.deps_under_load_with_dynamodb_fault(holds.clone()),
    );
    let (replies, items) = rush(&s, &gw, &show, true).await;

    // The retry loop ran: every conflicted attempt was followed by another, except after the
    // last of a 503's TRANSACTION_ATTEMPTS conflicts.
    let attempts = holds.hits.load(Ordering::SeqCst);
    let conflicts = holds.injected.load(Ordering::SeqCst);
    let n503 = replies.iter().filter(|(r, _)| r.status == 503).count();
    assert!(
        conflicts >= 50,
        "about 5 % of the transactions conflicted: {conflicts}"
    );
    assert_eq!(
        attempts,
        2000 + conflicts - n503,
        "one more attempt per conflict"
    );
    // The documented budget, written out (not read from the store): a hold gives up with a 503
    // only after its 4th conflicting attempt, so each 503 accounts for 4 of the conflicts.
    const ATTEMPTS: usize = 4;
    assert!(
        conflicts >= n503 * ATTEMPTS,
        "a 503 only after {ATTEMPTS} conflicts: {n503} of them, {conflicts} conflicts"
    );
    assert!(replies.iter().any(|(r, _)| r.status == 201));

    // Pay every other winner, its confirmations meeting conflicts too; a confirmation that gives
    // up is an error, and SQS would deliver it again: so does this loop.
    let confirms = s.fault(
        Fault::TransactionConflict(rate(0x5EED_0002)),
        &show,
        Some("TransactWriteItems"),
    );
    let deps = s.deps_under_load_with_dynamodb_fault(confirms.clone());
    let winners: Vec<(&Reply, &Vec<String>)> = replies
        .iter()
        .filter(|(r, _)| r.status == 201)
        .map(|(r, seats)| (r, seats))
        .collect();
    let paid: BTreeSet<&str> = winners
        .iter()
        .step_by(2)
        .filter_map(|(r, _)| r.body["bookingId"].as_str())
        .collect();
    join_all(winners.iter().step_by(2).map(|(r, _)| {
        let deps = &deps;
        async move {
            let id = r.body["bookingId"].as_str().expect("id");
            let m = json!({"provider": "sandbox", "eventId": format!("evt_{id}"), "outcome": "SUCCEEDED",
                "paymentIntentId": format!("pi_sandbox_{id}"), "bookingId": id,
                "amount": r.body["pricing"]["total"], "currency": "INR", "occurredAt": 1});
            let m = serde_json::from_value(m).expect("message");
            for _ in 0..10 {
                if confirm_payment::apply(deps, &m).await.is_ok() {
                    return;
                }
            }
            panic!("{id} never confirmed");
        }
    }))
    .await;

    // Read every SOLD and HELD seat: each is its 201's, SOLD exactly when that booking was paid.
    let after = seat_items(&s, &show).await;
    assert_eq!(after.len(), items.len(), "no seat gained or lost");
    let owner: HashMap<&str, &str> = winners
        .iter()
        .flat_map(|(r, seats)| {
            let id = r.body["bookingId"].as_str().unwrap_or_default();
            seats.iter().map(move |seat| (seat.as_str(), id))
        })
        .collect();
    for i in &after {
        assert_eq!(
            owner.get(i.seat_id.as_str()),
            Some(&i.booking_id.as_str()),
            "{} belongs to the 201 that asked for it",
            i.seat_id
        );
        let want = if paid.contains(i.booking_id.as_str()) {
            "SOLD"
        } else {
            "HELD"
        };
        assert_eq!(i.state, want, "{} of {}", i.seat_id, i.booking_id);
    }
    let sold_to: BTreeSet<&str> = after
        .iter()
        .filter(|i| i.state == "SOLD")
        .map(|i| i.booking_id.as_str())
        .collect();
    assert_eq!(sold_to, paid, "every paid booking sold, nothing else");
    for id in &paid {
        let b = s
            .deps()
            .store
            .get_booking(id)
            .await
            .expect("read")
            .expect("booking");
        assert_eq!(b.status.as_str(), "CONFIRMED", "{id}");
    }
    // The seed cancels the third confirmation attempt, so with three or more paid the
    // confirmations met at least one conflict, and retried through it.
    assert!(
        rate(0x5EED_0002).conflicts(2) && paid.len() >= 3,
        "{}",
        paid.len()
    );
    assert!(
        confirms.injected.load(Ordering::SeqCst) > 0,
        "the confirmations met conflicts too"
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
    let items = seat_items(&s, &show).await;
    assert_eq!(items.len(), 2);
    // Both seats belong to the one winner, held, and every loser was told both are taken.
    let winner = replies
        .iter()
        .find(|r| r.status == 201)
        .and_then(|r| r.body["bookingId"].as_str())
        .expect("the winner's booking id");
    let mut held: Vec<(&str, &str, &str)> = items
        .iter()
        .map(|i| (i.seat_id.as_str(), i.booking_id.as_str(), i.state.as_str()))
        .collect();
    held.sort_unstable();
    assert_eq!(
        held,
        vec![
            (pair[0].as_str(), winner, "HELD"),
            (pair[1].as_str(), winner, "HELD")
        ]
    );
    for r in replies.iter().filter(|r| r.status == 409) {
        assert_eq!(
            (r.code(), &r.body["error"]["details"]["unavailableSeatIds"]),
            ("SEAT_LOCK_FAILED", &json!(pair)),
            "{}",
            r.text
        );
    }
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
    // Every answer is a win or a refusal naming taken seats, and somebody won.
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert!(
        statuses.iter().all(|st| [201, 409].contains(st)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&201), "nobody won: {statuses:?}");
    let mut winners = BTreeSet::new();
    for (r, asked) in replies.iter().zip(&asks) {
        if r.status == 201 {
            let id = r.body["bookingId"].as_str().expect("id");
            assert_eq!(
                by_booking.get(id).map(Vec::len),
                Some(3),
                "a 201 holds all three"
            );
            let mut mine = by_booking[id].clone();
            mine.sort_unstable();
            let mut want: Vec<&str> = asked.iter().map(String::as_str).collect();
            want.sort_unstable();
            assert_eq!(mine, want, "{id} holds exactly the seats it asked for");
            winners.insert(id);
        } else {
            assert_eq!(r.code(), "SEAT_LOCK_FAILED", "{}", r.text);
            let unavailable: Vec<String> =
                serde_json::from_value(r.body["error"]["details"]["unavailableSeatIds"].clone())
                    .expect("ids");
            assert!(!unavailable.is_empty(), "{}", r.text);
            for u in &unavailable {
                assert!(asked.contains(u), "{u} was not asked for");
                assert!(
                    items.iter().any(|i| &i.seat_id == u),
                    "{u} reported taken but is free"
                );
            }
        }
    }
    assert!(
        by_booking.values().all(|v| v.len() == 3),
        "no booking holds part of its seats"
    );
    // No loser holds anything: every seat item is a winner's.
    let holders: BTreeSet<&str> = by_booking.keys().copied().collect();
    assert_eq!(
        holders, winners,
        "the seat items belong to the winners alone"
    );
    assert_eq!(items.len(), 3 * winners.len());
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
async fn a_warm_hold_is_one_dynamodb_call_and_a_conflict_one_more_small_write() {
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
    // Seat 5 taken in another container: this one learns it from its cancelled transaction.
    let (_, someone) = s.user(Role::Customer).await;
    assert_eq!(book(&s, &someone, &show, &[seat(5)]).await.status, 201);
    counter.take();
    assert_eq!(hold(vec![seat(4), seat(5)]).await.status, 409);
    // A cancelled transaction wrote nothing, its rate window included: the 409 counts toward
    // the limit with one small UpdateItem after it (issue 15), on the loser's path alone.
    assert_eq!(
        counter.take(),
        vec!["TransactWriteItems", "UpdateItem"],
        "a 409 is the transaction and its attempt's count"
    );
    // Seen taken now: the same ask again in this container is refused from its memory
    // (`taken::TakenSeats`), the attempt's count its only call.
    assert_eq!(hold(vec![seat(4), seat(5)]).await.status, 409);
    assert_eq!(
        counter.take(),
        vec!["UpdateItem"],
        "a 409 from memory is its count alone"
    );
    // The show is contended here now, so a seat this container's own hold takes is remembered
    // too (seat 3, won before the loss, is not: a quiet show's freed seats are holdable at once).
    assert_eq!(hold(vec![seat(6)]).await.status, 201);
    assert_eq!(counter.take(), vec!["TransactWriteItems"]);
    assert_eq!(hold(vec![seat(6)]).await.status, 409);
    assert_eq!(
        counter.take(),
        vec!["UpdateItem"],
        "a winner's seats are remembered taken while the show is contended"
    );
    assert_eq!(hold(vec![seat(3)]).await.status, 409);
    assert_eq!(
        counter.take(),
        vec!["TransactWriteItems", "UpdateItem"],
        "won before the show was contended: the transaction answers"
    );
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let s = stack_with(&[("BOOKING_RATE_LIMIT_PER_MINUTE", "3")]).await;
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (_, customer) = s.user(Role::Customer).await;
    // The window is per calendar minute: the clock stands 15 s into a minute, so every attempt
    // falls in one window and its 429s say exactly when the next one opens.
    let now = s.deps().clock.now_epoch();
    let window_start = (now.div_euclid(60) + 1) * 60;
    s.deps()
        .clock
        .pin(chrono::DateTime::from_timestamp(window_start + 15, 0).expect("a valid instant"));
    let mut statuses = Vec::new();
    let mut last = None;
    for i in 0..5 {
        let r = book(&s, &customer, &show, &[seat(i)]).await;
        statuses.push(r.status);
        if r.status == 429 {
            assert_eq!(r.code(), "RATE_LIMITED", "{}", r.text);
            assert_eq!(
                r.headers.get("retry-after").and_then(|v| v.to_str().ok()),
                Some("45"),
                "attempt {i}: the window ends 45 s on"
            );
        }
        last = Some(r);
    }
    assert_eq!(statuses, vec![201, 201, 201, 429, 429]);
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
    // One second before the window ends it is still closed, and says so; at its end it opens.
    s.deps().clock.advance(chrono::Duration::seconds(44));
    let almost = book(&s, &customer, &show, &[seat(5)]).await;
    assert_eq!((almost.status, almost.code()), (429, "RATE_LIMITED"));
    assert_eq!(
        almost
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    s.deps().clock.advance(chrono::Duration::seconds(1));
    let next = book(&s, &customer, &show, &[seat(6)]).await;
    assert_eq!(
        next.status, 201,
        "a new minute, a new window: {}",
        next.text
    );
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

/// A two-seat hold with an idempotency key by a fresh customer whose hold transactions meet
/// `conflicts` (a `TransactionConflict` answered without the request being sent): the stack, the
/// show, the customer (id, token), the key, the answer, the injector and the table before it.
async fn hold_conflicting(
    conflicts: Conflicts,
) -> (
    TestStack,
    String,
    (String, String),
    &'static str,
    Reply,
    FaultWhen,
    boxoffice_tests::TableItems,
) {
    let s = unlimited().await;
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (user, customer) = s.user(Role::Customer).await;
    let key = "0f8e2d1c-3b4a-4c5d-9e6f-7a8b9c0d1e2f";
    let injected = s.fault(
        Fault::TransactionConflict(conflicts),
        &user,
        Some("TransactWriteItems"),
    );
    let gw = Gateway::new(
        &s.stack.template,
        s.deps_with_dynamodb_fault(injected.clone()),
    );
    let before = s.table_items().await;
    let r = call_on(&gw, "POST", "/api/v1/bookings")
        .token(&customer)
        .header("idempotency-key", key)
        .json(&json!({"showId": show, "seatIds": [seat(1), seat(2)]}))
        .send()
        .await;
    (s, show, (user, customer), key, r, injected, before)
}

#[tokio::test]
async fn a_hold_that_conflicts_twice_then_succeeds_is_exactly_one_booking() {
    let (s, show, (user, customer), key, r, injected, _) =
        hold_conflicting(Conflicts::First(2)).await;
    assert_eq!(r.status, 201, "retried through two conflicts: {}", r.text);
    assert_eq!(
        (
            injected.injected.load(Ordering::SeqCst),
            injected.hits.load(Ordering::SeqCst)
        ),
        (2, 3),
        "two cancelled attempts, then the one that committed"
    );
    let id = r.body["bookingId"].as_str().expect("id");
    // The seat items name this booking, and only these two exist.
    let mut held: Vec<(String, String, String)> = seat_items(&s, &show)
        .await
        .into_iter()
        .map(|i| (i.seat_id, i.booking_id, i.state.as_str().to_owned()))
        .collect();
    held.sort_unstable();
    assert_eq!(
        held,
        vec![
            (seat(1), id.to_owned(), "HELD".to_owned()),
            (seat(2), id.to_owned(), "HELD".to_owned())
        ]
    );
    // One booking for the customer, one idempotency record, holding the answer given.
    let mine = my_bookings(&s, &customer).await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["bookingId"], id);
    let records: Vec<_> = s
        .table_items()
        .await
        .into_keys()
        .filter(|(pk, _)| pk.starts_with(&format!("IDEMP#{user}#")))
        .collect();
    assert_eq!(
        records,
        vec![(
            keys::idempotency_pk(&user, key),
            keys::IDEMPOTENCY_SK.to_owned()
        )]
    );
    let record = s
        .item(&keys::idempotency_pk(&user, key), keys::IDEMPOTENCY_SK)
        .await
        .expect("the idempotency record");
    let stored: Value = serde_json::from_str(
        record
            .get("body")
            .and_then(|b| b.as_s().ok())
            .expect("a stored body"),
    )
    .expect("JSON");
    assert_eq!(stored, r.body, "the record replays this answer");
    // The answer is the booking as it is stored.
    let got = s
        .call("GET", &format!("/api/v1/bookings/{id}"))
        .token(&customer)
        .send()
        .await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.body, r.body);
}

#[tokio::test]
async fn a_hold_conflicting_past_the_retry_budget_is_503_and_writes_nothing() {
    let (s, show, (user, customer), key, r, injected, before) =
        hold_conflicting(Conflicts::First(usize::MAX)).await;
    r.assert_unavailable("conflicts past the retry budget");
    assert_eq!(r.code(), "SERVICE_UNAVAILABLE");
    assert_eq!(
        injected.hits.load(Ordering::SeqCst),
        TRANSACTION_ATTEMPTS as usize,
        "every attempt conflicted, and no more were made"
    );
    assert_eq!(
        injected.injected.load(Ordering::SeqCst),
        TRANSACTION_ATTEMPTS as usize
    );
    // Nothing written: no seat item, no booking, no idempotency record, no rate window; the
    // table is item for item what it was before the request.
    assert!(seat_items(&s, &show).await.is_empty(), "no seat held");
    assert!(my_bookings(&s, &customer).await.is_empty(), "no booking");
    assert!(s
        .item(&keys::idempotency_pk(&user, key), keys::IDEMPOTENCY_SK)
        .await
        .is_none());
    let changes = boxoffice_tests::table_changes(&before, &s.table_items().await);
    assert!(changes.is_empty(), "the table changed: {changes:#?}");
    // A 503 is safe to retry: the same request with the same key, once the conflicts pass, holds.
    let again = s
        .call("POST", "/api/v1/bookings")
        .token(&customer)
        .header("idempotency-key", key)
        .json(&json!({"showId": show, "seatIds": [seat(1), seat(2)]}))
        .send()
        .await;
    assert_eq!(again.status, 201, "{}", again.text);
}

/// The contract's public-read caching on the seat map: an `ETag` and a one-second
/// `Cache-Control`; the same map again with that tag is a bodiless 304; a hold changes the map,
/// so the old tag gets the new map (200, the seat LOCKED) and the new tag.
#[tokio::test]
async fn the_seat_map_answers_304_to_its_etag_until_a_hold_changes_it() {
    let s = unlimited().await;
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let path = format!("/api/v1/shows/{show}/seats");
    let first = s.call("GET", &path).send().await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.headers["cache-control"], "public, max-age=1");
    let etag = first.headers["etag"].to_str().expect("ascii").to_owned();

    let again = s
        .call("GET", &path)
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(again.status, 304, "{}", again.text);
    assert!(again.raw.is_empty(), "a 304 has no body");
    assert_eq!(again.headers["etag"].to_str().ok(), Some(etag.as_str()));

    let (_, customer) = s.user(Role::Customer).await;
    let held = book(&s, &customer, &show, &[seat(3)]).await;
    assert_eq!(held.status, 201, "{}", held.text);
    let changed = s
        .call("GET", &path)
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_ne!(changed.headers["etag"].to_str().ok(), Some(etag.as_str()));
    let status_of = |id: &str| {
        changed.body["seatMap"]["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| r["seats"].as_array().cloned().unwrap_or_default())
            .find(|x| x["seatId"] == id)
            .map(|x| x["status"].clone())
    };
    assert_eq!(status_of(&seat(3)), Some(json!("LOCKED")));
}

/// The seat map split in two: the layout (immutable, cached for good) and the availability
/// (compact, at most 1 s), each answering 304 to its own tag; a hold shows in the availability
/// at once (nothing caches it server-side) and leaves the layout's tag as it was.
#[tokio::test]
async fn the_layout_is_immutable_and_the_availability_names_the_taken_seats() {
    let s = unlimited().await;
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let layout_path = format!("/api/v1/shows/{show}/layout");
    let layout = s.call("GET", &layout_path).send().await;
    assert_eq!(layout.status, 200, "{}", layout.text);
    assert_eq!(
        layout.headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let seats: Vec<&Value> = layout.body["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .flat_map(|r| r["seats"].as_array().expect("seats"))
        .collect();
    assert_eq!(seats.len(), 20);
    assert_eq!(
        (&seats[0]["seatId"], &seats[0]["type"], &seats[0]["price"]),
        (&json!("R0-0"), &json!("PREMIUM"), &json!(25000))
    );
    assert!(
        seats.iter().all(|x| x.get("status").is_none()),
        "no status in the layout"
    );
    let layout_tag = layout.headers["etag"].to_str().expect("ascii").to_owned();

    let availability_path = format!("/api/v1/shows/{show}/availability");
    let empty = s.call("GET", &availability_path).send().await;
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert_eq!(empty.headers["cache-control"], "public, max-age=1");
    assert_eq!(
        empty.body,
        json!({"showId": show, "locked": [], "sold": []})
    );
    let empty_tag = empty.headers["etag"].to_str().expect("ascii").to_owned();
    let unchanged = s
        .call("GET", &availability_path)
        .header("if-none-match", &empty_tag)
        .send()
        .await;
    assert_eq!(unchanged.status, 304, "{}", unchanged.text);

    let (_, customer) = s.user(Role::Customer).await;
    let held = book(&s, &customer, &show, &[seat(7), seat(3)]).await;
    assert_eq!(held.status, 201, "{}", held.text);
    let taken = s
        .call("GET", &availability_path)
        .header("if-none-match", &empty_tag)
        .send()
        .await;
    assert_eq!(taken.status, 200, "{}", taken.text);
    assert_eq!(
        taken.body,
        json!({"showId": show, "locked": [seat(3), seat(7)], "sold": []}),
        "layout order"
    );
    let layout_again = s
        .call("GET", &layout_path)
        .header("if-none-match", &layout_tag)
        .send()
        .await;
    assert_eq!(
        layout_again.status, 304,
        "a hold leaves the layout as it was"
    );

    let unknown = s
        .call(
            "GET",
            "/api/v1/shows/sh_01JD0000000000000000000000/availability",
        )
        .send()
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    assert_eq!(unknown.body["error"]["code"], "NOT_FOUND");
}

/// Cheaper losers (`taken::TakenSeats`): in one container, a hold asking for seats DynamoDB lately
/// answered taken is a 409 without a transaction (its rate-window count is its only write), and
/// never a wrong 201; once the seats are freed, they are held again when the memory lapses.
#[tokio::test]
async fn a_seat_seen_taken_is_refused_without_a_transaction_until_the_memory_lapses() {
    let s = unlimited().await;
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    // One warm container (cold caches, its own memory), counting its DynamoDB calls.
    let (gw, counter) = s.counted();
    let hold = |token: String, seats: Vec<String>| {
        call_on(&gw, "POST", "/api/v1/bookings")
            .token(&token)
            .json(&json!({"showId": show, "seatIds": seats}))
            .send()
    };
    let (_, first) = s.user(Role::Customer).await;
    let (_, second) = s.user(Role::Customer).await;
    let won = book(&s, &first, &show, &[seat(1), seat(2)]).await;
    assert_eq!(won.status, 201, "held in another container: {}", won.text);
    let lost = hold(second.clone(), vec![seat(2), seat(3)]).await;
    assert_eq!(lost.status, 409, "{}", lost.text);
    counter.take();

    let refused = hold(second.clone(), vec![seat(3), seat(2)]).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(
        refused.body["error"]["details"]["unavailableSeatIds"],
        json!([seat(2)]),
        "only the seat DynamoDB answered taken"
    );
    assert_eq!(
        counter.take(),
        vec!["UpdateItem"],
        "no transaction: the rate-window count only"
    );
    let other = hold(second.clone(), vec![seat(3)]).await;
    assert_eq!(
        other.status, 201,
        "a seat nobody took is held: {}",
        other.text
    );
    assert_eq!(counter.take(), vec!["TransactWriteItems"]);

    // Freed elsewhere (another container cancels): held again here once the memory (1 s by
    // default) has lapsed.
    let booking = won.body["bookingId"].as_str().expect("id");
    let cancelled = s
        .call("POST", &format!("/api/v1/bookings/{booking}/cancel"))
        .token(&first)
        .send()
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    s.deps()
        .clock
        .advance(chrono::Duration::milliseconds(1_000));
    let retaken = hold(second.clone(), vec![seat(2)]).await;
    assert_eq!(retaken.status, 201, "{}", retaken.text);
    let items = seat_items(&s, &show).await;
    let holder = |id: &str| {
        items
            .iter()
            .find(|i| i.seat_id == id)
            .map(|i| i.booking_id.clone())
    };
    assert_eq!(
        holder(&seat(2)).as_deref(),
        retaken.body["bookingId"].as_str()
    );
    assert_eq!(
        holder(&seat(1)),
        None,
        "the cancelled booking's other seat is free"
    );
}
