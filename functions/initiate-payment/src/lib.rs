//! `POST /bookings/{bookingId}/payments` (the owner, idempotent): opens a payment intent with the
//! provider and extends the seat holds, once, to the payment window.

use boxoffice::{
    bookings::load_for,
    clock::rfc3339,
    config::Config,
    domain::booking::{Booking, BookingStatus, PaymentInfo, PaymentStatus},
    domain::user::Role,
    http::{
        body_bytes, idempotency_key, json_text, parse_json, path_param, replay, serve, HttpResult,
    },
    ids::new_id,
    payments::{origin_of, sandbox_intent_id, stripe::StripeError, Provider},
    runtime::{Function, Handler},
    secrets::SecretSet,
    store::{bookings::IdempotencyRecord, payments::StartPayment},
    ApiError, Deps,
};
use lambda_http::{http::StatusCode, Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PaymentBody {
    provider: String,
    return_url: String,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys, SecretSet::PaymentKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| initiate_payment(deps, req)).await
}

/// The payment's id, which is also Stripe's idempotency key: the same for a retried request (same
/// caller, same `Idempotency-Key`, same booking), so a retry that reaches Stripe again gets the
/// intent the first attempt created there; a new one for a request without a key.
fn payment_id_for(user_id: &str, key: Option<&str>, booking_id: &str) -> String {
    match key {
        Some(key) => {
            let digest = Sha256::digest(format!("{user_id}\n{key}\n{booking_id}"));
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(&digest[..16]);
            format!("pay_{}", ulid::Ulid::from_bytes(bytes))
        }
        None => new_id("pay"),
    }
}

/// Why this booking cannot start a payment now, as the contract's error.
fn refusal(booking: &Booking, now: i64) -> Option<ApiError> {
    match booking.status {
        BookingStatus::PaymentPending if booking.payment.is_some() => {
            Some(ApiError::PaymentPending)
        }
        BookingStatus::PaymentPending if booking.hold_expires_at < now => {
            Some(ApiError::BookingExpired)
        }
        BookingStatus::PaymentPending => None,
        BookingStatus::Expired => Some(ApiError::BookingExpired),
        other => Some(ApiError::NotPayable(format!(
            "A {} booking cannot be paid.",
            other.as_str()
        ))),
    }
}

async fn initiate_payment(deps: &Deps, req: Request) -> HttpResult {
    let caller = deps.caller(&req, &Role::ANY)?;
    let key = idempotency_key(&req)?;
    let booking_id = path_param(&req, "bookingId")?;
    let body: PaymentBody = parse_json(&req)?;
    let provider = checked_provider(&body, &deps.config)?;
    let booking = load_for(deps, &caller, &booking_id).await?;
    if booking.user_id != caller.user_id {
        return Err(ApiError::Forbidden(
            "Only the booking's owner can pay for it.".into(),
        ));
    }
    let request_hash = hex::encode(Sha256::digest(body_bytes(&req)));
    let now = deps.clock.now();
    if let Some(refused) = refusal(&booking, now.timestamp()) {
        // A retry of a request that already opened the intent gets its stored answer.
        if let (ApiError::PaymentPending, Some(k)) = (&refused, key.as_deref()) {
            if let Some(record) = deps.store.get_idempotency(&caller.user_id, k).await? {
                return replay(record, &request_hash);
            }
        }
        return Err(refused);
    }

    let payment_id = payment_id_for(&caller.user_id, key.as_deref(), &booking.booking_id);
    let (intent, redirect_url, provider_payload) =
        open_intent(deps, provider, &booking, &payment_id, &body.return_url).await?;
    let payment = PaymentInfo {
        payment_id,
        provider: provider.name().to_owned(),
        payment_intent_id: intent,
        amount: booking.pricing.total,
        currency: booking.pricing.currency.clone(),
        status: PaymentStatus::Initiated,
        redirect_url,
        created_at: rfc3339(now),
    };
    let hold_until = booking
        .hold_expires_at
        .max(now.timestamp() + deps.config.payment_window_seconds);
    let response = started(&payment, &booking, provider_payload, hold_until);
    let idempotency = key
        .as_deref()
        .map(|k| (k, IdempotencyRecord::created(&request_hash, &response)));
    match deps
        .store
        .start_payment(&booking, &payment, hold_until, now.timestamp(), idempotency)
        .await?
    {
        StartPayment::Started => {
            tracing::info!(booking_id = %booking.booking_id, payment_id = %payment.payment_id, "payment started");
            json_text(StatusCode::CREATED, response)
        }
        StartPayment::Replay(record) => replay(record, &request_hash),
        StartPayment::Changed => {
            let now_booking = load_for(deps, &caller, &booking_id).await?;
            Err(refusal(&now_booking, now.timestamp()).unwrap_or(ApiError::PaymentPending))
        }
    }
}

/// The provider the body names (the sandbox only where it is enabled), if its return URL is an
/// http(s) URL.
fn checked_provider(body: &PaymentBody, config: &Config) -> Result<Provider, ApiError> {
    let provider = match Provider::from_name(&body.provider, config) {
        Some(p) => p,
        None if config.sandbox_enabled => {
            return Err(ApiError::validation(
                "provider must be \"stripe\" or \"sandbox\".",
            ))
        }
        None => return Err(ApiError::validation("provider must be \"stripe\".")),
    };
    let url_ok = (body.return_url.starts_with("https://")
        || body.return_url.starts_with("http://"))
        && body.return_url.len() <= 2048
        && !body
            .return_url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
    if !url_ok {
        return Err(ApiError::validation("returnUrl must be an http(s) URL."));
    }
    Ok(provider)
}

/// Opens the payment with the provider: the intent's id, the URL the customer is sent to (the
/// sandbox's; Stripe's payments complete in the client with the secret) and the client's payload.
async fn open_intent(
    deps: &Deps,
    provider: Provider,
    booking: &Booking,
    payment_id: &str,
    return_url: &str,
) -> Result<(String, String, serde_json::Value), ApiError> {
    Ok(match provider {
        Provider::Stripe => {
            let intent = deps
                .stripe()?
                .create_payment_intent(
                    booking.pricing.total,
                    &booking.pricing.currency,
                    &booking.booking_id,
                    payment_id,
                    &origin_of(&deps.config),
                )
                .await
                .map_err(|e| match e {
                    StripeError::Transient(m) => ApiError::ServiceUnavailable(m),
                    other => ApiError::internal(other),
                })?;
            let payload =
                json!({ "paymentIntentId": intent.id, "clientSecret": intent.client_secret });
            (intent.id, String::new(), payload)
        }
        Provider::Sandbox => {
            let intent = sandbox_intent_id(&booking.booking_id);
            let separator = if return_url.contains('?') { '&' } else { '?' };
            let url = format!(
                "{}{separator}bookingId={}&paymentIntentId={intent}",
                return_url, booking.booking_id
            );
            let payload = json!({ "paymentIntentId": intent, "redirectUrl": url });
            (intent, url, payload)
        }
    })
}

/// The 201 body of a started payment (also stored as the idempotent replay).
fn started(
    payment: &PaymentInfo,
    booking: &Booking,
    provider_payload: serde_json::Value,
    hold_until: i64,
) -> String {
    json!({
        "paymentId": payment.payment_id,
        "bookingId": booking.booking_id,
        "status": "INITIATED",
        "amount": payment.amount,
        "currency": payment.currency,
        "provider": payment.provider,
        "providerPayload": provider_payload,
        "holdExpiresAt": chrono::DateTime::from_timestamp(hold_until, 0).map(rfc3339),
    })
    .to_string()
}
