//! `notify`: the target of the domain-event rules and of the reminder schedule. Writes each
//! customer's inbox (exactly one notification per event, however often it is delivered), tells
//! waitlisted customers when seats come free, and sends show reminders once per booking.
//! Delivery beyond the inbox goes through a `Channel` (a log channel by default, SES email when
//! configured).

pub mod channel;

use boxoffice::{
    clock::rfc3339,
    events::{DomainEvent, EventKind, QueueAdmittedDetail},
    runtime::{Function, Handler},
    store::inbox::{InboxWrite, Notification},
    ApiError, Deps,
};
use channel::{channel_for, Channel, DeliveryError};
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const REMINDER_HORIZON_MINUTES: i64 = 120;

/// The domain events that may come without a customer to tell.
const IGNORABLE: [&str; 2] = ["SeatsReleased", "ShowCancelled"];

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Event(|deps, event| Box::pin(handler(deps, event))),
    secrets: &[],
};

pub async fn handler(deps: &Deps, event: Value) -> Result<Value, ApiError> {
    let source = event["source"].as_str().unwrap_or_default();
    let detail_type = event["detail-type"].as_str().unwrap_or_default().to_owned();
    let detail_type = detail_type.as_str();
    let bus_time = event["time"].as_str().map(str::to_owned);
    if source == "aws.events" {
        let sent = send_reminders(deps, channel_for(deps).0.as_ref()).await?;
        return Ok(json!({ "reminders": sent }));
    }
    let event: DomainEvent = match serde_json::from_value(event.clone()) {
        Ok(e) => e,
        // A show-level event (no customer to tell) and anything not ours are not notify's.
        Err(_) if EventKind::named(detail_type).is_some() && !IGNORABLE.contains(&detail_type) => {
            return Err(ApiError::validation(format!(
                "{detail_type} event without eventId/userId"
            )));
        }
        Err(_) => return Ok(json!({ "ignored": detail_type })),
    };
    if let DomainEvent::QueueAdmitted(q) = &event {
        return queue_admitted(deps, q, bus_time).await;
    }
    let Some(d) = event.booking().filter(|d| !d.user_id.is_empty()) else {
        // Not about a booking, or about one nobody owns (a payment for a booking we do not have).
        return Ok(json!({ "ignored": detail_type }));
    };
    let created_at = created_at(deps, d.occurred_at.clone(), bus_time);
    let Some((kind, message)) = notification_text(&event) else {
        // SeatsReleased: no notification of its own; the waitlist may hear of the seats.
        let released = Released {
            show_id: &d.show_id,
            freed: d.seat_ids.len() as i64,
            event_id: &d.event_id,
            at: &created_at,
        };
        let told = notify_waitlist(deps, channel_for(deps).0.as_ref(), released).await?;
        return Ok(json!({ "waitlistNotified": told }));
    };
    let n = Notification {
        notification_id: notification_id(&d.event_id),
        kind: kind.into(),
        booking_id: Some(d.booking_id.clone()),
        show_id: Some(d.show_id.clone()),
        message,
        created_at,
    };
    let written = inbox(deps, channel_for(deps).0.as_ref(), &d.user_id, &n).await?;
    Ok(json!({ "notified": written }))
}

/// A waiting customer's turn to book a queue-mode show.
async fn queue_admitted(
    deps: &Deps,
    q: &QueueAdmittedDetail,
    bus_time: Option<String>,
) -> Result<Value, ApiError> {
    let n = Notification {
        notification_id: notification_id(&q.event_id),
        kind: "QUEUE_ADMITTED".into(),
        booking_id: None,
        show_id: Some(q.show_id.clone()),
        message: format!(
            "It is your turn: you may book show {} now, until {}.",
            q.show_id,
            q.book_by.as_deref().unwrap_or("your admission window ends")
        ),
        created_at: created_at(deps, q.occurred_at.clone(), bus_time),
    };
    let written = inbox(deps, channel_for(deps).0.as_ref(), &q.user_id, &n).await?;
    Ok(json!({ "notified": written }))
}

/// A notification's time: the change's own (the outbox stamps it), so a re-published event (new
/// EventBridge time) writes the same inbox item; then the bus's, for events from elsewhere.
fn created_at(deps: &Deps, occurred_at: Option<String>, bus_time: Option<String>) -> String {
    occurred_at
        .or(bus_time)
        .unwrap_or_else(|| rfc3339(deps.clock.now()))
}

