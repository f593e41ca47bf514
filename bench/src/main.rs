//! `make bench`: the seat rush. N concurrent clients (default 2,000, `RUSH_CLIENTS`) each try to
//! hold 1–4 random seats of one 300-seat show, through the real create-booking handler, the real
//! SDK and DynamoDB Local; then the same transaction shape straight from a tight SDK loop (the
//! ceiling). Prints a Markdown table and writes bench/results/latest.md. Needs the emulators
//! (run it through infra/with-stack.sh, as `make bench` does).

use boxoffice::{auth::issue_token, domain::user::Role, store::seats::SeatWrite};
use boxoffice_local::{counter::CallCounter, gateway::Gateway, LocalStack};
use bytes::Bytes;
use futures::future::join_all;
use serde_json::{json, Value};
use std::{collections::HashMap, time::Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

struct Rng(u64);
impl Rng {
    fn next(&mut self, m: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % m
    }
}

async fn call(
    gw: &Gateway,
    method: &str,
    path: &str,
    token: &str,
    body: Value,
) -> Result<(u16, Value), BoxError> {
    let req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_string()))?;
    let resp = gw.call(req).await;
    let status = resp.status().as_u16();
    let text = match resp.into_body() {
        lambda_http::Body::Text(t) => t,
        _ => String::new(),
    };
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

