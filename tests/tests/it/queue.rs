//! The on-sale waiting room (issue 16) through the real handlers against DynamoDB Local: joins,
//! the draw, later arrivals, admission at the configured rate, the admission token on
//! `POST /bookings`, and the admission notification. The sequencer is driven directly.

use boxoffice::{
    domain::{queue::QueueProgress, user::Role},
    store::queue::QueueEntry,
};
use boxoffice_tests::{eventually, fixtures::ist, inbox_of, stack_with, Reply, TestStack};
use futures::{stream, StreamExt};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

async fn stack() -> TestStack {
    stack_with(&[
        ("BOOKING_RATE_LIMIT_PER_MINUTE", "1000000"),
        ("HOLD_SECONDS", "3600"),
    ])
    .await
}

/// Pins the clock to a whole second and returns it.
fn pin_now(s: &TestStack) -> i64 {
    let now = s.deps().clock.now_epoch();
    s.deps()
        .clock
        .pin(chrono::DateTime::from_timestamp(now, 0).expect("a valid instant"));
    now
}

fn set_clock(s: &TestStack, t: i64) {
    s.deps()
        .clock
        .pin(chrono::DateTime::from_timestamp(t, 0).expect("a valid instant"));
}

fn rfc(t: i64) -> String {
    boxoffice::queue::epoch_time(t)
}

async fn put_queue(s: &TestStack, token: &str, show: &str, body: Value) -> Reply {
    s.call("PUT", &format!("/api/v1/shows/{show}/queue"))
        .token(token)
        .json(&body)
        .send()
        .await
}

async fn join(s: &TestStack, token: &str, show: &str) -> Reply {
    s.call("POST", &format!("/api/v1/shows/{show}/queue"))
        .token(token)
        .send()
        .await
}

async fn status(s: &TestStack, token: &str, show: &str) -> Reply {
    s.call("GET", &format!("/api/v1/shows/{show}/queue/me"))
        .token(token)
        .send()
        .await
}

async fn sequence(s: &TestStack) -> Value {
    queue_sequencer::handler(
        s.deps(),
        boxoffice_local::triggers::scheduled_event("queue-sequencer"),
    )
    .await
    .expect("the sequencer runs")
}

/// Customer tokens minted directly (no account item is needed to queue or hold).
fn customers(s: &TestStack, n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let id = format!("usr_q{i:06}");
            let t = s.token_for(&id, &format!("q{i}@example.com"), Role::Customer);
            (id, t)
        })
        .collect()
}

/// Every entry of the show's queue, straight from the table (all shards).
async fn entries(s: &TestStack, show: &str) -> Vec<QueueEntry> {
    s.deps()
        .store
        .arrivals(show, 0, i64::MAX / 2, None)
        .await
        .expect("arrivals")
}

