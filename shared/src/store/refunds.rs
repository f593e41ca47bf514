//! Refund records: the source of truth the refund worker pays from. Written (conditionally: never
//! over another refund) in the same transaction that decides the refund, so a refund exists
//! exactly when its decision committed; the `RefundInitiated` event in the same transaction's
//! outbox is the worker's request, re-driven like every event until published.

use super::{
    build_err, catalog::SOLD, condition_failed, conditional, keys, n, s, seats::failed_seat_ids,
    Store, StoreError, SOLD_TO_BOOKING,
};
use crate::domain::{
    booking::{Booking, PaymentInfo, RefundInfo, Transition},
    layout::SeatPlace,
    payment::RefundReason,
    refund,
};
use aws_sdk_dynamodb::{
    operation::update_item::builders::UpdateItemFluentBuilder,
    types::{builders::PutBuilder, Delete, Put, TransactWriteItem},
};
use serde::{Deserialize, Serialize};

/// A refund record as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRecord {
    pub refund_id: String,
    pub booking_id: String,
    pub payment_intent_id: String,
    pub provider: String,
    pub amount: i64,
    pub currency: String,
    pub reason: String,
    /// `INITIATED`, `SUCCEEDED` or `FAILED` (`domain::refund`).
    pub status: String,
    pub created_at: String,
    /// Epoch seconds of the live claim of a worker that is paying it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_refund_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<String>,
}

impl RefundRecord {
    /// The record of a booking's refund in `status`: `INITIATED`, owed and for the worker to pay,
    /// or settled (the provider's own refund, with its id and time). `None` for a refund that
    /// names no record id, intent or provider.
    fn of(booking_id: &str, currency: &str, refund: &RefundInfo, status: &str) -> Option<Self> {
        let settled = status != refund::INITIATED;
        Some(RefundRecord {
            refund_id: refund.refund_id.clone()?,
            booking_id: booking_id.to_owned(),
            payment_intent_id: refund.payment_intent_id.clone()?,
            provider: refund.provider.clone()?,
            amount: refund.amount,
            currency: refund
                .currency
                .clone()
                .unwrap_or_else(|| currency.to_owned()),
            reason: refund.reason.clone(),
            status: status.into(),
            created_at: refund.initiated_at.clone(),
            claimed_at: None,
            provider_refund_id: refund.provider_refund_id.clone().filter(|_| settled),
            failure: None,
            settled_at: refund.settled_at.clone().filter(|_| settled),
        })
    }
}

/// What `refund_by_provider` did.
#[derive(Debug, PartialEq, Eq)]
pub enum ProviderRefund {
    Done,
    /// This provider event was processed before.
    Duplicate,
    /// The booking is no longer CONFIRMED (cancelled, refunded meanwhile): decide again.
    NotConfirmed,
    /// The intent's refund record exists (ours, or the provider's of as much or more): the
    /// provider's event confirms it and changes nothing else.
    RefundExists,
    /// A seat of the CONFIRMED booking is not SOLD to it: a broken invariant, for an operator.
    SeatsNotSold(Vec<String>),
}

#[derive(Serialize)]
struct RefundItem<'a> {
    pk: String,
    sk: &'static str,
    #[serde(flatten)]
    record: &'a RefundRecord,
}

impl Store {
    /// The refund record's Put for the transaction that decides `refund` on `booking`, if it is a
    /// refund to pay (an initiated one with a record id) or one the provider made on its own
    /// (`provider_refund_put`). Conditional: a refund id is written once, so a second decision of
    /// the same refund fails its transaction instead of resetting a paid refund.
    pub(crate) fn refund_put(
        &self,
        booking: &Booking,
        refund: &RefundInfo,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        self.refund_put_for(&booking.booking_id, &booking.pricing.currency, refund)
    }

