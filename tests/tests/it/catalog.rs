//! Catalog endpoints against DynamoDB Local: success and failure paths, time zones, call counts.

use boxoffice::domain::user::Role;
use boxoffice_tests::{
    call_on,
    fixtures::{ist, ist_date, layout},
    stack,
};
use futures::future::join_all;
use serde_json::json;

#[tokio::test]
async fn movies_are_created_by_admins_and_read_by_anyone() {
    let s = stack().await;
    let f = s.catalog(20).await;
    let r = s
        .call("GET", &format!("/api/v1/movies/{}", f.movie_id))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["languages"], json!(["english", "hindi"]));
    assert_eq!(
        s.call("GET", "/api/v1/movies/mv_01JD0000000000000000000000")
            .send()
            .await
            .status,
        404
    );
    assert_eq!(
        s.call("GET", "/api/v1/movies/nonsense").send().await.status,
        404
    );

    let body = json!({"title": "X", "languages": ["en"], "genres": ["drama"], "durationMins": 90, "releaseDate": "2026-01-01"});
    let customer = s.user(Role::Customer).await.1;
    assert_eq!(
        s.call("POST", "/api/v1/movies")
            .token(&customer)
            .json(&body)
            .send()
            .await
            .status,
        403
    );
    assert_eq!(
        s.call("POST", "/api/v1/movies")
            .token(&f.partner)
            .json(&body)
            .send()
            .await
            .status,
        403
    );
    for (field, bad) in [
        ("releaseDate", json!("2026-13-01")),
        ("durationMins", json!(0)),
        ("languages", json!([])),
        ("title", json!("")),
    ] {
        let mut b = body.clone();
        b[field] = bad;
        let r = s
            .call("POST", "/api/v1/movies")
            .token(&f.admin)
            .json(&b)
            .send()
            .await;
        assert_eq!(r.status, 400, "{field}: {}", r.text);
    }
}

