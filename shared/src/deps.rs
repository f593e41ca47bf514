//! What every handler gets: configuration and SDK clients, built once per cold start.

use crate::{
    cache::Caches,
    clock::Clock,
    config::{Config, ConfigError},
    payments::stripe::StripeClient,
    secrets::SecretSet,
    store::Store,
};
use aws_config::SdkConfig;
use std::{
    any::{Any, TypeId},
    collections::HashMap,
    sync::{Arc, Mutex},
};

#[derive(Clone, Debug)]
pub struct Deps {
    pub config: Arc<Config>,
    /// The one SDK configuration, for the few functions that need a client of their own.
    pub sdk: SdkConfig,
    pub store: Store,
    pub sqs: aws_sdk_sqs::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub clock: Clock,
    pub caches: Arc<Caches>,
    /// Stripe's API, where the function reads `PaymentKeys` (its key is there).
    stripe: Option<StripeClient>,
    extensions: Extensions,
}

/// State one function adds to its container (say, an SES client), built on first use and then
/// shared like the SDK clients above, without every other binary linking it.
#[derive(Clone, Default)]
struct Extensions(Arc<Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>>);

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Extensions")
    }
}

impl Deps {
    /// The caller of an HTTP request: 401 without a valid token, 403 unless its role is one of
    /// `roles` (`&Role::ANY` for any signed-in user).
    pub fn caller(
        &self,
        req: &lambda_http::Request,
        roles: &[crate::domain::user::Role],
    ) -> Result<crate::auth::Principal, crate::ApiError> {
        let caller = crate::auth::authenticate(&self.config.jwt, req)?;
        caller.require(roles)?;
        Ok(caller)
    }

    pub fn new(config: Config, sdk: &SdkConfig) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        let stripe = config.stripe_secret_key.clone().and_then(|key| {
            StripeClient::new(&config.stripe_api_base, key)
                .inspect_err(|e| tracing::error!(error = %e, "no Stripe client"))
                .ok()
        });
        Deps {
            stripe,
            store: Store::new(dynamodb, config.table_name.clone()),
            sqs: aws_sdk_sqs::Client::new(sdk),
            eventbridge: aws_sdk_eventbridge::Client::new(sdk),
            sdk: sdk.clone(),
            config: Arc::new(config),
            clock: Clock::system(),
            caches: Arc::new(Caches::default()),
            extensions: Extensions::default(),
        }
    }

    /// Cold start: logging, config from the environment, the function's `secrets` from Secrets
    /// Manager, SDK clients. A missing or weak setting is refused with one clear log line.
    pub async fn from_env(secrets: &[SecretSet]) -> Result<Self, ConfigError> {
        crate::logging::init();
        let started = async {
            let mut config = Config::from_env()?;
            let sdk = crate::aws::sdk_config().await;
            if !secrets.is_empty() {
                let client = aws_sdk_secretsmanager::Client::new(&sdk);
                crate::secrets::load(&client, secrets, &mut config).await?;
            }
            Ok(Deps::new(config, &sdk))
        };
        started.await.inspect_err(|e: &ConfigError| {
            tracing::error!(error = %e, "configuration refused: the function does not start");
        })
    }

    /// Stripe's API client, or a 500 in a function that does not read `PaymentKeys`.
    pub fn stripe(&self) -> Result<&StripeClient, crate::ApiError> {
        self.stripe.as_ref().ok_or_else(|| {
            crate::ApiError::Internal("no Stripe client in this function (PaymentKeys)".into())
        })
    }

    /// The container's `T`, built by `build` the first time it is asked for.
    pub fn extension<T: Any + Send + Sync>(&self, build: impl FnOnce(&Deps) -> T) -> Arc<T> {
        let key = TypeId::of::<T>();
        let found = match self.extensions.0.lock() {
            Ok(map) => map.get(&key).cloned(),
            Err(poisoned) => poisoned.into_inner().get(&key).cloned(),
        };
        if let Some(Ok(t)) = found.map(|v| v.downcast::<T>()) {
            return t;
        }
        let built = Arc::new(build(self));
        let mut map = match self.extensions.0.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        let entry = map.entry(key).or_insert_with(|| built.clone());
        entry.clone().downcast::<T>().unwrap_or(built)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_extension_is_built_once_per_container() {
        let config = Config::from_lookup(|k| match k {
            "TABLE_NAME" => Some("t".into()),
            _ => None,
        })
        .unwrap();
        let sdk = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let deps = Deps::new(config, &sdk);
        let builds = std::sync::atomic::AtomicUsize::new(0);
        let a = deps.extension(|_| {
            builds.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            String::from("client")
        });
        let b = deps.clone().extension(|_| {
            builds.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            String::from("other")
        });
        assert_eq!((a.as_str(), b.as_str()), ("client", "client"));
        assert_eq!(builds.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
