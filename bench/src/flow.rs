//! The booking flow: `FLOW_USERS` (default 200) concurrent users for `FLOW_SECONDS` (default 60),
//! each repeatedly browsing a movie's shows, opening a seat map, holding 1–4 available seats,
//! initiating a sandbox payment, delivering the provider's signed webhook, and polling its
//! booking until confirm-payment (driven by the local SQS trigger, as the event source mapping
//! would) has confirmed it. Closed loop: no think time.

use crate::{
    catalog::{ist_date, layout, Catalog, CITY},
    util::{env_or, ms_since, p50_95_99, sorted, BoxError, Req, Rng},
};
use boxoffice::{
    auth::issue_token,
    domain::user::Role,
    payments::{sandbox_webhook, SandboxEvent},
};
use boxoffice_local::gateway::Gateway;
use futures::future::join_all;
use serde_json::{json, Value};
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

pub struct FlowCatalog {
    pub shows: Vec<String>,
    pub seats_per_show: usize,
    pub browse_path: String,
}

/// `shows` shows of one movie on one day, four per 500-seat screen (one screen per theatre: a
/// theatre body with more would pass the API's 64 KiB limit).
pub async fn setup(gw: &Gateway, catalog: &Catalog, shows: usize) -> Result<FlowCatalog, BoxError> {
    let movie = catalog.movie(gw, "Flow").await?;
    let date = ist_date(2);
    let mut ids = Vec::new();
    for t in 0..shows.div_ceil(4) {
        let screen = catalog
            .theatre(gw, &format!("Flow {t}"), layout(20, 25, 2))
            .await?;
        for hour in [10, 13, 16, 19].into_iter().take(shows - ids.len()) {
            let start = format!("{date}T{hour:02}:00:00+05:30");
            ids.push(catalog.show(gw, &movie, &screen, &start).await?);
        }
    }
    Ok(FlowCatalog {
        shows: ids,
        seats_per_show: 500,
        browse_path: format!("/api/v1/cities/{CITY}/movies/{movie}/shows?date={date}&limit=100"),
    })
}

pub const STEPS: [&str; 7] = [
    "browse shows",
    "seat map",
    "hold seats (POST /bookings)",
    "initiate payment",
    "payment webhook",
    "webhook → CONFIRMED seen",
    "get booking (each poll)",
];
const BROWSE: usize = 0;
const SEAT_MAP: usize = 1;
const HOLD: usize = 2;
const INITIATE: usize = 3;
const WEBHOOK: usize = 4;
const CONFIRM: usize = 5;
const POLL: usize = 6;

#[derive(Default, Clone)]
pub struct Step {
    /// Milliseconds of the answers with an expected status.
    pub latencies: Vec<f64>,
    pub requests: usize,
    /// Unexpected statuses (5xx included) and, for the confirm step, deadlines passed.
    pub errors: usize,
    pub five_xx: usize,
}

#[derive(Default)]
struct UserStats {
    steps: [Step; 7],
    completed: usize,
    conflicts: usize,
    timeouts: usize,
    end_to_end: Vec<f64>,
    sold_out: bool,
    first_error: Option<String>,
    /// (show, booking, seats) of every booking seen CONFIRMED.
    confirmed: Vec<(String, String, Vec<String>)>,
    /// (show, booking, seats) of every hold won, whatever the client saw afterwards.
    held: Vec<(String, String, Vec<String>)>,
}

impl UserStats {
    /// Records one answer; whether its status is one of `ok`.
    fn answer(&mut self, step: usize, t: Instant, status: u16, ok: &[u16], what: &Value) -> bool {
        let s = &mut self.steps[step];
        s.requests += 1;
        if ok.contains(&status) {
            s.latencies.push(ms_since(t));
            return true;
        }
        s.errors += 1;
        if status >= 500 {
            s.five_xx += 1;
        }
        if self.first_error.is_none() {
            self.first_error = Some(format!("{}: {status} {what}", STEPS[step]));
        }
        false
    }
}

