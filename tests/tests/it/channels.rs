//! Sales channels end to end: the box office's counter sale (`POST /partner/shows/{showId}/sales`)
//! shares one inventory with the app (a race for a seat has exactly one winner), is CONFIRMED with
//! a ticket that verifies, replays by its idempotency key, counts in show-stats under its
//! channel, and is cancelled and refunded as an app booking is (its refund paid at the counter).

use boxoffice::domain::user::Role;
use boxoffice_tests::{eventually, fixtures::ist, stack_with, Reply, TestStack};
use serde_json::{json, Value};

fn sale_path(show: &str) -> String {
    format!("/api/v1/partner/shows/{show}/sales")
}

async fn sell(s: &TestStack, token: &str, show: &str, body: &Value, key: Option<&str>) -> Reply {
    let mut call = s.call("POST", &sale_path(show)).token(token).json(body);
    if let Some(k) = key {
        call = call.header("idempotency-key", k);
    }
    call.send().await
}

async fn stats_of(s: &TestStack, token: &str, show: &str) -> Reply {
    let stats = s
        .call("GET", &format!("/api/v1/shows/{show}/stats"))
        .token(token)
        .send()
        .await;
    assert_eq!(stats.status, 200, "{}", stats.text);
    stats
}

/// The seat map's status of each seat.
async fn statuses(s: &TestStack, show: &str) -> std::collections::HashMap<String, String> {
    let map = s
        .call("GET", &format!("/api/v1/shows/{show}/seats"))
        .send()
        .await;
    assert_eq!(map.status, 200, "{}", map.text);
    map.body["seatMap"]["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["seats"].as_array().cloned().unwrap_or_default())
        .map(|seat| {
            (
                seat["seatId"].as_str().unwrap_or_default().to_owned(),
                seat["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_sale_is_confirmed_with_its_ticket_counted_under_its_channel_and_refundable() {
    let s = stack_with(&[("HOLD_SECONDS", "600")]).await;
    let triggers = s.start_triggers();
    let f = s.catalog(80).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (_, customer) = s.user(Role::Customer).await;

    // Cash over the counter: CONFIRMED at once with its ticket, WALK_IN, no convenience fee.
    let body = json!({"seatIds": ["R1-4", "R1-5"], "paymentMethod": "CASH", "customerEmail": " Fan@Example.com "});
    let sold = sell(&s, &f.partner, &show, &body, Some("counter-sale-0001")).await;
    assert_eq!(sold.status, 201, "{}", sold.text);
    let b = &sold.body;
    assert_eq!(b["status"], "CONFIRMED");
    assert_eq!(b["source"], "WALK_IN");
    assert_eq!(b["customerEmail"], "fan@example.com");
    assert_eq!(b["payment"]["provider"], "counter");
    assert_eq!(b["payment"]["status"], "SUCCEEDED");
    assert_eq!(
        (
            &b["pricing"]["subtotal"],
            &b["pricing"]["fees"],
            &b["pricing"]["tax"],
            &b["pricing"]["total"]
        ),
        (&json!(36000), &json!(0), &json!(6480), &json!(42480))
    );
    assert_eq!(b["payment"]["amount"], b["pricing"]["total"]);
    assert_eq!(b["ticket"]["seatIds"], json!(["R1-4", "R1-5"]));
    let booking = b["bookingId"].as_str().unwrap_or_default().to_owned();

    // The same key and body replay the sale; the same key with another body is refused.
    let again = sell(&s, &f.partner, &show, &body, Some("counter-sale-0001")).await;
    assert_eq!(
        (again.status, &again.body["bookingId"]),
        (201, &json!(booking)),
        "{}",
        again.text
    );
    let other = json!({"seatIds": ["R1-6"], "paymentMethod": "CASH"});
    let reused = sell(&s, &f.partner, &show, &other, Some("counter-sale-0001")).await;
    assert_eq!(
        (reused.status, reused.code()),
        (422, "IDEMPOTENCY_KEY_REUSED"),
        "{}",
        reused.text
    );

    // The seats are sold for the app too: the seat map says so and a hold is a 409.
    let seats = statuses(&s, &show).await;
    assert_eq!(seats.get("R1-4").map(String::as_str), Some("SOLD"));
    assert_eq!(seats.get("R1-5").map(String::as_str), Some("SOLD"));
    let hold = s
        .call("POST", "/api/v1/bookings")
        .token(&customer)
        .json(&json!({"showId": show, "seatIds": ["R1-5", "R1-6"]}))
        .send()
        .await;
    assert_eq!(hold.status, 409, "{}", hold.text);
    assert_eq!(
        hold.body["error"]["details"]["unavailableSeatIds"],
        json!(["R1-5"])
    );

    // The ticket verifies at the gate.
    let verified = s
        .call("POST", "/api/v1/tickets/verify")
        .token(&f.partner)
        .json(&json!({"qrCodeData": b["ticket"]["qrCodeData"]}))
        .send()
        .await;
    assert_eq!(
        (verified.status, &verified.body["bookingId"]),
        (200, &json!(booking)),
        "{}",
        verified.text
    );

    // A card on the counter's terminal sells as POS; the app's own booking as APP.
    let card = sell(
        &s,
        &f.partner,
        &show,
        &json!({"seatIds": ["R2-0"], "paymentMethod": "CARD_PRESENT"}),
        None,
    )
    .await;
    assert_eq!(
        (card.status, &card.body["source"]),
        (201, &json!("POS")),
        "{}",
        card.text
    );
    let app = s
        .call("POST", "/api/v1/bookings")
        .token(&customer)
        .json(&json!({"showId": show, "seatIds": ["R2-5"]}))
        .send()
        .await;
    assert_eq!(
        (app.status, &app.body["source"]),
        (201, &json!("APP")),
        "{}",
        app.text
    );
    let stats = stats_of(&s, &f.partner, &show).await;
    let channels = &stats.body["salesByChannel"];
    assert_eq!(
        channels["WALK_IN"],
        json!({"seats": 2, "grossRevenue": 36000, "bookings": 1})
    );
    assert_eq!(
        channels["POS"],
        json!({"seats": 1, "grossRevenue": 18000, "bookings": 1})
    );
    // The app's booking holds its seat but has not sold it.
    assert_eq!(
        channels["APP"],
        json!({"seats": 0, "grossRevenue": 0, "bookings": 0})
    );
    assert_eq!(channels["OTHER_PLATFORM"]["seats"], 0);
    assert_eq!(
        (&stats.body["sold"], &stats.body["locked"]),
        (&json!(3), &json!(1))
    );

    // Only the show's partner sells at its counter.
    let (_, stranger) = s.user(Role::Partner).await;
    for (token, who) in [(&stranger, "another partner"), (&customer, "a customer")] {
        let refused = sell(
            &s,
            token,
            &show,
            &json!({"seatIds": ["R3-0"], "paymentMethod": "CASH"}),
            None,
        )
        .await;
        assert_eq!(refused.status, 403, "{who}: {}", refused.text);
    }
    let bad = [
        (json!({"seatIds": ["R9-9"], "paymentMethod": "CASH"}), 400),
        (
            json!({"seatIds": ["R3-0", "R3-0"], "paymentMethod": "CASH"}),
            400,
        ),
        (json!({"seatIds": ["R3-0"], "paymentMethod": "CHEQUE"}), 400),
        (
            json!({"seatIds": ["R3-0"], "paymentMethod": "CASH", "customerEmail": "not-an-email"}),
            400,
        ),
        (json!({"seatIds": [], "paymentMethod": "CASH"}), 400),
    ];
    for (body, status) in bad {
        let r = sell(&s, &f.partner, &show, &body, None).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
    }
    let nowhere = sell(
        &s,
        &f.partner,
        "sh_01JD0000000000000000000000",
        &json!({"seatIds": ["R3-0"], "paymentMethod": "CASH"}),
        None,
    )
    .await;
    assert_eq!(nowhere.status, 404, "{}", nowhere.text);

    // The seller cancels the sale as a customer cancels an app booking: the seats are free at
    // once and the refund is paid back at the counter (the refund worker calls no provider).
    let cancelled = s
        .call("POST", &format!("/api/v1/bookings/{booking}/cancel"))
        .token(&f.partner)
        .send()
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.body["status"], "CANCELLED");
    assert_eq!(cancelled.body["refund"]["amount"], 42480);
    let refunded = eventually("the counter sale's refund paid", 60, || async {
        let b = s
            .call("GET", &format!("/api/v1/bookings/{booking}"))
            .token(&f.partner)
            .send()
            .await;
        (b.body["refund"]["status"] == "SUCCEEDED").then_some(b.body)
    })
    .await;
    assert!(
        refunded["refund"]["providerRefundId"]
            .as_str()
            .is_some_and(|id| id.starts_with("counter_")),
        "{refunded}"
    );
    let seats = statuses(&s, &show).await;
    assert_eq!(seats.get("R1-4").map(String::as_str), Some("AVAILABLE"));
    let stats = stats_of(&s, &f.partner, &show).await;
    assert_eq!(
        stats.body["salesByChannel"]["WALK_IN"]["seats"], 0,
        "{}",
        stats.text
    );
    drop(triggers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_sale_and_an_app_hold_racing_for_the_same_seats_have_one_winner() {
    // No seat memory: every app attempt goes to the store, which alone decides.
    let s = stack_with(&[
        ("SEAT_MEMORY_MS", "0"),
        ("BOOKING_RATE_LIMIT_PER_MINUTE", "1000"),
    ])
    .await;
    let f = s.catalog(200).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let mut counter_wins = 0;
    for round in 0..20 {
        // Each round its own seats: the counter sells a and b, the app holds b and c. Every
        // other round a and b lie in the two layout blocks (100 seats each: two partitions).
        let a = 2 * round;
        let b = if round % 2 == 0 {
            100 + 2 * round
        } else {
            2 * round + 1
        };
        let c = 150 + round;
        let seat = |n: usize| format!("R{}-{}", n / 20, n % 20);
        // A customer of its own per round: the app's wins stay under the per-customer seat cap.
        let (_, customer) = s.user(Role::Customer).await;
        let counter_sale = json!({"seatIds": [seat(a), seat(b)], "paymentMethod": "CASH"});
        let app_seats = json!([seat(b), seat(c)]);
        let (counter, app) = tokio::join!(
            sell(&s, &f.partner, &show, &counter_sale, None),
            s.call("POST", "/api/v1/bookings")
                .token(&customer)
                .json(&json!({"showId": show, "seatIds": app_seats}))
                .send(),
        );
        let outcome = (counter.status, app.status);
        assert!(
            outcome == (201, 409) || outcome == (409, 201),
            "round {round}: exactly one wins seat {}: counter {} {}, app {} {}",
            seat(b),
            counter.status,
            counter.text,
            app.status,
            app.text
        );
        let loser = if counter.status == 409 {
            &counter
        } else {
            &app
        };
        assert_eq!(
            loser.body["error"]["details"]["unavailableSeatIds"],
            json!([seat(b)]),
            "{}",
            loser.text
        );
        // The loser wrote nothing: its other seat is still free.
        let seats = statuses(&s, &show).await;
        let (won_other, lost_other) = if counter.status == 201 {
            counter_wins += 1;
            ((seat(a), "SOLD"), seat(c))
        } else {
            ((seat(c), "LOCKED"), seat(a))
        };
        assert_eq!(
            seats.get(&won_other.0).map(String::as_str),
            Some(won_other.1),
            "round {round}"
        );
        assert_eq!(
            seats.get(&lost_other).map(String::as_str),
            Some("AVAILABLE"),
            "round {round}"
        );
        let sold_or_held = if counter.status == 201 {
            "SOLD"
        } else {
            "LOCKED"
        };
        assert_eq!(
            seats.get(&seat(b)).map(String::as_str),
            Some(sold_or_held),
            "round {round}"
        );
    }
    let stats = stats_of(&s, &f.partner, &show).await;
    assert_eq!(
        stats.body["salesByChannel"]["WALK_IN"]["bookings"], counter_wins,
        "{}",
        stats.text
    );
    assert_eq!(
        stats.body["salesByChannel"]["WALK_IN"]["seats"],
        2 * counter_wins
    );
}

/// `POST /external/shows/{show}/seats/{action}` with `key`.
async fn external(s: &TestStack, key: &str, show: &str, action: &str, body: &Value) -> Reply {
    s.call(
        "POST",
        &format!("/api/v1/external/shows/{show}/seats/{action}"),
    )
    .header("x-api-key", key)
    .json(body)
    .send()
    .await
}

/// A key made by `token` with `body` (201 asserted).
async fn new_key(s: &TestStack, token: &str, body: &Value) -> Reply {
    let made = s
        .call("POST", "/api/v1/partner/api-keys")
        .token(token)
        .json(body)
        .send()
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    made
}

/// The release of block `external_ref` with `key`, which must answer it RELEASED.
async fn release(s: &TestStack, key: &str, show: &str, external_ref: &str) -> Reply {
    let released = external(
        s,
        key,
        show,
        "release",
        &json!({"externalRef": external_ref}),
    )
    .await;
    assert_eq!(
        (released.status, &released.body["status"]),
        (200, &json!("RELEASED")),
        "{}",
        released.text
    );
    released
}

/// One seat's status in the seat map.
async fn seat_status(s: &TestStack, show: &str, seat: &str) -> Option<String> {
    statuses(s, show).await.get(seat).cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_platforms_sale_blocks_the_seat_for_the_app_until_it_is_released() {
    let s = stack_with(&[("SEAT_MEMORY_MS", "0")]).await;
    let f = s.catalog(80).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (_, customer) = s.user(Role::Customer).await;

    // The partner makes a key: shown once, scoped to its theatre.
    let made = new_key(
        &s,
        &f.partner,
        &json!({"name": "TicketHub", "theatreIds": [f.theatre_id]}),
    )
    .await;
    let key = made.body["apiKey"].as_str().unwrap_or_default().to_owned();
    let key_id = made.body["keyId"].as_str().unwrap_or_default().to_owned();
    assert!(key.starts_with(&format!("bxk.{key_id}.")), "{key}");
    // The table keeps only the secret's hash.
    let secret = key.rsplit('.').next().unwrap_or_default();
    let stored = s.table_items().await;
    assert!(
        !format!("{stored:?}").contains(secret),
        "the key's secret is stored"
    );

    // The platform blocks R2-3 and R2-4: the app's seat map shows them sold, a hold gets a 409.
    let body = json!({"seatIds": ["R2-3", "R2-4"], "externalRef": "tickethub-1001"});
    let blocked = external(&s, &key, &show, "block", &body).await;
    assert_eq!(blocked.status, 201, "{}", blocked.text);
    assert_eq!(
        (&blocked.body["status"], &blocked.body["source"]),
        (&json!("BLOCKED"), &json!("OTHER_PLATFORM"))
    );
    let seats = statuses(&s, &show).await;
    assert_eq!(seats.get("R2-3").map(String::as_str), Some("SOLD"));
    let hold = s
        .call("POST", "/api/v1/bookings")
        .token(&customer)
        .json(&json!({"showId": show, "seatIds": ["R2-4"]}))
        .send()
        .await;
    assert_eq!(hold.status, 409, "{}", hold.text);
    let stats = stats_of(&s, &f.partner, &show).await;
    assert_eq!(
        stats.body["salesByChannel"]["OTHER_PLATFORM"],
        json!({"seats": 2, "grossRevenue": 36000, "bookings": 1})
    );

    // The same reference again is the same block; with other seats it is refused; a seat the
    // app holds is a 409 for the platform.
    let again = external(&s, &key, &show, "block", &body).await;
    assert_eq!(
        (again.status, &again.body["blockId"]),
        (200, &blocked.body["blockId"]),
        "{}",
        again.text
    );
    let other = external(
        &s,
        &key,
        &show,
        "block",
        &json!({"seatIds": ["R2-5"], "externalRef": "tickethub-1001"}),
    )
    .await;
    assert_eq!(
        (other.status, other.code()),
        (422, "IDEMPOTENCY_KEY_REUSED"),
        "{}",
        other.text
    );
    let app = s
        .call("POST", "/api/v1/bookings")
        .token(&customer)
        .json(&json!({"showId": show, "seatIds": ["R2-9"]}))
        .send()
        .await;
    assert_eq!(app.status, 201, "{}", app.text);
    let taken = external(
        &s,
        &key,
        &show,
        "block",
        &json!({"seatIds": ["R2-9", "R2-10"], "externalRef": "tickethub-1002"}),
    )
    .await;
    assert_eq!(taken.status, 409, "{}", taken.text);
    assert_eq!(
        taken.body["error"]["details"]["unavailableSeatIds"],
        json!(["R2-9"])
    );

    // Releasing names the whole block; then the seats are the app's again, and a second
    // release answers the same.
    let part = external(
        &s,
        &key,
        &show,
        "release",
        &json!({"externalRef": "tickethub-1001", "seatIds": ["R2-3"]}),
    )
    .await;
    assert_eq!(part.status, 400, "{}", part.text);
    let released = release(&s, &key, &show, "tickethub-1001").await;
    let twice = external(
        &s,
        &key,
        &show,
        "release",
        &json!({"externalRef": "tickethub-1001", "seatIds": ["R2-4", "R2-3"]}),
    )
    .await;
    assert_eq!(
        (twice.status, &twice.body["releasedAt"]),
        (200, &released.body["releasedAt"]),
        "{}",
        twice.text
    );
    let unknown = external(
        &s,
        &key,
        &show,
        "release",
        &json!({"externalRef": "no-such-order"}),
    )
    .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    assert_eq!(
        seat_status(&s, &show, "R2-3").await.as_deref(),
        Some("AVAILABLE")
    );
    let rebooked = s
        .call("POST", "/api/v1/bookings")
        .token(&customer)
        .json(&json!({"showId": show, "seatIds": ["R2-3"]}))
        .send()
        .await;
    assert_eq!(rebooked.status, 201, "{}", rebooked.text);
    let stats = stats_of(&s, &f.partner, &show).await;
    assert_eq!(stats.body["salesByChannel"]["OTHER_PLATFORM"]["seats"], 0);

    // Only a live key of the show's partner, for its theatre, acts.
    let other_show = {
        let (_, stranger) = s.user(Role::Partner).await;
        let t = s
            .call("POST", "/api/v1/theatres")
            .token(&stranger)
            .json(&json!({"name": "Elsewhere", "cityId": "blr", "area": "Malleshwaram", "address": "3 Main Rd",
                "screens": [{"name": "Screen 1", "layout": boxoffice_tests::fixtures::layout(20)}]}))
            .send()
            .await;
        assert_eq!(t.status, 201, "{}", t.text);
        let body = json!({"theatreId": t.body["theatreId"], "screenId": t.body["screens"][0]["screenId"], "movieId": f.movie_id,
            "startTime": ist(3, 18, 0), "language": "english", "format": "2D", "currency": "INR", "prices": boxoffice_tests::fixtures::prices()});
        let sh = s
            .call("POST", "/api/v1/shows")
            .token(&stranger)
            .json(&body)
            .send()
            .await;
        assert_eq!(sh.status, 201, "{}", sh.text);
        sh.body["showId"].as_str().unwrap_or_default().to_owned()
    };
    let block = |r: &str| json!({"seatIds": ["R0-1"], "externalRef": r});
    let outsider = external(&s, &key, &other_show, "block", &block("x-1")).await;
    assert_eq!(outsider.status, 403, "{}", outsider.text);
    let mut wrong = key.clone();
    wrong.pop();
    wrong.push(if key.ends_with('A') { 'B' } else { 'A' });
    for (presented, case) in [
        (wrong.as_str(), "a wrong secret"),
        ("bxk.nope", "a malformed key"),
        ("", "no key"),
    ] {
        let r = external(&s, presented, &show, "block", &block("x-2")).await;
        assert_eq!(r.status, 401, "{case}: {}", r.text);
    }
    let missing = external(
        &s,
        &key,
        "sh_01JD0000000000000000000000",
        "block",
        &block("x-3"),
    )
    .await;
    assert_eq!(missing.status, 404, "{}", missing.text);

    // Revoked, the key stops at once; revoking again answers the same; no one else may.
    let (_, stranger) = s.user(Role::Partner).await;
    let path = format!("/api/v1/partner/api-keys/{key_id}");
    let theirs = s.call("DELETE", &path).token(&stranger).send().await;
    assert_eq!(theirs.status, 404, "{}", theirs.text);
    let revoked = s.call("DELETE", &path).token(&f.partner).send().await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert!(
        revoked.body["revokedAt"].is_string() && revoked.body.get("apiKey").is_none(),
        "{}",
        revoked.text
    );
    let again = s.call("DELETE", &path).token(&f.partner).send().await;
    assert_eq!(
        (again.status, &again.body["revokedAt"]),
        (200, &revoked.body["revokedAt"])
    );
    let after = external(&s, &key, &show, "block", &block("x-4")).await;
    assert_eq!(after.status, 401, "{}", after.text);

    // A key names only the partner's own theatres.
    let foreign = s
        .call("POST", "/api/v1/partner/api-keys")
        .token(&stranger)
        .json(&json!({"name": "Mine", "theatreIds": [f.theatre_id]}))
        .send()
        .await;
    assert_eq!(foreign.status, 403, "{}", foreign.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_is_released_not_refunded_when_its_partner_or_its_show_cancels_it() {
    let s = stack_with(&[]).await;
    let triggers = s.start_triggers();
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let made = new_key(&s, &f.partner, &json!({"name": "TicketHub"})).await;
    let key = made.body["apiKey"].as_str().unwrap_or_default().to_owned();
    let block = |seat: &str, r: &str| json!({"seatIds": [seat], "externalRef": r});
    let first = external(&s, &key, &show, "block", &block("R1-1", "order-1")).await;
    let second = external(&s, &key, &show, "block", &block("R1-2", "order-2")).await;
    assert_eq!(
        (first.status, second.status),
        (201, 201),
        "{} {}",
        first.text,
        second.text
    );

    // The partner cancels the first through the app's endpoint: released, nothing refunded.
    let id = first.body["blockId"].as_str().unwrap_or_default();
    let cancelled = s
        .call("POST", &format!("/api/v1/bookings/{id}/cancel"))
        .token(&f.partner)
        .send()
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.body["status"], "CANCELLED");
    assert!(cancelled.body.get("refund").is_none(), "{}", cancelled.text);
    assert_eq!(
        seat_status(&s, &show, "R1-1").await.as_deref(),
        Some("AVAILABLE")
    );
    // Its platform's release then answers it as released.
    release(&s, &key, &show, "order-1").await;

    // The show is cancelled: the second block is released with the show's other bookings.
    let r = s
        .call("POST", &format!("/api/v1/shows/{show}/cancel"))
        .token(&f.partner)
        .send()
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let id = second.body["blockId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let booking = eventually("the second block released with its show", 60, || async {
        let b = s
            .call("GET", &format!("/api/v1/bookings/{id}"))
            .token(&f.partner)
            .send()
            .await;
        (b.body["status"] == "CANCELLED").then_some(b.body)
    })
    .await;
    assert!(booking.get("refund").is_none(), "{booking}");
    assert_eq!(
        seat_status(&s, &show, "R1-2").await.as_deref(),
        Some("AVAILABLE")
    );
    drop(triggers);
}
