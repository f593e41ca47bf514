//! The refund worker (RefundsQueue, fed by the bus's `RefundInitiated` events): pays each refund
//! record through its provider once. The record is claimed first, so concurrent deliveries of one
//! refund make one provider call; the provider call carries the refund id as its idempotency key,
//! so a call retried after a crash is the same refund at Stripe. Passing failures (Stripe
//! unreachable, 429, 5xx) give the claim back and fail the message, which SQS redelivers (then
//! the DLQ and its alarm); a refund the provider refuses is recorded `FAILED` and logged for an
//! operator.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use boxoffice::{
    clock::rfc3339,
    domain::{
        channel::COUNTER_PROVIDER,
        refund::{self, Step},
    },
    payments::stripe::StripeError,
    runtime::{Function, Handler},
    secrets::SecretSet,
    store::refunds::RefundRecord,
    ApiError, Deps,
};
use serde::Deserialize;

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Sqs(|deps, event| Box::pin(handler(deps, event))),
    secrets: &[SecretSet::PaymentKeys],
};

pub async fn handler(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    boxoffice::runtime::each_message(&event, "refund message", |record| {
        process_record(deps, record)
    })
    .await
}

/// The EventBridge event as the rule delivers it to the queue.
#[derive(Deserialize)]
struct Envelope {
    detail: RefundRequest,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefundRequest {
    /// Absent on refunds decided before refund records existed: nothing to pay from.
    refund_id: Option<String>,
    booking_id: String,
}

async fn process_record(deps: &Deps, record: &SqsMessage) -> Result<(), ApiError> {
    let body = record.body.as_deref().unwrap_or_default();
    let Ok(Envelope { detail }) = serde_json::from_str::<Envelope>(body) else {
        // A retry cannot make it readable; say so where an operator looks.
        tracing::error!(
            metric = "RefundRequestUnreadable",
            "unreadable refund request: dropped"
        );
        return Ok(());
    };
    let Some(refund_id) = detail.refund_id else {
        tracing::warn!(booking_id = %detail.booking_id, "refund request without a refund record");
        return Ok(());
    };
    pay(deps, &refund_id).await
}

/// Pays refund `refund_id` unless it is paid, failed or being paid by another delivery.
pub async fn pay(deps: &Deps, refund_id: &str) -> Result<(), ApiError> {
    let Some(record) = deps.store.get_refund(refund_id).await? else {
        tracing::error!(
            refund_id,
            metric = "RefundRecordMissing",
            "refund request without its record"
        );
        return Ok(());
    };
    let now = deps.clock.now_epoch();
    if refund::step(&record.status, record.claimed_at, now) != Step::Pay
        || !deps.store.claim_refund(refund_id, now).await?
    {
        return Ok(()); // paid, given up, or another delivery is paying it
    }
    let at = rfc3339(deps.clock.now());
    match ask_provider(deps, &record).await {
        Ok(provider_refund_id) => {
            deps.store
                .settle_refund(
                    &record,
                    refund::SUCCEEDED,
                    Some(&provider_refund_id),
                    None,
                    &at,
                )
                .await?;
            tracing::info!(refund_id, booking_id = %record.booking_id, amount = record.amount, provider_refund_id, "refund paid");
            boxoffice::metrics::count("RefundsPaid", 1);
            Ok(())
        }
        Err(StripeError::Transient(why)) => {
            deps.store.release_refund_claim(refund_id, now).await?;
            Err(ApiError::ServiceUnavailable(why))
        }
        Err(refused) => {
            let why = refused.to_string();
            deps.store
                .settle_refund(&record, refund::FAILED, None, Some(&why), &at)
                .await?;
            tracing::error!(refund_id, booking_id = %record.booking_id, error = %why, metric = "RefundFailed",
                "the provider refused the refund: an operator must pay it back by hand");
            boxoffice::metrics::count("RefundsFailed", 1);
            Ok(())
        }
    }
}

/// The provider's refund id once it accepted the refund.
async fn ask_provider(deps: &Deps, r: &RefundRecord) -> Result<String, StripeError> {
    match r.provider.as_str() {
        "stripe" => {
            let stripe = deps
                .stripe()
                .map_err(|e| StripeError::Setup(e.to_string()))?;
            let paid = stripe
                .create_refund(&r.payment_intent_id, r.amount, &r.refund_id, &r.booking_id)
                .await?;
            match paid.status.as_str() {
                "succeeded" | "pending" | "requires_action" => Ok(paid.id),
                other => Err(StripeError::Refused {
                    status: 200,
                    message: format!("refund {} is {other}", paid.id),
                }),
            }
        }
        // The sandbox moves no money: its refund is paid the moment it is asked for.
        "sandbox" => Ok(format!("re_sandbox_{}", r.refund_id)),
        // A counter sale was paid at the counter and is paid back there: nothing to call.
        COUNTER_PROVIDER => Ok(format!("counter_{}", r.refund_id)),
        other => Err(StripeError::Setup(format!("no provider {other}"))),
    }
}
