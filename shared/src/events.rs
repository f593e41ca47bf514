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
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    pub const ALL: [EventKind; 8] = [
        EventKind::BookingConfirmed,
        EventKind::BookingCancelled,
        EventKind::BookingExpired,
        EventKind::PaymentFailed,
        EventKind::RefundInitiated,
        EventKind::ShowCancelled,
        EventKind::SeatsReleased,
        EventKind::QueueAdmitted,
    ];

    /// The kind whose `detail-type` this is.
    pub fn named(detail_type: &str) -> Option<EventKind> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.detail_type() == detail_type)
    }

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

/// The detail of every event about one booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookingDetail {
    /// Unique per event: the outbox key and the consumers' dedupe id.
    pub event_id: String,
    pub booking_id: String,
    pub user_id: String,
    pub show_id: String,
    #[serde(default)]
    pub theatre_id: String,
    #[serde(default)]
    pub seat_ids: Vec<String>,
    #[serde(default)]
    pub amount: i64,
    #[serde(default)]
    pub currency: String,
    /// The change's commit time, stamped by `outbox`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<String>,
    /// `RefundInitiated`: the refund record to pay (`store::refunds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
}

/// The detail of the show-level event of a cancelled show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShowDetail {
    pub event_id: String,
    pub show_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<String>,
}

/// The detail of `QueueAdmitted`: a waiting customer's turn to book a queue-mode show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueAdmittedDetail {
    pub event_id: String,
    pub user_id: String,
    pub show_id: String,
    pub place: u64,
    /// When the admission window ends (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub book_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<String>,
}

/// A `ShowCancelled` event is about the show (once) or about one of its bookings (each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ShowCancelledDetail {
    Booking(BookingDetail),
    Show(ShowDetail),
}

/// Every domain event, as producers publish it and consumers read it: the EventBridge event's
/// `detail-type` is the variant, its `detail` the variant's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "detail-type", content = "detail")]
pub enum DomainEvent {
    BookingConfirmed(BookingDetail),
    BookingCancelled(BookingDetail),
    BookingExpired(BookingDetail),
    PaymentFailed(BookingDetail),
    RefundInitiated(BookingDetail),
    ShowCancelled(ShowCancelledDetail),
    SeatsReleased(BookingDetail),
    QueueAdmitted(QueueAdmittedDetail),
}

/// The booking detail of an event (`&` or `&mut`), if it has one.
macro_rules! booking_detail {
    ($event:expr) => {
        match $event {
            DomainEvent::BookingConfirmed(d)
            | DomainEvent::BookingCancelled(d)
            | DomainEvent::BookingExpired(d)
            | DomainEvent::PaymentFailed(d)
            | DomainEvent::RefundInitiated(d)
            | DomainEvent::SeatsReleased(d)
            | DomainEvent::ShowCancelled(ShowCancelledDetail::Booking(d)) => Some(d),
            DomainEvent::ShowCancelled(ShowCancelledDetail::Show(_))
            | DomainEvent::QueueAdmitted(_) => None,
        }
    };
}

impl DomainEvent {
    pub fn kind(&self) -> EventKind {
        match self {
            DomainEvent::BookingConfirmed(_) => EventKind::BookingConfirmed,
            DomainEvent::BookingCancelled(_) => EventKind::BookingCancelled,
            DomainEvent::BookingExpired(_) => EventKind::BookingExpired,
            DomainEvent::PaymentFailed(_) => EventKind::PaymentFailed,
            DomainEvent::RefundInitiated(_) => EventKind::RefundInitiated,
            DomainEvent::ShowCancelled(_) => EventKind::ShowCancelled,
            DomainEvent::SeatsReleased(_) => EventKind::SeatsReleased,
            DomainEvent::QueueAdmitted(_) => EventKind::QueueAdmitted,
        }
    }

    /// The booking this event is about, if it is about one.
    pub fn booking(&self) -> Option<&BookingDetail> {
        booking_detail!(self)
    }

    pub fn event_id(&self) -> &str {
        match self {
            DomainEvent::ShowCancelled(ShowCancelledDetail::Show(d)) => &d.event_id,
            DomainEvent::QueueAdmitted(d) => &d.event_id,
            other => other.booking().map_or("", |d| d.event_id.as_str()),
        }
    }

    fn stamp(&mut self, at: &str) {
        let at = Some(at.to_owned());
        match self {
            DomainEvent::ShowCancelled(ShowCancelledDetail::Show(d)) => d.occurred_at = at,
            DomainEvent::QueueAdmitted(d) => d.occurred_at = at,
            other => {
                if let Some(d) = booking_detail!(other) {
                    d.occurred_at = at;
                }
            }
        }
    }

    /// The `detail` as EventBridge carries it.
    pub fn detail(&self) -> Value {
        serde_json::to_value(self)
            .ok()
            .and_then(|mut v| v.get_mut("detail").map(Value::take))
            .unwrap_or(Value::Null)
    }
}

/// The show-level event of a cancelled show.
pub fn show_cancelled(show_id: &str) -> DomainEvent {
    DomainEvent::ShowCancelled(ShowCancelledDetail::Show(ShowDetail {
        event_id: format!("ShowCancelled#{show_id}"),
        show_id: show_id.to_owned(),
        occurred_at: None,
    }))
}

