//! Notification inboxes and waitlists.

use super::{classify, conditional, keys, s, Page, Store, StoreError};
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::{
    operation::put_item::PutItemError,
    types::{AttributeValue, ReturnValuesOnConditionCheckFailure},
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub notification_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_id: Option<String>,
    pub message: String,
    pub created_at: String,
}

#[derive(Serialize, Deserialize)]
struct NotificationItem {
    pk: String,
    sk: String,
    user_id: String,
    /// Sent through the channel (items from before this field count as sent).
    #[serde(default = "sent")]
    delivered: bool,
    /// While a delivery is under way: when it started (epoch seconds). One invocation at a time
    /// delivers, so concurrent duplicates of an event never send twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claimed_at: Option<i64>,
    #[serde(flatten)]
    notification: Notification,
}

fn sent() -> bool {
    true
}

/// What writing a notification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxWrite {
    /// First write, claimed for delivery by this writer: deliver it.
    New,
    /// Written before, not delivered yet (its delivery failed, or another invocation is
    /// delivering it right now): deliver it only after `claim_delivery` succeeds.
    Undelivered,
    /// Written and delivered before: nothing to do.
    Delivered,
}

impl InboxWrite {
    pub fn needs_delivery(self) -> bool {
        self != InboxWrite::Delivered
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitlistEntry {
    pub show_id: String,
    pub user_id: String,
    pub seats: i64,
    pub joined_at: String,
    #[serde(default)]
    pub notified: bool,
    /// The seats-released event that notified this entry: a redelivery of that event selects the
    /// same entries again instead of moving on down the line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_by: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct WaitlistItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    entry: WaitlistEntry,
}

impl Store {
    /// Writes a notification (claimed for delivery at `now`) unless this one (same id and time)
    /// is already there; then says whether the earlier copy was delivered, so a redelivered event
    /// can retry a failed send without a second inbox entry.
    pub async fn put_notification(
        &self,
        user_id: &str,
        n: &Notification,
        now: i64,
    ) -> Result<InboxWrite, StoreError> {
        let item = NotificationItem {
            pk: keys::inbox_pk(user_id),
            sk: keys::inbox_sk(&n.created_at, &n.notification_id),
            user_id: user_id.to_owned(),
            delivered: false,
            claimed_at: Some(now),
            notification: n.clone(),
        };
        let out = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(serde_dynamo::to_item(&item)?))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match out {
            Ok(_) => Ok(InboxWrite::New),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    let delivered = c
                        .item()
                        .and_then(|old| old.get("delivered"))
                        .and_then(|v| v.as_bool().ok())
                        .copied()
                        .unwrap_or(true);
                    Ok(if delivered {
                        InboxWrite::Delivered
                    } else {
                        InboxWrite::Undelivered
                    })
                }
                _ => Err(classify(e)),
            },
        }
    }

    /// Claims an undelivered notification's delivery at `now`: `false` when it was delivered
    /// meanwhile or another delivery claimed it after `stale_before` (that one is still running).
    pub async fn claim_delivery(
        &self,
        user_id: &str,
        n: &Notification,
        now: i64,
        stale_before: i64,
    ) -> Result<bool, StoreError> {
        let out = self
            .inbox_update(user_id, n)
            .update_expression("SET claimed_at = :now")
            .condition_expression(
                "delivered = :f AND (attribute_not_exists(claimed_at) OR claimed_at < :stale)",
            )
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":stale", AttributeValue::N(stale_before.to_string()))
            .expression_attribute_values(":f", AttributeValue::Bool(false))
            .send()
            .await;
        conditional(out)
    }

    /// Gives up a delivery claim after a failed send, so the next delivery of the event sends it.
    pub async fn release_delivery(
        &self,
        user_id: &str,
        n: &Notification,
    ) -> Result<(), StoreError> {
        self.inbox_update(user_id, n)
            .update_expression("REMOVE claimed_at")
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Records that a notification left through its channel.
    pub async fn mark_notification_delivered(
        &self,
        user_id: &str,
        n: &Notification,
    ) -> Result<(), StoreError> {
        self.inbox_update(user_id, n)
            .update_expression("SET delivered = :t REMOVE claimed_at")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// A user's notifications, newest first.
    pub async fn list_notifications(
        &self,
        user_id: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Notification>, StoreError> {
        let (items, next_cursor) = self
            .query_page_desc(
                None,
                &[keys::PK, keys::SK],
                keys::PK,
                keys::inbox_pk(user_id),
                limit,
                cursor,
            )
            .await?;
        let items = items
            .into_iter()
            .map(|i| Ok(serde_dynamo::from_item::<_, NotificationItem>(i)?.notification))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page { items, next_cursor })
    }

    /// Joins (or re-joins, keeping the original place) a show's waitlist.
    pub async fn join_waitlist(&self, entry: &WaitlistEntry) -> Result<WaitlistEntry, StoreError> {
        let item = WaitlistItem {
            pk: keys::waitlist_pk(&entry.show_id),
            sk: keys::waitlist_sk(&entry.user_id),
            entry: entry.clone(),
        };
        let out = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(serde_dynamo::to_item(&item)?))
            .condition_expression("attribute_not_exists(pk) OR notified = :t")
            .expression_attribute_values(":t", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match out {
            Ok(_) => Ok(entry.clone()),
            Err(e) => match e.as_service_error() {
                Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c)) => {
                    let old = c.item().cloned().unwrap_or_default();
                    Ok(serde_dynamo::from_item::<_, WaitlistItem>(old)?.entry)
                }
                _ => Err(classify(e)),
            },
        }
    }

    /// A show's waitlist entries not yet notified (or notified by `event_id`), in the order they joined.
    pub async fn waiting(
        &self,
        show_id: &str,
        event_id: &str,
    ) -> Result<Vec<WaitlistEntry>, StoreError> {
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s(keys::waitlist_pk(show_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let mut entries = Vec::new();
        for item in out.items.unwrap_or_default() {
            let e = serde_dynamo::from_item::<_, WaitlistItem>(item)?.entry;
            if !e.notified || e.notified_by.as_deref() == Some(event_id) {
                entries.push(e);
            }
        }
        entries.sort_by(|a, b| {
            a.joined_at
                .cmp(&b.joined_at)
                .then(a.user_id.cmp(&b.user_id))
        });
        Ok(entries)
    }

    /// Marks an entry notified (once): `false` when another run already did.
    pub async fn mark_waitlist_notified(
        &self,
        show_id: &str,
        user_id: &str,
        event_id: &str,
    ) -> Result<bool, StoreError> {
        let out = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(keys::PK, s(keys::waitlist_pk(show_id)))
            .key(keys::SK, s(keys::waitlist_sk(user_id)))
            .update_expression("SET notified = :t, notified_by = :e")
            .condition_expression("notified = :f OR notified_by = :e")
            .expression_attribute_values(":e", s(event_id))
            .expression_attribute_values(":t", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
            .expression_attribute_values(":f", aws_sdk_dynamodb::types::AttributeValue::Bool(false))
            .send()
            .await;
        conditional(out)
    }
}

impl Store {
    /// An update of one notification of a customer's inbox.
    fn inbox_update(&self, user_id: &str, n: &Notification) -> UpdateItemFluentBuilder {
        self.client()
            .update_item()
            .table_name(self.table())
            .key(keys::PK, s(keys::inbox_pk(user_id)))
            .key(
                keys::SK,
                s(keys::inbox_sk(&n.created_at, &n.notification_id)),
            )
    }
}
