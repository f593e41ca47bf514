//! "Capacity": what one show can take on AWS, from the capacity units of the very requests the
//! handlers made in the seat rush and the booking flow. Every DynamoDB request of the handlers'
//! client asks for `ReturnConsumedCapacity: INDEXES` (infra/local/src/counter.rs); DynamoDB
//! Local's reported units are used where it reports them, and a cancelled transaction or failed
//! condition (which it reports nothing for) is billed by AWS's rules from its item sizes. Units
//! are accounted per partition key (table and each GSI) per second. The arena figures and the
//! prices are the only figures not measured here: they are computed from the measured unit
//! costs, the layout's blocks and the assumptions printed beside them.

use crate::{flow::Flow, rush::Rush, trips::Trip};
use boxoffice::{
    domain::layout::{Layout, Row, Seat, SeatType, SEATS_PER_BLOCK},
    store::catalog::SOLD_SHARDS,
};
use boxoffice_local::counter::{Action, Outcome, Touch, Usage};
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    fmt::Write as _,
    time::Instant,
};

/// DynamoDB's per-partition limits.
const PARTITION_WCU: f64 = 1_000.0;
const PARTITION_RCU: f64 = 3_000.0;
/// The budget (architecture.md, Budgets: one hot show on AWS).
pub const HOLDS_BUDGET: f64 = 10_000.0;
pub const SEAT_MAPS_BUDGET: f64 = 100_000.0;
/// Hot-spot assumption: hold attempts concentrate on the best quarter of a show's blocks,
/// spread evenly among them.
const HOT_BLOCK_SHARE: f64 = 0.25;
/// Seat-map requests that reach the origin (a 1 s `Cache-Control` shared cache in front):
/// misses, `If-None-Match` revalidations and cache-bypassing clients. With one cache key per
/// show and a 1 s max-age, 13 regional edge caches would send about 13 origin requests/s
/// whatever the rush, far below this share of 100,000/s.
const ORIGIN_SHARE: f64 = 0.01;
/// The arena: 200 rows of 100 seats, built in code (screens take at most 1,000 seats).
const ARENA_ROWS: usize = 200;
const ARENA_ROW_SEATS: usize = 100;

/// On-demand prices, us-east-1, as listed on 2025-06-01 (DynamoDB after its November 2024
/// on-demand reduction): dollars per unit.
const PRICE_DATE: &str = "2025-06-01";
const USD_PER_WRU: f64 = 0.625 / 1e6;
const USD_PER_RRU: f64 = 0.125 / 1e6;
const USD_PER_LAMBDA_GB_S_ARM: f64 = 0.000_013_333_4;
const USD_PER_LAMBDA_REQUEST: f64 = 0.20 / 1e6;
const USD_PER_SQS_REQUEST: f64 = 0.40 / 1e6;
const USD_PER_EVENT: f64 = 1.00 / 1e6;

pub struct Capacity {
    pub markdown: String,
    pub arena_holds: f64,
    pub arena_seat_maps: f64,
    pub today_arena_holds: f64,
    pub today_arena_seat_maps: f64,
    pub usd_per_1000: f64,
}

/// What the section is computed from.
pub struct Inputs<'a> {
    pub rush: &'a Rush,
    pub rush_usage: &'a [Usage],
    pub flow: &'a Flow,
    pub flow_usage: &'a [Usage],
    /// The flow's SQS and EventBridge calls (the handlers' counted clients).
    pub flow_ops: &'a Trip,
    pub template: &'a boxoffice_local::template::Template,
    /// Records dropped by the counter (over its cap): reported, should be 0.
    pub dropped: usize,
}

fn is_seat(t: &Touch) -> bool {
    t.index.is_none() && t.sk.as_deref().is_some_and(|s| s.starts_with("SEAT#"))
}

fn is_hold(u: &Usage) -> bool {
    u.operation == "TransactWriteItems"
        && u.touches
            .iter()
            .any(|t| is_seat(t) && t.action == Action::Put)
}

fn is_confirm(u: &Usage) -> bool {
    u.operation == "TransactWriteItems"
        && u.touches
            .iter()
            .any(|t| is_seat(t) && t.action == Action::Update)
        && u.touches
            .iter()
            .any(|t| t.index.is_none() && t.pk.starts_with("EVENT#"))
}

/// A seat map's block read: a table Query of a show's partition.
fn is_seat_query(u: &Usage) -> bool {
    u.operation == "Query"
        && u.touches
            .first()
            .is_some_and(|t| t.index.is_none() && t.pk.starts_with("SHOW#"))
}

/// Today's design: every seat item of a show under `SHOW#<id>` (`SHOW#<id>#B<n>` → `SHOW#<id>`).
fn today_pk(pk: &str) -> &str {
    match pk.strip_prefix("SHOW#").and_then(|rest| rest.find('#')) {
        Some(i) if pk[5 + i..].starts_with("#B") => &pk[..5 + i],
        _ => pk,
    }
}