/// A show in queue mode with its on-sale time an hour from `now`.
async fn queue_show(s: &TestStack, seats: usize, rate: u32, now: i64) -> (String, String, i64) {
    let f = s.catalog(seats).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let on_sale = now + 3600;
    let r = put_queue(
        s,
        &f.partner,
        &show,
        json!({"onSaleAt": rfc(on_sale), "admissionRatePerSecond": rate, "admissionWindowSeconds": 600, "replaceUnused": false}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    (show, f.partner, on_sale)
}

fn spearman(pairs: &[(f64, f64)]) -> f64 {
    let n = pairs.len() as f64;
    let (mx, my) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let cov: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let vx: f64 = pairs.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let vy: f64 = pairs.iter().map(|p| (p.1 - my).powi(2)).sum();
    cov / (vx * vy).sqrt()
}

#[tokio::test]
async fn twenty_thousand_early_joins_get_exactly_the_places_one_to_n_in_an_order_unrelated_to_joining(
) {
    const N: usize = 20_000;
    let s = stack().await;
    let now = pin_now(&s);
    let (show, _, on_sale) = queue_show(&s, 20, 100, now).await;
    let people = customers(&s, N);
    // 64 joins in flight through the real handler, before the on-sale time.
    let replies: Vec<(usize, u16)> = stream::iter(people.iter().enumerate())
        .map(|(i, (_, token))| {
            let (s, show) = (&s, &show);
            async move { (i, join(s, token, show).await.status) }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    assert!(
        replies.iter().all(|(_, st)| *st == 201),
        "every join is 201"
    );
    // A second join of a few is the same entry, still without a place (the draw is to come).
    for (_, token) in people.iter().take(20) {
        let again = join(&s, token, &show).await;
        assert_eq!(again.status, 201, "{}", again.text);
        assert_eq!(again.body["place"], Value::Null);
        assert!(again.body["drawAt"].is_string(), "{}", again.text);
    }
    assert_eq!(entries(&s, &show).await.len(), N, "one entry per customer");

    // The statistical check needs a fixed seed: stored before the draw as the sequencer's own
    // first write would have stored it (the sequencer keeps a seed it finds).
    let fixed = QueueProgress {
        seed: Some(hex::encode([0x5Eu8; 32])),
        ..Default::default()
    };
    assert!(s
        .deps()
        .store
        .put_progress(&show, &fixed, 0)
        .await
        .expect("seed"));
    set_clock(&s, on_sale + 11);
    let run = sequence(&s).await;
    assert_eq!(run["queues"][0]["drawn"], N as u64, "{run}");

    let by_user: BTreeMap<String, u64> = entries(&s, &show)
        .await
        .into_iter()
        .map(|e| (e.user_id, e.place.expect("every early arrival is placed")))
        .collect();
    let places: BTreeSet<u64> = by_user.values().copied().collect();
    assert_eq!(places.len(), N, "no duplicate places");
    assert_eq!(places.first(), Some(&1));
    assert_eq!(places.last(), Some(&(N as u64)), "no gaps");

    // Join order (the order the joins were sent) against place: no correlation. Under
    // independence Spearman's rho is ~N(0, 1/sqrt(N-1)); 4 sigma is 0.028.
    let pairs: Vec<(f64, f64)> = people
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (i as f64, by_user[id] as f64))
        .collect();
    let rho = spearman(&pairs);
    assert!(rho.abs() < 4.0 / ((N - 1) as f64).sqrt(), "rho {rho}");
    // Nor between join order and place within the first and the last thousand joiners.
    let first: f64 = pairs[..1000].iter().map(|p| p.1).sum::<f64>() / 1000.0;
    let last: f64 = pairs[N - 1000..].iter().map(|p| p.1).sum::<f64>() / 1000.0;
    let sd_of_mean = (N as f64) / (12f64.sqrt() * 1000f64.sqrt());
    assert!((first - last).abs() < 5.0 * sd_of_mean, "{first} vs {last}");

    // Joining again after the draw answers the same place; the status agrees.
    for (id, token) in people.iter().step_by(997) {
        let again = join(&s, token, &show).await;
        assert_eq!(again.status, 201, "{}", again.text);
        let want = by_user[id];
        let seen = eventually("the status sees the draw", 120, || async {
            let st = status(&s, token, &show).await;
            (st.body["place"] == want).then_some(st)
        })
        .await;
        assert_eq!(seen.status, 200);
        assert_eq!(join(&s, token, &show).await.body["place"], want);
    }
}

#[tokio::test]
async fn later_arrivals_follow_every_early_one_in_arrival_order() {
    let s = stack().await;
    let now = pin_now(&s);
    let (show, _, on_sale) = queue_show(&s, 20, 1, now).await;
    let people = customers(&s, 30);
    for (_, token) in &people[..10] {
        assert_eq!(join(&s, token, &show).await.status, 201);
    }
    set_clock(&s, on_sale + 11);
    sequence(&s).await;
    // Twenty later arrivals, one a second, in a shuffled order of customers.
    let mut late: Vec<&(String, String)> = people[10..].iter().collect();
    late.reverse();
    late.swap(0, 7);
    for (i, (_, token)) in late.iter().enumerate() {
        set_clock(&s, on_sale + 12 + i as i64);
        assert_eq!(join(&s, token, &show).await.status, 201);
    }
    // Placed once their join is older than the grace period.
    set_clock(&s, on_sale + 12 + 20 + 11);
    let run = sequence(&s).await;
    assert_eq!(run["queues"][0]["placedLate"], 20, "{run}");
    let by_user: BTreeMap<String, u64> = entries(&s, &show)
        .await
        .into_iter()
        .filter_map(|e| Some((e.user_id, e.place?)))
        .collect();
    for (id, _) in &people[..10] {
        assert!(by_user[id] <= 10, "early arrivals first");
    }
    for (i, (id, _)) in late.iter().enumerate() {
        assert_eq!(by_user[id], 11 + i as u64, "arrival order");
    }
}

/// Who is admitted at the clock's time, by place, through the status endpoint.
async fn admitted(s: &TestStack, show: &str, people: &[(String, String)]) -> BTreeMap<u64, bool> {
    let mut out = BTreeMap::new();
    for (_, token) in people {
        let st = status(s, token, show).await;
        assert_eq!(st.status, 200, "{}", st.text);
        let place = st.body["place"].as_u64().expect("placed");
        out.insert(place, st.body["admission"]["token"].is_string());
    }
    out
}

#[tokio::test]
async fn admission_follows_place_order_at_the_rate_and_pauses_at_zero() {
    let s = stack().await;
    let now = pin_now(&s);
    const R: u64 = 2;
    let (show, partner, on_sale) = queue_show(&s, 20, R as u32, now).await;
    let people = customers(&s, 40);
    for (_, token) in &people {
        assert_eq!(join(&s, token, &show).await.status, 201);
    }
    set_clock(&s, on_sale + 11);
    sequence(&s).await;
    // The status caches the queue for 2 s: wait until it has seen the draw.
    eventually("the status sees the draw", 120, || async {
        let st = status(&s, &people[0].1, &show).await;
        st.body["place"].is_u64().then_some(())
    })
    .await;
    for t in [11, 12, 15, 19, 25] {
        set_clock(&s, on_sale + t);
        let a = admitted(&s, &show, &people).await;
        let count = a.values().filter(|x| **x).count() as u64;
        assert!(count <= R * t as u64, "at +{t}s: {count} admitted");
        assert_eq!(
            count,
            (R * t as u64).min(40),
            "at +{t}s the frontier is R·t"
        );
        // A prefix of the places: nobody admitted while someone ahead still waits.
        let order: Vec<bool> = a.values().copied().collect();
        assert!(
            order.windows(2).all(|w| w[0] || !w[1]),
            "at +{t}s: {order:?}"
        );
    }
    // Pause at +15 s (time back there: nothing admitted since), record, and check it holds.
    let s2 = stack().await;
    let now = pin_now(&s2);
    let (show, partner2, on_sale) = queue_show(&s2, 20, R as u32, now).await;
    let _ = partner;
    let people = customers(&s2, 40);
    for (_, token) in &people {
        assert_eq!(join(&s2, token, &show).await.status, 201);
    }
    set_clock(&s2, on_sale + 11);
    sequence(&s2).await;
    // As above: the joins cached the queue (not drawn yet) for 2 s in the status's container.
    eventually("the status sees the draw", 120, || async {
        let st = status(&s2, &people[0].1, &show).await;
        st.body["place"].is_u64().then_some(())
    })
    .await;
    let paused = put_queue(
        &s2,
        &partner2,
        &show,
        json!({"onSaleAt": rfc(on_sale), "admissionRatePerSecond": 0, "admissionWindowSeconds": 600}),
    )
    .await;
    assert_eq!(paused.status, 200, "{}", paused.text);
    assert_eq!(paused.body["admissionRatePerSecond"], 0);
    set_clock(&s2, on_sale + 30);
    let a = eventually("the status sees the pause", 120, || async {
        let a = admitted(&s2, &show, &people).await;
        (a.values().filter(|x| **x).count() == 22).then_some(a)
    })
    .await;
    assert_eq!(a.values().filter(|x| **x).count(), 22, "paused at +11 s");
    // Moving the on-sale time after it passed is refused.
    let moved = put_queue(
        &s2,
        &partner2,
        &show,
        json!({"onSaleAt": rfc(on_sale + 60), "admissionRatePerSecond": 1}),
    )
    .await;
    assert_eq!(
        (moved.status, moved.code()),
        (409, "INVALID_STATE"),
        "{}",
        moved.text
    );
}

#[tokio::test]
async fn bookings_of_a_queue_mode_show_need_this_customers_admission_for_this_show() {
    let s = stack().await;
    let now = pin_now(&s);
    let (show, _, on_sale) = queue_show(&s, 20, 100, now).await;
    let (other_show, _, _) = queue_show(&s, 20, 100, now).await;
    let people = customers(&s, 3);
    for (_, token) in &people {
        assert_eq!(join(&s, token, &show).await.status, 201);
        assert_eq!(join(&s, token, &other_show).await.status, 201);
    }
    let triggers = s.start_triggers();
    set_clock(&s, on_sale + 11);
    sequence(&s).await;
    let token_of = |i: usize, show: String| {
        let s = &s;
        let t = people[i].1.clone();
        async move {
            eventually("admitted", 120, || async {
                let st = status(s, &t, &show).await;
                st.body["admission"]["token"].as_str().map(str::to_owned)
            })
            .await
        }
    };
    let mine = token_of(0, show.clone()).await;
    let theirs = token_of(1, show.clone()).await;
    let other = token_of(0, other_show.clone()).await;
    let book = |token: &str, admission: Option<&str>, seat: &str| {
        let mut c = s.call("POST", "/api/v1/bookings").token(token);
        if let Some(a) = admission {
            c = c.header("x-admission-token", a);
        }
        c.json(&json!({"showId": show, "seatIds": [seat]})).send()
    };
    let me = &people[0].1;
    for (admission, why) in [
        (None, "no token"),
        (Some(theirs.as_str()), "another customer's"),
        (Some(other.as_str()), "another show's"),
        (Some("BQ1.garbage.token"), "forged"),
    ] {
        let r = book(me, admission, "R0-1").await;
        assert_eq!(
            (r.status, r.code()),
            (403, "QUEUE_REQUIRED"),
            "{why}: {}",
            r.text
        );
    }
    let ok = book(me, Some(&mine), "R0-1").await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    // best-available's hold is no way around the waiting room: it needs the request's token too.
    let best = |admission: Option<&str>, hold: bool| {
        let mut c = s
            .call("POST", &format!("/api/v1/shows/{show}/best-available"))
            .token(me);
        if let Some(a) = admission {
            c = c.header("x-admission-token", a);
        }
        c.json(&json!({"count": 2, "hold": hold})).send()
    };
    for (admission, why) in [
        (None, "no token"),
        (Some(theirs.as_str()), "another customer's"),
    ] {
        let r = best(admission, true).await;
        assert_eq!(
            (r.status, r.code()),
            (403, "QUEUE_REQUIRED"),
            "best-available hold, {why}: {}",
            r.text
        );
    }
    let suggested = best(None, false).await;
    assert_eq!(
        suggested.status, 200,
        "a suggestion holds nothing: {}",
        suggested.text
    );
    let held = best(Some(&mine), true).await;
    assert_eq!(held.status, 201, "{}", held.text);
    // The window ends: the same token no longer admits.
    set_clock(&s, on_sale + 11 + 601);
    let late = book(me, Some(&mine), "R0-2").await;
    assert_eq!(
        (late.status, late.code()),
        (403, "QUEUE_REQUIRED"),
        "{}",
        late.text
    );
    // The admitted customers were told, once, in their inbox.
    let told = eventually("the admission notification", 120, || async {
        let inbox = inbox_of(&s, &people[1].1).await;
        let n = inbox
            .iter()
            .filter(|n| n["type"] == "QUEUE_ADMITTED" || n["kind"] == "QUEUE_ADMITTED")
            .count();
        (n >= 2).then_some(n)
    })
    .await;
    assert_eq!(told, 2, "one per show");
    drop(triggers);
    // A show not in queue mode is unaffected, and its waiting room does not exist.
    let f = s.catalog(20).await;
    let plain = s.show_at(&f, &ist(4, 18, 0)).await;
    let r = s
        .call("POST", "/api/v1/bookings")
        .token(me)
        .json(&json!({"showId": plain, "seatIds": ["R0-1"]}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let j = join(&s, me, &plain).await;
    assert_eq!((j.status, j.code()), (409, "INVALID_STATE"), "{}", j.text);
    // Only the show's partner or an admin configures a queue.
    let (_, stranger) = s.user(Role::Partner).await;
    let r = put_queue(
        &s,
        &stranger,
        &plain,
        json!({"onSaleAt": rfc(now + 60), "admissionRatePerSecond": 1}),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text);
}

#[tokio::test]
async fn admitted_customers_who_did_not_book_are_replaced_when_their_window_ends() {
    let s = stack().await;
    let now = pin_now(&s);
    let f = s.catalog(20).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let on_sale = now + 3600;
    let body = |rate: u32| json!({"onSaleAt": rfc(on_sale), "admissionRatePerSecond": rate, "admissionWindowSeconds": 60, "replaceUnused": true});
    assert_eq!(put_queue(&s, &f.partner, &show, body(1)).await.status, 200);
    let people = customers(&s, 30);
    for (_, token) in &people {
        assert_eq!(join(&s, token, &show).await.status, 201);
    }
    // The draw at +11 s admits 11 (1 a second since the on-sale time); then the sale pauses.
    set_clock(&s, on_sale + 11);
    let run = sequence(&s).await;
    assert_eq!(run["queues"][0]["admitted"], 11, "{run}");
    assert_eq!(put_queue(&s, &f.partner, &show, body(0)).await.status, 200);
    // One admitted customer books; the other ten let their window pass.
    let (first, token) = eventually("an admitted customer", 120, || async {
        for (id, t) in &people {
            let st = status(&s, t, &show).await;
            if let Some(a) = st.body["admission"]["token"].as_str() {
                return Some((id.clone(), (t.clone(), a.to_owned())));
            }
        }
        None
    })
    .await;
    let _ = first;
    let held = s
        .call("POST", "/api/v1/bookings")
        .token(&token.0)
        .header("x-admission-token", &token.1)
        .json(&json!({"showId": show, "seatIds": ["R0-1"]}))
        .send()
        .await;
    assert_eq!(held.status, 201, "{}", held.text);
    set_clock(&s, on_sale + 75);
    let run = sequence(&s).await;
    assert_eq!(run["queues"][0]["unused"], 10, "{run}");
    // Paused, yet ten more are admitted: one for each unused window (places 12–21); the first
    // eleven's windows have ended, nobody after place 21 is admitted.
    let a = eventually("the replacements admitted", 120, || async {
        let a = admitted(&s, &show, &people).await;
        (a.values().filter(|x| **x).count() >= 10).then_some(a)
    })
    .await;
    let with_token: Vec<u64> = a.iter().filter(|(_, t)| **t).map(|(p, _)| *p).collect();
    assert_eq!(with_token, (12..=21).collect::<Vec<u64>>(), "{a:?}");
}
