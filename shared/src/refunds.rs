//! Cancelling a confirmed booking with a refund: shared by cancel-booking and cancel-show.

use crate::{
    domain::{
        booking::{Booking, BookingStatus, PaymentStatus},
        refund,
    },
    events::{booking_event, outbox, publish, refund_event, EventKind},
    ApiError, Deps,
};

/// `CONFIRMED → CANCELLED`, seats free, refund of the total initiated. The updated booking, or
/// `None` when it was no longer CONFIRMED.
pub async fn cancel_with_refund(
    deps: &Deps,
    booking: &Booking,
    reason: &str,
) -> Result<Option<Booking>, ApiError> {
    let at = crate::clock::rfc3339(deps.clock.now());
    let paid = booking.payment.as_ref().ok_or_else(|| {
        ApiError::Internal(format!(
            "confirmed booking {} has no payment to refund",
            booking.booking_id
        ))
    })?;
    let refund = refund::initiated(
        &refund::Owed {
            booking_id: &booking.booking_id,
            payment_intent_id: &paid.payment_intent_id,
            provider: &paid.provider,
            amount: booking.pricing.total,
            currency: &booking.pricing.currency,
        },
        reason,
        &at,
    );
    let payment = booking
        .payment
        .clone()
        .map(|p| crate::domain::booking::PaymentInfo {
            status: PaymentStatus::RefundInitiated,
            ..p
        });
    let mut cancelled = booking.clone();
    cancelled.status = BookingStatus::Cancelled;
    cancelled.cancelled_at = Some(at.clone());
    cancelled.refund = Some(refund.clone());
    cancelled.payment = payment.clone();
    let events = outbox(
        deps,
        vec![
            booking_event(EventKind::BookingCancelled, &cancelled),
            refund_event(&cancelled, &refund),
            booking_event(EventKind::SeatsReleased, &cancelled),
        ],
    );
    if !deps
        .store
        .cancel_confirmed(booking, payment.as_ref(), &refund, &at, &events)
        .await?
    {
        return Ok(None);
    }
    tracing::warn!(booking_id = %booking.booking_id, amount = refund.amount, "refund initiated");
    crate::metrics::count("refunds", "Refunds", 1);
    publish(deps, &events).await;
    Ok(Some(cancelled))
}
