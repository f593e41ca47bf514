//! `POST /sandbox/payments/{paymentIntentId}/complete` (local and test stages only): plays the
//! payment provider. It builds the webhook event for the outcome, signs it with the sandbox
//! secret and delivers it through the same verify-and-enqueue path as a real webhook. Only the
//! booking's owner may decide its outcome (with anyone's, knowing a booking id would be enough to
//! fail a stranger's payment).

use boxoffice::{
    domain::user::Role,
    http::{ok, parse_json, path_param, serve, HttpResult},
    ids::new_id,
    payments::{
        accept_webhook, booking_of_sandbox_intent, sandbox_webhook, Provider, SandboxEvent,
    },
    runtime::{Function, Handler},
    secrets::SecretSet,
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Outcome {
    Succeeded,
    Failed,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CompleteBody {
    outcome: Outcome,
    /// Test hook: pay a different amount than the intent's (a mismatch the confirm step refunds).
    amount: Option<i64>,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys, SecretSet::PaymentKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| complete(deps, req)).await
}

async fn complete(deps: &Deps, req: Request) -> HttpResult {
    if !deps.config.sandbox_enabled {
        return Err(ApiError::NotFound("No such resource.".into()));
    }
    let caller = deps.caller(&req, &Role::ANY)?;
    let intent = path_param(&req, "paymentIntentId")?;
    let not_found = || ApiError::NotFound(format!("No payment intent {intent}."));
    let booking_id = booking_of_sandbox_intent(&intent).ok_or_else(not_found)?;
    let body: CompleteBody = parse_json(&req)?;
    let booking = deps
        .store
        .get_booking(booking_id)
        .await?
        .ok_or_else(not_found)?;
    if booking.user_id != caller.user_id {
        return Err(ApiError::Forbidden(
            "Only the booking's owner may complete its payment.".into(),
        ));
    }
    let payment = booking
        .payment
        .as_ref()
        .filter(|p| p.payment_intent_id == intent)
        .ok_or_else(not_found)?;
    let now = deps.clock.now_epoch();
    let event = SandboxEvent {
        event_id: new_id("evt"),
        kind: match body.outcome {
            Outcome::Succeeded => "payment.succeeded".into(),
            Outcome::Failed => "payment.failed".into(),
        },
        payment_intent_id: intent.clone(),
        amount: body.amount.unwrap_or(payment.amount),
        currency: payment.currency.clone(),
        booking_reference: booking.booking_id.clone(),
        timestamp: now,
    };
    let (signature, raw) = sandbox_webhook(&deps.config, &event, now)?;
    accept_webhook(deps, Provider::Sandbox, Some(&signature), raw.as_bytes()).await?;
    ok(&serde_json::json!({ "delivered": true, "eventId": event.event_id, "type": event.kind }))
}
