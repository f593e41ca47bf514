//! The transactional outbox. Every transaction that changes state and owes the bus a domain event
//! carries one unconditional Put per event (`outbox_puts`): the event exists exactly when the
//! change committed. The producer publishes after the commit and deletes what EventBridge took
//! (`delete_outbox`, conditioned on the write's token); the re-drive (`due_outbox`, on the sparse,
//! sharded GSI1 keys) publishes whatever is still there after a grace period.

use super::{classify, conditional, keys, query_all, s, start_key, PageStart, Store, StoreError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};

/// GSI1 partitions the outbox spreads over: each takes a put and a delete per event, so 16 keep
/// every one far under a partition's 1,000 writes/s at thousands of events a second.
pub const OUTBOX_SHARDS: u32 = 16;

/// One event as it waits in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The event's id (`<DetailType>#<subject>`): the item's key, and what consumers dedupe by.
    pub event_id: String,
    pub detail_type: String,
    /// The event's detail, JSON.
    pub detail: String,
    /// Epoch seconds of the change (the re-drive's grace period counts from it).
    pub created_at: i64,
    /// This write's own id: a producer deletes only the item it wrote, never a later write of
    /// the same event id that is still unpublished.
    pub token: String,
}

#[derive(Serialize, Deserialize)]
struct OutboxItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    event_id: String,
    detail_type: String,
    detail: String,
    created_at: i64,
    token: String,
}

pub fn outbox_shard(event_id: &str) -> u32 {
    event_id
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32))
        % OUTBOX_SHARDS
}

impl From<OutboxItem> for OutboxEntry {
    fn from(i: OutboxItem) -> Self {
        OutboxEntry {
            event_id: i.event_id,
            detail_type: i.detail_type,
            detail: i.detail,
            created_at: i.created_at,
            token: i.token,
        }
    }
}

impl Store {
    /// The outbox Puts for a transaction: unconditional (an event id written again, e.g. a second
    /// refund of one booking, replaces the waiting copy; consumers dedupe by the id anyway).
    pub(crate) fn outbox_puts(
        &self,
        entries: &[OutboxEntry],
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        entries
            .iter()
            .map(|e| {
                let item = OutboxItem {
                    pk: keys::outbox_pk(&e.event_id),
                    sk: keys::OUTBOX_SK.into(),
                    gsi1pk: keys::outbox_gsi1pk(outbox_shard(&e.event_id)),
                    gsi1sk: keys::outbox_gsi1sk(e.created_at, &e.event_id),
                    event_id: e.event_id.clone(),
                    detail_type: e.detail_type.clone(),
                    detail: e.detail.clone(),
                    created_at: e.created_at,
                    token: e.token.clone(),
                };
                super::tx_put(self.table(), serde_dynamo::to_item(item)?, None)
            })
            .collect()
    }

    /// Deletes a published event's item, only if it is still this write (`false` otherwise:
    /// already deleted, or replaced by a newer write that still waits for its publish).
    pub async fn delete_outbox(&self, e: &OutboxEntry) -> Result<bool, StoreError> {
        let out = self
            .client()
            .delete_item()
            .table_name(self.table())
            .key(keys::PK, s(keys::outbox_pk(&e.event_id)))
            .key(keys::SK, s(keys::OUTBOX_SK))
            .condition_expression("#token = :t")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":t", s(e.token.clone()))
            .send()
            .await;
        conditional(out)
    }

    /// Up to `limit` events of one outbox shard written before `created_before`, oldest first.
    pub async fn due_outbox(
        &self,
        shard: u32,
        created_before: i64,
        limit: i32,
        start: Option<PageStart>,
    ) -> Result<(Vec<OutboxEntry>, Option<PageStart>), StoreError> {
        let out = self
            .due_outbox_query(shard, created_before)
            .limit(limit)
            .set_exclusive_start_key(start_key(start))
            .send()
            .await
            .map_err(classify)?;
        let mut due = Vec::new();
        for item in out.items.unwrap_or_default() {
            due.push(serde_dynamo::from_item::<_, OutboxItem>(item)?.into());
        }
        Ok((due, PageStart::after(out.last_evaluated_key)))
    }

    /// Every event still waiting in the outbox, whatever its age (for tests and operators).
    pub async fn outbox_waiting(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut all = Vec::new();
        for shard in 0..OUTBOX_SHARDS {
            for item in query_all(self.due_outbox_query(shard, i64::MAX)).await? {
                all.push(serde_dynamo::from_item::<_, OutboxItem>(item)?.into());
            }
        }
        Ok(all)
    }

    /// The outbox events of one shard written before `created_before`, oldest first.
    fn due_outbox_query(&self, shard: u32, created_before: i64) -> QueryFluentBuilder {
        self.client()
            .query()
            .table_name(self.table())
            .index_name(keys::GSI1)
            .key_condition_expression("gsi1pk = :p AND gsi1sk < :cut")
            .expression_attribute_values(":p", s(keys::outbox_gsi1pk(shard)))
            .expression_attribute_values(":cut", s(keys::outbox_gsi1sk_before(created_before)))
    }
}
