//! Holding seats: the body of `POST /bookings` (CUSTOMER, idempotent), shared with
//! `POST /shows/{showId}/best-available` (`hold: true`) so both hold exactly alike. Holds 1–10
//! seats of a show, all or none, in one TransactWriteItems with the booking, the idempotency
//! record, the user's rate window, the per-customer seat cap and the coupon use. The decisions
//! are `domain::booking` (`check_seat_ids`, `check_show`, `new_hold`) and `domain::limits`; a
//! queue-mode show holds only for a customer the waiting room admitted.

use crate::{
    auth::Principal,
    domain::{
        booking::{check_seat_ids, check_show, new_hold, Booking, HoldPolicy, HoldRequest},
        catalog::Show,
        city::City,
        limits,
        pricing::Offer,
    },
    http::{json_text, replay, HttpResult},
    ids::{is_id, new_id},
    store::{
        bookings::{IdempotencyRecord, PlaceBooking, Placed},
        limits::Attempt,
    },
    taken::Answer,
    views::BookingView,
    ApiError, Deps,
};
use lambda_http::http::StatusCode;
use std::sync::Arc;

/// What to hold: the fields of `POST /bookings`, and the request's proof of admission.
pub struct SeatsToHold<'a> {
    pub show_id: &'a str,
    pub seat_ids: &'a [String],
    pub coupon_code: Option<&'a str>,
    /// Loyalty points to redeem (0 for none): taken off the balance in the hold's transaction.
    pub redeem_points: i64,
    /// The request's `X-Admission-Token` header: required on a queue-mode show, whichever
    /// endpoint holds (never a way around the waiting room).
    pub admission_token: Option<&'a str>,
}

/// Holds `body.seat_ids` for `caller`: the whole of `POST /bookings` after authentication and
/// parsing, so `POST /shows/{showId}/best-available` with `hold: true` holds exactly alike (the
/// same checks, the one transaction, idempotency, rate limit and seat cap). `request_hash`
/// identifies the request an idempotency key was first used with (a hash of its raw body).
pub async fn hold_seats(
    deps: &Deps,
    caller: &Principal,
    key: Option<String>,
    request_hash: String,
    body: SeatsToHold<'_>,
) -> HttpResult {
    let now = deps.clock.now();
    let (show, city, seat_cap, seat_cap_room) = bookable_show(deps, caller, &body, now).await?;
    let offer = offer_for(deps, body.coupon_code).await?;
    let booking_id = new_id("bk");
    let request = HoldRequest {
        booking_id: &booking_id,
        user_id: &caller.user_id,
        seat_ids: body.seat_ids,
        offer: offer.as_deref(),
        redeem_points: body.redeem_points,
    };
    let policy = HoldPolicy {
        hold_seconds: deps.config.hold_seconds,
    };
    let booking = new_hold(&show, &city, &request, &policy, now)?;
    let response_body =
        serde_json::to_string(&BookingView::from(&booking)).map_err(ApiError::internal)?;
    let memory = deps.config.seat_memory;
    let now_ms = now.timestamp_millis();
    let known_taken = deps
        .caches
        .taken
        .known(&show.show_id, body.seat_ids, now_ms, memory);
    let placed = if known_taken.is_empty() {
        let hold = PlaceBooking {
            booking: &booking,
            now: now.timestamp(),
            idempotency: key
                .as_deref()
                .map(|k| (k, IdempotencyRecord::created(&request_hash, &response_body))),
            rate_limit_per_minute: deps.config.booking_rate_limit_per_minute,
            coupon_limit: offer.as_ref().and_then(|o| o.per_user_limit),
            seat_cap_room,
            admitted_from_queue: show.queue_mode,
        };
        place(deps, hold).await?
    } else {
        refuse_from_memory(deps, &caller.user_id, key.as_deref(), now, known_taken).await?
    };
    answer(placed, booking, &request_hash, response_body, seat_cap)
}

/// The hold's transaction, and what follows it: every attempt counts toward the rate window (a
/// committed hold counted itself in its transaction; a cancelled one wrote nothing, so a loser
/// pays one small write, shared with the losers beside it: `attempts`), and what DynamoDB
/// answered is remembered for this container's next holds (`taken::TakenSeats`: the seats lost,
/// or won while the show is contended).
async fn place(deps: &Deps, hold: PlaceBooking<'_>) -> Result<Placed, ApiError> {
    let booking = hold.booking;
    let now = hold.now;
    let placed = deps.store.place_booking(hold).await?;
    if limits::counts_after_transaction(attempt_outcome(&placed)) {
        let attempt = Attempt {
            user_id: booking.user_id.clone(),
            now,
            within: None,
        };
        deps.caches.attempts.count(&deps.store, attempt).await?;
    }
    let won;
    let answer = match &placed {
        Placed::SeatsTaken(lost) => Answer::Lost(lost),
        Placed::Placed { .. } => {
            won = booking.seat_ids();
            Answer::Won(&won)
        }
        _ => return Ok(placed),
    };
    let now_ms = deps.clock.now().timestamp_millis();
    deps.caches
        .taken
        .learn(&booking.show_id, answer, now_ms, deps.config.seat_memory);
    Ok(placed)
}