pub struct Flow {
    pub users: usize,
    /// The users arrived evenly over this many seconds (`FLOW_RAMP_SECONDS`).
    pub ramp_seconds: u64,
    pub seconds: u64,
    pub shows: usize,
    pub seats: usize,
    pub wall: f64,
    pub steps: Vec<Step>,
    pub completed: usize,
    pub conflicts: usize,
    pub timeouts: usize,
    pub sold_out_users: usize,
    pub end_to_end: Vec<f64>,
    pub first_error: Option<String>,
    pub confirm_deadline: u64,
    /// Seats of confirmed bookings, checked against the stored seat items.
    pub confirmed_seats: usize,
    /// Seats in two confirmed bookings (an oversell).
    pub double_sold: usize,
    /// Seats of CONFIRMED bookings (every booking the flow held, read back once the queues
    /// stopped, the client's view aside) whose item is not SOLD to that booking.
    pub mismatched: usize,
    /// Bookings the table shows CONFIRMED that their client never saw confirmed (its deadline).
    pub confirmed_unseen: usize,
    /// SOLD seat items whose booking is not CONFIRMED.
    pub sold_unconfirmed: usize,
    /// Every hold won: (show, booking, seats), for `check`.
    pub held: Vec<(String, String, Vec<String>)>,
}

impl Flow {
    pub fn requests(&self) -> usize {
        self.steps
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != CONFIRM)
            .map(|(_, s)| s.requests)
            .sum()
    }

    pub fn errors(&self) -> usize {
        self.steps.iter().map(|s| s.errors).sum()
    }

    pub fn five_xx(&self) -> usize {
        self.steps.iter().map(|s| s.five_xx).sum()
    }

    pub fn per_s(&self) -> f64 {
        self.completed as f64 / self.wall
    }

    pub fn hold_p95(&self) -> f64 {
        crate::util::percentile(&self.steps[HOLD].latencies, 0.95)
    }

    pub fn holds_per_s(&self) -> f64 {
        self.steps[HOLD].latencies.len() as f64 / self.wall
    }

    pub fn table(&self) -> String {
        let mut s = format!(
            "| Booking flow ({} users arriving over {} s, {} s, {} shows × {} seats) | Value |\n|---|---|\n",
            self.users, self.ramp_seconds, self.seconds, self.shows, self.seats
        );
        s.push_str(&format!(
            "| completed bookings (CONFIRMED seen) | {} in {:.1} s = **{:.1}/s** |\n",
            self.completed,
            self.wall,
            self.per_s()
        ));
        s.push_str(&format!(
            "| end to end per booking (browse → CONFIRMED seen) p50 / p95 / p99 | {} ms |\n",
            p50_95_99(&self.end_to_end)
        ));
        s.push_str(&format!(
            "| requests / errors (unexpected status or deadline) / 5xx | {} / {} ({:.2} %) / {} |\n",
            self.requests(),
            self.errors(),
            self.errors() as f64 * 100.0 / self.requests().max(1) as f64,
            self.five_xx()
        ));
        s.push_str(&format!(
            "| holds lost to another user (409, seat map re-read) | {} |\n",
            self.conflicts
        ));
        s.push_str(&format!(
            "| oversell check, client's view: confirmed seats / in two bookings | {} / {} |\n",
            self.confirmed_seats, self.double_sold
        ));
        s.push_str(&format!(
            "| oversell check, the table once the queues stopped (all {} holds won): CONFIRMED bookings' seats not SOLD to them / SOLD items of a booking not CONFIRMED / confirmed but never seen so by the client | {} / {} / {} |\n",
            self.held.len(), self.mismatched, self.sold_unconfirmed, self.confirmed_unseen
        ));
        s.push_str(&format!(
            "| confirmations past the {} s deadline | {} |\n",
            self.confirm_deadline, self.timeouts
        ));
        if self.sold_out_users > 0 {
            s.push_str(&format!(
                "| users who found every show sold out | {} |\n",
                self.sold_out_users
            ));
        }
        if let Some(e) = &self.first_error {
            let e: String = e.chars().take(200).collect();
            s.push_str(&format!("| first error | `{}` |\n", e.replace('|', "/")));
        }
        s.push_str("\n| Step | answers | p50 / p95 / p99 ms | errors |\n|---|---|---|---|\n");
        for (name, step) in STEPS.iter().zip(&self.steps) {
            s.push_str(&format!(
                "| {name} | {} | {} | {} |\n",
                step.latencies.len(),
                p50_95_99(&step.latencies),
                step.errors
            ));
        }
        s
    }
}

