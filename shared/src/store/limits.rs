//! The per-customer limits of the hold path (issue 15): the rate window every attempt counts
//! toward, and the seats-per-show counter, both items of the customer's own (never a hot item).

use super::{build_err, keys, n, s, Store, StoreError};
use crate::domain::booking::Booking;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use std::collections::HashMap;

/// Counts one attempt in a rate window (the expression of the hold's Update and of a loser's).
const COUNT_ATTEMPT: &str = "ADD attempts :one SET expires_at = :ttl";
/// The window still has room for an attempt.
const WINDOW_OPEN: &str = "attribute_not_exists(attempts) OR attempts < :limit";

/// The current one-minute window of a moment (epoch seconds) and when its counter may vanish.
fn window(now: i64) -> (i64, i64) {
    let w = now.div_euclid(60);
    (w, (w + 2) * 60)
}

/// Seconds until the window of `now` closes (the 429's Retry-After).
pub fn retry_after(now: i64) -> u64 {
    (60 - now.rem_euclid(60)).max(1) as u64
}

/// One booking attempt to count in its customer's rate window: at `now` (epoch seconds), and
/// either only while the window has room (`within: Some(limit)`: an attempt answered without a
/// transaction, a 429 when full) or whatever it holds (`None`: a cancelled transaction's attempt,
/// already answered).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub user_id: String,
    pub now: i64,
    pub within: Option<u32>,
}

impl Attempt {
    /// The window item it counts in (two attempts with the same one cannot share a transaction).
    pub fn window_key(&self) -> (String, i64) {
        (self.user_id.clone(), window(self.now).0)
    }
}

/// How `attempt` is counted, as a transaction's Update and as an UpdateItem alike: its window
/// item's key, the condition (only for a `within` attempt) and the expression's values.
struct WindowCount {
    pk: String,
    condition: Option<String>,
    values: HashMap<String, AttributeValue>,
}

impl WindowCount {
    fn of(attempt: &Attempt) -> Self {
        let (w, ttl) = window(attempt.now);
        let limit = attempt
            .within
            .map(|limit| (":limit".to_owned(), n(limit as i64)));
        WindowCount {
            pk: keys::rate_pk(&attempt.user_id, w),
            condition: attempt.within.map(|_| WINDOW_OPEN.to_owned()),
            values: [(":one".to_owned(), n(1)), (":ttl".to_owned(), n(ttl))]
                .into_iter()
                .chain(limit)
                .collect(),
        }
    }
}

/// The transaction item counting `attempt` in its window.
fn count_in_window(table: &str, attempt: &Attempt) -> Result<TransactWriteItem, StoreError> {
    let count = WindowCount::of(attempt);
    let update = Update::builder()
        .table_name(table)
        .key(keys::PK, s(count.pk))
        .key(keys::SK, s(keys::RATE_SK))
        .update_expression(COUNT_ATTEMPT)
        .set_condition_expression(count.condition)
        .set_expression_attribute_values(Some(count.values))
        .build()
        .map_err(build_err)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// The hold transaction's rate-window item: counts this attempt, conditioned on the window not
/// being full yet.
pub(crate) fn rate_window_update(
    table: &str,
    user_id: &str,
    now: i64,
    limit: u32,
) -> Result<TransactWriteItem, StoreError> {
    let attempt = Attempt {
        user_id: user_id.to_owned(),
        now,
        within: Some(limit),
    };
    count_in_window(table, &attempt)
}

/// The hold transaction's seat-cap item: adds the booking's seats to what the customer holds
/// or owns for the show, conditioned on the sum staying within the cap (`room` is
/// `domain::limits::seat_cap_room`).
pub(crate) fn seat_cap_take(
    table: &str,
    booking: &Booking,
    room: i64,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .key(
            keys::PK,
            s(keys::seat_cap_pk(&booking.show_id, &booking.user_id)),
        )
        .key(keys::SK, s(keys::SEAT_CAP_SK))
        .update_expression("ADD seats :n")
        .condition_expression("attribute_not_exists(seats) OR seats <= :room")
        .expression_attribute_values(":n", n(booking.seats.len() as i64))
        .expression_attribute_values(":room", n(room))
        .build()
        .map_err(build_err)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// The seat-cap give-back that rides in a transaction moving the booking out of a seat-holding
/// state (expired, cancelled, failed, refunded): `None` for a booking placed before the cap
/// existed (it never counted). Unconditional: the transition's own condition on the booking's
/// status makes it happen once.
pub(crate) fn seat_cap_release(
    table: &str,
    booking: &Booking,
) -> Result<Option<TransactWriteItem>, StoreError> {
    if !booking.counts_toward_seat_cap {
        return Ok(None);
    }
    let update = Update::builder()
        .table_name(table)
        .key(
            keys::PK,
            s(keys::seat_cap_pk(&booking.show_id, &booking.user_id)),
        )
        .key(keys::SK, s(keys::SEAT_CAP_SK))
        .update_expression("ADD seats :minus")
        .expression_attribute_values(":minus", n(-(booking.seats.len() as i64)))
        .build()
        .map_err(build_err)?;
    Ok(Some(TransactWriteItem::builder().update(update).build()))
}

impl Store {
    /// Counts one attempt alone, in one small UpdateItem: a cancelled transaction's (a 409 or a
    /// 422 wrote nothing, its rate-window item included), or one answered without a transaction
    /// (a 409 from the container's memory of taken seats), conditioned as the hold's own count
    /// is. `false` only for a `within` attempt whose window is already full (a 429, as the
    /// transaction would have answered).
    pub async fn count_attempt(&self, attempt: &Attempt) -> Result<bool, StoreError> {
        let count = WindowCount::of(attempt);
        let sent = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(keys::PK, s(count.pk))
            .key(keys::SK, s(keys::RATE_SK))
            .update_expression(COUNT_ATTEMPT)
            .set_condition_expression(count.condition)
            .set_expression_attribute_values(Some(count.values))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e) if matches!(
                e.as_service_error(),
                Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(_))
            ) => Ok(false),
            Err(e) => Err(super::classify(e)),
        }
    }

    /// Counts several attempts, each in its own window item (distinct `window_key`s), in one
    /// TransactWriteItems: all or none. `false` when a window was full: nothing was counted, so
    /// each is to be counted alone (`count_attempt`) for its own answer, as after an error.
    pub async fn count_attempts_together(&self, attempts: &[Attempt]) -> Result<bool, StoreError> {
        let items = attempts
            .iter()
            .map(|attempt| count_in_window(self.table(), attempt))
            .collect::<Result<Vec<_>, _>>()?;
        match self.transact(items).await {
            Ok(super::TransactOutcome::Committed { .. }) => Ok(true),
            Ok(super::TransactOutcome::ConditionFailed { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Seats the customer holds plus owns for the show, as the cap counts them.
    pub async fn seats_counted(&self, show_id: &str, user_id: &str) -> Result<i64, StoreError> {
        Ok(self
            .read_number(
                keys::seat_cap_pk(show_id, user_id),
                keys::SEAT_CAP_SK,
                "seats",
            )
            .await?
            .unwrap_or(0))
    }
}
