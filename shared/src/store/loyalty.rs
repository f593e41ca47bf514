//! Loyalty balances and their ledger (`domain::loyalty`). A customer's balance is one item
//! (`keys::points_balance_pk`) and each move of a booking's points one ledger entry
//! (`keys::points_ledger_pk`, keyed by the move's time, booking and move). Every move rides in
//! the transaction of the booking's own transition (the hold, the confirmation, the release, the
//! refund), so it is written exactly once and with the booking, and no balance condition is ever
//! skipped: a redemption is conditional on `balance >= :n`, a take-back on the balance it was
//! computed from.

use super::{build_err, keys, n, s, Page, Store, StoreError};
use crate::domain::{
    booking::Booking,
    loyalty::{reversal, BookingPoints, LedgerEntry, Move},
};
use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct EntryItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    entry: LedgerEntry,
}

/// A customer's points: the balance and a page of the ledger, newest entry first.
pub struct Points {
    pub balance: i64,
    pub entries: Page<LedgerEntry>,
}

const BALANCE: &str = "balance";

/// The balance a cancelled redemption found (its ALL_OLD item), for the customer's 409.
pub(crate) fn balance_found(reason: Option<&aws_sdk_dynamodb::types::CancellationReason>) -> i64 {
    super::number_attr(reason.and_then(|r| r.item()), BALANCE).unwrap_or(0)
}

impl Store {
    fn entry_put(
        &self,
        booking: &Booking,
        mv: Move,
        points: i64,
        at: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let item = EntryItem {
            pk: keys::points_ledger_pk(&booking.user_id),
            // Only the order within `at`'s second comes from the system clock: each entry is
            // written once, by its booking's transition, so its key needs no determinism.
            sk: keys::points_ledger_sk(
                at,
                chrono::Utc::now().timestamp_subsec_millis().into(),
                &booking.booking_id,
                mv.seq(),
            ),
            entry: LedgerEntry {
                entry_type: mv.entry_type(),
                points,
                booking_id: booking.booking_id.clone(),
                created_at: at.to_owned(),
            },
        };
        super::tx_put(self.table(), serde_dynamo::to_item(item)?, None)
    }

    fn balance_update(&self, user_id: &str) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder()
            .table_name(self.table())
            .key(keys::PK, s(keys::points_balance_pk(user_id)))
            .key(keys::SK, s(keys::POINTS_BALANCE_SK))
    }

    /// A booking's points moved by `delta`, unconditionally (an earning, a give-back: adding
    /// never takes a balance below zero; the booking's own transition makes it happen once).
    fn points_added(
        &self,
        booking: &Booking,
        mv: Move,
        delta: i64,
        at: &str,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let update = self
            .balance_update(&booking.user_id)
            .update_expression("ADD balance :delta")
            .expression_attribute_values(":delta", n(delta))
            .build()
            .map_err(build_err)?;
        Ok(vec![
            TransactWriteItem::builder().update(update).build(),
            self.entry_put(booking, mv, delta, at)?,
        ])
    }

    /// The hold's redemption (first the balance, then its entry; none when it redeems nothing):
    /// the balance is taken down only while it holds every point redeemed, so concurrent
    /// redemptions never take it below zero (a cancelled one reports the balance it found).
    pub(crate) fn points_redeemed(
        &self,
        booking: &Booking,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let redeemed = booking.points.map_or(0, |p| p.redeemed);
        if redeemed <= 0 {
            return Ok(Vec::new());
        }
        let update = self
            .balance_update(&booking.user_id)
            .update_expression("ADD balance :minus")
            .condition_expression("balance >= :n")
            .expression_attribute_values(":minus", n(-redeemed))
            .expression_attribute_values(":n", n(redeemed))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build_err)?;
        Ok(vec![
            TransactWriteItem::builder().update(update).build(),
            self.entry_put(booking, Move::Redeem, -redeemed, &booking.created_at)?,
        ])
    }

    /// What confirming the booking earns, in its confirmation's transaction.
    pub(crate) fn points_earned(
        &self,
        booking: &Booking,
        at: &str,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        match booking.points.map_or(0, |p| p.earns) {
            earns if earns > 0 => self.points_added(booking, Move::Earn, earns, at),
            _ => Ok(Vec::new()),
        }
    }

    /// A pending booking's redeemed points given back, in the transaction that releases its
    /// seats (expired, failed, cancelled).
    pub(crate) fn points_given_back(
        &self,
        booking: &Booking,
        at: &str,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        match booking.points.map_or(0, |p| p.redeemed) {
            redeemed if redeemed > 0 => self.points_added(booking, Move::GiveBack, redeemed, at),
            _ => Ok(Vec::new()),
        }
    }

    /// A refunded confirmed booking's points (`loyalty::reversal`), in the refund's transaction:
    /// the balance set to what the reversal leaves of `seen` (the balance read before, `None`
    /// when there was no balance item), conditional on it still being `seen`, so a concurrent
    /// move makes the refund's transaction try again with a fresh read (`reversal_seen`) rather
    /// than take back what is no longer there. Empty when nothing moves.
    pub(crate) fn points_reversed(
        &self,
        booking: &Booking,
        seen: Option<i64>,
        at: &str,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let points: BookingPoints = booking.points.unwrap_or_default();
        let moves = reversal(points, true, seen.unwrap_or(0));
        if moves.is_empty() {
            return Ok(Vec::new());
        }
        let after = seen.unwrap_or(0).max(0) + moves.iter().map(|(_, p)| p).sum::<i64>();
        let update = self
            .balance_update(&booking.user_id)
            .update_expression("SET balance = :after")
            .expression_attribute_values(":after", n(after));
        let update = match seen {
            Some(b) => update
                .condition_expression("balance = :seen")
                .expression_attribute_values(":seen", n(b)),
            None => update.condition_expression("attribute_not_exists(balance)"),
        };
        let mut items = vec![TransactWriteItem::builder()
            .update(update.build().map_err(build_err)?)
            .build()];
        for (mv, delta) in moves {
            items.push(self.entry_put(booking, mv, delta, at)?);
        }
        Ok(items)
    }

    /// The balance a refund's reversal starts from (`None` when the customer has none), read
    /// only when the booking has points to reverse.
    pub(crate) async fn reversal_seen(&self, booking: &Booking) -> Result<Option<i64>, StoreError> {
        if booking.points.is_none() {
            return Ok(None);
        }
        self.balance(&booking.user_id).await
    }

    /// A customer's balance, read consistently (`None` before the first point).
    async fn balance(&self, user_id: &str) -> Result<Option<i64>, StoreError> {
        self.read_number(
            keys::points_balance_pk(user_id),
            keys::POINTS_BALANCE_SK,
            BALANCE,
        )
        .await
    }

    /// A customer's balance and a page of the ledger, newest entry first (both read at once).
    pub async fn points(
        &self,
        user_id: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Points, StoreError> {
        let balance = self.balance(user_id);
        let entries = self.query_page_desc(
            None,
            &[keys::PK, keys::SK],
            keys::PK,
            keys::points_ledger_pk(user_id),
            limit,
            cursor,
        );
        let (balance, entries) = tokio::join!(balance, entries);
        let balance = balance?.unwrap_or(0);
        let (items, next_cursor) = entries?;
        let items = items
            .into_iter()
            .map(|i| Ok(serde_dynamo::from_item::<_, EntryItem>(i)?.entry))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Points {
            balance,
            entries: Page { items, next_cursor },
        })
    }
}
