//! Refunds: one record per (booking, payment intent), paid by the refund worker
//! (`functions/refund-payment`) exactly once in effect.

use sha2::{Digest, Sha256};

pub const INITIATED: &str = "INITIATED";
pub const SUCCEEDED: &str = "SUCCEEDED";
pub const FAILED: &str = "FAILED";

/// How long a worker's claim on a refund holds before another delivery may take it over (the
/// claimer died between claiming and recording): longer than the worker's timeout.
pub const CLAIM_SECONDS: i64 = 120;

/// The refund of `payment_intent_id` on `booking_id`: the same id however often it is decided
/// (a redelivered webhook, a retried cancel), so it is written once and paid once; and the
/// provider's idempotency key.
pub fn refund_id(booking_id: &str, payment_intent_id: &str) -> String {
    let digest = Sha256::digest(format!("{booking_id}\n{payment_intent_id}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    format!("rf_{}", ulid::Ulid::from_bytes(bytes))
}

/// What is owed back: `amount` of `currency` paid on `payment_intent_id` through `provider`
/// (`RefundInfo::initiated` makes the refund of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owed<'a> {
    pub booking_id: &'a str,
    pub payment_intent_id: &'a str,
    pub provider: &'a str,
    pub amount: i64,
    pub currency: &'a str,
}

/// The worker's decision for one delivery of a refund request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Paid or given up before: nothing to do (a duplicate delivery).
    Settled,
    /// Another delivery holds a live claim: let this one go (it is not a failure).
    Claimed,
    /// Claim it, then ask the provider.
    Pay,
}

/// `status` and `claimed_at` (epoch seconds) of the record, at `now`.
pub fn step(status: &str, claimed_at: Option<i64>, now: i64) -> Step {
    match (status, claimed_at) {
        (SUCCEEDED | FAILED, _) => Step::Settled,
        (_, Some(at)) if now < at + CLAIM_SECONDS => Step::Claimed,
        _ => Step::Pay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refund_has_one_id_per_booking_and_intent() {
        let a = refund_id("bk_1", "pi_1");
        assert_eq!(a, refund_id("bk_1", "pi_1"));
        assert_ne!(a, refund_id("bk_1", "pi_2"));
        assert_ne!(a, refund_id("bk_2", "pi_1"));
        assert!(crate::ids::is_id("rf", &a), "{a}");
    }

    #[test]
    fn the_worker_pays_once_and_takes_over_dead_claims() {
        let cases = [
            (SUCCEEDED, None, Step::Settled),
            (FAILED, Some(990), Step::Settled),
            (INITIATED, None, Step::Pay),
            (INITIATED, Some(1_000 - CLAIM_SECONDS + 1), Step::Claimed),
            (INITIATED, Some(1_000 - CLAIM_SECONDS), Step::Pay),
        ];
        for (status, claimed, want) in cases {
            assert_eq!(step(status, claimed, 1_000), want, "{status} {claimed:?}");
        }
    }
}
