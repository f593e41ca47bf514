//! The Lambda runtime loop of every function, one per trigger kind. Each function's library
//! exports its entry point as a value (`FUNCTION`: its handler behind a boxed future, and the
//! secrets it reads), and its `main.rs` hands that value here, so the runtime, hyper and tower
//! code is compiled once, here, and the handler's state machine once, in its library, instead of
//! again in every binary: without LTO that was most of each binary's build time. The price is one
//! boxed future per invocation.

use crate::{secrets::SecretSet, ApiError, Deps};
pub use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
pub use lambda_http::Request;
use lambda_http::{Body, Response};
use serde_json::Value;
use std::{future::Future, pin::Pin};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
pub type HttpResponse = Response<Body>;
pub type HttpHandler = for<'a> fn(&'a Deps, Request) -> BoxFuture<'a, HttpResponse>;
pub type SqsHandler = for<'a> fn(&'a Deps, SqsEvent) -> BoxFuture<'a, SqsBatchResponse>;
pub type EventHandler = for<'a> fn(&'a Deps, Value) -> BoxFuture<'a, Result<Value, ApiError>>;
pub type Error = lambda_runtime::Error;

/// A function's handler, by the trigger that invokes it; each boxes its future (see the module).
#[derive(Clone, Copy)]
pub enum Handler {
    /// API Gateway (HTTP API): a request in, a response out.
    Http(HttpHandler),
    /// An SQS event source: a batch in, the failed messages out (`SqsBatchResponse`).
    Sqs(SqsHandler),
    /// EventBridge (rules and schedules): an error fails the invocation, so it is retried.
    Event(EventHandler),
}

/// What each function's library exports as `FUNCTION`: the handler its binary runs, and the
/// secrets it reads at cold start (nothing else can reach it).
#[derive(Clone, Copy)]
pub struct Function {
    pub handler: Handler,
    pub secrets: &'static [SecretSet],
}

/// What `#[tokio::main]` builds: a multi-threaded runtime with I/O and timers.
pub fn block_on<F: Future<Output = Result<(), Error>>>(main: F) -> Result<(), Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(main)
}

/// A whole function binary: its configuration, secrets and SDK clients built once per cold
/// start (`Deps::from_env`), then the runtime loop. A refused configuration ends the process
/// with an error (Lambda reports the failed init and tries again on the next invocation),
/// never a panic. A `main.rs` spells these same lines out.
pub fn run(function: Function) -> Result<(), Error> {
    block_on(async {
        let deps = Deps::from_env(function.secrets).await?;
        serve(deps, function.handler).await
    })
}

/// The runtime loop: every invocation of this container handled with the same `deps`, which
/// live as long as the process. On Lambda one invocation at a time; on Lambda Managed Instances
/// (`AWS_LAMBDA_MAX_CONCURRENCY` above 1) that many workers at once, sharing `deps` and its warm
/// caches (the memory of taken seats among them: `taken`), as the local stack runs every function
/// (`infra/local/src/registry.rs`).
pub async fn serve(deps: Deps, handler: Handler) -> Result<(), Error> {
    let deps: &'static Deps = Box::leak(Box::new(deps));
    match handler {
        Handler::Http(handler) => {
            lambda_http::run_concurrent(lambda_http::service_fn(move |req| async move {
                Ok::<_, Error>(handler(deps, req).await)
            }))
            .await
        }
        Handler::Sqs(handler) => {
            lambda_runtime::run_concurrent(lambda_runtime::service_fn(
                move |event: lambda_runtime::LambdaEvent<SqsEvent>| async move {
                    Ok::<_, Error>(handler(deps, event.payload).await)
                },
            ))
            .await
        }
        Handler::Event(handler) => {
            lambda_runtime::run_concurrent(lambda_runtime::service_fn(
                move |event: lambda_runtime::LambdaEvent<Value>| async move {
                    handler(deps, event.payload)
                        .await
                        .map_err(|e| Error::from(e.to_string()))
                },
            ))
            .await
        }
    }
}

/// An SQS batch applied message by message, concurrently: each message's `apply` on its own, and
/// only the failed ones reported (`SqsBatchResponse`), so one bad message never fails its
/// neighbours and SQS redelivers exactly the failures. `what` names the messages in the log.
pub async fn each_message<'a, F, Fut>(event: &'a SqsEvent, what: &str, apply: F) -> SqsBatchResponse
where
    F: Fn(&'a aws_lambda_events::event::sqs::SqsMessage) -> Fut,
    Fut: std::future::Future<Output = Result<(), crate::ApiError>>,
{
    let outcomes = futures::future::join_all(event.records.iter().map(|record| {
        let outcome = apply(record);
        async move { (record, outcome.await) }
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (record, outcome) in outcomes {
        if let Err(e) = outcome {
            let id = record.message_id.clone().unwrap_or_default();
            tracing::error!(message_id = %id, error = %e, "{what} failed; it will be retried");
            let mut failure = aws_lambda_events::event::sqs::BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}
