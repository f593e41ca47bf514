//! Carrying out a cancellation (`domain::booking::Cancellation`): shared by cancel-booking,
//! cancel-show and release-external-seats. Each is one conditional transaction with the outbox
//! entries of its events.

use crate::{
    clock::rfc3339,
    domain::{
        booking::{Booking, BookingStatus, PaymentInfo, PaymentStatus, RefundInfo, Transition},
        payment::RefundReason,
        refund::Owed,
    },
    events::{booking_event, outbox, publish, refund_event, EventKind},
    ApiError, Deps,
};

/// `PAYMENT_PENDING → CANCELLED`, the seats free at once; `cause` is the first event
/// (`BookingCancelled`, or `ShowCancelled` when the show was). The cancelled booking, or `None`
/// when it was no longer pending.
pub async fn cancel_pending(
    deps: &Deps,
    booking: &Booking,
    cause: EventKind,
) -> Result<Option<Booking>, ApiError> {
    let at = rfc3339(deps.clock.now());
    let mut cancelled = booking.clone();
    cancelled.status = BookingStatus::Cancelled;
    cancelled.cancelled_at = Some(at.clone());
    let events = outbox(
        deps,
        vec![
            booking_event(cause, &cancelled),
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

/// `CONFIRMED → CANCELLED`, seats free, refund of the total initiated. The updated booking, or
/// `None` when it was no longer CONFIRMED.
pub async fn cancel_with_refund(
    deps: &Deps,
    booking: &Booking,
    reason: RefundReason,
) -> Result<Option<Booking>, ApiError> {
    let at = rfc3339(deps.clock.now());
    let paid = booking.payment.as_ref().ok_or_else(|| {
        ApiError::Internal(format!(
            "confirmed booking {} has no payment to refund",
            booking.booking_id
        ))
    })?;
    let owed = Owed {
        booking_id: &booking.booking_id,
        payment_intent_id: &paid.payment_intent_id,
        provider: &paid.provider,
        amount: booking.pricing.total,
        currency: &booking.pricing.currency,
    };
    let refund = RefundInfo::initiated(&owed, reason, &at);
    let payment = booking.payment.clone().map(|p| PaymentInfo {
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
    crate::metrics::count("Refunds", 1);
    publish(deps, &events).await;
    Ok(Some(cancelled))
}

/// Another platform's block given back (`Cancellation::ReleaseBlock`): `CONFIRMED → CANCELLED`,
/// the seats free, nothing refunded here; `SeatsReleased` tells the waitlist. The released
/// booking, or `None` when it was no longer CONFIRMED.
pub async fn release_block(deps: &Deps, booking: &Booking) -> Result<Option<Booking>, ApiError> {
    let at = rfc3339(deps.clock.now());
    let mut released = booking.clone();
    released.status = BookingStatus::Cancelled;
    released.cancelled_at = Some(at.clone());
    let events = outbox(
        deps,
        vec![booking_event(EventKind::SeatsReleased, &released)],
    );
    if !deps.store.release_external(booking, &at, &events).await? {
        return Ok(None);
    }
    tracing::info!(booking_id = %booking.booking_id, show_id = %booking.show_id, "external block released");
    publish(deps, &events).await;
    Ok(Some(released))
}
