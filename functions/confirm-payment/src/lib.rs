//! `confirm-payment`: the payments queue's consumer. Each message (a verified, normalised provider
//! event) is parsed and applied on its own, and only the failed ones are reported, so one bad
//! message never fails its neighbours. Every change is one transaction carrying the event's
//! processed marker: exactly once in effect. A success that cannot become a sale is refunded.
//! DynamoDB calls per message: one read, one transaction (carrying the outbox entries of its
//! events), and after the commit, once EventBridge has the events, one delete of their entries.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use boxoffice::{
    clock::rfc3339,
    domain::{
        booking::{Booking, BookingStatus, PaymentInfo, RefundInfo, Transition},
        payment::{
            decide, refuse_cancelled_show, refuse_lost_sale, release_transition, Decision,
            PaymentMessage, PaymentOutcome, RefundReason,
        },
        refund::Owed,
        ticket::ticket_for,
    },
    events::{booking_event, orphan_refund_event, outbox, publish, refund_event, EventKind},
    ids::new_id,
    runtime::{Function, Handler},
    secrets::SecretSet,
    store::{
        payments::{Applied, Confirmation, Marker},
        refunds::ProviderRefund,
    },
    ApiError, Deps,
};

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Sqs(|deps, event| Box::pin(handler(deps, event))),
    secrets: &[SecretSet::TicketKeys],
};

/// The batch's messages are applied concurrently: each is its own booking's transaction (two for
/// the same booking are ordered by its conditions, as they would be across invocations), so a
/// batch takes one message's round trips instead of ten.
pub async fn handler(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    boxoffice::runtime::each_message(&event, "payment message", |record| {
        process_record(deps, record)
    })
    .await
}

async fn process_record(deps: &Deps, record: &SqsMessage) -> Result<(), ApiError> {
    let body = record.body.as_deref().unwrap_or_default();
    let message: PaymentMessage = serde_json::from_str(body)
        .map_err(|e| ApiError::validation(format!("malformed payment message: {e}")))?;
    apply(deps, &message).await
}

/// Applies one provider event to its booking: load, `domain::payment::decide`, store.
pub async fn apply(deps: &Deps, m: &PaymentMessage) -> Result<(), ApiError> {
    let marker = Marker {
        provider: &m.provider,
        event_id: &m.event_id,
        now: deps.clock.now_epoch(),
    };
    let now = deps.clock.now();
    let at = &rfc3339(now);
    let Some(booking) = deps.store.get_booking(&m.booking_id).await? else {
        // Keep it visible to the operators; money taken for it goes back.
        tracing::error!(booking_id = %m.booking_id, event_id = %m.event_id, metric = "PaymentForUnknownBooking", "payment event for an unknown booking");
        if m.outcome == PaymentOutcome::Succeeded {
            return refund_unknown_booking(deps, m, &marker, at).await;
        }
        return Ok(());
    };
    match decide(&booking, m, now, &new_id("pay")) {
        Decision::Sell { payment, late } => {
            sell(deps, &booking, m, payment, late, &marker, at).await
        }
        Decision::Fail { payment } => fail(deps, &booking, &payment, &marker, at).await,
        refund @ Decision::Refund { .. } => {
            if let Decision::Refund {
                reason: RefundReason::Mismatch,
                ..
            } = refund
            {
                tracing::error!(booking_id = %booking.booking_id, expected = booking.pricing.total, paid = m.amount,
                    metric = "PaymentMismatch", "payment does not match its booking; refunding");
            }
            store_refund(deps, &booking, refund, &marker, at).await
        }
        Decision::RefundedByProvider {
            payment,
            refund,
            free_seats,
        } => {
            let change = ProviderRefundChange {
                payment,
                refund,
                free_seats,
            };
            refunded_by_provider(deps, &booking, m, change, &marker, at).await
        }
        Decision::IgnoreDuplicate { payment } => record(
            deps.store
                .record_payment(&booking, &payment, None, &marker, &[])
                .await?,
        ),
        Decision::Record {
            payment, refund, ..
        } => record(
            deps.store
                .record_payment(&booking, &payment, refund.as_ref(), &marker, &[])
                .await?,
        ),
    }
}