pub async fn run(gw: &Gateway, cat: &FlowCatalog) -> Result<Flow, BoxError> {
    let users: usize = env_or("FLOW_USERS", 200);
    let seconds: u64 = env_or("FLOW_SECONDS", 60);
    let confirm_deadline: u64 = env_or("FLOW_CONFIRM_DEADLINE_SECONDS", 30);
    let deps = gw.deps();
    let now = deps.clock.now_epoch();
    let mut tokens = Vec::with_capacity(users);
    for i in 0..users {
        tokens.push(issue_token(
            &deps.config.jwt,
            &format!("usr_flow{i:05}"),
            "f@bench",
            Role::Customer,
            now,
        )?);
    }
    // Users arrive evenly over the ramp, as a load test's do, rather than all in one instant:
    // 200 webhooks within a second would measure how fast the SQS pollers scale up from five
    // (Lambda's start) more than the confirmation path. Every answer after the start counts.
    let ramp_seconds: u64 = env_or("FLOW_RAMP_SECONDS", 5);
    let ramp_ms = ramp_seconds * 1000;
    let began = Instant::now();
    let deadline = began + Duration::from_secs(seconds);
    let per_user = join_all(tokens.iter().enumerate().map(|(i, token)| async move {
        tokio::time::sleep(Duration::from_millis(
            ramp_ms * i as u64 / users.max(1) as u64,
        ))
        .await;
        user(
            gw,
            cat,
            token,
            Rng(0xA076_1D64_78BD_642F ^ ((i as u64 + 1) * 0x9E37_79B9)),
            deadline,
            Duration::from_secs(confirm_deadline),
        )
        .await
    }))
    .await;
    let wall = began.elapsed().as_secs_f64();
    let mut steps: Vec<Step> = vec![Step::default(); STEPS.len()];
    let mut flow = Flow {
        users,
        ramp_seconds,
        seconds,
        shows: cat.shows.len(),
        seats: cat.seats_per_show,
        wall,
        steps: Vec::new(),
        completed: 0,
        conflicts: 0,
        timeouts: 0,
        sold_out_users: 0,
        end_to_end: Vec::new(),
        first_error: None,
        confirm_deadline,
        confirmed_seats: 0,
        double_sold: 0,
        mismatched: 0,
        confirmed_unseen: 0,
        sold_unconfirmed: 0,
        held: Vec::new(),
    };
    let mut confirmed = Vec::new();
    for u in per_user {
        for (all, mine) in steps.iter_mut().zip(u.steps) {
            all.latencies.extend(mine.latencies);
            all.requests += mine.requests;
            all.errors += mine.errors;
            all.five_xx += mine.five_xx;
        }
        flow.completed += u.completed;
        flow.conflicts += u.conflicts;
        flow.timeouts += u.timeouts;
        flow.sold_out_users += usize::from(u.sold_out);
        flow.end_to_end.extend(u.end_to_end);
        if flow.first_error.is_none() {
            flow.first_error = u.first_error;
        }
        confirmed.extend(u.confirmed);
        flow.held.extend(u.held);
    }
    // The oversell check: every confirmed seat is SOLD to its booking, and to no other.
    let mut owners: HashMap<(String, String), String> = HashMap::new();
    for (show, booking, seats) in &confirmed {
        for seat in seats {
            flow.confirmed_seats += 1;
            if owners
                .insert((show.clone(), seat.clone()), booking.clone())
                .is_some()
            {
                flow.double_sold += 1;
            }
        }
    }
    for s in &mut steps {
        s.latencies = sorted(std::mem::take(&mut s.latencies));
    }
    flow.end_to_end = sorted(std::mem::take(&mut flow.end_to_end));
    flow.steps = steps;
    Ok(flow)
}

fn pick<T: Clone>(rng: &mut Rng, from: &[T], n: usize) -> Vec<T> {
    let mut idx: Vec<usize> = (0..from.len()).collect();
    let mut out = Vec::new();
    while out.len() < n && !idx.is_empty() {
        let i = rng.next(idx.len() as u64) as usize;
        out.push(from[idx.swap_remove(i)].clone());
    }
    out
}

/// Bookable shows on the browse page.
fn bookable(page: &Value) -> Vec<String> {
    page["theatres"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["shows"].as_array().cloned().unwrap_or_default())
        .filter(|s| s["availability"]["status"] != "SOLD_OUT")
        .filter_map(|s| s["showId"].as_str().map(str::to_owned))
        .collect()
}

