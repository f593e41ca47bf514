//! JSON logs through `tracing`. Each request runs in a span carrying its correlation id, and the
//! formatter writes the current span's fields into every line. Never log tokens, passwords or bodies.

use tracing_subscriber::{fmt, EnvFilter};

pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("LOG_LEVEL"))
        .unwrap_or_else(|_| "info".into())
        .to_lowercase();
    let filter = EnvFilter::try_new(format!(
        "{level},aws_smithy_runtime=warn,aws_config=warn,hyper=warn"
    ))
    .unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests, the local stack) is harmless: the first subscriber stays.
    let _ = fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .try_init();
}
