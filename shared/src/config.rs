//! Configuration from the environment, read once per cold start.

use serde::Deserialize;
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
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone)]
pub struct JwtConfig {
    pub secret: Secret,
    /// Accepted for verification only, so that a rotation does not log everyone out.
    pub previous_secret: Option<Secret>,
    pub issuer: String,
    pub audience: String,
    pub ttl_seconds: i64,
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
    pub jwt: JwtConfig,
    pub hold_seconds: i64,
    pub payment_window_seconds: i64,
    pub booking_rate_limit_per_minute: u32,
    pub sandbox_enabled: bool,
    pub sandbox_webhook_secret: Secret,
    pub stripe_webhook_secret: Secret,
    pub ticket_signing_key: Secret,
    pub admin_accounts: Vec<AdminAccount>,
    /// Minutes between the end of one show and the start of the next on the same screen.
    pub cleaning_gap_minutes: i64,
    /// A confirmed booking can be cancelled (with refund) until this many minutes before the show.
    pub cancellation_cutoff_minutes: i64,
    /// The verified SES sender for notification emails; unset, notifications go to the log channel.
    pub notification_email_from: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
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

        let secret = Secret::new(req("JWT_SECRET")?);
        if secret.expose().len() < 32 {
            return Err(ConfigError::Invalid {
                name: "JWT_SECRET",
                reason: "must be at least 32 characters".into(),
            });
        }
        let admin_accounts = match opt("ADMIN_ACCOUNTS") {
            None => Vec::new(),
            Some(s) => serde_json::from_str(&s).map_err(|e| ConfigError::Invalid {
                name: "ADMIN_ACCOUNTS",
                reason: e.to_string(),
            })?,
        };
        let stage = opt("STAGE").unwrap_or_else(|| "local".into());
        let sandbox_default = stage != "prod";
        Ok(Config {
            table_name: req("TABLE_NAME")?,
            event_bus_name: opt("EVENT_BUS_NAME").unwrap_or_else(|| "default".into()),
            payments_queue_url: opt("PAYMENTS_QUEUE_URL").unwrap_or_default(),
            jwt: JwtConfig {
                secret,
                previous_secret: opt("JWT_PREVIOUS_SECRET").map(Secret::new),
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
            sandbox_enabled: num("SANDBOX_ENABLED", opt("SANDBOX_ENABLED"), sandbox_default)?,
            sandbox_webhook_secret: Secret::new(opt("SANDBOX_WEBHOOK_SECRET").unwrap_or_default()),
            stripe_webhook_secret: Secret::new(opt("STRIPE_WEBHOOK_SECRET").unwrap_or_default()),
            ticket_signing_key: Secret::new(opt("TICKET_SIGNING_KEY").unwrap_or_default()),
            admin_accounts,
            cleaning_gap_minutes: num("CLEANING_GAP_MINUTES", opt("CLEANING_GAP_MINUTES"), 15)?,
            cancellation_cutoff_minutes: num(
                "CANCELLATION_CUTOFF_MINUTES",
                opt("CANCELLATION_CUTOFF_MINUTES"),
                60,
            )?,
            notification_email_from: opt("NOTIFICATION_EMAIL_FROM").map(|v| v.trim().to_owned()),
            stage,
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

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_apply_and_secrets_do_not_print() {
        let cfg = Config::from_lookup(lookup(&[("JWT_SECRET", SECRET), ("TABLE_NAME", "t")]))
            .expect("config");
        assert_eq!(cfg.hold_seconds, 300);
        assert_eq!(cfg.booking_rate_limit_per_minute, 10);
        assert!(cfg.sandbox_enabled);
        assert!(!format!("{cfg:?}").contains(SECRET));
    }

    #[test]
    fn missing_and_invalid_values_are_reported_by_name() {
        let err = Config::from_lookup(lookup(&[("JWT_SECRET", SECRET)])).unwrap_err();
        assert!(err.to_string().contains("TABLE_NAME"));
        let err = Config::from_lookup(lookup(&[
            ("JWT_SECRET", SECRET),
            ("TABLE_NAME", "t"),
            ("HOLD_SECONDS", "soon"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("HOLD_SECONDS"));
        let err = Config::from_lookup(lookup(&[("JWT_SECRET", "short"), ("TABLE_NAME", "t")]))
            .unwrap_err();
        assert!(err.to_string().contains("JWT_SECRET"));
        assert!(!err.to_string().contains("short"));
    }

    #[test]
    fn prod_disables_the_sandbox_by_default() {
        let cfg = Config::from_lookup(lookup(&[
            ("JWT_SECRET", SECRET),
            ("TABLE_NAME", "t"),
            ("STAGE", "prod"),
        ]))
        .expect("config");
        assert!(!cfg.sandbox_enabled);
    }
}