#[tokio::test]
async fn theatres_validate_their_layouts() {
    let s = stack().await;
    let f = s.catalog(10).await;
    let theatre = |seats: serde_json::Value| json!({"name": "T", "cityId": "blr", "area": "A", "address": "B", "screens": [{"name": "S", "layout": seats}]});
    let r = s
        .call("GET", &format!("/api/v1/theatres/{}", f.theatre_id))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["screens"][0]["capacity"], 10);
    assert_eq!(
        s.call("GET", "/api/v1/theatres/th_01JD0000000000000000000000")
            .send()
            .await
            .status,
        404
    );

    let too_big = s
        .call("POST", "/api/v1/theatres")
        .token(&f.partner)
        .json(&theatre(layout(1001)))
        .send()
        .await;
    assert_eq!(too_big.status, 400, "{}", too_big.text);
    assert!(too_big.text.contains("1000"), "{}", too_big.text);
    let just_right = s
        .call("POST", "/api/v1/theatres")
        .token(&f.partner)
        .json(&theatre(layout(1000)))
        .send()
        .await;
    assert_eq!(just_right.status, 201, "{}", just_right.text);

    let dup = json!({"rows": [{"rowLabel": "A", "seats": [{"seatId": "A1", "type": "REGULAR"}]}, {"rowLabel": "B", "seats": [{"seatId": "A1", "type": "REGULAR"}]}]});
    assert_eq!(
        s.call("POST", "/api/v1/theatres")
            .token(&f.partner)
            .json(&theatre(dup))
            .send()
            .await
            .status,
        400
    );
    let bad_type =
        json!({"rows": [{"rowLabel": "A", "seats": [{"seatId": "A1", "type": "SOFA"}]}]});
    assert_eq!(
        s.call("POST", "/api/v1/theatres")
            .token(&f.partner)
            .json(&theatre(bad_type))
            .send()
            .await
            .status,
        400
    );
    let mut unknown_city = theatre(layout(5));
    unknown_city["cityId"] = json!("atlantis");
    assert_eq!(
        s.call("POST", "/api/v1/theatres")
            .token(&f.partner)
            .json(&unknown_city)
            .send()
            .await
            .status,
        400
    );
    let customer = s.user(Role::Customer).await.1;
    assert_eq!(
        s.call("POST", "/api/v1/theatres")
            .token(&customer)
            .json(&theatre(layout(5)))
            .send()
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn shows_are_validated_and_never_overlap() {
    let s = stack().await;
    let f = s.catalog(30).await;
    let first = s.show_at(&f, &ist(2, 10, 0)).await;
    assert!(first.starts_with("sh_"));

    // 120 min + 15 min cleaning: 12:10 overlaps, 12:15 does not.
    let overlapping = s
        .call("POST", "/api/v1/shows")
        .token(&f.partner)
        .json(&s.show_body(&f, &ist(2, 12, 10)))
        .send()
        .await;
    assert_eq!(
        (overlapping.status, overlapping.code()),
        (409, "INVALID_STATE"),
        "{}",
        overlapping.text
    );
    let before = s
        .call("POST", "/api/v1/shows")
        .token(&f.partner)
        .json(&s.show_body(&f, &ist(2, 8, 0)))
        .send()
        .await;
    assert_eq!(
        before.status, 409,
        "ends 10:00 + gap overlaps the 10:00 show: {}",
        before.text
    );
    s.show_at(&f, &ist(2, 12, 15)).await;

    let (_, other_partner) = s.user(Role::Partner).await;
    let r = s
        .call("POST", "/api/v1/shows")
        .token(&other_partner)
        .json(&s.show_body(&f, &ist(3, 10, 0)))
        .send()
        .await;
    assert_eq!(r.status, 403, "another partner's theatre: {}", r.text);
    let customer = s.user(Role::Customer).await.1;
    assert_eq!(
        s.call("POST", "/api/v1/shows")
            .token(&customer)
            .json(&s.show_body(&f, &ist(3, 10, 0)))
            .send()
            .await
            .status,
        403
    );

    let mut unpriced = s.show_body(&f, &ist(3, 10, 0));
    unpriced["prices"] = json!({"REGULAR": 18000, "PREMIUM": 25000});
    let r = s
        .call("POST", "/api/v1/shows")
        .token(&f.partner)
        .json(&unpriced)
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("WHEELCHAIR"), "{}", r.text);

    for (field, bad, status) in [
        ("startTime", json!("2020-01-01T10:00:00+05:30"), 400),
        ("startTime", json!("tomorrow at ten"), 400),
        ("startTime", json!("2026-12-01T10:00:00"), 400),
        ("movieId", json!("mv_01JD0000000000000000000000"), 404),
        ("theatreId", json!("th_01JD0000000000000000000000"), 404),
        ("screenId", json!("sc_01JD0000000000000000000000"), 404),
        ("language", json!("klingon"), 400),
        ("currency", json!("USD"), 400),
    ] {
        let mut b = s.show_body(&f, &ist(4, 10, 0));
        b[field] = bad;
        let r = s
            .call("POST", "/api/v1/shows")
            .token(&f.partner)
            .json(&b)
            .send()
            .await;
        assert_eq!(r.status, status, "{field}: {}", r.text);
    }
}

#[tokio::test]
async fn concurrent_overlapping_shows_cannot_both_be_created() {
    let s = stack().await;
    let f = s.catalog(10).await;
    let attempts = (0..8u32).map(|i| {
        s.call("POST", "/api/v1/shows")
            .token(&f.partner)
            .json(&s.show_body(&f, &ist(5, 18, i * 5)))
            .send()
    });
    let replies = join_all(attempts).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        created,
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(replies.iter().all(|r| r.status == 201 || r.status == 409));
}

