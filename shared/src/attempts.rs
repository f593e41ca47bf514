//! Group commit of the rate-window counts of holds that did not commit (a 409 from the memory of
//! taken seats, a cancelled transaction): each is one small write to its own customer's window
//! (`store::limits`). On Lambda Managed Instances an execution environment serves many requests
//! at once, as the local stack's containers do (`infra/local/src/registry.rs`), and during a rush
//! most of them are such losers. The counts that arrive while one write is in flight go together
//! in the next: one TransactWriteItems of up to `MAX_BATCH` customers' windows, so a loser pays a
//! share of a request instead of one of its own.
//!
//! Nothing waits for a batch to fill: a count with no write in flight goes at once, alone, the one
//! UpdateItem it always was (on Lambda, one request per container, always so). Whoever sent a
//! batch hands the next one to the first count still waiting, so no count's answer waits for more
//! than the batch before its own. A batch that does not commit whole (a full window, a conflict)
//! counted nothing, and each of its attempts is then counted alone, so every answer (the 409, or a
//! 429 for a full window) is exactly the one it would have had alone.

use crate::store::{limits::Attempt, Store, StoreError};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// Attempts per batch at most (TransactWriteItems takes 100 items; a batch costs 2 write units
/// per item, as any transaction, against 1 for an UpdateItem alone).
pub const MAX_BATCH: usize = 50;

#[derive(Debug, Default)]
pub struct AttemptCounts {
    pending: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    /// Counts waiting for the next batch, in arrival order.
    waiting: Vec<(Attempt, oneshot::Sender<Turn>)>,
    /// A batch (or a count alone) is in flight: new counts wait for the next.
    sending: bool,
}

/// What a waiting count hears.
#[derive(Debug)]
enum Turn {
    /// Its batch committed: counted.
    Counted,
    /// Its batch did not commit: count it alone.
    Alone,
    /// It sends the next batch.
    Send,
}

impl AttemptCounts {
    /// Counts `attempt`: `Ok(false)` only for a `within` attempt whose window is full.
    pub async fn count(&self, store: &Store, attempt: Attempt) -> Result<bool, StoreError> {
        let (tell, heard) = oneshot::channel();
        let sends_now = {
            let Ok(mut pending) = self.pending.lock() else {
                return store.count_attempt(&attempt).await;
            };
            if pending.sending {
                pending.waiting.push((attempt.clone(), tell));
                false
            } else {
                pending.sending = true;
                true
            }
        };
        let turn = if sends_now {
            Turn::Send
        } else {
            // A sender that went away without a word (its request cancelled): count alone.
            heard.await.unwrap_or(Turn::Alone)
        };
        match turn {
            Turn::Counted => Ok(true),
            Turn::Alone => store.count_attempt(&attempt).await,
            Turn::Send => self.send(store, attempt).await,
        }
    }

    /// Sends `own` with the counts waiting now, then hands the next batch on (`Handoff`).
    async fn send(&self, store: &Store, own: Attempt) -> Result<bool, StoreError> {
        let _handoff = Handoff(self);
        let others = self.take_batch(&own);
        if others.is_empty() {
            return store.count_attempt(&own).await;
        }
        let attempts: Vec<Attempt> = std::iter::once(own.clone())
            .chain(others.iter().map(|(a, _)| a.clone()))
            .collect();
        // A batch that failed (a full window, an error) counted nothing: each is counted alone.
        let together = store
            .count_attempts_together(&attempts)
            .await
            .unwrap_or(false);
        let turn = || if together { Turn::Counted } else { Turn::Alone };
        for (_, tell) in others {
            // A waiter that went away needs no answer.
            let _ = tell.send(turn());
        }
        if together {
            Ok(true)
        } else {
            store.count_attempt(&own).await
        }
    }

    /// Up to `MAX_BATCH - 1` waiting counts to go with `own`, one per window item (a second count
    /// of the same window waits for the next batch).
    fn take_batch(&self, own: &Attempt) -> Vec<(Attempt, oneshot::Sender<Turn>)> {
        let Ok(mut pending) = self.pending.lock() else {
            return Vec::new();
        };
        let mut keys = vec![own.window_key()];
        let mut batch = Vec::new();
        let mut rest = Vec::new();
        for (attempt, tell) in pending.waiting.drain(..) {
            let key = attempt.window_key();
            if batch.len() + 1 < MAX_BATCH && !keys.contains(&key) {
                keys.push(key);
                batch.push((attempt, tell));
            } else {
                rest.push((attempt, tell));
            }
        }
        pending.waiting = rest;
        batch
    }
}

/// When a sender is done (or its request was dropped mid-flight), the first count still waiting
/// sends the next batch; with none waiting, the next count to arrive goes at once.
struct Handoff<'a>(&'a AttemptCounts);

impl Drop for Handoff<'_> {
    fn drop(&mut self) {
        let Ok(mut pending) = self.0.pending.lock() else {
            return;
        };
        while !pending.waiting.is_empty() {
            let (_, tell) = pending.waiting.remove(0);
            if tell.send(Turn::Send).is_ok() {
                return;
            }
        }
        pending.sending = false;
    }
}
