//! Bookings, their idempotency records, per-user rate windows and coupon uses. A booking is
//! created in one TransactWriteItems with its seat holds.

use super::{
    build_err, keys, n, s,
    seats::{failed_seat_ids, hold_seat, sell_free_seat},
    Item, Page, Store, StoreError, TransactOutcome,
};
use crate::domain::booking::{Booking, BookingStatus, Transition};
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct BookingItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2sk: Option<String>,
    #[serde(flatten)]
    booking: Booking,
}

/// A stored response for an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

impl IdempotencyRecord {
    /// The record of a 201 answer with this body.
    pub fn created(request_hash: &str, body: &str) -> Self {
        IdempotencyRecord {
            request_hash: request_hash.to_owned(),
            status: 201,
            body: body.to_owned(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct IdempotencyItem {
    pk: String,
    sk: String,
    expires_at: i64,
    #[serde(flatten)]
    record: IdempotencyRecord,
}

const IDEMPOTENCY_TTL_SECONDS: i64 = 24 * 3600;

/// The conditional Put of an idempotency record; on a repeat DynamoDB returns the stored one (ALL_OLD).
pub(crate) fn idempotency_put(
    table: &str,
    user_id: &str,
    key: &str,
    record: &IdempotencyRecord,
    now: i64,
) -> Result<TransactWriteItem, StoreError> {
    let item = IdempotencyItem {
        pk: keys::idempotency_pk(user_id, key),
        sk: keys::IDEMPOTENCY_SK.into(),
        expires_at: now + IDEMPOTENCY_TTL_SECONDS,
        record: record.clone(),
    };
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(serde_dynamo::to_item(&item)?))
        .condition_expression("attribute_not_exists(pk)")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .map_err(build_err)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// The record inside an ALL_OLD idempotency item.
pub(crate) fn idempotency_record(item: Item) -> Result<IdempotencyRecord, StoreError> {
    Ok(serde_dynamo::from_item::<_, IdempotencyItem>(item)?.record)
}

/// The item as it was (ALL_OLD) when a cancelled transaction's guard Put (item `index`, if it
/// had one) failed: the idempotency key or reference was used before.
fn failed_guard(
    reasons: &[aws_sdk_dynamodb::types::CancellationReason],
    index: Option<usize>,
) -> Option<Item> {
    let i = index.filter(|i| super::condition_failed(reasons, *i))?;
    Some(
        reasons
            .get(i)
            .and_then(|r| r.item())
            .cloned()
            .unwrap_or_default(),
    )
}

pub struct PlaceBooking<'a> {
    pub booking: &'a Booking,
    pub now: i64,
    pub idempotency: Option<(&'a str, IdempotencyRecord)>,
    /// Holds allowed per user per minute (the window is part of the transaction, so it costs no call).
    pub rate_limit_per_minute: u32,
    /// The per-user limit of the booking's coupon, if it has one.
    pub coupon_limit: Option<i64>,
    /// The most seats the customer may already hold or own for the show (the seat cap's
    /// counter is part of the transaction: `domain::limits::seat_cap_room`).
    pub seat_cap_room: i64,
    /// The hold came with an admission token of a queue-mode show: its queue entry is marked used.
    pub admitted_from_queue: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Release {
    Done,
    /// The booking was not in the transition's `from` state.
    NotInState,
    /// One of the extra items' conditions failed (a processed-event marker: a duplicate).
    ExtraFailed,
}

/// What a sale outright (a counter sale, another platform's block: `Store::sell_outright`) did.
#[derive(Debug)]
pub enum SoldOutright<R> {
    Sold,
    /// The request's guard was used before: what it recorded (an idempotent answer, a block).
    Replay(R),
    Refused(SaleRefused),
}

/// Why a sale outright wrote nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum SaleRefused {
    /// Held or sold already: exactly these seats.
    SeatsTaken(Vec<String>),
    /// The show was cancelled (its sold counter no longer takes sales).
    ShowNotScheduled,
}

impl<R> SoldOutright<R> {
    /// The same outcome with its replay read by `read`.
    pub(super) fn read_replay<S>(
        self,
        read: impl FnOnce(R) -> Result<S, StoreError>,
    ) -> Result<SoldOutright<S>, StoreError> {
        Ok(match self {
            SoldOutright::Sold => SoldOutright::Sold,
            SoldOutright::Replay(r) => SoldOutright::Replay(read(r)?),
            SoldOutright::Refused(why) => SoldOutright::Refused(why),
        })
    }
}

#[derive(Debug)]
pub enum Placed {
    Placed {
        retries: u32,
    },
    /// Held by someone else (or sold): exactly these seats.
    SeatsTaken(Vec<String>),
    /// The same key was used before: its stored response.
    Replay(IdempotencyRecord),
    RateLimited {
        retry_after_secs: u64,
    },
    SeatCapReached,
    CouponLimitReached,
    /// The balance held fewer points than the hold redeems.
    NotEnoughPoints {
        balance: i64,
    },
}

/// Spreads pending bookings over a few GSI2 partitions, so the sweep never reads one hot partition.
pub const PENDING_SHARDS: u32 = 8;

/// Every partition key of the pending index.
pub fn pending_shard_keys() -> Vec<String> {
    (0..PENDING_SHARDS).map(keys::pending_gsi2pk).collect()
}

pub fn pending_shard(booking_id: &str) -> u32 {
    shard_of(booking_id, PENDING_SHARDS)
}

/// The reminder index's shards per show-start hour (`keys::reminder_gsi2pk`).
pub const REMINDER_SHARDS: u32 = 32;

pub fn reminder_shard(booking_id: &str) -> u32 {
    shard_of(booking_id, REMINDER_SHARDS)
}

fn shard_of(booking_id: &str, shards: u32) -> u32 {
    booking_id
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32))
        % shards
}

fn booking_item(b: &Booking) -> BookingItem {
    let pending = b.status == BookingStatus::PaymentPending;
    BookingItem {
        pk: keys::booking_pk(&b.booking_id),
        sk: keys::BOOKING_SK.into(),
        gsi1pk: keys::user_bookings_gsi1pk(&b.user_id),
        gsi1sk: b.booking_id.clone(),
        gsi2pk: pending.then(|| keys::pending_gsi2pk(pending_shard(&b.booking_id))),
        gsi2sk: pending.then(|| keys::pending_gsi2sk(b.hold_expires_at, &b.booking_id)),
        booking: b.clone(),
    }
}

impl Store {
    /// Holds every seat and records the booking, the idempotency key, the rate window and the
    /// coupon use: all in one transaction, so all of it happens or none.
    pub async fn place_booking(&self, p: PlaceBooking<'_>) -> Result<Placed, StoreError> {
        let b = p.booking;
        let seats = b.seat_places();
        let mut items = Vec::with_capacity(seats.len() + 4);
        for seat in &seats {
            items.push(hold_seat(
                self.table(),
                &b.show_id,
                seat,
                &b.booking_id,
                b.hold_expires_at,
                p.now,
            )?);
        }
        items.push(super::tx_put(
            self.table(),
            serde_dynamo::to_item(booking_item(b))?,
            Some("attribute_not_exists(pk)"),
        )?);

        let rate_index = items.len();
        items.push(super::limits::rate_window_update(
            self.table(),
            &b.user_id,
            p.now,
            p.rate_limit_per_minute,
        )?);
        let cap_index = items.len();
        items.push(super::limits::seat_cap_take(
            self.table(),
            b,
            p.seat_cap_room,
        )?);
        if p.admitted_from_queue {
            items.push(super::queue::admission_use(self.table(), b, p.now)?);
        }

        let points = self.points_redeemed(b)?;
        let points_index = (!points.is_empty()).then_some(items.len());
        items.extend(points);

        let idem_index = p.idempotency.as_ref().map(|_| items.len());
        if let Some((key, record)) = &p.idempotency {
            items.push(idempotency_put(
                self.table(),
                &b.user_id,
                key,
                record,
                p.now,
            )?);
        }

        let coupon_index = match (&b.coupon, p.coupon_limit) {
            (Some(c), Some(limit)) => {
                let update = Update::builder()
                    .table_name(self.table())
                    .key(keys::PK, s(keys::offer_use_pk(&c.code, &b.user_id)))
                    .key(keys::SK, s(keys::OFFER_USE_SK))
                    .update_expression("ADD uses :one")
                    .condition_expression("attribute_not_exists(uses) OR uses < :limit")
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":limit", n(limit))
                    .build()
                    .map_err(build_err)?;
                items.push(TransactWriteItem::builder().update(update).build());
                Some(items.len() - 1)
            }
            _ => None,
        };

        let reasons = match self.transact(items).await? {
            TransactOutcome::Committed { retries } => return Ok(Placed::Placed { retries }),
            TransactOutcome::ConditionFailed { reasons, .. } => reasons,
        };
        let failed = |i: usize| super::condition_failed(&reasons, i);
        // A retry of a placed booking finds its own seats taken too: the stored answer wins.
        if let Some(old) = failed_guard(&reasons, idem_index) {
            return Ok(Placed::Replay(idempotency_record(old)?));
        }
        // A full rate window wins over everything else: an attempt past the limit is a 429
        // whatever its seats (so ten 409s are followed by a 429, not an eleventh 409).
        if failed(rate_index) {
            return Ok(Placed::RateLimited {
                retry_after_secs: super::limits::retry_after(p.now),
            });
        }
        let taken = failed_seat_ids(&reasons, &seats);
        if !taken.is_empty() {
            return Ok(Placed::SeatsTaken(taken));
        }
        if failed(cap_index) {
            return Ok(Placed::SeatCapReached);
        }
        if coupon_index.is_some_and(failed) {
            return Ok(Placed::CouponLimitReached);
        }
        if let Some(i) = points_index.filter(|i| failed(*i)) {
            return Ok(Placed::NotEnoughPoints {
                balance: super::loyalty::balance_found(reasons.get(i)),
            });
        }
        Err(StoreError::Other(
            "booking transaction cancelled for an unknown reason".into(),
        ))
    }

    /// A counter sale (`domain::channel::counter_sale`): `sell_outright` with the seller's
    /// idempotency record.
    pub async fn sell_at_counter(
        &self,
        booking: &Booking,
        idempotency: Option<(&str, IdempotencyRecord)>,
        now: i64,
    ) -> Result<SoldOutright<IdempotencyRecord>, StoreError> {
        let guard = idempotency
            .map(|(key, record)| idempotency_put(self.table(), &booking.user_id, key, &record, now))
            .transpose()?;
        self.sell_outright(booking, guard, now)
            .await?
            .read_replay(idempotency_record)
    }

    /// Seats sold outright (a counter sale, an external platform's block): every seat put SOLD
    /// under a hold's condition, the CONFIRMED booking, the sale on the show's sold counter (which
    /// refuses a cancelled show) and `guard` (a conditional Put naming the request: its idempotency
    /// or external reference record), in one transaction: all or none.
    pub(super) async fn sell_outright(
        &self,
        booking: &Booking,
        guard: Option<TransactWriteItem>,
        now: i64,
    ) -> Result<SoldOutright<Item>, StoreError> {
        let seats = booking.seat_places();
        let mut items = Vec::with_capacity(seats.len() + 3);
        for seat in &seats {
            items.push(sell_free_seat(
                self.table(),
                &booking.show_id,
                seat,
                &booking.booking_id,
                booking.source,
                now,
            )?);
        }
        items.push(super::tx_put(
            self.table(),
            serde_dynamo::to_item(booking_item(booking))?,
            Some("attribute_not_exists(pk)"),
        )?);
        let sale_index = items.len();
        items.push(self.sale_count(booking, true)?);
        let guard_index = guard.as_ref().map(|_| items.len());
        items.extend(guard);
        let reasons = match self.transact(items).await? {
            TransactOutcome::Committed { .. } => return Ok(SoldOutright::Sold),
            TransactOutcome::ConditionFailed { reasons, .. } => reasons,
        };
        // A repeated request finds its own seats taken too: the stored answer wins.
        if let Some(old) = failed_guard(&reasons, guard_index) {
            return Ok(SoldOutright::Replay(old));
        }
        let taken = failed_seat_ids(&reasons, &seats);
        if !taken.is_empty() {
            return Ok(SoldOutright::Refused(SaleRefused::SeatsTaken(taken)));
        }
        if super::condition_failed(&reasons, sale_index) {
            return Ok(SoldOutright::Refused(SaleRefused::ShowNotScheduled));
        }
        Err(StoreError::Other(
            "sale transaction cancelled for an unknown reason".into(),
        ))
    }

    pub async fn get_booking(&self, booking_id: &str) -> Result<Option<Booking>, StoreError> {
        let item: Option<BookingItem> = self
            .get_as(keys::booking_pk(booking_id), keys::BOOKING_SK, true)
            .await?;
        Ok(item.map(|i| i.booking))
    }

    /// A user's bookings, newest first.
    pub async fn list_user_bookings(
        &self,
        user_id: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Booking>, StoreError> {
        let names = super::catalog::GSI1_KEY_NAMES;
        let (items, next_cursor) = self
            .query_page_desc(
                Some(keys::GSI1),
                &names,
                "gsi1pk",
                keys::user_bookings_gsi1pk(user_id),
                limit,
                cursor,
            )
            .await?;
        let items = items
            .into_iter()
            .map(|i| Ok(serde_dynamo::from_item::<_, BookingItem>(i)?.booking))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page { items, next_cursor })
    }

    /// `PAYMENT_PENDING → CANCELLED` (or another move out of PAYMENT_PENDING): the booking update
    /// conditioned on its status, the release of every seat this booking still holds, and the
    /// coupon use given back, in one transaction. Seats another booking has taken since the hold
    /// expired are left alone. The outbox entries of the move's events are written with it.
    /// `Ok(false)` when the booking was no longer PAYMENT_PENDING.
    pub async fn release_pending(
        &self,
        booking: &Booking,
        transition: Transition,
        at: &str,
        outbox: &[super::outbox::OutboxEntry],
    ) -> Result<bool, StoreError> {
        Ok(self
            .release_pending_with(booking, transition, at, &[], self.outbox_puts(outbox)?)
            .await?
            == Release::Done)
    }

    /// `release_pending` with extra attributes set on the booking and extra items in the
    /// transaction (a processed-event marker, outbox entries).
    pub(crate) async fn release_pending_with(
        &self,
        booking: &Booking,
        transition: Transition,
        at: &str,
        extra_sets: &[(&str, AttributeValue)],
        extra_items: Vec<TransactWriteItem>,
    ) -> Result<Release, StoreError> {
        let mut seats = booking.seat_places();
        for _ in 0..=booking.seats.len() {
            let mut items = vec![self.transition_update(booking, transition, at, extra_sets)?];
            for seat in &seats {
                let delete = Delete::builder()
                    .table_name(self.table())
                    .key(keys::PK, s(keys::seat_pk(&booking.show_id, seat.block)))
                    .key(keys::SK, s(keys::seat_sk(&seat.seat_id)))
                    .condition_expression(super::HELD_BY_BOOKING)
                    .expression_attribute_names("#state", "state")
                    .expression_attribute_values(":b", s(booking.booking_id.clone()))
                    .expression_attribute_values(":held", s(super::catalog::HELD))
                    .build()
                    .map_err(build_err)?;
                items.push(TransactWriteItem::builder().delete(delete).build());
            }
            let extra_start = items.len();
            items.extend(extra_items.iter().cloned());
            if let Some(c) = booking.coupon.as_ref().filter(|c| c.limited) {
                let update = Update::builder()
                    .table_name(self.table())
                    .key(keys::PK, s(keys::offer_use_pk(&c.code, &booking.user_id)))
                    .key(keys::SK, s(keys::OFFER_USE_SK))
                    .update_expression("ADD uses :minus")
                    .condition_expression("uses > :zero")
                    .expression_attribute_values(":minus", n(-1))
                    .expression_attribute_values(":zero", n(0))
                    .build()
                    .map_err(build_err)?;
                items.push(TransactWriteItem::builder().update(update).build());
            }
            items.extend(super::limits::seat_cap_release(self.table(), booking)?);
            items.extend(self.points_given_back(booking, at)?);
            match self.transact(items).await? {
                TransactOutcome::Committed { .. } => return Ok(Release::Done),
                TransactOutcome::ConditionFailed { reasons, .. } => {
                    let failed = |i: usize| super::condition_failed(&reasons, i);
                    if (extra_start..extra_start + extra_items.len()).any(failed) {
                        return Ok(Release::ExtraFailed);
                    }
                    if failed(0) {
                        return Ok(Release::NotInState);
                    }
                    let gone = failed_seat_ids(&reasons[1..], &seats);
                    if gone.is_empty() {
                        return Err(StoreError::Other(
                            "release transaction cancelled for an unknown reason".into(),
                        ));
                    }
                    seats.retain(|s| !gone.contains(&s.seat_id));
                }
            }
        }
        Err(StoreError::Other("release did not converge".into()))
    }

    /// The conditional booking update of a transition (status, timestamps, leaving the pending GSI).
    pub(crate) fn transition_update(
        &self,
        booking: &Booking,
        t: Transition,
        at: &str,
        extra_sets: &[(&str, AttributeValue)],
    ) -> Result<TransactWriteItem, StoreError> {
        let stamp = match t.to() {
            BookingStatus::Confirmed => "confirmed_at",
            BookingStatus::Cancelled => "cancelled_at",
            _ => "updated_at",
        };
        let mut sets = format!("#status = :to, {stamp} = :at");
        let mut update = Update::builder()
            .table_name(self.table())
            .key(keys::PK, s(keys::booking_pk(&booking.booking_id)))
            .key(keys::SK, s(keys::BOOKING_SK));
        for (i, (attr, value)) in extra_sets.iter().enumerate() {
            sets.push_str(&format!(", {attr} = :x{i}"));
            update = update.expression_attribute_values(format!(":x{i}"), value.clone());
        }
        // Leaving PAYMENT_PENDING leaves the pending index; a confirmed booking joins the
        // reminder index (by show start) instead.
        let index = if t.to() == BookingStatus::Confirmed {
            update = update
                .expression_attribute_values(
                    ":rp",
                    s(keys::reminder_gsi2pk(
                        &booking.show_start,
                        reminder_shard(&booking.booking_id),
                    )),
                )
                .expression_attribute_values(
                    ":rs",
                    s(keys::reminder_gsi2sk(
                        &booking.show_start,
                        &booking.booking_id,
                    )),
                );
            ", gsi2pk = :rp, gsi2sk = :rs"
        } else {
            " REMOVE gsi2pk, gsi2sk"
        };
        let update = update
            .update_expression(format!("SET {sets}{index}"))
            .condition_expression("#status = :from")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(t.to().as_str()))
            .expression_attribute_values(":from", s(t.from().as_str()))
            .expression_attribute_values(":at", s(at))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build_err)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

impl Store {
    /// A stored idempotent response, if the key was used.
    pub async fn get_idempotency(
        &self,
        user_id: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let item: Option<IdempotencyItem> = self
            .get_as(
                keys::idempotency_pk(user_id, key),
                keys::IDEMPOTENCY_SK,
                true,
            )
            .await?;
        Ok(item.map(|i| i.record))
    }
}
