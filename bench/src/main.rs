//! `make bench`: the project's benchmark against DynamoDB Local and moto (run it through
//! infra/with-stack.sh, as `make bench` does), through the real handlers and SDK:
//!
//! 1. the seat rush (`RUSH_CLIENTS`, default 2,000) and its SDK ceiling (`rush`), then the same
//!    workload against a Node/PostgreSQL/Redis booking service side by side (`compare`; started by
//!    bench/compare/with-compare.sh, skipped with the reason when it could not be, or
//!    `BENCH_COMPARE=off`);
//! 2. the booking flow, browse → seat map → hold → pay → webhook → confirmed (`FLOW_USERS`,
//!    default 200, for `FLOW_SECONDS`, default 60) (`flow`);
//! 3. cold starts of every function binary on a Lambda Runtime API stub, beside a hello-world
//!    `lambda_runtime` binary (`coldstart`);
//! 4. DynamoDB round trips per operation (`trips`), bad-input probes (`probes`) and handler CPU
//!    per request without I/O (`cpu`);
//!
//! then every budget of the architecture's Budgets table beside its measurement. Prints the
//! Markdown and writes bench/results/latest.md and bench/results/latency.svg. Exits non-zero when
//! a seat was sold twice or anything answered 5xx (after writing the results).

// The handlers' futures (every function behind one registry match) nest deeply.
#![recursion_limit = "256"]

mod capacity;
mod catalog;
mod coldevents;
mod coldstart;
mod compare;
mod cpu;
mod flow;
mod probes;
mod queue_capacity;
mod report;
mod rush;
mod trips;
mod util;

use boxoffice_local::{triggers, LocalStack};
use std::{collections::HashMap, fmt::Write as _, time::Instant};
use util::{env_or, BoxError};

