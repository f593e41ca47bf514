//! Function name → the very entry point (`FUNCTION`: handler and secrets) its Lambda binary
//! runs. The test `every_function_is_wired` keeps this list equal to the function crates,
//! template.yaml and events/.
//!
//! Each function runs in a container of its own (`Functions`): its `Deps` are made on its first
//! invocation by the real cold start, reading only the function's own secrets from Secrets
//! Manager (moto) through the SDK, as in Lambda. So a function that uses a secret it does not
//! list fails here exactly as it would deployed.

use crate::iam::in_function;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use boxoffice::{
    runtime::{Function, Handler},
    secrets::SecretSet,
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};
use std::{collections::HashMap, sync::Arc};
use tokio::sync::{OnceCell, Semaphore, SemaphorePermit};

/// A container's workers: an execution environment of 8 vCPUs at the Rust runtime's default of
/// 8 concurrent requests per vCPU (and the emulators' own bound, `bounded::MAX_IN_FLIGHT`).
pub const WORKERS: usize = 64;

/// The warm containers of every function, made from one base (the stack's clients and settings).
#[derive(Clone)]
pub struct Functions {
    base: Deps,
    containers: Arc<HashMap<&'static str, Container>>,
}

/// One function's execution environment: its dependencies, made at its cold start, and its
/// workers.
struct Container {
    deps: OnceCell<Deps>,
    workers: Semaphore,
}

impl Functions {
    pub fn new(base: Deps) -> Self {
        let containers = all_functions()
            .into_iter()
            .map(|name| {
                let container = Container {
                    deps: OnceCell::new(),
                    workers: Semaphore::new(WORKERS),
                };
                (name, container)
            })
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

    /// A free worker of the function's container, and the container, cold-started on first use:
    /// the base's clients and settings, empty caches, and only the secrets the function lists,
    /// read through the SDK. The invocation runs while it holds the worker.
    async fn container(
        &self,
        name: &'static str,
        secrets: &[SecretSet],
    ) -> Result<(SemaphorePermit<'_>, &Deps), String> {
        let container = self
            .containers
            .get(name)
            .ok_or_else(|| format!("{name} is not a registered function"))?;
        let worker = container
            .workers
            .acquire()
            .await
            .map_err(|e| format!("{name} has no workers: {e}"))?;
        let deps = container.deps.get_or_try_init(|| async {
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
            Ok::<_, String>(deps)
        })
        .await?;
        Ok((worker, deps))
    }
}

/// What API Gateway answers when a function cannot start (Lambda's init failed).
fn init_failed(function: &str, error: &str) -> Response<Body> {
    ApiError::Internal(format!("{function} failed to start: {error}")).to_response("init-error")
}

/// The named function (its `'static` name and entry point), if there is one: a row of the table
/// the Lambda binary dispatches on (`bootstrap/src/lib.rs`).
pub use boxoffice_bootstrap::function;

/// Every function the local stack can run, by name.
pub fn all_functions() -> Vec<&'static str> {
    boxoffice_bootstrap::names()
}

/// The secrets a function reads at cold start (its crate's `FUNCTION.secrets`).
pub fn secrets_of(name: &str) -> Option<&'static [SecretSet]> {
    function(name).map(|(_, f)| f.secrets)
}

/// Calls the named HTTP function's handler; `None` for a name that is no HTTP function.
pub async fn invoke_http(
    name: &str,
    functions: &Functions,
    req: Request,
) -> Option<Response<Body>> {
    let (
        name,
        Function {
            handler: Handler::Http(handler),
            secrets,
        },
    ) = function(name)?
    else {
        return None;
    };
    Some(
        in_function(name, async {
            match functions.container(name, secrets).await {
                Ok((_worker, deps)) => handler(deps, req).await,
                Err(e) => init_failed(name, &e),
            }
        })
        .await,
    )
}

/// Calls the named SQS function's handler with a batch; `None` for a name that is no SQS
/// function. A function that cannot start fails the whole batch (every message comes back).
pub async fn invoke_sqs(
    name: &str,
    functions: &Functions,
    event: SqsEvent,
) -> Option<SqsBatchResponse> {
    let (
        name,
        Function {
            handler: Handler::Sqs(handler),
            secrets,
        },
    ) = function(name)?
    else {
        return None;
    };
    Some(
        in_function(name, async {
            match functions.container(name, secrets).await {
                Ok((_worker, deps)) => handler(deps, event).await,
                Err(_) => all_failed(&event),
            }
        })
        .await,
    )
}

/// Calls the named function with an EventBridge event; `None` for a name that is no function
/// EventBridge invokes (rules and schedules).
pub async fn invoke_event(
    name: &str,
    functions: &Functions,
    event: serde_json::Value,
) -> Option<Result<serde_json::Value, String>> {
    let (
        name,
        Function {
            handler: Handler::Event(handler),
            secrets,
        },
    ) = function(name)?
    else {
        return None;
    };
    Some(
        in_function(name, async {
            match functions.container(name, secrets).await {
                Ok((_worker, deps)) => handler(deps, event).await.map_err(|e| e.to_string()),
                Err(e) => Err(e),
            }
        })
        .await,
    )
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