/// A captured payment for a booking we do not have is refunded, never kept: its refund record and
/// event, with the provider event's marker, in one transaction (a redelivery changes nothing).
async fn refund_unknown_booking(
    deps: &Deps,
    m: &PaymentMessage,
    marker: &Marker<'_>,
    at: &str,
) -> Result<(), ApiError> {
    let owed = Owed {
        booking_id: &m.booking_id,
        payment_intent_id: &m.payment_intent_id,
        provider: &m.provider,
        amount: m.amount,
        currency: &m.currency,
    };
    let refund = RefundInfo::initiated(&owed, RefundReason::UnknownBooking, at);
    let events = outbox(deps, vec![orphan_refund_event(&m.booking_id, &refund)]);
    if deps
        .store
        .record_orphan_refund(&m.booking_id, &refund, marker, &events)
        .await?
    {
        tracing::warn!(booking_id = %m.booking_id, amount = m.amount, "payment for an unknown booking: refund initiated");
        publish(deps, &events).await;
    }
    Ok(())
}

/// `Sell`: confirms with its ticket; a sale the store refuses (a seat no longer held by this
/// booking, the booking moved on, the show cancelled) is decided again from the fresh booking:
/// `refuse_lost_sale` or `refuse_cancelled_show`.
async fn sell(
    deps: &Deps,
    booking: &Booking,
    m: &PaymentMessage,
    payment: PaymentInfo,
    late: bool,
    marker: &Marker<'_>,
    at: &str,
) -> Result<(), ApiError> {
    let ticket = ticket_for(booking, new_id("tkt"), &deps.config.ticket_keys()?.current);
    let events = outbox(
        deps,
        vec![booking_event(EventKind::BookingConfirmed, booking)],
    );
    match deps
        .store
        .confirm_booking(booking, &payment, &ticket, marker, at, &events)
        .await?
    {
        Confirmation::Done => {
            tracing::info!(booking_id = %booking.booking_id, late, "booking confirmed");
            boxoffice::metrics::count("BookingsConfirmed", 1);
            publish(deps, &events).await;
            Ok(())
        }
        Confirmation::Duplicate => Ok(()),
        refused @ (Confirmation::Refused | Confirmation::ShowCancelled) => {
            let fresh = deps
                .store
                .get_booking(&booking.booking_id)
                .await?
                .unwrap_or(booking.clone());
            let refuse = if refused == Confirmation::ShowCancelled {
                tracing::warn!(booking_id = %booking.booking_id, show_id = %booking.show_id, "payment for a cancelled show: refunding");
                refuse_cancelled_show
            } else {
                refuse_lost_sale
            };
            match refuse(&fresh, &payment, m, deps.clock.now()) {
                refund @ Decision::Refund { .. } => {
                    store_refund(deps, &fresh, refund, marker, at).await
                }
                Decision::IgnoreDuplicate { payment } | Decision::Record { payment, .. } => record(
                    deps.store
                        .record_payment(&fresh, &payment, None, marker, &[])
                        .await?,
                ),
                other => Err(ApiError::Internal(format!(
                    "a refused sale decided {other:?} from the fresh booking"
                ))),
            }
        }
    }
}

/// A `RefundedByProvider` decision's figures.
struct ProviderRefundChange {
    payment: PaymentInfo,
    refund: RefundInfo,
    free_seats: bool,
}

/// `RefundedByProvider`: REFUNDED (its ticket no longer admits), the seats freed by the refund
/// seat policy, once. A booking that moved on meanwhile is decided again from its fresh state; a
/// refund record the intent has already (ours) is only confirmed: nothing else changes.
async fn refunded_by_provider(
    deps: &Deps,
    booking: &Booking,
    m: &PaymentMessage,
    change: ProviderRefundChange,
    marker: &Marker<'_>,
    at: &str,
) -> Result<(), ApiError> {
    let ProviderRefundChange {
        payment,
        refund,
        free_seats,
    } = change;
    let mut refunded = booking.clone();
    refunded.status = BookingStatus::Refunded;
    refunded.payment = Some(payment.clone());
    refunded.refund = Some(refund.clone());
    // RefundInitiated tells the customer (its record is settled: the worker has nothing to pay);
    // SeatsReleased tells the waitlist when the seats are free again.
    let mut events = vec![refund_event(&refunded, &refund)];
    if free_seats {
        events.push(booking_event(EventKind::SeatsReleased, &refunded));
    }
    let events = outbox(deps, events);
    let outcome = deps
        .store
        .refund_by_provider(booking, &payment, &refund, free_seats, marker, at, &events)
        .await?;
    match outcome {
        ProviderRefund::Done => {
            tracing::warn!(booking_id = %booking.booking_id, amount = refund.amount, free_seats,
                provider_refund_id = ?refund.provider_refund_id, "booking refunded by the provider: ticket revoked");
            boxoffice::metrics::count("ProviderRefunds", 1);
            publish(deps, &events).await;
            Ok(())
        }
        ProviderRefund::Duplicate => Ok(()),
        ProviderRefund::NotConfirmed => {
            record_on_fresh(deps, booking, m, &payment.payment_id, marker).await
        }
        ProviderRefund::RefundExists => {
            tracing::info!(booking_id = %booking.booking_id, refund_id = ?refund.refund_id,
                "the intent's refund record exists: the provider's refund confirms it");
            let current = booking.payment.as_ref().unwrap_or(&payment);
            record(
                deps.store
                    .record_payment(booking, current, None, marker, &[])
                    .await?,
            )
        }
        ProviderRefund::SeatsNotSold(seats) => {
            tracing::error!(booking_id = %booking.booking_id, seats = ?seats, metric = "ProviderRefundSeatsNotSold",
                "a confirmed booking refunded by the provider does not own its sold seats");
            Err(ApiError::Internal(format!(
                "booking {} does not own its sold seats {seats:?}",
                booking.booking_id
            )))
        }
    }
}

