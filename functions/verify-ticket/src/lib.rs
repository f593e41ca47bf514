//! `POST /tickets/verify` (the PARTNER of the show's theatre): admits a ticket once. The code is
//! checked offline (its signature: Ed25519 for BX2 codes, as a gate scanner does with the
//! published keys) before anything is read. Old BX1 (HMAC) codes are accepted until their show
//! has ended.

use boxoffice::{
    clock::rfc3339,
    domain::{
        admission::{check_booking, check_code_age, check_theatre, AdmissionRefusal},
        user::Role,
    },
    http::{ok, parse_json, serve, HttpResult},
    runtime::{Function, Handler},
    secrets::SecretSet,
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct VerifyBody {
    qr_code_data: String,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys, SecretSet::TicketKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| verify_ticket(deps, req)).await
}

fn refusal(r: AdmissionRefusal) -> ApiError {
    match r {
        AdmissionRefusal::Forged => forged(),
        AdmissionRefusal::OtherPartner => {
            ApiError::Forbidden("This ticket is for another partner's theatre.".into())
        }
        AdmissionRefusal::NotConfirmed(status) => {
            ApiError::InvalidState(format!("This ticket's booking is {}.", status.as_str()))
        }
        AdmissionRefusal::LegacyExpired => {
            ApiError::validation("This old-format (BX1) ticket code expired when its show ended.")
        }
    }
}

fn forged() -> ApiError {
    ApiError::validation("The ticket code is forged, altered or unreadable.")
}

async fn verify_ticket(deps: &Deps, req: Request) -> HttpResult {
    let caller = deps.caller(&req, &[Role::Partner])?;
    let body: VerifyBody = parse_json(&req)?;
    let verified = deps
        .config
        .ticket_keys()?
        .verify(&body.qr_code_data)
        .ok_or_else(forged)?;
    let claims = verified.claims;
    let show = deps
        .caches
        .show(&deps.store, &claims.show_id)
        .await?
        .ok_or_else(forged)?;
    check_code_age(verified.legacy, &show.end_time, deps.clock.now_epoch()).map_err(refusal)?;
    check_theatre(&show, &claims, &caller.user_id).map_err(refusal)?;
    let booking = deps
        .store
        .get_booking(&claims.booking_id)
        .await?
        .ok_or_else(forged)?;
    check_booking(&booking, &claims).map_err(refusal)?;
    let at = rfc3339(deps.clock.now());
    match deps.store.admit(&booking.booking_id, &at).await? {
        Ok(()) => ok(
            &json!({ "bookingId": booking.booking_id, "ticketId": claims.ticket_id, "seatIds": claims.seat_ids, "admittedAt": at }),
        ),
        Err(previous) => Err(ApiError::AlreadyAdmitted {
            admitted_at: previous.unwrap_or_default(),
        }),
    }
}
