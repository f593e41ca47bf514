//! One test binary for every flow test (one link step instead of one per file).

mod auth;
mod best_available;
mod bookings;
mod catalog;
mod cfn;
mod channels;
mod demo;
mod deploy;
mod errors;
mod hardening;
mod history;
mod iam_conformance;
mod limits;
mod loyalty;
mod model;
mod openapi;
mod outbox;
mod payments;
mod queue;
mod redrive;
mod scheduled;
mod seat_conformance;
mod show_cancellation;
mod stripe;
mod tickets;
mod wiring;
