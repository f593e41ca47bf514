//! The on-sale waiting room (issue 16): pure admission rules, no I/O. Model-checkable: every
//! time is whole epoch seconds and every rate a whole number of customers per second.
//!
//! - **Joining** writes one item per customer (the store's conditional put); nothing here counts
//!   joins, so the join path has no shared item.
//! - **The draw**: once the on-sale time has passed (plus `JOIN_GRACE_SECONDS`, so every join
//!   stamped before it has landed), the sequencer generates a random seed that nobody chooses and
//!   ranks every early arrival by HMAC-SHA256(seed, customerId) (`draw_order`): places 1..N,
//!   uniformly random, whatever the join time or how often a customer joined.
//! - **Later arrivals** are placed N+1.. in arrival order (`late_order`), in batches.
//! - **Admission**: the frontier (how many places are admitted) advances at the configured rate,
//!   piecewise as the rate changes (`RateChange`, 0 pauses), from an anchor the sequencer moves
//!   each run (`advance`), never past the places assigned; so the number admitted by time t
//!   never exceeds ∫rate since the on-sale time plus the replacements (admitted customers whose
//!   window ended unused, when the show replaces them). There is no other burst.
//! - **Tokens**: a queue ticket and an admission token, HMAC-signed, bound to customer and show,
//!   the admission token with an expiry (`sign` / `verify_admission`).

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Longest a join may take from its stamp to its write landing (the join function's timeout is
/// below it): entries stamped before `now - JOIN_GRACE_SECONDS` are all visible to a query.
pub const JOIN_GRACE_SECONDS: i64 = 10;
pub const DEFAULT_WINDOW_SECONDS: i64 = 600;
pub const MIN_WINDOW_SECONDS: i64 = 60;
pub const MAX_WINDOW_SECONDS: i64 = 3600;
pub const MAX_RATE_PER_SECOND: u32 = 10_000;
/// How often a waiting customer should poll the status (the answer's `pollAfterSeconds`).
pub const POLL_SECONDS: i64 = 5;

/// From `from` on (epoch seconds) the frontier advances by `per_second` places a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateChange {
    pub from: i64,
    pub per_second: u32,
}

/// A show's queue mode, as its partner or an admin configured it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueConfig {
    pub show_id: String,
    pub on_sale_at: i64,
    /// The rate schedule, ascending by `from`; the first entry starts at the on-sale time.
    pub rates: Vec<RateChange>,
    pub admission_window_seconds: i64,
    /// Admit one more for every admitted customer whose window ended without a hold.
    pub replace_unused: bool,
}

impl QueueConfig {
    pub fn new(show_id: &str, on_sale_at: i64, rate: u32, window: i64, replace: bool) -> Self {
        QueueConfig {
            show_id: show_id.to_owned(),
            on_sale_at,
            rates: vec![RateChange {
                from: on_sale_at,
                per_second: rate,
            }],
            admission_window_seconds: window,
            replace_unused: replace,
        }
    }

    /// The rate in force at `t` (0 before the on-sale time).
    pub fn rate_at(&self, t: i64) -> u32 {
        self.rates
            .iter()
            .take_while(|r| r.from <= t)
            .last()
            .map_or(0, |r| r.per_second)
    }

    /// Places the frontier advances over `[from, to)`: ∫ rate, whole seconds.
    pub fn admissions_between(&self, from: i64, to: i64) -> u64 {
        if to <= from {
            return 0;
        }
        let mut total: u64 = 0;
        for (i, r) in self.rates.iter().enumerate() {
            let end = self.rates.get(i + 1).map_or(i64::MAX, |n| n.from);
            let (a, b) = (r.from.max(from), end.min(to));
            if b > a {
                total = total.saturating_add((b - a) as u64 * r.per_second as u64);
            }
        }
        total
    }

