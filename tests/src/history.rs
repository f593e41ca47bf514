//! Random concurrent histories under faults, and the checker of the booking invariants.
//!
//! `run` drives many concurrent clients doing random operations on a few shows through the real
//! handlers (the gateway), the webhook endpoint and the template's triggers (SQS to
//! confirm-payment, EventBridge rules), and the sweep, with DynamoDB faults (`faults::Chaos`:
//! throttling, transaction conflicts, answers lost after the write committed, invocations killed
//! after their first call) and delivery faults (`triggers::TriggerFaults`: SQS redelivery and
//! reordering, EventBridge deliveries lost or doubled). The workload plays the payment provider
//! too: it captures each payment once (sometimes of the wrong amount) or declines it, and
//! reports it by signed webhooks, duplicated, late, reordered, after expiry, and retried until
//! acknowledged. Every request and answer is recorded with the stack's clock around it. After
//! quiescence (the provider's retries delivered, the clock past every window, the queue drained,
//! the sweep run) `check` judges the final state and the history against the seven invariants.
//!
//! The seed fixes each client's operations and the sequence of fault draws; the interleaving is
//! the scheduler's, so a replay (`HISTORY_SEED`) runs the same operations and faults, not
//! necessarily in the same order.

use crate::{
    faults::{Chaos, ChaosRates, Invocation, INVOCATION},
    fixtures::ist,
    TestStack,
};
use boxoffice::{
    domain::{
        booking::{Booking, BookingStatus, RefundInfo},
        user::Role,
    },
    payments::{sandbox_webhook, SandboxEvent},
    Deps,
};
use boxoffice_local::{gateway::Gateway, triggers::TriggerFaults};
use lambda_http::Body;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{atomic::Ordering, Arc, Mutex},
    time::{Duration, Instant},
};

/// What one run does.
#[derive(Debug, Clone)]
pub struct Plan {
    pub seed: u64,
    pub operations: usize,
    pub clients: usize,
    pub shows: usize,
    pub seats_per_show: usize,
    /// Per-mille rates of each DynamoDB fault (throttle, conflict, lost answer) and of killing an
    /// invocation after its first call; SQS redelivery; EventBridge loss and doubling.
    pub throttle: u64,
    pub conflict: u64,
    pub lost_answer: u64,
    pub kill: u64,
    pub redeliver: u64,
    pub rule_lose: u64,
    pub rule_double: u64,
}

impl Plan {
    /// The short run of the normal suite.
    pub fn short(seed: u64) -> Plan {
        Plan {
            seed,
            operations: 2_000,
            clients: 12,
            shows: 2,
            seats_per_show: 6,
            throttle: 10,
            conflict: 10,
            lost_answer: 10,
            kill: 20,
            redeliver: 50,
            rule_lose: 20,
            rule_double: 20,
        }
    }
}

/// The seed of a run: `HISTORY_SEED` when set (a replay), else `default`.
pub fn seed_from_env(default: u64) -> u64 {
    std::env::var("HISTORY_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

/// One recorded request and its answer, with the stack's clock read before and after.
#[derive(Debug, Clone)]
pub struct Entry {
    pub client: usize,
    pub op: &'static str,
    pub show: String,
    pub booking: String,
    pub seats: Vec<String>,
    pub clock_before: i64,
    pub clock_after: i64,
    /// Wall-clock milliseconds since the run started.
    pub started_ms: u128,
    pub ended_ms: u128,
    /// 0: the invocation was killed (no answer).
    pub status: u16,
    pub answer: Value,
}

impl std::fmt::Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let answer = self.answer.to_string();
        let answer: String = answer.chars().take(220).collect();
        write!(
            f,
            "[{}..{} ms, clock {}..{}] client {} {} show={} booking={} seats={:?} -> {} {}",
            self.started_ms,
            self.ended_ms,
            self.clock_before,
            self.clock_after,
            self.client,
            self.op,
            self.show,
            self.booking,
            self.seats,
            self.status,
            answer
        )
    }
}

/// A captured (or declined) payment at the provider.
#[derive(Debug, Clone)]
struct Payment {
    booking: String,
    show: String,
    intent: String,
    /// The amount captured; `None` when declined.
    captured: Option<i64>,
    /// The webhook events reporting it, and whether the provider has had a 200 for each.
    events: Vec<(SandboxEvent, bool)>,
}

/// What a run saw.
#[derive(Debug, Default)]
pub struct Report {
    pub seed: u64,
    pub operations: usize,
    pub history: Vec<Entry>,
    pub faults: BTreeMap<&'static str, usize>,
    pub violations: Vec<Violation>,
    pub bookings: usize,
    pub confirmed: usize,
    pub captured: usize,
    pub refunded: usize,
    pub elapsed: Duration,
}

#[derive(Debug, Clone)]
pub struct Violation {
    pub invariant: &'static str,
    pub what: String,
    /// The history entries about the bookings and seats involved, in order.
    pub excerpt: Vec<String>,
}

