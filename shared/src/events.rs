//! Domain events on the EventBridge bus (source `boxoffice`), for notifications and the waitlist,
//! through a transactional outbox (`store::outbox`): a producer turns its events into outbox
//! entries (`outbox`), writes them in the same transaction as the change, and after the commit
//! `publish`es them, deleting each one EventBridge accepted. A publish that fails never fails
//! the committed change: its entries stay, and the re-drive (`redrive`, run by `expire-holds`
//! every minute) publishes them once they are older than `OUTBOX_GRACE_SECONDS`. Delivery is
//! at least once; consumers dedupe by `eventId`, and `occurredAt` (the commit's time) is the
//! same however often an event is published.

use crate::{
    domain::booking::Booking,
    store::outbox::{OutboxEntry, OUTBOX_SHARDS},
    ApiError, Deps,
};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::{json, Value};

/// How old an outbox entry must be before the re-drive publishes it: longer than any producer
/// runs (the longest function timeout is expire-holds' 60 s), so the re-drive never races a
/// producer that is still publishing its own events.
pub const OUTBOX_GRACE_SECONDS: i64 = 120;

/// Outbox entries a re-drive publishes per shard and run (16 shards: at most 1,600 a run).
pub const REDRIVE_PER_SHARD: usize = 100;

pub const SOURCE: &str = "boxoffice";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    BookingConfirmed,
    BookingCancelled,
    BookingExpired,
    PaymentFailed,
    RefundInitiated,
    ShowCancelled,
    SeatsReleased,
    QueueAdmitted,
}

impl EventKind {
    pub fn detail_type(self) -> &'static str {
        match self {
            EventKind::BookingConfirmed => "BookingConfirmed",
            EventKind::BookingCancelled => "BookingCancelled",
            EventKind::BookingExpired => "BookingExpired",
            EventKind::PaymentFailed => "PaymentFailed",
            EventKind::RefundInitiated => "RefundInitiated",
            EventKind::ShowCancelled => "ShowCancelled",
            EventKind::SeatsReleased => "SeatsReleased",
            EventKind::QueueAdmitted => "QueueAdmitted",
        }
    }
}

#[derive(Debug, Clone)]
pub struct DomainEvent {
    pub kind: EventKind,
    /// Unique per event: the outbox key and the consumers' dedupe id (also `detail.eventId`).
    pub event_id: String,
    pub detail: Value,
}

/// The show-level event of a cancelled show.
pub fn show_cancelled(show_id: &str) -> DomainEvent {
    let event_id = format!("ShowCancelled#{show_id}");
    DomainEvent {
        kind: EventKind::ShowCancelled,
        detail: json!({ "eventId": event_id, "showId": show_id }),
        event_id,
    }
}

/// A waiting customer's turn has come (the waiting room, issue 16): one event per customer
/// and show, so however often it is published the inbox gets one notification.
pub fn queue_admitted(
    entry: &crate::store::queue::QueueEntry,
    place: u64,
    book_by: i64,
) -> DomainEvent {
    let event_id = format!("QueueAdmitted#{}#{}", entry.show_id, entry.user_id);
    DomainEvent {
        kind: EventKind::QueueAdmitted,
        detail: json!({
            "eventId": event_id,
            "userId": entry.user_id,
            "showId": entry.show_id,
            "place": place,
            "bookBy": chrono::DateTime::from_timestamp(book_by, 0).map(crate::clock::rfc3339),
        }),
        event_id,
    }
}

/// An event about a booking; `eventId` lets consumers process it exactly once.
pub fn booking_event(kind: EventKind, booking: &Booking) -> DomainEvent {
    let event_id = format!("{}#{}", kind.detail_type(), booking.booking_id);
    DomainEvent {
        kind,
        detail: json!({
            "eventId": event_id,
            "bookingId": booking.booking_id,
            "userId": booking.user_id,
            "showId": booking.show_id,
            "theatreId": booking.theatre_id,
            "seatIds": booking.seat_ids(),
            "amount": booking.pricing.total,
            "currency": booking.pricing.currency,
        }),
        event_id,
    }
}