/// The customer's notification of a booking event (its type and text); `None` for an event that
/// is not one (SeatsReleased, the show-level ShowCancelled).
pub fn notification_text(event: &DomainEvent) -> Option<(&'static str, String)> {
    let d = event.booking()?;
    let bk = &d.booking_id;
    let seats = d.seat_ids.join(", ");
    Some(match event {
        DomainEvent::BookingConfirmed(_) => (
            "BOOKING_CONFIRMED",
            format!("Booking {bk} is confirmed: seats {seats}. Your ticket is ready."),
        ),
        DomainEvent::BookingCancelled(_) => {
            ("BOOKING_CANCELLED", format!("Booking {bk} is cancelled."))
        }
        DomainEvent::BookingExpired(_) => (
            "BOOKING_EXPIRED",
            format!("Your hold on seats {seats} expired before payment; booking {bk} is closed."),
        ),
        DomainEvent::PaymentFailed(_) => (
            "PAYMENT_FAILED",
            format!("The payment for booking {bk} failed; the seats were released."),
        ),
        DomainEvent::RefundInitiated(_) => (
            "REFUND_INITIATED",
            format!(
                "A refund of {} {} for booking {bk} is on its way.",
                d.amount, d.currency
            ),
        ),
        DomainEvent::ShowCancelled(_) => (
            "SHOW_CANCELLED",
            format!("The show of booking {bk} was cancelled; any payment is refunded."),
        ),
        DomainEvent::SeatsReleased(_) | DomainEvent::QueueAdmitted(_) => return None,
    })
}

/// The same source event always gives the same notification id.
pub fn notification_id(source_event_id: &str) -> String {
    format!(
        "ntf_{}",
        &hex::encode(Sha256::digest(source_event_id.as_bytes()))[..26]
    )
}

/// How long a delivery claim holds off other deliveries of the same notification: longer than
/// notify's 30 s timeout, so only an invocation that died mid-send leaves one to go stale.
pub const DELIVERY_CLAIM_SECONDS: i64 = 60;

/// Writes the inbox item once (`true` the first time) and delivers it through the channel until
/// a delivery succeeds: a redelivered event retries a failed send, never a second inbox entry,
/// and concurrent deliveries of one event send once (one claims the send; a failed send gives
/// the claim back for the retry).
async fn inbox(
    deps: &Deps,
    channel: &dyn Channel,
    user_id: &str,
    n: &Notification,
) -> Result<bool, ApiError> {
    let now = deps.clock.now_epoch();
    let written = deps.store.put_notification(user_id, n, now).await?;
    let mine = match written {
        InboxWrite::New => true,
        InboxWrite::Undelivered => {
            deps.store
                .claim_delivery(user_id, n, now, now - DELIVERY_CLAIM_SECONDS)
                .await?
        }
        InboxWrite::Delivered => false,
    };
    if mine {
        match channel.deliver(deps, user_id, n).await {
            Ok(()) => deps.store.mark_notification_delivered(user_id, n).await?,
            Err(DeliveryError::Rejected(reason)) => {
                tracing::error!(user_id, notification_id = %n.notification_id, channel = channel.name(), error = %reason, "notification not deliverable");
                boxoffice::metrics::count("NotificationsUndeliverable", 1);
                deps.store.release_delivery(user_id, n).await?;
            }
            Err(DeliveryError::Transient(reason)) => {
                deps.store.release_delivery(user_id, n).await?;
                return Err(ApiError::ServiceUnavailable(format!(
                    "{} channel: {reason}",
                    channel.name()
                )));
            }
        }
    }
    Ok(written == InboxWrite::New)
}

/// Seats that came free: a SeatsReleased event, dated as every notification is (`created_at`).
struct Released<'a> {
    show_id: &'a str,
    freed: i64,
    event_id: &'a str,
    at: &'a str,
}

