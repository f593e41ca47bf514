//! What every handler gets: configuration and SDK clients, built once per cold start.

use crate::{cache::Caches, clock::Clock, config::Config, store::Store};
use aws_config::SdkConfig;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct Deps {
    pub config: Arc<Config>,
    pub store: Store,
    pub sqs: aws_sdk_sqs::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub clock: Clock,
    pub caches: Arc<Caches>,
}

impl Deps {
    pub fn new(config: Config, sdk: &SdkConfig) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        Deps {
            store: Store::new(dynamodb, config.table_name.clone()),
            sqs: aws_sdk_sqs::Client::new(sdk),
            eventbridge: aws_sdk_eventbridge::Client::new(sdk),
            config: Arc::new(config),
            clock: Clock::system(),
            caches: Arc::new(Caches::default()),
        }
    }

    /// Cold start: logging, config from the environment, SDK clients.
    pub async fn from_env() -> Result<Self, lambda_http::Error> {
        crate::logging::init();
        let config = Config::from_env()?;
        let sdk = crate::aws::sdk_config().await;
        Ok(Deps::new(config, &sdk))
    }
}