impl Report {
    /// The summary line, and for each violation its invariant, the seed to replay and the
    /// history excerpt.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "history seed={} operations={} recorded={} bookings={} confirmed={} captured={} refunded={} faults={:?} violations={} time={:.1}s",
            self.seed,
            self.operations,
            self.history.len(),
            self.bookings,
            self.confirmed,
            self.captured,
            self.refunded,
            self.faults,
            self.violations.len(),
            self.elapsed.as_secs_f64()
        );
        for v in self.violations.iter().take(5) {
            out.push_str(&format!(
                "\nVIOLATION of invariant {} (replay: HISTORY_SEED={}): {}\n  history excerpt:",
                v.invariant, self.seed, v.what
            ));
            for e in v.excerpt.iter().rev().take(12).rev() {
                out.push_str(&format!("\n    {e}"));
            }
        }
        out
    }
}

struct Shared {
    gateway: Gateway,
    deps: Deps,
    started: Instant,
    history: Mutex<Vec<Entry>>,
    payments: Mutex<Vec<Payment>>,
    kill_per_mille: u64,
    shows: Vec<String>,
    seats_per_show: usize,
    partner: String,
    show_cancelled: Mutex<bool>,
}

/// A booking as its customer knows it: (booking, show, seats, total, the intent opened and not
/// yet settled by the provider).
type ClientBooking = (String, String, Vec<String>, i64, Option<String>);

struct Client {
    id: usize,
    token: String,
    rng: StdRng,
    bookings: Vec<ClientBooking>,
    /// Events this client's provider side will deliver later (late, reordered).
    late: Vec<SandboxEvent>,
    next_key: usize,
}

fn seat_id(i: usize) -> String {
    format!("R{}-{}", i / 20, i % 20)
}

impl Shared {
    /// One request through the gateway, recorded; `kill` arms the invocation to die after its
    /// first AWS call (status 0: no answer).
    async fn call(
        &self,
        e: (usize, &'static str, &str, &str, &[String]),
        request: hyper::Request<bytes::Bytes>,
        kill: bool,
    ) -> (u16, Value) {
        let (client, op, show, booking, seats) = e;
        let clock_before = self.deps.clock.now_epoch();
        let started_ms = self.started.elapsed().as_millis();
        let invocation = Arc::new(Invocation {
            armed: kill,
            ..Default::default()
        });
        let fired = invocation.clone();
        let (status, answer) = INVOCATION
            .scope(invocation, async {
                tokio::select! {
                    r = self.gateway.call(request) => {
                        let status = r.status().as_u16();
                        let text = match r.into_body() {
                            Body::Text(t) => t,
                            Body::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
                            _ => String::new(),
                        };
                        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
                    }
                    _ = fired.fired.notified() => (0, Value::Null),
                }
            })
            .await;
        self.history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Entry {
                client,
                op,
                show: show.to_owned(),
                booking: booking.to_owned(),
                seats: seats.to_vec(),
                clock_before,
                clock_after: self.deps.clock.now_epoch(),
                started_ms,
                ended_ms: self.started.elapsed().as_millis(),
                status,
                answer: answer.clone(),
            });
        (status, answer)
    }

    fn record(&self, client: usize, op: &'static str, show: &str, booking: &str, answer: Value) {
        let now = self.deps.clock.now_epoch();
        let ms = self.started.elapsed().as_millis();
        self.history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Entry {
                client,
                op,
                show: show.into(),
                booking: booking.into(),
                seats: vec![],
                clock_before: now,
                clock_after: now,
                started_ms: ms,
                ended_ms: ms,
                status: 200,
                answer,
            });
    }

    fn request(
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> hyper::Request<bytes::Bytes> {
        let mut b = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json");
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        b.body(bytes::Bytes::from(body.to_string()))
            .unwrap_or_else(|e| panic!("bad workload request: {e}"))
    }

    /// A client's request, retried (same body, same idempotency key) on a 5xx or no answer, as
    /// a client would: up to 4 attempts.
    #[allow(clippy::too_many_arguments)]
    async fn retried(
        &self,
        c: &mut Client,
        op: &'static str,
        method: &str,
        path: &str,
        body: Value,
        show: &str,
        booking: &str,
        seats: &[String],
        idempotent: bool,
    ) -> (u16, Value) {
        c.next_key += 1;
        let key = format!("k-{}-{}-{}", c.id, c.next_key, c.rng.gen::<u32>());
        let mut last = (0, Value::Null);
        for _ in 0..4 {
            let mut req = Self::request(method, path, Some(&c.token), &body);
            if idempotent {
                req.headers_mut().insert(
                    "idempotency-key",
                    key.parse().unwrap_or_else(|e| panic!("key header: {e}")),
                );
            }
            let kill = c.rng.gen_range(0..1000) < self.kill_per_mille;
            last = self.call((c.id, op, show, booking, seats), req, kill).await;
            if last.0 != 0 && last.0 < 500 {
                break;
            }
        }
        last
    }

    /// Delivers a provider event through the signed webhook endpoint; true on the provider's 200.
    async fn deliver(&self, client: usize, show: &str, event: &SandboxEvent, kill: bool) -> bool {
        let now = self.deps.clock.now_epoch();
        let Ok((sig, body)) = sandbox_webhook(&self.deps.config, event, now) else {
            return false;
        };
        let req = hyper::Request::builder()
            .method("POST")
            .uri("/api/v1/payments/webhooks/sandbox")
            .header("content-type", "application/json")
            .header("x-signature", sig)
            .body(bytes::Bytes::from(body))
            .unwrap_or_else(|e| panic!("webhook request: {e}"));
        let (status, _) = self
            .call(
                (
                    client,
                    event_op(&event.kind, event.amount),
                    show,
                    &event.booking_reference,
                    &[],
                ),
                req,
                kill,
            )
            .await;
        if status == 200 {
            let mut payments = self.payments.lock().unwrap_or_else(|p| p.into_inner());
            for p in payments.iter_mut() {
                for (e, acked) in &mut p.events {
                    if e.event_id == event.event_id {
                        *acked = true;
                    }
                }
            }
        }
        status == 200
    }
}