/// A waiting customer's turn has come (the waiting room): one event per customer and show, so
/// however often it is published the inbox gets one notification.
pub fn queue_admitted(
    entry: &crate::store::queue::QueueEntry,
    place: u64,
    book_by: i64,
) -> DomainEvent {
    DomainEvent::QueueAdmitted(QueueAdmittedDetail {
        event_id: format!("QueueAdmitted#{}#{}", entry.show_id, entry.user_id),
        user_id: entry.user_id.clone(),
        show_id: entry.show_id.clone(),
        place,
        book_by: chrono::DateTime::from_timestamp(book_by, 0).map(crate::clock::rfc3339),
        occurred_at: None,
    })
}

/// An event about a booking; `eventId` lets consumers process it exactly once.
pub fn booking_event(kind: EventKind, booking: &Booking) -> DomainEvent {
    let d = BookingDetail {
        event_id: format!("{}#{}", kind.detail_type(), booking.booking_id),
        booking_id: booking.booking_id.clone(),
        user_id: booking.user_id.clone(),
        show_id: booking.show_id.clone(),
        theatre_id: booking.theatre_id.clone(),
        seat_ids: booking.seat_ids(),
        amount: booking.pricing.total,
        currency: booking.pricing.currency.clone(),
        occurred_at: None,
        refund_id: None,
    };
    match kind {
        EventKind::BookingConfirmed => DomainEvent::BookingConfirmed(d),
        EventKind::BookingCancelled => DomainEvent::BookingCancelled(d),
        EventKind::BookingExpired => DomainEvent::BookingExpired(d),
        EventKind::PaymentFailed => DomainEvent::PaymentFailed(d),
        EventKind::RefundInitiated => DomainEvent::RefundInitiated(d),
        EventKind::ShowCancelled => DomainEvent::ShowCancelled(ShowCancelledDetail::Booking(d)),
        EventKind::SeatsReleased => DomainEvent::SeatsReleased(d),
        // Not an event about a booking (`queue_admitted` makes it); named for the customer and the
        // show all the same, so the match stays total without a panic.
        EventKind::QueueAdmitted => DomainEvent::QueueAdmitted(QueueAdmittedDetail {
            event_id: format!("QueueAdmitted#{}#{}", d.show_id, d.user_id),
            user_id: d.user_id,
            show_id: d.show_id,
            place: 0,
            book_by: None,
            occurred_at: None,
        }),
    }
}

/// `RefundInitiated` for the refund of a payment whose booking we do not have: no customer or
/// show to name (notify has nobody to tell; the refund worker pays it).
pub fn orphan_refund_event(
    booking_id: &str,
    refund: &crate::domain::booking::RefundInfo,
) -> DomainEvent {
    let id = refund.refund_id.clone().unwrap_or_default();
    DomainEvent::RefundInitiated(BookingDetail {
        event_id: format!("RefundInitiated#{id}"),
        booking_id: booking_id.to_owned(),
        user_id: String::new(),
        show_id: String::new(),
        theatre_id: String::new(),
        seat_ids: Vec::new(),
        amount: refund.amount,
        currency: refund.currency.clone().unwrap_or_default(),
        occurred_at: None,
        refund_id: refund.refund_id.clone(),
    })
}

/// `RefundInitiated` for one refund: the refund worker's request (it pays `refundId`) and the
/// customer's notification. One per refund, so two refunds on one booking are two events.
pub fn refund_event(booking: &Booking, refund: &crate::domain::booking::RefundInfo) -> DomainEvent {
    let mut event = booking_event(EventKind::RefundInitiated, booking);
    if let (DomainEvent::RefundInitiated(d), Some(id)) = (&mut event, &refund.refund_id) {
        d.event_id = format!("RefundInitiated#{id}");
        d.refund_id = Some(id.clone());
        d.amount = refund.amount;
    }
    event
}

/// The outbox entries of `events`, stamped with the change's time (`occurredAt` in the detail,
/// and the EventBridge event's time): to be written in the change's transaction.
pub fn outbox(deps: &Deps, events: Vec<DomainEvent>) -> Vec<OutboxEntry> {
    let now = deps.clock.now();
    let occurred = crate::clock::rfc3339(now);
    events
        .into_iter()
        .map(|mut e| {
            e.stamp(&occurred);
            OutboxEntry {
                event_id: e.event_id().to_owned(),
                detail_type: e.kind().detail_type().to_owned(),
                detail: e.detail().to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_read_back_as_published() {
        let detail = json!({"eventId": "SeatsReleased#bk_1", "bookingId": "bk_1", "userId": "usr_1",
            "showId": "sh_1", "theatreId": "th_1", "seatIds": ["A1"], "amount": 100, "currency": "INR",
            "occurredAt": "2027-01-15T08:00:00Z"});
        let bus = json!({"version": "0", "source": "boxoffice", "detail-type": "SeatsReleased",
            "time": "2027-01-15T08:00:01Z", "detail": detail});
        let e: DomainEvent = serde_json::from_value(bus).expect("reads");
        assert_eq!(e.kind(), EventKind::SeatsReleased);
        assert_eq!(e.event_id(), "SeatsReleased#bk_1");
        assert_eq!(e.detail(), detail, "the detail round-trips");
        let show: DomainEvent = serde_json::from_value(
            json!({"detail-type": "ShowCancelled", "detail": {"eventId": "ShowCancelled#sh_1", "showId": "sh_1"}}),
        )
        .expect("reads");
        assert_eq!(show, show_cancelled("sh_1"));
        assert!(show.booking().is_none());
        assert!(serde_json::from_value::<DomainEvent>(
            json!({"detail-type": "Other", "detail": {}})
        )
        .is_err());
    }
}
