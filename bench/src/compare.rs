//! Side by side: the seat rush's exact workload (same client count, a 15 × 20 show, the same
//! seeded 1–4 seat choices, the same user ids) against bench/compare/server.js, a Node booking
//! service on PostgreSQL and Redis, over loopback HTTP; started by bench/compare/with-compare.sh,
//! which exports `COMPARE_URL` and the token secret (or `COMPARE_SKIPPED` with the reason).
//!
//! Every client has its connection open before the clock starts (keep-alive connections, as a
//! load balancer holds them), so neither side pays a TCP handshake: the rush's handlers run
//! in-process. Latencies go through the same statistics as the rush's.

use crate::{
    rush::{seat_ids, RUSH_SEED},
    util::{percentile, tally, BoxError, Rng, Tally},
};
use boxoffice::{
    auth::issue_token,
    config::{JwtConfig, JwtKeys, Secret},
    domain::user::Role,
};
use bytes::Bytes;
use futures::{future::join_all, stream, StreamExt, TryStreamExt};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{handshake, SendRequest};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    time::Instant,
};
use tokio::net::TcpStream;

/// One side's seat rush.
pub struct Side {
    pub clients: usize,
    pub wall: f64,
    pub won: usize,
    pub conflicted: usize,
    pub five_xx: usize,
    /// Neither 201 nor 409 (5xx included), or no answer at all.
    pub other: usize,
    /// Ascending, milliseconds.
    pub latencies: Vec<f64>,
    /// Seats that two winning answers both claim, or that PostgreSQL has in two bookings.
    pub oversold: usize,
    /// Seats of winning answers that PostgreSQL does not have under that booking.
    pub missing: i64,
}

impl Side {
    pub fn attempts_per_s(&self) -> f64 {
        self.clients as f64 / self.wall
    }

    pub fn p95(&self) -> f64 {
        percentile(&self.latencies, 0.95)
    }
}

pub enum Compare {
    Ran {
        node: Side,
        versions: String,
        pool: String,
    },
    /// Why the Node side was not measured.
    Skipped(String),
}

impl Compare {
    pub fn node(&self) -> Option<&Side> {
        match self {
            Compare::Ran { node, .. } => Some(node),
            Compare::Skipped(_) => None,
        }
    }
}

/// Runs the Node side when with-compare.sh started it; never fails (a failure is the reason).
pub async fn run(clients: usize) -> Compare {
    if let Ok(why) = std::env::var("COMPARE_SKIPPED") {
        return Compare::Skipped(why);
    }
    let Ok(url) = std::env::var("COMPARE_URL") else {
        return Compare::Skipped(
            "not started through bench/compare/with-compare.sh (make bench does)".into(),
        );
    };
    match drive(&url, clients).await {
        Ok(node) => Compare::Ran {
            node,
            versions: std::env::var("COMPARE_VERSIONS").unwrap_or_else(|_| "?".into()),
            pool: std::env::var("COMPARE_PG_POOL_MAX").unwrap_or_else(|_| "10".into()),
        },
        Err(e) => Compare::Skipped(format!("the Node side failed: {e}")),
    }
}

struct Conn(SendRequest<Full<Bytes>>);

impl Conn {
    async fn open(addr: SocketAddr) -> Result<Conn, BoxError> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let (sender, conn) = handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(async move {
            // The connection ends when its sender is dropped; an error then is no news.
            let _ = conn.await;
        });
        Ok(Conn(sender))
    }

    /// The status and the JSON body (`Null` when it is not JSON).
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(u16, Value), BoxError> {
        let mut b = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "127.0.0.1");
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let bytes = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                Bytes::from(v.to_string())
            }
            None => Bytes::new(),
        };
        self.0.ready().await?;
        let resp = self.0.send_request(b.body(Full::new(bytes))?).await?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
    }
}

fn addr_of(url: &str) -> Result<SocketAddr, BoxError> {
    let host_port = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("COMPARE_URL {url:?} is not http://HOST:PORT"))?
        .trim_end_matches('/');
    Ok(host_port.parse()?)
}

async fn create_show(conn: &mut Conn, admin: &str) -> Result<String, BoxError> {
    let (status, body) = conn
        .send(
            "POST",
            "/shows",
            Some(admin),
            Some(&json!({"rows": 15, "cols": 20})),
        )
        .await?;
    match body["showId"].as_str() {
        Some(id) if status == 201 => Ok(id.to_owned()),
        _ => Err(format!("POST /shows: {status} {body}").into()),
    }
}