/// The customer a request is made for, from the keys that name one.
fn customer(u: &Usage) -> Option<&str> {
    u.touches.iter().find_map(touch_customer)
}

/// The customer whose own item this is (rate window, idempotency record, seat cap), if any.
fn touch_customer(t: &Touch) -> Option<&str> {
    let pk = t.pk.as_str();
    if let Some(r) = pk.strip_prefix("RATE#").or(pk.strip_prefix("IDEMP#")) {
        return r.split('#').next();
    }
    pk.strip_prefix("SEATCAP#")
        .and_then(|r| r.split('#').nth(1))
}

/// A partition key as the report names it: `table` or the index, and the key value.
type Key = (String, String);

fn key_of(t: &Touch, today: bool) -> Key {
    let pk = if today { today_pk(&t.pk) } else { &t.pk };
    (
        t.index.clone().unwrap_or_else(|| "table".into()),
        pk.to_owned(),
    )
}

#[derive(Default, Clone, Copy)]
struct Units {
    rcu: f64,
    wcu: f64,
}

impl Units {
    fn add(&mut self, t: &Touch) {
        self.add_weighted(t, 1.0);
    }
    fn add_weighted(&mut self, t: &Touch, weight: f64) {
        self.rcu += t.rcu * weight;
        self.wcu += t.wcu * weight;
    }
    fn per(self, n: f64) -> Units {
        let n = n.max(1.0);
        Units {
            rcu: self.rcu / n,
            wcu: self.wcu / n,
        }
    }
}

/// One rush customer's attempt: whether it won, its hold transaction's items, and the rest
/// (its rate-window count when it lost).
#[derive(Default)]
struct Attempted<'a> {
    won: bool,
    hold: Vec<&'a Touch>,
    other: Vec<&'a Touch>,
}

impl<'a> Attempted<'a> {
    fn touches(&self) -> impl Iterator<Item = &'a Touch> + '_ {
        self.hold.iter().chain(&self.other).copied()
    }
}

fn total(usage: &[&Usage]) -> Units {
    let mut u = Units::default();
    for t in usage.iter().flat_map(|u| &u.touches) {
        u.add(t);
    }
    u
}

/// The hottest partition key's units in any one second, and the hottest item's writes in one
/// second (refused writes included: they are billed on that item's partition).
struct Hottest {
    wcu: (f64, Key),
    rcu: (f64, Key),
    item_writes: (f64, String),
}

fn hottest(usage: &[Usage], today: bool) -> Hottest {
    let Some(t0) = usage.iter().map(|u| u.at).min() else {
        return Hottest {
            wcu: (0.0, Default::default()),
            rcu: (0.0, Default::default()),
            item_writes: (0.0, String::new()),
        };
    };
    let sec = |at: Instant| at.duration_since(t0).as_secs();
    let mut keys: HashMap<(u64, Key), Units> = HashMap::new();
    let mut items: HashMap<(u64, String, String), f64> = HashMap::new();
    for u in usage {
        let s = sec(u.at);
        for t in u.touches.iter().filter(|t| t.pk != "?") {
            keys.entry((s, key_of(t, today))).or_default().add(t);
            if t.index.is_none() && t.action.is_write() && u.outcome != Outcome::Failed {
                *items
                    .entry((s, t.pk.clone(), t.sk.clone().unwrap_or_default()))
                    .or_default() += 1.0;
            }
        }
    }
    let best = |f: &dyn Fn(&Units) -> f64| {
        keys.iter()
            .map(|((_, k), u)| (f(u), k.clone()))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap_or_default()
    };
    let item_writes = items
        .iter()
        .map(|((_, pk, sk), n)| (*n, format!("{} / {sk}", short(pk))))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap_or_default();
    Hottest {
        wcu: best(&|u| u.wcu),
        rcu: best(&|u| u.rcu),
        item_writes,
    }
}