/// The variables a deployed function reads (template.yaml's Globals), with this stack's values:
/// no secret among them, only each secret's ARN (the cold start reads the function's own from
/// the stack's Secrets Manager, so the init figures include that round trip).
fn function_env(stack: &LocalStack) -> Vec<(String, String)> {
    let c = &stack.deps.config;
    let settings = [
        ("STAGE", c.stage.clone()),
        ("LOG_LEVEL", "info".into()),
        ("TABLE_NAME", c.table_name.clone()),
        ("EVENT_BUS_NAME", c.event_bus_name.clone()),
        ("PAYMENTS_QUEUE_URL", c.payments_queue_url.clone()),
        // cancel-show queues its parts here (without it, its cold start answered 503).
        ("CANCEL_SHOW_QUEUE_URL", c.cancel_show_queue_url.clone()),
        ("JWT_ISSUER", c.jwt.issuer.clone()),
        ("JWT_AUDIENCE", c.jwt.audience.clone()),
        ("HOLD_SECONDS", c.hold_seconds.to_string()),
        (
            "PAYMENT_WINDOW_SECONDS",
            c.payment_window_seconds.to_string(),
        ),
        (
            "BOOKING_RATE_LIMIT_PER_MINUTE",
            c.booking_rate_limit_per_minute.to_string(),
        ),
        ("SANDBOX_ENABLED", c.sandbox_enabled.to_string()),
    ];
    settings
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .chain(
            c.secret_arns
                .iter()
                .map(|(set, arn)| (set.arn_variable().to_owned(), arn.clone())),
        )
        .collect()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn epoch_seconds(var: &str) -> Option<f64> {
    std::env::var(var)
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .map(|ns| ns / 1e9)
}

struct Phases {
    began: Instant,
    last: Instant,
    rows: Vec<(String, f64)>,
}

impl Phases {
    fn new() -> Self {
        let mut rows = Vec::new();
        // What `make bench` did before this process started (epoch nanoseconds it passes).
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        // make bench installs the tools in the background while cargo builds: T0 start, T1 build
        // done, TT tools installed, T2 both done.
        if let (Some(t0), Some(t1), Some(t2)) = (
            epoch_seconds("BENCH_T0"),
            epoch_seconds("BENCH_T1"),
            epoch_seconds("BENCH_T2"),
        ) {
            let tools = epoch_seconds("BENCH_TT").map(|tt| tt - t0);
            // with-compare.sh's start-up (inside with-stack.sh's command), when it ran.
            let compare_start = std::env::var("COMPARE_STARTUP_MS")
                .ok()
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map(|ms| ms / 1000.0);
            rows.push((
                format!(
                    "cargo build --profile bench-fast (bench + hello + every function), while the tools install alongside (infra/stack.sh install, install-compare-tools: {})",
                    tools.map(|t| format!("{t:.1} s")).unwrap_or_else(|| "?".into())
                ),
                t1 - t0,
            ));
            rows.push((
                "waiting for the tools install after the build".into(),
                t2 - t1,
            ));
            rows.push((
                "emulators start (with-stack.sh)".into(),
                now - t2 - compare_start.unwrap_or(0.0),
            ));
            if let Some(secs) = compare_start {
                rows.push((
                    "PostgreSQL, Redis, Node service start (with-compare.sh)".into(),
                    secs,
                ));
            }
        }
        Phases {
            began: Instant::now(),
            last: Instant::now(),
            rows,
        }
    }

    fn done(&mut self, what: &str) {
        let s = self.last.elapsed().as_secs_f64();
        eprintln!("[bench] {what}: {s:.1} s");
        self.rows.push((what.to_owned(), s));
        self.last = Instant::now();
    }

    fn table(&self) -> String {
        let mut s = String::from("| Phase | Wall time |\n|---|---|\n");
        for (what, secs) in &self.rows {
            let _ = writeln!(s, "| {what} | {secs:.1} s |");
        }
        let total: f64 = self.rows.iter().map(|r| r.1).sum();
        let _ = writeln!(
            s,
            "| **total until the report** (then the emulators stop, ~1 s) | **{total:.1} s** ({:.1} s in this process) |",
            self.began.elapsed().as_secs_f64()
        );
        s
    }
}

/// A booking flow's outcome, with the DynamoDB requests it made (and those the counter dropped
/// over its cap) and its SQS and EventBridge calls.
struct FlowRun {
    flow: flow::Flow,
    usage: Vec<boxoffice_local::counter::Usage>,
    dropped: usize,
    ops: trips::Trip,
}

/// The booking flow, confirm-payment (and notify) run from their queues as the event source
/// mappings would; the queues' depths sampled meanwhile and, with BOXOFFICE_STACK_STATS=1, where
/// the stack's time went (both printed by the capacity mode).
async fn booking_flow(
    stack: &LocalStack,
    counted: &trips::Counted,
    gw: &boxoffice_local::gateway::Gateway,
    fc: &flow::FlowCatalog,
) -> Result<FlowRun, BoxError> {
    let running = triggers::start(
        &stack.template,
        &stack.provisioned,
        &counted.deps,
        aws_sdk_sqs::Client::new(&stack.sdk),
        triggers::TriggerOptions {
            failed_visibility_seconds: 1,
            schedule_interval: None,
            schedules: false,
            except: Vec::new(),
            faults: None,
        },
    );
    counted.take();
    counted.ddb.take_usage();
    let _ = boxoffice_local::stats::take_report();
    let depth = flow::sample_queue_depths(stack);
    let mut flow = flow::run(gw, fc).await?;
    depth.abort();
    running.stop().await;
    let (usage, dropped) = counted.ddb.take_usage();
    flow::check(&stack.deps, fc, &mut flow).await?;
    Ok(FlowRun {
        flow,
        usage,
        dropped,
        ops: counted.take(),
    })
}

/// The seat rush and a short booking flow through the counted handlers, then the Capacity
/// section (printed, not written to bench/results); with `rush_only`, the Seat rush table alone.
async fn capacity_alone(rush_only: bool) -> Result<(), BoxError> {
    let clients: usize = env_or("RUSH_CLIENTS", 2000);
    let mut overrides = HashMap::new();
    overrides.insert("HOLD_SECONDS", "3600".to_owned());
    overrides.insert("BOOKING_RATE_LIMIT_PER_MINUTE", "1000000".to_owned());
    let prefix = format!("benchc{}", chrono::Utc::now().timestamp());
    let stack = LocalStack::start(&prefix, &overrides).await?;
    let counted = trips::Counted::new(&stack, false);
    let gw = boxoffice_local::gateway::Gateway::new(&stack.template, counted.deps.clone());
    let cat = catalog::setup(&gw, gw.deps()).await?;
    counted.ddb.take_usage();
    let rush = rush::run(&gw, &counted.ddb, &stack.deps, &cat, clients).await?;
    let (rush_usage, mut dropped) = counted.ddb.take_usage();
    if rush_only {
        println!("## Seat rush\n\n{}", rush.table());
        let stats = boxoffice_local::stats::take_report();
        if !stats.is_empty() {
            println!(
                "### The stack during the rush and its ceiling (BOXOFFICE_STACK_STATS)\n\n{stats}"
            );
        }
        return Ok(());
    }
    eprintln!("[capacity] rush: {} requests accounted", rush_usage.len());
    let fc = flow::setup(&gw, &cat, env_or("FLOW_SHOWS", 8)).await?;
    if std::env::var("FLOW_SECONDS").is_err() {
        std::env::set_var("FLOW_SECONDS", "15");
    }
    let FlowRun {
        flow,
        usage: flow_usage,
        dropped: flow_dropped,
        ops: flow_ops,
    } = booking_flow(&stack, &counted, &gw, &fc).await?;
    dropped += flow_dropped;
    // The flow's confirmation latency (webhook → CONFIRMED seen), and with BOXOFFICE_STACK_STATS=1
    // where the stack's time went meanwhile.
    println!("## Booking flow\n\n{}", flow.table());
    let stats = boxoffice_local::stats::take_report();
    if !stats.is_empty() {
        println!("### The stack during the flow (BOXOFFICE_STACK_STATS)\n\n{stats}");
    }
    let cap = capacity::report(&capacity::Inputs {
        rush: &rush,
        rush_usage: &rush_usage,
        flow: &flow,
        flow_usage: &flow_usage,
        flow_ops: &flow_ops,
        template: &stack.template,
        dropped,
    });
    println!("## Seat rush\n\n{}", rush.table());
    println!(
        "## Capacity (one hot show on AWS; rush {clients} clients, flow {} users × {} s, {} completed)\n\n{}",
        flow.users, flow.seconds, flow.completed, cap.markdown
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // `cargo run -p <bench> -- queue-capacity` (through infra/with-stack.sh): that part alone.
    if std::env::args().nth(1).as_deref() == Some("queue-capacity") {
        let prefix = format!("benchq{}", chrono::Utc::now().timestamp());
        let stack = LocalStack::start(&prefix, &HashMap::new()).await?;
        let cap = queue_capacity::measure(&stack.deps).await?;
        println!("## Waiting room capacity\n\n{}", cap.markdown);
        return Ok(());
    }
    // `cargo run -p <bench> -- capacity` (through infra/with-stack.sh): the seat rush and a short
    // booking flow (`FLOW_SECONDS`, default 15 here), then the Capacity section alone.
    // `... -- rush`: the seat rush alone, its table printed.
    match std::env::args().nth(1).as_deref() {
        Some("capacity") => return capacity_alone(false).await,
        Some("rush") => return capacity_alone(true).await,
        _ => {}
    }
    let mut phases = Phases::new();
    let load_before = loadavg();
    let clients: usize = env_or("RUSH_CLIENTS", 2000);
    let flow_shows: usize = env_or("FLOW_SHOWS", 24);
    let cpu_runs: usize = env_or("CPU_RUNS", 2000);

    let mut overrides = HashMap::new();
    overrides.insert("HOLD_SECONDS", "3600".to_owned());
    overrides.insert("BOOKING_RATE_LIMIT_PER_MINUTE", "1000000".to_owned());
    let prefix = format!("bench{}", chrono::Utc::now().timestamp());
    let stack = LocalStack::start(&prefix, &overrides).await?;
    // The handlers' DynamoDB, SQS and EventBridge clients count their requests.
    let counted = trips::Counted::new(&stack, false);
    let gw = boxoffice_local::gateway::Gateway::new(&stack.template, counted.deps.clone());
    let cat = catalog::setup(&gw, gw.deps()).await?;
    phases.done("provisioning + catalog");

    counted.ddb.take_usage();
    let rush = rush::run(&gw, &counted.ddb, &stack.deps, &cat, clients).await?;
    let (rush_usage, mut dropped) = counted.ddb.take_usage();
    phases.done("1. seat rush + SDK ceiling");

    let compare = compare::run(clients).await;
    phases.done("side by side: the rush against Node/PostgreSQL/Redis");

    let fc = flow::setup(&gw, &cat, flow_shows).await?;
    let first_show = fc.shows.first().ok_or("no flow show")?.clone();
    let trips = trips::measure(&stack, &first_show, &fc.browse_path).await?;
    let probes = probes::run(&gw, &first_show).await?;
    let cpu = cpu::measure(&stack, &first_show, &fc.browse_path, cpu_runs).await?;
    let queue_cap = queue_capacity::measure(&stack.deps).await?;
    phases.done("flow catalog, 4. round trips, bad input, handler CPU");

    let FlowRun {
        flow,
        usage: flow_usage,
        dropped: flow_dropped,
        ops: flow_ops,
    } = booking_flow(&stack, &counted, &gw, &fc).await?;
    dropped += flow_dropped;
    let cap = capacity::report(&capacity::Inputs {
        rush: &rush,
        rush_usage: &rush_usage,
        flow: &flow,
        flow_usage: &flow_usage,
        flow_ops: &flow_ops,
        template: &stack.template,
        dropped,
    });
    drop((rush_usage, flow_usage));
    phases.done("2. booking flow");

    let names: Vec<String> = stack
        .template
        .functions
        .iter()
        .map(|f| f.name.clone())
        .collect();
    let logical: HashMap<String, String> = stack
        .template
        .functions
        .iter()
        .map(|f| (f.name.clone(), f.logical_id.clone()))
        .collect();
    let cold_runs: usize = env_or("COLD_RUNS", 5).max(1);
    let cold_events = coldevents::build(&gw, &cat, cold_runs).await?;
    let cold = coldstart::measure(
        &names,
        &logical,
        &function_env(&stack),
        &cold_events,
        cold_runs,
    )
    .await?;
    phases.done("3. cold starts");

    let results = report::Results {
        rush: &rush,
        flow: &flow,
        trips: &trips,
        probes: &probes,
        cpu: &cpu,
        cold: &cold,
        compare: &compare,
        capacity: Some(&cap),
    };
    let (budgets, missed) = report::budgets(&results);
    let mut md = String::new();
    let _ = writeln!(md, "# make bench\n");
    let _ = writeln!(
        md,
        "Run at {} on {} cores (load average {} before, {} after: other builds share these cores), \
         bench-fast build (one binary per function, opt-level \"s\", no fat LTO, 16 codegen units, stripped; the deployed build is one multi-call binary at opt-level \"z\" with fat LTO: README, Deploying), DynamoDB Local in memory, moto for SQS, EventBridge and Secrets Manager, \
         handlers in-process through the local API Gateway stand-in. Latency chart: [latency.svg](latency.svg).\n",
        boxoffice::clock::rfc3339(chrono::Utc::now()),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        load_before,
        loadavg()
    );
    let _ = writeln!(
        md,
        "## Budgets (docs: architecture.md, Budgets)\n\n{budgets}"
    );
    if missed.is_empty() {
        let _ = writeln!(md, "Every measured budget is met.\n");
    } else {
        let _ = writeln!(md, "Budgets missed: {}.\n", missed.join("; "));
    }
    let _ = writeln!(md, "## 1. Seat rush\n\n{}", rush.table());
    let _ = writeln!(
        md,
        "## Side by side: Node/PostgreSQL/Redis\n\n{}",
        report::side_by_side(&rush, &compare)
    );
    let ops_per_booking = flow_ops.ddb.len() as f64 / flow.completed.max(1) as f64;
    let _ = writeln!(
        md,
        "## 2. Booking flow\n\n{}\nDynamoDB requests during the flow: {} ({:.1} per completed booking, polling, confirm and notify included); SQS {}, EventBridge {}. \
         The payments queue is consumed by the local SQS trigger (five pollers to start, as Lambda's event source has, one more every 200 ms while batches come back full, up to the MaximumConcurrency template.yaml gives (20 for confirm-payment), an extra one leaving once a poll finds the queue empty; batches of up to 10, invoked as soon as they are received: confirm-payment has no batching window), which calls confirm-payment's handler. The users arrive evenly over the first FLOW_RAMP_SECONDS.\n\n\
         ![latency distribution](latency.svg)\n",
        flow.table(),
        flow_ops.ddb.len(),
        ops_per_booking,
        flow_ops.sqs.len(),
        flow_ops.events.len(),
    );
    let _ = writeln!(
        md,
        "## 3. Cold start ({} runs per binary, median; peak RSS is the worst run)\n\n\
         Each binary is spawned with the stack's configuration and `AWS_LAMBDA_RUNTIME_API` pointing at a Runtime API stub that \
         serves it one request (below). *init* = spawn → the runtime's first `GET /invocation/next` (Lambda's Init Duration); \
         *first answer* = spawn → its `/response` (config, the function's secrets read from Secrets Manager, SDK clients, \
         the handler's AWS calls against the emulators). Each function answers a request it really serves, made against this \
         stack (`bench/src/coldevents.rs`: tokens signed with the stack's key, real ids, signed webhooks, a fresh booking, \
         seat or ticket per run where a request succeeds only once); {} of {} functions answered every run successfully.\n\n{}",
        cold.runs,
        cold.functions
            .iter()
            .filter(|c| coldevents::succeeded(&c.function, &c.outcome))
            .count(),
        cold.functions.len(),
        report::cold_table(&cold)
    );
    let _ = writeln!(
        md,
        "### Release profile candidates\n\n`bench/profiles.sh` builds create-booking under each candidate profile \
         (`opt<level>-lto<kind>-cu<codegen units>`); the same probe times them:\n\n{}",
        report::variants_table(&cold)
    );
    let _ = writeln!(
        md,
        "## 4. Round trips (one booking through every step, counted by SDK interceptors)\n\n{}",
        trips.table()
    );
    let _ = writeln!(md, "## Capacity (one hot show on AWS)\n\n{}", cap.markdown);
    let _ = writeln!(
        md,
        "## Waiting room capacity (the join path at {:.0} joins/s; hottest partition {:.0} WCU/s, {:.0} RCU/s)\n\n{}",
        queue_capacity::JOINS_PER_SECOND,
        queue_cap.hottest_wcu,
        queue_cap.hottest_rcu,
        queue_cap.markdown
    );
    let hello = cold.hello.init_ms.unwrap_or(0.0);
    let ratios: Vec<f64> = cold
        .functions
        .iter()
        .filter_map(|c| c.init_ms.map(|i| i / hello))
        .filter(|r| r.is_finite())
        .collect();
    let worst_ratio = cold
        .functions
        .iter()
        .filter_map(|c| c.init_ms.map(|i| (i / hello, c.function.as_str())))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let _ = writeln!(
        md,
        "## 5. Ceilings\n\n| Ceiling | Value |\n|---|---|\n\
         | seat rush: API hold attempts/s ÷ its hold transaction straight from the SDK | {:.2} ({:.0}/s ÷ {:.0}/s) |\n\
         | cold start: function init ÷ hello-world `lambda_runtime` init ({:.1} ms) | median {:.2}, worst {} |\n",
        rush.ceiling_ratio(),
        rush.attempts_per_s(),
        rush.raw_per_s,
        hello,
        util::percentile(&util::sorted(ratios), 0.5),
        worst_ratio
            .map(|(r, n)| format!("{r:.2} ({n})"))
            .unwrap_or_else(|| "–".into()),
    );
    let _ = writeln!(md, "## Handler CPU per request\n\nEach handler runs once for real with its AWS responses recorded, then {} times against the recording (no I/O) on one thread; \
         timed: parsing the API Gateway event, the handler (auth, validation, pricing, building and SigV4-signing the SDK requests, parsing their responses) and serialising the response.\n\n{}", cpu.iterations, cpu.table());
    let _ = writeln!(md, "## Bad input\n\n{} malformed, unauthorised or forged requests (bad JSON, no/expired/wrong-role token, unknown/duplicate/no seats, unknown field, unknown show, 70 KiB body, bad idempotency key, bad ids, wrong method, unknown path, someone else's or no booking, webhook unsigned/stale/forged/malformed, unknown provider): {} answered 5xx{}.\n",
        probes.sent, probes.five_xx,
        if probes.off_contract.is_empty() { ", every one a 4xx in the error format".to_owned() } else { format!("; not a 4xx error body: {}", probes.off_contract.join(", ")) });
    let _ = writeln!(md, "## Phases\n\n{}", phases.table());
    let _ = writeln!(
        md,
        "Knobs: `RUSH_CLIENTS` ({clients}), `FLOW_USERS` ({}), `FLOW_RAMP_SECONDS` ({}), `FLOW_SECONDS` ({}), `FLOW_SHOWS` ({flow_shows}), `FLOW_CONFIRM_DEADLINE_SECONDS` ({}), `COLD_RUNS` ({}), `CPU_RUNS` ({cpu_runs}), `BENCH_COMPARE` ({}), `COMPARE_PG_POOL_MAX` ({}).",
        flow.users,
        flow.ramp_seconds,
        flow.seconds,
        flow.confirm_deadline,
        cold.runs,
        std::env::var("BENCH_COMPARE").unwrap_or_else(|_| "on".into()),
        std::env::var("COMPARE_PG_POOL_MAX").unwrap_or_else(|_| "10".into()),
    );

    let series: Vec<(&str, &[f64])> = std::iter::once(("seat rush: hold", &rush.latencies[..]))
        .chain(
            compare
                .node()
                .map(|n| ("seat rush: Node/PostgreSQL/Redis hold", &n.latencies[..])),
        )
        .chain(
            [
                "flow: browse",
                "flow: seat map",
                "flow: hold",
                "flow: initiate payment",
                "flow: webhook",
                "flow: webhook → CONFIRMED",
                "flow: get booking",
            ]
            .into_iter()
            .zip(flow.steps.iter().map(|s| &s.latencies[..])),
        )
        .collect();
    let svg = report::latency_svg(
        &format!(
            "Latency, cumulative: seat rush ({clients} at once) and booking flow ({} users)",
            flow.users
        ),
        &series,
    );
    println!("{md}");
    let dir = boxoffice_local::repo_root().join("bench/results");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("latest.md"), &md)?;
    std::fs::write(dir.join("latency.svg"), svg)?;
    println!("written to {}", dir.join("latest.md").display());
    let five_xx = rush.five_xx + flow.five_xx() + probes.five_xx;
    if rush.oversold != 0 || flow.double_sold != 0 || flow.mismatched != 0 || five_xx != 0 {
        return Err(format!(
            "FAILED: oversold {} (flow: {} double, {} mismatched), 5xx {five_xx}",
            rush.oversold, flow.double_sold, flow.mismatched
        )
        .into());
    }
    Ok(())
}
