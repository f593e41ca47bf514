//! Payment-driven state changes. Each is one transaction that carries the processed-event marker,
//! so a webhook delivered twice changes nothing twice, and every booking move is conditional on
//! the booking's current status.

use super::outbox::OutboxEntry;
use super::{
    bookings::{idempotency_put, IdempotencyRecord},
    build_err,
    catalog::{sold_shard, HELD, SOLD_SHARDS},
    condition_failed, keys, n, s,
    seats::{failed_seat_ids, sell_seat},
    Store, StoreError, TransactOutcome, HELD_BY_BOOKING,
};
use crate::domain::{
    booking::{Booking, BookingStatus, PaymentInfo, RefundInfo, TicketInfo, Transition},
    show::ShowStatus,
};
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use serde::Serialize;

const MARKER_TTL_SECONDS: i64 = 30 * 24 * 3600;

pub(crate) fn av<T: Serialize>(v: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(v).map_err(StoreError::from)
}

/// The processed-event marker of a provider event: its conditional Put is what makes a webhook
/// exactly-once in effect.
pub(crate) fn processed_marker(
    table: &str,
    provider: &str,
    event_id: &str,
    now: i64,
) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .item(keys::PK, s(keys::processed_event_pk(provider, event_id)))
        .item(keys::SK, s(keys::PROCESSED_EVENT_SK))
        .item("expires_at", n(now + MARKER_TTL_SECONDS))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(build_err)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

#[derive(Debug, PartialEq, Eq)]
pub enum StartPayment {
    Started,
    Replay(IdempotencyRecord),
    /// The booking changed since it was read (paid, expired, cancelled): read it again.
    Changed,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    Done,
    /// This provider event was processed before.
    Duplicate,
    /// The booking is not (or no longer) in the state this change needs, or lost a seat.
    Refused,
}

/// What `confirm_booking` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    Done,
    /// This provider event was processed before.
    Duplicate,
    /// The show was cancelled: nothing changed.
    ShowCancelled,
    /// The booking is not (or no longer) pending, or a seat is no longer held by it.
    Refused,
}

/// The processed-event marker of one provider event, written at `now`.
pub struct Marker<'a> {
    pub provider: &'a str,
    pub event_id: &'a str,
    pub now: i64,
}

impl Store {
    pub(super) fn marker(&self, m: &Marker) -> Result<TransactWriteItem, StoreError> {
        processed_marker(self.table(), m.provider, m.event_id, m.now)
    }

