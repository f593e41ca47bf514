//! Where the local stack's time goes, when asked (`BOXOFFICE_STACK_STATS=1`): every emulator
//! request's wait for a turn (`bounded`) and its own duration, by operation; every SQS batch the
//! local event sources deliver (how long its messages waited in the queue, the batching window,
//! the invocation). Off by default: one relaxed load per request.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{Mutex, OnceLock},
};

fn on() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("BOXOFFICE_STACK_STATS").is_ok_and(|v| v == "1"))
}

pub fn enabled() -> bool {
    on()
}

type Series = BTreeMap<String, Vec<f64>>;

fn series() -> &'static Mutex<Series> {
    static S: OnceLock<Mutex<Series>> = OnceLock::new();
    S.get_or_init(Default::default)
}

/// Records one sample (milliseconds, or a count) under `name`.
pub fn record(name: impl Into<String>, value: f64) {
    if !on() {
        return;
    }
    if let Ok(mut s) = series().lock() {
        s.entry(name.into()).or_default().push(value);
    }
}

/// Everything recorded since the last call, as a markdown table (empty when off), and cleared.
pub fn take_report() -> String {
    if !on() {
        return String::new();
    }
    let taken = series()
        .lock()
        .map(|mut s| std::mem::take(&mut *s))
        .unwrap_or_default();
    let mut out = String::from(
        "| series | n | p50 | p95 | p99 | max | sum |\n|---|---|---|---|---|---|---|\n",
    );
    for (name, mut v) in taken {
        v.sort_by(f64::total_cmp);
        let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
        let _ = writeln!(
            out,
            "| {name} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} |",
            v.len(),
            p(0.5),
            p(0.95),
            p(0.99),
            v[v.len() - 1],
            v.iter().sum::<f64>()
        );
    }
    out
}