    /// The earliest second `t ≥ from` by which `places` more have been admitted from `from`;
    /// `None` when the schedule never gets there (paused for good).
    pub fn time_to_admit(&self, from: i64, places: u64) -> Option<i64> {
        if places == 0 {
            return Some(from);
        }
        let mut left = places;
        for (i, r) in self.rates.iter().enumerate() {
            let end = self.rates.get(i + 1).map_or(i64::MAX, |n| n.from);
            let a = r.from.max(from);
            if end <= a || r.per_second == 0 {
                continue;
            }
            let rate = r.per_second as u64;
            let secs = left.div_ceil(rate);
            let span = (end - a) as u64;
            if end == i64::MAX || secs <= span {
                return Some(a.saturating_add(secs as i64));
            }
            left -= span * rate;
        }
        None
    }

    /// The rate schedule after a change at `now` to `per_second`: the past stays as it was.
    pub fn with_rate(&self, now: i64, per_second: u32) -> Vec<RateChange> {
        let from = now.max(self.on_sale_at);
        let mut rates: Vec<RateChange> = self
            .rates
            .iter()
            .copied()
            .filter(|r| r.from < from)
            .collect();
        rates.push(RateChange { from, per_second });
        rates
    }
}

/// A `PUT /shows/{id}/queue` request, checked against the stored queue (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRequest {
    pub on_sale_at: i64,
    pub rate_per_second: u32,
    pub window_seconds: i64,
    pub replace_unused: bool,
}

