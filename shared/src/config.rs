//! Configuration from the environment, read once per cold start. Secrets are not in the
//! environment: `secrets::load` adds the ones a function reads, from Secrets Manager.

use crate::{secrets::SecretSet, ApiError};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// A secret value: never printed by `Debug`/`Display`, so it cannot leak into a log line.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// From the `JwtKeys` secret; `None` in a function that does not read it.
    pub keys: Option<JwtKeys>,
    pub issuer: String,
    pub audience: String,
    pub ttl_seconds: i64,
}

#[derive(Debug, Clone)]
pub struct JwtKeys {
    /// Signs new tokens (and verifies).
    pub current: Secret,
    /// Accepted for verification only, so that a rotation does not log everyone out.
    pub previous: Option<Secret>,
}

impl JwtConfig {
    /// The signing keys, or a 500: a function that signs or verifies tokens must list
    /// `SecretSet::JwtKeys` (an empty key would let anyone mint tokens, so there is no fallback).
    pub fn keys(&self) -> Result<&JwtKeys, ApiError> {
        self.keys.as_ref().ok_or_else(|| not_loaded("JwtKeys"))
    }
}

fn not_loaded(set: &str) -> ApiError {
    ApiError::Internal(format!(
        "the {set} secret is not loaded in this function: add it to the function's FUNCTION.secrets"
    ))
}

/// An administrator account defined in configuration: the password is stored only as an argon2id hash.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdminAccount {
    pub email: String,
    pub name: String,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub stage: String,
    pub table_name: String,
    pub event_bus_name: String,
    pub payments_queue_url: String,
    /// CancelShowQueue: the parts of show cancellations (`show_cancellation`); cancel-show only.
    pub cancel_show_queue_url: String,
    pub jwt: JwtConfig,
    pub hold_seconds: i64,
    pub payment_window_seconds: i64,
    pub booking_rate_limit_per_minute: u32,
    /// How long a seat DynamoDB answered taken is believed taken in this container
    /// (`taken::TakenSeats`; `SEAT_MEMORY_MS`, 0 to 5,000, default 1,000; 0 turns it off).
    pub seat_memory: std::time::Duration,
    pub sandbox_enabled: bool,
    /// From the `PaymentKeys` secret (the sandbox's only where the sandbox exists).
    pub sandbox_webhook_secret: Option<Secret>,
    pub stripe_webhook_secret: Option<Secret>,
    /// Stripe's API secret key (`sk_…`/`rk_…`, `PaymentKeys`): creates intents and pays refunds.
    pub stripe_secret_key: Option<Secret>,
    /// Where Stripe's API is (`STRIPE_API_BASE`, not secret): Stripe's own unless a local Stripe
    /// (localstripe) stands in for it; plain http only on loopback.
    pub stripe_api_base: String,
    /// From the `TicketKeys` secret: the current key and, while keys rotate, the previous one.
    pub ticket_signing_key: Option<Secret>,
    pub ticket_previous_signing_key: Option<Secret>,
    /// From the `AdminAccounts` secret: authoritative at every login.
    pub admin_accounts: Option<Vec<AdminAccount>>,
    /// Minutes between the end of one show and the start of the next on the same screen.
    pub cleaning_gap_minutes: i64,
    /// A confirmed booking can be cancelled (with refund) until this many minutes before the show.
    pub cancellation_cutoff_minutes: i64,
    /// The verified SES sender for notification emails; unset, notifications go to the log channel.
    pub notification_email_from: Option<String>,
    /// Each secret's ARN (`<SET>_SECRET_ARN`; not secret), for `secrets::load` at cold start.
    pub secret_arns: BTreeMap<SecretSet, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("secret {secret}: key {key} {reason}")]
    Secret {
        secret: &'static str,
        key: &'static str,
        reason: String,
    },
    #[error("the secret named by {variable} could not be read: {reason}")]
    SecretUnreadable {
        variable: &'static str,
        reason: String,
    },
}

impl Config {
    /// The ticket-code key (`TicketKeys`), or a 500 in a function that does not read it.
    pub fn ticket_key(&self) -> Result<&Secret, ApiError> {
        self.ticket_signing_key
            .as_ref()
            .ok_or_else(|| not_loaded("TicketKeys"))
    }

