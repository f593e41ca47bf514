//! BoxOffice shared library: everything two functions would otherwise write twice.

pub mod accounts;
pub mod attempts;
pub mod auth;
pub mod aws;
pub mod bookings;
pub mod cache;
pub mod channels;
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
pub mod taken;
pub mod views;

pub use deps::Deps;
pub use error::ApiError;

#[cfg(test)]
mod properties;