fn available_seats(map: &Value) -> Vec<String> {
    map["seatMap"]["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["seats"].as_array().cloned().unwrap_or_default())
        .filter(|s| s["status"] == "AVAILABLE")
        .filter_map(|s| s["seatId"].as_str().map(str::to_owned))
        .collect()
}

async fn user(
    gw: &Gateway,
    cat: &FlowCatalog,
    token: &str,
    mut rng: Rng,
    deadline: Instant,
    confirm_deadline: Duration,
) -> UserStats {
    let mut st = UserStats::default();
    while Instant::now() < deadline {
        match one_booking(gw, cat, token, &mut rng, &mut st, confirm_deadline).await {
            Ok(true) => {}
            Ok(false) => {
                st.sold_out = true;
                break;
            }
            Err(e) => {
                // A request that could not even be built or sent: count it against the flow.
                st.steps[BROWSE].errors += 1;
                if st.first_error.is_none() {
                    st.first_error = Some(e.to_string());
                }
            }
        }
    }
    st
}

/// One pass through the flow; `Ok(false)` when every show is sold out.
async fn one_booking(
    gw: &Gateway,
    cat: &FlowCatalog,
    token: &str,
    rng: &mut Rng,
    st: &mut UserStats,
    confirm_deadline: Duration,
) -> Result<bool, BoxError> {
    let began = Instant::now();
    let t = Instant::now();
    let (status, page) = Req::new("GET", &cat.browse_path).send(gw).await?;
    if !st.answer(BROWSE, t, status, &[200], &page) {
        return Ok(true);
    }
    let shows = bookable(&page);
    if shows.is_empty() {
        return Ok(false);
    }
    let show = pick(rng, &shows, 1).remove(0);
    // Hold: a lost race (409) sends the user back to a fresh seat map, at most three times.
    let mut held = None;
    for _ in 0..3 {
        let t = Instant::now();
        let (status, map) = Req::new("GET", &format!("/api/v1/shows/{show}/seats"))
            .send(gw)
            .await?;
        if !st.answer(SEAT_MAP, t, status, &[200], &map) {
            return Ok(true);
        }
        let free = available_seats(&map);
        if free.is_empty() {
            return Ok(true);
        }
        let n = 1 + rng.next(4) as usize;
        let seats = pick(rng, &free, n);
        let t = Instant::now();
        let (status, booking) = Req::new("POST", "/api/v1/bookings")
            .token(token)
            .header("idempotency-key", boxoffice::ids::new_id("idem"))
            .json(&json!({"showId": show, "seatIds": seats}))
            .send(gw)
            .await?;
        if !st.answer(HOLD, t, status, &[201, 409], &booking) {
            return Ok(true);
        }
        if status == 201 {
            if let Some(id) = booking["bookingId"].as_str() {
                st.held.push((show.clone(), id.to_owned(), seats.clone()));
            }
            held = Some((booking, seats));
            break;
        }
        st.conflicts += 1;
    }
    let Some((booking, seats)) = held else {
        return Ok(true);
    };
    let booking_id = booking["bookingId"].as_str().ok_or("no bookingId")?;

    let t = Instant::now();
    let (status, payment) = Req::new("POST", &format!("/api/v1/bookings/{booking_id}/payments"))
        .token(token)
        .header("idempotency-key", boxoffice::ids::new_id("idem"))
        .json(&json!({"provider": "sandbox", "returnUrl": "https://bench.example/return"}))
        .send(gw)
        .await?;
    if !st.answer(INITIATE, t, status, &[201], &payment) {
        return Ok(true);
    }

    // The provider's webhook, signed as the sandbox provider signs it.
    let deps = gw.deps();
    let now = deps.clock.now_epoch();
    let event = SandboxEvent {
        event_id: boxoffice::ids::new_id("evt"),
        kind: "payment.succeeded".into(),
        payment_intent_id: payment["providerPayload"]["paymentIntentId"]
            .as_str()
            .ok_or("no paymentIntentId")?
            .to_owned(),
        amount: payment["amount"].as_i64().ok_or("no amount")?,
        currency: payment["currency"].as_str().unwrap_or("INR").to_owned(),
        booking_reference: booking_id.to_owned(),
        timestamp: now,
    };
    let (signature, body) = sandbox_webhook(&deps.config, &event, now)?;
    let t = Instant::now();
    let (status, answer) = Req::new("POST", "/api/v1/payments/webhooks/sandbox")
        .header("x-signature", signature)
        .raw(body)
        .send(gw)
        .await?;
    if !st.answer(WEBHOOK, t, status, &[200], &answer) {
        return Ok(true);
    }

    // The client polls its booking (50, 100, 200, then every 400 ms) until confirm-payment
    // has run.
    let confirm_began = Instant::now();
    let path = format!("/api/v1/bookings/{booking_id}");
    let mut wait = 50;
    loop {
        tokio::time::sleep(Duration::from_millis(wait)).await;
        wait = (wait * 2).min(400);
        let t = Instant::now();
        let (status, got) = Req::new("GET", &path).token(token).send(gw).await?;
        if !st.answer(POLL, t, status, &[200], &got) {
            return Ok(true);
        }
        match got["status"].as_str() {
            Some("CONFIRMED") => {
                st.answer(CONFIRM, confirm_began, 200, &[200], &Value::Null);
                st.end_to_end.push(ms_since(began));
                st.completed += 1;
                st.confirmed
                    .push((show.clone(), booking_id.to_owned(), seats.clone()));
                return Ok(true);
            }
            Some("PAYMENT_PENDING") if confirm_began.elapsed() < confirm_deadline => {}
            _ => {
                st.steps[CONFIRM].requests += 1;
                st.steps[CONFIRM].errors += 1;
                if got["status"] == "PAYMENT_PENDING" {
                    st.timeouts += 1;
                }
                if st.first_error.is_none() {
                    st.first_error = Some(format!("booking {booking_id}: {}", got["status"]));
                }
                return Ok(true);
            }
        }
    }
}

/// The table's view, read once nothing runs any more: every booking the flow held, whether its
/// client saw it confirmed or gave up waiting, against every seat item of every flow show. A
/// CONFIRMED booking's seats are SOLD to it; a SOLD item's booking is CONFIRMED.
pub async fn check(
    deps: &boxoffice::Deps,
    cat: &FlowCatalog,
    flow: &mut Flow,
) -> Result<(), BoxError> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    let statuses: HashMap<String, String> =
        stream::iter(flow.held.iter().map(|(_, b, _)| b.clone()))
            .map(|b| async move {
                let booking = deps
                    .store
                    .get_booking(&b)
                    .await?
                    .ok_or("a held booking vanished")?;
                Ok::<_, BoxError>((b, booking.status.as_str().to_owned()))
            })
            .buffer_unordered(32)
            .try_collect()
            .await?;
    let mut sold: HashMap<(String, String), String> = HashMap::new();
    for show in &cat.shows {
        let items = deps
            .store
            .get_show_collection(show)
            .await?
            .ok_or("show vanished")?
            .seats;
        for i in items.iter().filter(|i| i.is_sold()) {
            sold.insert((show.clone(), i.seat_id.clone()), i.booking_id.clone());
        }
    }
    let confirmed_total = statuses.values().filter(|s| *s == "CONFIRMED").count();
    // SOLD items of bookings made outside the flow (the round-trip and CPU probes book on the
    // first flow show) are judged by their booking's state too.
    let mut statuses = statuses;
    let others: std::collections::BTreeSet<String> = sold
        .values()
        .filter(|b| !statuses.contains_key(*b))
        .cloned()
        .collect();
    for b in others {
        let state = match deps.store.get_booking(&b).await? {
            Some(booking) => booking.status.as_str().to_owned(),
            None => "MISSING".to_owned(),
        };
        statuses.insert(b, state);
    }
    flow.sold_unconfirmed = sold
        .values()
        .filter(|b| statuses.get(*b).map(String::as_str) != Some("CONFIRMED"))
        .count();
    flow.mismatched = 0;
    for (show, booking, seats) in &flow.held {
        if statuses.get(booking).map(String::as_str) != Some("CONFIRMED") {
            continue;
        }
        flow.mismatched += seats
            .iter()
            .filter(|seat| sold.get(&(show.clone(), (*seat).clone())) != Some(booking))
            .count();
    }
    flow.confirmed_unseen = confirmed_total.saturating_sub(flow.completed);
    Ok(())
}

