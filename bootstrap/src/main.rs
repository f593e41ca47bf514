//! The multi-call Lambda binary: one `bootstrap` that every function deploys. Lambda sets
//! `_HANDLER` to the function's `Handler` property (template.yaml: the function's name, e.g.
//! `create-booking`); this runs that function exactly as its own `main.rs` does. One link of
//! every handler instead of 31 (see README, Deploying), while each function stays its own Lambda
//! with its own role and settings.
//!
//! Adding a function: one row in `FUNCTIONS` below (`("name", krate::FUNCTION)`) and the crate
//! in Cargo.toml; the trigger kind comes with the crate's entry point.

use boxoffice::runtime::{self, Error, Function};
use std::process::ExitCode;

/// Every function this binary can run, by its `_HANDLER` name, with its crate's entry point.
const FUNCTIONS: &[(&str, Function)] = &[
    ("best-available", best_available::FUNCTION),
    ("browse-shows", browse_shows::FUNCTION),
    ("cancel-booking", cancel_booking::FUNCTION),
    ("cancel-show", cancel_show::FUNCTION),
    ("cancel-show-seats", cancel_show_seats::FUNCTION),
    ("confirm-payment", confirm_payment::FUNCTION),
    ("create-booking", create_booking::FUNCTION),
    ("create-movie", create_movie::FUNCTION),
    ("create-partner", create_partner::FUNCTION),
    ("create-show", create_show::FUNCTION),
    ("create-theatre", create_theatre::FUNCTION),
    ("expire-holds", expire_holds::FUNCTION),
    ("get-booking", get_booking::FUNCTION),
    ("get-movie", get_movie::FUNCTION),
    ("get-queue-status", get_queue_status::FUNCTION),
    ("get-seat-map", get_seat_map::FUNCTION),
    ("get-theatre", get_theatre::FUNCTION),
    ("get-ticket-image", get_ticket_image::FUNCTION),
    ("get-ticket-keys", get_ticket_keys::FUNCTION),
    ("initiate-payment", initiate_payment::FUNCTION),
    ("join-queue", join_queue::FUNCTION),
    ("join-waitlist", join_waitlist::FUNCTION),
    ("list-cities", list_cities::FUNCTION),
    ("list-movies", list_movies::FUNCTION),
    ("list-my-bookings", list_my_bookings::FUNCTION),
    ("list-notifications", list_notifications::FUNCTION),
    ("list-offers", list_offers::FUNCTION),
    ("login", login::FUNCTION),
    ("notify", notify::FUNCTION),
    ("payment-webhook", payment_webhook::FUNCTION),
    ("put-city", put_city::FUNCTION),
    ("put-offer", put_offer::FUNCTION),
    ("put-show-queue", put_show_queue::FUNCTION),
    ("queue-sequencer", queue_sequencer::FUNCTION),
    ("refund-payment", refund_payment::FUNCTION),
    ("register", register::FUNCTION),
    ("route-not-found", route_not_found::FUNCTION),
    ("sandbox-complete", sandbox_complete::FUNCTION),
    ("show-stats", show_stats::FUNCTION),
    ("verify-ticket", verify_ticket::FUNCTION),
];

/// Every name `_HANDLER` may give.
fn names() -> Vec<&'static str> {
    FUNCTIONS.iter().map(|(name, _)| *name).collect()
}

/// The named function's runtime loop (what its own `main.rs` runs); `None` for an unknown name.
fn run(name: &str) -> Option<Result<(), Error>> {
    let (_, function) = FUNCTIONS.iter().find(|(n, _)| *n == name)?;
    Some(runtime::run(*function))
}

fn main() -> ExitCode {
    let Ok(handler) = std::env::var("_HANDLER") else {
        eprintln!(
            "bootstrap: _HANDLER is not set; Lambda sets it to the function's Handler, one of: {}",
            names().join(", ")
        );
        return ExitCode::from(2);
    };
    match run(&handler) {
        Some(Ok(())) => ExitCode::SUCCESS,
        // What a function's own `main` (returning `Result`) prints before exiting with 1.
        Some(Err(e)) => {
            eprintln!("Error: {e:?}");
            ExitCode::FAILURE
        }
        None => {
            eprintln!(
                "bootstrap: _HANDLER={handler:?} names no function; the function's Handler must be one of: {}",
                names().join(", ")
            );
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::names;
    use std::collections::BTreeSet;

    #[test]
    fn every_function_crate_is_dispatched() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions");
        let crates: BTreeSet<String> = std::fs::read_dir(dir)
            .expect("functions/ exists")
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("Cargo.toml").exists())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let table: BTreeSet<String> = names().iter().map(|s| s.to_string()).collect();
        assert_eq!(crates, table, "functions/ vs bootstrap's FUNCTIONS table");
    }

    #[test]
    fn an_unknown_handler_is_none() {
        assert!(super::run("no-such-function").is_none());
        assert!(super::run("").is_none());
    }
}