fn seat_ids(rng: &mut Rng) -> Vec<String> {
    let n = 1 + rng.next(4) as usize;
    let mut seats = Vec::new();
    while seats.len() < n {
        let i = rng.next(300);
        let id = format!("R{}-{}", i / 20, i % 20);
        if !seats.contains(&id) {
            seats.push(id);
        }
    }
    seats
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let clients: usize = std::env::var("RUSH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let mut overrides = HashMap::new();
    overrides.insert("HOLD_SECONDS", "3600".to_owned());
    overrides.insert("BOOKING_RATE_LIMIT_PER_MINUTE", "1000000".to_owned());
    let prefix = format!("bench{}", chrono::Utc::now().timestamp());
    let stack = LocalStack::start(&prefix, &overrides).await?;
    let counter = CallCounter::default();
    let mut deps = stack.deps.clone();
    let conf = aws_sdk_dynamodb::config::Builder::from(&stack.sdk)
        .interceptor(counter.clone())
        .build();
    deps.store = boxoffice::store::Store::new(
        aws_sdk_dynamodb::Client::from_conf(conf),
        deps.store.table(),
    );
    let gw = Gateway::new(&stack.template, deps.clone());

    // A city, a movie and one 300-seat screen, made through the handlers.
    let now = deps.clock.now_epoch();
    let jwt = &deps.config.jwt;
    let admin = issue_token(jwt, "usr_benchadmin", "a@bench", Role::Admin, now)?;
    let partner = issue_token(jwt, "usr_benchpartner", "p@bench", Role::Partner, now)?;
    let city = json!({"name": "Bench City", "timeZone": "Asia/Kolkata", "currency": "INR", "convenienceFeePerTicket": 3000, "taxPercent": 18});
    call(&gw, "PUT", "/api/v1/admin/cities/bench", &admin, city).await?;
    let movie = call(&gw, "POST", "/api/v1/movies", &admin, json!({"title": "Rush", "languages": ["english"], "genres": ["action"], "durationMins": 120, "releaseDate": "2026-01-01"})).await?.1;
    let rows: Vec<Value> = (0..15)
        .map(|r| json!({"rowLabel": format!("R{r}"), "seats": (0..20).map(|i| json!({"seatId": format!("R{r}-{i}"), "type": if r < 3 { "PREMIUM" } else { "REGULAR" }})).collect::<Vec<_>>()}))
        .collect();
    let theatre = call(&gw, "POST", "/api/v1/theatres", &partner, json!({"name": "Bench", "cityId": "bench", "area": "A", "address": "B", "screens": [{"name": "S1", "layout": {"rows": rows}}]})).await?.1;
    let start = boxoffice::clock::rfc3339(chrono::Utc::now() + chrono::Duration::days(2));
    let show = call(&gw, "POST", "/api/v1/shows", &partner, json!({"theatreId": theatre["theatreId"], "screenId": theatre["screens"][0]["screenId"], "movieId": movie["movieId"],
        "startTime": start, "language": "english", "format": "2D", "currency": "INR", "prices": {"REGULAR": 18000, "PREMIUM": 25000}})).await?.1;
    let show_id = show["showId"].as_str().ok_or("no show")?.to_owned();
    // Warm the container's caches, as a warm Lambda has them.
    let warm = issue_token(jwt, "usr_warm", "w@bench", Role::Customer, now)?;
    call(
        &gw,
        "POST",
        "/api/v1/bookings",
        &warm,
        json!({"showId": show_id, "seatIds": ["R14-19"]}),
    )
    .await?;

    // 1. The seat rush.
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let asks: Vec<(String, Vec<String>)> = (0..clients)
        .map(|i| {
            (
                issue_token(
                    jwt,
                    &format!("usr_rush{i:05}"),
                    "r@bench",
                    Role::Customer,
                    now,
                )
                .unwrap_or_default(),
                seat_ids(&mut rng),
            )
        })
        .collect();
    counter.take();
    let began = Instant::now();
    let results = join_all(asks.iter().map(|(token, seats)| {
        let gw = &gw;
        let show_id = &show_id;
        async move {
            let t = Instant::now();
            let r = call(
                gw,
                "POST",
                "/api/v1/bookings",
                token,
                json!({"showId": show_id, "seatIds": seats}),
            )
            .await;
            (t.elapsed().as_secs_f64() * 1000.0, r)
        }
    }))
    .await;
    let wall = began.elapsed().as_secs_f64();
    let calls = counter.take();
    let attempts = calls.iter().filter(|c| *c == "TransactWriteItems").count();
    let mut latencies: Vec<f64> = results.iter().map(|(ms, _)| *ms).collect();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let status = |s: u16| {
        results
            .iter()
            .filter(|(_, r)| r.as_ref().is_ok_and(|(st, _)| *st == s))
            .count()
    };
    let (won, conflicted) = (status(201), status(409));
    let errors = results.len() - won - conflicted;
    // The oversell check: every seat item belongs to exactly one winning booking.
    let items = stack
        .deps
        .store
        .get_show_collection(&show_id)
        .await?
        .ok_or("show vanished")?
        .seats;
    let winners: std::collections::HashSet<String> = results
        .iter()
        .filter_map(|(_, r)| {
            r.as_ref()
                .ok()
                .filter(|(s, _)| *s == 201)
                .and_then(|(_, b)| b["bookingId"].as_str().map(str::to_owned))
        })
        .collect();
    let held_by_winners = items
        .iter()
        .filter(|i| winners.contains(&i.booking_id))
        .count();
    let won_seats: usize = results
        .iter()
        .filter_map(|(_, r)| {
            r.as_ref()
                .ok()
                .filter(|(s, _)| *s == 201)
                .map(|(_, b)| b["seats"].as_array().map(Vec::len).unwrap_or(0))
        })
        .sum();
    let oversold = won_seats as i64 - held_by_winners as i64;

    // 2. The ceiling: the same transaction shape straight from the SDK, same concurrency.
    let raw_show = format!("{show_id}raw");
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let raw: Vec<Vec<String>> = (0..clients).map(|_| seat_ids(&mut rng)).collect();
    let raw_began = Instant::now();
    let raw_results = join_all(raw.iter().enumerate().map(|(i, seats)| {
        let store = &stack.deps.store;
        let raw_show = &raw_show;
        async move {
            store
                .hold_seats(raw_show, &format!("bk_raw{i}"), seats, now + 3600, now)
                .await
        }
    }))
    .await;
    let raw_wall = raw_began.elapsed().as_secs_f64();
    let raw_ok = raw_results
        .iter()
        .filter(|r| matches!(r, Ok(SeatWrite::Done)))
        .count();

    let holds_per_s = won as f64 / wall;
    let attempts_per_s = clients as f64 / wall;
    let raw_per_s = clients as f64 / raw_wall;
    let table = format!(
        "| Seat rush ({clients} clients, 300 seats, 1–4 seats each) | Value |\n|---|---|\n\
         | wall time | {wall:.2} s |\n\
         | hold attempts/s (all answers) | {attempts_per_s:.0} |\n\
         | holds won | {won} ({holds_per_s:.0}/s) |\n\
         | 409 SEAT_LOCK_FAILED | {conflicted} ({:.1} %) |\n\
         | other answers (5xx etc.) | {errors} |\n\
         | latency p50 / p95 / p99 | {:.1} / {:.1} / {:.1} ms |\n\
         | TransactWriteItems sent / requests | {attempts} / {clients} (retries: {}) |\n\
         | seats sold twice (oversell) | {oversold} |\n\
         | ceiling: same transactions straight from the SDK | {raw_per_s:.0}/s ({raw_ok} committed) |\n\
         | API ÷ ceiling (attempts/s) | {:.2} |\n",
        conflicted as f64 * 100.0 / clients as f64,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
        attempts.saturating_sub(clients),
        attempts_per_s / raw_per_s,
    );
    println!("{table}");
    let out = boxoffice_local::repo_root().join("bench/results/latest.md");
    std::fs::write(&out, format!("# make bench\n\nRun at {} on this machine (2 cores), debug-free release build, DynamoDB Local in memory.\n\n{table}", boxoffice::clock::rfc3339(chrono::Utc::now())))?;
    println!("written to {}", out.display());
    if oversold != 0 || errors != 0 {
        return Err(format!("FAILED: oversold {oversold}, errors {errors}").into());
    }
    Ok(())
}