fn event_op(kind: &str, _amount: i64) -> &'static str {
    match kind {
        "payment.succeeded" => "webhook.succeeded",
        "payment.failed" => "webhook.failed",
        _ => "webhook",
    }
}

async fn client_run(shared: Arc<Shared>, mut c: Client, operations: usize) -> usize {
    let mut done = 0;
    while done < operations {
        done += 1;
        let roll = c.rng.gen_range(0..100);
        match roll {
            0..=29 => {
                let show = shared.shows[c.rng.gen_range(0..shared.shows.len())].clone();
                let n = c.rng.gen_range(1..=2);
                let mut seats: BTreeSet<String> = BTreeSet::new();
                while seats.len() < n {
                    seats.insert(seat_id(c.rng.gen_range(0..shared.seats_per_show)));
                }
                let seats: Vec<String> = seats.into_iter().collect();
                let body = json!({"showId": show, "seatIds": seats});
                let (status, answer) = shared
                    .retried(
                        &mut c,
                        "hold",
                        "POST",
                        "/api/v1/bookings",
                        body,
                        &show,
                        "",
                        &seats,
                        true,
                    )
                    .await;
                if status == 201 {
                    let id = answer["bookingId"].as_str().unwrap_or_default().to_owned();
                    let total = answer["pricing"]["total"].as_i64().unwrap_or_default();
                    if !c.bookings.iter().any(|b| b.0 == id) {
                        c.bookings.push((id, show, seats, total, None));
                        if c.rng.gen_range(0..100) < 60 {
                            let i = c.bookings.len() - 1;
                            pay(&shared, &mut c, i).await;
                        }
                    }
                }
            }
            30..=44 => {
                let Some(i) = pick_recent(&mut c.rng, c.bookings.len()) else {
                    continue;
                };
                pay(&shared, &mut c, i).await;
            }
            45..=64 => {
                settle(&shared, &mut c).await;
            }
            65..=69 => {
                if c.late.is_empty() {
                    continue;
                }
                let k = c.rng.gen_range(0..c.late.len());
                let event = c.late.swap_remove(k);
                let show = c
                    .bookings
                    .iter()
                    .find(|b| b.0 == event.booking_reference)
                    .map(|b| b.1.clone())
                    .unwrap_or_default();
                shared.deliver(c.id, &show, &event, false).await;
            }
            70..=79 => {
                let Some(i) = pick(&mut c.rng, c.bookings.len()) else {
                    continue;
                };
                let (id, show, seats) = (
                    c.bookings[i].0.clone(),
                    c.bookings[i].1.clone(),
                    c.bookings[i].2.clone(),
                );
                let path = format!("/api/v1/bookings/{id}/cancel");
                shared
                    .retried(
                        &mut c,
                        "cancel",
                        "POST",
                        &path,
                        json!({}),
                        &show,
                        &id,
                        &seats,
                        false,
                    )
                    .await;
            }
            80..=84 | 89..=92 => {
                // The customer looks at a booking; with its ticket, they are at the door (and
                // sometimes show the ticket twice).
                let Some(i) = pick(&mut c.rng, c.bookings.len()) else {
                    continue;
                };
                let (id, show) = (c.bookings[i].0.clone(), c.bookings[i].1.clone());
                let path = format!("/api/v1/bookings/{id}");
                let (status, b) = shared
                    .retried(
                        &mut c,
                        "get",
                        "GET",
                        &path,
                        Value::Null,
                        &show,
                        &id,
                        &[],
                        false,
                    )
                    .await;
                let at_the_door = roll <= 84;
                if let (200, Some(qr), true) =
                    (status, b["ticket"]["qrCodeData"].as_str(), at_the_door)
                {
                    for _ in 0..c.rng.gen_range(1..=2) {
                        let req = Shared::request(
                            "POST",
                            "/api/v1/tickets/verify",
                            Some(&shared.partner),
                            &json!({"qrCodeData": qr}),
                        );
                        shared
                            .call((c.id, "admit", &show, &id, &[]), req, false)
                            .await;
                    }
                }
            }
            85..=88 => {
                let by = c.rng.gen_range(5..=30);
                shared.deps.clock.advance(chrono::Duration::seconds(by));
                shared.record(c.id, "clock", "", "", json!({"advancedBy": by}));
            }
            93..=98 => {
                let kill = c.rng.gen_range(0..1000) < shared.kill_per_mille;
                sweep(&shared, c.id, kill).await;
            }
            _ => {
                // Rarely, the partner cancels the last show (once per run).
                let Some(show) = shared.shows.last().cloned() else {
                    continue;
                };
                {
                    let mut cancelled = shared
                        .show_cancelled
                        .lock()
                        .unwrap_or_else(|p| p.into_inner());
                    if *cancelled || c.rng.gen_range(0..4) != 0 {
                        continue;
                    }
                    *cancelled = true;
                }
                for _ in 0..4 {
                    let req = Shared::request(
                        "POST",
                        &format!("/api/v1/shows/{show}/cancel"),
                        Some(&shared.partner),
                        &json!({}),
                    );
                    let (status, _) = shared
                        .call((c.id, "cancel-show", &show, "", &[]), req, false)
                        .await;
                    if status != 0 && status < 500 {
                        break;
                    }
                }
            }
        }
    }
    // The provider's late deliveries happen eventually.
    for event in std::mem::take(&mut c.late) {
        let show = c
            .bookings
            .iter()
            .find(|b| b.0 == event.booking_reference)
            .map(|b| b.1.clone())
            .unwrap_or_default();
        shared.deliver(c.id, &show, &event, false).await;
    }
    done
}

