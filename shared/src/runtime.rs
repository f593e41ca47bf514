//! The Lambda runtime loop of every function, one per trigger kind. Each function's library boxes
//! its handler's future in a plain function (`http_entry!` and friends) and its `main`
//! (`http_main!`) hands that function here as a pointer, so the runtime, hyper and tower code is
//! compiled once, here, and the handler's state machine once, in its library, instead of again in
//! every binary: without LTO that was most of each binary's build time. The price is one boxed
//! future per invocation.

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

/// What `#[tokio::main]` builds: a multi-threaded runtime with I/O and timers.
fn block_on<F: Future<Output = Result<(), Error>>>(main: F) -> Result<(), Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(main)
}

/// An HTTP function: config, its `secrets` and SDK clients built once per cold start, then the
/// runtime loop. A refused configuration ends the process with an error (Lambda reports the
/// failed init and tries again on the next invocation), never a panic.
pub fn run_http(handler: HttpHandler, secrets: &[SecretSet]) -> Result<(), Error> {
    block_on(async {
        let deps = Deps::from_env(secrets).await?;
        let deps = &deps;
        lambda_http::run(lambda_http::service_fn(move |req| async move {
            Ok::<_, Error>(handler(deps, req).await)
        }))
        .await
    })
}

/// An SQS-triggered function: the handler returns an `SqsBatchResponse`, so only the failed
/// messages are retried (and, after the queue's maxReceiveCount receives, dead-lettered).
pub fn run_sqs(handler: SqsHandler, secrets: &[SecretSet]) -> Result<(), Error> {
    block_on(async {
        let deps = Deps::from_env(secrets).await?;
        let deps = &deps;
        lambda_runtime::run(lambda_runtime::service_fn(
            move |event: lambda_runtime::LambdaEvent<SqsEvent>| async move {
                Ok::<_, Error>(handler(deps, event.payload).await)
            },
        ))
        .await
    })
}

/// An EventBridge-triggered function (rules and schedules): an error fails the invocation, so
/// EventBridge retries it and finally dead-letters it.
pub fn run_event(handler: EventHandler, secrets: &[SecretSet]) -> Result<(), Error> {
    block_on(async {
        let deps = Deps::from_env(secrets).await?;
        let deps = &deps;
        lambda_runtime::run(lambda_runtime::service_fn(
            move |event: lambda_runtime::LambdaEvent<Value>| async move {
                handler(deps, event.payload)
                    .await
                    .map_err(|e| Error::from(e.to_string()))
            },
        ))
        .await
    })
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
