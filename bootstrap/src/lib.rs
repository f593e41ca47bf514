//! Every function BoxOffice has, by name, with its crate's entry point: the one table both the
//! multi-call Lambda binary (`src/main.rs`, dispatching on `_HANDLER`) and the local stack
//! (`infra/local`, one container per function) run functions from.
//!
//! Adding a function: one row in `FUNCTIONS` below (`("name", krate::FUNCTION)`) and the crate
//! in Cargo.toml; the trigger kind comes with the crate's entry point.

use boxoffice::runtime::Function;

/// Every function, by its name (template.yaml: its `Handler`, so Lambda's `_HANDLER`), with its
/// crate's entry point.
pub const FUNCTIONS: &[(&str, Function)] = &[
    ("best-available", best_available::FUNCTION),
    ("browse-shows", browse_shows::FUNCTION),
    ("cancel-booking", cancel_booking::FUNCTION),
    ("cancel-show", cancel_show::FUNCTION),
    ("cancel-show-seats", cancel_show_seats::FUNCTION),
    ("confirm-payment", confirm_payment::FUNCTION),
    ("create-booking", create_booking::FUNCTION),
    ("create-counter-sale", create_counter_sale::FUNCTION),
    ("create-api-key", create_api_key::FUNCTION),
    ("revoke-api-key", revoke_api_key::FUNCTION),
    ("block-external-seats", block_external_seats::FUNCTION),
    ("release-external-seats", release_external_seats::FUNCTION),
    ("create-movie", create_movie::FUNCTION),
    ("create-partner", create_partner::FUNCTION),
    ("create-show", create_show::FUNCTION),
    ("create-theatre", create_theatre::FUNCTION),
    ("expire-holds", expire_holds::FUNCTION),
    ("get-booking", get_booking::FUNCTION),
    ("get-movie", get_movie::FUNCTION),
    ("get-queue-status", get_queue_status::FUNCTION),
    ("get-seat-map", get_seat_map::FUNCTION),
    ("get-show-layout", get_show_layout::FUNCTION),
    ("get-seat-availability", get_seat_availability::FUNCTION),
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
    ("get-loyalty", get_loyalty::FUNCTION),
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

/// The named function (its `'static` name and entry point), if there is one.
pub fn function(name: &str) -> Option<(&'static str, Function)> {
    FUNCTIONS.iter().find(|(n, _)| *n == name).copied()
}

/// Every function's name.
pub fn names() -> Vec<&'static str> {
    FUNCTIONS.iter().map(|(name, _)| *name).collect()
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
        assert_eq!(crates, table, "functions/ vs the FUNCTIONS table");
    }

    #[test]
    fn an_unknown_name_is_none() {
        assert!(super::function("no-such-function").is_none());
        assert!(super::function("").is_none());
    }
}