/// The customer opens a payment for booking `i`; the provider may settle it at once.
async fn pay(shared: &Shared, c: &mut Client, i: usize) {
    let (id, show, seats) = (
        c.bookings[i].0.clone(),
        c.bookings[i].1.clone(),
        c.bookings[i].2.clone(),
    );
    let body = json!({"provider": "sandbox", "returnUrl": "https://app.example.com/r"});
    let path = format!("/api/v1/bookings/{id}/payments");
    let (status, answer) = shared
        .retried(c, "pay", "POST", &path, body, &show, &id, &seats, true)
        .await;
    if status == 201 {
        c.bookings[i].4 = answer["providerPayload"]["paymentIntentId"]
            .as_str()
            .map(str::to_owned);
    }
    if c.bookings[i].4.is_some() && c.rng.gen_range(0..100) < 60 {
        settle(shared, c).await;
    }
}

/// The provider settles one open intent.
async fn settle(shared: &Shared, c: &mut Client) {
    // The provider settles an open intent once: captured (sometimes of the wrong
    // amount) or declined, reported by a webhook, duplicated or repeated later.
    let open: Vec<usize> = (0..c.bookings.len())
        .filter(|i| c.bookings[*i].4.is_some())
        .collect();
    let Some(j) = pick(&mut c.rng, open.len()) else {
        return;
    };
    let i = open[j];
    let (id, show, _, total, intent) = c.bookings[i].clone();
    let intent = intent.unwrap_or_default();
    c.bookings[i].4 = None;
    let r = c.rng.gen_range(0..100);
    let (kind, amount) = match r {
        0..=69 => ("payment.succeeded", total),
        70..=79 => ("payment.succeeded", total + 100),
        _ => ("payment.failed", total),
    };
    let event = SandboxEvent {
        event_id: format!("evt_{}_{}", c.id, c.rng.gen::<u64>()),
        kind: kind.into(),
        payment_intent_id: intent.clone(),
        amount,
        currency: "INR".into(),
        booking_reference: id.clone(),
        timestamp: shared.deps.clock.now_epoch(),
    };
    let mut events = vec![(event.clone(), false)];
    if kind == "payment.succeeded" && c.rng.gen_range(0..100) < 15 {
        // The same capture reported again under another event id, later.
        let again = SandboxEvent {
            event_id: format!("evt_{}_{}", c.id, c.rng.gen::<u64>()),
            ..event.clone()
        };
        events.push((again.clone(), false));
        c.late.push(again);
    }
    shared
        .payments
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Payment {
            booking: id.clone(),
            show: show.clone(),
            intent,
            captured: (kind == "payment.succeeded").then_some(amount),
            events,
        });
    if c.rng.gen_range(0..100) < 20 {
        c.late.push(event); // delivered late, after other operations
    } else {
        let kill = c.rng.gen_range(0..1000) < shared.kill_per_mille;
        shared.deliver(c.id, &show, &event, kill).await;
        if c.rng.gen_range(0..100) < 20 {
            shared.deliver(c.id, &show, &event, false).await; // the provider repeats it
        }
    }
}

