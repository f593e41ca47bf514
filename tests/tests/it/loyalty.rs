//! Loyalty points end to end through the real handlers against DynamoDB Local: a confirmed
//! booking earns at its city's rate, a hold redeems in its own transaction, a released hold gives
//! its points back, a refund takes back what its booking earned (never more than the balance
//! holds), and 20 concurrent redemptions of one balance never take it below zero.

use boxoffice::domain::user::Role;
use boxoffice_tests::{fixtures::ist, stack_with, Reply, TestStack};
use futures::future::join_all;
use serde_json::{json, Value};

/// The fixture city with loyalty terms: `earn_percent` back, a point worth `point_value` paise.
async fn loyalty_city(s: &TestStack, admin: &str, earn_percent: f64, point_value: i64) {
    let city = json!({"name": "Bengaluru", "timeZone": "Asia/Kolkata", "currency": "INR",
        "convenienceFeePerTicket": 3000, "taxPercent": 18,
        "loyalty": {"earnPercent": earn_percent, "pointValue": point_value}});
    let r = s
        .call("PUT", "/api/v1/admin/cities/blr")
        .token(admin)
        .json(&city)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["loyalty"]["pointValue"], point_value);
}

async fn hold(s: &TestStack, token: &str, show: &str, seat: &str, redeem: i64) -> Reply {
    let mut body = json!({"showId": show, "seatIds": [seat]});
    if redeem > 0 {
        body["redeemPoints"] = redeem.into();
    }
    s.call("POST", "/api/v1/bookings")
        .token(token)
        .json(&body)
        .send()
        .await
}

fn id_of(r: &Reply) -> String {
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["bookingId"].as_str().expect("bookingId").to_owned()
}

async fn cancel(s: &TestStack, token: &str, booking: &str) -> Value {
    let c = s
        .call("POST", &format!("/api/v1/bookings/{booking}/cancel"))
        .token(token)
        .send()
        .await;
    assert_eq!(c.status, 200, "{}", c.text);
    c.body
}

