//! Metrics as CloudWatch Embedded Metric Format log lines: one JSON line on stdout per emission,
//! turned into metrics by CloudWatch Logs with no extra API call.

use serde_json::{json, Map, Value};

pub const NAMESPACE: &str = "BoxOffice";

/// The `Function` dimension: the name Lambda gives the running function (`AWS_LAMBDA_FUNCTION_NAME`,
/// the deployed name alarms refer to with `!Ref`), so shared code such as the hold (create-booking
/// and best-available) or a refund (every function that refunds) is counted under whoever ran it.
/// Outside Lambda (the local stack, tests, the bench) it is `local`.
fn function_name() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        std::env::var("AWS_LAMBDA_FUNCTION_NAME")
            .ok()
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "local".to_owned())
    })
}

/// Emits `metrics` (name, value, unit) under the running function's name; `BOXOFFICE_METRICS=off`
/// silences them (the benchmark, which would otherwise print thousands).
pub fn emit(metrics: &[(&str, f64, &str)]) {
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
    line.insert("Function".into(), json!(function_name()));
    for (name, value, _) in metrics {
        line.insert((*name).into(), json!(value));
    }
    println!("{}", Value::Object(line));
}

pub fn count(name: &str, n: u64) {
    emit(&[(name, n as f64, "Count")]);
}