/// The outbox entries of `events`, stamped with the change's time (`occurredAt` in the detail,
/// and the EventBridge event's time): to be written in the change's transaction.
pub fn outbox(deps: &Deps, events: Vec<DomainEvent>) -> Vec<OutboxEntry> {
    let now = deps.clock.now();
    let occurred = crate::clock::rfc3339(now);
    events
        .into_iter()
        .map(|mut e| {
            if let Some(d) = e.detail.as_object_mut() {
                d.insert("occurredAt".into(), Value::String(occurred.clone()));
            }
            OutboxEntry {
                event_id: e.event_id,
                detail_type: e.kind.detail_type().to_owned(),
                detail: e.detail.to_string(),
                created_at: now.timestamp(),
                token: ulid::Ulid::new().to_string(),
            }
        })
        .collect()
}

/// Publishes committed outbox entries and deletes each one EventBridge accepted; returns how
/// many it published. What fails stays in the outbox for the re-drive: logged (alarmable), never
/// an error of the change that committed.
pub async fn publish(deps: &Deps, entries: &[OutboxEntry]) -> usize {
    let mut published = Vec::new();
    for chunk in entries.chunks(10) {
        let request: Vec<PutEventsRequestEntry> = chunk
            .iter()
            .map(|e| {
                PutEventsRequestEntry::builder()
                    .source(SOURCE)
                    .detail_type(&e.detail_type)
                    .detail(&e.detail)
                    .time(aws_smithy_types::DateTime::from_secs(e.created_at))
                    .event_bus_name(&deps.config.event_bus_name)
                    .build()
            })
            .collect();
        match deps
            .eventbridge
            .put_events()
            .set_entries(Some(request))
            .send()
            .await
        {
            Ok(out) => {
                let failed = out.failed_entry_count();
                let results = out.entries();
                for (i, e) in chunk.iter().enumerate() {
                    // Results come in request order; an entry without one is taken as accepted
                    // only when nothing failed.
                    let accepted = results
                        .get(i)
                        .map_or(failed == 0, |r| r.error_code().is_none());
                    if accepted {
                        published.push(e);
                    }
                }
                if failed > 0 {
                    tracing::error!(
                        failed,
                        metric = "EventPublishFailures",
                        "some domain events were not published; they wait in the outbox"
                    );
                }
            }
            Err(e) => {
                tracing::error!(error = %aws_smithy_types::error::display::DisplayErrorContext(&e), metric = "EventPublishFailures", "domain events were not published; they wait in the outbox");
            }
        }
    }
    // One round trip: the deletes go out together.
    let deleted =
        futures::future::join_all(published.iter().map(|e| deps.store.delete_outbox(e))).await;
    for (e, r) in published.iter().zip(deleted) {
        if let Err(err) = r {
            // Published but still in the outbox: the re-drive publishes it again (consumers dedupe).
            tracing::warn!(event_id = %e.event_id, error = %err, "published event left in the outbox");
        }
    }
    published.len()
}

/// Publishes every outbox entry older than the grace period (bounded per shard and run; what is
/// left goes next run). Returns how many it published.
pub async fn redrive(deps: &Deps) -> Result<usize, ApiError> {
    let before = deps.clock.now_epoch() - OUTBOX_GRACE_SECONDS;
    let mut published = 0;
    for shard in 0..OUTBOX_SHARDS {
        let mut start = None;
        let mut seen = 0;
        loop {
            let (due, next) = deps.store.due_outbox(shard, before, 25, start).await?;
            seen += due.len();
            if !due.is_empty() {
                tracing::warn!(
                    shard,
                    events = due.len(),
                    "re-driving unpublished domain events"
                );
            }
            published += publish(deps, &due).await;
            match next {
                Some(k) if seen < REDRIVE_PER_SHARD => start = Some(k),
                _ => break,
            }
        }
    }
    Ok(published)
}
