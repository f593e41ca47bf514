//! The waiting room's items (issue 16). Nothing that every join touches:
//!
//! | item | pk | sk | written by |
//! |---|---|---|---|
//! | queue entry | `QENTRY#<show>#<customer>` | `QENTRY` | the join (a conditional put, once per customer); the sequencer (place, admission time); the hold (used) |
//! | queue config | `QUEUE#<show>` | `CONFIG` | `PUT /shows/{id}/queue`; sparse GSI1 `QUEUES` lists the queues for the sequencer |
//! | queue progress | `QUEUE#<show>` | `PROGRESS` | the sequencer alone, once a run |
//!
//! An entry carries GSI1 `QUEUE#<show>#<shard>` / `<joinedAt>#<customer>` (256 shards by
//! customer: the join's index write never meets a hot partition; the sequencer reads them in
//! arrival order) and, once placed, GSI2 `QPLACE#<show>#<place / 100>` / `<place>` (the
//! sequencer finds the customers of a range of places).

use super::{build_err, classify, conditional, keys, n, query_all, s, Item, Store, StoreError};
use crate::domain::{
    booking::Booking,
    queue::{QueueConfig, QueueProgress},
};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use futures::{stream, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

/// GSI1 partitions a show's joins spread over: at 100,000 joins/s each takes ~390 index writes/s.
pub const JOIN_SHARDS: u32 = 256;
/// Places per GSI2 partition of a show's placed entries.
pub const PLACE_BLOCK: u64 = 100;
const QUEUES_GSI1PK: &str = "QUEUES";
const CONFIG_SK: &str = "CONFIG";
const PROGRESS_SK: &str = "PROGRESS";
const ENTRY_SK: &str = "QENTRY";
/// Writes the sequencer keeps in flight.
const PARALLEL_WRITES: usize = 32;

fn queue_pk(show_id: &str) -> String {
    format!("QUEUE#{show_id}")
}
fn entry_pk(show_id: &str, user_id: &str) -> String {
    format!("QENTRY#{show_id}#{user_id}")
}
pub fn join_shard(user_id: &str) -> u32 {
    let h = <sha2::Sha256 as sha2::Digest>::digest(user_id.as_bytes());
    u32::from_be_bytes([h[0], h[1], h[2], h[3]]) % JOIN_SHARDS
}
fn shard_gsi1pk(show_id: &str, shard: u32) -> String {
    format!("QUEUE#{show_id}#{shard}")
}
fn arrival_sk(joined_at: i64, user_id: &str) -> String {
    format!("{joined_at:012}#{user_id}")
}
fn place_gsi2pk(show_id: &str, place: u64) -> String {
    format!("QPLACE#{show_id}#{}", place / PLACE_BLOCK)
}
fn place_sk(place: u64) -> String {
    format!("{place:012}")
}

/// A customer's queue entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    pub show_id: String,
    pub user_id: String,
    pub joined_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admitted_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<i64>,
}

impl QueueEntry {
    /// What the admission rules need of an entry.
    pub fn view(&self) -> crate::domain::queue::EntryView {
        crate::domain::queue::EntryView {
            joined_at: self.joined_at,
            place: self.place,
            admitted_at: self.admitted_at,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct EntryItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2sk: Option<String>,
    expires_at: i64,
    #[serde(flatten)]
    entry: QueueEntry,
}

#[derive(Serialize, Deserialize)]
struct ConfigItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    #[serde(flatten)]
    config: QueueConfig,
}

#[derive(Serialize, Deserialize)]
struct ProgressItem {
    pk: String,
    sk: String,
    version: u64,
    #[serde(flatten)]
    progress: QueueProgress,
}

/// A queue as the status and the sequencer read it: one Query of its partition.
#[derive(Debug, Clone, Default)]
pub struct QueueState {
    pub config: Option<QueueConfig>,
    pub progress: QueueProgress,
    /// The progress item's version (the sequencer's optimistic lock).
    pub version: u64,
}

#[derive(Debug)]
pub enum Joined {
    New(QueueEntry),
    /// The customer had joined before: their entry as it is.
    Again(QueueEntry),
}

/// Capacity units one request consumed, as DynamoDB reported them (ReturnConsumedCapacity INDEXES).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Units {
    pub table: f64,
    pub indexes: Vec<(String, f64)>,
}

