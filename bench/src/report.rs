//! The Markdown report (every budget of docs' Budgets table next to its measurement) and the
//! latency-distribution chart (a hand-written SVG: one cumulative curve per step, log time axis).

use crate::{
    capacity::Capacity,
    coldstart::{Cold, ColdStarts},
    compare::{Compare, Side},
    cpu::Cpu,
    flow::Flow,
    probes::Probes,
    rush::Rush,
    trips::Trips,
    util::percentile,
};

pub const PASS: &str = "✅ pass";
pub const FAIL: &str = "❌ FAIL";
pub const NOT_MEASURED: &str = "⚪ not measured";

pub fn mark(ok: bool) -> &'static str {
    if ok {
        PASS
    } else {
        FAIL
    }
}

pub struct Results<'a> {
    pub rush: &'a Rush,
    pub flow: &'a Flow,
    pub trips: &'a Trips,
    pub probes: &'a Probes,
    pub cpu: &'a Cpu,
    pub cold: &'a ColdStarts,
    pub compare: &'a Compare,
    pub capacity: Option<&'a Capacity>,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// The worst of `f` over the functions that have it: (value, function).
fn worst<T: PartialOrd + Copy>(cold: &[Cold], f: impl Fn(&Cold) -> Option<T>) -> Option<(T, &str)> {
    cold.iter()
        .filter_map(|c| f(c).map(|v| (v, c.function.as_str())))
        .fold(None, |acc, (v, n)| match acc {
            Some((best, _)) if best >= v => acc,
            _ => Some((v, n)),
        })
}