    /// The Ed25519 ticket keys derived from the `TicketKeys` secret (current and previous).
    pub fn ticket_keys(&self) -> Result<crate::domain::ticket::TicketKeys, ApiError> {
        Ok(crate::domain::ticket::TicketKeys::from_secrets(
            self.ticket_key()?.expose(),
            self.ticket_previous_signing_key
                .as_ref()
                .map(Secret::expose),
        ))
    }

    /// The same settings with no secret values (what a cold start begins from).
    pub fn without_secrets(&self) -> Config {
        Config {
            jwt: JwtConfig {
                keys: None,
                ..self.jwt.clone()
            },
            sandbox_webhook_secret: None,
            stripe_webhook_secret: None,
            stripe_secret_key: None,
            ticket_signing_key: None,
            ticket_previous_signing_key: None,
            admin_accounts: None,
            ..self.clone()
        }
    }

    /// The configured admins (`AdminAccounts`), or a 500 in a function that does not read them.
    pub fn admins(&self) -> Result<&[AdminAccount], ApiError> {
        self.admin_accounts
            .as_deref()
            .ok_or_else(|| not_loaded("AdminAccounts"))
    }
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// Builds the config from any key lookup, so tests need not touch the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let opt = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let req = |k: &'static str| opt(k).ok_or(ConfigError::Missing(k));
        fn num<T: std::str::FromStr>(
            name: &'static str,
            v: Option<String>,
            default: T,
        ) -> Result<T, ConfigError>
        where
            T::Err: fmt::Display,
        {
            match v {
                None => Ok(default),
                Some(s) => s.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
                    name,
                    reason: e.to_string(),
                }),
            }
        }

        let stage = opt("STAGE").unwrap_or_else(|| "local".into());
        if !matches!(stage.as_str(), "local" | "test" | "dev" | "prod") {
            return Err(ConfigError::Invalid {
                name: "STAGE",
                reason: "must be local, test, dev or prod".into(),
            });
        }
        // The sandbox lets its caller decide a payment's outcome: never where money is real.
        let sandbox_allowed = matches!(stage.as_str(), "local" | "test");
        let sandbox_enabled = num("SANDBOX_ENABLED", opt("SANDBOX_ENABLED"), sandbox_allowed)?;
        if sandbox_enabled && !sandbox_allowed {
            return Err(ConfigError::Invalid {
                name: "SANDBOX_ENABLED",
                reason: "the sandbox provider exists only in the local and test stages".into(),
            });
        }
        Ok(Config {
            table_name: req("TABLE_NAME")?,
            event_bus_name: opt("EVENT_BUS_NAME").unwrap_or_else(|| "default".into()),
            payments_queue_url: opt("PAYMENTS_QUEUE_URL").unwrap_or_default(),
            cancel_show_queue_url: opt("CANCEL_SHOW_QUEUE_URL").unwrap_or_default(),
            jwt: JwtConfig {
                keys: None,
                issuer: opt("JWT_ISSUER").unwrap_or_else(|| "boxoffice".into()),
                audience: opt("JWT_AUDIENCE").unwrap_or_else(|| "boxoffice-api".into()),
                ttl_seconds: num("JWT_TTL_SECONDS", opt("JWT_TTL_SECONDS"), 3600)?,
            },
            hold_seconds: num("HOLD_SECONDS", opt("HOLD_SECONDS"), 300)?,
            payment_window_seconds: num(
                "PAYMENT_WINDOW_SECONDS",
                opt("PAYMENT_WINDOW_SECONDS"),
                600,
            )?,
            booking_rate_limit_per_minute: num(
                "BOOKING_RATE_LIMIT_PER_MINUTE",
                opt("BOOKING_RATE_LIMIT_PER_MINUTE"),
                10,
            )?,
            seat_memory: seat_memory(num("SEAT_MEMORY_MS", opt("SEAT_MEMORY_MS"), 1_000)?)?,
            sandbox_enabled,
            sandbox_webhook_secret: None,
            stripe_webhook_secret: None,
            stripe_secret_key: None,
            stripe_api_base: stripe_api_base(opt("STRIPE_API_BASE"))?,
            ticket_signing_key: None,
            ticket_previous_signing_key: None,
            admin_accounts: None,
            cleaning_gap_minutes: num("CLEANING_GAP_MINUTES", opt("CLEANING_GAP_MINUTES"), 15)?,
            cancellation_cutoff_minutes: num(
                "CANCELLATION_CUTOFF_MINUTES",
                opt("CANCELLATION_CUTOFF_MINUTES"),
                60,
            )?,
            notification_email_from: opt("NOTIFICATION_EMAIL_FROM").map(|v| v.trim().to_owned()),
            secret_arns: SecretSet::ALL
                .into_iter()
                .filter_map(|set| Some((set, opt(set.arn_variable())?.trim().to_owned())))
                .collect(),
            stage,
        })
    }
}

