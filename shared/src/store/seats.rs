//! Seat items: a seat is available when it has no item, or its HELD item has expired. Every
//! write here is conditional on that, so a seat can never be held or sold twice.

use super::{
    build_err, catalog::SeatItem, catalog::HELD, catalog::SOLD, condition_failed, keys, n, s,
    Store, StoreError, TransactOutcome, HELD_BY_BOOKING,
};
use crate::domain::{channel::Source, layout::SeatPlace, show::SeatState};
use aws_sdk_dynamodb::types::{
    Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

/// Free, or held by a hold that has expired (`expires_at < now`): never rely on TTL deletion.
/// The rule `domain::seat::can_hold` states (a conformance test holds them equal).
pub const SEAT_AVAILABLE: &str =
    "attribute_not_exists(pk) OR (#state = :held AND expires_at < :now)";

/// The conditional Put that holds one seat for a booking until `expires_at`. On a failed condition
/// DynamoDB returns the item as it is (ALL_OLD), which names who has the seat without another read.
/// Public for the seat conformance test (tests/tests/it/seat_conformance.rs), which sends these
/// very writes to DynamoDB Local.
pub fn hold_seat(
    table: &str,
    show_id: &str,
    seat: &SeatPlace,
    booking_id: &str,
    expires_at: i64,
    now: i64,
) -> Result<TransactWriteItem, StoreError> {
    let item = seat_item(show_id, seat, booking_id, SeatState::Held, Source::App);
    let item = SeatItem {
        expires_at: Some(expires_at),
        ..item
    };
    take_seat(table, &item, now)
}

/// The conditional Put that sells one free seat outright (a counter sale: `domain::channel`),
/// under the very condition of a hold, so the counter and the app never both get a seat.
pub fn sell_free_seat(
    table: &str,
    show_id: &str,
    seat: &SeatPlace,
    booking_id: &str,
    source: Source,
    now: i64,
) -> Result<TransactWriteItem, StoreError> {
    let item = seat_item(show_id, seat, booking_id, SeatState::Sold, source);
    take_seat(table, &item, now)
}

/// The item of `seat` in `state` for `booking_id` (with no hold time).
fn seat_item(
    show_id: &str,
    seat: &SeatPlace,
    booking_id: &str,
    state: SeatState,
    source: Source,
) -> SeatItem {
    SeatItem {
        pk: keys::seat_pk(show_id, seat.block),
        sk: keys::seat_sk(&seat.seat_id),
        seat_id: seat.seat_id.clone(),
        state,
        booking_id: booking_id.to_owned(),
        expires_at: None,
        source,
    }
}

/// Writes `item` only where its seat is available at `now` (`SEAT_AVAILABLE`).
fn take_seat(table: &str, item: &SeatItem, now: i64) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(serde_dynamo::to_item(item)?))
        .condition_expression(SEAT_AVAILABLE)
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":held", s(HELD))
        .expression_attribute_values(":now", n(now))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .map_err(build_err)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// HELD → SOLD, only while this booking holds the seat.
/// Public for the seat conformance test, as `hold_seat`.
pub fn sell_seat(
    table: &str,
    show_id: &str,
    seat: &SeatPlace,
    booking_id: &str,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .key(keys::PK, s(keys::seat_pk(show_id, seat.block)))
        .key(keys::SK, s(keys::seat_sk(&seat.seat_id)))
        .update_expression("SET #state = :sold REMOVE expires_at")
        .condition_expression(HELD_BY_BOOKING)
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":sold", s(SOLD))
        .expression_attribute_values(":held", s(HELD))
        .expression_attribute_values(":b", s(booking_id))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .map_err(build_err)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// The seat ids whose condition failed, in request order, from the cancellation reasons.
pub(crate) fn failed_seat_ids(
    reasons: &[aws_sdk_dynamodb::types::CancellationReason],
    seats: &[SeatPlace],
) -> Vec<String> {
    seats
        .iter()
        .enumerate()
        .filter(|(i, _)| condition_failed(reasons, *i))
        .map(|(_, seat)| seat.seat_id.clone())
        .collect()
}

#[derive(Debug, PartialEq, Eq)]
pub enum SeatWrite {
    Done,
    /// These seats were not available (or not held by this booking).
    Unavailable(Vec<String>),
}

impl Store {
    /// Holds all of `seat_ids` for `booking_id` or none of them.
    pub async fn hold_seats(
        &self,
        show_id: &str,
        booking_id: &str,
        seats: &[SeatPlace],
        expires_at: i64,
        now: i64,
    ) -> Result<SeatWrite, StoreError> {
        let items = seats
            .iter()
            .map(|seat| hold_seat(self.table(), show_id, seat, booking_id, expires_at, now))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(match self.transact(items).await? {
            TransactOutcome::Committed { .. } => SeatWrite::Done,
            TransactOutcome::ConditionFailed { reasons, .. } => {
                SeatWrite::Unavailable(failed_seat_ids(&reasons, seats))
            }
        })
    }

    /// Sells all of `seat_ids` held by `booking_id`, or none of them.
    pub async fn sell_seats(
        &self,
        show_id: &str,
        booking_id: &str,
        seats: &[SeatPlace],
    ) -> Result<SeatWrite, StoreError> {
        let items = seats
            .iter()
            .map(|seat| sell_seat(self.table(), show_id, seat, booking_id))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(match self.transact(items).await? {
            TransactOutcome::Committed { .. } => SeatWrite::Done,
            TransactOutcome::ConditionFailed { reasons, .. } => {
                SeatWrite::Unavailable(failed_seat_ids(&reasons, seats))
            }
        })
    }
}