/// An index, most often one of the last few (a customer pays what they just held).
fn pick_recent(rng: &mut StdRng, n: usize) -> Option<usize> {
    match n {
        0 => None,
        _ if rng.gen_range(0..100) < 70 => Some(n - 1 - rng.gen_range(0..n.min(2))),
        _ => Some(rng.gen_range(0..n)),
    }
}

fn pick(rng: &mut StdRng, n: usize) -> Option<usize> {
    (n > 0).then(|| rng.gen_range(0..n))
}

async fn sweep(shared: &Shared, client: usize, kill: bool) {
    let clock_before = shared.deps.clock.now_epoch();
    let started_ms = shared.started.elapsed().as_millis();
    let invocation = Arc::new(Invocation {
        armed: kill,
        ..Default::default()
    });
    let fired = invocation.clone();
    let answer = INVOCATION
        .scope(invocation, async {
            tokio::select! {
                r = expire_holds_run(&shared.deps) => r,
                _ = fired.fired.notified() => None,
            }
        })
        .await;
    shared
        .history
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Entry {
            client,
            op: "sweep",
            show: String::new(),
            booking: String::new(),
            seats: vec![],
            clock_before,
            clock_after: shared.deps.clock.now_epoch(),
            started_ms,
            ended_ms: shared.started.elapsed().as_millis(),
            status: if answer.is_some() { 200 } else { 0 },
            answer: answer.unwrap_or(Value::Null),
        });
}

/// The sweep as its schedule invokes it (through the registry, as the trigger would).
async fn expire_holds_run(deps: &Deps) -> Option<Value> {
    let functions = boxoffice_local::registry::Functions::new(deps.clone());
    boxoffice_local::registry::invoke_event(
        "expire-holds",
        &functions,
        boxoffice_local::triggers::scheduled_event("expire-holds"),
    )
    .await
    .and_then(Result::ok)
}

