//! Payment providers: webhook verification and normalisation into one internal message, and the
//! sandbox provider (local and test stages: intents are records, outcomes come from the sandbox
//! endpoint, which signs its webhooks exactly as the provider would).

pub mod signature;
pub mod stripe;

use crate::{config::Config, error::ApiError};
use serde::{Deserialize, Serialize};
use signature::SignatureError;

/// The normalised provider event and its outcome are domain types (`domain::payment` decides
/// on them); re-exported here, where the webhook makes them.
pub use crate::domain::payment::{PaymentMessage, PaymentOutcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Sandbox,
    Stripe,
}

impl Provider {
    /// The provider named in the webhook path; the sandbox only where it is enabled.
    pub fn from_name(name: &str, config: &Config) -> Option<Provider> {
        match name {
            "sandbox" if config.sandbox_enabled => Some(Provider::Sandbox),
            "stripe" => Some(Provider::Stripe),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Provider::Sandbox => "sandbox",
            Provider::Stripe => "stripe",
        }
    }

    pub fn signature_header(self) -> &'static str {
        match self {
            Provider::Sandbox => "x-signature",
            Provider::Stripe => "stripe-signature",
        }
    }

    /// The provider's webhook signing key (`PaymentKeys`), or a 500 where it is not loaded: an
    /// empty key would verify a signature anyone can compute.
    fn secret(self, config: &Config) -> Result<&[u8], ApiError> {
        let key = match self {
            Provider::Sandbox => config.sandbox_webhook_secret.as_ref(),
            Provider::Stripe => config.stripe_webhook_secret.as_ref(),
        };
        key.map(|k| k.expose().as_bytes()).ok_or_else(|| {
            ApiError::Internal(format!(
                "the {} webhook key is not loaded in this function (PaymentKeys)",
                self.name()
            ))
        })
    }

    /// Verifies the signature over the raw body, then parses the provider's event.
    pub fn verify(
        self,
        config: &Config,
        signature: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<Option<PaymentMessage>, ApiError> {
        signature::verify(self.secret(config)?, signature, body, now).map_err(|e| {
            let reason = match e {
                SignatureError::Missing => "missing",
                SignatureError::Malformed => "malformed",
                SignatureError::Stale => "stale",
                SignatureError::Mismatch => "mismatch",
            };
            tracing::warn!(provider = self.name(), reason, "webhook signature refused");
            crate::metrics::count("WebhookSignatureFailures", 1);
            ApiError::InvalidSignature
        })?;
        match self {
            Provider::Sandbox => parse_sandbox(body).map(Some),
            Provider::Stripe => parse_stripe(body, &origin_of(config)),
        }
        .and_then(|m| m.map(PaymentMessage::checked).transpose())
        .map_err(|m| ApiError::validation(format!("Unreadable {} event: {m}", self.name())))
    }
}

/// The sandbox provider's webhook body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxEvent {
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub payment_intent_id: String,
    pub amount: i64,
    pub currency: String,
    pub booking_reference: String,
    pub timestamp: i64,
}

fn parse_sandbox(body: &[u8]) -> Result<PaymentMessage, String> {
    let e: SandboxEvent = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let outcome = match e.kind.as_str() {
        "payment.succeeded" => PaymentOutcome::Succeeded,
        "payment.failed" => PaymentOutcome::Failed,
        "refund.succeeded" => PaymentOutcome::Refunded,
        other => return Err(format!("unknown event type {other}")),
    };
    Ok(PaymentMessage {
        provider: "sandbox".into(),
        event_id: e.event_id,
        outcome,
        payment_intent_id: e.payment_intent_id,
        booking_id: e.booking_reference,
        amount: e.amount,
        currency: e.currency.to_uppercase(),
        occurred_at: e.timestamp,
        provider_refund_id: None,
    })
}

#[derive(Deserialize)]
struct StripeEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: StripeData,
}

#[derive(Deserialize)]
struct StripeData {
    /// Read only for the event types we use: others may carry any object (but an object: Stripe
    /// never sends anything else, and the contract's schema says so).
    object: serde_json::Map<String, serde_json::Value>,
}

/// The fields we read of a PaymentIntent or a Charge.
#[derive(Deserialize)]
struct StripeObject {
    id: String,
    #[serde(default)]
    amount: i64,
    #[serde(default)]
    amount_refunded: i64,
    currency: String,
    #[serde(default)]
    payment_intent: Option<String>,
    #[serde(default)]
    metadata: std::collections::HashMap<String, String>,
    /// A Charge's refunds, newest first (older API versions include them; newer ones do not).
    #[serde(default)]
    refunds: Option<StripeList>,
}

#[derive(Deserialize)]
struct StripeList {
    #[serde(default)]
    data: Vec<StripeId>,
}

#[derive(Deserialize)]
struct StripeId {
    id: String,
}

