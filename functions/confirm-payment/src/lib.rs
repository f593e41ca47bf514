//! `confirm-payment`: the payments queue's consumer. Each message (a verified, normalised provider
//! event) is parsed and applied on its own, and only the failed ones are reported, so one bad
//! message never fails its neighbours. Every change is one transaction carrying the event's
//! processed marker: exactly once in effect. A success that cannot become a sale is refunded.
//! DynamoDB calls per message: one read, one transaction (carrying the outbox entries of its
//! events), and after the commit, once EventBridge has the events, one delete of their entries.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use boxoffice::{
    clock::rfc3339,
    domain::{
        booking::{
            Booking, BookingStatus, PaymentInfo, PaymentStatus, RefundInfo, TicketInfo, Transition,
        },
        ticket::{issue, TicketClaims},
    },
    events::{booking_event, outbox, publish, EventKind},
    ids::new_id,
    payments::{PaymentMessage, PaymentOutcome},
    store::payments::{Applied, Marker},
    ApiError, Deps,
};

boxoffice::sqs_entry!(handler, [TicketKeys]);

/// The batch's messages are applied concurrently: each is its own booking's transaction (two for
/// the same booking are ordered by its conditions, as they would be across invocations), so a
/// batch takes one message's round trips instead of ten.
pub async fn handler(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    let outcomes = futures::future::join_all(
        event
            .records
            .iter()
            .map(|record| async move { (record, process_record(deps, record).await) }),
    )
    .await;
    let mut response = SqsBatchResponse::default();
    for (record, outcome) in outcomes {
        if let Err(e) = outcome {
            let id = record.message_id.clone().unwrap_or_default();
            tracing::error!(message_id = %id, error = %e, "payment message failed; it will be retried");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

async fn process_record(deps: &Deps, record: &SqsMessage) -> Result<(), ApiError> {
    let body = record.body.as_deref().unwrap_or_default();
    let message: PaymentMessage = serde_json::from_str(body)
        .map_err(|e| ApiError::validation(format!("malformed payment message: {e}")))?;
    apply(deps, &message).await
}

/// Applies one provider event to its booking.
pub async fn apply(deps: &Deps, m: &PaymentMessage) -> Result<(), ApiError> {
    let Some(booking) = deps.store.get_booking(&m.booking_id).await? else {
        // Retrying cannot help; keep it visible to the operators.
        tracing::error!(booking_id = %m.booking_id, event_id = %m.event_id, metric = "PaymentForUnknownBooking", "payment event for an unknown booking");
        return Ok(());
    };
    let marker = Marker {
        provider: &m.provider,
        event_id: &m.event_id,
        now: deps.clock.now_epoch(),
    };
    let now = deps.clock.now();
    let at = rfc3339(now);
    let payment = |status: PaymentStatus| PaymentInfo {
        status,
        amount: m.amount,
        currency: m.currency.clone(),
        payment_intent_id: m.payment_intent_id.clone(),
        provider: m.provider.clone(),
        ..booking.payment.clone().unwrap_or_else(|| PaymentInfo {
            payment_id: new_id("pay"),
            provider: m.provider.clone(),
            payment_intent_id: m.payment_intent_id.clone(),
            amount: m.amount,
            currency: m.currency.clone(),
            status,
            redirect_url: String::new(),
            created_at: at.clone(),
        })
    };
    let refund = |reason: &str| RefundInfo {
        status: "INITIATED".into(),
        amount: m.amount,
        reason: reason.into(),
        initiated_at: at.clone(),
    };

    match m.outcome {
        PaymentOutcome::Succeeded => {
            let same_intent = booking
                .payment
                .as_ref()
                .is_none_or(|p| p.payment_intent_id == m.payment_intent_id);
            let mismatch = m.amount != booking.pricing.total
                || m.currency != booking.pricing.currency
                || !same_intent;
            if mismatch {
                tracing::error!(booking_id = %booking.booking_id, expected = booking.pricing.total, paid = m.amount,
                    metric = "PaymentMismatch", "payment does not match its booking; refunding");
                return refund_payment(
                    deps,
                    &booking,
                    &payment(PaymentStatus::RefundInitiated),
                    &refund("amount, currency or intent mismatch"),
                    &marker,
                    &at,
                )
                .await;
            }
            match booking.status {
                BookingStatus::PaymentPending => {}
                BookingStatus::Confirmed => {
                    // The same payment reported again under another event id: nothing to do.
                    return record(
                        deps.store
                            .record_payment(
                                &booking,
                                &payment(PaymentStatus::Succeeded),
                                None,
                                &marker,
                                &[],
                            )
                            .await?,
                    );
                }
                _ => {
                    return refund_payment(
                        deps,
                        &booking,
                        &payment(PaymentStatus::RefundInitiated),
                        &refund("booking no longer payable"),
                        &marker,
                        &at,
                    )
                    .await;
                }
            }
            let ticket_id = new_id("tkt");
            let claims = TicketClaims {
                ticket_id: ticket_id.clone(),
                booking_id: booking.booking_id.clone(),
                show_id: booking.show_id.clone(),
                theatre_id: booking.theatre_id.clone(),
                seat_ids: booking.seat_ids(),
            };
            let ticket = TicketInfo {
                ticket_id,
                qr_code_data: issue(deps.config.ticket_key()?.expose().as_bytes(), &claims),
                seat_ids: booking.seat_ids(),
            };
            let events = outbox(
                deps,
                vec![booking_event(EventKind::BookingConfirmed, &booking)],
            );
            match deps
                .store
                .confirm_booking(
                    &booking,
                    &payment(PaymentStatus::Succeeded),
                    &ticket,
                    &marker,
                    &at,
                    &events,
                )
                .await?
            {
                Applied::Done => {
                    tracing::info!(booking_id = %booking.booking_id, "booking confirmed");
                    boxoffice::metrics::count("confirm-payment", "BookingsConfirmed", 1);
                    publish(deps, &events).await;
                    Ok(())
                }
                Applied::Duplicate => Ok(()),
                Applied::Refused => {
                    // Lost a seat (its hold expired and someone took it), or the booking moved on
                    // meanwhile: never an oversell, a refund.
                    let fresh = deps
                        .store
                        .get_booking(&booking.booking_id)
                        .await?
                        .unwrap_or(booking.clone());
                    if fresh.status == BookingStatus::Confirmed
                        && fresh
                            .payment
                            .as_ref()
                            .is_some_and(|p| p.payment_intent_id == m.payment_intent_id)
                    {
                        // This same payment, reported under another event id, confirmed the
                        // booking meanwhile: it was sold, not lost, so nothing is refunded.
                        return record(
                            deps.store
                                .record_payment(
                                    &fresh,
                                    &payment(PaymentStatus::Succeeded),
                                    None,
                                    &marker,
                                    &[],
                                )
                                .await?,
                        );
                    }
                    refund_payment(
                        deps,
                        &fresh,
                        &payment(PaymentStatus::RefundInitiated),
                        &refund("seats no longer held"),
                        &marker,
                        &at,
                    )
                    .await
                }
            }
        }
        PaymentOutcome::Failed => {
            if booking.status != BookingStatus::PaymentPending {
                // A failure after the fact (e.g. after a success) changes nothing; remember it.
                let kept = booking
                    .payment
                    .clone()
                    .unwrap_or_else(|| payment(PaymentStatus::Failed));
                return record(
                    deps.store
                        .record_payment(&booking, &kept, None, &marker, &[])
                        .await?,
                );
            }
            let events = outbox(
                deps,
                vec![
                    booking_event(EventKind::PaymentFailed, &booking),
                    booking_event(EventKind::SeatsReleased, &booking),
                ],
            );
            let applied = deps
                .store
                .release_with_marker(
                    &booking,
                    Transition::Fail,
                    &payment(PaymentStatus::Failed),
                    None,
                    &marker,
                    &at,
                    &events,
                )
                .await?;
            if applied == Applied::Done {
                publish(deps, &events).await;
            }
            Ok(())
        }
        PaymentOutcome::Refunded => {
            let done = RefundInfo {
                status: "COMPLETED".into(),
                ..booking
                    .refund
                    .clone()
                    .unwrap_or_else(|| refund("refunded by the provider"))
            };
            record(
                deps.store
                    .record_payment(
                        &booking,
                        &payment(PaymentStatus::Refunded),
                        Some(&done),
                        &marker,
                        &[],
                    )
                    .await?,
            )
        }
    }
}

fn record(applied: Applied) -> Result<(), ApiError> {
    match applied {
        Applied::Done | Applied::Duplicate => Ok(()),
        Applied::Refused => Err(ApiError::Internal(
            "booking vanished while recording a payment".into(),
        )),
    }
}

/// Refunds a payment that cannot become a sale. A booking still pending (it lost a seat) expires
/// and gives back whatever it still holds; any other booking keeps its state.
async fn refund_payment(
    deps: &Deps,
    booking: &Booking,
    payment: &PaymentInfo,
    refund: &RefundInfo,
    marker: &Marker<'_>,
    at: &str,
) -> Result<(), ApiError> {
    let mut events = vec![booking_event(EventKind::RefundInitiated, booking)];
    if booking.status == BookingStatus::PaymentPending {
        events.push(booking_event(EventKind::BookingExpired, booking));
    }
    let events = outbox(deps, events);
    let applied = if booking.status == BookingStatus::PaymentPending {
        match deps
            .store
            .release_with_marker(
                booking,
                Transition::Expire,
                payment,
                Some(refund),
                marker,
                at,
                &events,
            )
            .await?
        {
            Applied::Refused => {
                deps.store
                    .record_payment(booking, payment, Some(refund), marker, &events)
                    .await?
            }
            other => other,
        }
    } else {
        deps.store
            .record_payment(booking, payment, Some(refund), marker, &events)
            .await?
    };
    if applied == Applied::Done {
        // The sandbox's refunds are records; a live provider's refund API call would go here.
        tracing::warn!(booking_id = %booking.booking_id, amount = refund.amount, reason = %refund.reason, "refund initiated");
        boxoffice::metrics::count("confirm-payment", "Refunds", 1);
        publish(deps, &events).await;
    }
    record(applied)
}
