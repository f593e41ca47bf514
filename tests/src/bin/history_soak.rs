//! `make soak`: the long history run (at least 100,000 operations, every fault kind) against the
//! emulators `infra/with-stack.sh` started. Runs histories of `SOAK_HISTORY_OPERATIONS` (default
//! 10,000) operations, each on a fresh stack and its own seed (`SOAK_SEED`, default 1, then +1
//! per history), until `SOAK_OPERATIONS` (default 100,000) are done; prints each history's
//! figures, the totals, and every violation with its seed (replay one with
//! `HISTORY_SEED=<seed> cargo test --workspace history`). Exits 1 on any violation.

use boxoffice_tests::history::{run, Plan};
use std::collections::BTreeMap;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let total = env("SOAK_OPERATIONS", 100_000) as usize;
    let each = env("SOAK_HISTORY_OPERATIONS", 10_000) as usize;
    let mut seed = env("SOAK_SEED", 1);
    let started = std::time::Instant::now();
    let (mut operations, mut histories, mut violations) = (0, 0, 0);
    let mut faults: BTreeMap<&'static str, usize> = BTreeMap::new();
    let (mut bookings, mut confirmed, mut captured, mut refunded) = (0, 0, 0, 0);
    while operations < total {
        let s = boxoffice_tests::stack_with(&[
            ("HOLD_SECONDS", "30"),
            ("PAYMENT_WINDOW_SECONDS", "60"),
            ("BOOKING_RATE_LIMIT_PER_MINUTE", "1000000"),
        ])
        .await;
        let plan = Plan {
            operations: each.min(total - operations),
            clients: 16,
            shows: 3,
            seats_per_show: 8,
            ..Plan::short(seed)
        };
        let report = run(&s, &plan).await;
        println!("{}", report.describe());
        operations += report.operations;
        histories += 1;
        violations += report.violations.len();
        bookings += report.bookings;
        confirmed += report.confirmed;
        captured += report.captured;
        refunded += report.refunded;
        for (k, v) in &report.faults {
            *faults.entry(k).or_default() += v;
        }
        seed += 1;
    }
    println!(
        "soak: {operations} operations in {histories} histories, {bookings} bookings ({confirmed} confirmed), {captured} payments captured, {refunded} refunds, faults {faults:?}, {violations} invariant violations, {:.0} s",
        started.elapsed().as_secs_f64()
    );
    if violations > 0 {
        std::process::exit(1);
    }
}
