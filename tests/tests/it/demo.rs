//! The demo data of `make run`, seeded as `boxoffice-local` seeds it (the same functions, through
//! the gateway's handlers), and its printed walkthrough followed: a new user registers, finds a
//! Bengaluru show and books three seats with `THIRD50`, with the walkthrough's own body; the demo
//! customer's paid booking confirms and earns loyalty points.

use boxoffice::{auth::hash_password, config::AdminAccount, domain::channel::Source};
use boxoffice_local::seed::{
    demo_offers, seed_accounts, seed_catalog, seed_loyalty, seed_offers, walkthrough,
    COUNTER_SALE_SEATS, LOYALTY_BOOKING_SEATS, REDEEM_BOOKING, THIRD50_BOOKING,
};
use boxoffice_tests::stack;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_applies_third50_from_the_printed_walkthrough() {
    let s = stack().await;
    let admin = AdminAccount {
        email: "admin@boxoffice.local".into(),
        name: "Local Admin".into(),
        password_hash: hash_password("demo-admin-password").expect("hash"),
    };
    let (_, users) = seed_accounts(s.deps(), &admin, "demo-admin-password")
        .await
        .expect("accounts");
    let gw = s.fresh_gateway();
    let catalog = seed_catalog(&gw, s.deps(), &users[0], &users[1])
        .await
        .expect("catalogue");
    assert!(catalog.shows > 0);
    let offers = seed_offers(&gw, s.deps(), &users[0]).await.expect("offers");
    assert_eq!(offers, 3);

    // The offers of the contract: THIRD50, a percentage with a cap, a flat amount with a minimum.
    let listed = s
        .call("GET", "/api/v1/admin/offers")
        .token(&s.token_for(
            &users[0].user_id,
            &users[0].email,
            boxoffice::domain::user::Role::Admin,
        ))
        .send()
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let rules: Vec<Value> = listed.body["offers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| o["rule"]["type"].clone())
        .collect();
    for rule in ["THIRD50", "PERCENT_OFF", "FLAT_OFF"] {
        assert!(rules.contains(&json!(rule)), "{rule} in {}", listed.text);
    }
    assert_eq!(demo_offers().len(), offers);

    // The counter sale of the first show: the partner's, CONFIRMED, WALK_IN.
    let sold = s
        .deps()
        .store
        .list_user_bookings(&users[1].user_id, 10, None)
        .await
        .expect("the partner's bookings");
    let counter: Vec<_> = sold
        .items
        .iter()
        .filter(|b| {
            b.source == Source::WalkIn
                && b.status == boxoffice::domain::booking::BookingStatus::Confirmed
        })
        .collect();
    assert_eq!(counter.len(), 1, "{counter:?}");
    assert_eq!(
        counter[0].seat_ids(),
        COUNTER_SALE_SEATS.map(String::from).to_vec()
    );

    // The demo customer's loyalty balance: its seeded booking confirms (through the confirm
    // function's queue, as `make run`'s triggers deliver it) and earns its points.
    let triggers = s.start_triggers();
    let customer = &users[2];
    let first_show = catalog.first_show.expect("a first show");
    let paid = seed_loyalty(&gw, s.deps(), customer, &first_show)
        .await
        .expect("the demo customer's booking");
    let customer_token = s.token_for(
        &customer.user_id,
        &customer.email,
        boxoffice::domain::user::Role::Customer,
    );
    let points = boxoffice_tests::eventually("the demo customer's points", 120, || async {
        let r = s
            .call("GET", "/api/v1/me/loyalty")
            .token(&customer_token)
            .send()
            .await;
        (r.body["balance"].as_i64().unwrap_or(0) > 0).then_some(r.body)
    })
    .await;
    assert_eq!(points["entries"][0]["type"], "EARNED", "{points}");
    assert_eq!(points["entries"][0]["bookingId"], paid.as_str());
    let booking = s
        .call("GET", &format!("/api/v1/bookings/{paid}"))
        .token(&customer_token)
        .send()
        .await;
    assert_eq!(booking.body["status"], "CONFIRMED");
    assert_eq!(booking.body["loyaltyPoints"]["earns"], points["balance"]);
    assert_eq!(
        booking.body["seats"][0]["seatId"], LOYALTY_BOOKING_SEATS[0],
        "{}",
        booking.text
    );
    drop(triggers);

    let printed = walkthrough("http://127.0.0.1:3000/api/v1", 3000);
    for step in [
        THIRD50_BOOKING,
        "/me/loyalty",
        REDEEM_BOOKING,
        "best-available",
        "ticket.png",
        ".well-known/ticket-keys",
    ] {
        assert!(
            printed.contains(step),
            "the walkthrough shows {step}:\n{printed}"
        );
    }

    // The walkthrough, step by step.
    let r = s
        .call("POST", "/api/v1/auth/register")
        .json(&json!({"email": "me@example.com", "password": "correct-horse-1", "name": "Me"}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let login = s
        .call("POST", "/api/v1/auth/login")
        .json(&json!({"email": "me@example.com", "password": "correct-horse-1"}))
        .send()
        .await;
    let token = login.body["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let movies = s.call("GET", "/api/v1/movies?city=blr").send().await;
    let movie = movies.body["movies"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["movieId"].as_str())
        .expect("a movie showing in Bengaluru")
        .to_owned();
    // Its first show with C5–C7 free, today or the days after (as the walkthrough's ?date=).
    let today = s.deps().clock.now() + chrono::Duration::minutes(330);
    let mut show = None;
    'days: for day in 0..7 {
        let date = (today + chrono::Duration::days(day)).date_naive();
        let browse = s
            .call(
                "GET",
                &format!("/api/v1/cities/blr/movies/{movie}/shows?date={date}"),
            )
            .send()
            .await;
        for theatre in browse.body["theatres"].as_array().into_iter().flatten() {
            for listed in theatre["shows"].as_array().into_iter().flatten() {
                let Some(id) = listed["showId"].as_str() else {
                    continue;
                };
                // The walkthrough's plain booking: not the waiting room's queue-mode show.
                let record = s.deps().store.get_show(id).await.expect("show read");
                if record.is_some_and(|r| !r.queue_mode) {
                    show = Some(id.to_owned());
                    break 'days;
                }
            }
        }
    }
    let show = show.expect("a show of the movie this week");
    let seats = s
        .call("GET", &format!("/api/v1/shows/{show}/seats"))
        .send()
        .await;
    assert_eq!(seats.status, 200, "{}", seats.text);

    let body = THIRD50_BOOKING.replace("<showId>", &show);
    let booked = s
        .call("POST", "/api/v1/bookings")
        .token(&token)
        .header("idempotency-key", "walkthrough-1")
        .raw("application/json", body)
        .send()
        .await;
    assert_eq!(booked.status, 201, "THIRD50 applies: {}", booked.text);
    let pricing = &booked.body["pricing"];
    assert_eq!(
        pricing["appliedOffers"][0]["code"], "THIRD50",
        "{}",
        booked.text
    );
    let cheapest = booked.body["seats"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["price"].as_i64())
        .min()
        .expect("prices");
    assert_eq!(
        pricing["discount"],
        cheapest / 2,
        "the third ticket at half price"
    );

    // The demo customer spends 20 of its points with the walkthrough's own body.
    let balance = points["balance"].as_i64().unwrap_or(0);
    assert!(
        balance >= 20,
        "the seeded booking earns at least 20 points: {points}"
    );
    let redeemed = s
        .call("POST", "/api/v1/bookings")
        .token(&customer_token)
        .raw(
            "application/json",
            REDEEM_BOOKING.replace("<showId>", &show),
        )
        .send()
        .await;
    assert_eq!(redeemed.status, 201, "{}", redeemed.text);
    assert_eq!(redeemed.body["pricing"]["pointsRedeemed"], 20);
    let after = s
        .call("GET", "/api/v1/me/loyalty")
        .token(&customer_token)
        .send()
        .await;
    assert_eq!(after.body["balance"], balance - 20);
}
