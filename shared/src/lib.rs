//! BoxOffice shared library: everything two functions would otherwise write twice.

pub mod accounts;
pub mod auth;
pub mod aws;
pub mod bookings;
pub mod cache;
pub mod clock;
pub mod config;
pub mod deps;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
pub mod ids;
pub mod logging;
pub mod metrics;
pub mod payments;
pub mod refunds;
pub mod routes;
pub mod shows;
pub mod store;
pub mod views;

pub use deps::Deps;
pub use error::ApiError;

/// The `main` of an HTTP function: config and SDK clients built once per cold start, then the
/// Lambda runtime loop calling `handler(&deps, request)`.
#[macro_export]
macro_rules! http_main {
    ($handler:path) => {
        #[tokio::main]
        async fn main() -> Result<(), lambda_http::Error> {
            let deps = $crate::Deps::from_env().await?;
            let deps = &deps;
            lambda_http::run(lambda_http::service_fn(move |req| async move {
                Ok::<_, lambda_http::Error>($handler(deps, req).await)
            }))
            .await
        }
    };
}

/// The `main` of an SQS-triggered function: the handler returns an `SqsBatchResponse`, so only
/// the failed messages are retried (and, after three receives, dead-lettered).
#[macro_export]
macro_rules! sqs_main {
    ($handler:path) => {
        #[tokio::main]
        async fn main() -> Result<(), lambda_runtime::Error> {
            let deps = $crate::Deps::from_env().await?;
            let deps = &deps;
            lambda_runtime::run(lambda_runtime::service_fn(
                move |event: lambda_runtime::LambdaEvent<
                    aws_lambda_events::event::sqs::SqsEvent,
                >| async move {
                    Ok::<_, lambda_runtime::Error>($handler(deps, event.payload).await)
                },
            ))
            .await
        }
    };
}

/// The `main` of an EventBridge-triggered function (rules and schedules): an error fails the
/// invocation, so EventBridge retries it and finally dead-letters it.
#[macro_export]
macro_rules! event_main {
    ($handler:path) => {
        #[tokio::main]
        async fn main() -> Result<(), lambda_runtime::Error> {
            let deps = $crate::Deps::from_env().await?;
            let deps = &deps;
            lambda_runtime::run(lambda_runtime::service_fn(
                move |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
                    $handler(deps, event.payload)
                        .await
                        .map_err(|e| lambda_runtime::Error::from(e.to_string()))
                },
            ))
            .await
        }
    };
}

#[cfg(test)]
mod properties;
