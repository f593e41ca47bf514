//! Other platforms' access: partner API keys (`domain::api_key`) and the blocks of seats they
//! sold elsewhere, each found again by its external reference.

use super::{
    bookings::SoldOutright, build_err, conditional, keys, s, Store, StoreError, TransactOutcome,
};
use crate::domain::{
    api_key::ApiKey,
    booking::{Booking, Transition},
};
use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct ApiKeyItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    key: ApiKey,
}

/// An external platform's block: which booking holds its seats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalRef {
    pub show_id: String,
    pub external_ref: String,
    pub booking_id: String,
    pub seat_ids: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct ExternalRefItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    block: ExternalRef,
}

/// What revoking a key did.
#[derive(Debug, PartialEq, Eq)]
pub enum Revoked {
    /// Revoked now, or before (revoking is idempotent).
    Done,
    /// No such key, or another partner's.
    NotFound,
}

impl Store {
    pub async fn put_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let item = ApiKeyItem {
            pk: keys::api_key_pk(&key.key_id),
            sk: keys::API_KEY_SK.into(),
            key: key.clone(),
        };
        self.put_new(&item).await
    }

    /// The key, read consistently (a revoked key stops at once).
    pub async fn get_api_key(&self, key_id: &str) -> Result<Option<ApiKey>, StoreError> {
        let item: Option<ApiKeyItem> = self
            .get_as(keys::api_key_pk(key_id), keys::API_KEY_SK, true)
            .await?;
        Ok(item.map(|i| i.key))
    }

    /// Revokes `partner_id`'s key `key_id` at `at` (its first revocation time stays).
    pub async fn revoke_api_key(
        &self,
        key_id: &str,
        partner_id: &str,
        at: &str,
    ) -> Result<Revoked, StoreError> {
        let out = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(keys::PK, s(keys::api_key_pk(key_id)))
            .key(keys::SK, s(keys::API_KEY_SK))
            .update_expression("SET revoked_at = if_not_exists(revoked_at, :at)")
            .condition_expression("partner_id = :p")
            .expression_attribute_values(":p", s(partner_id))
            .expression_attribute_values(":at", s(at))
            .send()
            .await;
        Ok(if conditional(out)? {
            Revoked::Done
        } else {
            Revoked::NotFound
        })
    }

    /// Blocks `booking`'s seats for an external platform (`domain::channel::external_block`):
    /// the seats sold outright under a hold's condition, the booking, the sold counter and the
    /// reference's record, in one transaction; a reference used before answers its block.
    pub async fn block_external(
        &self,
        booking: &Booking,
        external_ref: &str,
        now: i64,
    ) -> Result<SoldOutright<ExternalRef>, StoreError> {
        let block = ExternalRef {
            show_id: booking.show_id.clone(),
            external_ref: external_ref.to_owned(),
            booking_id: booking.booking_id.clone(),
            seat_ids: booking.seat_ids(),
        };
        let item = ExternalRefItem {
            pk: keys::external_ref_pk(&booking.show_id, external_ref),
            sk: keys::EXTERNAL_REF_SK.into(),
            block,
        };
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(serde_dynamo::to_item(&item)?))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build_err)?;
        let guard = TransactWriteItem::builder().put(put).build();
        self.sell_outright(booking, Some(guard), now)
            .await?
            .read_replay(|old| Ok(serde_dynamo::from_item::<_, ExternalRefItem>(old)?.block))
    }

    /// The block of `external_ref` on `show_id`, if there is one.
    pub async fn get_external_ref(
        &self,
        show_id: &str,
        external_ref: &str,
    ) -> Result<Option<ExternalRef>, StoreError> {
        let item: Option<ExternalRefItem> = self
            .get_as(
                keys::external_ref_pk(show_id, external_ref),
                keys::EXTERNAL_REF_SK,
                true,
            )
            .await?;
        Ok(item.map(|i| i.block))
    }

    /// Gives a block's seats back: `CONFIRMED → CANCELLED` (no refund: the money was taken
    /// elsewhere), each seat deleted while sold to it, the sold counter down and the outbox
    /// entries of its events, in one transaction; `false` when the booking was no longer
    /// CONFIRMED (released before).
    pub async fn release_external(
        &self,
        booking: &Booking,
        at: &str,
        outbox: &[super::outbox::OutboxEntry],
    ) -> Result<bool, StoreError> {
        let mut items =
            vec![self.transition_update(booking, Transition::CancelConfirmed, at, &[])?];
        for seat in booking.seat_places() {
            items.push(self.delete_sold_seat(booking, &seat)?);
        }
        items.push(self.sale_count(booking, false)?);
        items.extend(self.outbox_puts(outbox)?);
        Ok(matches!(
            self.transact(items).await?,
            TransactOutcome::Committed { .. }
        ))
    }
}
