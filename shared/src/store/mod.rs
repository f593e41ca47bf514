//! DynamoDB single-table access. This module owns every key format and every condition
//! expression; functions call these methods and never build keys themselves.

pub mod bookings;
pub mod catalog;
pub mod channels;
pub mod cities;
pub mod cursor;
pub mod inbox;
pub mod keys;
pub mod limits;
pub mod loyalty;
pub mod offers;
pub mod outbox;
pub mod payments;
pub mod queue;
pub mod refunds;
pub mod seats;
pub mod sweeps;
pub mod users;

use crate::error::ApiError;
use aws_sdk_dynamodb::{
    error::{ProvideErrorMetadata, SdkError},
    operation::{
        query::builders::QueryFluentBuilder, transact_write_items::TransactWriteItemsError,
    },
    types::{AttributeValue, CancellationReason, TransactWriteItem},
    Client,
};
use aws_smithy_types::error::display::DisplayErrorContext;
use std::{collections::HashMap, time::Duration};
use ulid::Ulid;

pub type Item = HashMap<String, AttributeValue>;

/// Where the next page of a batched read starts: opaque outside the store (the SDK's key map
/// stays inside it).
#[derive(Debug, Clone)]
pub struct PageStart(Item);

impl PageStart {
    /// The next page's start from a Query's `LastEvaluatedKey` (none once the read is complete).
    pub(crate) fn after(last_evaluated_key: Option<Item>) -> Option<Self> {
        last_evaluated_key.filter(|k| !k.is_empty()).map(PageStart)
    }
}

/// The `ExclusiveStartKey` of a page.
pub(crate) fn start_key(start: Option<PageStart>) -> Option<Item> {
    start.map(|PageStart(key)| key)
}
pub use catalog::Page;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttling, timeouts, connection failures: worth retrying later (503).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store error: {0}")]
    Other(String),
    #[error("stored item is malformed: {0}")]
    Corrupt(String),
    /// A page cursor the caller sent that is not one of this listing's (a 400).
    #[error("cursor is not valid for this listing.")]
    BadCursor,
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => ApiError::ServiceUnavailable(m),
            StoreError::BadCursor => ApiError::validation(StoreError::BadCursor.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<serde_dynamo::Error> for StoreError {
    fn from(e: serde_dynamo::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// Error codes DynamoDB uses for "slow down" and for its own passing failures.
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
];

/// Classifies an SDK failure by its kind and error code (never by its message text).
pub(crate) fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let retryable = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        SdkError::ServiceError(se) => se
            .err()
            .code()
            .is_some_and(|c| RETRYABLE_CODES.contains(&c)),
        _ => false,
    };
    let text = DisplayErrorContext(&err).to_string();
    if retryable {
        StoreError::Unavailable(text)
    } else {
        StoreError::Other(text)
    }
}

/// The single-item writes whose condition can fail, each telling its failed condition by type.
pub(crate) trait ConditionalWrite {
    fn condition_failed(&self) -> bool;
}

impl ConditionalWrite for aws_sdk_dynamodb::operation::put_item::PutItemError {
    fn condition_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

impl ConditionalWrite for aws_sdk_dynamodb::operation::update_item::UpdateItemError {
    fn condition_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

impl ConditionalWrite for aws_sdk_dynamodb::operation::delete_item::DeleteItemError {
    fn condition_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

/// Whether a conditional write took effect: `Ok(false)` when its condition failed (told by the
/// error's type), the error otherwise.
pub(crate) fn conditional<O, E, R>(out: Result<O, SdkError<E, R>>) -> Result<bool, StoreError>
where
    E: ConditionalWrite + ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match out {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(E::condition_failed) => Ok(false),
        Err(e) => Err(classify(e)),
    }
}

/// Every item a Query matches, page after page (DynamoDB answers at most 1 MB per call): the one
/// place the store follows `LastEvaluatedKey` to the end, through the SDK's own paginator.
pub(crate) async fn query_all(query: QueryFluentBuilder) -> Result<Vec<Item>, StoreError> {
    query
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(classify)
}

/// The outcome of a conditional transaction.
#[derive(Debug)]
pub enum TransactOutcome {
    Committed {
        retries: u32,
    },
    /// A condition failed. One reason per item, in request order (`code` is `ConditionalCheckFailed`
    /// for the items whose condition failed, `None` for the others).
    ConditionFailed {
        reasons: Vec<CancellationReason>,
        retries: u32,
    },
}

/// How many times `Store::transact` sends a transaction that keeps meeting a `TransactionConflict`
/// before it gives up with `StoreError::Unavailable` (a 503, or a message left for redelivery).
pub const TRANSACTION_ATTEMPTS: u32 = 4;

#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Runs one TransactWriteItems; retries only a `TransactionConflict` (another transaction touched
    /// an item at the same moment), with jittered exponential backoff. A failed condition is returned,
    /// never retried.
    pub async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<TransactOutcome, StoreError> {
        let mut retries = 0;
        // The SDK retries a timed-out attempt with the same request: with this token DynamoDB
        // answers that retry with the first attempt's outcome instead of evaluating it again
        // against its own writes (holds would still recover through their idempotency record;
        // the other transactions through their markers, at the price of an error). Renewed only
        // after a cancellation, which wrote nothing.
        let mut token = Ulid::new().to_string();
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(&token)
                .send()
                .await;
            match result {
                Ok(_) => return Ok(TransactOutcome::Committed { retries }),
                Err(SdkError::ServiceError(se))
                    if matches!(
                        se.err(),
                        TransactWriteItemsError::TransactionCanceledException(_)
                    ) =>
                {
                    let reasons = match se.err() {
                        TransactWriteItemsError::TransactionCanceledException(tc) => {
                            tc.cancellation_reasons().to_vec()
                        }
                        _ => Vec::new(),
                    };
                    let conflicted = reasons
                        .iter()
                        .any(|r| r.code() == Some("TransactionConflict"));
                    let condition_failed = reasons
                        .iter()
                        .any(|r| r.code() == Some("ConditionalCheckFailed"));
                    if condition_failed {
                        return Ok(TransactOutcome::ConditionFailed { reasons, retries });
                    }
                    if conflicted && retries + 1 < TRANSACTION_ATTEMPTS {
                        retries += 1;
                        token = Ulid::new().to_string();
                        backoff(retries).await;
                        continue;
                    }
                    let codes: Vec<_> =
                        reasons.iter().map(|r| r.code().unwrap_or("None")).collect();
                    return Err(StoreError::Unavailable(format!(
                        "transaction cancelled: {codes:?}"
                    )));
                }
                Err(SdkError::ServiceError(se))
                    if matches!(
                        se.err(),
                        TransactWriteItemsError::TransactionInProgressException(_)
                    ) =>
                {
                    if retries + 1 < TRANSACTION_ATTEMPTS {
                        retries += 1;
                        backoff(retries).await;
                        continue;
                    }
                    return Err(StoreError::Unavailable("transaction in progress".into()));
                }
                Err(e) => return Err(classify(e)),
            }
        }
    }
}

