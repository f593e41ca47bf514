//! `POST /shows/{showId}/best-available` (CUSTOMER) `{count, seatType?, hold?}`: the best `count`
//! adjacent free seats in one row (`domain::seating::best_available`), read from the seat map's
//! state the way get-seat-map reads it (the cached show, one Query per block of its held and sold seats).
//! With `hold: true` it holds them through `boxoffice::hold::hold_seats`, the very code of
//! `POST /bookings` (one transaction, same conditions, idempotency, rate limit and seat cap; on a
//! queue-mode show the request's `X-Admission-Token`), and answers
//! as that does (201, the booking).

use boxoffice::{
    domain::{
        booking::{check_show, MAX_SEATS},
        layout::SeatType,
        seating::best_available,
        user::Role,
    },
    hold::{hold_seats, SeatsToHold},
    http::{body_bytes, idempotency_key, ok, parse_json, serve, HttpResult},
    queue::admission_token,
    runtime::{Function, Handler},
    secrets::SecretSet,
    shows::cached_show_with_seats,
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashSet;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BestAvailableBody {
    count: usize,
    seat_type: Option<SeatType>,
    #[serde(default)]
    hold: bool,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| suggest(deps, req)).await
}

async fn suggest(deps: &Deps, req: Request) -> HttpResult {
    let caller = deps.caller(&req, &[Role::Customer])?;
    let key = idempotency_key(&req)?;
    let admission = admission_token(&req)?;
    let body: BestAvailableBody = parse_json(&req)?;
    if !(1..=MAX_SEATS).contains(&body.count) {
        return Err(ApiError::validation(format!(
            "count must be 1–{MAX_SEATS}."
        )));
    }
    let (show, seats) = cached_show_with_seats(deps, &req).await?;
    let now = deps.clock.now();
    check_show(&show, &[], now)?;
    let epoch = now.timestamp();
    let taken: HashSet<&str> = seats
        .iter()
        .filter(|s| s.is_sold() || s.is_held_at(epoch))
        .map(|s| s.seat_id.as_str())
        .collect();
    let best = best_available(&show.layout, &taken, body.count, body.seat_type);
    tracing::info!(show_id = %show.show_id, count = body.count, found = best.is_some(), hold = body.hold, "best available");
    let seat_ids = best.unwrap_or_default();
    if !body.hold {
        return ok(&json!({ "seatIds": seat_ids }));
    }
    if seat_ids.is_empty() {
        return Err(ApiError::SeatLockFailed {
            show_id: show.show_id.clone(),
            unavailable_seat_ids: vec![],
        });
    }
    let request_hash = hex::encode(Sha256::digest(body_bytes(&req)));
    // A queue-mode show holds here too only for the admitted: the request's own token.
    let hold = SeatsToHold {
        show_id: &show.show_id,
        seat_ids: &seat_ids,
        coupon_code: None,
        redeem_points: 0,
        admission_token: admission,
    };
    hold_seats(deps, &caller, key, request_hash, hold).await
}