/// A provider refund refused because the booking is no longer confirmed (cancelled or refunded
/// meanwhile): decided again from the fresh booking, which only records the payment.
async fn record_on_fresh(
    deps: &Deps,
    booking: &Booking,
    m: &PaymentMessage,
    payment_id: &str,
    marker: &Marker<'_>,
) -> Result<(), ApiError> {
    let fresh = deps
        .store
        .get_booking(&booking.booking_id)
        .await?
        .ok_or_else(|| ApiError::Internal("booking vanished during a refund".into()))?;
    match decide(&fresh, m, deps.clock.now(), payment_id) {
        Decision::Record {
            payment, refund, ..
        } => record(
            deps.store
                .record_payment(&fresh, &payment, refund.as_ref(), marker, &[])
                .await?,
        ),
        other => Err(ApiError::Internal(format!(
            "a refused provider refund decided {other:?} from the fresh booking"
        ))),
    }
}

/// `Fail`: FAILED, the seats released, once.
async fn fail(
    deps: &Deps,
    booking: &Booking,
    payment: &PaymentInfo,
    marker: &Marker<'_>,
    at: &str,
) -> Result<(), ApiError> {
    let events = outbox(
        deps,
        vec![
            booking_event(EventKind::PaymentFailed, booking),
            booking_event(EventKind::SeatsReleased, booking),
        ],
    );
    let applied = deps
        .store
        .release_with_marker(
            booking,
            Transition::Fail,
            payment,
            None,
            marker,
            at,
            &events,
        )
        .await?;
    if applied == Applied::Done {
        publish(deps, &events).await;
    }
    Ok(())
}

fn record(applied: Applied) -> Result<(), ApiError> {
    match applied {
        Applied::Done | Applied::Duplicate => Ok(()),
        Applied::Refused => Err(ApiError::Internal(
            "booking vanished while recording a payment".into(),
        )),
    }
}

/// Stores a `Refund`. A booking still pending (`release`) ends (`release_transition`: cancelled
/// with its show, expired otherwise) and gives back whatever it still holds; any other booking
/// keeps its state.
async fn store_refund(
    deps: &Deps,
    booking: &Booking,
    decision: Decision,
    marker: &Marker<'_>,
    at: &str,
) -> Result<(), ApiError> {
    let Decision::Refund {
        payment,
        refund,
        release,
        reason,
    } = decision
    else {
        return Err(ApiError::Internal("store_refund needs a refund".into()));
    };
    let transition = release_transition(reason);
    let mut events = vec![refund_event(booking, &refund)];
    if release {
        let ended = match transition {
            Transition::CancelPending => EventKind::ShowCancelled,
            _ => EventKind::BookingExpired,
        };
        events.push(booking_event(ended, booking));
    }
    let events = outbox(deps, events);
    let recorded = || {
        deps.store
            .record_payment(booking, &payment, Some(&refund), marker, &events)
    };
    let applied = if release {
        match deps
            .store
            .release_with_marker(
                booking,
                transition,
                &payment,
                Some(&refund),
                marker,
                at,
                &events,
            )
            .await?
        {
            Applied::Refused => recorded().await?,
            other => other,
        }
    } else {
        recorded().await?
    };
    if applied == Applied::Done {
        // The sandbox's refunds are records; a live provider's refund API call would go here.
        tracing::warn!(booking_id = %booking.booking_id, amount = refund.amount, reason = %refund.reason, "refund initiated");
        boxoffice::metrics::count("Refunds", 1);
        publish(deps, &events).await;
    }
    record(applied)
}