/// Stripe's events as a message for `confirm-payment`, or `None` for an event that changes
/// nothing here: a type we do not use (answered 200: a 4xx makes Stripe retry for days and then
/// disable the endpoint), or `payment_intent.payment_failed`, which is not final (the customer may
/// retry the same intent; the seats stay held until `payment_intent.canceled` or the hold ends).
fn parse_stripe(body: &[u8], origin: &str) -> Result<Option<PaymentMessage>, String> {
    let e: StripeEvent = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let outcome = match e.kind.as_str() {
        "payment_intent.succeeded" => PaymentOutcome::Succeeded,
        "payment_intent.canceled" => PaymentOutcome::Failed,
        "charge.refunded" => PaymentOutcome::Refunded,
        "payment_intent.payment_failed" => {
            tracing::info!(event_id = %e.id, "payment attempt failed; the intent stays open");
            return Ok(None);
        }
        other => {
            tracing::info!(event_id = %e.id, kind = other, "Stripe event type not used: ignored");
            return Ok(None);
        }
    };
    let o: StripeObject = serde_json::from_value(serde_json::Value::Object(e.data.object))
        .map_err(|e| e.to_string())?;
    // A refund's amount is what the charge has refunded so far (`amount_refunded`, cumulative),
    // so `domain::payment` can tell a full refund from a partial one; its reference is the
    // charge's newest refund, or the charge where the event lists none.
    let (intent, amount, provider_refund_id) = match outcome {
        PaymentOutcome::Refunded => (
            o.payment_intent.ok_or("charge without payment_intent")?,
            o.amount_refunded,
            Some(
                o.refunds
                    .and_then(|l| l.data.into_iter().next())
                    .map_or(o.id, |r| r.id),
            ),
        ),
        _ => (o.id, o.amount, None),
    };
    if o.metadata.get("origin").is_some_and(|o| o != origin) {
        // Another deployment's intent on the same Stripe account (a dev and a test stage
        // sharing a test account): its booking is not ours to sell or refund.
        tracing::info!(event_id = %e.id, payment_intent = %intent, "Stripe event of another deployment: ignored");
        return Ok(None);
    }
    let Some(booking_id) = o.metadata.get("bookingId").cloned() else {
        // Not an intent of ours (another integration on the same account): nothing to sell or
        // refund here, and a 4xx would only make Stripe retry it for days.
        tracing::warn!(event_id = %e.id, payment_intent = %intent, "Stripe event without our bookingId: ignored");
        return Ok(None);
    };
    Ok(Some(PaymentMessage {
        provider: "stripe".into(),
        event_id: e.id,
        outcome,
        payment_intent_id: intent,
        booking_id,
        amount,
        currency: o.currency.to_uppercase(),
        occurred_at: e.created,
        provider_refund_id,
    }))
}

/// This deployment's mark on the intents it creates (`metadata.origin`), from its table's name:
/// several deployments may share one Stripe account, and each acts only on its own intents.
pub fn origin_of(config: &Config) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("boxoffice-origin\n{}", config.table_name));
    hex::encode(&digest[..8])
}

/// The body and signature header the sandbox provider sends for an outcome.
pub fn sandbox_webhook(
    config: &Config,
    event: &SandboxEvent,
    now: i64,
) -> Result<(String, String), ApiError> {
    let body = serde_json::to_string(event).map_err(ApiError::internal)?;
    let header = signature::sign(Provider::Sandbox.secret(config)?, now, body.as_bytes());
    Ok((header, body))
}

/// What `payment-webhook` does, and `sandbox-complete` after signing: verify the signature over the
/// raw body, normalise, enqueue for `confirm-payment`. No DynamoDB work. A failed send is a 503, so
/// the provider retries: nothing is acknowledged that was not queued. An event that changes
/// nothing here (`None`) is acknowledged and not queued.
pub async fn accept_webhook(
    deps: &crate::Deps,
    provider: Provider,
    signature: Option<&str>,
    body: &[u8],
) -> Result<Option<PaymentMessage>, ApiError> {
    if body.len() > crate::http::MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    let Some(message) = provider.verify(&deps.config, signature, body, deps.clock.now_epoch())?
    else {
        return Ok(None);
    };
    let text = serde_json::to_string(&message).map_err(ApiError::internal)?;
    deps.sqs
        .send_message()
        .queue_url(&deps.config.payments_queue_url)
        .message_body(text)
        .send()
        .await
        .map_err(|e| {
            ApiError::ServiceUnavailable(
                aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
            )
        })?;
    tracing::info!(provider = provider.name(), event_id = %message.event_id, booking_id = %message.booking_id, "webhook queued");
    Ok(Some(message))
}

/// Sandbox intents name their booking, so the sandbox needs no lookup table.
pub fn sandbox_intent_id(booking_id: &str) -> String {
    format!("pi_sandbox_{booking_id}")
}

