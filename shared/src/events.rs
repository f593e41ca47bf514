//! Domain events on the EventBridge bus (source `boxoffice`), for notifications and the waitlist.
//! Publishing happens after the state change has committed; a failure to publish is logged as an
//! error (alarmable) and never turns a committed change into a failed request.

use crate::{domain::booking::Booking, Deps};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::{json, Value};

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
        }
    }
}

#[derive(Debug, Clone)]
pub struct DomainEvent {
    pub kind: EventKind,
    pub detail: Value,
}

/// An event about a booking; `eventId` lets consumers process it exactly once.
pub fn booking_event(kind: EventKind, booking: &Booking) -> DomainEvent {
    DomainEvent {
        kind,
        detail: json!({
            "eventId": format!("{}#{}", kind.detail_type(), booking.booking_id),
            "bookingId": booking.booking_id,
            "userId": booking.user_id,
            "showId": booking.show_id,
            "theatreId": booking.theatre_id,
            "seatIds": booking.seat_ids(),
            "amount": booking.pricing.total,
            "currency": booking.pricing.currency,
        }),
    }
}

pub async fn publish(deps: &Deps, events: Vec<DomainEvent>) {
    for chunk in events.chunks(10) {
        let entries: Vec<PutEventsRequestEntry> = chunk
            .iter()
            .map(|e| {
                PutEventsRequestEntry::builder()
                    .source(SOURCE)
                    .detail_type(e.kind.detail_type())
                    .detail(e.detail.to_string())
                    .event_bus_name(&deps.config.event_bus_name)
                    .build()
            })
            .collect();
        match deps
            .eventbridge
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(out) if out.failed_entry_count() > 0 => {
                tracing::error!(
                    failed = out.failed_entry_count(),
                    metric = "EventPublishFailures",
                    "some domain events were not published"
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %aws_smithy_types::error::display::DisplayErrorContext(&e), metric = "EventPublishFailures", "domain events were not published");
            }
        }
    }
}