/// Full-jitter exponential backoff: up to 10, 20, 40 ms.
async fn backoff(attempt: u32) {
    use rand::Rng;
    let cap_ms = 10u64 << attempt.saturating_sub(1).min(6);
    let ms = rand::thread_rng().gen_range(1..=cap_ms);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// The condition of every write to a seat a booking holds: still held by that booking (whatever
/// its hold time: see the late-payment policy in `domain::payment`). Binds `#state`, `:b`, `:held`.
/// The rule `domain::seat::can_sell` states (a conformance test holds them equal).
pub const HELD_BY_BOOKING: &str = "booking_id = :b AND #state = :held";

/// The same for a seat sold to a booking. Binds `#state`, `:b`, `:sold`.
pub(crate) const SOLD_TO_BOOKING: &str = "booking_id = :b AND #state = :sold";

/// Whether item `i` of a cancelled transaction failed its condition.
pub(crate) fn condition_failed(reasons: &[CancellationReason], i: usize) -> bool {
    reasons
        .get(i)
        .is_some_and(|r| r.code() == Some("ConditionalCheckFailed"))
}

/// An SDK builder's error (a required field left unset): a bug of ours, never the caller's.
/// The Put of `item` inside a transaction, under `condition` (none: unconditional, for an item
/// whose write is made once by the transaction's other conditions).
pub(crate) fn tx_put(
    table: &str,
    item: Item,
    condition: Option<&str>,
) -> Result<TransactWriteItem, StoreError> {
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_owned))
        .build()
        .map_err(build_err)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

pub(crate) fn build_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(e.to_string())
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A number attribute of an item (`None` when the item or the attribute is absent).
pub(crate) fn number_attr(item: Option<&Item>, attr: &str) -> Option<i64> {
    item.and_then(|i| i.get(attr))
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

impl Store {
    /// One number attribute of one item, read consistently (a counter, a balance): `None` when
    /// the item or the attribute is absent.
    pub(crate) async fn read_number(
        &self,
        pk: String,
        sk: &str,
        attr: &str,
    ) -> Result<Option<i64>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(number_attr(out.item.as_ref(), attr))
    }
}

impl Store {
    /// One item by key, deserialised; `None` when absent.
    pub(crate) async fn get_as<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
        consistent: bool,
    ) -> Result<Option<T>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.item.map(serde_dynamo::from_item).transpose()?)
    }

    /// Every item of one partition of the table (`index: None`) or of an index, following pages.
    pub(crate) async fn query_all(
        &self,
        index: Option<&str>,
        pk_attr: &str,
        pk: String,
    ) -> Result<Vec<Item>, StoreError> {
        query_all(self.partition_query(index, pk_attr, pk)).await
    }

    /// Every item of one table partition, following pages, read consistently.
    pub(crate) async fn query_all_consistent(&self, pk: String) -> Result<Vec<Item>, StoreError> {
        query_all(
            self.partition_query(None, keys::PK, pk)
                .consistent_read(true),
        )
        .await
    }

    /// A Query of one partition of the table or of an index.
    fn partition_query(
        &self,
        index: Option<&str>,
        pk_attr: &str,
        pk: String,
    ) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(str::to_owned))
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", pk_attr)
            .expression_attribute_values(":pk", s(pk))
    }
}

impl Store {
    /// One page of a partition, newest (highest sort key) first, with a cursor bound to that
    /// partition; `names` are the key attributes of the table or index read, `pk_attr` its
    /// partition key.
    pub(crate) async fn query_page_desc(
        &self,
        index: Option<&str>,
        names: &[&str],
        pk_attr: &str,
        pk: String,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<(Vec<Item>, Option<String>), StoreError> {
        let start = cursor
            .map(|c| cursor::decode(c, names, pk_attr, &pk))
            .transpose()?;
        let out = self
            .partition_query(index, pk_attr, pk)
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        let next = out
            .last_evaluated_key
            .filter(|k| !k.is_empty())
            .as_ref()
            .and_then(cursor::encode);
        Ok((out.items.unwrap_or_default(), next))
    }
}
