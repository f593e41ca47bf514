//! Secrets, read from Secrets Manager at cold start: never from the environment (anyone with
//! `lambda:GetFunctionConfiguration` can read a function's environment) and never resolved at
//! deploy time, so a rotated value reaches every new container without a redeploy.
//!
//! The keys are split over four secrets by who needs them, so IAM (not only the code) keeps each
//! key to its functions: a function lists the sets it reads (`FUNCTION.secrets` in its crate's lib.rs), the template
//! gives it each one's ARN in `<SET>_SECRET_ARN` and `secretsmanager:GetSecretValue` on those
//! secrets alone, and a set the function did not list is simply absent from its `Config`.

use crate::config::{AdminAccount, Config, ConfigError, JwtKeys, Secret};
use aws_sdk_secretsmanager::Client;
use serde_json::{Map, Value};

/// One Secrets Manager secret (a JSON object of string keys) and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretSet {
    /// `jwtSecret`, `jwtPreviousSecret`: the functions that sign or verify access tokens.
    JwtKeys,
    /// `ticketSigningKey`, `ticketPreviousSigningKey` (while keys rotate): the functions that
    /// issue, verify or publish ticket codes' keys.
    TicketKeys,
    /// `stripeWebhookSecret`, `stripeSecretKey`, `sandboxWebhookSecret` (where the sandbox
    /// exists): the webhook's verification, Stripe's API (intents, refunds) and the sandbox's signing.
    PaymentKeys,
    /// `adminAccounts`: a string holding the JSON array `[{email, name, passwordHash}]`; login
    /// and the sign-ups that must not take a configured admin's email.
    AdminAccounts,
}

/// Shortest accepted HMAC key: 256 bits of printable randomness.
const MIN_KEY_CHARS: usize = 32;
/// Stripe's webhook signing secrets (`whsec_…`) are ours to check only for presence and length.
const MIN_STRIPE_CHARS: usize = 16;

impl SecretSet {
    pub const ALL: [SecretSet; 4] = [
        SecretSet::JwtKeys,
        SecretSet::TicketKeys,
        SecretSet::PaymentKeys,
        SecretSet::AdminAccounts,
    ];

    /// The environment variable holding this secret's ARN (not a secret itself).
    pub fn arn_variable(self) -> &'static str {
        match self {
            SecretSet::JwtKeys => "JWT_KEYS_SECRET_ARN",
            SecretSet::TicketKeys => "TICKET_KEYS_SECRET_ARN",
            SecretSet::PaymentKeys => "PAYMENT_KEYS_SECRET_ARN",
            SecretSet::AdminAccounts => "ADMIN_ACCOUNTS_SECRET_ARN",
        }
    }

    /// The template's resource for this secret.
    pub fn logical_id(self) -> &'static str {
        match self {
            SecretSet::JwtKeys => "JwtKeysSecret",
            SecretSet::TicketKeys => "TicketKeysSecret",
            SecretSet::PaymentKeys => "PaymentKeysSecret",
            SecretSet::AdminAccounts => "AdminAccountsSecret",
        }
    }

    /// Checks one secret's JSON and stores what it holds into `config`; missing or weak values
    /// are refused by name (never by value).
    pub fn apply(self, config: &mut Config, secret_string: &str) -> Result<(), ConfigError> {
        let id = self.logical_id();
        let json: Map<String, Value> =
            serde_json::from_str(secret_string).map_err(|_| ConfigError::Secret {
                secret: id,
                key: "*",
                reason: "is not a JSON object".into(),
            })?;
        let field = |key: &'static str| -> Result<Option<&str>, ConfigError> {
            match json.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(ConfigError::Secret {
                    secret: id,
                    key,
                    reason: "must be a string".into(),
                }),
            }
        };
        let key = |name: &'static str, min: usize| -> Result<Option<Secret>, ConfigError> {
            match field(name)? {
                None => Ok(None),
                Some(v) if v.chars().count() < min => Err(ConfigError::Secret {
                    secret: id,
                    key: name,
                    reason: format!("must be at least {min} characters"),
                }),
                Some(v) => Ok(Some(Secret::new(v))),
            }
        };
        let required = |name: &'static str, min: usize| -> Result<Secret, ConfigError> {
            key(name, min)?.ok_or(ConfigError::Secret {
                secret: id,
                key: name,
                reason: "is missing".into(),
            })
        };
        match self {
            SecretSet::JwtKeys => {
                config.jwt.keys = Some(JwtKeys {
                    current: required("jwtSecret", MIN_KEY_CHARS)?,
                    previous: key("jwtPreviousSecret", MIN_KEY_CHARS)?,
                });
            }
            SecretSet::TicketKeys => {
                config.ticket_signing_key = Some(required("ticketSigningKey", MIN_KEY_CHARS)?);
                config.ticket_previous_signing_key =
                    key("ticketPreviousSigningKey", MIN_KEY_CHARS)?;
            }
            SecretSet::PaymentKeys => {
                config.stripe_webhook_secret =
                    Some(required("stripeWebhookSecret", MIN_STRIPE_CHARS)?);
                let api_key = required("stripeSecretKey", MIN_STRIPE_CHARS)?;
                if !(api_key.expose().starts_with("sk_") || api_key.expose().starts_with("rk_")) {
                    return Err(ConfigError::Secret {
                        secret: id,
                        key: "stripeSecretKey",
                        reason: "is not a Stripe secret or restricted key (sk_… or rk_…)".into(),
                    });
                }
                config.stripe_secret_key = Some(api_key);
                // Only where the sandbox exists: in prod its key has no business being there.
                config.sandbox_webhook_secret = if config.sandbox_enabled {
                    Some(required("sandboxWebhookSecret", MIN_KEY_CHARS)?)
                } else {
                    None
                };
            }
            SecretSet::AdminAccounts => {
                let raw = field("adminAccounts")?.unwrap_or("[]");
                config.admin_accounts = Some(parse_admins(raw)?);
            }
        }
        Ok(())
    }
}