    /// `refund_put` by the booking's id alone (a payment for a booking we do not have).
    fn refund_put_for(
        &self,
        booking_id: &str,
        currency: &str,
        refund: &RefundInfo,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        if refund.status != refund::INITIATED {
            return self.provider_refund_put(booking_id, currency, refund);
        }
        let Some(record) = RefundRecord::of(booking_id, currency, refund, refund::INITIATED) else {
            return Ok(None);
        };
        let put = self
            .refund_item_put(&record)?
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_err)?;
        Ok(Some(TransactWriteItem::builder().put(put).build()))
    }

    /// The record of a refund the provider made on its own (`RefundReason::ByProvider`, settled:
    /// nothing for the worker to pay), for the transaction that records it; `None` for any other
    /// settled refund (ours: its record exists). Never over a refund of ours for the intent (paid
    /// or being paid by the worker), and over the provider's earlier refund only with a larger
    /// amount (Stripe's figure is cumulative), so a late delivery of an older partial refund never
    /// lowers it: either way the transaction fails on this item.
    fn provider_refund_put(
        &self,
        booking_id: &str,
        currency: &str,
        refund: &RefundInfo,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        let by_provider = RefundReason::ByProvider.as_str();
        if refund.status != refund::SUCCEEDED || refund.reason != by_provider {
            return Ok(None);
        }
        let Some(record) = RefundRecord::of(booking_id, currency, refund, refund::SUCCEEDED) else {
            return Ok(None);
        };
        let put = self
            .refund_item_put(&record)?
            .condition_expression(
                "attribute_not_exists(pk) OR (#reason = :by_provider AND #amount < :amount)",
            )
            .expression_attribute_names("#reason", "reason")
            .expression_attribute_names("#amount", "amount")
            .expression_attribute_values(":by_provider", s(by_provider))
            .expression_attribute_values(":amount", n(refund.amount))
            .build()
            .map_err(build_err)?;
        Ok(Some(TransactWriteItem::builder().put(put).build()))
    }

    /// An update of a refund record.
    fn refund_update(&self, refund_id: &str) -> UpdateItemFluentBuilder {
        self.client()
            .update_item()
            .table_name(self.table())
            .key(keys::PK, s(keys::refund_pk(refund_id)))
            .key(keys::SK, s(keys::REFUND_SK))
    }

    /// The Put of a refund record's item, for the caller's condition.
    fn refund_item_put(&self, record: &RefundRecord) -> Result<PutBuilder, StoreError> {
        let item = RefundItem {
            pk: keys::refund_pk(&record.refund_id),
            sk: keys::REFUND_SK,
            record,
        };
        Ok(Put::builder()
            .table_name(self.table())
            .set_item(Some(serde_dynamo::to_item(item)?)))
    }

    /// `CONFIRMED → REFUNDED` (`Decision::RefundedByProvider`), one transaction: the booking
    /// (conditional on CONFIRMED) with its payment and refund, the provider's refund record
    /// (`provider_refund_put`), with `free_seats` each seat deleted while still SOLD to this
    /// booking and the sale taken off the listing, the customer's seat cap given back, the
    /// event's marker and the outbox entries of its events.
    #[allow(clippy::too_many_arguments)]
    pub async fn refund_by_provider(
        &self,
        booking: &Booking,
        payment: &PaymentInfo,
        refund: &RefundInfo,
        free_seats: bool,
        marker: &super::payments::Marker<'_>,
        at: &str,
        outbox: &[super::outbox::OutboxEntry],
    ) -> Result<ProviderRefund, StoreError> {
        let extra = [
            ("payment", super::payments::av(payment)?),
            ("refund", super::payments::av(refund)?),
        ];
        let mut items =
            vec![self.transition_update(booking, Transition::RefundByProvider, at, &extra)?];
        let seats = if free_seats {
            booking.seat_places()
        } else {
            Vec::new()
        };
        for seat in &seats {
            items.push(self.delete_sold_seat(booking, seat)?);
        }
        if free_seats {
            items.push(self.sale_count(booking, false)?);
        }
        items.extend(super::limits::seat_cap_release(self.table(), booking)?);
        let refund_index = items.len();
        items.push(
            self.provider_refund_put(&booking.booking_id, &booking.pricing.currency, refund)?
                .ok_or_else(|| {
                    StoreError::Other("refund_by_provider needs the provider's refund".into())
                })?,
        );
        let marker_index = items.len();
        items.push(self.marker(marker)?);
        items.extend(self.outbox_puts(outbox)?);
        let reasons = match self.transact_with_points(booking, items, at).await? {
            super::TransactOutcome::Committed { .. } => return Ok(ProviderRefund::Done),
            super::TransactOutcome::ConditionFailed { reasons, .. } => reasons,
        };
        Ok(if condition_failed(&reasons, marker_index) {
            ProviderRefund::Duplicate
        } else if condition_failed(&reasons, 0) {
            ProviderRefund::NotConfirmed
        } else if condition_failed(&reasons, refund_index) {
            ProviderRefund::RefundExists
        } else {
            ProviderRefund::SeatsNotSold(failed_seat_ids(&reasons[1..], &seats))
        })
    }

    /// Deletes a seat only while it is SOLD to `booking` (as a cancellation of a confirmed booking
    /// frees it): a seat someone else has is never touched.
    pub(super) fn delete_sold_seat(
        &self,
        booking: &Booking,
        seat: &SeatPlace,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(self.table())
            .key(keys::PK, s(keys::seat_pk(&booking.show_id, seat.block)))
            .key(keys::SK, s(keys::seat_sk(&seat.seat_id)))
            .condition_expression(SOLD_TO_BOOKING)
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":b", s(booking.booking_id.clone()))
            .expression_attribute_values(":sold", s(SOLD))
            .build()
            .map_err(build_err)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// The refund of a payment for a booking we do not have, with the provider event's marker
    /// and the refund's event: `false` when the marker says the event was processed before.
    pub async fn record_orphan_refund(
        &self,
        booking_id: &str,
        refund: &RefundInfo,
        marker: &super::payments::Marker<'_>,
        outbox: &[super::outbox::OutboxEntry],
    ) -> Result<bool, StoreError> {
        let mut items = vec![self.marker(marker)?];
        items.extend(self.refund_put_for(booking_id, "", refund)?);
        items.extend(self.outbox_puts(outbox)?);
        Ok(matches!(
            self.transact(items).await?,
            super::TransactOutcome::Committed { .. }
        ))
    }

    pub async fn get_refund(&self, refund_id: &str) -> Result<Option<RefundRecord>, StoreError> {
        self.get_as(keys::refund_pk(refund_id), keys::REFUND_SK, true)
            .await
    }

    /// Claims an unpaid refund for this delivery at `now`: `false` when it is settled or another
    /// delivery holds a live claim (`domain::refund::CLAIM_SECONDS`).
    pub async fn claim_refund(&self, refund_id: &str, now: i64) -> Result<bool, StoreError> {
        let out = self
            .refund_update(refund_id)
            .update_expression("SET claimed_at = :now")
            .condition_expression(
                "#status = :initiated AND (attribute_not_exists(claimed_at) OR claimed_at <= :stale)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":initiated", s(refund::INITIATED))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":stale", n(now - refund::CLAIM_SECONDS))
            .send()
            .await;
        conditional(out)
    }

    /// Gives a claim back (a passing failure: the redelivery pays it at once).
    pub async fn release_refund_claim(
        &self,
        refund_id: &str,
        claimed_at: i64,
    ) -> Result<bool, StoreError> {
        let out = self
            .refund_update(refund_id)
            .update_expression("REMOVE claimed_at")
            .condition_expression("claimed_at = :mine")
            .expression_attribute_values(":mine", n(claimed_at))
            .send()
            .await;
        conditional(out)
    }

    /// Settles a claimed refund (`SUCCEEDED` with the provider's refund id, or `FAILED` with why),
    /// then shows it on the booking. The record is the truth: the booking's copy is updated only
    /// while it still shows this refund.
    pub async fn settle_refund(
        &self,
        record: &RefundRecord,
        status: &str,
        provider_refund_id: Option<&str>,
        failure: Option<&str>,
        at: &str,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .refund_update(&record.refund_id)
            .update_expression(
                "SET #status = :s, settled_at = :at, provider_refund_id = :pr, failure = :f REMOVE claimed_at",
            )
            .condition_expression("#status = :initiated")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":s", s(status))
            .expression_attribute_values(":at", s(at))
            .expression_attribute_values(":initiated", s(refund::INITIATED));
        update = update
            .expression_attribute_values(":pr", opt_s(provider_refund_id))
            .expression_attribute_values(":f", opt_s(failure));
        if !conditional(update.send().await)? {
            return Ok(false);
        }
        let shown = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(keys::PK, s(keys::booking_pk(&record.booking_id)))
            .key(keys::SK, s(keys::BOOKING_SK))
            .update_expression(
                "SET refund.#status = :s, refund.settledAt = :at, refund.providerRefundId = :pr",
            )
            .condition_expression("refund.refundId = :id")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":s", s(status))
            .expression_attribute_values(":at", s(at))
            .expression_attribute_values(":pr", opt_s(provider_refund_id))
            .expression_attribute_values(":id", s(record.refund_id.clone()))
            .send()
            .await;
        if !conditional(shown.map(|_| ()))? {
            tracing::info!(refund_id = %record.refund_id, booking_id = %record.booking_id,
                "the booking shows another refund now; this one is settled on its record");
        }
        Ok(true)
    }
}

fn opt_s(v: Option<&str>) -> aws_sdk_dynamodb::types::AttributeValue {
    match v {
        Some(v) => s(v),
        None => aws_sdk_dynamodb::types::AttributeValue::Null(true),
    }
}
