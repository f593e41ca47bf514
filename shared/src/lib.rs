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
pub mod http;
pub mod ids;
pub mod logging;
pub mod routes;
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
