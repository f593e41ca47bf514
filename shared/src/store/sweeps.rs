//! The reads behind the scheduled work: pending bookings past their hold (sharded sparse GSI2),
//! confirmed bookings whose show starts soon (GSI2 by show-start hour), marking reminders.

use super::{
    bookings::pending_shard_keys, classify, conditional, keys, query_all, s, start_key, PageStart,
    Store, StoreError,
};
use crate::domain::booking::{Booking, BookingStatus};
use serde::Deserialize;

#[derive(Deserialize)]
struct BookingOnly {
    #[serde(flatten)]
    booking: Booking,
}

impl Store {
    /// Up to `limit` bookings of one pending shard whose hold ended before `now`, oldest first.
    pub async fn expired_pending(
        &self,
        shard: u32,
        now: i64,
        limit: i32,
        start: Option<PageStart>,
    ) -> Result<(Vec<Booking>, Option<PageStart>), StoreError> {
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(keys::GSI2)
            .key_condition_expression("gsi2pk = :p AND gsi2sk < :cut")
            .expression_attribute_values(":p", s(keys::pending_gsi2pk(shard)))
            .expression_attribute_values(":cut", s(format!("{now:012}#")))
            .limit(limit)
            .set_exclusive_start_key(start_key(start))
            .send()
            .await
            .map_err(classify)?;
        let mut bookings = Vec::new();
        for item in out.items.unwrap_or_default() {
            bookings.push(serde_dynamo::from_item::<_, BookingOnly>(item)?.booking);
        }
        Ok((bookings, PageStart::after(out.last_evaluated_key)))
    }

    /// The oldest hold end still waiting in the pending index (for the sweep-lag metric).
    pub async fn oldest_pending_expiry(&self) -> Result<Option<i64>, StoreError> {
        let mut oldest: Option<i64> = None;
        for shard in pending_shard_keys() {
            let out = self
                .client()
                .query()
                .table_name(self.table())
                .index_name(keys::GSI2)
                .key_condition_expression("gsi2pk = :p")
                .expression_attribute_values(":p", s(shard))
                .projection_expression("gsi2sk")
                .limit(1)
                .send()
                .await
                .map_err(classify)?;
            let first = out.items.unwrap_or_default().into_iter().next();
            if let Some(t) = first.and_then(|i| {
                i.get("gsi2sk")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|v| v.get(..12)?.parse::<i64>().ok())
            }) {
                oldest = Some(oldest.map_or(t, |o| o.min(t)));
            }
        }
        Ok(oldest)
    }

    /// Confirmed, not yet reminded bookings whose show starts in `[from, to]` (UTC RFC 3339).
    pub async fn bookings_starting_between(
        &self,
        from: &str,
        to: &str,
        hours: &[String],
    ) -> Result<Vec<Booking>, StoreError> {
        // Every shard of every hour, all at once.
        let partitions = hours.iter().flat_map(|hour| {
            (0..super::bookings::REMINDER_SHARDS)
                .map(move |shard| keys::reminder_gsi2pk(hour, shard))
        });
        let queries = partitions.map(|partition| {
            let query = self
                .client()
                .query()
                .table_name(self.table())
                .index_name(keys::GSI2)
                .key_condition_expression("gsi2pk = :p AND gsi2sk BETWEEN :from AND :to")
                .expression_attribute_values(":p", s(partition))
                .expression_attribute_values(":from", s(from))
                .expression_attribute_values(":to", s(format!("{to}~")));
            query_all(query)
        });
        let mut found = Vec::new();
        for items in futures::future::try_join_all(queries).await? {
            for item in items {
                let b = serde_dynamo::from_item::<_, BookingOnly>(item)?.booking;
                if b.status == BookingStatus::Confirmed {
                    found.push(b);
                }
            }
        }
        Ok(found)
    }

    /// Takes a reminded booking off the reminder index (once).
    pub async fn mark_reminded(&self, booking_id: &str, at: &str) -> Result<bool, StoreError> {
        let out = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(keys::PK, s(keys::booking_pk(booking_id)))
            .key(keys::SK, s(keys::BOOKING_SK))
            .update_expression("SET reminded_at = :at REMOVE gsi2pk, gsi2sk")
            .condition_expression("attribute_not_exists(reminded_at)")
            .expression_attribute_values(":at", s(at))
            .send()
            .await;
        conditional(out)
    }
}