pub fn booking_of_sandbox_intent(intent_id: &str) -> Option<&str> {
    intent_id
        .strip_prefix("pi_sandbox_")
        .filter(|b| crate::ids::is_id("bk", b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn succeeded_body() -> &'static [u8] {
        br#"{"id":"evt_1","type":"payment_intent.succeeded","created":1795000000,"data":{"object":{"id":"pi_1","amount":79060,"currency":"inr","metadata":{"bookingId":"bk_1"}}}}"#
    }

    #[test]
    fn stripe_events_normalise() {
        let body = br#"{"id":"evt_1","type":"payment_intent.succeeded","created":1795000000,"livemode":false,
            "data":{"object":{"id":"pi_1","object":"payment_intent","amount":79060,"currency":"inr","metadata":{"bookingId":"bk_1"}}}}"#;
        let m = parse_stripe(body, "o1")
            .expect("parses")
            .expect("a message");
        assert_eq!(
            (
                m.outcome,
                m.payment_intent_id.as_str(),
                m.amount,
                m.currency.as_str(),
                m.booking_id.as_str()
            ),
            (PaymentOutcome::Succeeded, "pi_1", 79060, "INR", "bk_1")
        );
        let refund = br#"{"id":"evt_2","type":"charge.refunded","created":1,"data":{"object":{"id":"ch_1","amount":100,"amount_refunded":100,"currency":"usd","payment_intent":"pi_1","metadata":{"bookingId":"bk_1"}}}}"#;
        let m = parse_stripe(refund, "o1")
            .expect("parses")
            .expect("a message");
        assert_eq!(
            (
                m.outcome,
                m.payment_intent_id.as_str(),
                m.amount,
                m.provider_refund_id.as_deref()
            ),
            (PaymentOutcome::Refunded, "pi_1", 100, Some("ch_1")),
            "no refunds listed: the charge is the reference"
        );
        // A partial refund carries what was refunded, not the charge's amount; the newest refund
        // listed is the reference.
        let partial = br#"{"id":"evt_4","type":"charge.refunded","created":1,"data":{"object":{"id":"ch_1","amount":100,"amount_refunded":30,"currency":"usd","payment_intent":"pi_1","metadata":{"bookingId":"bk_1"},"refunds":{"object":"list","data":[{"id":"re_2"},{"id":"re_1"}]}}}}"#;
        let m = parse_stripe(partial, "o1")
            .expect("parses")
            .expect("a message");
        assert_eq!(
            (m.amount, m.provider_refund_id.as_deref()),
            (30, Some("re_2"))
        );
        assert_eq!(
            parse_stripe(succeeded_body(), "o1")
                .expect("parses")
                .and_then(|m| m.provider_refund_id),
            None
        );
        let canceled = br#"{"id":"evt_3","type":"payment_intent.canceled","created":1,"data":{"object":{"id":"pi_1","amount":100,"currency":"usd","metadata":{"bookingId":"bk_1"}}}}"#;
        assert_eq!(
            parse_stripe(canceled, "o1")
                .expect("parses")
                .map(|m| m.outcome),
            Some(PaymentOutcome::Failed)
        );
    }

    /// Acknowledged, never queued: types we do not use (whatever their object), a failed attempt
    /// (not final at Stripe), an intent that is not ours.
    #[test]
    fn stripe_events_that_change_nothing_are_ignored() {
        for body in [
            r#"{"id":"e","type":"customer.created","created":1,"data":{"object":{"id":"c"}}}"#,
            r#"{"id":"e","type":"payment_intent.payment_failed","created":1,"data":{"object":{"id":"pi_1","amount":1,"currency":"usd","metadata":{"bookingId":"bk_1"}}}}"#,
            r#"{"id":"e","type":"payment_intent.succeeded","created":1,"data":{"object":{"id":"pi_1","amount":1,"currency":"usd"}}}"#,
            r#"{"id":"e","type":"payment_intent.succeeded","created":1,"data":{"object":{"id":"pi_1","amount":1,"currency":"usd","metadata":{"bookingId":"bk_1","origin":"o2"}}}}"#,
        ] {
            assert_eq!(
                parse_stripe(body.as_bytes(), "o1").expect(body),
                None,
                "{body}"
            );
        }
        let ours = br#"{"id":"e","type":"payment_intent.succeeded","created":1,"data":{"object":{"id":"pi_1","amount":1,"currency":"usd","metadata":{"bookingId":"bk_1","origin":"o1"}}}}"#;
        assert!(parse_stripe(ours, "o1").expect("parses").is_some());
        assert!(parse_stripe(
            br#"{"id":"e","type":"payment_intent.succeeded","created":1,"data":{"object":{}}}"#,
            "o1"
        )
        .is_err());
        // An event's object is an object, whatever its type (as Stripe sends and the contract says).
        assert!(parse_stripe(
            br#"{"id":"e","type":"customer.created","created":1,"data":{"object":null}}"#,
            "o1"
        )
        .is_err());
    }

    #[test]
    fn sandbox_events_normalise() {
        let body = br#"{"eventId":"evt_s","type":"payment.failed","paymentIntentId":"pi_s","amount":5,"currency":"inr","bookingReference":"bk_9","timestamp":7}"#;
        let m = parse_sandbox(body).expect("parses");
        assert_eq!(
            (m.outcome, m.booking_id.as_str(), m.currency.as_str()),
            (PaymentOutcome::Failed, "bk_9", "INR")
        );
        assert!(parse_sandbox(br#"{"eventId":"e"}"#).is_err());
    }
}
