//! One test binary for every flow test (one link step instead of one per file).

mod auth;
mod bookings;
mod catalog;
mod errors;
mod hardening;
mod openapi;
mod payments;
mod redrive;
mod scheduled;
mod wiring;
