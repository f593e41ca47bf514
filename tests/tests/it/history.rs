//! The short history run (about 2,000 operations under every kind of fault) and the seeds of the
//! bugs it found, kept as regressions. `HISTORY_SEED=<n>` replays a seed; the long run is
//! `make soak` (`src/bin/history_soak.rs`).

use boxoffice_tests::{
    history::{run, seed_from_env, Plan},
    stack_with, TestStack,
};

pub async fn history_stack() -> TestStack {
    stack_with(&[
        ("HOLD_SECONDS", "30"),
        ("PAYMENT_WINDOW_SECONDS", "60"),
        ("BOOKING_RATE_LIMIT_PER_MINUTE", "1000000"),
    ])
    .await
}

async fn passes(plan: Plan) {
    let s = history_stack().await;
    let report = run(&s, &plan).await;
    eprintln!("{}", report.describe());
    assert!(
        report.violations.is_empty(),
        "{} invariant violations:\n{}",
        report.violations.len(),
        report.describe()
    );
    assert!(
        report.operations >= plan.operations,
        "{}",
        report.describe()
    );
    assert!(
        report.confirmed > 0 && report.refunded > 0,
        "the run exercised sales and refunds: {}",
        report.describe()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_of_two_thousand_random_operations_under_faults_keeps_every_invariant() {
    passes(Plan::short(seed_from_env(20_261_202))).await;
}