/// At most 5 s: a false 409 may be as stale as this, and a seat map may be 1 s old.
fn seat_memory(ms: u64) -> Result<std::time::Duration, ConfigError> {
    if ms > 5_000 {
        return Err(ConfigError::Invalid {
            name: "SEAT_MEMORY_MS",
            reason: "at most 5000 (a 409 from memory may be this stale)".into(),
        });
    }
    Ok(std::time::Duration::from_millis(ms))
}

/// Stripe's API, or a stand-in for it: https anywhere, plain http only on loopback (a key must never
/// cross a network in the clear).
fn stripe_api_base(given: Option<String>) -> Result<String, ConfigError> {
    let base = given.unwrap_or_else(|| "https://api.stripe.com".into());
    let base = base.trim().trim_end_matches('/').to_owned();
    let loopback = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"]
        .iter()
        .any(|p| base.starts_with(p));
    if base.starts_with("https://") || loopback {
        Ok(base)
    } else {
        Err(ConfigError::Invalid {
            name: "STRIPE_API_BASE",
            reason: "must be an https URL (plain http only on loopback)".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_apply_and_no_secret_comes_from_the_environment() {
        let cfg = Config::from_lookup(lookup(&[
            ("TABLE_NAME", "t"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("TICKET_SIGNING_KEY", "0123456789abcdef0123456789abcdef"),
        ]))
        .expect("config");
        assert_eq!(cfg.hold_seconds, 300);
        assert_eq!(cfg.booking_rate_limit_per_minute, 10);
        assert_eq!(cfg.seat_memory, std::time::Duration::from_secs(1));
        assert!(cfg.sandbox_enabled);
        assert!(cfg.jwt.keys.is_none() && cfg.ticket_signing_key.is_none());
        assert!(cfg.jwt.keys().is_err() && cfg.ticket_key().is_err() && cfg.admins().is_err());
    }

    #[test]
    fn missing_and_invalid_values_are_reported_by_name() {
        let err = Config::from_lookup(lookup(&[])).unwrap_err();
        assert!(err.to_string().contains("TABLE_NAME"));
        let err = Config::from_lookup(lookup(&[("TABLE_NAME", "t"), ("HOLD_SECONDS", "soon")]))
            .unwrap_err();
        assert!(err.to_string().contains("HOLD_SECONDS"));
        let err = Config::from_lookup(lookup(&[("TABLE_NAME", "t"), ("STAGE", "qa")])).unwrap_err();
        assert!(err.to_string().contains("STAGE"));
        for too_stale in ["5001", "-1", "soon"] {
            let err = Config::from_lookup(lookup(&[
                ("TABLE_NAME", "t"),
                ("SEAT_MEMORY_MS", too_stale),
            ]))
            .unwrap_err();
            assert!(err.to_string().contains("SEAT_MEMORY_MS"), "{too_stale}");
        }
    }

    /// The sandbox exists in local and test only: off by default elsewhere, and a function told
    /// to enable it in dev or prod refuses to start.
    #[test]
    fn the_sandbox_exists_only_in_the_local_and_test_stages() {
        for (stage, sandbox, expected) in [
            ("local", None, Some(true)),
            ("test", None, Some(true)),
            ("test", Some("false"), Some(false)),
            ("dev", None, Some(false)),
            ("prod", None, Some(false)),
            ("dev", Some("true"), None),
            ("prod", Some("true"), None),
        ] {
            let mut pairs = vec![("TABLE_NAME", "t"), ("STAGE", stage)];
            pairs.extend(sandbox.map(|v| ("SANDBOX_ENABLED", v)));
            let got = Config::from_lookup(lookup(&pairs));
            match expected {
                Some(enabled) => assert_eq!(got.expect(stage).sandbox_enabled, enabled, "{stage}"),
                None => assert!(
                    got.is_err_and(|e| e.to_string().contains("SANDBOX_ENABLED")),
                    "{stage}"
                ),
            }
        }
    }
}