/// The budgets table: (what, budget, measured, mark) rows. Also whether any measured budget failed.
pub fn budgets(r: &Results) -> (String, Vec<String>) {
    let mut rows: Vec<[String; 4]> = Vec::new();
    let mut missed = Vec::new();
    let mut row = |what: &str, budget: &str, measured: String, verdict: &'static str| {
        if verdict == FAIL {
            missed.push(what.to_owned());
        }
        rows.push([what.into(), budget.into(), measured, verdict.into()]);
    };

    let t = r.trips;
    row(
        "DynamoDB round trips, warm",
        "hold 1 (+1 show read when not cached); confirm ≤ 2; seat map 1 per partition it spans, in parallel; webhook 0 (+1 SQS send)",
        format!(
            "hold {} (cold container {} calls in {} round trips); confirm {}; seat map {} Queries (one per block) in {} round trip(s); webhook {} (+{} SQS send) — see Round trips",
            t.warm_hold.ddb.len(),
            t.cold_hold.ddb.len(),
            t.cold_hold.ddb_rounds,
            t.confirm.ddb.len(),
            t.seat_map.ddb.len(),
            t.seat_map.ddb_rounds,
            t.webhook.ddb.len(),
            t.webhook.sqs.iter().filter(|o| *o == "SendMessage").count(),
        ),
        mark(t.pass()),
    );

    let rush = r.rush;
    let flow = r.flow;
    let at_scale = rush.clients >= 2000;
    row(
        "Oversell under contention",
        "0, at 2,000 concurrent hold attempts on one show",
        format!(
            "{} seats held twice or not by their winner at {} concurrent attempts on one 300-seat show (seat items read back); booking flow, read back once the queues stopped: {} held bookings, {} seats of CONFIRMED bookings not SOLD to them, {} SOLD items of bookings not CONFIRMED ({} confirmed seats seen by clients, {} in two bookings)",
            rush.oversold, rush.clients, flow.held.len(), flow.mismatched, flow.sold_unconfirmed, flow.confirmed_seats, flow.double_sold
        ),
        if !at_scale {
            NOT_MEASURED
        } else {
            mark(rush.oversold == 0 && flow.double_sold == 0 && flow.mismatched == 0 && flow.sold_unconfirmed == 0)
        },
    );

    let five_xx = rush.five_xx + flow.five_xx() + r.probes.five_xx;
    row(
        "5xx under load or bad input",
        "0",
        format!(
            "{five_xx} (seat rush {}, booking flow {} of {} requests, {} bad-input probes {}{})",
            rush.five_xx,
            flow.five_xx(),
            flow.requests(),
            r.probes.sent,
            r.probes.five_xx,
            if r.probes.off_contract.is_empty() {
                String::new()
            } else {
                format!(
                    "; not a 4xx error body: {}",
                    r.probes.off_contract.join(", ")
                )
            }
        ),
        mark(five_xx == 0),
    );

    let cold = &r.cold.functions;
    let measured = cold.iter().filter(|c| c.init_ms.is_some()).count();
    let all_ran = measured == cold.len() && !cold.is_empty();
    match worst(cold, |c| c.init_ms) {
        Some((ms, name)) => row(
            "Cold start: init",
            "under 50 ms locally per function",
            format!(
                "worst {ms:.1} ms ({name}); spawn → runtime's first GET /next, median of {} runs, {measured}/{} functions; hello-world {:.1} ms; worst spawn → first answer {}",
                r.cold.runs,
                cold.len(),
                r.cold.hello.init_ms.unwrap_or(0.0),
                worst(cold, |c| c.answer_ms)
                    .map(|(ms, n)| format!("{ms:.1} ms ({n})"))
                    .unwrap_or_else(|| "–".into()),
            ),
            mark(ms < 50.0 && all_ran),
        ),
        None => row(
            "Cold start: init",
            "under 50 ms locally per function",
            "no function started".into(),
            FAIL,
        ),
    }
    match (&r.cold.arm64_dir, worst(cold, |c| c.arm64_bytes)) {
        (Some(_), Some((bytes, name))) => {
            let all_stripped = cold.iter().all(|c| c.arm64_stripped != Some(false));
            row(
                "Cold start: binary size",
                "stripped arm64 binary under 8 MB",
                format!(
                    "worst {:.2} MB ({name}), .aws-sam/build/*/bootstrap, {}",
                    mb(bytes),
                    if all_stripped { "all stripped" } else { "NOT all stripped" }
                ),
                mark(bytes < 8_000_000 && all_stripped),
            )
        }
        _ => row(
            "Cold start: binary size",
            "stripped arm64 binary under 8 MB",
            format!(
                "no .aws-sam/build here: run `make build` (arm64 release). For reference the x86_64 bench-fast build (opt-level s, no fat LTO, unwind) is at most {}",
                worst(cold, |c| c.bytes)
                    .map(|(b, n)| format!("{:.2} MB ({n})", mb(b)))
                    .unwrap_or_else(|| "–".into())
            ),
            NOT_MEASURED,
        ),
    }
    match worst(cold, |c| c.rss_kib) {
        Some((kib, name)) => row(
            "Cold start: peak RSS",
            "under 40 MB",
            format!(
                "worst {:.1} MiB ({name}), VmHWM after the first invocation; hello-world {:.1} MiB",
                mib(kib),
                mib(r.cold.hello.rss_kib.unwrap_or(0))
            ),
            mark(kib * 1024 < 40 * 1024 * 1024 && all_ran),
        ),
        None => row(
            "Cold start: peak RSS",
            "under 40 MB",
            "no function started".into(),
            FAIL,
        ),
    }

    match r.cpu.worst_p99() {
        Some((name, us)) => row(
            "Handler CPU per request (no I/O)",
            "under 100 µs p99",
            format!(
                "worst p99 {us:.0} µs ({name}) over {} hot-path handlers, recorded AWS responses replayed, thread CPU time; one bare SDK GetItem alone costs {:.0} µs p99 — see Handler CPU",
                r.cpu.results.len(),
                crate::util::percentile(&r.cpu.sdk_floor, 0.99),
            ),
            mark(us < 100.0),
        ),
        None => row(
            "Handler CPU per request (no I/O)",
            "under 100 µs p99",
            "no handler measured".into(),
            NOT_MEASURED,
        ),
    }

    let ratio = rush.ceiling_ratio();
    let p95_ratio = rush.p95() / rush.ceiling_p95().max(f64::MIN_POSITIVE);
    row(
        "Local seat rush (DynamoDB Local, 2 cores)",
        "at least 0.9 of DynamoDB Local's own transaction ceiling measured in the same run, p95 at most 1.5× the ceiling's",
        format!(
            "{:.0} hold attempts/s, p95 {:.0} ms; the ceiling (the API's hold transaction straight from the SDK) {:.0}/s, p95 {:.0} ms: {ratio:.2} × its rate, {p95_ratio:.2} × its p95",
            rush.attempts_per_s(),
            rush.p95(),
            rush.raw_per_s,
            rush.ceiling_p95()
        ),
        mark(ratio >= 0.9 && p95_ratio <= 1.5),
    );

    let (measured, verdict) = end_to_end(rush, flow, r.compare);
    row(
        "Local end-to-end (DynamoDB Local, 2 cores)",
        "more holds/s and a lower p95 than a Node/PostgreSQL/Redis booking service on the same hold workload, side by side in one run; DynamoDB Local itself is the ceiling to approach",
        measured,
        verdict,
    );

    match r.capacity {
        Some(c) => {
            row(
                "One hot show on AWS (capacity model)",
                "a 20,000-seat show takes ≥ 10,000 hold attempts/s and ≥ 100,000 seat-map requests/s with no partition over 1,000 WCU/s or 3,000 RCU/s",
                format!(
                    "20,000-seat arena: {:.0} hold attempts/s, {:.0} seat-map requests/s (today's design, one partition key a show: {:.0} and {:.0}) under the printed assumptions; the waiting room in its own section — see Capacity",
                    c.arena_holds, c.arena_seat_maps, c.today_arena_holds, c.today_arena_seat_maps
                ),
                mark(
                    c.arena_holds >= crate::capacity::HOLDS_BUDGET
                        && c.arena_seat_maps >= crate::capacity::SEAT_MAPS_BUDGET,
                ),
            );
            row(
                "Cost",
                "DynamoDB, Lambda, SQS and EventBridge cost per 1,000 completed bookings, reported, lower each round",
                format!(
                    "${:.4} per 1,000 completed bookings at on-demand prices (no earlier figure in this run to compare) — see Capacity",
                    c.usd_per_1000
                ),
                NOT_MEASURED,
            );
        }
        None => row(
            "One hot show on AWS (capacity model)",
            "a 20,000-seat show takes ≥ 10,000 hold attempts/s and ≥ 100,000 seat-map requests/s",
            "not computed".into(),
            NOT_MEASURED,
        ),
    }

    let mut s = String::from("| What | Budget | Measured | |\n|---|---|---|---|\n");
    for [a, b, c, d] in rows {
        s.push_str(&format!("| {a} | {b} | {c} | {d} |\n"));
    }
    (s, missed)
}

