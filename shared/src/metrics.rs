//! Metrics as CloudWatch Embedded Metric Format log lines: one JSON line on stdout per emission,
//! turned into metrics by CloudWatch Logs with no extra API call.

use serde_json::{json, Map, Value};

pub const NAMESPACE: &str = "BoxOffice";

/// Emits `metrics` (name, value, unit) for `function`; `BOXOFFICE_METRICS=off` silences them
/// (the benchmark, which would otherwise print thousands).
pub fn emit(function: &str, metrics: &[(&str, f64, &str)]) {
    static OFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *OFF.get_or_init(|| std::env::var("BOXOFFICE_METRICS").is_ok_and(|v| v == "off")) {
        return;
    }
    let defs: Vec<Value> = metrics
        .iter()
        .map(|(name, _, unit)| json!({ "Name": name, "Unit": unit }))
        .collect();
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{ "Namespace": NAMESPACE, "Dimensions": [["Function"]], "Metrics": defs }],
        }),
    );
    line.insert("Function".into(), json!(function));
    for (name, value, _) in metrics {
        line.insert((*name).into(), json!(value));
    }
    println!("{}", Value::Object(line));
}

pub fn count(function: &str, name: &str, n: u64) {
    emit(function, &[(name, n as f64, "Count")]);
}
