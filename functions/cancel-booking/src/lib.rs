//! `POST /bookings/{bookingId}/cancel` (the owner, ADMIN): `PAYMENT_PENDING → CANCELLED`, its
//! seats free at once. Cancelling a cancelled booking returns it again.

use boxoffice::{
    auth::authenticate,
    bookings::load_for,
    clock::rfc3339,
    domain::booking::{BookingStatus, Transition},
    http::{ok, path_param, serve, HttpResult},
    views::BookingView,
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| cancel_booking(deps, req)).await
}

async fn cancel_booking(deps: &Deps, req: Request) -> HttpResult {
    let caller = authenticate(&deps.config.jwt, &req)?;
    let booking_id = path_param(&req, "bookingId")?;
    let mut booking = load_for(deps, &caller, &booking_id).await?;
    match booking.status {
        BookingStatus::Cancelled => return ok(&BookingView::from(&booking)),
        BookingStatus::PaymentPending => {}
        other => {
            return Err(ApiError::InvalidState(format!(
                "A {} booking cannot be cancelled.",
                other.as_str()
            )));
        }
    }
    let at = rfc3339(deps.clock.now());
    if deps
        .store
        .release_pending(&booking, Transition::CancelPending, &at)
        .await?
    {
        tracing::info!(booking_id = %booking.booking_id, "booking cancelled");
        booking.status = BookingStatus::Cancelled;
        booking.cancelled_at = Some(at);
        return ok(&BookingView::from(&booking));
    }
    // It moved on meanwhile (confirmed, expired, or cancelled by a concurrent request).
    let now = load_for(deps, &caller, &booking_id).await?;
    match now.status {
        BookingStatus::Cancelled => ok(&BookingView::from(&now)),
        other => Err(ApiError::InvalidState(format!(
            "A {} booking cannot be cancelled.",
            other.as_str()
        ))),
    }
}