/// `GET /me/loyalty`: the balance and the entries as (type, points, bookingId).
async fn loyalty(s: &TestStack, token: &str) -> (i64, Vec<(String, i64, String)>) {
    let r = s
        .call("GET", "/api/v1/me/loyalty")
        .token(token)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let entries = r.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            assert!(e["createdAt"].is_string(), "{e}");
            (
                e["type"].as_str().unwrap_or_default().to_owned(),
                e["points"].as_i64().unwrap_or_default(),
                e["bookingId"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    (r.body["balance"].as_i64().expect("balance"), entries)
}

fn entry(kind: &str, points: i64, booking: &str) -> (String, i64, String) {
    (kind.to_owned(), points, booking.to_owned())
}

#[tokio::test]
async fn points_are_earned_on_confirmation_redeemed_in_the_hold_and_reversed_on_refund() {
    let s = stack_with(&[("HOLD_SECONDS", "600")]).await;
    let triggers = s.start_triggers();
    let f = s.catalog(40).await;
    // 10 % back at ₹1 a point: one REGULAR seat (row R1) is 18000 + 3000 fee + 18 % tax = 24780 paise,
    // which earns 24 points (24.78, rounded down).
    loyalty_city(&s, &f.admin, 10.0, 100).await;
    for bad in [
        json!({"earnPercent": 10, "pointValue": 0}),
        json!({"earnPercent": 100.5, "pointValue": 1}),
        json!({"earnPercent": 10}),
    ] {
        let city = json!({"name": "Bengaluru", "timeZone": "Asia/Kolkata", "currency": "INR",
            "convenienceFeePerTicket": 3000, "taxPercent": 18, "loyalty": bad});
        let r = s
            .call("PUT", "/api/v1/admin/cities/blr")
            .token(&f.admin)
            .json(&city)
            .send()
            .await;
        assert_eq!(
            (r.status, r.code()),
            (400, "VALIDATION_ERROR"),
            "{bad}: {}",
            r.text
        );
    }
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (_, token) = s.user(Role::Customer).await;
    assert_eq!(
        loyalty(&s, &token).await,
        (0, vec![]),
        "a new customer has none"
    );

    let first = hold(&s, &token, &show, "R1-1", 0).await;
    assert_eq!(first.body["pricing"]["total"], 24780, "{}", first.text);
    assert_eq!(first.body["loyaltyPoints"]["earns"], 24);
    let first = id_of(&first);
    assert_eq!(
        loyalty(&s, &token).await.0,
        0,
        "nothing is earned before payment"
    );
    s.pay_with_sandbox(&token, &first).await;
    assert_eq!(
        loyalty(&s, &token).await,
        (24, vec![entry("EARNED", 24, &first)])
    );

    // Redeeming 10 points takes ₹10 off the tickets, in the hold's transaction.
    let second = hold(&s, &token, &show, "R1-2", 10).await;
    assert_eq!(second.body["pricing"]["pointsRedeemed"], 10);
    assert_eq!(second.body["pricing"]["discount"], 1000);
    let offers = &second.body["pricing"]["appliedOffers"];
    assert_eq!(offers[0]["code"], "LOYALTY_POINTS", "{offers}");
    assert_eq!(offers[0]["amount"], 1000);
    let second = id_of(&second);
    let (balance, entries) = loyalty(&s, &token).await;
    assert_eq!(balance, 14);
    assert_eq!(
        entries,
        vec![entry("REDEEMED", -10, &second), entry("EARNED", 24, &first)],
        "newest booking first"
    );
    // More points than the balance holds: a 409 that names the balance, and nothing taken.
    let short = hold(&s, &token, &show, "R1-3", 15).await;
    assert_eq!(
        (short.status, short.code()),
        (409, "INVALID_STATE"),
        "{}",
        short.text
    );
    assert_eq!(short.body["error"]["details"]["pointsBalance"], 14);
    assert_eq!(loyalty(&s, &token).await.0, 14);

    // A cancelled hold gives its points back.
    cancel(&s, &token, &second).await;
    let (balance, entries) = loyalty(&s, &token).await;
    assert_eq!(balance, 24);
    assert_eq!(entries[0], entry("REVERSED", 10, &second));

    // A refund takes back what its booking earned.
    let refunded = cancel(&s, &token, &first).await;
    assert_eq!(refunded["refund"]["status"], "INITIATED");
    let (balance, entries) = loyalty(&s, &token).await;
    assert_eq!(balance, 0);
    assert_eq!(entries[0], entry("REVERSED", -24, &first));

    // Points already spent stay spent: a refund takes back only what the balance still holds
    // (never below zero), and the spending booking's own release gives its points back.
    let earner = id_of(&hold(&s, &token, &show, "R1-4", 0).await);
    s.pay_with_sandbox(&token, &earner).await;
    let spender = id_of(&hold(&s, &token, &show, "R1-5", 20).await);
    assert_eq!(loyalty(&s, &token).await.0, 4);
    cancel(&s, &token, &earner).await;
    let (balance, entries) = loyalty(&s, &token).await;
    assert_eq!(balance, 0);
    assert!(
        entries.contains(&entry("REVERSED", -4, &earner)),
        "{entries:?}"
    );
    cancel(&s, &token, &spender).await;
    assert_eq!(loyalty(&s, &token).await.0, 20);
    drop(triggers);
}

#[tokio::test]
async fn twenty_concurrent_redemptions_never_take_a_balance_below_zero() {
    let s = stack_with(&[
        ("HOLD_SECONDS", "600"),
        ("BOOKING_RATE_LIMIT_PER_MINUTE", "100"),
    ])
    .await;
    let triggers = s.start_triggers();
    let f = s.catalog(30).await;
    // 100 % back at a paisa a point: the first booking (24780 paise) earns 24780 points.
    loyalty_city(&s, &f.admin, 100.0, 1).await;
    let mut body = s.show_body(&f, &ist(3, 18, 0));
    body["maxSeatsPerCustomer"] = 30.into();
    let r = s
        .call("POST", "/api/v1/shows")
        .token(&f.partner)
        .json(&body)
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let show = r.body["showId"].as_str().expect("showId").to_owned();
    let (_, token) = s.user(Role::Customer).await;
    let earner = id_of(&hold(&s, &token, &show, "R1-1", 0).await);
    s.pay_with_sandbox(&token, &earner).await;
    assert_eq!(loyalty(&s, &token).await.0, 24780);

    // 20 holds of different seats at once, each redeeming 5000 points: 4 fit in the balance.
    let seats: Vec<String> = (0..20).map(|i| format!("R0-{i}")).collect();
    let replies = join_all(seats.iter().map(|seat| hold(&s, &token, &show, seat, 5000))).await;
    let won: Vec<&Reply> = replies.iter().filter(|r| r.status == 201).collect();
    for r in &replies {
        assert!(
            r.status == 201 || (r.status == 409 && r.code() == "INVALID_STATE"),
            "{}: {}",
            r.status,
            r.text
        );
    }
    assert_eq!(won.len(), 4, "24780 points pay for 4 redemptions of 5000");
    let (balance, entries) = loyalty(&s, &token).await;
    assert_eq!(balance, 24780 - 4 * 5000);
    assert!(balance >= 0);
    let redeemed: i64 = entries
        .iter()
        .filter(|e| e.0 == "REDEEMED")
        .map(|e| e.1)
        .sum();
    assert_eq!(redeemed, -20000, "one entry per winning hold: {entries:?}");
    drop(triggers);
}