/// The end-to-end budget: ours beside the Node service's seat rush; pass only when ours has
/// more hold attempts/s AND a lower p95.
fn end_to_end(rush: &Rush, flow: &Flow, compare: &Compare) -> (String, &'static str) {
    let ours = format!(
        "ours {:.0} hold attempts/s, p95 {:.0} ms",
        rush.attempts_per_s(),
        rush.p95()
    );
    let ceiling = format!(
        "DynamoDB Local ceiling: the API's hold transaction straight from the SDK, {:.0}/s at the same concurrency; our API reaches {:.2} × it",
        rush.raw_per_s,
        rush.ceiling_ratio()
    );
    let node = match compare {
        Compare::Ran { node, .. } => node,
        Compare::Skipped(why) => {
            return (
                format!(
                    "Node/PostgreSQL/Redis side: not measured — {why}. Our side: seat rush {ours} ({ceiling}); booking flow {:.1} holds/s, hold p95 {:.0} ms",
                    flow.holds_per_s(),
                    flow.hold_p95()
                ),
                NOT_MEASURED,
            )
        }
    };
    let faster = rush.attempts_per_s() > node.attempts_per_s();
    let lower = rush.p95() < node.p95();
    let why = if faster && lower {
        String::new()
    } else {
        format!(
            ". Behind{}: every hold that reaches DynamoDB is one TransactWriteItems (a 409 from the seat memory still writes its rate-window count, sent together with other losers'), and DynamoDB Local serialises transactions: its ceiling here is {:.0}/s (the API's hold transactions straight from the SDK, same concurrency), {:.2} × their holds/s{}; theirs turns a conflict away with one Redis Lua call and writes PostgreSQL only for the winners",
            match (faster, lower) {
                (false, false) => " on both",
                (false, true) => " on holds/s",
                _ => " on p95",
            },
            rush.raw_per_s,
            rush.raw_per_s / node.attempts_per_s(),
            if rush.raw_per_s <= node.attempts_per_s() {
                ", so even an API at the ceiling would be behind"
            } else {
                ""
            },
        )
    };
    (
        format!(
            "ours {:.0} hold attempts/s, p95 {:.0} ms vs Node/PostgreSQL/Redis {:.0}/s, p95 {:.0} ms (same run, the same {} seeded holds on one 300-seat show): {:.2} × their holds/s, {:.2} × their p95{why}. Ours reaches {:.2} × the DynamoDB Local ceiling — see Side by side",
            rush.attempts_per_s(),
            rush.p95(),
            node.attempts_per_s(),
            node.p95(),
            rush.clients,
            rush.attempts_per_s() / node.attempts_per_s(),
            rush.p95() / node.p95().max(f64::MIN_POSITIVE),
            rush.ceiling_ratio(),
        ),
        mark(faster && lower),
    )
}

