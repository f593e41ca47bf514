//! Function name → the very entry point (`lambda_entry`) its Lambda binary runs. The test
//! `every_function_is_wired` keeps this list equal to the function crates, template.yaml and events/.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use boxoffice::Deps;
use lambda_http::{Body, Request, Response};

macro_rules! http_functions {
    ($($name:literal => $krate:ident),* $(,)?) => {
        /// Every HTTP function, by name.
        pub const HTTP_FUNCTIONS: &[&str] = &[$($name),*];

        /// Calls the named HTTP function's handler; `None` for an unknown name.
        pub async fn invoke_http(name: &str, deps: &Deps, req: Request) -> Option<Response<Body>> {
            Some(match name {
                $($name => $krate::lambda_entry(deps, req).await,)*
                _ => return None,
            })
        }
    };
}

http_functions! {
    "register" => register,
    "login" => login,
    "create-partner" => create_partner,
    "put-city" => put_city,
    "list-cities" => list_cities,
    "route-not-found" => route_not_found,
    "create-movie" => create_movie,
    "list-movies" => list_movies,
    "get-movie" => get_movie,
    "create-theatre" => create_theatre,
    "get-theatre" => get_theatre,
    "create-show" => create_show,
    "browse-shows" => browse_shows,
    "get-seat-map" => get_seat_map,
    "show-stats" => show_stats,
    "create-booking" => create_booking,
    "get-booking" => get_booking,
    "list-my-bookings" => list_my_bookings,
    "cancel-booking" => cancel_booking,
    "put-offer" => put_offer,
    "list-offers" => list_offers,
    "initiate-payment" => initiate_payment,
    "payment-webhook" => payment_webhook,
    "sandbox-complete" => sandbox_complete,
    "verify-ticket" => verify_ticket,
    "cancel-show" => cancel_show,
    "list-notifications" => list_notifications,
    "join-waitlist" => join_waitlist,
}

macro_rules! sqs_functions {
    ($($name:literal => $krate:ident),* $(,)?) => {
        /// Every SQS-triggered function, by name.
        pub const SQS_FUNCTIONS: &[&str] = &[$($name),*];

        /// Calls the named SQS function's handler with a batch; `None` for an unknown name.
        pub async fn invoke_sqs(name: &str, deps: &Deps, event: SqsEvent) -> Option<SqsBatchResponse> {
            Some(match name {
                $($name => $krate::lambda_entry(deps, event).await,)*
                _ => return None,
            })
        }
    };
}

sqs_functions! {
    "confirm-payment" => confirm_payment,
}

macro_rules! event_functions {
    ($($name:literal => $krate:ident),* $(,)?) => {
        /// Every function EventBridge invokes (rules and schedules), by name.
        pub const EVENT_FUNCTIONS: &[&str] = &[$($name),*];

        /// Calls the named function with an EventBridge event; `None` for an unknown name.
        pub async fn invoke_event(name: &str, deps: &Deps, event: serde_json::Value) -> Option<Result<serde_json::Value, String>> {
            Some(match name {
                $($name => $krate::lambda_entry(deps, event).await.map_err(|e| e.to_string()),)*
                _ => return None,
            })
        }
    };
}

event_functions! {
    "expire-holds" => expire_holds,
    "notify" => notify,
}

/// Every function the local stack can run.
pub fn all_functions() -> Vec<&'static str> {
    HTTP_FUNCTIONS
        .iter()
        .chain(SQS_FUNCTIONS)
        .chain(EVENT_FUNCTIONS)
        .copied()
        .collect()
}
