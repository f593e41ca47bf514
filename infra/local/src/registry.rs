//! Function name → the very entry point (`lambda_entry`) its Lambda binary runs, and the secrets
//! it reads at cold start (`SECRETS`). The test `every_function_is_wired` keeps this list equal to
//! the function crates, template.yaml and events/.
//!
//! Each function runs in a container of its own (`Functions`): its `Deps` are made on its first
//! invocation by the real cold start, reading only the function's own secrets from Secrets
//! Manager (moto) through the SDK, as in Lambda. So a function that uses a secret it does not
//! list fails here exactly as it would deployed.

use crate::iam::in_function;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use boxoffice::{secrets::SecretSet, ApiError, Deps};
use lambda_http::{Body, Request, Response};
use std::{collections::HashMap, sync::Arc};
use tokio::sync::OnceCell;

/// The warm containers of every function, made from one base (the stack's clients and settings).
#[derive(Clone)]
pub struct Functions {
    base: Deps,
    containers: Arc<HashMap<&'static str, OnceCell<Deps>>>,
}

impl Functions {
    pub fn new(base: Deps) -> Self {
        let containers = all_functions()
            .into_iter()
            .map(|name| (name, OnceCell::new()))
            .collect();
        Functions {
            base,
            containers: Arc::new(containers),
        }
    }

    /// The stack's own dependencies (every secret loaded): for tests and seeding.
    pub fn base(&self) -> &Deps {
        &self.base
    }

    /// The function's container, cold-started on first use: the base's clients and settings,
    /// empty caches, and only the secrets the function lists, read through the SDK.
    async fn container(&self, name: &'static str, secrets: &[SecretSet]) -> Result<&Deps, String> {
        let cell = self
            .containers
            .get(name)
            .ok_or_else(|| format!("{name} is not a registered function"))?;
        cell.get_or_try_init(|| async {
            let mut config = self.base.config.without_secrets();
            let client = aws_sdk_secretsmanager::Client::new(&self.base.sdk);
            boxoffice::secrets::load(&client, secrets, &mut config)
                .await
                .map_err(|e| {
                    tracing::error!(function = name, error = %e, "configuration refused: the function does not start");
                    e.to_string()
                })?;
            let mut deps = self.base.clone();
            deps.config = Arc::new(config);
            // Its own warm caches, as each Lambda function's containers have theirs.
            deps.caches = Default::default();
            Ok(deps)
        })
        .await
    }
}

/// What API Gateway answers when a function cannot start (Lambda's init failed).
fn init_failed(function: &str, error: &str) -> Response<Body> {
    ApiError::Internal(format!("{function} failed to start: {error}")).to_response("init-error")
}

macro_rules! http_functions {
    ($($name:literal => $krate:ident),* $(,)?) => {
        /// Every HTTP function, by name.
        pub const HTTP_FUNCTIONS: &[&str] = &[$($name),*];

        /// Calls the named HTTP function's handler; `None` for an unknown name.
        pub async fn invoke_http(name: &str, functions: &Functions, req: Request) -> Option<Response<Body>> {
            Some(match name {
                $($name => in_function($name, async {
                    match functions.container($name, $krate::SECRETS).await {
                        Ok(deps) => $krate::lambda_entry(deps, req).await,
                        Err(e) => init_failed($name, &e),
                    }
                }).await,)*
                _ => return None,
            })
        }

        /// The secrets the named HTTP function reads at cold start.
        pub fn http_secrets(name: &str) -> Option<&'static [SecretSet]> {
            match name {
                $($name => Some($krate::SECRETS),)*
                _ => None,
            }
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
    "best-available" => best_available,
    "get-ticket-image" => get_ticket_image,
    "get-ticket-keys" => get_ticket_keys,
    "put-show-queue" => put_show_queue,
    "join-queue" => join_queue,
    "get-queue-status" => get_queue_status,
}

macro_rules! sqs_functions {
    ($($name:literal => $krate:ident),* $(,)?) => {
        /// Every SQS-triggered function, by name.
        pub const SQS_FUNCTIONS: &[&str] = &[$($name),*];

        /// Calls the named SQS function's handler with a batch; `None` for an unknown name. A
        /// function that cannot start fails the whole batch (every message comes back).
        pub async fn invoke_sqs(name: &str, functions: &Functions, event: SqsEvent) -> Option<SqsBatchResponse> {
            Some(match name {
                $($name => in_function($name, async {
                    match functions.container($name, $krate::SECRETS).await {
                        Ok(deps) => $krate::lambda_entry(deps, event).await,
                        Err(_) => all_failed(&event),
                    }
                }).await,)*
                _ => return None,
            })
        }

        /// The secrets the named SQS function reads at cold start.
        pub fn sqs_secrets(name: &str) -> Option<&'static [SecretSet]> {
            match name {
                $($name => Some($krate::SECRETS),)*
                _ => None,
            }
        }
    };
}

sqs_functions! {
    "confirm-payment" => confirm_payment,
    "refund-payment" => refund_payment,
    "cancel-show-seats" => cancel_show_seats,
}

macro_rules! event_functions {
    ($($name:literal => $krate:ident),* $(,)?) => {
        /// Every function EventBridge invokes (rules and schedules), by name.
        pub const EVENT_FUNCTIONS: &[&str] = &[$($name),*];

        /// Calls the named function with an EventBridge event; `None` for an unknown name.
        pub async fn invoke_event(name: &str, functions: &Functions, event: serde_json::Value) -> Option<Result<serde_json::Value, String>> {
            Some(match name {
                $($name => in_function($name, async {
                    match functions.container($name, $krate::SECRETS).await {
                        Ok(deps) => $krate::lambda_entry(deps, event).await.map_err(|e| e.to_string()),
                        Err(e) => Err(e),
                    }
                }).await,)*
                _ => return None,
            })
        }

        /// The secrets the named event function reads at cold start.
        pub fn event_secrets(name: &str) -> Option<&'static [SecretSet]> {
            match name {
                $($name => Some($krate::SECRETS),)*
                _ => None,
            }
        }
    };
}

event_functions! {
    "expire-holds" => expire_holds,
    "notify" => notify,
    "queue-sequencer" => queue_sequencer,
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

/// The secrets a function reads at cold start (its crate's `SECRETS`).
pub fn secrets_of(name: &str) -> Option<&'static [SecretSet]> {
    http_secrets(name)
        .or_else(|| sqs_secrets(name))
        .or_else(|| event_secrets(name))
}

fn all_failed(event: &SqsEvent) -> SqsBatchResponse {
    use aws_lambda_events::event::sqs::BatchItemFailure;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = event
        .records
        .iter()
        .map(|r| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = r.message_id.clone().unwrap_or_default();
            failure
        })
        .collect();
    response
}
