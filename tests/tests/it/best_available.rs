//! `POST /shows/{showId}/best-available` end to end: centre seats of the middle row on an empty
//! show, never across an aisle, and `hold: true` as `POST /bookings` (the same transaction: the
//! seats held with the booking or nothing written, the same idempotent replay and rate limit).

use boxoffice::domain::user::Role;
use boxoffice_tests::{fixtures::ist, stack_with, TestStack};
use serde_json::{json, Value};

/// A screen of five rows of ten seats with an aisle after seat 4 (seats 1–4, 7–12: no 5 or 6).
fn aisle_layout() -> Value {
    let rows: Vec<Value> = ["A", "B", "C", "D", "E"]
        .iter()
        .map(|r| {
            let seats: Vec<Value> = (1..=4)
                .chain(7..=12)
                .map(|n| json!({"seatId": format!("{r}{n}"), "type": "REGULAR"}))
                .collect();
            json!({"rowLabel": r, "seats": seats})
        })
        .collect();
    json!({ "rows": rows })
}

/// A show on the aisle screen (in the fixture's city, for its movie and partner).
async fn aisle_show(s: &TestStack) -> String {
    let f = s.catalog(20).await;
    let theatre = json!({"name": "Aisle House", "cityId": "blr", "area": "Jayanagar", "address": "2 Main Rd",
        "screens": [{"name": "Screen A", "layout": aisle_layout()}]});
    let t = s
        .call("POST", "/api/v1/theatres")
        .token(&f.partner)
        .json(&theatre)
        .send()
        .await;
    assert_eq!(t.status, 201, "{}", t.text);
    let body = json!({"theatreId": t.body["theatreId"], "screenId": t.body["screens"][0]["screenId"], "movieId": f.movie_id,
        "startTime": ist(3, 18, 0), "language": "english", "format": "2D", "currency": "INR", "prices": boxoffice_tests::fixtures::prices()});
    let show = s
        .call("POST", "/api/v1/shows")
        .token(&f.partner)
        .json(&body)
        .send()
        .await;
    assert_eq!(show.status, 201, "{}", show.text);
    show.body["showId"].as_str().expect("id").to_owned()
}

fn seat_ids(v: &Value) -> Vec<String> {
    v["seatIds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggests_centre_seats_never_across_the_aisle_and_holds_like_post_bookings() {
    let s = stack_with(&[
        ("HOLD_SECONDS", "600"),
        ("BOOKING_RATE_LIMIT_PER_MINUTE", "4"),
    ])
    .await;
    // Standing still, so the rate window of the last part is one minute however slow the run.
    s.deps().clock.pin(s.deps().clock.now());
    let show = aisle_show(&s).await;
    let (_, token) = s.user(Role::Customer).await;
    let best = |body: Value, key: Option<&'static str>| {
        let (s, token, show) = (&s, token.clone(), show.clone());
        async move {
            let mut call = s
                .call("POST", &format!("/api/v1/shows/{show}/best-available"))
                .token(&token)
                .json(&body);
            if let Some(k) = key {
                call = call.header("idempotency-key", k);
            }
            call.send().await
        }
    };

    // Empty show: the middle row, as near its centre (between 6 and 7, numbers 1–12) as the
    // aisle lets a pair sit.
    let pair = best(json!({"count": 2}), None).await;
    assert_eq!(pair.status, 200, "{}", pair.text);
    assert_eq!(seat_ids(&pair.body), ["C7", "C8"]);
    // Five fit only in the 6-seat block, never spanning the aisle (4 and 7).
    let five = best(json!({"count": 5}), None).await;
    assert_eq!(seat_ids(&five.body), ["C7", "C8", "C9", "C10", "C11"]);
    // Seven fit nowhere: an empty answer, not a party split across the aisle.
    let seven = best(json!({"count": 7}), None).await;
    assert_eq!(
        (seven.status, seat_ids(&seven.body).len()),
        (200, 0),
        "{}",
        seven.text
    );
    let bad = best(json!({"count": 0}), None).await;
    assert_eq!((bad.status, bad.code()), (400, "VALIDATION_ERROR"));
    let other = best(json!({"count": 2, "seatType": "RECLINER"}), None).await;
    assert_eq!(
        seat_ids(&other.body).len(),
        0,
        "no recliners on this screen"
    );

    // hold: a booking of exactly the suggested seats, written with them in one transaction.
    let before = s.table_items().await;
    let held = best(json!({"count": 2, "hold": true}), Some("ba-hold-1")).await;
    assert_eq!(held.status, 201, "{}", held.text);
    assert_eq!(held.body["status"], "PAYMENT_PENDING");
    let booked: Vec<&str> = held.body["seats"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x["seatId"].as_str())
        .collect();
    assert_eq!(booked, ["C7", "C8"]);
    let written = boxoffice_tests::table_changes(&before, &s.table_items().await);
    for must in ["BOOKING#", "SEAT#C7", "SEAT#C8"] {
        assert!(
            written.iter().any(|w| w.contains(must)),
            "{must} written with the booking: {written:?}"
        );
    }
    // The same key again: the same booking (the idempotency record of that transaction).
    let replay = best(json!({"count": 2, "hold": true}), Some("ba-hold-1")).await;
    assert_eq!(replay.status, 201, "{}", replay.text);
    assert_eq!(replay.body["bookingId"], held.body["bookingId"]);
    // The next suggestion avoids the held seats: the same seats a row nearer (B7 B8 and D7 D8
    // tie; the front one wins) beat C3 C4 or C9 C10 three seats off centre.
    let next = best(json!({"count": 2}), None).await;
    assert_eq!(seat_ids(&next.body), ["B7", "B8"]);

    // The rate limit of POST /bookings counts these holds too, and a refused hold writes nothing.
    let mut limited = None;
    for _ in 0..5 {
        let r = best(json!({"count": 1, "hold": true}), None).await;
        if r.status == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let limited = limited.expect("a 429 within the limit of 4 a minute");
    assert_eq!(limited.code(), "RATE_LIMITED");
    let snapshot = s.table_items().await;
    let r = best(json!({"count": 1, "hold": true}), None).await;
    assert_eq!(r.status, 429, "{}", r.text);
    let changed: Vec<String> = boxoffice_tests::table_changes(&snapshot, &s.table_items().await)
        .into_iter()
        .filter(|c| !c.contains("RATE#"))
        .collect();
    assert!(
        changed.is_empty(),
        "a refused hold holds nothing: {changed:?}"
    );
}