/// The queue configuration a request makes, or why it is refused. The on-sale time cannot move
/// once it has passed (the draw depends on it); the rate and the window may change at any time.
pub fn configure(
    show_id: &str,
    existing: Option<&QueueConfig>,
    req: &QueueRequest,
    now: i64,
    show_start: i64,
) -> Result<QueueConfig, ConfigRefusal> {
    if req.rate_per_second > MAX_RATE_PER_SECOND {
        return Err(ConfigRefusal::Invalid(format!(
            "admissionRatePerSecond must be 0–{MAX_RATE_PER_SECOND}"
        )));
    }
    if !(MIN_WINDOW_SECONDS..=MAX_WINDOW_SECONDS).contains(&req.window_seconds) {
        return Err(ConfigRefusal::Invalid(format!(
            "admissionWindowSeconds must be {MIN_WINDOW_SECONDS}–{MAX_WINDOW_SECONDS}"
        )));
    }
    if req.on_sale_at >= show_start {
        return Err(ConfigRefusal::Invalid(
            "onSaleAt must be before the show starts".into(),
        ));
    }
    match existing {
        Some(old) if old.on_sale_at <= now && old.on_sale_at != req.on_sale_at => Err(
            ConfigRefusal::OnSalePassed("The on-sale time has passed and cannot move.".into()),
        ),
        Some(old) if old.on_sale_at <= now => Ok(QueueConfig {
            rates: old.with_rate(now, req.rate_per_second),
            admission_window_seconds: req.window_seconds,
            replace_unused: req.replace_unused,
            ..old.clone()
        }),
        _ => Ok(QueueConfig::new(
            show_id,
            req.on_sale_at,
            req.rate_per_second,
            req.window_seconds,
            req.replace_unused,
        )),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigRefusal {
    Invalid(String),
    OnSalePassed(String),
}

/// The queue's progress: written by the sequencer alone, one write per run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueProgress {
    /// The draw's seed (hex), generated once the on-sale time has passed.
    #[serde(default)]
    pub seed: Option<String>,
    /// The early arrivals have their places 1..=early_count.
    #[serde(default)]
    pub drawn: bool,
    #[serde(default)]
    pub early_count: u64,
    /// Places assigned so far (1..=sequenced).
    #[serde(default)]
    pub sequenced: u64,
    /// The last later arrival placed: (join time, customer).
    #[serde(default)]
    pub late_cursor: Option<(i64, String)>,
    /// The frontier was `anchor_admitted` at `anchor_at`, and advances at the rate from there.
    #[serde(default)]
    pub anchor_at: i64,
    #[serde(default)]
    pub anchor_admitted: u64,
    /// Places up to here have their admission time recorded on their entry (and were notified).
    #[serde(default)]
    pub recorded: u64,
    /// Places up to here had their admission window checked for replacement.
    #[serde(default)]
    pub window_checked: u64,
    /// Admissions added for admitted customers whose window ended unused.
    #[serde(default)]
    pub replaced: u64,
}

impl QueueProgress {
    /// How many places are admitted at `now` (0 before the draw).
    pub fn frontier(&self, config: &QueueConfig, now: i64) -> u64 {
        if !self.drawn {
            return 0;
        }
        let grown = self
            .anchor_admitted
            .saturating_add(config.admissions_between(self.anchor_at, now));
        grown.min(self.sequenced)
    }

    /// When `place` is (or was) admitted, computed from the anchor: for a place at or below the
    /// anchor the anchor's time (the entry's recorded time, when it has one, is earlier and wins);
    /// `None` before the draw or when the rate never gets there.
    pub fn admission_time(&self, config: &QueueConfig, place: u64) -> Option<i64> {
        if !self.drawn {
            return None;
        }
        if place <= self.anchor_admitted {
            return Some(self.anchor_at);
        }
        config.time_to_admit(self.anchor_at, place - self.anchor_admitted)
    }

    /// The progress after one sequencer run at `now` that has placed `placed_late` more later
    /// arrivals (`cursor` the last of them), recorded the admissions up to the frontier, and
    /// found `unused` admitted customers whose window ended without a hold, up to place
    /// `checked`. The anchor moves to `now` at the frontier (plus the replacements): credit never
    /// accumulates while nobody waits, and the frontier never passes the places assigned.
    pub fn advance(
        &self,
        config: &QueueConfig,
        now: i64,
        placed_late: u64,
        cursor: Option<(i64, String)>,
        unused: u64,
        checked: u64,
    ) -> QueueProgress {
        let frontier = self.frontier(config, now);
        let replaced = if config.replace_unused { unused } else { 0 };
        let sequenced = self.sequenced + placed_late;
        QueueProgress {
            sequenced,
            late_cursor: cursor.or_else(|| self.late_cursor.clone()),
            anchor_at: now.max(self.anchor_at),
            anchor_admitted: (frontier + replaced).min(sequenced.max(frontier)),
            recorded: frontier.max(self.recorded),
            window_checked: checked.max(self.window_checked),
            replaced: self.replaced + replaced,
            ..self.clone()
        }
    }
}

/// The sequencer may draw once every early join has landed.
pub fn can_draw(config: &QueueConfig, now: i64) -> bool {
    now >= config.on_sale_at + JOIN_GRACE_SECONDS
}

pub fn is_early(config: &QueueConfig, joined_at: i64) -> bool {
    joined_at < config.on_sale_at
}

/// Later arrivals are placed once their join has surely landed (so none is skipped).
pub fn late_horizon(now: i64) -> i64 {
    now - JOIN_GRACE_SECONDS
}

/// The draw's rank key of a customer: HMAC-SHA256(seed, customerId).
pub fn draw_key(seed: &[u8], customer_id: &str) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(seed).expect("HMAC key"); // infallible: any key length
    m.update(customer_id.as_bytes());
    m.finalize().into_bytes().into()
}

/// The early arrivals in place order (index 0 is place 1): by their draw key, so the order
/// depends only on the seed and the set of customers, never on when or how often they joined.
pub fn draw_order(seed: &[u8], customers: &[String]) -> Vec<String> {
    let mut keyed: Vec<([u8; 32], &String)> =
        customers.iter().map(|c| (draw_key(seed, c), c)).collect();
    keyed.sort();
    keyed.dedup_by(|a, b| a.1 == b.1);
    keyed.into_iter().map(|(_, c)| c.clone()).collect()
}

/// Later arrivals to place in this run, in arrival order: after `cursor`, joined at or after the
/// on-sale time and no later than `horizon`.
pub fn late_order(
    config: &QueueConfig,
    cursor: Option<&(i64, String)>,
    horizon: i64,
    mut candidates: Vec<(i64, String)>,
) -> Vec<(i64, String)> {
    candidates
        .retain(|c| !is_early(config, c.0) && c.0 <= horizon && cursor.is_none_or(|cur| c > cur));
    candidates.sort();
    candidates.dedup();
    candidates
}