/// The configured admins: every entry a valid email and an argon2id hash (a plain password or
/// another scheme is refused, so a typo cannot open an admin account).
fn parse_admins(raw: &str) -> Result<Vec<AdminAccount>, ConfigError> {
    let invalid = |reason: String| ConfigError::Secret {
        secret: SecretSet::AdminAccounts.logical_id(),
        key: "adminAccounts",
        reason,
    };
    let admins: Vec<AdminAccount> = serde_json::from_str(raw).map_err(|e| {
        // serde's message names the field, never the value.
        invalid(format!(
            "must be a JSON array of {{email, name, passwordHash}}: {e}"
        ))
    })?;
    for (i, admin) in admins.iter().enumerate() {
        crate::domain::user::normalize_email(&admin.email)
            .map_err(|_| invalid(format!("entry {i}: email is not a valid address")))?;
        let hash = argon2::PasswordHash::new(&admin.password_hash)
            .map_err(|_| invalid(format!("entry {i}: passwordHash is not a PHC hash")))?;
        if hash.algorithm.as_str() != "argon2id" {
            return Err(invalid(format!("entry {i}: passwordHash must be argon2id")));
        }
    }
    Ok(admins)
}

/// Reads `sets` into `config`, concurrently (one round trip at cold start), each from the ARN
/// the environment gave (`Config::secret_arns`).
pub async fn load(
    client: &Client,
    sets: &[SecretSet],
    config: &mut Config,
) -> Result<(), ConfigError> {
    let mut reads = Vec::with_capacity(sets.len());
    for &set in sets {
        let variable = set.arn_variable();
        let arn = config
            .secret_arns
            .get(&set)
            .cloned()
            .ok_or(ConfigError::Missing(variable))?;
        reads.push(async move {
            let out = client
                .get_secret_value()
                .secret_id(arn)
                .send()
                .await
                .map_err(|e| ConfigError::SecretUnreadable {
                    variable,
                    reason: aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
                })?;
            let value = out.secret_string.ok_or(ConfigError::Secret {
                secret: set.logical_id(),
                key: "*",
                reason: "has no SecretString".into(),
            })?;
            Ok::<_, ConfigError>((set, value))
        });
    }
    for (set, value) in futures::future::try_join_all(reads).await? {
        set.apply(config, &value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(sandbox: bool) -> Config {
        Config::from_lookup(|k| match k {
            "TABLE_NAME" => Some("t".into()),
            "SANDBOX_ENABLED" => Some(sandbox.to_string()),
            _ => None,
        })
        .expect("config")
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";
    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$0G6WbuvSKVHRhp3wAqyjXdkOXnnr1l6FGs9PbTmBHQE";

    #[test]
    fn each_set_fills_only_its_own_keys() {
        let mut c = config(true);
        SecretSet::JwtKeys
            .apply(&mut c, &format!(r#"{{"jwtSecret":"{KEY}"}}"#))
            .expect("jwt");
        assert!(c.jwt.keys.as_ref().is_some_and(|k| k.previous.is_none()));
        assert!(c.ticket_signing_key.is_none() && c.stripe_webhook_secret.is_none());
        assert!(c.admin_accounts.is_none());
        SecretSet::AdminAccounts
            .apply(&mut c, &format!(r#"{{"adminAccounts":"[{{\"email\":\"a@b.co\",\"name\":\"A\",\"passwordHash\":\"{HASH}\"}}]"}}"#))
            .expect("admins");
        assert_eq!(c.admin_accounts.as_ref().map(Vec::len), Some(1));
    }

    /// Every way a secret can be missing or weak, each refused naming the key, never the value.
    #[test]
    fn missing_or_weak_values_are_refused_by_name() {
        let cases: &[(SecretSet, bool, String, &str)] = &[
            (SecretSet::JwtKeys, true, "{}".into(), "jwtSecret"),
            (SecretSet::JwtKeys, true, r#"{"jwtSecret":""}"#.into(), "jwtSecret"),
            (SecretSet::JwtKeys, true, r#"{"jwtSecret":"short-key"}"#.into(), "jwtSecret"),
            (SecretSet::JwtKeys, true, format!(r#"{{"jwtSecret":"{KEY}","jwtPreviousSecret":"weak"}}"#), "jwtPreviousSecret"),
            (SecretSet::JwtKeys, true, format!(r#"{{"jwtSecret":["{KEY}"]}}"#), "jwtSecret"),
            (SecretSet::TicketKeys, true, "{}".into(), "ticketSigningKey"),
            (SecretSet::TicketKeys, true, r#"{"ticketSigningKey":"0123"}"#.into(), "ticketSigningKey"),
            (SecretSet::PaymentKeys, true, format!(r#"{{"sandboxWebhookSecret":"{KEY}","stripeSecretKey":"sk_test_0123456789abcdef"}}"#), "stripeWebhookSecret"),
            (SecretSet::PaymentKeys, true, r#"{"stripeWebhookSecret":"whsec_0123456789abcdef","stripeSecretKey":"sk_test_0123456789abcdef"}"#.into(), "sandboxWebhookSecret"),
            (SecretSet::PaymentKeys, false, r#"{"stripeWebhookSecret":"whsec_0123456789abcdef"}"#.into(), "stripeSecretKey"),
            (SecretSet::PaymentKeys, false, r#"{"stripeWebhookSecret":"whsec_0123456789abcdef","stripeSecretKey":"pk_test_0123456789abcdef"}"#.into(), "stripeSecretKey"),
            (SecretSet::AdminAccounts, true, r#"{"adminAccounts":"not json"}"#.into(), "adminAccounts"),
            (SecretSet::AdminAccounts, true, r#"{"adminAccounts":"[{\"email\":\"a@b.co\",\"name\":\"A\",\"passwordHash\":\"hunter2hunter2\"}]"}"#.into(), "adminAccounts"),
            (SecretSet::AdminAccounts, true, r#"{"adminAccounts":"[{\"email\":\"a@b.co\",\"name\":\"A\",\"passwordHash\":\"$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$YWJj\"}]"}"#.into(), "adminAccounts"),
            (SecretSet::AdminAccounts, true, format!(r#"{{"adminAccounts":"[{{\"email\":\"nobody\",\"name\":\"A\",\"passwordHash\":\"{HASH}\"}}]"}}"#), "adminAccounts"),
            (SecretSet::JwtKeys, true, "not json".into(), "*"),
        ];
        for (set, sandbox, json, key) in cases {
            let mut c = config(*sandbox);
            let err = set.apply(&mut c, json).expect_err(json);
            let text = err.to_string();
            assert!(
                text.contains(key) && text.contains(set.logical_id()),
                "{json}: {text}"
            );
            for value in [
                "short-key",
                "weak",
                "0123\"",
                "hunter2",
                "whsec_0123456789abcdef",
                "sk_test_0123456789abcdef",
                "pk_test_0123456789abcdef",
            ] {
                assert!(!text.contains(value), "{json}: the value leaked: {text}");
            }
        }
    }

    #[test]
    fn the_sandbox_key_is_required_only_where_the_sandbox_exists() {
        let stripe_only = r#"{"stripeWebhookSecret":"whsec_0123456789abcdef","stripeSecretKey":"sk_test_0123456789abcdef"}"#;
        let mut prod = config(false);
        SecretSet::PaymentKeys
            .apply(&mut prod, stripe_only)
            .expect("prod");
        assert!(prod.sandbox_webhook_secret.is_none() && prod.stripe_webhook_secret.is_some());
        let mut local = config(true);
        assert!(SecretSet::PaymentKeys
            .apply(&mut local, stripe_only)
            .is_err());
    }

    #[test]
    fn an_absent_admin_list_is_no_admins() {
        let mut c = config(true);
        SecretSet::AdminAccounts.apply(&mut c, "{}").expect("empty");
        assert_eq!(c.admin_accounts, Some(vec![]));
    }

    #[test]
    fn every_set_has_its_own_variable_and_resource() {
        let vars: std::collections::BTreeSet<_> =
            SecretSet::ALL.iter().map(|s| s.arn_variable()).collect();
        let ids: std::collections::BTreeSet<_> =
            SecretSet::ALL.iter().map(|s| s.logical_id()).collect();
        assert_eq!((vars.len(), ids.len()), (4, 4));
    }
}
