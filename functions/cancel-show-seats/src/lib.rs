//! The show-cancellation worker (CancelShowQueue, fed by cancel-show): each message is one part
//! of a cancelled show's seats (`boxoffice::show_cancellation::Part`); the pending bookings on
//! them are cancelled and the confirmed ones refunded. Every step is conditional on the booking's
//! state, so a redelivered part changes nothing twice; a failed part is redelivered, then
//! dead-lettered with an alarm (a repeated cancel-show queues it again).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use boxoffice::{
    runtime::{Function, Handler},
    show_cancellation::{cancel_part, Part},
    ApiError, Deps,
};

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Sqs(|deps, event| Box::pin(handler(deps, event))),
    secrets: &[],
};

pub async fn handler(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    boxoffice::runtime::each_message(&event, "cancellation part", |record| {
        process_record(deps, record)
    })
    .await
}

async fn process_record(deps: &Deps, record: &SqsMessage) -> Result<(), ApiError> {
    let body = record.body.as_deref().unwrap_or_default();
    let Ok(part) = serde_json::from_str::<Part>(body) else {
        // A retry cannot make it readable; say so where an operator looks.
        tracing::error!(
            metric = "CancellationPartUnreadable",
            "unreadable cancellation part: dropped"
        );
        return Ok(());
    };
    let done = cancel_part(deps, &part).await?;
    tracing::info!(show_id = %part.show_id, block = part.block,
        cancelled = done.cancelled, refunded = done.refunded, "cancellation part done");
    Ok(())
}