/// Whether an admitted customer's window ended without a hold (a replacement is due).
pub fn window_unused(admitted_at: i64, window: i64, used: bool, now: i64) -> bool {
    !used && admitted_at + window <= now
}

/// A waiting customer's entry, as the status needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryView {
    pub joined_at: i64,
    pub place: Option<u64>,
    pub admitted_at: Option<i64>,
}

/// What `GET /shows/{id}/queue/me` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitStatus {
    pub place: Option<u64>,
    pub ahead: Option<u64>,
    pub estimated_admission_at: Option<i64>,
    /// Admitted: when, and until when the admission token is valid.
    pub admission: Option<(i64, i64)>,
    /// Before the draw: when places are drawn.
    pub draw_at: Option<i64>,
}

pub fn wait_status(
    config: &QueueConfig,
    progress: &QueueProgress,
    entry: &EntryView,
    now: i64,
) -> WaitStatus {
    let draw_at = (!progress.drawn).then_some(config.on_sale_at + JOIN_GRACE_SECONDS);
    let Some(place) = entry.place.filter(|_| progress.drawn) else {
        return WaitStatus {
            place: None,
            ahead: None,
            estimated_admission_at: None,
            admission: None,
            draw_at,
        };
    };
    let frontier = progress.frontier(config, now);
    let at = entry
        .admitted_at
        .or_else(|| progress.admission_time(config, place));
    let admission = at
        .filter(|_| place <= frontier)
        .map(|a| (a, a + config.admission_window_seconds));
    WaitStatus {
        place: Some(place),
        ahead: Some(place.saturating_sub(1).saturating_sub(frontier)),
        estimated_admission_at: at,
        admission,
        draw_at: None,
    }
}

// ---- tokens ----

/// The key admission tokens and queue tickets are signed with, derived from the stage's JWT
/// key (a different purpose, so a token of one kind is never valid as the other).
pub fn token_key(jwt_secret: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"boxoffice/queue-tokens/v1\0");
    h.update(jwt_secret);
    h.finalize().to_vec()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueClaims {
    /// `QT` (queue ticket) or `AT` (admission).
    pub k: String,
    pub sub: String,
    pub show: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<u64>,
    /// Joined at (QT) or admitted at (AT).
    pub at: i64,
    /// Admission tokens only: not valid from this second on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
}

const TOKEN_PREFIX: &str = "BQ1";

pub fn sign(key: &[u8], claims: &QueueClaims) -> String {
    super::ticket::sign_claims(TOKEN_PREFIX, key, claims)
}

fn verify(key: &[u8], token: &str) -> Option<QueueClaims> {
    super::ticket::verify_claims(TOKEN_PREFIX, key, token, 2048)
}

pub fn admission_token(key: &[u8], customer: &str, show: &str, at: i64, exp: i64) -> String {
    sign(
        key,
        &QueueClaims {
            k: "AT".into(),
            sub: customer.into(),
            show: show.into(),
            place: None,
            at,
            exp: Some(exp),
        },
    )
}

pub fn queue_ticket(key: &[u8], customer: &str, show: &str, place: Option<u64>, at: i64) -> String {
    sign(
        key,
        &QueueClaims {
            k: "QT".into(),
            sub: customer.into(),
            show: show.into(),
            place,
            at,
            exp: None,
        },
    )
}

/// Why an admission token does not admit this customer to this show now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmissionRefusal {
    Missing,
    Invalid,
    Expired,
    OtherCustomer,
    OtherShow,
}

impl AdmissionRefusal {
    pub fn message(self) -> &'static str {
        match self {
            AdmissionRefusal::Missing => "This show sells through its waiting room: join the queue and book with your admission token (X-Admission-Token).",
            AdmissionRefusal::Invalid => "The admission token is not valid.",
            AdmissionRefusal::Expired => "The admission token has expired.",
            AdmissionRefusal::OtherCustomer => "The admission token belongs to another customer.",
            AdmissionRefusal::OtherShow => "The admission token is for another show.",
        }
    }
}

