//! `expire-holds`, on an EventBridge schedule: moves PAYMENT_PENDING bookings whose hold has
//! passed to EXPIRED and deletes their HELD seats, each in one conditional transaction, so it
//! races safely with a late confirmation, a cancellation, or another sweep. Bounded per run;
//! what is left is picked up by the next run. Then it re-drives the event outbox: domain events
//! whose publish failed after their change committed (`events::redrive`).

use boxoffice::{
    clock::rfc3339,
    domain::booking::Transition,
    events::{booking_event, outbox, publish, redrive, EventKind},
    metrics,
    runtime::{Function, Handler},
    store::bookings::PENDING_SHARDS,
    ApiError, Deps,
};
use serde_json::{json, Value};

/// Bookings a shard may expire in one run (8 shards: at most 800 a run).
pub const MAX_PER_SHARD: usize = 100;

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Event(|deps, event| Box::pin(handler(deps, event))),
    secrets: &[],
};

pub async fn handler(deps: &Deps, _event: Value) -> Result<Value, ApiError> {
    let now = deps.clock.now_epoch();
    let at = rfc3339(deps.clock.now());
    let (mut expired, mut skipped) = (0usize, 0usize);
    for shard in 0..PENDING_SHARDS {
        let mut start = None;
        let mut seen = 0;
        loop {
            let (due, next) = deps.store.expired_pending(shard, now, 25, start).await?;
            let mut events = Vec::new();
            for booking in &due {
                seen += 1;
                let mine = outbox(
                    deps,
                    vec![
                        booking_event(EventKind::BookingExpired, booking),
                        booking_event(EventKind::SeatsReleased, booking),
                    ],
                );
                if deps
                    .store
                    .release_pending(booking, Transition::Expire, &at, &mine)
                    .await?
                {
                    expired += 1;
                    events.extend(mine);
                } else {
                    skipped += 1; // confirmed, cancelled or expired meanwhile
                }
            }
            publish(deps, &events).await;
            match next {
                Some(k) if seen < MAX_PER_SHARD => start = Some(k),
                _ => break,
            }
        }
    }
    let republished = redrive(deps).await?;
    let lag = deps
        .store
        .oldest_pending_expiry()
        .await?
        .map(|oldest| (now - oldest).max(0))
        .unwrap_or(0);
    metrics::emit(&[
        ("BookingsExpired", expired as f64, "Count"),
        ("SweepLag", lag as f64, "Seconds"),
        ("EventsRedriven", republished as f64, "Count"),
    ]);
    tracing::info!(
        expired,
        skipped,
        republished,
        lag_seconds = lag,
        "sweep done"
    );
    Ok(
        json!({ "expired": expired, "skipped": skipped, "lagSeconds": lag, "republished": republished }),
    )
}
