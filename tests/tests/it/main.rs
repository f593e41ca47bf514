//! One test binary for every flow test (one link step instead of one per file).

mod auth;
mod bookings;
mod catalog;
mod cfn;
mod deploy;
mod errors;
mod hardening;
mod iam_conformance;
mod limits;
mod openapi;
mod outbox;
mod payments;
mod queue;
mod redrive;
mod scheduled;
mod stripe;
mod wiring;