    /// Records the payment intent and extends the hold (booking and every seat) to `hold_until`,
    /// once: only while PAYMENT_PENDING, unexpired and without an intent.
    pub async fn start_payment(
        &self,
        booking: &Booking,
        payment: &PaymentInfo,
        hold_until: i64,
        now: i64,
        idempotency: Option<(&str, IdempotencyRecord)>,
    ) -> Result<StartPayment, StoreError> {
        let update = Update::builder()
            .table_name(self.table())
            .key(keys::PK, s(keys::booking_pk(&booking.booking_id)))
            .key(keys::SK, s(keys::BOOKING_SK))
            .update_expression("SET payment = :p, hold_expires_at = :h, gsi2sk = :g")
            .condition_expression(
                "#status = :pp AND hold_expires_at >= :now AND attribute_not_exists(payment)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":p", av(payment)?)
            .expression_attribute_values(":h", n(hold_until))
            .expression_attribute_values(
                ":g",
                s(keys::pending_gsi2sk(hold_until, &booking.booking_id)),
            )
            .expression_attribute_values(":pp", s(BookingStatus::PaymentPending.as_str()))
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(build_err)?;
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        for seat in booking.seat_places() {
            let update = Update::builder()
                .table_name(self.table())
                .key(keys::PK, s(keys::seat_pk(&booking.show_id, seat.block)))
                .key(keys::SK, s(keys::seat_sk(&seat.seat_id)))
                .update_expression("SET expires_at = :h")
                .condition_expression(HELD_BY_BOOKING)
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":h", n(hold_until))
                .expression_attribute_values(":b", s(booking.booking_id.clone()))
                .expression_attribute_values(":held", s(HELD))
                .build()
                .map_err(build_err)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        let idem_index = items.len();
        if let Some((key, record)) = idempotency {
            items.push(idempotency_put(
                self.table(),
                &booking.user_id,
                key,
                &record,
                now,
            )?);
        }
        match self.transact(items).await? {
            TransactOutcome::Committed { .. } => Ok(StartPayment::Started),
            TransactOutcome::ConditionFailed { reasons, .. } => {
                if condition_failed(&reasons, idem_index) {
                    let old = reasons
                        .get(idem_index)
                        .and_then(|r| r.item())
                        .cloned()
                        .unwrap_or_default();
                    return Ok(StartPayment::Replay(super::bookings::idempotency_record(
                        old,
                    )?));
                }
                Ok(StartPayment::Changed)
            }
        }
    }

    /// `PAYMENT_PENDING → CONFIRMED` with its ticket, every seat `HELD → SOLD` (still held by this
    /// booking, even past its hold time), the sale on the show's listing, the event marker and
    /// the outbox entries of its events.
    ///
    /// The listing's update is also the show-cancellation check: it is conditional on the
    /// listing being SCHEDULED, and `cancel_show` turns the show and its listing CANCELLED in one
    /// transaction, so no booking is confirmed once its show is cancelled, whatever a container
    /// still has cached. The listing is already in every confirm, so the check adds no item and
    /// no conflict to the transaction.
    pub async fn confirm_booking(
        &self,
        booking: &Booking,
        payment: &PaymentInfo,
        ticket: &TicketInfo,
        marker: &Marker<'_>,
        at: &str,
        outbox: &[OutboxEntry],
    ) -> Result<Confirmation, StoreError> {
        let extra = [("payment", av(payment)?), ("ticket", av(ticket)?)];
        let mut items = vec![self.transition_update(booking, Transition::Confirm, at, &extra)?];
        let seats = booking.seat_places();
        for seat in &seats {
            items.push(sell_seat(
                self.table(),
                &booking.show_id,
                seat,
                &booking.booking_id,
            )?);
        }
        let listing_index = items.len();
        items.push(self.sale_count(booking, true)?);
        let marker_index = items.len();
        items.push(self.marker(marker)?);
        items.extend(self.outbox_puts(outbox)?);
        items.extend(self.points_earned(booking, at)?);
        Ok(match self.transact(items).await? {
            TransactOutcome::Committed { .. } => Confirmation::Done,
            TransactOutcome::ConditionFailed { reasons, .. }
                if condition_failed(&reasons, marker_index) =>
            {
                Confirmation::Duplicate
            }
            TransactOutcome::ConditionFailed { reasons, .. }
                if condition_failed(&reasons, listing_index) =>
            {
                Confirmation::ShowCancelled
            }
            TransactOutcome::ConditionFailed { .. } => Confirmation::Refused,
        })
    }

    /// Counts the booking's seats sold (or unsold) on the show's sold counter its id falls on
    /// (`catalog::sold_shard`), for browse's availability. A sale's count is conditional on the
    /// counter's copy of the show's status, so a sale racing the show's cancellation fails; the
    /// booking's own transition makes each count happen once.
    pub(super) fn sale_count(
        &self,
        booking: &Booking,
        sold: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let seats = booking.seats.len() as i64;
        let update = Update::builder()
            .table_name(self.table())
            .key(
                keys::PK,
                s(keys::sold_pk(
                    &booking.show_id,
                    sold_shard(&booking.booking_id),
                )),
            )
            .key(keys::SK, s(keys::SOLD_SK))
            .update_expression("ADD seats :n")
            .expression_attribute_values(":n", n(if sold { seats } else { -seats }));
        let update = if sold {
            update
                .condition_expression("#status = :scheduled")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":scheduled", av(&ShowStatus::Scheduled)?)
        } else {
            update
        };
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(build_err)?)
            .build())
    }

    /// Records `payment` (and a refund) on a booking whatever its state, with the event marker:
    /// for a payment that cannot become a sale, and for provider outcomes after the fact; with the
    /// outbox entries of its events (if any).
    pub async fn record_payment(
        &self,
        booking: &Booking,
        payment: &PaymentInfo,
        refund: Option<&RefundInfo>,
        marker: &Marker<'_>,
        outbox: &[OutboxEntry],
    ) -> Result<Applied, StoreError> {
        let mut update = Update::builder()
            .table_name(self.table())
            .key(keys::PK, s(keys::booking_pk(&booking.booking_id)))
            .key(keys::SK, s(keys::BOOKING_SK))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":p", av(payment)?);
        update = match refund {
            Some(r) => update
                .update_expression("SET payment = :p, refund = :r")
                .expression_attribute_values(":r", av(r)?),
            None => update.update_expression("SET payment = :p"),
        };
        let mut items = vec![
            TransactWriteItem::builder()
                .update(update.build().map_err(build_err)?)
                .build(),
            self.marker(marker)?,
        ];
        items.extend(self.outbox_puts(outbox)?);
        if let Some(r) = refund {
            items.extend(self.refund_put(booking, r)?);
        }
        let refund_item = items.len() - 1;
        match self.transact(items).await? {
            TransactOutcome::Committed { .. } => Ok(Applied::Done),
            TransactOutcome::ConditionFailed { reasons, .. } if condition_failed(&reasons, 1) => {
                Ok(Applied::Duplicate)
            }
            // This payment's refund exists already (the same capture reported again under a new
            // event id): it is paid once, never twice.
            TransactOutcome::ConditionFailed { reasons, .. }
                if refund.is_some() && condition_failed(&reasons, refund_item) =>
            {
                Ok(Applied::Duplicate)
            }
            TransactOutcome::ConditionFailed { .. } => Ok(Applied::Refused),
        }
    }

    /// A move out of PAYMENT_PENDING that gives the seats back (failed payment, expiry after a lost
    /// seat), with the payment record, an optional refund, the event marker and the outbox.
    #[allow(clippy::too_many_arguments)]
    pub async fn release_with_marker(
        &self,
        booking: &Booking,
        transition: Transition,
        payment: &PaymentInfo,
        refund: Option<&RefundInfo>,
        marker: &Marker<'_>,
        at: &str,
        outbox: &[OutboxEntry],
    ) -> Result<Applied, StoreError> {
        let mut extra = vec![("payment", av(payment)?)];
        if let Some(r) = refund {
            extra.push(("refund", av(r)?));
        }
        let mut extra_items = vec![self.marker(marker)?];
        extra_items.extend(self.outbox_puts(outbox)?);
        if let Some(r) = refund {
            extra_items.extend(self.refund_put(booking, r)?);
        }
        let outcome = self
            .release_pending_with(booking, transition, at, &extra, extra_items)
            .await?;
        Ok(match outcome {
            super::bookings::Release::Done => Applied::Done,
            super::bookings::Release::NotInState => Applied::Refused,
            super::bookings::Release::ExtraFailed => Applied::Duplicate,
        })
    }

    /// `CONFIRMED → CANCELLED` with a refund: seats deleted (only while sold to this booking), the
    /// sale removed from the listing, the customer's seat cap and loyalty points reversed, the
    /// outbox entries of its events written.
    pub async fn cancel_confirmed(
        &self,
        booking: &Booking,
        payment: Option<&PaymentInfo>,
        refund: &RefundInfo,
        at: &str,
        outbox: &[OutboxEntry],
    ) -> Result<bool, StoreError> {
        let mut extra = vec![("refund", av(refund)?)];
        if let Some(p) = payment {
            extra.push(("payment", av(p)?));
        }
        let mut items =
            vec![self.transition_update(booking, Transition::CancelConfirmed, at, &extra)?];
        for seat in booking.seat_places() {
            items.push(self.delete_sold_seat(booking, &seat)?);
        }
        items.push(self.sale_count(booking, false)?);
        items.extend(self.outbox_puts(outbox)?);
        items.extend(self.refund_put(booking, refund)?);
        items.extend(super::limits::seat_cap_release(self.table(), booking)?);
        match self.transact_with_points(booking, items, at).await? {
            TransactOutcome::Committed { .. } => Ok(true),
            TransactOutcome::ConditionFailed { reasons, .. } => {
                let lost = failed_seat_ids(&reasons[1..], &booking.seat_places());
                if !lost.is_empty() {
                    tracing::error!(booking_id = %booking.booking_id, seats = ?lost, "confirmed booking does not own its sold seats");
                }
                Ok(false)
            }
        }
    }

    /// A refunded confirmed booking's transaction `items` (the booking's transition first) with
    /// its loyalty points reversed (`points_reversed`) from a fresh read of the balance: sent
    /// again with a new read while only the balance's condition failed (the customer's points
    /// moved in between), so the refund is never refused for them.
    pub(super) async fn transact_with_points(
        &self,
        booking: &Booking,
        items: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
        at: &str,
    ) -> Result<TransactOutcome, StoreError> {
        for _ in 0..super::TRANSACTION_ATTEMPTS {
            let seen = self.reversal_seen(booking).await?;
            let points = self.points_reversed(booking, seen, at)?;
            let points_index = (!points.is_empty()).then_some(items.len());
            let mut all = items.clone();
            all.extend(points);
            match self.transact(all).await? {
                TransactOutcome::ConditionFailed { reasons, .. }
                    if points_index.is_some_and(|i| {
                        condition_failed(&reasons, i)
                            && (0..i).all(|j| !condition_failed(&reasons, j))
                    }) =>
                {
                    continue
                }
                outcome => return Ok(outcome),
            }
        }
        Err(StoreError::Unavailable(
            "the customer's loyalty balance kept changing during a refund".into(),
        ))
    }

    /// Admits a confirmed booking once. `Err(previous admission time)` when already admitted.
    pub async fn admit(
        &self,
        booking_id: &str,
        at: &str,
    ) -> Result<Result<(), Option<String>>, StoreError> {
        let out = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(keys::PK, s(keys::booking_pk(booking_id)))
            .key(keys::SK, s(keys::BOOKING_SK))
            .update_expression("SET admitted_at = :at")
            .condition_expression("#status = :confirmed AND attribute_not_exists(admitted_at)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":at", s(at))
            .expression_attribute_values(":confirmed", s(BookingStatus::Confirmed.as_str()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match out {
            Ok(_) => Ok(Ok(())),
            Err(e) => match e.as_service_error() {
                Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c)) => {
                    let previous = c.item().and_then(|i| i.get("admitted_at")).and_then(|v| v.as_s().ok()).cloned();
                    Ok(Err(previous))
                }
                _ => Err(super::classify(e)),
            },
        }
    }

    /// Marks a show and its listing CANCELLED (once), with the outbox entries of its events;
    /// `false` when it already was.
    pub async fn cancel_show(
        &self,
        show_id: &str,
        outbox: &[OutboxEntry],
    ) -> Result<bool, StoreError> {
        // Show and listing only while SCHEDULED (a second cancellation changes nothing); the
        // sold counters' copies of the status whatever they hold, so a sale still in flight
        // fails on its counter.
        let cancel =
            |pk: String, sk: &str, scheduled_only: bool| -> Result<TransactWriteItem, StoreError> {
                let mut u = Update::builder()
                    .table_name(self.table())
                    .key(keys::PK, s(pk))
                    .key(keys::SK, s(sk))
                    .update_expression("SET #status = :c")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":c", av(&ShowStatus::Cancelled)?);
                if scheduled_only {
                    u = u
                        .condition_expression("#status = :s")
                        .expression_attribute_values(":s", av(&ShowStatus::Scheduled)?);
                }
                Ok(TransactWriteItem::builder()
                    .update(u.build().map_err(build_err)?)
                    .build())
            };
        let mut items = vec![
            cancel(keys::show_pk(show_id), keys::SHOW_SK, true)?,
            cancel(keys::show_pk(show_id), keys::LISTING_SK, true)?,
        ];
        for shard in 0..SOLD_SHARDS {
            items.push(cancel(keys::sold_pk(show_id, shard), keys::SOLD_SK, false)?);
        }
        items.extend(self.outbox_puts(outbox)?);
        Ok(matches!(
            self.transact(items).await?,
            TransactOutcome::Committed { .. }
        ))
    }
}
