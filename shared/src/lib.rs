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
pub mod hold;
pub mod http;
pub mod ids;
pub mod logging;
pub mod metrics;
pub mod payments;
pub mod queue;
pub mod refunds;
pub mod routes;
pub mod runtime;
pub mod secrets;
pub mod show_cancellation;
pub mod shows;
pub mod store;
pub mod views;

pub use deps::Deps;
pub use error::ApiError;

/// The Lambda entry point of a function's library: its handler behind a boxed future, defined
/// next to the handler so the handler's state machine is compiled once, in the library (see
/// `runtime`), with the secrets it reads at cold start: `http_entry!(handler, [JwtKeys])`,
/// `sqs_entry!(handler, [TicketKeys])` or `event_entry!(handler, [])`.
#[macro_export]
macro_rules! http_entry {
    ($handler:path, [$($secret:ident),* $(,)?]) => {
        /// The secrets this function reads at cold start (and nothing else can reach it).
        pub const SECRETS: &[$crate::secrets::SecretSet] = &[$($crate::secrets::SecretSet::$secret),*];

        #[inline(never)]
        pub fn lambda_entry(
            deps: &$crate::Deps,
            req: $crate::runtime::Request,
        ) -> $crate::runtime::BoxFuture<'_, $crate::runtime::HttpResponse> {
            Box::pin($handler(deps, req))
        }
    };
}

#[macro_export]
macro_rules! sqs_entry {
    ($handler:path, [$($secret:ident),* $(,)?]) => {
        /// The secrets this function reads at cold start (and nothing else can reach it).
        pub const SECRETS: &[$crate::secrets::SecretSet] = &[$($crate::secrets::SecretSet::$secret),*];

        #[inline(never)]
        pub fn lambda_entry(
            deps: &$crate::Deps,
            event: $crate::runtime::SqsEvent,
        ) -> $crate::runtime::BoxFuture<'_, $crate::runtime::SqsBatchResponse> {
            Box::pin($handler(deps, event))
        }
    };
}

#[macro_export]
macro_rules! event_entry {
    ($handler:path, [$($secret:ident),* $(,)?]) => {
        /// The secrets this function reads at cold start (and nothing else can reach it).
        pub const SECRETS: &[$crate::secrets::SecretSet] = &[$($crate::secrets::SecretSet::$secret),*];

        #[inline(never)]
        pub fn lambda_entry(
            deps: &$crate::Deps,
            event: serde_json::Value,
        ) -> $crate::runtime::BoxFuture<'_, Result<serde_json::Value, $crate::ApiError>> {
            Box::pin($handler(deps, event))
        }
    };
}

/// The `main` of a function binary: `http_main!(crate_name)` runs the crate's `lambda_entry`
/// (see `runtime`); likewise `sqs_main!` and `event_main!`.
#[macro_export]
macro_rules! http_main {
    ($krate:ident) => {
        fn main() -> Result<(), $crate::runtime::Error> {
            $crate::runtime::run_http($krate::lambda_entry, $krate::SECRETS)
        }
    };
}

#[macro_export]
macro_rules! sqs_main {
    ($krate:ident) => {
        fn main() -> Result<(), $crate::runtime::Error> {
            $crate::runtime::run_sqs($krate::lambda_entry, $krate::SECRETS)
        }
    };
}

#[macro_export]
macro_rules! event_main {
    ($krate:ident) => {
        fn main() -> Result<(), $crate::runtime::Error> {
            $crate::runtime::run_event($krate::lambda_entry, $krate::SECRETS)
        }
    };
}

#[cfg(test)]
mod properties;
