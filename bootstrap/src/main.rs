//! The multi-call Lambda binary: one `bootstrap` that every function deploys. Lambda sets
//! `_HANDLER` to the function's `Handler` property (template.yaml: the function's name, e.g.
//! `create-booking`); this runs that function exactly as its own `main.rs` does. One link of
//! every handler instead of 31 (see README, Deploying), while each function stays its own Lambda
//! with its own role and settings.
//!
//! Adding a function: one row in `functions!` below (`"name" => kind krate`, kind `http`, `sqs`
//! or `event` as its main.rs's `*_main!`) and the crate in Cargo.toml. A row with the wrong kind
//! does not compile (the entry point's signature differs).

use boxoffice::runtime::Error;
use std::process::ExitCode;

/// The runtime loop of each trigger kind, under the name a row of `functions!` uses.
mod kind {
    pub use boxoffice::runtime::{run_event as event, run_http as http, run_sqs as sqs};
}

/// `"name" => kind krate`: `FUNCTIONS` (every name) and `run` (the named function's runtime loop,
/// `None` for an unknown name), with the secrets the function's crate lists (`SECRETS`). The one
/// place a row becomes a call.
macro_rules! functions {
    ($($name:literal => $kind:ident $krate:ident),* $(,)?) => {
        /// Every function this binary can run, by its `_HANDLER` name.
        pub const FUNCTIONS: &[&str] = &[$($name),*];

        fn run(name: &str) -> Option<Result<(), Error>> {
            Some(match name {
                $($name => kind::$kind($krate::lambda_entry, $krate::SECRETS),)*
                _ => return None,
            })
        }
    };
}

functions! {
    "best-available"     => http  best_available,
    "browse-shows"       => http  browse_shows,
    "cancel-booking"     => http  cancel_booking,
    "cancel-show"        => http  cancel_show,
    "cancel-show-seats"  => sqs   cancel_show_seats,
    "confirm-payment"    => sqs   confirm_payment,
    "create-booking"     => http  create_booking,
    "create-movie"       => http  create_movie,
    "create-partner"     => http  create_partner,
    "create-show"        => http  create_show,
    "create-theatre"     => http  create_theatre,
    "expire-holds"       => event expire_holds,
    "get-booking"        => http  get_booking,
    "get-movie"          => http  get_movie,
    "get-queue-status"   => http  get_queue_status,
    "get-seat-map"       => http  get_seat_map,
    "get-theatre"        => http  get_theatre,
    "get-ticket-image"   => http  get_ticket_image,
    "get-ticket-keys"    => http  get_ticket_keys,
    "initiate-payment"   => http  initiate_payment,
    "join-queue"         => http  join_queue,
    "join-waitlist"      => http  join_waitlist,
    "list-cities"        => http  list_cities,
    "list-movies"        => http  list_movies,
    "list-my-bookings"   => http  list_my_bookings,
    "list-notifications" => http  list_notifications,
    "list-offers"        => http  list_offers,
    "login"              => http  login,
    "notify"             => event notify,
    "payment-webhook"    => http  payment_webhook,
    "put-city"           => http  put_city,
    "put-offer"          => http  put_offer,
    "put-show-queue"     => http  put_show_queue,
    "queue-sequencer"    => event queue_sequencer,
    "refund-payment"     => sqs   refund_payment,
    "register"           => http  register,
    "route-not-found"    => http  route_not_found,
    "sandbox-complete"   => http  sandbox_complete,
    "show-stats"         => http  show_stats,
    "verify-ticket"      => http  verify_ticket,
}

fn main() -> ExitCode {
    let Ok(handler) = std::env::var("_HANDLER") else {
        eprintln!(
            "bootstrap: _HANDLER is not set; Lambda sets it to the function's Handler, one of: {}",
            FUNCTIONS.join(", ")
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
                FUNCTIONS.join(", ")
            );
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FUNCTIONS;
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
        let table: BTreeSet<String> = FUNCTIONS.iter().map(|s| s.to_string()).collect();
        assert_eq!(crates, table, "functions/ vs bootstrap's functions! table");
    }

    #[test]
    fn an_unknown_handler_is_none() {
        assert!(super::run("no-such-function").is_none());
        assert!(super::run("").is_none());
    }
}