/// The "Side by side" section: ours and the Node service's seat rush in one table.
pub fn side_by_side(rush: &Rush, compare: &Compare) -> String {
    let (node, versions, pool) = match compare {
        Compare::Ran {
            node,
            versions,
            pool,
        } => (node, versions, pool),
        Compare::Skipped(why) => return format!("Not measured: {why}.\n"),
    };
    let n = rush.clients as f64;
    let pct = |k: usize| k as f64 * 100.0 / n;
    let theirs = |f: &dyn Fn(&Side) -> String| f(node);
    let rows: [(&str, String, String); 9] = [
        (
            "wall time",
            format!("{:.2} s", rush.wall),
            theirs(&|s| format!("{:.2} s", s.wall)),
        ),
        (
            "hold attempts/s (all answers)",
            format!("{:.0}", rush.attempts_per_s()),
            theirs(&|s| format!("{:.0}", s.attempts_per_s())),
        ),
        (
            "holds won",
            format!("{} ({:.0}/s)", rush.won, rush.won as f64 / rush.wall),
            theirs(&|s| format!("{} ({:.0}/s)", s.won, s.won as f64 / s.wall)),
        ),
        (
            "409 SEAT_LOCK_FAILED",
            format!("{} ({:.1} %)", rush.conflicted, pct(rush.conflicted)),
            theirs(&|s| format!("{} ({:.1} %)", s.conflicted, pct(s.conflicted))),
        ),
        (
            "other answers (5xx etc.)",
            format!("{} ({} 5xx)", rush.errors, rush.five_xx),
            theirs(&|s| format!("{} ({} 5xx)", s.other, s.five_xx)),
        ),
        (
            "latency p50 / p95 / p99",
            format!("{} ms", crate::util::p50_95_99(&rush.latencies)),
            theirs(&|s| format!("{} ms", crate::util::p50_95_99(&s.latencies))),
        ),
        (
            "seats sold twice (oversell)",
            rush.oversold.to_string(),
            theirs(&|s| {
                format!(
                    "{} (checked in PostgreSQL; {} won seats missing there)",
                    s.oversold, s.missing
                )
            }),
        ),
        (
            "store ceiling",
            format!(
                "DynamoDB Local: {:.0} hold transactions/s straight from the SDK at the same concurrency ({:.2} × reached)",
                rush.raw_per_s,
                rush.ceiling_ratio()
            ),
            "– (PostgreSQL + Redis)".into(),
        ),
        (
            "ours ÷ theirs",
            format!(
                "{:.2} × the holds/s, {:.2} × the p95",
                rush.attempts_per_s() / node.attempts_per_s(),
                rush.p95() / node.p95().max(f64::MIN_POSITIVE)
            ),
            String::new(),
        ),
    ];
    let mut s = format!(
        "The seat rush's workload, {clients} clients at once, each holding the same seeded 1–4 seats of a 300-seat show with the same user ids, \
         against `bench/compare/server.js`: what a Node team typically builds for `POST /bookings` — one Node process (plain `http`, HS256 bearer tokens checked), \
         a Redis lock per seat taken all-or-nothing by one Lua script (`SET … PX` the hold TTL), then the booking and its seat rows in one PostgreSQL transaction \
         (primary key on show + seat: a seat can never be sold twice), 201 or 409 with the seats someone else holds; node-postgres pool of {pool}, one multiplexed Redis connection. \
         {versions}; PostgreSQL and Redis on 127.0.0.1 in a temporary folder, durability off as DynamoDB Local's in-memory mode (fsync off, asynchronous commit). \
         Every client's keep-alive connection is open before the clock starts (ours runs in-process: neither side pays a handshake); \
         both sides' latencies go through the same statistics code. Ours is section 1's run.\n\n\
         | Seat rush, same workload | BoxOffice: create-booking handler, DynamoDB Local | Node/PostgreSQL/Redis over loopback HTTP |\n|---|---|---|\n",
        clients = rush.clients,
    );
    for (what, a, b) in rows {
        s.push_str(&format!("| {what} | {a} | {b} |\n"));
    }
    s
}

