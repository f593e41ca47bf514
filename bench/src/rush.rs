//! The seat rush: N concurrent clients (default 2,000, `RUSH_CLIENTS`) each try to hold 1–4 random
//! seats of one 300-seat show, through the real create-booking handler, the real SDK and DynamoDB
//! Local; then the same transaction shape straight from the SDK at the same concurrency (the
//! ceiling). Every seat item must belong to exactly one winning booking (no oversell).

use crate::{
    catalog::{layout, Catalog},
    util::{p50_95_99, sorted, tally, BoxError, Req, Rng, Tally},
};
use boxoffice::{
    auth::issue_token,
    domain::{
        booking::{new_hold, HoldPolicy, HoldRequest},
        limits,
        user::Role,
    },
    store::bookings::{PlaceBooking, Placed},
    Deps,
};
use boxoffice_local::{counter::CallCounter, gateway::Gateway};
use futures::future::join_all;
use serde_json::json;
use std::{
    collections::{HashMap, HashSet},
    time::Instant,
};

pub struct Rush {
    pub clients: usize,
    pub wall: f64,
    pub won: usize,
    pub conflicted: usize,
    pub errors: usize,
    pub five_xx: usize,
    pub latencies: Vec<f64>,
    /// The handlers' DynamoDB requests during the rush, by operation (most first).
    pub requests: Vec<(String, usize)>,
    pub oversold: i64,
    /// Seats the attempts asked for, and those the winners got (what the losers asked, apart).
    pub seats_asked: usize,
    pub seats_won: usize,
    /// The ceiling: the API's hold transaction straight from the SDK.
    pub raw_per_s: f64,
    pub raw_ok: usize,
    /// The ceiling's latencies (ms, sorted).
    pub raw_latencies: Vec<f64>,
    /// The seat Puts alone straight from the SDK (a smaller transaction than any hold's).
    pub seats_only_per_s: f64,
}

impl Rush {
    pub fn attempts_per_s(&self) -> f64 {
        self.clients as f64 / self.wall
    }

    pub fn p95(&self) -> f64 {
        crate::util::percentile(&self.latencies, 0.95)
    }

    pub fn ceiling_ratio(&self) -> f64 {
        self.attempts_per_s() / self.raw_per_s
    }

    pub fn ceiling_p95(&self) -> f64 {
        crate::util::percentile(&self.raw_latencies, 0.95)
    }

    fn requests_row(&self) -> String {
        let total: usize = self.requests.iter().map(|(_, n)| n).sum();
        let each: Vec<String> = self
            .requests
            .iter()
            .map(|(op, n)| format!("{n} {op}"))
            .collect();
        format!(
            "{total} ({}): {:.2} per attempt",
            each.join(", "),
            total as f64 / self.clients.max(1) as f64
        )
    }

    pub fn table(&self) -> String {
        let clients = self.clients;
        format!(
            "| Seat rush ({clients} clients, 300 seats, 1–4 seats each) | Value |\n|---|---|\n\
             | wall time | {:.2} s |\n\
             | hold attempts/s (all answers) | {:.0} |\n\
             | holds won | {} ({:.0}/s) |\n\
             | 409 SEAT_LOCK_FAILED | {} ({:.1} %) |\n\
             | other answers (5xx etc.) | {} ({} 5xx) |\n\
             | latency p50 / p95 / p99 | {} ms |\n\
             | DynamoDB requests for the {clients} attempts (TransactWriteItems: the holds, and the losers' counts sent together, `attempts`) | {} |\n\
             | seats not held by their winner, or held by a loser (oversell; seat items read back) | {} |\n\
             | ceiling: the API's hold transaction (seats, booking, rate window, seat cap) straight from the SDK | {:.0}/s ({} committed), p95 {:.0} ms |\n\
             | API ÷ ceiling (attempts/s; p95) | {:.2}; {:.2} |\n\
             | for reference: the seat Puts alone straight from the SDK | {:.0}/s |\n",
            self.wall,
            self.attempts_per_s(),
            self.won,
            self.won as f64 / self.wall,
            self.conflicted,
            self.conflicted as f64 * 100.0 / clients as f64,
            self.errors,
            self.five_xx,
            p50_95_99(&self.latencies),
            self.requests_row(),
            self.oversold,
            self.raw_per_s,
            self.raw_ok,
            self.ceiling_p95(),
            self.ceiling_ratio(),
            self.p95() / self.ceiling_p95().max(f64::MIN_POSITIVE),
            self.seats_only_per_s,
        )
    }
}