async fn drive(url: &str, clients: usize) -> Result<Side, BoxError> {
    let addr = addr_of(url)?;
    let secret = std::env::var("COMPARE_JWT_SECRET").map_err(|_| "COMPARE_JWT_SECRET not set")?;
    let jwt = JwtConfig {
        keys: Some(JwtKeys {
            current: Secret::new(secret),
            previous: None,
        }),
        issuer: std::env::var("COMPARE_JWT_ISSUER").unwrap_or_default(),
        audience: std::env::var("COMPARE_JWT_AUDIENCE").unwrap_or_default(),
        ttl_seconds: 3600,
    };
    let now = chrono::Utc::now().timestamp();
    let admin = issue_token(&jwt, "usr_admin", "a@bench", Role::Admin, now)?;
    let mut setup = Conn::open(addr).await?;
    let show_id = create_show(&mut setup, &admin).await?;

    // Warm the service (V8's JIT, the pool's connections, the scripts' cache), as a service that has
    // been up a while is: one hold per pool connection, on a show of its own.
    let warm_show = create_show(&mut setup, &admin).await?;
    let warm = issue_token(&jwt, "usr_warm", "w@bench", Role::Customer, now)?;
    let warmups = join_all((0..20).map(|i| {
        let (warm, warm_show) = (&warm, &warm_show);
        async move {
            let mut c = Conn::open(addr).await?;
            let seat = format!("R{}-{}", i / 20, i % 20);
            c.send(
                "POST",
                "/bookings",
                Some(warm),
                Some(&json!({"showId": warm_show, "seatIds": [seat]})),
            )
            .await
        }
    }))
    .await;
    for w in warmups {
        let (status, body) = w?;
        if status != 201 {
            return Err(format!("warm-up hold: {status} {body}").into());
        }
    }

    let mut rng = Rng(RUSH_SEED);
    let mut asks = Vec::with_capacity(clients);
    for i in 0..clients {
        let token = issue_token(
            &jwt,
            &format!("usr_rush{i:05}"),
            "r@bench",
            Role::Customer,
            now,
        )?;
        asks.push((token, seat_ids(&mut rng)));
    }
    let conns: Vec<Conn> = stream::iter((0..clients).map(|_| Conn::open(addr)))
        .buffered(64)
        .try_collect()
        .await?;

    let began = Instant::now();
    let results = join_all(
        conns
            .into_iter()
            .zip(&asks)
            .map(|(mut conn, (token, seats))| {
                let show_id = &show_id;
                async move {
                    let t = Instant::now();
                    let r = conn
                        .send(
                            "POST",
                            "/bookings",
                            Some(token),
                            Some(&json!({"showId": show_id, "seatIds": seats})),
                        )
                        .await;
                    (t.elapsed().as_secs_f64() * 1000.0, r)
                }
            }),
    )
    .await;
    let wall = began.elapsed().as_secs_f64();

    let Tally {
        latencies,
        won,
        conflicted,
        five_xx,
        other,
    } = tally(&results);

    // The oversell check: no seat in two winning answers, none in two bookings in PostgreSQL, and
    // every winner's seats in PostgreSQL under its booking.
    let winners: Vec<(&str, Vec<&str>)> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().filter(|(s, _)| *s == 201))
        .filter_map(|(_, b)| {
            let seats = b["seats"].as_array()?.iter().filter_map(Value::as_str);
            Some((b["bookingId"].as_str()?, seats.collect()))
        })
        .collect();
    let mut claimed: HashMap<&str, usize> = HashMap::new();
    for seat in winners.iter().flat_map(|(_, seats)| seats) {
        *claimed.entry(seat).or_default() += 1;
    }
    let twice_in_answers = claimed.values().filter(|n| **n > 1).count();

    let (status, map) = setup
        .send("GET", &format!("/shows/{show_id}/seats"), None, None)
        .await?;
    let rows = map["seats"]
        .as_array()
        .filter(|_| status == 200)
        .ok_or_else(|| format!("GET seat map: {status}"))?;
    let mut in_db: HashMap<&str, Vec<&str>> = HashMap::new();
    for row in rows {
        if let (Some(seat), Some(booking)) = (row["seatId"].as_str(), row["bookingId"].as_str()) {
            in_db.entry(seat).or_default().push(booking);
        }
    }
    let twice_in_db = in_db.values().filter(|b| b.len() > 1).count();
    let winner_ids: HashSet<&str> = winners.iter().map(|(id, _)| *id).collect();
    let held_by_winners = in_db
        .values()
        .flatten()
        .filter(|b| winner_ids.contains(*b))
        .count();
    let won_seats: usize = winners.iter().map(|(_, s)| s.len()).sum();

    Ok(Side {
        clients,
        wall,
        won,
        conflicted,
        five_xx,
        other,
        latencies,
        oversold: twice_in_answers.max(twice_in_db),
        missing: won_seats as i64 - held_by_winners as i64,
    })
}