pub fn cold_table(c: &ColdStarts) -> String {
    let hello = c.hello.init_ms;
    let size = |b: Option<u64>, stripped: Option<bool>| match b {
        Some(b) => format!(
            "{b}{}",
            match stripped {
                Some(true) => " (stripped)",
                Some(false) => " (NOT stripped)",
                None => "",
            }
        ),
        None => "–".into(),
    };
    let ms = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into());
    let mut s = format!(
        "| Function | bench-fast x86_64 bytes | arm64 release bytes{} | init ms (spawn → first /next) | first answer ms | init ÷ hello-world | peak RSS MiB | answer to its request (coldevents.rs) |\n|---|---|---|---|---|---|---|---|\n",
        if c.arm64_dir.is_some() { "" } else { " (run make build)" }
    );
    for f in std::iter::once(&c.hello).chain(&c.functions) {
        let ratio = match (f.init_ms, hello) {
            (Some(a), Some(h)) if h > 0.0 => format!("{:.2}", a / h),
            _ => "–".into(),
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {ratio} | {} | {} |\n",
            if f.function == crate::coldstart::HELLO {
                "hello-world (lambda_runtime echo)".to_owned()
            } else {
                f.function.clone()
            },
            size(f.bytes, f.stripped),
            size(f.arm64_bytes, f.arm64_stripped),
            ms(f.init_ms),
            ms(f.answer_ms),
            f.rss_kib
                .map(|k| format!("{:.1}", mib(k)))
                .unwrap_or_else(|| "–".into()),
            f.outcome,
        ));
    }
    s
}

