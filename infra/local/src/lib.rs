//! The local stack: AWS's parts stood in by emulators, provisioned from template.yaml, with every
//! function served in-process on one port and the non-HTTP triggers driven as AWS would.

pub mod bounded;
pub mod counter;
pub mod gateway;
pub mod iam;
pub mod provision;
pub mod registry;
pub mod seed;
pub mod stats;
pub mod stripe;
pub mod template;
pub mod triggers;

use boxoffice::{config::Config, secrets::SecretSet, Deps};
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
/// names (and secret ARNs) of the resources this stack created. No secret value is in it: the
/// functions read theirs from the stack's Secrets Manager (see `local_secret_strings`).
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
    values.insert("TABLE_NAME".into(), provisioned.table_name.clone());
    values.insert("EVENT_BUS_NAME".into(), provisioned.bus_name());
    if let Some(url) = provisioned.queue_urls.get("PaymentsQueue") {
        values.insert("PAYMENTS_QUEUE_URL".into(), url.clone());
    }
    if let Some(url) = provisioned.queue_urls.get("CancelShowQueue") {
        values.insert("CANCEL_SHOW_QUEUE_URL".into(), url.clone());
    }
    for set in SecretSet::ALL {
        if let Some(arn) = provisioned.secret_arns.get(set.logical_id()) {
            values.insert(set.arn_variable().into(), arn.clone());
        }
    }
    Ok(Config::from_lookup(|k| values.get(k).cloned())?)
}

/// What each of the template's secrets holds locally, as Secrets Manager would: made up per run,
/// except the values `overrides` or the environment give under these local-only names (tests
/// pin admins with `ADMIN_ACCOUNTS`; nothing local is ever a real secret).
pub fn local_secret_strings(overrides: &HashMap<&str, String>) -> HashMap<String, String> {
    let given = |name: &str| {
        overrides
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
    };
    let key = |name: &str| given(name).unwrap_or_else(random_secret);
    let mut jwt = serde_json::json!({ "jwtSecret": key("JWT_SECRET") });
    if let Some(previous) = given("JWT_PREVIOUS_SECRET") {
        jwt["jwtPreviousSecret"] = previous.into();
    }
    let sets = [
        (SecretSet::JwtKeys, jwt),
        (
            SecretSet::TicketKeys,
            serde_json::json!({ "ticketSigningKey": key("TICKET_SIGNING_KEY") }),
        ),
        (
            SecretSet::PaymentKeys,
            serde_json::json!({
                "stripeWebhookSecret": key("STRIPE_WEBHOOK_SECRET"),
                // localstripe takes any key of this shape; nothing local is a real Stripe key.
                "stripeSecretKey": given("STRIPE_SECRET_KEY")
                    .unwrap_or_else(|| format!("sk_test_{}", random_secret())),
                "sandboxWebhookSecret": key("SANDBOX_WEBHOOK_SECRET"),
            }),
        ),
        (
            SecretSet::AdminAccounts,
            serde_json::json!({ "adminAccounts": given("ADMIN_ACCOUNTS").unwrap_or_else(|| "[]".into()) }),
        ),
    ];
    sets.into_iter()
        .map(|(set, value)| (set.logical_id().to_owned(), value.to_string()))
        .collect()
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
    let bounded = bounded::BoundedHttpClient::new(client, bounded::MAX_IN_FLIGHT);
    sdk.to_builder()
        // Every client of the stack records, when asked, what each function calls (`iam`).
        .http_client(iam::RecordingHttpClient::new(
            aws_smithy_runtime_api::client::http::SharedHttpClient::new(bounded),
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
        let provisioned =
            provision::provision(&template, prefix, &sdk, &local_secret_strings(overrides)).await?;
        // The stack's own dependencies hold every secret, read back from Secrets Manager (tests
        // sign tokens with them); each function's container holds only its own (`registry`).
        let mut config = local_config(&provisioned, overrides)?;
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        boxoffice::secrets::load(&secrets, &SecretSet::ALL, &mut config).await?;
        let deps = Deps::new(config, &sdk);
        Ok(LocalStack {
            template,
            provisioned,
            deps,
            sdk,
        })
    }
}
