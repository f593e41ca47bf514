//! `POST /bookings/{bookingId}/cancel` (the owner, ADMIN): `PAYMENT_PENDING → CANCELLED` with the
//! seats free at once; `CONFIRMED → CANCELLED` with a refund until the cut-off before the show.
//! Cancelling a cancelled booking returns it again.

use boxoffice::{
    bookings::load_for,
    domain::booking::{cancel_by_customer, Booking, BookingStatus, Cancellation},
    domain::user::Role,
    events::EventKind,
    http::{ok, path_param, serve, HttpResult},
    refunds::{cancel_pending, cancel_with_refund, release_block},
    runtime::{Function, Handler},
    secrets::SecretSet,
    views::BookingView,
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys],
};

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
    let caller = deps.caller(&req, &Role::ANY)?;
    let booking_id = path_param(&req, "bookingId")?;
    let booking = load_for(deps, &caller, &booking_id).await?;
    let cutoff_minutes = deps.config.cancellation_cutoff_minutes;
    let done = match cancel_by_customer(&booking, deps.clock.now(), cutoff_minutes)
        .map_err(ApiError::Internal)?
    {
        Cancellation::AlreadyCancelled => return ok(&BookingView::from(&booking)),
        Cancellation::ReleasePending => {
            cancel_pending(deps, &booking, EventKind::BookingCancelled).await?
        }
        Cancellation::Refund(reason) => cancel_with_refund(deps, &booking, reason).await?,
        Cancellation::ReleaseBlock => release_block(deps, &booking).await?,
        Cancellation::PastCutoff { cutoff_minutes } => {
            return Err(ApiError::InvalidState(format!(
                "Confirmed bookings can be cancelled until {cutoff_minutes} minutes before the show."
            )))
        }
        Cancellation::NotCancellable(_) => return Err(refuse(&booking)),
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