/// The release-profile candidates (bench/profiles.sh) under the same cold start.
pub fn variants_table(c: &ColdStarts) -> String {
    if c.variants.is_empty() {
        return "No release-profile candidates measured (run bench/profiles.sh first).\n".into();
    }
    let ms = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into());
    let mut s = String::from(
        "| Binary (x86_64) | bytes | init ms | first answer ms | peak RSS MiB |\n|---|---|---|---|---|\n",
    );
    for f in &c.variants {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            f.function,
            f.bytes.map(|b| b.to_string()).unwrap_or_else(|| "–".into()),
            ms(f.init_ms),
            ms(f.answer_ms),
            f.rss_kib
                .map(|k| format!("{:.1}", mib(k)))
                .unwrap_or_else(|| "–".into()),
        ));
    }
    s
}

/// Cumulative latency curves on a log time axis.
pub fn latency_svg(title: &str, series: &[(&str, &[f64])]) -> String {
    const W: f64 = 900.0;
    const H: f64 = 480.0;
    const L: f64 = 70.0;
    const R: f64 = 250.0;
    const T: f64 = 40.0;
    const B: f64 = 50.0;
    const COLORS: [&str; 10] = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
        "#bcbd22", "#17becf",
    ];
    let all: Vec<f64> = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| *v > 0.0)
        .collect();
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = all.iter().copied().fold(0.0, f64::max);
    let (lo, hi) = if all.is_empty() {
        (-1.0, 4.0)
    } else {
        (
            lo.log10().floor(),
            hi.log10().ceil().max(lo.log10().floor() + 1.0),
        )
    };
    let x = |ms: f64| L + (ms.max(10f64.powf(lo)).log10() - lo) / (hi - lo) * (W - L - R);
    let y = |q: f64| T + (1.0 - q) * (H - T - B);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{L}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
        escape(title)
    );
    for decade in (lo as i32)..=(hi as i32) {
        let v = 10f64.powi(decade);
        let px = x(v);
        let label = if v >= 1.0 {
            format!("{v:.0} ms")
        } else {
            format!("{v} ms")
        };
        s.push_str(&format!(
            "<line x1=\"{px:.1}\" y1=\"{T}\" x2=\"{px:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/>\n\
             <text x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>\n",
            H - B,
            H - B + 18.0
        ));
    }
    for q in [0.0, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0] {
        let py = y(q);
        s.push_str(&format!(
            "<line x1=\"{L}\" y1=\"{py:.1}\" x2=\"{:.1}\" y2=\"{py:.1}\" stroke=\"#eee\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            W - R,
            L - 6.0,
            py + 4.0,
            if q == 0.99 || q == 0.95 {
                format!("p{:.0}", q * 100.0)
            } else {
                format!("{:.0} %", q * 100.0)
            }
        ));
    }
    s.push_str(&format!(
        "<rect x=\"{L}\" y=\"{T}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#333\"/>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">latency (log scale)</text>\n\
         <text x=\"16\" y=\"{:.1}\" transform=\"rotate(-90 16 {:.1})\" text-anchor=\"middle\">share of requests answered within</text>\n",
        W - L - R,
        H - T - B,
        L + (W - L - R) / 2.0,
        H - 10.0,
        T + (H - T - B) / 2.0,
        T + (H - T - B) / 2.0
    ));
    for (i, (name, values)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        if !values.is_empty() {
            let n = values.len();
            let steps = 300.min(n);
            let points: Vec<String> = (0..=steps)
                .map(|k| {
                    let q = k as f64 / steps as f64;
                    format!("{:.1},{:.1}", x(percentile(values, q)), y(q))
                })
                .collect();
            s.push_str(&format!(
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.8\" points=\"{}\"/>\n",
                points.join(" ")
            ));
        }
        let ly = T + 10.0 + i as f64 * 20.0;
        s.push_str(&format!(
            "<line x1=\"{:.1}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"{color}\" stroke-width=\"3\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\">{} (n={})</text>\n",
            W - R + 12.0,
            W - R + 34.0,
            W - R + 40.0,
            ly + 4.0,
            escape(name),
            values.len()
        ));
    }
    s.push_str("</svg>\n");
    s
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