/// Runs one history on `s` and checks it.
pub async fn run(s: &TestStack, plan: &Plan) -> Report {
    let started = Instant::now();
    let f = s.catalog(plan.seats_per_show.max(1)).await;
    let mut shows = Vec::new();
    for i in 0..plan.shows {
        shows.push(s.show_at(&f, &ist(3 + i as i64, 18, 0)).await);
    }
    let rates = Arc::new(ChaosRates {
        seed: plan.seed,
        throttle_per_mille: plan.throttle,
        conflict_per_mille: plan.conflict,
        lost_answer_per_mille: plan.lost_answer,
        ..Default::default()
    });
    let inner = s
        .stack
        .sdk
        .http_client()
        .unwrap_or_else(|| panic!("the local stack sets an HTTP client"));
    let chaos = Chaos {
        inner,
        rates: rates.clone(),
    };
    let conf = aws_sdk_dynamodb::config::Builder::from(&s.stack.sdk)
        .http_client(chaos)
        .build();
    let mut deps = s.deps().clone();
    deps.store = boxoffice::store::Store::new(
        aws_sdk_dynamodb::Client::from_conf(conf),
        deps.store.table(),
    );
    deps.caches = Default::default();
    let trigger_faults = Arc::new(TriggerFaults {
        seed: plan.seed.rotate_left(17),
        sqs_redeliver_per_mille: plan.redeliver,
        sqs_reorder: true,
        rule_lose_per_mille: plan.rule_lose,
        rule_double_per_mille: plan.rule_double,
        ..Default::default()
    });
    let triggers = boxoffice_local::triggers::start(
        &s.stack.template,
        &s.stack.provisioned,
        &deps,
        s.sqs(),
        boxoffice_local::triggers::TriggerOptions {
            failed_visibility_seconds: 1,
            schedule_interval: None,
            schedules: false,
            except: Vec::new(),
            faults: Some(trigger_faults.clone()),
        },
    );
    let shared = Arc::new(Shared {
        gateway: Gateway::new(&s.stack.template, deps.clone()),
        deps: deps.clone(),
        started,
        history: Mutex::default(),
        payments: Mutex::default(),
        kill_per_mille: plan.kill,
        shows: shows.clone(),
        seats_per_show: plan.seats_per_show.max(1),
        partner: f.partner.clone(),
        show_cancelled: Mutex::new(false),
    });
    let mut clients = Vec::new();
    let mut users = Vec::new();
    for id in 0..plan.clients {
        let (user_id, token) = s.user(Role::Customer).await;
        users.push(user_id);
        clients.push(Client {
            id,
            token,
            rng: StdRng::seed_from_u64(plan.seed.wrapping_mul(0x9E37_79B9).wrapping_add(id as u64)),
            bookings: Vec::new(),
            late: Vec::new(),
            next_key: 0,
        });
    }
    let per_client = plan.operations.div_ceil(plan.clients.max(1));
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|c| tokio::spawn(client_run(shared.clone(), c, per_client)))
        .collect();
    let mut operations = 0;
    for t in tasks {
        operations += t.await.unwrap_or_else(|e| panic!("a client panicked: {e}"));
    }

    // Quiescence: the provider retries every unacknowledged event until it is acknowledged, the
    // clock passes every window, the queue drains, the sweep runs.
    for _ in 0..20 {
        let unacked: Vec<(String, SandboxEvent)> = shared
            .payments
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .flat_map(|p| {
                p.events
                    .iter()
                    .filter(|(_, acked)| !acked)
                    .map(|(e, _)| (p.show.clone(), e.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        if unacked.is_empty() {
            break;
        }
        for (show, e) in unacked {
            shared.deliver(usize::MAX, &show, &e, false).await;
        }
    }
    s.deps().clock.advance(chrono::Duration::seconds(3_600));
    for queue in ["PaymentsQueue", "CancelShowQueue"] {
        crate::eventually(&format!("{queue} to drain"), 120, || async {
            (s.queue_depth(queue).await == 0).then_some(())
        })
        .await;
    }
    triggers.stop().await;
    // The last sweeps run without faults, until one finds nothing due.
    for _ in 0..20 {
        let clock_before = s.deps().clock.now_epoch();
        let r = expire_holds_run(s.deps()).await.unwrap_or(Value::Null);
        shared
            .history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Entry {
                client: usize::MAX,
                op: "sweep",
                show: String::new(),
                booking: String::new(),
                seats: vec![],
                clock_before,
                clock_after: clock_before,
                started_ms: started.elapsed().as_millis(),
                ended_ms: started.elapsed().as_millis(),
                status: 200,
                answer: r.clone(),
            });
        if r["expired"].as_u64() == Some(0) {
            break;
        }
    }

    // The final state: every booking of every client (also those whose answers were lost).
    let mut bookings = BTreeMap::new();
    for user in &users {
        let mut cursor: Option<String> = None;
        loop {
            let page = s
                .deps()
                .store
                .list_user_bookings(user, 100, cursor.as_deref())
                .await
                .unwrap_or_else(|e| panic!("listing bookings: {e}"));
            for b in page.items {
                if let Some(full) = s
                    .deps()
                    .store
                    .get_booking(&b.booking_id)
                    .await
                    .ok()
                    .flatten()
                {
                    bookings.insert(full.booking_id.clone(), full);
                }
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    let mut seats = BTreeMap::new();
    for show in &shows {
        let items = s
            .deps()
            .store
            .get_show_collection(show)
            .await
            .unwrap_or_else(|e| panic!("reading the show: {e}"))
            .map(|c| c.seats)
            .unwrap_or_default();
        seats.insert(show.clone(), items);
    }
    let history = std::mem::take(&mut *shared.history.lock().unwrap_or_else(|p| p.into_inner()));
    let payments = std::mem::take(&mut *shared.payments.lock().unwrap_or_else(|p| p.into_inner()));
    let now = s.deps().clock.now_epoch();
    let state = FinalState {
        bookings,
        seats,
        payments,
        now,
    };
    let violations = check(&state, &history);
    let mut faults = BTreeMap::new();
    faults.insert(
        "dynamodb throttled",
        rates.throttled.load(Ordering::Relaxed),
    );
    faults.insert(
        "dynamodb transaction conflict",
        rates.conflicted.load(Ordering::Relaxed),
    );
    faults.insert(
        "dynamodb answer lost after commit",
        rates.lost_answers.load(Ordering::Relaxed),
    );
    faults.insert(
        "invocation killed after first call",
        rates.killed.load(Ordering::Relaxed),
    );
    faults.insert(
        "sqs redelivered",
        trigger_faults.redelivered.load(Ordering::Relaxed) as usize,
    );
    faults.insert(
        "sqs batch reordered",
        trigger_faults.reordered.load(Ordering::Relaxed) as usize,
    );
    faults.insert(
        "eventbridge delivery lost",
        trigger_faults.lost.load(Ordering::Relaxed) as usize,
    );
    faults.insert(
        "eventbridge delivery doubled",
        trigger_faults.doubled.load(Ordering::Relaxed) as usize,
    );
    Report {
        seed: plan.seed,
        operations,
        faults,
        violations,
        bookings: state.bookings.len(),
        confirmed: state
            .bookings
            .values()
            .filter(|b| b.status == BookingStatus::Confirmed)
            .count(),
        captured: state
            .payments
            .iter()
            .filter(|p| p.captured.is_some())
            .count(),
        refunded: state
            .bookings
            .values()
            .filter(|b| b.refund.is_some())
            .count(),
        history,
        elapsed: started.elapsed(),
    }
}

/// What the checker judges besides the history.
struct FinalState {
    bookings: BTreeMap<String, Booking>,
    seats: BTreeMap<String, Vec<boxoffice::store::catalog::SeatItem>>,
    payments: Vec<Payment>,
    now: i64,
}

/// A refund that counts as the payment's settlement. Today the system writes the refund onto the
/// booking (`INITIATED`; a provider's `refund.succeeded` makes it `COMPLETED`); a refund worker's
/// final state (`SUCCEEDED`) counts too once it exists, and a failed refund does not.
fn refund_settles(r: &RefundInfo) -> bool {
    matches!(r.status.as_str(), "INITIATED" | "COMPLETED" | "SUCCEEDED")
}

fn excerpt(history: &[Entry], bookings: &[&str], seats: &[(&str, &str)]) -> Vec<String> {
    history
        .iter()
        .filter(|e| {
            (!e.booking.is_empty() && bookings.contains(&e.booking.as_str()))
                || e.answer["bookingId"]
                    .as_str()
                    .is_some_and(|b| bookings.contains(&b))
                || seats
                    .iter()
                    .any(|(show, seat)| e.show == *show && e.seats.iter().any(|s| s == seat))
        })
        .map(ToString::to_string)
        .collect()
}

/// The seven invariants over the final state and the history.
fn check(state: &FinalState, history: &[Entry]) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut violation =
        |invariant: &'static str, what: String, bookings: &[&str], seats: &[(&str, &str)]| {
            out.push(Violation {
                invariant,
                what,
                excerpt: excerpt(history, bookings, seats),
            });
        };
    let b = &state.bookings;
    // 1. No seat SOLD to two bookings, nor held by two live bookings.
    let mut sold: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
    let mut live: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
    for bk in b.values() {
        for seat in &bk.seats {
            let key = (bk.show_id.as_str(), seat.seat_id.as_str());
            if bk.status == BookingStatus::Confirmed {
                sold.entry(key).or_default().push(&bk.booking_id);
            }
            if bk.status == BookingStatus::PaymentPending && bk.hold_expires_at >= state.now {
                live.entry(key).or_default().push(&bk.booking_id);
            }
        }
    }
    for (kind, map) in [("sold to", &sold), ("held by live", &live)] {
        for ((show, seat), ids) in map {
            if ids.len() > 1 {
                violation(
                    "1",
                    format!("seat {seat} of {show} {kind} bookings {ids:?}"),
                    ids,
                    &[(show, seat)],
                );
            }
        }
    }
    // 2. Every seat item names a booking whose state agrees with it. 5 (second half): no seat is
    // held by a booking in a final state.
    for (show, items) in &state.seats {
        for item in items {
            let owner = b.get(&item.booking_id);
            let agrees = owner.is_some_and(|o| {
                o.show_id == *show
                    && o.seats.iter().any(|s| s.seat_id == item.seat_id)
                    && match item.state.as_str() {
                        "SOLD" => o.status == BookingStatus::Confirmed,
                        "HELD" => o.status == BookingStatus::PaymentPending,
                        _ => false,
                    }
            });
            if !agrees {
                let inv = if owner.is_some_and(|o| o.status.is_terminal()) && item.state == "HELD" {
                    "5"
                } else {
                    "2"
                };
                violation(
                    inv,
                    format!(
                        "seat item {} of {show} is {} for {} whose booking is {:?}",
                        item.seat_id,
                        item.state.as_str(),
                        item.booking_id,
                        owner.map(|o| (
                            o.status,
                            o.seats
                                .iter()
                                .map(|s| s.seat_id.clone())
                                .collect::<Vec<_>>()
                        ))
                    ),
                    &[&item.booking_id],
                    &[(show, &item.seat_id)],
                );
            }
        }
    }
    // 2 (the other way): every CONFIRMED booking's seats are SOLD items naming it.
    for bk in b
        .values()
        .filter(|bk| bk.status == BookingStatus::Confirmed)
    {
        for seat in &bk.seats {
            let item = state
                .seats
                .get(&bk.show_id)
                .and_then(|items| items.iter().find(|i| i.seat_id == seat.seat_id));
            if !item.is_some_and(|i| i.state == "SOLD" && i.booking_id == bk.booking_id) {
                violation(
                    "2",
                    format!(
                        "CONFIRMED {} lists {} but the seat item is {:?}",
                        bk.booking_id,
                        seat.seat_id,
                        item.map(|i| (&i.state, &i.booking_id))
                    ),
                    &[&bk.booking_id],
                    &[(&bk.show_id, &seat.seat_id)],
                );
            }
        }
    }
    // 3. Every captured payment ends as exactly one CONFIRMED booking with a valid ticket, or
    // exactly one settled refund. 4. Per show, captured − refunded = the CONFIRMED totals.
    let mut captured: HashMap<&str, i64> = HashMap::new();
    for p in &state.payments {
        let Some(amount) = p.captured else { continue };
        *captured.entry(p.show.as_str()).or_default() += amount;
        let Some(bk) = b.get(&p.booking) else {
            violation(
                "3",
                format!(
                    "payment {} of {amount} captured for an unknown booking {}",
                    p.intent, p.booking
                ),
                &[&p.booking],
                &[],
            );
            continue;
        };
        let confirmed = bk.status == BookingStatus::Confirmed
            && bk.ticket.is_some()
            && bk
                .payment
                .as_ref()
                .is_some_and(|x| x.payment_intent_id == p.intent && x.amount == amount)
            && bk.pricing.total == amount;
        let refunded = bk
            .refund
            .as_ref()
            .is_some_and(|r| refund_settles(r) && r.amount == amount);
        if confirmed == refunded || (confirmed && bk.refund.is_some()) {
            violation(
                "3",
                format!(
                    "payment {} of {amount} ends {:?} with refund {:?} (total {})",
                    p.intent, bk.status, bk.refund, bk.pricing.total
                ),
                &[&p.booking],
                &[],
            );
        }
    }
    let mut shows: BTreeSet<&str> = captured.keys().copied().collect();
    shows.extend(b.values().map(|bk| bk.show_id.as_str()));
    for show in shows {
        let refunded: i64 = b
            .values()
            .filter(|bk| bk.show_id == show)
            .filter_map(|bk| {
                bk.refund
                    .as_ref()
                    .filter(|r| refund_settles(r))
                    .map(|r| r.amount)
            })
            .sum();
        let confirmed: i64 = b
            .values()
            .filter(|bk| bk.show_id == show && bk.status == BookingStatus::Confirmed)
            .map(|bk| bk.pricing.total)
            .sum();
        let got = captured.get(show).copied().unwrap_or(0);
        if got - refunded != confirmed {
            violation(
                "4",
                format!(
                    "show {show}: captured {got} − refunded {refunded} ≠ confirmed {confirmed}"
                ),
                &[],
                &[],
            );
        }
    }
    // 5. After quiescence no booking is PAYMENT_PENDING past its window.
    for bk in b.values() {
        if bk.status == BookingStatus::PaymentPending && bk.hold_expires_at < state.now {
            violation(
                "5",
                format!(
                    "{} still PAYMENT_PENDING past its window ({} < {})",
                    bk.booking_id, bk.hold_expires_at, state.now
                ),
                &[&bk.booking_id],
                &[],
            );
        }
    }
    // 6. A ticket admits at most once.
    let mut admitted: HashMap<&str, usize> = HashMap::new();
    for e in history
        .iter()
        .filter(|e| e.op == "admit" && e.status == 200)
    {
        *admitted.entry(e.booking.as_str()).or_default() += 1;
    }
    for (id, n) in admitted {
        if n > 1 {
            violation(
                "6",
                format!("the ticket of {id} admitted {n} times"),
                &[id],
                &[],
            );
        }
    }
    // 7. Every 201 hold's seats were held by that booking at that moment (no live booking of
    // someone else had them), and every 409 named a seat that was really taken.
    let holds: Vec<&Entry> = history
        .iter()
        .filter(|e| e.op == "hold" && e.status == 201)
        .collect();
    let ends: Vec<&Entry> = history
        .iter()
        .filter(|e| {
            matches!(
                e.op,
                "cancel" | "webhook.succeeded" | "webhook.failed" | "cancel-show"
            )
        })
        .collect();
    for (i, later) in holds.iter().enumerate() {
        let later_id = later.answer["bookingId"].as_str().unwrap_or_default();
        for earlier in &holds[..i] {
            let earlier_id = earlier.answer["bookingId"].as_str().unwrap_or_default();
            if earlier_id == later_id
                || earlier.show != later.show
                || earlier.ended_ms >= later.started_ms
            {
                continue;
            }
            let Some(shared_seat) = earlier.seats.iter().find(|s| later.seats.contains(s)) else {
                continue;
            };
            let expires = b.get(earlier_id).map(|x| x.hold_expires_at).unwrap_or(0);
            let hold_expiry = expires.min(
                chrono::DateTime::parse_from_rfc3339(
                    earlier.answer["expiresAt"].as_str().unwrap_or(""),
                )
                .map(|t| t.timestamp())
                .unwrap_or(expires),
            );
            let surely_live = hold_expiry > later.clock_after + 1;
            let maybe_ended = ends.iter().any(|e| {
                e.started_ms < later.ended_ms
                    && (e.booking == earlier_id
                        || (e.op == "cancel-show" && e.show == earlier.show))
            });
            if surely_live && !maybe_ended {
                violation(
                    "7",
                    format!("hold {later_id} got {shared_seat} of {} while {earlier_id} held it live until {hold_expiry} (clock {})", later.show, later.clock_after),
                    &[later_id, earlier_id],
                    &[(&later.show, shared_seat)],
                );
            }
        }
    }
    for e in history.iter().filter(|e| e.op == "hold" && e.status == 409) {
        let named: Vec<String> = e.answer["error"]["details"]["unavailableSeatIds"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for seat in &named {
            let explained = b.values().any(|o| {
                o.show_id == e.show
                    && o.seats.iter().any(|s| &s.seat_id == seat)
                    && (o.ticket.is_some()
                        || o.hold_expires_at >= e.clock_before
                        || o.payment.is_some())
            });
            if !explained {
                violation(
                    "7",
                    format!(
                        "a 409 named {seat} of {} that no booking could have held",
                        e.show
                    ),
                    &[],
                    &[(&e.show, seat)],
                );
            }
        }
    }
    out
}