fn units(c: Option<&ConsumedCapacity>) -> Units {
    let Some(c) = c else {
        return Units::default();
    };
    let table = c.table().and_then(|t| t.capacity_units()).unwrap_or(0.0);
    let mut indexes: Vec<(String, f64)> = c
        .global_secondary_indexes()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.capacity_units().unwrap_or(0.0)))
                .collect()
        })
        .unwrap_or_default();
    indexes.sort_by(|a, b| a.0.cmp(&b.0));
    Units { table, indexes }
}

/// The hold transaction's mark on the customer's queue entry: they used their admission.
pub(crate) fn admission_use(
    table: &str,
    booking: &Booking,
    now: i64,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .key(keys::PK, s(entry_pk(&booking.show_id, &booking.user_id)))
        .key(keys::SK, s(ENTRY_SK))
        .update_expression("SET used_at = if_not_exists(used_at, :now)")
        .expression_attribute_values(":now", n(now))
        .build()
        .map_err(build_err)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

impl Store {
    /// Puts a show in queue mode (or changes its queue): the config and the show's flag in one
    /// transaction. `false` when the show does not exist.
    pub async fn put_queue_config(&self, config: &QueueConfig) -> Result<bool, StoreError> {
        let item = ConfigItem {
            pk: queue_pk(&config.show_id),
            sk: CONFIG_SK.into(),
            gsi1pk: QUEUES_GSI1PK.into(),
            gsi1sk: config.show_id.clone(),
            config: config.clone(),
        };
        let put = super::tx_put(self.table(), serde_dynamo::to_item(item)?, None)?;
        let flag = Update::builder()
            .table_name(self.table())
            .key(keys::PK, s(keys::show_pk(&config.show_id)))
            .key(keys::SK, s(keys::SHOW_SK))
            .update_expression("SET queue_mode = :t")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .build()
            .map_err(build_err)?;
        let items = vec![put, TransactWriteItem::builder().update(flag).build()];
        Ok(matches!(
            self.transact(items).await?,
            super::TransactOutcome::Committed { .. }
        ))
    }

    /// The queue's config and progress: one Query of its two-item partition.
    pub async fn queue_state(&self, show_id: &str) -> Result<QueueState, StoreError> {
        let items = self.query_all(None, keys::PK, queue_pk(show_id)).await?;
        let mut state = QueueState::default();
        for item in items {
            match item
                .get(keys::SK)
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
            {
                Some(CONFIG_SK) => {
                    state.config = Some(serde_dynamo::from_item::<_, ConfigItem>(item)?.config)
                }
                Some(PROGRESS_SK) => {
                    let p: ProgressItem = serde_dynamo::from_item(item)?;
                    state.progress = p.progress;
                    state.version = p.version;
                }
                _ => {}
            }
        }
        Ok(state)
    }

    /// The capacity units of `queue_state`'s Query (the bench's capacity model).
    pub async fn queue_state_units(&self, show_id: &str) -> Result<Units, StoreError> {
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(queue_pk(show_id)))
            .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
            .send()
            .await
            .map_err(classify)?;
        Ok(units(out.consumed_capacity()))
    }

    /// Every queue-mode show's config (the sequencer's work list).
    pub async fn list_queues(&self) -> Result<Vec<QueueConfig>, StoreError> {
        self.query_all(Some(keys::GSI1), "gsi1pk", QUEUES_GSI1PK.into())
            .await?
            .into_iter()
            .map(|i| Ok(serde_dynamo::from_item::<_, ConfigItem>(i)?.config))
            .collect()
    }

    /// Writes the progress (the sequencer's only write of the queue's own items), conditioned on
    /// the version it read: `false` when another run wrote first.
    pub async fn put_progress(
        &self,
        show_id: &str,
        progress: &QueueProgress,
        read_version: u64,
    ) -> Result<bool, StoreError> {
        let item = ProgressItem {
            pk: queue_pk(show_id),
            sk: PROGRESS_SK.into(),
            version: read_version + 1,
            progress: progress.clone(),
        };
        let out = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(serde_dynamo::to_item(item)?))
            .condition_expression("attribute_not_exists(pk) OR version = :v")
            .expression_attribute_values(":v", n(read_version as i64))
            .send()
            .await;
        conditional(out)
    }

    /// Joins the queue once: a conditional put of the customer's own entry. A second join
    /// answers the entry as it is (ALL_OLD), without writing.
    pub async fn join_queue(
        &self,
        show_id: &str,
        user_id: &str,
        joined_at: i64,
        expires_at: i64,
    ) -> Result<(Joined, Units), StoreError> {
        let entry = QueueEntry {
            show_id: show_id.into(),
            user_id: user_id.into(),
            joined_at,
            place: None,
            admitted_at: None,
            used_at: None,
        };
        let item = EntryItem {
            pk: entry_pk(show_id, user_id),
            sk: ENTRY_SK.into(),
            gsi1pk: shard_gsi1pk(show_id, join_shard(user_id)),
            gsi1sk: arrival_sk(joined_at, user_id),
            gsi2pk: None,
            gsi2sk: None,
            expires_at,
            entry: entry.clone(),
        };
        let out = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(serde_dynamo::to_item(item)?))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
            .send()
            .await;
        match out {
            Ok(o) => Ok((Joined::New(entry), units(o.consumed_capacity()))),
            Err(aws_sdk_dynamodb::error::SdkError::ServiceError(se))
                if se.err().is_conditional_check_failed_exception() =>
            {
                let old = match se.err() {
                    aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => {
                        c.item().cloned().unwrap_or_default()
                    }
                    _ => Item::default(),
                };
                let item: EntryItem = serde_dynamo::from_item(old)?;
                Ok((Joined::Again(item.entry), Units::default()))
            }
            Err(e) => Err(classify(e)),
        }
    }

    /// A customer's entry (eventually consistent: the status may lag a write by a moment).
    pub async fn queue_entry(
        &self,
        show_id: &str,
        user_id: &str,
    ) -> Result<(Option<QueueEntry>, Units), StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .key(keys::PK, s(entry_pk(show_id, user_id)))
            .key(keys::SK, s(ENTRY_SK))
            .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
            .send()
            .await
            .map_err(classify)?;
        let entry = out
            .item
            .clone()
            .map(serde_dynamo::from_item::<_, EntryItem>)
            .transpose()?
            .map(|i| i.entry);
        Ok((entry, units(out.consumed_capacity())))
    }

    /// The entries of every shard that joined in `[from, to]` (by join time), from `after` on
    /// (a `(joinedAt, customer)` cursor, itself included), read shard by shard in parallel.
    pub async fn arrivals(
        &self,
        show_id: &str,
        from: i64,
        to: i64,
        after: Option<&(i64, String)>,
    ) -> Result<Vec<QueueEntry>, StoreError> {
        // From the cursor itself (BETWEEN is inclusive): the caller drops what is not after it.
        let lo = match after {
            Some((t, u)) if *t >= from => arrival_sk(*t, u),
            _ => format!("{from:012}#"),
        };
        let hi = format!("{to:012}#~");
        let per_shard = stream::iter(0..JOIN_SHARDS)
            .map(|shard| {
                let (lo, hi) = (lo.clone(), hi.clone());
                async move { self.arrival_shard(show_id, shard, lo, hi).await }
            })
            .buffer_unordered(PARALLEL_WRITES)
            .try_collect::<Vec<_>>()
            .await?;
        Ok(per_shard.into_iter().flatten().collect())
    }

    async fn arrival_shard(
        &self,
        show_id: &str,
        shard: u32,
        lo: String,
        hi: String,
    ) -> Result<Vec<QueueEntry>, StoreError> {
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(keys::GSI1)
            .key_condition_expression("gsi1pk = :pk AND gsi1sk BETWEEN :lo AND :hi")
            .expression_attribute_values(":pk", s(shard_gsi1pk(show_id, shard)))
            .expression_attribute_values(":lo", s(lo))
            .expression_attribute_values(":hi", s(hi));
        query_all(query)
            .await?
            .into_iter()
            .map(|i| -> Result<QueueEntry, StoreError> {
                Ok(serde_dynamo::from_item::<_, EntryItem>(i)?.entry)
            })
            .collect()
    }

    /// Gives each customer their place (idempotent: a place once given never changes).
    pub async fn assign_places(
        &self,
        show_id: &str,
        places: &[(String, u64)],
    ) -> Result<(), StoreError> {
        stream::iter(places.iter().cloned())
            .map(|(user, place)| async move {
                let (user, place) = (&user, &place);
                let out = self
                    .client()
                    .update_item()
                    .table_name(self.table())
                    .key(keys::PK, s(entry_pk(show_id, user)))
                    .key(keys::SK, s(ENTRY_SK))
                    .update_expression("SET place = :p, gsi2pk = :gp, gsi2sk = :gs")
                    .condition_expression(
                        "attribute_exists(pk) AND (attribute_not_exists(place) OR place = :p)",
                    )
                    .expression_attribute_values(":p", n(*place as i64))
                    .expression_attribute_values(":gp", s(place_gsi2pk(show_id, *place)))
                    .expression_attribute_values(":gs", s(place_sk(*place)))
                    .send()
                    .await;
                match out {
                    Ok(_) => Ok(()),
                    Err(aws_sdk_dynamodb::error::SdkError::ServiceError(se))
                        if se.err().is_conditional_check_failed_exception() =>
                    {
                        Err(StoreError::Other(format!(
                            "queue entry of {user} already has another place than {place}"
                        )))
                    }
                    Err(e) => Err(classify(e)),
                }
            })
            .buffer_unordered(PARALLEL_WRITES)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    /// The entries with places in `(after, upto]`, in place order.
    pub async fn entries_by_place(
        &self,
        show_id: &str,
        after: u64,
        upto: u64,
    ) -> Result<Vec<QueueEntry>, StoreError> {
        if upto <= after {
            return Ok(Vec::new());
        }
        let blocks: Vec<u64> = ((after + 1) / PLACE_BLOCK..=upto / PLACE_BLOCK).collect();
        let mut all: Vec<QueueEntry> = stream::iter(blocks)
            .map(|block| async move {
                let pk = format!("QPLACE#{show_id}#{block}");
                self.query_all(Some(keys::GSI2), "gsi2pk", pk).await
            })
            .buffer_unordered(PARALLEL_WRITES)
            .try_collect::<Vec<_>>()
            .await?
            .into_iter()
            .flatten()
            .map(|i| -> Result<QueueEntry, StoreError> {
                Ok(serde_dynamo::from_item::<_, EntryItem>(i)?.entry)
            })
            .collect::<Result<_, StoreError>>()?;
        all.retain(|e| e.place.is_some_and(|p| p > after && p <= upto));
        all.sort_by_key(|e| e.place);
        Ok(all)
    }

    /// Records a customer's admission time with the outbox entry of its notification, in one
    /// transaction, once (`false` when it was recorded before).
    pub async fn record_admission(
        &self,
        entry: &QueueEntry,
        admitted_at: i64,
        outbox: &[super::outbox::OutboxEntry],
    ) -> Result<bool, StoreError> {
        let update = Update::builder()
            .table_name(self.table())
            .key(keys::PK, s(entry_pk(&entry.show_id, &entry.user_id)))
            .key(keys::SK, s(ENTRY_SK))
            .update_expression("SET admitted_at = :at")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(admitted_at)")
            .expression_attribute_values(":at", n(admitted_at))
            .build()
            .map_err(build_err)?;
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        items.extend(self.outbox_puts(outbox)?);
        Ok(matches!(
            self.transact(items).await?,
            super::TransactOutcome::Committed { .. }
        ))
    }
}