/// With `BOXOFFICE_STACK_STATS=1`: every second, how many messages wait (visible / in flight) on
/// the payments queue and on each rule target's queue, on stderr (`[depth]`), until aborted.
pub fn sample_queue_depths(stack: &boxoffice_local::LocalStack) -> tokio::task::JoinHandle<()> {
    let mut queues: Vec<(String, String)> = stack
        .provisioned
        .queue_urls
        .iter()
        .filter(|(k, _)| k.as_str() == "PaymentsQueue")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    queues.extend(
        stack
            .provisioned
            .rule_queues
            .iter()
            .map(|(k, v)| (format!("rule {k}"), v.clone())),
    );
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let on = boxoffice_local::stats::enabled();
    tokio::spawn(async move {
        if !on {
            return;
        }
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let began = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let mut line = format!("[depth] t={:>3.0}s", began.elapsed().as_secs_f64());
            for (name, url) in &queues {
                let Ok(out) = sqs
                    .get_queue_attributes()
                    .queue_url(url)
                    .attribute_names(A::ApproximateNumberOfMessages)
                    .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
                    .send()
                    .await
                else {
                    continue;
                };
                let a = out.attributes.unwrap_or_default();
                let get = |k: A| a.get(&k).cloned().unwrap_or_default();
                line.push_str(&format!(
                    " {name}={}/{}",
                    get(A::ApproximateNumberOfMessages),
                    get(A::ApproximateNumberOfMessagesNotVisible)
                ));
            }
            eprintln!("{line}");
        }
    })
}
