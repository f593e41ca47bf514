//! `POST /bookings/{bookingId}/cancel` (the owner, ADMIN): `PAYMENT_PENDING → CANCELLED` with the
//! seats free at once; `CONFIRMED → CANCELLED` with a refund until the cut-off before the show.
//! Cancelling a cancelled booking returns it again.

use boxoffice::{
    auth::authenticate,
    bookings::load_for,
    clock::rfc3339,
    domain::booking::{Booking, BookingStatus, Transition},
    events::{booking_event, outbox, publish, EventKind},
    http::{ok, path_param, serve, HttpResult},
    refunds::cancel_with_refund,
    views::BookingView,
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};

boxoffice::http_entry!(handler, [JwtKeys]);

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| cancel_booking(deps, req)).await
}

fn refuse(b: &Booking) -> ApiError {
    ApiError::InvalidState(format!(
        "A {} booking cannot be cancelled.",
        b.status.as_str()
    ))
}

async fn cancel_booking(deps: &Deps, req: Request) -> HttpResult {
    let caller = authenticate(&deps.config.jwt, &req)?;
    let booking_id = path_param(&req, "bookingId")?;
    let booking = load_for(deps, &caller, &booking_id).await?;
    let done = match booking.status {
        BookingStatus::Cancelled => return ok(&BookingView::from(&booking)),
        BookingStatus::PaymentPending => cancel_pending(deps, &booking).await?,
        BookingStatus::Confirmed => {
            let start = chrono::DateTime::parse_from_rfc3339(&booking.show_start)
                .map_err(ApiError::internal)?;
            let cutoff = start.timestamp() - deps.config.cancellation_cutoff_minutes * 60;
            if deps.clock.now_epoch() >= cutoff {
                return Err(ApiError::InvalidState(format!(
                    "Confirmed bookings can be cancelled until {} minutes before the show.",
                    deps.config.cancellation_cutoff_minutes
                )));
            }
            cancel_with_refund(deps, &booking, "cancelled by the customer").await?
        }
        _ => return Err(refuse(&booking)),
    };
    match done {
        Some(cancelled) => ok(&BookingView::from(&cancelled)),
        // It moved on meanwhile (paid, expired, or cancelled by a concurrent request).
        None => {
            let now = load_for(deps, &caller, &booking_id).await?;
            match now.status {
                BookingStatus::Cancelled => ok(&BookingView::from(&now)),
                _ => Err(refuse(&now)),
            }
        }
    }
}

async fn cancel_pending(deps: &Deps, booking: &Booking) -> Result<Option<Booking>, ApiError> {
    let at = rfc3339(deps.clock.now());
    let mut cancelled = booking.clone();
    cancelled.status = BookingStatus::Cancelled;
    cancelled.cancelled_at = Some(at.clone());
    let events = outbox(
        deps,
        vec![
            booking_event(EventKind::BookingCancelled, &cancelled),
            booking_event(EventKind::SeatsReleased, &cancelled),
        ],
    );
    if !deps
        .store
        .release_pending(booking, Transition::CancelPending, &at, &events)
        .await?
    {
        return Ok(None);
    }
    tracing::info!(booking_id = %booking.booking_id, "booking cancelled");
    publish(deps, &events).await;
    Ok(Some(cancelled))
}