/// The seeded choices: the rush and the side-by-side Node run draw the same seats.
pub const RUSH_SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// 1–4 distinct seats of the 15 × 20 layout (`R<row>-<col>`).
pub fn seat_ids(rng: &mut Rng) -> Vec<String> {
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

/// `gw` runs the handlers over `counter`'s DynamoDB client; `raw` is the uncounted store.
pub async fn run(
    gw: &Gateway,
    counter: &CallCounter,
    raw: &Deps,
    catalog: &Catalog,
    clients: usize,
) -> Result<Rush, BoxError> {
    let deps = gw.deps();
    let movie = catalog.movie(gw, "Rush").await?;
    let screen = catalog.theatre(gw, "Rush", layout(15, 20, 3)).await?;
    let start = boxoffice::clock::rfc3339(chrono::Utc::now() + chrono::Duration::days(2));
    let show_id = catalog.show(gw, &movie, &screen, &start).await?;

    let now = deps.clock.now_epoch();
    let jwt = &deps.config.jwt;
    // Warm the container's caches, as a warm Lambda has them.
    let warm = issue_token(jwt, "usr_warm", "w@bench", Role::Customer, now)?;
    let (_, warming) = Req::new("POST", "/api/v1/bookings")
        .token(&warm)
        .json(&json!({"showId": show_id, "seatIds": ["R14-19"]}))
        .send(gw)
        .await?;
    let warming = warming["bookingId"].as_str().unwrap_or_default().to_owned();

    let mut rng = Rng(RUSH_SEED);
    let mut asks = Vec::with_capacity(clients);
    for i in 0..clients {
        let token = issue_token(
            jwt,
            &format!("usr_rush{i:05}"),
            "r@bench",
            Role::Customer,
            now,
        )?;
        asks.push((token, seat_ids(&mut rng)));
    }
    counter.take();
    let began = Instant::now();
    let results = join_all(asks.iter().map(|(token, seats)| {
        let show_id = &show_id;
        async move {
            let t = Instant::now();
            let r = Req::new("POST", "/api/v1/bookings")
                .token(token)
                .json(&json!({"showId": show_id, "seatIds": seats}))
                .send(gw)
                .await;
            (t.elapsed().as_secs_f64() * 1000.0, r)
        }
    }))
    .await;
    let wall = began.elapsed().as_secs_f64();
    let mut requests: Vec<(String, usize)> = Vec::new();
    for op in counter.take() {
        match requests.iter_mut().find(|(o, _)| *o == op) {
            Some((_, n)) => *n += 1,
            None => requests.push((op, 1)),
        }
    }
    requests.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let Tally {
        latencies,
        won,
        conflicted,
        five_xx,
        other: errors,
    } = tally(&results);

    // The oversell check, seat by seat: every seat a winner was promised is held (HELD or SOLD)
    // by that winner, and no seat item names anyone else (a loser, or a second winner).
    let collection = raw
        .store
        .get_show_collection(&show_id)
        .await?
        .ok_or("show vanished")?;
    let items = collection.seats;
    let owner: HashMap<&str, &str> = items
        .iter()
        .map(|i| (i.seat_id.as_str(), i.booking_id.as_str()))
        .collect();
    let winners: Vec<(String, Vec<String>)> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().filter(|(s, _)| *s == 201))
        .filter_map(|(_, b)| {
            let seats = b["seats"]
                .as_array()?
                .iter()
                .filter_map(|s| s["seatId"].as_str().map(str::to_owned))
                .collect();
            Some((b["bookingId"].as_str()?.to_owned(), seats))
        })
        .collect();
    // The warming hold's seat (R14-19, never asked for in the rush) is its own.
    let winner_ids: HashSet<&str> = winners
        .iter()
        .map(|(id, _)| id.as_str())
        .chain([warming.as_str()])
        .collect();
    let not_theirs = winners
        .iter()
        .flat_map(|(id, seats)| seats.iter().map(move |s| (id, s)))
        .filter(|(id, seat)| owner.get(seat.as_str()) != Some(&id.as_str()))
        .count();
    let strangers = items
        .iter()
        .filter(|i| !winner_ids.contains(i.booking_id.as_str()))
        .count();
    let oversold = (not_theirs + strangers) as i64;

    // The ceiling: the API's own hold transaction (seats, booking, rate window, seat cap: what
    // `Store::place_booking` sends for a rush request) straight from the SDK, at the same
    // concurrency, on a copy of the show (same layout and blocks) no one else holds.
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let raw_asks: Vec<Vec<String>> = (0..clients).map(|_| seat_ids(&mut rng)).collect();
    let mut raw_show = collection.show.clone();
    raw_show.show_id = format!("{show_id}raw");
    let city = raw
        .caches
        .city(&raw.store, &raw_show.city_id)
        .await?
        .ok_or("the rush's city vanished")?;
    let at = chrono::DateTime::from_timestamp(now, 0).ok_or("clock")?;
    let mut bookings = Vec::with_capacity(clients);
    for (i, seats) in raw_asks.iter().enumerate() {
        let booking_id = format!("bk_raw{i}");
        let user_id = format!("usr_raw{i:05}");
        let request = HoldRequest {
            booking_id: &booking_id,
            user_id: &user_id,
            seat_ids: seats,
            offer: None,
            redeem_points: 0,
        };
        let policy = HoldPolicy { hold_seconds: 3600 };
        bookings
            .push(new_hold(&raw_show, &city, &request, &policy, at).map_err(|e| format!("{e:?}"))?);
    }
    let cap = limits::seat_cap(raw_show.max_seats_per_customer);
    let raw_began = Instant::now();
    let raw_results = join_all(bookings.iter().map(|booking| {
        let store = &raw.store;
        let config = &raw.config;
        async move {
            let t = Instant::now();
            let placed = store
                .place_booking(PlaceBooking {
                    booking,
                    now,
                    idempotency: None,
                    rate_limit_per_minute: config.booking_rate_limit_per_minute,
                    coupon_limit: None,
                    seat_cap_room: limits::seat_cap_room(cap, booking.seats.len()).unwrap_or(0),
                    admitted_from_queue: false,
                })
                .await;
            (t.elapsed().as_secs_f64() * 1000.0, placed)
        }
    }))
    .await;
    let raw_wall = raw_began.elapsed().as_secs_f64();
    let raw_ok = raw_results
        .iter()
        .filter(|(_, r)| matches!(r, Ok(Placed::Placed { .. })))
        .count();
    let raw_latencies = sorted(raw_results.iter().map(|(ms, _)| *ms).collect());

    // For reference: the seat Puts alone (no booking, rate window or seat cap) on a third copy.
    let seats_only_show = format!("{show_id}seats");
    let seats_only_began = Instant::now();
    join_all(bookings.iter().map(|b| {
        let store = &raw.store;
        let show = &seats_only_show;
        async move {
            store
                .hold_seats(show, &b.booking_id, &b.seat_places(), now + 3600, now)
                .await
        }
    }))
    .await;
    let seats_only_per_s = clients as f64 / seats_only_began.elapsed().as_secs_f64();

    Ok(Rush {
        clients,
        wall,
        won,
        conflicted,
        errors,
        five_xx,
        latencies,
        requests,
        oversold,
        seats_asked: asks.iter().map(|(_, seats)| seats.len()).sum(),
        seats_won: winners.iter().map(|(_, seats)| seats.len()).sum(),
        raw_per_s: clients as f64 / raw_wall,
        raw_ok,
        raw_latencies,
        seats_only_per_s,
    })
}