/// A hold asking for seats this container lately saw taken (`taken::TakenSeats`): a 409 without
/// the transaction, still counted in the customer's rate window (`attempts`; a full window is a
/// 429, as the transaction would have answered). A retry whose key was used replays its stored
/// answer first (the seats may be taken by its own first attempt).
async fn refuse_from_memory(
    deps: &Deps,
    user_id: &str,
    key: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
    known_taken: Vec<String>,
) -> Result<Placed, ApiError> {
    if let Some(key) = key {
        if let Some(record) = deps.store.get_idempotency(user_id, key).await? {
            return Ok(Placed::Replay(record));
        }
    }
    let now = now.timestamp();
    let limit = deps.config.booking_rate_limit_per_minute;
    let attempt = Attempt {
        user_id: user_id.to_owned(),
        now,
        within: Some(limit),
    };
    if deps.caches.attempts.count(&deps.store, attempt).await? {
        crate::metrics::count("HoldsRefusedFromMemory", 1);
        Ok(Placed::SeatsTaken(known_taken))
    } else {
        Ok(Placed::RateLimited {
            retry_after_secs: crate::store::limits::retry_after(now),
        })
    }
}

/// The show the request names, if these seats of it can be held by this caller now: its city,
/// and the caller's seat cap and room under it (the cap's counter rides in the hold's transaction).
async fn bookable_show(
    deps: &Deps,
    caller: &Principal,
    body: &SeatsToHold<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Arc<Show>, City, u32, i64), ApiError> {
    check_seat_ids(body.seat_ids)?;
    let show_missing = || ApiError::NotFound(format!("No show {}.", body.show_id));
    if !is_id("sh", body.show_id) {
        return Err(show_missing());
    }
    let (show, city) = deps
        .caches
        .show_and_city(&deps.store, body.show_id)
        .await?
        .ok_or_else(show_missing)?;
    // Checked before the offer is looked up: a show that cannot be booked costs no read.
    check_show(&show, body.seat_ids, now)?;
    // A queue-mode show sells only to customers the waiting room admitted.
    if show.queue_mode {
        crate::queue::require_admission(
            &deps.config.jwt,
            body.admission_token,
            &caller.user_id,
            &show.show_id,
            now.timestamp(),
        )?;
    }
    // The per-customer seat cap (its counter rides in the hold's transaction).
    let seat_cap = limits::seat_cap(show.max_seats_per_customer);
    let seat_cap_room = limits::seat_cap_room(seat_cap, body.seat_ids.len())
        .ok_or(ApiError::SeatLimitReached { limit: seat_cap })?;
    let city = crate::shows::city_of(&show, city)?;
    Ok((show, city, seat_cap, seat_cap_room))
}

/// The offer a coupon code names (a 400 when there is none).
async fn offer_for(deps: &Deps, coupon_code: Option<&str>) -> Result<Option<Arc<Offer>>, ApiError> {
    let Some(code) = coupon_code.map(|c| c.trim().to_uppercase()) else {
        return Ok(None);
    };
    deps.caches
        .offer(&deps.store, &code)
        .await?
        .map(Some)
        .ok_or_else(|| ApiError::validation(format!("coupon {code} does not exist")))
}

/// The answer to a placed (or refused) hold.
fn answer(
    placed: Placed,
    booking: Booking,
    request_hash: &str,
    response_body: String,
    seat_cap: u32,
) -> HttpResult {
    match placed {
        Placed::Placed { retries } => {
            crate::metrics::emit(&[
                ("HoldsWon", 1.0, "Count"),
                ("HoldRetries", retries as f64, "Count"),
            ]);
            tracing::info!(booking_id = %booking.booking_id, show_id = %booking.show_id, seats = booking.seats.len(), retries, "seats held");
            json_text(StatusCode::CREATED, response_body)
        }
        Placed::Replay(record) => replay(record, request_hash),
        Placed::SeatsTaken(seats) => {
            crate::metrics::count("HoldsConflicted", 1);
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
        Placed::NotEnoughPoints { balance } => Err(ApiError::NotEnoughPoints {
            balance,
            redeeming: booking.pricing.points_redeemed,
        }),
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
        Placed::NotEnoughPoints { .. } => A::NotEnoughPoints,
    }
}