/// Ids shortened for the report: `SHOW#sh_01HX…#B2` → `SHOW#<show>#B2`.
fn short(pk: &str) -> String {
    pk.split('#')
        .map(|part| match part.split_once('_') {
            Some((kind, rest)) if rest.len() >= 10 => format!("<{kind}>"),
            _ => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("#")
}

fn show_key(k: &Key) -> String {
    format!("{} `{}`", k.0, short(&k.1))
}

/// The largest rate before `units` per event on one partition passes `limit` (∞ with none).
fn ceiling(limit: f64, units: f64) -> f64 {
    if units > 0.0 {
        limit / units
    } else {
        f64::INFINITY
    }
}

fn fmt_rate(v: f64) -> String {
    if v.is_infinite() {
        "no limit".into()
    } else {
        format!("{v:.0}")
    }
}

fn layout(rows: usize, per_row: usize) -> Layout {
    Layout {
        rows: (0..rows)
            .map(|r| Row {
                row_label: format!("R{r}"),
                seats: (0..per_row)
                    .map(|s| Seat {
                        seat_id: format!("R{r}-{s}"),
                        seat_type: SeatType::Regular,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Function name → MemorySize (MB), from template.yaml (the Globals value unless a function
/// sets its own).
fn memory_sizes(template: &boxoffice_local::template::Template) -> HashMap<String, f64> {
    let text = std::fs::read_to_string(boxoffice_local::repo_root().join("template.yaml"))
        .unwrap_or_default();
    let (mut section, mut resource) = (String::new(), String::new());
    let mut global = 128.0;
    let mut own: HashMap<String, f64> = HashMap::new();
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        if indent == 0 {
            section = trimmed.trim_end_matches(':').to_owned();
        } else if indent == 2 && section == "Resources" {
            resource = trimmed.trim_end_matches(':').to_owned();
        }
        if let Some(v) = trimmed.strip_prefix("MemorySize:") {
            let Ok(mb) = v.trim().parse::<f64>() else {
                continue;
            };
            match section.as_str() {
                "Globals" => global = mb,
                "Resources" => {
                    own.insert(resource.clone(), mb);
                }
                _ => {}
            }
        }
    }
    template
        .functions
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                own.get(&f.logical_id).copied().unwrap_or(global),
            )
        })
        .collect()
}

/// The request kinds of the flow, for the per-booking table.
fn kind(u: &Usage) -> String {
    if is_hold(u) {
        return match u.outcome {
            Outcome::Done => "hold transaction, won".into(),
            _ => "hold transaction, lost (billed by AWS's rules)".into(),
        };
    }
    if is_confirm(u) {
        return "confirm transaction".into();
    }
    let first = u.touches.first();
    let prefix = first
        .map(|t| t.pk.split('#').next().unwrap_or("?").to_owned())
        .unwrap_or_else(|| "?".into());
    let index = first
        .and_then(|t| t.index.as_deref())
        .map(|i| format!(" ({i})"))
        .unwrap_or_default();
    format!("{} `{prefix}#…`{index}", u.operation)
}

pub fn report(i: &Inputs) -> Capacity {
    let mut md = String::new();
    let rush = i.rush;
    let screen = layout(15, 20);
    let arena = layout(ARENA_ROWS, ARENA_ROW_SEATS);
    let screen_blocks = screen.block_count() as f64;
    let arena_blocks = arena.block_count() as f64;
    let arena_seats = arena.capacity() as f64;

    // --- The rush: every item a rush customer's requests touched, grouped by customer (one
    // attempt each; whether it won; its hold transaction's items apart). A hold is its
    // customer's; a request counting several losers at once (`attempts`) is split item by item
    // among the customers it counted.
    let mut by_customer: HashMap<&str, Attempted> = HashMap::new();
    let mut outside = 0usize;
    let mut cancelled = 0usize;
    for u in i.rush_usage {
        let Some(owner) = customer(u).filter(|c| c.starts_with("usr_rush")) else {
            outside += 1;
            continue;
        };
        if is_hold(u) {
            let entry = by_customer.entry(owner).or_default();
            if u.outcome == Outcome::Done {
                entry.won = true;
            } else {
                cancelled += 1;
            }
            entry.hold.extend(&u.touches);
        } else {
            for t in &u.touches {
                let whose = touch_customer(t)
                    .filter(|c| c.starts_with("usr_rush"))
                    .unwrap_or(owner);
                by_customer.entry(whose).or_default().other.push(t);
            }
        }
    }
    let attempts = rush.clients as f64;
    let (mut won_u, mut lost_u, mut won_seat, mut lost_seat) = Default::default();
    let (mut won_n, mut lost_seen) = (0usize, 0usize);
    for attempt in by_customer.values() {
        let (all, seat): (&mut Units, &mut Units) = if attempt.won {
            won_n += 1;
            (&mut won_u, &mut won_seat)
        } else {
            lost_seen += 1;
            (&mut lost_u, &mut lost_seat)
        };
        for t in attempt.touches() {
            all.add(t);
            if is_seat(t) {
                seat.add(t);
            }
        }
    }
    let won_d = rush.won.max(won_n) as f64;
    let lost_d = (rush.clients - rush.won.min(rush.clients)).max(lost_seen) as f64;
    // Figures of the show's partitions take every loser to reach its hold transaction, as though
    // no container remembered a taken seat: the cancelled holds' units stand for all the losers.
    // Per transaction for its other items; per seat for its seat items, since the holds the
    // memory answered are not a fair sample (the more seats asked, the likelier one is known).
    let lost_scale = lost_d / cancelled.max(1) as f64;
    let cancelled_seats = by_customer
        .values()
        .filter(|a| !a.won)
        .flat_map(|a| &a.hold)
        .filter(|t| is_seat(t) && t.action == Action::Put)
        .count();
    let lost_seat_scale =
        rush.seats_asked.saturating_sub(rush.seats_won) as f64 / cancelled_seats.max(1) as f64;
    let per_won = won_u.per(won_d);
    let per_lost = lost_u.per(lost_d);
    // Computed by AWS's rules for the committed holds too: a check of the loser arithmetic.
    let committed: Vec<&Usage> = i
        .rush_usage
        .iter()
        .filter(|u| is_hold(u) && u.outcome == Outcome::Done && u.reported)
        .collect();
    let committed_reported: f64 = committed
        .iter()
        .flat_map(|u| &u.touches)
        .filter(|t| t.index.is_none())
        .map(|t| t.wcu)
        .sum();
    let committed_computed: f64 = committed.iter().map(|u| u.computed().1).sum();
    let refused_holds = i
        .rush_usage
        .iter()
        .filter(|u| is_hold(u) && u.outcome == Outcome::Refused)
        .count();

    // Partition keys of the attempts: units per attempt, and how many customers touched each.
    let per_key = |today: bool| {
        let mut keys: HashMap<Key, (Units, HashSet<&str>, bool)> = HashMap::new();
        for (c, attempt) in &by_customer {
            // A loser's hold transaction stands for the losers the seat memory answered too.
            let weight = |t: &Touch| match (attempt.won, is_seat(t)) {
                (true, _) => 1.0,
                (false, true) => lost_seat_scale,
                (false, false) => lost_scale,
            };
            let touches = (attempt.hold.iter().map(|t| (*t, weight(t))))
                .chain(attempt.other.iter().map(|t| (*t, 1.0)));
            for (t, weight) in touches.filter(|(t, _)| t.pk != "?") {
                let e = keys.entry(key_of(t, today)).or_default();
                e.0.add_weighted(t, weight);
                e.1.insert(c);
                e.2 |= is_seat(t);
            }
        }
        keys
    };
    let new_keys = per_key(false);
    let seat_keys: Vec<(&Key, &Units)> = new_keys
        .iter()
        .filter(|(_, v)| v.2)
        .map(|(k, v)| (k, &v.0))
        .collect();
    let seat_total: f64 = seat_keys.iter().map(|(_, u)| u.wcu).sum::<f64>() / attempts;
    let blocks_measured = seat_keys.len() > 1 || seat_keys.iter().any(|(k, _)| k.1.contains("#B"));
    // The shared keys other than seat partitions: touched by more than one customer.
    let shared_other = |keys: &HashMap<Key, (Units, HashSet<&str>, bool)>| {
        keys.iter()
            .filter(|(_, v)| v.1.len() > 1 && !v.2)
            .map(|(k, v)| (k.clone(), v.0.per(attempts)))
            .max_by(|a, b| a.1.wcu.total_cmp(&b.1.wcu))
    };
    let other_new = shared_other(&new_keys);
    let other_wcu = other_new.as_ref().map_or(0.0, |o| o.1.wcu);
    let max_rcu_key = new_keys
        .iter()
        .filter(|(_, v)| v.1.len() > 1)
        .map(|(k, v)| (k.clone(), v.0.per(attempts).rcu))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let hold_rcu = max_rcu_key.as_ref().map_or(0.0, |r| r.1);
    // The seat partition of today's design: every seat (and the show's own items) on `SHOW#<id>`.
    let today_keys = per_key(true);
    let today_show = today_keys
        .iter()
        .filter(|(_, v)| v.2)
        .map(|(k, v)| (k.clone(), v.0.per(attempts)))
        .max_by(|a, b| a.1.wcu.total_cmp(&b.1.wcu));
    let today_wcu = today_show.as_ref().map_or(0.0, |t| t.1.wcu);
    let hottest_seat_key = seat_keys
        .iter()
        .map(|(k, u)| ((*k).clone(), u.wcu / attempts))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let screen_measured_block = if blocks_measured {
        hottest_seat_key.as_ref().map_or(0.0, |h| h.1)
    } else {
        seat_total / screen_blocks
    };
    let hot = |blocks: f64| (blocks * HOT_BLOCK_SHARE).ceil().max(1.0);
    let holds_at = |block_wcu: f64| {
        ceiling(PARTITION_WCU, block_wcu)
            .min(ceiling(PARTITION_WCU, other_wcu))
            .min(ceiling(PARTITION_RCU, hold_rcu))
    };
    let screen_holds = holds_at(screen_measured_block);
    let screen_holds_hot = holds_at(seat_total / hot(screen_blocks));
    let arena_holds = holds_at(seat_total / hot(arena_blocks));
    let today_holds = ceiling(PARTITION_WCU, today_wcu)
        .min(ceiling(PARTITION_WCU, other_wcu))
        .min(ceiling(PARTITION_RCU, hold_rcu));

    let rush_hot = hottest(i.rush_usage, false);
    let rush_hot_today = hottest(i.rush_usage, true);

    // --- The flow.
    let flow = i.flow;
    let completed = flow.completed.max(1) as f64;
    let step = |name: &str| {
        crate::flow::STEPS
            .iter()
            .position(|s| *s == name)
            .and_then(|p| flow.steps.get(p))
    };
    let seat_map_requests = step("seat map").map_or(0, |s| s.requests) as f64;
    let all_flow: Vec<&Usage> = i.flow_usage.iter().collect();
    let flow_total = total(&all_flow);
    let holds: Vec<&Usage> = i.flow_usage.iter().filter(|u| is_hold(u)).collect();
    let won_tx: Vec<&Usage> = holds
        .iter()
        .copied()
        .filter(|u| u.outcome == Outcome::Done)
        .collect();
    let lost_tx: Vec<&Usage> = holds
        .iter()
        .copied()
        .filter(|u| u.outcome == Outcome::Refused)
        .collect();
    // A loser's own rate-window count (an UpdateItem of `RATE#` outside any transaction).
    let loser_counts: Vec<&Usage> = i
        .flow_usage
        .iter()
        .filter(|u| {
            u.operation == "UpdateItem"
                && u.touches.first().is_some_and(|t| t.pk.starts_with("RATE#"))
        })
        .collect();
    let flow_won = total(&won_tx).per(won_tx.len() as f64);
    let flow_lost_n = flow.conflicts.max(lost_tx.len()) as f64;
    let mut lost_all = lost_tx.clone();
    lost_all.extend(&loser_counts);
    let flow_lost = total(&lost_all).per(flow_lost_n);
    let confirms: Vec<&Usage> = i
        .flow_usage
        .iter()
        .filter(|u| is_confirm(u) && u.outcome == Outcome::Done)
        .collect();
    let per_confirm = total(&confirms).per(confirms.len() as f64);
    // A confirm's share on its sold counter (`SHOW#<id>#SOLD#<k>`: one of SOLD_SHARDS
    // partition keys, picked by the booking id's hash, so a show's confirms spread over all).
    let confirm_show_wcu = confirms
        .iter()
        .flat_map(|u| &u.touches)
        .filter(|t| t.index.is_none() && t.pk.contains("#SOLD#"))
        .map(|t| t.wcu)
        .sum::<f64>()
        / confirms.len().max(1) as f64;
    let confirm_seat_wcu = confirms
        .iter()
        .flat_map(|u| &u.touches)
        .filter(|t| is_seat(t))
        .map(|t| t.wcu)
        .sum::<f64>()
        / confirms.len().max(1) as f64;
    let seat_queries: Vec<&Usage> = i.flow_usage.iter().filter(|u| is_seat_query(u)).collect();
    let sq_total = total(&seat_queries);
    let sq_items: usize = seat_queries
        .iter()
        .flat_map(|u| &u.touches)
        .map(|t| t.items)
        .sum();
    let sq_bytes: usize = seat_queries
        .iter()
        .flat_map(|u| &u.touches)
        .map(|t| t.bytes)
        .sum();
    let consistent = seat_queries.iter().any(|u| u.consistent);
    let read_factor = if consistent { 1.0 } else { 0.5 };
    let item_bytes = if sq_items > 0 {
        sq_bytes as f64 / sq_items as f64
    } else {
        0.0
    };
    let per_seat_map = sq_total.per(seat_map_requests);
    let queries_per_map = seat_queries.len() as f64 / seat_map_requests.max(1.0);
    // A sold-out block: SEATS_PER_BLOCK seat items in one Query.
    let read_units = |items: f64| ((items * item_bytes / 4096.0).ceil().max(1.0)) * read_factor;
    let block_rcu = read_units(SEATS_PER_BLOCK as f64);
    let origin_new = ceiling(PARTITION_RCU, block_rcu);
    let origin_today_screen = ceiling(PARTITION_RCU, read_units(screen.capacity() as f64));
    let origin_today_arena = ceiling(PARTITION_RCU, read_units(arena_seats));
    let maps = |origin: f64| origin / ORIGIN_SHARE;
    let flow_hot = hottest(i.flow_usage, false);
    let flow_hot_today = hottest(i.flow_usage, true);

    // --- Cost per 1,000 completed bookings.
    let memory = memory_sizes(i.template);
    let median =
        |name: &str| step(name).map_or(0.0, |s| crate::util::percentile(&s.latencies, 0.5));
    let requests = |name: &str| step(name).map_or(0, |s| s.requests) as f64;
    let webhooks = requests("payment webhook");
    let events = {
        let outbox_deletes = i
            .flow_usage
            .iter()
            .filter(|u| u.outcome == Outcome::Done)
            .flat_map(|u| &u.touches)
            .filter(|t| {
                t.index.is_none() && t.action == Action::Delete && t.pk.starts_with("OUTBOX#")
            })
            .count() as f64;
        outbox_deletes.max(i.flow_ops.events.len() as f64)
    };
    let hold_ms = median("hold seats (POST /bookings)");
    let lambdas: Vec<(&str, f64, f64, &str)> = vec![
        ("browse-shows", requests("browse shows"), median("browse shows"), "measured"),
        ("get-seat-map", requests("seat map"), median("seat map"), "measured"),
        ("create-booking", requests("hold seats (POST /bookings)"), hold_ms, "measured"),
        ("initiate-payment", requests("initiate payment"), median("initiate payment"), "measured"),
        ("payment-webhook", webhooks, median("payment webhook"), "measured"),
        ("get-booking", requests("get booking (each poll)"), median("get booking (each poll)"), "measured"),
        ("confirm-payment", webhooks, hold_ms, "one message a batch (an upper bound: batches of up to 10); duration assumed = the hold's median"),
        ("notify", events, hold_ms, "one invocation per event (upper bound); duration assumed = the hold's median"),
    ];
    let mut lambda_rows = String::new();
    let mut lambda_usd = 0.0;
    for (name, n, ms, how) in &lambdas {
        let mb = memory.get(*name).copied().unwrap_or(256.0);
        let gb_s = n * ms.ceil() / 1000.0 * mb / 1024.0;
        let usd = gb_s * USD_PER_LAMBDA_GB_S_ARM + n * USD_PER_LAMBDA_REQUEST;
        lambda_usd += usd;
        let _ = writeln!(
            lambda_rows,
            "| Lambda {name} ({mb:.0} MB arm64) | {:.2} invocations × {ms:.0} ms ({how}) | ${:.4} |",
            n / completed,
            usd / completed * 1000.0
        );
    }
    let ddb_usd = flow_total.rcu * USD_PER_RRU + flow_total.wcu * USD_PER_WRU;
    // SQS: the webhook's send; the event source's receive and delete per message (batches of
    // one: an upper bound); each event delivered to one queue (EventBridge's send, receive, delete).
    let sqs_requests = i.flow_ops.sqs.len() as f64 + 2.0 * webhooks + 3.0 * events;
    let sqs_usd = sqs_requests * USD_PER_SQS_REQUEST;
    let events_usd = events * USD_PER_EVENT;
    let total_usd = ddb_usd + lambda_usd + sqs_usd + events_usd;
    let per_1000 = |usd: f64| usd / completed * 1000.0;

    // --- The Markdown.
    let _ = writeln!(
        md,
        "Every DynamoDB request of the handlers' client asked for `ReturnConsumedCapacity: INDEXES` (an SDK interceptor, \
         `infra/local/src/counter.rs`); units are accounted per partition key (table and each GSI) and per second. \
         DynamoDB Local's reported units are used where it reports them; a cancelled transaction or a failed condition \
         (reported as nothing) is billed by AWS's rules from its item sizes (attribute names + values; a transactional write \
         2 WCU per item per KB, a standard write 1 WCU per KB, the item's size the larger of what was written and what was \
         there when the error carries it; nothing written, so no GSI units). A transaction's units are split over its items by \
         their size; a read is billed at least AWS's minimum (half a unit eventually consistent: DynamoDB Local reports an empty Query as 0). \
         Check of those rules on the rush's {} committed holds, table units: computed {:.0} WCU, DynamoDB Local reported {:.0} WCU.\n",
        committed.len(),
        committed_computed,
        committed_reported
    );
    let _ = writeln!(
        md,
        "### Units per operation (measured)\n\n| Operation | RCU | WCU | of which on seat partitions (WCU) | measured over |\n|---|---|---|---|---|"
    );
    let _ = writeln!(
        md,
        "| rush: hold attempt won | {:.2} | {:.2} | {:.2} | {} winners (every request of the customer) |",
        per_won.rcu,
        per_won.wcu,
        won_seat.wcu / won_d.max(1.0),
        won_d
    );
    let _ = writeln!(
        md,
        "| rush: hold attempt lost | {:.2} | {:.2} | {:.2} | {} losers ({} hold transactions cancelled, computed) |",
        per_lost.rcu,
        per_lost.wcu,
        lost_seat.wcu / lost_d.max(1.0),
        lost_d,
        refused_holds
    );
    let _ = writeln!(
        md,
        "| flow: hold attempt won | {:.2} | {:.2} | – | {} committed hold transactions |",
        flow_won.rcu,
        flow_won.wcu,
        won_tx.len()
    );
    let _ = writeln!(
        md,
        "| flow: hold attempt lost (its transaction and its rate-window count) | {:.2} | {:.2} | – | {} 409s ({} cancelled transactions, {} rate counts) |",
        flow_lost.rcu,
        flow_lost.wcu,
        flow_lost_n,
        lost_tx.len(),
        loser_counts.len()
    );
    let _ = writeln!(
        md,
        "| flow: confirm (its transaction) | {:.2} | {:.2} | {:.2} | {} committed confirms ({:.2} WCU on its sold counter) |",
        per_confirm.rcu,
        per_confirm.wcu,
        confirm_seat_wcu,
        confirms.len(),
        confirm_show_wcu
    );
    let _ = writeln!(
        md,
        "| flow: seat map (its block Queries) | {:.2} | – | – | {} seat maps, {:.1} Queries each, {:.0} bytes a seat item, {} |",
        per_seat_map.rcu,
        seat_map_requests,
        queries_per_map,
        item_bytes,
        if consistent { "strongly consistent" } else { "eventually consistent" }
    );
    let _ = writeln!(
        md,
        "| flow: per completed booking (everything: browse, seat maps, holds won and lost, payment, webhook, confirm, polls, notify) | {:.2} | {:.2} | – | {} bookings, {} requests |\n",
        flow_total.rcu / completed,
        flow_total.wcu / completed,
        flow.completed,
        i.flow_usage.len()
    );
    let mut kinds: BTreeMap<String, (usize, Units)> = BTreeMap::new();
    for u in i.flow_usage {
        let e = kinds.entry(kind(u)).or_default();
        e.0 += 1;
        for t in &u.touches {
            e.1.add(t);
        }
    }
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort_by(|a, b| (b.1 .1.rcu + b.1 .1.wcu).total_cmp(&(a.1 .1.rcu + a.1 .1.wcu)));
    let _ = writeln!(
        md,
        "<details><summary>The flow's requests by kind, per completed booking</summary>\n\n| Request | count | RCU | WCU |\n|---|---|---|---|"
    );
    for (k, (n, u)) in &kinds {
        let _ = writeln!(
            md,
            "| {k} | {:.2} | {:.2} | {:.2} |",
            *n as f64 / completed,
            u.rcu / completed,
            u.wcu / completed
        );
    }
    let _ = writeln!(md, "\n</details>\n");

    let _ = writeln!(
        md,
        "### Hottest partition keys (measured, per second; DynamoDB Local's own pace, not AWS's)\n\n| Run | hottest WCU/s | hottest RCU/s | hottest item, writes/s | same, today's design (seat items on `SHOW#<id>`) |\n|---|---|---|---|---|"
    );
    for (name, h, t) in [
        ("seat rush", &rush_hot, &rush_hot_today),
        ("booking flow", &flow_hot, &flow_hot_today),
    ] {
        let _ = writeln!(
            md,
            "| {name} | {:.0} ({}) | {:.0} ({}) | {:.0} (`{}`) | {:.0} WCU/s ({}), {:.0} RCU/s ({}) |",
            h.wcu.0,
            show_key(&h.wcu.1),
            h.rcu.0,
            show_key(&h.rcu.1),
            h.item_writes.0,
            h.item_writes.1,
            t.wcu.0,
            show_key(&t.wcu.1),
            t.rcu.0,
            show_key(&t.rcu.1)
        );
    }
    let _ = writeln!(md);

    let other_note = other_new
        .as_ref()
        .map(|(k, u)| format!("{} at {:.3} WCU per attempt", show_key(k), u.wcu))
        .unwrap_or_else(|| "none".into());
    let _ = writeln!(
        md,
        "### One show's ceiling (no partition over {PARTITION_WCU:.0} WCU/s or {PARTITION_RCU:.0} RCU/s)\n\n\
         | Show | hold attempts/s, new (`SHOW#<id>#B<n>`) | today (`SHOW#<id>`) | seat-map requests/s, new | today | assumptions |\n|---|---|---|---|---|---|"
    );
    let seat_note = format!(
        "{seat_total:.2} WCU per attempt on seat partitions (the rush's mix: {:.0} % lost, 1–4 seats each, 2.5 on average), \
         every loser taken to reach its hold transaction (this rush's {cancelled} cancelled holds stand for its {lost_d:.0} losers, \
         seat by seat for their seat items: the rest were 409s from a container's memory of taken seats, not counted on here); \
         the hottest other shared key {other_note}; hold path reads {hold_rcu:.3} RCU per attempt on its hottest shared key",
        lost_d * 100.0 / attempts,
    );
    let map_note = format!(
        "each origin seat map reads every block once ({block_rcu:.1} RCU a sold-out block of {SEATS_PER_BLOCK} seat items × {item_bytes:.0} B, {}), so {} origin reads/s per show; today one Query of every seat item; {:.0} % of requests reach the origin (1 s shared cache, `Cache-Control: max-age=1`); the show item from the container's cache; no container-local availability cache",
        if consistent { "strongly consistent" } else { "eventually consistent" },
        fmt_rate(origin_new),
        ORIGIN_SHARE * 100.0
    );
    let _ = writeln!(
        md,
        "| 300-seat screen (15 × 20, {screen_blocks:.0} blocks), the rush's seats (uniform) | **{}** ({}) | {} | **{}** | {} | {seat_note}; {map_note} |",
        fmt_rate(screen_holds),
        if blocks_measured {
            format!(
                "measured: hottest block {} at {screen_measured_block:.2} WCU per attempt",
                hottest_seat_key
                    .as_ref()
                    .map(|h| show_key(&h.0))
                    .unwrap_or_default()
            )
        } else {
            format!("the seat items were still on one key in this run: {seat_total:.2} ÷ {screen_blocks:.0} blocks")
        },
        fmt_rate(today_holds),
        fmt_rate(maps(origin_new)),
        fmt_rate(maps(origin_today_screen)),
    );
    let _ = writeln!(
        md,
        "| 300-seat screen, demand on the best {:.0} % of blocks ({:.0}) | {} | {} | {} | {} | as above |",
        HOT_BLOCK_SHARE * 100.0,
        hot(screen_blocks),
        fmt_rate(screen_holds_hot),
        fmt_rate(today_holds),
        fmt_rate(maps(origin_new)),
        fmt_rate(maps(origin_today_screen)),
    );
    let _ = writeln!(
        md,
        "| 20,000-seat arena ({ARENA_ROWS} × {ARENA_ROW_SEATS}, {arena_blocks:.0} blocks, generated `Layout`), demand on the best {:.0} % of blocks ({:.0}) | **{}** | {} | **{}** | {} | the rush's per-attempt units (above); {map_note} |\n",
        HOT_BLOCK_SHARE * 100.0,
        hot(arena_blocks),
        fmt_rate(arena_holds),
        fmt_rate(today_holds),
        fmt_rate(maps(origin_new)),
        fmt_rate(maps(origin_today_arena)),
    );
    let _ = writeln!(
        md,
        "Budget: a 20,000-seat show takes ≥ {HOLDS_BUDGET:.0} hold attempts/s and ≥ {SEAT_MAPS_BUDGET:.0} seat-map requests/s: {} holds, {} seat maps. \
         Arena hold attempts/s by hot-spot share: {}. \
         Confirms: {:.2} WCU of each lands on one of the show's {SOLD_SHARDS} sold counters (`SHOW#<id>#SOLD#<k>`, each its own partition key, picked by the booking id's hash), so one show confirms at most {} bookings/s there \
         (and {:.2} WCU on its seats' blocks). \
         At the arena's budget ({HOLDS_BUDGET:.0} attempts/s on {:.0} hot blocks × {SEATS_PER_BLOCK} seats, 2.5 seats an attempt) a seat item takes about {:.0} writes/s.\n",
        if arena_holds >= HOLDS_BUDGET { "✅" } else { "❌" },
        if maps(origin_new) >= SEAT_MAPS_BUDGET { "✅" } else { "❌" },
        [1.0, 0.5, 0.25, 0.1]
            .iter()
            .map(|s| format!(
                "{:.0} % → {}",
                s * 100.0,
                fmt_rate(holds_at(seat_total / (arena_blocks * s).ceil().max(1.0)))
            ))
            .collect::<Vec<_>>()
            .join(", "),
        confirm_show_wcu,
        fmt_rate(f64::from(SOLD_SHARDS) * ceiling(PARTITION_WCU, confirm_show_wcu)),
        confirm_seat_wcu,
        hot(arena_blocks),
        HOLDS_BUDGET * 2.5 / (hot(arena_blocks) * SEATS_PER_BLOCK as f64),
    );

    let _ = writeln!(
        md,
        "### Cost per 1,000 completed bookings (on demand, us-east-1 prices of {PRICE_DATE})\n\n\
         | Service | per booking (measured in the flow) | per 1,000 bookings |\n|---|---|---|"
    );
    let _ = writeln!(
        md,
        "| DynamoDB (${:.3}/M read units, ${:.3}/M write units) | {:.2} RRU + {:.2} WRU | ${:.4} |",
        USD_PER_RRU * 1e6,
        USD_PER_WRU * 1e6,
        flow_total.rcu / completed,
        flow_total.wcu / completed,
        per_1000(ddb_usd)
    );
    md.push_str(&lambda_rows);
    let _ = writeln!(
        md,
        "| SQS (${:.2}/M requests) | {:.2} requests (the webhook's sends; per message a receive and a delete; per event EventBridge's send, a receive and a delete; idle long polls not counted) | ${:.4} |",
        USD_PER_SQS_REQUEST * 1e6,
        sqs_requests / completed,
        per_1000(sqs_usd)
    );
    let _ = writeln!(
        md,
        "| EventBridge (${:.2}/M events) | {:.2} events (outbox items published) | ${:.4} |",
        USD_PER_EVENT * 1e6,
        events / completed,
        per_1000(events_usd)
    );
    let _ = writeln!(md, "| **total** | | **${:.4}** |\n", per_1000(total_usd));
    let _ = writeln!(
        md,
        "Lambda: GB-s = invocations × the step's median latency in the flow (rounded up to 1 ms, as Lambda bills; local latency \
         under load, an overestimate of the handler's time) × MemorySize (template.yaml) at ${USD_PER_LAMBDA_GB_S_ARM}/GB-s on arm64, \
         plus ${:.2}/M requests (${:.4} of the Lambda total per 1,000 bookings is request charges, independent of durations); API Gateway, CloudFront, data transfer, storage and free tiers are not included.{}\n",
        USD_PER_LAMBDA_REQUEST * 1e6,
        per_1000(lambdas.iter().map(|l| l.1).sum::<f64>() * USD_PER_LAMBDA_REQUEST),
        if i.dropped > 0 || outside > 0 {
            format!(
                " Rush requests outside the attempts (the rush's catalogue and warming hold): {outside}; records dropped: {}.",
                i.dropped
            )
        } else {
            String::new()
        }
    );
    Capacity {
        markdown: md,
        arena_holds,
        arena_seat_maps: maps(origin_new),
        today_arena_holds: today_holds,
        today_arena_seat_maps: maps(origin_today_arena),
        usd_per_1000: per_1000(total_usd),
    }
}
