//! `POST /bookings` (CUSTOMER, idempotent): holds 1–10 seats of a show, all or none; the hold
//! itself (queue admission, seat cap, the one transaction, rate counting) is
//! `boxoffice::hold::hold_seats`, shared with best-available's `hold: true`.

use boxoffice::{
    domain::user::Role,
    hold::{hold_seats, SeatsToHold},
    http::{body_bytes, idempotency_key, parse_json, serve, HttpResult},
    queue::admission_token,
    runtime::{Function, Handler},
    secrets::SecretSet,
    Deps,
};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BookingBody {
    show_id: String,
    seat_ids: Vec<String>,
    coupon_code: Option<String>,
    /// Loyalty points to redeem (`domain::loyalty`); 0 or absent for none.
    #[serde(default)]
    redeem_points: i64,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| create_booking(deps, req)).await
}

async fn create_booking(deps: &Deps, req: Request) -> HttpResult {
    let caller = deps.caller(&req, &[Role::Customer])?;
    let key = idempotency_key(&req)?;
    let body: BookingBody = parse_json(&req)?;
    let request_hash = hex::encode(Sha256::digest(body_bytes(&req)));
    let hold = SeatsToHold {
        show_id: &body.show_id,
        seat_ids: &body.seat_ids,
        coupon_code: body.coupon_code.as_deref(),
        redeem_points: body.redeem_points,
        admission_token: admission_token(&req)?,
    };
    hold_seats(deps, &caller, key, request_hash, hold).await
}