#[tokio::test]
async fn browse_uses_the_city_calendar_across_midnight() {
    let s = stack().await;
    let f = s.catalog(10).await;
    // 23:30 IST is 18:00 UTC the same day; 01:45 IST the next day is still that UTC day
    // (and just clear of the 23:30 show's 120 minutes plus cleaning gap).
    let late = s.show_at(&f, &ist(3, 23, 30)).await;
    s.show_at(&f, &ist(4, 1, 45)).await;
    let day = |d: String| {
        s.call(
            "GET",
            &format!("/api/v1/cities/blr/movies/{}/shows?date={d}", f.movie_id),
        )
        .send()
    };
    let d3 = day(ist_date(3)).await;
    assert_eq!(d3.status, 200, "{}", d3.text);
    let shows = &d3.body["theatres"][0]["shows"];
    assert_eq!(shows.as_array().map(Vec::len), Some(1), "{}", d3.text);
    assert_eq!(shows[0]["showId"], late.as_str());
    assert!(
        shows[0]["startTime"]
            .as_str()
            .is_some_and(|t| t.ends_with("T23:30:00+05:30")),
        "{}",
        d3.text
    );
    assert_eq!(
        shows[0]["priceFrom"], 25000,
        "a 10-seat fixture screen is one PREMIUM row"
    );
    assert_eq!(
        shows[0]["availability"],
        json!({"availableSeats": 10, "status": "AVAILABLE"})
    );
    let d4 = day(ist_date(4)).await;
    let shows = &d4.body["theatres"][0]["shows"];
    assert!(
        shows[0]["startTime"]
            .as_str()
            .is_some_and(|t| t.ends_with("T01:45:00+05:30")),
        "{}",
        d4.text
    );

    let movie = &f.movie_id;
    for (q, status) in [
        ("date=2026-02-30".to_owned(), 400),
        ("date=tomorrow".to_owned(), 400),
        (format!("date={}&cursor=garbage", ist_date(3)), 400),
        (format!("date={}&limit=0", ist_date(3)), 400),
        (format!("date={}&language=hindi", ist_date(3)), 200),
    ] {
        let r = s
            .call(
                "GET",
                &format!("/api/v1/cities/blr/movies/{movie}/shows?{q}"),
            )
            .send()
            .await;
        assert_eq!(r.status, status, "{q}: {}", r.text);
    }
    let hindi = s
        .call(
            "GET",
            &format!(
                "/api/v1/cities/blr/movies/{movie}/shows?date={}&language=hindi",
                ist_date(3)
            ),
        )
        .send()
        .await;
    assert_eq!(hindi.body["theatres"], json!([]));
    assert_eq!(
        s.call(
            "GET",
            &format!("/api/v1/cities/atlantis/movies/{movie}/shows")
        )
        .send()
        .await
        .status,
        404
    );
    assert_eq!(
        s.call(
            "GET",
            "/api/v1/cities/blr/movies/mv_01JD0000000000000000000000/shows"
        )
        .send()
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn browse_pages_with_cursors_and_costs_two_calls_per_page() {
    let s = stack().await;
    let f = s.catalog(10).await;
    for h in [10, 13, 16] {
        s.show_at(&f, &ist(2, h, 0)).await;
    }
    let (gw, counter) = s.counted();
    let base = format!(
        "/api/v1/cities/blr/movies/{}/shows?date={}&limit=2",
        f.movie_id,
        ist_date(2)
    );
    // The first request warms the city and movie caches, as any warm container has them.
    call_on(&gw, "GET", &base).send().await;
    counter.take();
    let page1 = call_on(&gw, "GET", &base).send().await;
    assert_eq!(
        counter.take(),
        vec!["Query", "BatchGetItem"],
        "a warm page: the browse GSI's Query, then one BatchGetItem of its shows' sold counters"
    );
    let cursor = page1.body["nextCursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let page2 = call_on(&gw, "GET", &format!("{base}&cursor={cursor}"))
        .send()
        .await;
    assert_eq!(counter.take(), vec!["Query", "BatchGetItem"]);
    let count = |r: &boxoffice_tests::Reply| {
        r.body["theatres"][0]["shows"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0)
    };
    assert_eq!(
        (count(&page1), count(&page2)),
        (2, 1),
        "{} / {}",
        page1.text,
        page2.text
    );
    assert!(page2.body.get("nextCursor").is_none());
    // A cursor from another day's listing is refused.
    let other_day = format!(
        "/api/v1/cities/blr/movies/{}/shows?date={}&cursor={cursor}",
        f.movie_id,
        ist_date(3)
    );
    assert_eq!(call_on(&gw, "GET", &other_day).send().await.status, 400);
}

#[tokio::test]
async fn list_movies_filters_and_pages() {
    let s = stack().await;
    let f = s.catalog(10).await;
    let mut ids = vec![f.movie_id.clone()];
    for (title, lang, genre) in [
        ("B", "tamil", "comedy"),
        ("C", "english", "comedy"),
        ("D", "english", "drama"),
    ] {
        let m = json!({"title": title, "languages": [lang], "genres": [genre], "durationMins": 100, "releaseDate": "2026-10-01"});
        let r = s
            .call("POST", "/api/v1/movies")
            .token(&f.admin)
            .json(&m)
            .send()
            .await;
        ids.push(r.body["movieId"].as_str().expect("id").to_owned());
    }
    let all = s.call("GET", "/api/v1/movies?limit=3").send().await;
    assert_eq!(
        all.body["movies"].as_array().map(Vec::len),
        Some(3),
        "{}",
        all.text
    );
    assert_eq!(
        all.body["movies"][0]["movieId"],
        ids[3].as_str(),
        "newest first"
    );
    let rest = s
        .call(
            "GET",
            &format!(
                "/api/v1/movies?limit=3&cursor={}",
                all.body["nextCursor"].as_str().expect("cursor")
            ),
        )
        .send()
        .await;
    assert_eq!(
        rest.body["movies"].as_array().map(Vec::len),
        Some(1),
        "{}",
        rest.text
    );
    assert!(rest.body.get("nextCursor").is_none());

    let english = s
        .call("GET", "/api/v1/movies?language=English")
        .send()
        .await;
    assert_eq!(
        english.body["movies"].as_array().map(Vec::len),
        Some(3),
        "{}",
        english.text
    );
    let comedy_en = s
        .call("GET", "/api/v1/movies?language=english&genre=comedy")
        .send()
        .await;
    assert_eq!(comedy_en.body["movies"].as_array().map(Vec::len), Some(1));

    s.show_at(&f, &ist(1, 20, 0)).await;
    let in_city = s.call("GET", "/api/v1/movies?city=blr").send().await;
    assert_eq!(
        in_city.body["movies"].as_array().map(Vec::len),
        Some(1),
        "{}",
        in_city.text
    );
    assert_eq!(in_city.body["movies"][0]["movieId"], f.movie_id.as_str());
    let that_day = s
        .call(
            "GET",
            &format!("/api/v1/movies?city=blr&date={}", ist_date(1)),
        )
        .send()
        .await;
    assert_eq!(that_day.body["movies"].as_array().map(Vec::len), Some(1));
    let other_day = s
        .call(
            "GET",
            &format!("/api/v1/movies?city=blr&date={}", ist_date(2)),
        )
        .send()
        .await;
    assert_eq!(other_day.body["movies"], json!([]));

    for q in [
        "cursor=abc",
        "limit=101",
        "limit=x",
        "date=2026-01-01",
        "city=blr&date=01/02/2026",
    ] {
        assert_eq!(
            s.call("GET", &format!("/api/v1/movies?{q}"))
                .send()
                .await
                .status,
            400,
            "{q}"
        );
    }
    assert_eq!(
        s.call("GET", "/api/v1/movies?city=atlantis")
            .send()
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn the_seat_map_reads_one_query_per_block_and_ignores_expired_holds() {
    let s = stack().await;
    let f = s.catalog(300).await;
    let show_id = s.show_at(&f, &ist(2, 19, 0)).await;
    let store = &s.deps().store;
    let now = s.deps().clock.now_epoch();
    let layout = store
        .get_show(&show_id)
        .await
        .expect("read")
        .expect("show")
        .layout;
    assert_eq!(layout.block_count(), 3, "15 rows of 20: 5 rows a block");
    let seat = |i: usize| format!("R{}-{}", i / 20, i % 20);
    let ids = |range: std::ops::Range<usize>| {
        range
            .map(|i| layout.place(&seat(i)).expect("a seat of the layout"))
            .collect::<Vec<_>>()
    };
    // 40 live holds (4 bookings of 10, the last spanning blocks 0 and 1), 10 expired holds,
    // 40 sold seats (in block 2).
    for (b, first) in [0, 10, 20, 95].into_iter().enumerate() {
        let seats = ids(first..first + 10);
        if first == 95 {
            assert_eq!((seats[0].block, seats[9].block), (0, 1));
        }
        let r = store
            .hold_seats(&show_id, &format!("bk_live{b}"), &seats, now + 300, now)
            .await
            .expect("hold");
        assert_eq!(r, boxoffice::store::seats::SeatWrite::Done);
    }
    store
        .hold_seats(&show_id, "bk_expired", &ids(40..50), now - 1, now - 400)
        .await
        .expect("hold");
    for b in 0..4 {
        let seats = ids(200 + b * 10..210 + b * 10);
        store
            .hold_seats(&show_id, &format!("bk_sold{b}"), &seats, now + 300, now)
            .await
            .expect("hold");
        store
            .sell_seats(&show_id, &format!("bk_sold{b}"), &seats)
            .await
            .expect("sell");
    }

    let (gw, counter) = s.counted();
    let seat_map = || call_on(&gw, "GET", &format!("/api/v1/shows/{show_id}/seats")).send();
    let cold = seat_map().await;
    assert_eq!(
        counter.take(),
        vec!["GetItem", "Query", "Query", "Query"],
        "a cold container reads the show once"
    );
    let r = seat_map().await;
    assert_eq!(
        counter.take(),
        vec!["Query", "Query", "Query"],
        "a warm seat map is one Query per block"
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(cold.body, r.body, "cached or not, the same seat map");
    let seats: Vec<&serde_json::Value> = r.body["seatMap"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .flat_map(|row| row["seats"].as_array().expect("seats"))
        .collect();
    let count = |st: &str| seats.iter().filter(|x| x["status"] == st).count();
    // The "210 AVAILABLE" does not add up to 300: 300 − 40 live holds − 40 sold = 220,
    // the 10 expired holds among them.
    assert_eq!(
        (
            seats.len(),
            count("AVAILABLE"),
            count("LOCKED"),
            count("SOLD")
        ),
        (300, 220, 40, 40)
    );
    assert!(seats
        .iter()
        .filter(|x| x["status"] == "LOCKED")
        .all(|x| x["lockExpiresAt"].is_string()));
    assert!(seats
        .iter()
        .filter(|x| x["status"] != "LOCKED")
        .all(|x| x.get("lockExpiresAt").is_none()));
    assert_eq!(seats[0]["type"], "PREMIUM");
    assert_eq!(seats[0]["price"], 25000);
    assert_eq!(r.body["currency"], "INR");

    // The expired seats are available to a new hold at once, no sweep needed.
    let taken = store
        .hold_seats(&show_id, "bk_new", &ids(40..42), now + 300, now)
        .await
        .expect("hold");
    assert_eq!(taken, boxoffice::store::seats::SeatWrite::Done);
    let refused = store
        .hold_seats(&show_id, "bk_late", &ids(41..43), now + 300, now)
        .await
        .expect("hold");
    assert_eq!(
        refused,
        boxoffice::store::seats::SeatWrite::Unavailable(vec![seat(41)])
    );

    let stats = s
        .call("GET", &format!("/api/v1/shows/{show_id}/stats"))
        .token(&f.partner)
        .send()
        .await;
    assert_eq!(stats.status, 200, "{}", stats.text);
    assert_eq!(
        (
            stats.body["capacity"].as_i64(),
            stats.body["sold"].as_i64(),
            stats.body["locked"].as_i64(),
            stats.body["available"].as_i64()
        ),
        (Some(300), Some(40), Some(42), Some(218))
    );
    // 40 sold seats from rows 2–4: all REGULAR at 180.00.
    assert_eq!(stats.body["grossRevenue"], 40 * 18000);
    assert_eq!(stats.body["bookingsByStatus"]["CONFIRMED"], 4);
    assert_eq!(
        s.call("GET", &format!("/api/v1/shows/{show_id}/stats"))
            .token(&f.admin)
            .send()
            .await
            .status,
        200
    );
    let (_, other) = s.user(Role::Partner).await;
    assert_eq!(
        s.call("GET", &format!("/api/v1/shows/{show_id}/stats"))
            .token(&other)
            .send()
            .await
            .status,
        403
    );
    let customer = s.user(Role::Customer).await.1;
    assert_eq!(
        s.call("GET", &format!("/api/v1/shows/{show_id}/stats"))
            .token(&customer)
            .send()
            .await
            .status,
        403
    );
    assert_eq!(
        s.call("GET", "/api/v1/shows/sh_01JD0000000000000000000000/seats")
            .send()
            .await
            .status,
        404
    );
    assert_eq!(
        s.call("GET", "/api/v1/shows/sh_01JD0000000000000000000000/stats")
            .token(&f.admin)
            .send()
            .await
            .status,
        404
    );
}

/// Clean-up at read time: a show that has begun leaves browse, and a movie whose shows have all
/// begun leaves "now showing" (`GET /movies?city=`), while a movie with a later show stays.
#[tokio::test]
async fn past_shows_leave_browse_and_movies_without_future_shows_leave_now_showing() {
    let s = stack().await;
    let f = s.catalog(10).await;
    let clock = &s.deps().clock;
    let start = clock.now() + chrono::Duration::minutes(60);
    let soon = s.show_at(&f, &boxoffice::clock::rfc3339(start)).await;
    let date = (start + chrono::Duration::minutes(330)).date_naive();
    let later_movie = json!({"title": "Later", "languages": ["English"], "genres": ["Drama"], "durationMins": 90, "releaseDate": "2026-11-01"});
    let later_movie = s
        .call("POST", "/api/v1/movies")
        .token(&f.admin)
        .json(&later_movie)
        .send()
        .await;
    assert_eq!(later_movie.status, 201, "{}", later_movie.text);
    let later_movie = later_movie.body["movieId"].as_str().expect("id").to_owned();
    let mut body = s.show_body(&f, &ist(3, 18, 0));
    body["movieId"] = later_movie.clone().into();
    let later = s
        .call("POST", "/api/v1/shows")
        .token(&f.partner)
        .json(&body)
        .send()
        .await;
    assert_eq!(later.status, 201, "{}", later.text);

    let browse = || async {
        s.call(
            "GET",
            &format!("/api/v1/cities/blr/movies/{}/shows?date={date}", f.movie_id),
        )
        .send()
        .await
        .body
    };
    let s = &s;
    let showing = |query: String| async move {
        let r = s
            .call("GET", &format!("/api/v1/movies?{query}"))
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["movies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["movieId"].as_str().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        browse().await["theatres"][0]["shows"][0]["showId"],
        soon.as_str()
    );
    let now_showing = showing("city=blr".into()).await;
    assert!(now_showing.contains(&f.movie_id) && now_showing.contains(&later_movie));

    clock.advance(chrono::Duration::minutes(61));
    assert_eq!(
        browse().await["theatres"],
        json!([]),
        "the started show left browse"
    );
    let now_showing = showing("city=blr".into()).await;
    assert_eq!(
        now_showing,
        std::slice::from_ref(&later_movie),
        "only the movie with a show to come"
    );
    assert!(
        !showing(format!("city=blr&date={date}"))
            .await
            .contains(&f.movie_id),
        "nor on its date"
    );
    // The catalogue itself (no city) still lists every movie.
    let all = showing("limit=100".into()).await;
    assert!(all.contains(&f.movie_id), "{all:?}");
}
