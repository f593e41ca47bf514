//! `POST /bookings` (CUSTOMER, idempotent): holds 1–10 seats of a show, all or none, in one
//! TransactWriteItems with the booking, the idempotency record, the user's rate window and the
//! coupon use. A warm container makes exactly one DynamoDB call (two when the show is not cached).

use boxoffice::{
    auth::authenticate,
    clock::rfc3339,
    domain::{
        booking::{BookedSeat, Booking, BookingStatus, CouponUse},
        limits,
        pricing::{price, BookingContext, Charges, PricedSeat},
        show::not_bookable_reason,
        user::Role,
    },
    http::{body_bytes, idempotency_key, json_text, parse_json, serve, HttpResult},
    ids::{is_id, new_id},
    store::bookings::{IdempotencyRecord, PlaceBooking, Placed},
    views::BookingView,
    ApiError, Deps,
};
use chrono::DateTime;
use lambda_http::{http::StatusCode, Body, Request, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashSet;

pub const MAX_SEATS: usize = 10;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BookingBody {
    show_id: String,
    seat_ids: Vec<String>,
    coupon_code: Option<String>,
}

boxoffice::http_entry!(handler, [JwtKeys]);

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| create_booking(deps, req)).await
}

async fn create_booking(deps: &Deps, req: Request) -> HttpResult {
    let caller = authenticate(&deps.config.jwt, &req)?;
    caller.require(&[Role::Customer])?;
    let key = idempotency_key(&req)?;
    let body: BookingBody = parse_json(&req)?;
    if body.seat_ids.is_empty() || body.seat_ids.len() > MAX_SEATS {
        return Err(ApiError::validation(format!(
            "seatIds must list 1–{MAX_SEATS} seats."
        )));
    }
    let mut seen = HashSet::new();
    let duplicates: Vec<&String> = body
        .seat_ids
        .iter()
        .filter(|s| !seen.insert(s.as_str()))
        .collect();
    if !duplicates.is_empty() {
        return Err(ApiError::validation_with(
            "seatIds must be distinct.",
            serde_json::json!({ "duplicateSeatIds": duplicates }),
        ));
    }

    let show_missing = || ApiError::NotFound(format!("No show {}.", body.show_id));
    if !is_id("sh", &body.show_id) {
        return Err(show_missing());
    }
    let (show, city) = deps
        .caches
        .show_and_city(&deps.store, &body.show_id)
        .await?
        .ok_or_else(show_missing)?;
    let now = deps.clock.now();
    let start = DateTime::parse_from_rfc3339(&show.start_time).map_err(ApiError::internal)?;
    if let Some(reason) = not_bookable_reason(show.status, start.into(), now) {
        return Err(ApiError::ShowNotBookable(reason.into()));
    }
    // Issue 16: a queue-mode show sells only to customers the waiting room admitted.
    if show.queue_mode {
        boxoffice::queue::require_admission(
            &deps.config.jwt,
            boxoffice::http::header(&req, boxoffice::queue::ADMISSION_HEADER),
            &caller.user_id,
            &show.show_id,
            now.timestamp(),
        )?;
    }
    // Issue 15: the per-customer seat cap (its counter rides in the hold's transaction).
    let seat_cap = limits::seat_cap(show.max_seats_per_customer);
    let seat_cap_room = limits::seat_cap_room(seat_cap, body.seat_ids.len())
        .ok_or(ApiError::SeatLimitReached { limit: seat_cap })?;
    let index = show.layout.seat_index();
    let unknown: Vec<&String> = body
        .seat_ids
        .iter()
        .filter(|s| !index.contains_key(s.as_str()))
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::validation_with(
            "Some seats are not in this show.",
            serde_json::json!({ "unknownSeatIds": unknown }),
        ));
    }

    let city = city.ok_or_else(|| {
        ApiError::Internal(format!(
            "show {} names unknown city {}",
            show.show_id, show.city_id
        ))
    })?;
    let offer = match body.coupon_code.as_deref().map(|c| c.trim().to_uppercase()) {
        None => None,
        Some(code) => Some(
            deps.caches
                .offer(&deps.store, &code)
                .await?
                .ok_or_else(|| ApiError::validation(format!("coupon {code} does not exist")))?,
        ),
    };
    let priced: Vec<PricedSeat> = body
        .seat_ids
        .iter()
        .map(|id| {
            let seat_type = index[id.as_str()];
            PricedSeat {
                seat_id: id,
                seat_type,
                price: show.price_of(seat_type).unwrap_or(0),
            }
        })
        .collect();
    let charges = Charges {
        currency: &show.currency,
        fee_per_ticket: city.convenience_fee_per_ticket,
        tax_basis_points: city.tax_basis_points,
    };
    let ctx = BookingContext {
        city_id: &show.city_id,
        theatre_id: &show.theatre_id,
        show_date: &show.local_date,
    };
    let pricing = price(&priced, &charges, offer.as_deref(), &ctx).map_err(ApiError::validation)?;

    let booking = Booking {
        booking_id: new_id("bk"),
        user_id: caller.user_id.clone(),
        show_id: show.show_id.clone(),
        theatre_id: show.theatre_id.clone(),
        city_id: show.city_id.clone(),
        show_start: show.start_time.clone(),
        time_zone: show.time_zone.clone(),
        status: BookingStatus::PaymentPending,
        seats: priced
            .iter()
            .map(|p| BookedSeat {
                seat_id: p.seat_id.to_owned(),
                seat_type: p.seat_type,
                price: p.price,
            })
            .collect(),
        pricing,
        coupon: offer.as_ref().map(|o| CouponUse {
            code: o.code.clone(),
            limited: o.per_user_limit.is_some(),
        }),
        hold_expires_at: now.timestamp() + deps.config.hold_seconds,
        created_at: rfc3339(now),
        confirmed_at: None,
        cancelled_at: None,
        payment: None,
        refund: None,
        ticket: None,
        admitted_at: None,
        counts_toward_seat_cap: true,
    };
    let response_body =
        serde_json::to_string(&BookingView::from(&booking)).map_err(ApiError::internal)?;
    let request_hash = hex::encode(Sha256::digest(body_bytes(&req)));
    let placed = deps
        .store
        .place_booking(PlaceBooking {
            booking: &booking,
            now: now.timestamp(),
            idempotency: key.as_deref().map(|k| {
                (
                    k,
                    IdempotencyRecord {
                        request_hash: request_hash.clone(),
                        status: 201,
                        body: response_body.clone(),
                    },
                )
            }),
            rate_limit_per_minute: deps.config.booking_rate_limit_per_minute,
            coupon_limit: offer.as_ref().and_then(|o| o.per_user_limit),
            seat_cap_room,
            admitted_from_queue: show.queue_mode,
        })
        .await?;
    // Issue 15: every attempt counts toward the rate window. A committed hold counted itself in
    // its transaction; a cancelled one wrote nothing, so a loser pays one small UpdateItem.
    if limits::counts_after_transaction(attempt_outcome(&placed)) {
        deps.store
            .count_failed_attempt(&caller.user_id, now.timestamp())
            .await?;
    }
    match placed {
        Placed::Placed { retries } => {
            boxoffice::metrics::emit(
                "create-booking",
                &[
                    ("HoldsWon", 1.0, "Count"),
                    ("HoldRetries", retries as f64, "Count"),
                ],
            );
            tracing::info!(booking_id = %booking.booking_id, show_id = %booking.show_id, seats = booking.seats.len(), retries, "seats held");
            json_text(StatusCode::CREATED, response_body)
        }
        Placed::Replay(record) if record.request_hash == request_hash => json_text(
            StatusCode::from_u16(record.status).unwrap_or(StatusCode::CREATED),
            record.body,
        ),
        Placed::Replay(_) => Err(ApiError::IdempotencyKeyReused),
        Placed::SeatsTaken(seats) => {
            boxoffice::metrics::count("create-booking", "HoldsConflicted", 1);
            tracing::info!(show_id = %booking.show_id, unavailable = seats.len(), "hold conflicted");
            Err(ApiError::SeatLockFailed {
                show_id: booking.show_id,
                unavailable_seat_ids: seats,
            })
        }
        Placed::RateLimited { retry_after_secs } => Err(ApiError::RateLimited { retry_after_secs }),
        Placed::SeatCapReached => Err(ApiError::SeatLimitReached { limit: seat_cap }),
        Placed::CouponLimitReached => Err(ApiError::validation(format!(
            "coupon {} has reached its use limit for you",
            booking.coupon.map(|c| c.code).unwrap_or_default()
        ))),
    }
}

fn attempt_outcome(placed: &Placed) -> limits::AttemptOutcome {
    use limits::AttemptOutcome as A;
    match placed {
        Placed::Placed { .. } => A::Held,
        Placed::Replay(_) => A::Replayed,
        Placed::RateLimited { .. } => A::RateLimited,
        Placed::SeatsTaken(_) => A::SeatsTaken,
        Placed::SeatCapReached => A::SeatCapReached,
        Placed::CouponLimitReached => A::CouponLimitReached,
    }
}