/// The decision of `POST /bookings` on a queue-mode show: the token must be genuine, an
/// admission, this customer's, this show's and unexpired. Any of `keys` may have signed it
/// (the current and the previous JWT key, for rotation).
pub fn verify_admission(
    keys: &[Vec<u8>],
    token: Option<&str>,
    customer: &str,
    show: &str,
    now: i64,
) -> Result<(), AdmissionRefusal> {
    let token = token.ok_or(AdmissionRefusal::Missing)?;
    let claims = keys
        .iter()
        .find_map(|k| verify(k, token))
        .filter(|c| c.k == "AT")
        .ok_or(AdmissionRefusal::Invalid)?;
    if claims.sub != customer {
        return Err(AdmissionRefusal::OtherCustomer);
    }
    if claims.show != show {
        return Err(AdmissionRefusal::OtherShow);
    }
    match claims.exp {
        Some(exp) if now < exp => Ok(()),
        _ => Err(AdmissionRefusal::Expired),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(rate: u32) -> QueueConfig {
        QueueConfig::new("sh_1", 1000, rate, 600, false)
    }

    #[test]
    fn admissions_follow_the_piecewise_rate() {
        let mut c = cfg(10);
        c.rates = vec![
            RateChange {
                from: 1000,
                per_second: 10,
            },
            RateChange {
                from: 1010,
                per_second: 0,
            },
            RateChange {
                from: 1020,
                per_second: 5,
            },
        ];
        for (from, to, n) in [
            (900, 1000, 0),
            (1000, 1001, 10),
            (1000, 1010, 100),
            (1000, 1020, 100),
            (1005, 1025, 50 + 25),
            (1020, 1020, 0),
            (1030, 1020, 0),
        ] {
            assert_eq!(c.admissions_between(from, to), n, "[{from}, {to})");
        }
        for (from, places, at) in [
            (1000, 0, Some(1000)),
            (1000, 1, Some(1001)),
            (1000, 10, Some(1001)),
            (1000, 11, Some(1002)),
            (1000, 100, Some(1010)),
            (1000, 101, Some(1021)),
            (1015, 5, Some(1021)),
        ] {
            assert_eq!(c.time_to_admit(from, places), at, "{places} from {from}");
        }
        c.rates.truncate(2);
        assert_eq!(c.time_to_admit(1000, 101), None, "paused for good");
    }

    #[test]
    fn time_to_admit_is_the_first_second_the_integral_reaches() {
        let mut c = cfg(3);
        c.rates.push(RateChange {
            from: 1007,
            per_second: 7,
        });
        for from in 990..1020 {
            for places in 0..80u64 {
                let t = c.time_to_admit(from, places).expect("never paused");
                assert!(c.admissions_between(from, t) >= places, "{from} {places}");
                if places > 0 {
                    assert!(
                        c.admissions_between(from, t - 1) < places,
                        "{from} {places}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_rate_change_keeps_the_past() {
        let c = cfg(10);
        assert_eq!(
            c.with_rate(1050, 0),
            vec![
                RateChange {
                    from: 1000,
                    per_second: 10
                },
                RateChange {
                    from: 1050,
                    per_second: 0
                }
            ]
        );
        assert_eq!(
            c.with_rate(900, 4),
            vec![RateChange {
                from: 1000,
                per_second: 4
            }],
            "before the on-sale time the schedule is replaced"
        );
    }

    #[test]
    fn configuring_a_queue() {
        let req = |on_sale_at, rate, window| QueueRequest {
            on_sale_at,
            rate_per_second: rate,
            window_seconds: window,
            replace_unused: true,
        };
        let start = 100_000;
        assert!(configure("sh_1", None, &req(1000, 10, 600), 500, start).is_ok());
        for (r, why) in [
            (req(1000, 10_001, 600), "rate"),
            (req(1000, 10, 59), "window"),
            (req(1000, 10, 3601), "window"),
            (req(start, 10, 600), "on sale at the start"),
        ] {
            assert!(
                matches!(
                    configure("sh_1", None, &r, 500, start),
                    Err(ConfigRefusal::Invalid(_))
                ),
                "{why}"
            );
        }
        let old = cfg(10);
        assert!(matches!(
            configure("sh_1", Some(&old), &req(2000, 10, 600), 1500, start),
            Err(ConfigRefusal::OnSalePassed(_))
        ));
        let paused = configure("sh_1", Some(&old), &req(1000, 0, 600), 1500, start).expect("ok");
        assert_eq!(paused.rate_at(1499), 10);
        assert_eq!(paused.rate_at(1500), 0);
        let moved = configure("sh_1", Some(&old), &req(2000, 10, 600), 900, start).expect("ok");
        assert_eq!(
            moved.on_sale_at, 2000,
            "before the on-sale time it may move"
        );
    }

    #[test]
    fn the_draw_ignores_join_order_and_repeats() {
        let seed = [7u8; 32];
        let a: Vec<String> = (0..50).map(|i| format!("usr_{i}")).collect();
        let mut b = a.clone();
        b.reverse();
        b.extend(a.iter().take(10).cloned());
        let order = draw_order(&seed, &a);
        assert_eq!(order, draw_order(&seed, &b));
        assert_eq!(order.len(), 50);
        assert_ne!(
            order,
            draw_order(&[8u8; 32], &a),
            "another seed, another order"
        );
        assert_ne!(order, a, "not the join order");
    }

    #[test]
    fn later_arrivals_in_arrival_order_after_the_cursor() {
        let c = cfg(1);
        let cands = vec![
            (1005, "b".to_string()),
            (999, "early".to_string()),
            (1003, "a".to_string()),
            (1020, "too-new".to_string()),
            (1001, "before-cursor".to_string()),
            (1005, "a".to_string()),
        ];
        let cursor = (1002, "z".to_string());
        assert_eq!(
            late_order(&c, Some(&cursor), 1010, cands),
            vec![(1003, "a".into()), (1005, "a".into()), (1005, "b".into())]
        );
    }

    fn drawn(sequenced: u64) -> QueueProgress {
        QueueProgress {
            drawn: true,
            early_count: sequenced,
            sequenced,
            anchor_at: 1000,
            ..Default::default()
        }
    }

    #[test]
    fn the_frontier_never_outruns_the_rate_or_the_places() {
        let c = cfg(10);
        let p = drawn(55);
        for (now, f) in [
            (999, 0),
            (1000, 0),
            (1001, 10),
            (1005, 50),
            (1006, 55),
            (2000, 55),
        ] {
            assert_eq!(p.frontier(&c, now), f, "at {now}");
        }
        assert_eq!(
            QueueProgress::default().frontier(&c, 5000),
            0,
            "no draw, no admission"
        );
    }

    #[test]
    fn the_sequencer_re_anchors_so_idle_time_gives_no_burst() {
        let c = cfg(10);
        // Everyone admitted by 1006; at 1100 twenty later arrivals are placed.
        let p = drawn(55).advance(&c, 1100, 20, Some((1090, "x".into())), 0, 0);
        assert_eq!(
            (p.anchor_at, p.anchor_admitted, p.sequenced),
            (1100, 55, 75)
        );
        assert_eq!(p.frontier(&c, 1100), 55, "not all twenty at once");
        assert_eq!(p.frontier(&c, 1101), 65);
        assert_eq!(p.frontier(&c, 1102), 75);
        assert_eq!(p.admission_time(&c, 56), Some(1101));
        assert_eq!(
            p.admission_time(&c, 55),
            Some(1100),
            "admitted by the anchor's time"
        );
        assert_eq!(p.recorded, 55);
    }

    #[test]
    fn replacements_admit_more_only_when_the_show_replaces() {
        let mut c = cfg(1);
        let p = drawn(100);
        let q = p.advance(&c, 1010, 0, None, 3, 5);
        assert_eq!(
            (q.anchor_admitted, q.replaced, q.window_checked),
            (10, 0, 5)
        );
        c.replace_unused = true;
        let q = p.advance(&c, 1010, 0, None, 3, 5);
        assert_eq!((q.anchor_admitted, q.replaced), (13, 3));
        assert_eq!(q.frontier(&c, 1010), 13);
        // The three replacements are admitted at the run's time, before their entries record it.
        let e = EntryView {
            joined_at: 990,
            place: Some(13),
            admitted_at: None,
        };
        assert_eq!(wait_status(&c, &q, &e, 1010).admission, Some((1010, 1610)));
    }

    /// Model: random schedules of sequencer runs, rate changes and late arrivals; at every
    /// second, admitted(t) ≤ ∫rate since on-sale + replaced, and the frontier never decreases.
    #[test]
    fn admitted_never_exceeds_the_rate_integral() {
        use rand::{rngs::StdRng, Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(16);
        for _ in 0..200 {
            let mut c = cfg(rng.gen_range(0..20));
            c.replace_unused = rng.gen_bool(0.5);
            let mut p = drawn(rng.gen_range(0..300));
            let mut last = 0;
            for now in 1000..1200 {
                if rng.gen_bool(0.05) {
                    c.rates = c.with_rate(now, rng.gen_range(0..20));
                }
                if rng.gen_bool(0.2) {
                    let late = rng.gen_range(0..30);
                    let unused = rng.gen_range(0..3);
                    p = p.advance(&c, now, late, None, unused, 0);
                }
                let f = p.frontier(&c, now);
                assert!(f >= last, "the frontier went back");
                assert!(f <= p.sequenced);
                assert!(f as u128 <= c.admissions_between(1000, now) as u128 + p.replaced as u128);
                last = f;
            }
        }
    }

    #[test]
    fn status_before_and_after_the_draw() {
        let c = cfg(10);
        let entry = EntryView {
            joined_at: 990,
            place: Some(25),
            admitted_at: None,
        };
        let pre = wait_status(&c, &QueueProgress::default(), &entry, 1005);
        assert_eq!((pre.place, pre.draw_at), (None, Some(1010)));
        let p = drawn(100);
        let s = wait_status(&c, &p, &entry, 1001);
        assert_eq!(
            (s.place, s.ahead, s.estimated_admission_at),
            (Some(25), Some(14), Some(1003))
        );
        assert_eq!(s.admission, None);
        let s = wait_status(&c, &p, &entry, 1003);
        assert_eq!(s.admission, Some((1003, 1603)));
        assert_eq!(s.ahead, Some(0));
    }

    #[test]
    fn admission_tokens_admit_only_their_customer_and_show_until_expiry() {
        let key = token_key(b"0123456789abcdef0123456789abcdef");
        let other = token_key(b"another-key-another-key-another-key");
        let t = admission_token(&key, "usr_a", "sh_1", 100, 700);
        let keys = vec![other.clone(), key.clone()];
        use AdmissionRefusal::*;
        for (token, customer, show, now, want) in [
            (Some(t.as_str()), "usr_a", "sh_1", 699, Ok(())),
            (Some(t.as_str()), "usr_a", "sh_1", 700, Err(Expired)),
            (Some(t.as_str()), "usr_b", "sh_1", 200, Err(OtherCustomer)),
            (Some(t.as_str()), "usr_a", "sh_2", 200, Err(OtherShow)),
            (None, "usr_a", "sh_1", 200, Err(Missing)),
            (Some("BQ1.e30.AAAA"), "usr_a", "sh_1", 200, Err(Invalid)),
            (Some("garbage"), "usr_a", "sh_1", 200, Err(Invalid)),
        ] {
            assert_eq!(
                verify_admission(&keys, token, customer, show, now),
                want,
                "{customer} {show} {now}"
            );
        }
        assert_eq!(
            verify_admission(&[other], Some(&t), "usr_a", "sh_1", 200),
            Err(Invalid),
            "another key"
        );
        let ticket = queue_ticket(&key, "usr_a", "sh_1", Some(3), 100);
        assert_eq!(
            verify_admission(&[key], Some(&ticket), "usr_a", "sh_1", 200),
            Err(Invalid),
            "a queue ticket is no admission"
        );
    }

    #[test]
    fn unused_windows() {
        for (at, used, now, due) in [
            (100, false, 699, false),
            (100, false, 700, true),
            (100, true, 900, false),
        ] {
            assert_eq!(window_unused(at, 600, used, now), due);
        }
    }
}
