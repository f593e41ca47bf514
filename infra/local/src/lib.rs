//! The local stack: AWS's parts stood in by emulators, provisioned from template.yaml, with every
//! function served in-process on one port and the non-HTTP triggers driven as AWS would.

pub mod bounded;
pub mod counter;
pub mod gateway;
pub mod provision;
pub mod registry;
pub mod seed;
pub mod template;
pub mod triggers;

use boxoffice::{config::Config, Deps};
use provision::{BoxError, Provisioned};
use std::{collections::HashMap, path::PathBuf};
use template::Template;

/// The repository root (where template.yaml lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from("."))
}

pub fn load_template() -> Result<Template, BoxError> {
    let path = std::env::var("BOXOFFICE_TEMPLATE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("template.yaml"));
    Ok(Template::load(&path)?)
}

/// Local configuration: the process environment where set, local defaults otherwise, and the
/// names of the resources this stack created.
pub fn local_config(
    provisioned: &Provisioned,
    overrides: &HashMap<&str, String>,
) -> Result<Config, BoxError> {
    let mut values: HashMap<String, String> = HashMap::new();
    values.insert("STAGE".into(), "local".into());
    values.insert("HOLD_SECONDS".into(), "120".into());
    values.insert("PAYMENT_WINDOW_SECONDS".into(), "300".into());
    values.insert("SANDBOX_ENABLED".into(), "true".into());
    for (k, v) in std::env::vars() {
        values.insert(k, v);
    }
    for (k, v) in overrides {
        values.insert((*k).to_owned(), v.clone());
    }
    // Secrets are made up per run unless given: nothing local is ever a real secret.
    for key in [
        "JWT_SECRET",
        "SANDBOX_WEBHOOK_SECRET",
        "STRIPE_WEBHOOK_SECRET",
        "TICKET_SIGNING_KEY",
    ] {
        values.entry(key.into()).or_insert_with(random_secret);
    }
    values.insert("TABLE_NAME".into(), provisioned.table_name.clone());
    values.insert("EVENT_BUS_NAME".into(), provisioned.bus_name());
    if let Some(url) = provisioned.queue_urls.get("PaymentsQueue") {
        values.insert("PAYMENTS_QUEUE_URL".into(), url.clone());
    }
    Ok(Config::from_lookup(|k| values.get(k).cloned())?)
}

pub fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The SDK configuration from the standard environment, with the emulators' capacity modelled
/// (see `bounded`).
pub async fn local_sdk_config() -> aws_config::SdkConfig {
    let sdk = boxoffice::aws::sdk_config().await;
    // The emulators speak plain HTTP on loopback.
    let client = aws_smithy_http_client::Builder::new().build_http();
    sdk.to_builder()
        .http_client(bounded::BoundedHttpClient::new(
            client,
            bounded::MAX_IN_FLIGHT,
        ))
        // Waiting for a turn at the emulator is queueing, not a stalled upload.
        .stalled_stream_protection(
            aws_config::stalled_stream_protection::StalledStreamProtectionConfig::disabled(),
        )
        // Nor is it a slow attempt: a 2,000-request rush queues for seconds on two shared cores,
        // far beyond AWS latencies, so the production attempt timeout would turn queueing into
        // failures. A generous bound still ends a truly stuck call. (The failure-injection tests
        // put the production timeouts back on the clients they break.)
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_secs(5))
                .operation_timeout(std::time::Duration::from_secs(120))
                .build(),
        )
        .build()
}

/// A provisioned stack with the handlers' dependencies.
pub struct LocalStack {
    pub template: Template,
    pub provisioned: Provisioned,
    pub deps: Deps,
    pub sdk: aws_config::SdkConfig,
}

impl LocalStack {
    /// Provisions every template resource under `prefix` and builds the handlers' dependencies.
    pub async fn start(
        prefix: &str,
        overrides: &HashMap<&str, String>,
    ) -> Result<LocalStack, BoxError> {
        let template = load_template()?;
        let sdk = local_sdk_config().await;
        let provisioned = provision::provision(&template, prefix, &sdk).await?;
        let config = local_config(&provisioned, overrides)?;
        let deps = Deps::new(config, &sdk);
        Ok(LocalStack {
            template,
            provisioned,
            deps,
            sdk,
        })
    }
}