/// Tells waitlisted customers, in the order they joined, that `freed` seats came free. Each
/// notification is dated by the event, not by this delivery, so a redelivery (a second later)
/// finds the same inbox item instead of writing a second one.
async fn notify_waitlist(
    deps: &Deps,
    channel: &dyn Channel,
    r: Released<'_>,
) -> Result<usize, ApiError> {
    let Released {
        show_id,
        freed,
        event_id,
        at,
    } = r;
    let mut budget = freed.max(1);
    let mut told = 0;
    for entry in deps.store.waiting(show_id, event_id).await? {
        if budget <= 0 {
            break;
        }
        let n = Notification {
            notification_id: notification_id(&format!("{event_id}#{}", entry.user_id)),
            kind: "WAITLIST_SEATS_AVAILABLE".into(),
            booking_id: None,
            show_id: Some(show_id.to_owned()),
            message: format!(
                "{freed} seat(s) just came free for a show you are waiting for. Book now!"
            ),
            created_at: at.to_owned(),
        };
        inbox(deps, channel, &entry.user_id, &n).await?;
        if deps
            .store
            .mark_waitlist_notified(show_id, &entry.user_id, event_id)
            .await?
        {
            told += 1;
            budget -= entry.seats;
        }
    }
    Ok(told)
}

/// One SHOW_REMINDER per confirmed booking whose show starts within the next two hours.
pub async fn send_reminders(deps: &Deps, channel: &dyn Channel) -> Result<usize, ApiError> {
    let now = deps.clock.now();
    let until = now + Duration::minutes(REMINDER_HORIZON_MINUTES);
    let hours: Vec<String> = (0..=REMINDER_HORIZON_MINUTES / 60 + 1)
        .map(|h| rfc3339(now + Duration::hours(h)))
        .collect();
    let due = deps
        .store
        .bookings_starting_between(&rfc3339(now), &rfc3339(until), &hours)
        .await?;
    let mut sent = 0;
    for b in due {
        let starts = chrono::DateTime::parse_from_rfc3339(&b.show_start)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now);
        let n = Notification {
            notification_id: notification_id(&format!("SHOW_REMINDER#{}", b.booking_id)),
            kind: "SHOW_REMINDER".into(),
            booking_id: Some(b.booking_id.clone()),
            show_id: Some(b.show_id.clone()),
            message: format!(
                "Your show starts in {} minutes: seats {}.",
                (starts - now).num_minutes(),
                b.seat_ids().join(", ")
            ),
            created_at: rfc3339(starts - Duration::minutes(REMINDER_HORIZON_MINUTES)),
        };
        if inbox(deps, channel, &b.user_id, &n).await? {
            sent += 1;
        }
        deps.store
            .mark_reminded(&b.booking_id, &rfc3339(now))
            .await?;
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use boxoffice::events::{show_cancelled, BookingDetail, ShowCancelledDetail};

    #[test]
    fn each_booking_event_has_its_text_and_the_others_none() {
        let d = BookingDetail {
            event_id: "e".into(),
            booking_id: "bk_1".into(),
            user_id: "usr_1".into(),
            show_id: "sh_1".into(),
            theatre_id: "th_1".into(),
            seat_ids: vec!["A1".into(), "A2".into()],
            amount: 1200,
            currency: "INR".into(),
            refund_id: None,
            occurred_at: None,
        };
        let cases = [
            (
                DomainEvent::BookingConfirmed(d.clone()),
                "BOOKING_CONFIRMED",
                "Booking bk_1 is confirmed: seats A1, A2. Your ticket is ready.",
            ),
            (
                DomainEvent::BookingCancelled(d.clone()),
                "BOOKING_CANCELLED",
                "Booking bk_1 is cancelled.",
            ),
            (
                DomainEvent::BookingExpired(d.clone()),
                "BOOKING_EXPIRED",
                "Your hold on seats A1, A2 expired before payment; booking bk_1 is closed.",
            ),
            (
                DomainEvent::PaymentFailed(d.clone()),
                "PAYMENT_FAILED",
                "The payment for booking bk_1 failed; the seats were released.",
            ),
            (
                DomainEvent::RefundInitiated(d.clone()),
                "REFUND_INITIATED",
                "A refund of 1200 INR for booking bk_1 is on its way.",
            ),
            (
                DomainEvent::ShowCancelled(ShowCancelledDetail::Booking(d.clone())),
                "SHOW_CANCELLED",
                "The show of booking bk_1 was cancelled; any payment is refunded.",
            ),
        ];
        for (event, kind, text) in cases {
            assert_eq!(notification_text(&event), Some((kind, text.to_owned())));
        }
        assert_eq!(notification_text(&DomainEvent::SeatsReleased(d)), None);
        assert_eq!(notification_text(&show_cancelled("sh_1")), None);
    }
}
