//! What a provider's payment event does to its booking: `decide`, a pure function of the booking,
//! the (verified, normalised) message and the time. confirm-payment loads the booking, calls it
//! and stores the outcome; the store's conditions (status, seats held by this booking, the
//! event's processed marker) make the stored outcome safe against every race.
//!
//! | message   | booking                    | decision                                           |
//! |-----------|----------------------------|----------------------------------------------------|
//! | succeeded | amount, currency or intent differ | `Refund(Mismatch)`, releasing a pending booking |
//! | succeeded | PAYMENT_PENDING, in time   | `Sell`                                             |
//! | succeeded | PAYMENT_PENDING, hold lapsed | `Sell { late: true }`: the late-payment policy   |
//! | succeeded | CONFIRMED                  | `IgnoreDuplicate`: the same payment again          |
//! | succeeded | FAILED, EXPIRED, CANCELLED, REFUNDED | `Refund(NoLongerPayable)`                |
//! | failed    | PAYMENT_PENDING            | `Fail`: FAILED, seats released                     |
//! | failed    | any other                  | `Record`: remembered, nothing changes              |
//! | refunded  | a refund of ours for this intent | `Record`: our refund SUCCEEDED, nothing else     |
//! | refunded  | CONFIRMED, its own intent, in full | `RefundedByProvider`: REFUNDED, ticket revoked |
//! | refunded  | any other (a partial refund, …) | `Record`: the provider's refund SUCCEEDED       |
//!
//! and when a `Sell` is refused by the store: a seat is no longer held by this booking →
//! `refuse_lost_sale`, a `Refund(SeatsLost)`; the show is cancelled (checked in the sale's own
//! transaction, never from a cache) → `refuse_cancelled_show`, a `Refund(ShowCancelled)` that
//! cancels the pending booking.
//!
//! **Refunds the provider made** (Stripe's `charge.refunded`, the sandbox's `refund.succeeded`):
//! the message's amount is what the provider has refunded on the charge so far (Stripe's
//! `amount_refunded`), so "in full" is that amount reaching what the booking paid on the same
//! intent. A full refund of a CONFIRMED booking's own payment is `CONFIRMED → REFUNDED`: the money
//! is gone, so the ticket is no longer honoured (admission needs CONFIRMED, the ticket image is
//! refused). A partial refund is only recorded: the booking stays CONFIRMED with its ticket, the
//! provider's refund of that amount SUCCEEDED on the booking and its refund record. A refund of
//! ours (a cancellation's, a mismatch's: the booking shows it for this intent) is only confirmed
//! by the provider's event: SUCCEEDED, nothing else changes.
//!
//! **The seat policy of a provider's refund** (`REFUND_SEAT_POLICY`): the seats are freed (deleted
//! while still SOLD to this booking, as a cancellation frees them) while the show has not started
//! and the ticket was not admitted, so they can be sold again; otherwise they stay SOLD to the
//! refunded booking: nobody can hold a seat of a started show, and a seat someone was admitted to
//! is taken. The customer's seat-cap count for the show is given back either way.
//!
//! **The late-payment policy** (`LATE_PAYMENT_POLICY`): a success that arrives after the hold
//! lapsed still sells while the booking is PAYMENT_PENDING (the sweep has not expired it yet) and
//! every seat is still held by this booking, so the store's sell condition checks the seat's
//! holder, never the hold time (`store::seats::sell_seat`). A late success whose booking the sweep
//! already expired is refunded as no longer payable; one whose seat someone else took meanwhile
//! is refunded as seats lost. Never an oversell, never a kept payment without a sale.

use super::booking::{Booking, BookingStatus, PaymentInfo, PaymentStatus, RefundInfo, Transition};
use super::refund::Owed;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The late-payment policy in one line (see the module documentation).
pub const LATE_PAYMENT_POLICY: &str =
    "a late success sells while the booking is pending and still holds every seat; otherwise it is refunded";

/// The seat policy of a provider's full refund in one line (see the module documentation).
pub const REFUND_SEAT_POLICY: &str =
    "a booking the provider refunded frees its seats until its show starts or its ticket is admitted; then they stay sold";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentOutcome {
    Succeeded,
    Failed,
    Refunded,
}

/// What the webhook puts on the queue: normalised, verified, never the raw body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentMessage {
    pub provider: String,
    pub event_id: String,
    pub outcome: PaymentOutcome,
    pub payment_intent_id: String,
    pub booking_id: String,
    pub amount: i64,
    pub currency: String,
    pub occurred_at: i64,
    /// A refund's reference at the provider (Stripe: the charge's latest refund `re_…`, else the
    /// charge `ch_…`); absent on other outcomes and on messages queued before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_refund_id: Option<String>,
}

impl PaymentMessage {
    /// Only what we could have issued goes on the queue: a booking id of ours, printable provider
    /// ids, a non-negative amount, an ISO currency code. Anything else is the sender's 400.
    pub fn checked(self) -> Result<PaymentMessage, String> {
        let printable =
            |s: &str| (1..=255).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic());
        if !crate::ids::is_id("bk", &self.booking_id) {
            return Err("the booking reference is not a booking id".into());
        }
        if !printable(&self.event_id) || !printable(&self.payment_intent_id) {
            return Err("event and payment ids must be 1–255 printable characters".into());
        }
        if self
            .provider_refund_id
            .as_deref()
            .is_some_and(|r| !printable(r))
        {
            return Err("the refund id must be 1–255 printable characters".into());
        }
        if self.amount < 0 {
            return Err("the amount is negative".into());
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err("the currency is not an ISO 4217 code".into());
        }
        Ok(self)
    }
}

/// Why money goes back (the text is stored as the refund's `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundReason {
    /// The paid amount, currency or intent is not the booking's.
    Mismatch,
    /// The booking failed, expired or was cancelled before the success arrived.
    NoLongerPayable,
    /// The sale was refused: a seat is no longer held by this booking (late payment, seat taken).
    SeatsLost,
    /// The provider reports a refund we did not initiate.
    ByProvider,
    /// The customer cancelled a confirmed booking before the cut-off.
    CancelledByCustomer,
    /// The partner or an admin cancelled the show.
    ShowCancelled,
    /// A payment names a booking we do not have: the money goes back, never silently kept.
    UnknownBooking,
}

impl RefundReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundReason::Mismatch => "amount, currency or intent mismatch",
            RefundReason::NoLongerPayable => "booking no longer payable",
            RefundReason::SeatsLost => "seats no longer held",
            RefundReason::ByProvider => "refunded by the provider",
            RefundReason::CancelledByCustomer => "cancelled by the customer",
            RefundReason::ShowCancelled => "show cancelled",
            RefundReason::UnknownBooking => "no such booking",
        }
    }
}

/// Why a message only records the payment (state unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordReason {
    /// A failure reported for a booking no longer pending (e.g. after its success).
    FailureAfterTheFact,
    /// The provider completed a refund.
    ProviderRefunded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// `PAYMENT_PENDING → CONFIRMED`, every seat `HELD → SOLD`. `late` when the hold had lapsed:
    /// the late-payment policy lets the store's seat conditions decide.
    Sell { payment: PaymentInfo, late: bool },
    /// `PAYMENT_PENDING → FAILED`, the seats released.
    Fail { payment: PaymentInfo },
    /// Give the money back. `release`: the booking is still PAYMENT_PENDING, so it expires and
    /// gives back whatever seats it still holds; otherwise its state stays.
    Refund {
        payment: PaymentInfo,
        refund: RefundInfo,
        reason: RefundReason,
        release: bool,
    },
    /// The same successful payment reported again under another event id: recorded, nothing else.
    IgnoreDuplicate { payment: PaymentInfo },
    /// `CONFIRMED → REFUNDED`: the provider refunded the booking's own payment in full on its
    /// own. `refund` is the provider's (SUCCEEDED, its reference); `free_seats` by
    /// `REFUND_SEAT_POLICY`.
    RefundedByProvider {
        payment: PaymentInfo,
        refund: RefundInfo,
        free_seats: bool,
    },
    /// Recorded (with a refund, if any) and nothing else.
    Record {
        payment: PaymentInfo,
        refund: Option<RefundInfo>,
        reason: RecordReason,
    },
}

/// True when the booking's hold had lapsed at `now` (the start-payment condition's complement).
pub fn is_late(booking: &Booking, now: DateTime<Utc>) -> bool {
    super::booking::hold_lapsed(booking.hold_expires_at, now.timestamp())
}

/// The payment record after message `m`: the booking's own record (its id, redirect, creation
/// time) with the provider's figures and `status`; a new record `new_payment_id` when it has none.
pub fn payment_record(
    booking: &Booking,
    m: &PaymentMessage,
    status: PaymentStatus,
    new_payment_id: &str,
    at: &str,
) -> PaymentInfo {
    let base = booking.payment.clone().unwrap_or_else(|| PaymentInfo {
        payment_id: new_payment_id.to_owned(),
        provider: m.provider.clone(),
        payment_intent_id: m.payment_intent_id.clone(),
        amount: m.amount,
        currency: m.currency.clone(),
        status,
        redirect_url: String::new(),
        created_at: at.to_owned(),
    });
    PaymentInfo {
        status,
        amount: m.amount,
        currency: m.currency.clone(),
        payment_intent_id: m.payment_intent_id.clone(),
        provider: m.provider.clone(),
        ..base
    }
}

fn refund_decision(
    booking: &Booking,
    payment: PaymentInfo,
    amount: i64,
    reason: RefundReason,
    at: &str,
) -> Decision {
    let owed = Owed {
        booking_id: &booking.booking_id,
        payment_intent_id: &payment.payment_intent_id,
        provider: &payment.provider,
        amount,
        currency: &payment.currency,
    };
    Decision::Refund {
        refund: RefundInfo::initiated(&owed, reason, at),
        payment,
        reason,
        release: booking.status == BookingStatus::PaymentPending,
    }
}

/// What message `m` does to `booking` at `now` (the table in the module documentation).
/// `new_payment_id` names the payment record when the booking has none yet.
pub fn decide(
    booking: &Booking,
    m: &PaymentMessage,
    now: DateTime<Utc>,
    new_payment_id: &str,
) -> Decision {
    let at = crate::clock::rfc3339(now);
    let payment = |status| payment_record(booking, m, status, new_payment_id, &at);
    match m.outcome {
        PaymentOutcome::Succeeded => {
            let same_intent = booking
                .payment
                .as_ref()
                .is_none_or(|p| p.payment_intent_id == m.payment_intent_id);
            let matches = m.amount == booking.pricing.total
                && m.currency == booking.pricing.currency
                && same_intent;
            if !matches {
                return refund_decision(
                    booking,
                    payment(PaymentStatus::RefundInitiated),
                    m.amount,
                    RefundReason::Mismatch,
                    &at,
                );
            }
            match booking.status {
                BookingStatus::PaymentPending => Decision::Sell {
                    payment: payment(PaymentStatus::Succeeded),
                    late: is_late(booking, now),
                },
                BookingStatus::Confirmed => Decision::IgnoreDuplicate {
                    payment: payment(PaymentStatus::Succeeded),
                },
                BookingStatus::Failed
                | BookingStatus::Expired
                | BookingStatus::Cancelled
                | BookingStatus::Refunded => refund_decision(
                    booking,
                    payment(PaymentStatus::RefundInitiated),
                    m.amount,
                    RefundReason::NoLongerPayable,
                    &at,
                ),
            }
        }
        PaymentOutcome::Failed if booking.status == BookingStatus::PaymentPending => {
            Decision::Fail {
                payment: payment(PaymentStatus::Failed),
            }
        }
        PaymentOutcome::Failed => Decision::Record {
            // A failure after the fact changes nothing, not even the payment record it has.
            payment: booking
                .payment
                .clone()
                .unwrap_or_else(|| payment(PaymentStatus::Failed)),
            refund: None,
            reason: RecordReason::FailureAfterTheFact,
        },
        PaymentOutcome::Refunded => provider_refunded(booking, m, now, &at, new_payment_id),
    }
}

/// True when `m` refunds payment `p` in full (same intent and currency, at least what was paid).
fn refunds_in_full(p: &PaymentInfo, m: &PaymentMessage) -> bool {
    p.payment_intent_id == m.payment_intent_id && p.currency == m.currency && m.amount >= p.amount
}

/// True when `m` refunds, in full, the payment `booking` confirmed on.
fn refunds_the_sale_in_full(booking: &Booking, m: &PaymentMessage) -> bool {
    booking.status == BookingStatus::Confirmed
        && booking
            .payment
            .as_ref()
            .is_some_and(|p| refunds_in_full(p, m))
}

/// `REFUND_SEAT_POLICY`: free while the show has not started (an unreadable start counts as
/// started: seats are never freed on a doubt) and nobody was admitted on the ticket.
pub fn frees_seats_on_refund(booking: &Booking, now: DateTime<Utc>) -> bool {
    let not_started = DateTime::parse_from_rfc3339(&booking.show_start)
        .is_ok_and(|start| now < start.with_timezone(&Utc));
    not_started && booking.admitted_at.is_none()
}

/// The provider refunded (part of) intent `m.payment_intent_id` (the table's `refunded` rows).
fn provider_refunded(
    booking: &Booking,
    m: &PaymentMessage,
    now: DateTime<Utc>,
    at: &str,
    new_payment_id: &str,
) -> Decision {
    let full = booking
        .payment
        .as_ref()
        .is_none_or(|p| refunds_in_full(p, m));
    // The payment record shows REFUNDED only once its own intent is refunded in full; a partial
    // refund, or a refund of another intent, leaves it as it is.
    let payment = match &booking.payment {
        Some(p) if !full => p.clone(),
        _ => payment_record(booking, m, PaymentStatus::Refunded, new_payment_id, at),
    };
    let payment = PaymentInfo {
        // What was paid stays the record's amount: the message's is what was refunded.
        amount: booking.payment.as_ref().map_or(m.amount, |p| p.amount),
        ..payment
    };
    let ours = booking.refund.as_ref().filter(|r| {
        r.reason != RefundReason::ByProvider.as_str()
            && r.payment_intent_id
                .as_deref()
                .is_none_or(|i| i == m.payment_intent_id)
    });
    if let Some(ours) = ours {
        // The provider confirms a refund we initiated: its reason and time are kept.
        return Decision::Record {
            payment,
            refund: Some(RefundInfo {
                status: super::refund::SUCCEEDED.into(),
                ..ours.clone()
            }),
            reason: RecordReason::ProviderRefunded,
        };
    }
    let refund = by_provider(booking, m, at);
    if refunds_the_sale_in_full(booking, m) {
        return Decision::RefundedByProvider {
            payment,
            refund,
            free_seats: frees_seats_on_refund(booking, now),
        };
    }
    Decision::Record {
        payment,
        refund: Some(refund),
        reason: RecordReason::ProviderRefunded,
    }
}

/// The provider's own refund of `m.amount` (so far) on `m`'s intent: settled, with its reference.
/// An earlier partial refund's start time is kept.
fn by_provider(booking: &Booking, m: &PaymentMessage, at: &str) -> RefundInfo {
    let owed = Owed {
        booking_id: &booking.booking_id,
        payment_intent_id: &m.payment_intent_id,
        provider: &m.provider,
        amount: m.amount,
        currency: &m.currency,
    };
    let initiated = RefundInfo::initiated(&owed, RefundReason::ByProvider, at);
    let started = booking
        .refund
        .as_ref()
        .filter(|r| r.refund_id == initiated.refund_id)
        .map_or_else(|| at.to_owned(), |r| r.initiated_at.clone());
    RefundInfo {
        status: super::refund::SUCCEEDED.into(),
        initiated_at: started,
        provider_refund_id: m.provider_refund_id.clone(),
        settled_at: Some(at.to_owned()),
        ..initiated
    }
}

/// The store refused a `Sell` (`sold` was its payment record): a seat is no longer held by this
/// booking, or the booking moved on meanwhile. `fresh` is the booking as it is now. The
/// late-payment policy's other half: never an oversell, a refund.
pub fn refuse_lost_sale(
    fresh: &Booking,
    sold: &PaymentInfo,
    m: &PaymentMessage,
    now: DateTime<Utc>,
) -> Decision {
    refuse_sale(fresh, sold, m, now, RefundReason::SeatsLost)
}

/// The store refused a `Sell` because the show is cancelled (`store::payments::confirm_booking`
/// checks it in the sale's own transaction): a booking still pending is refunded and cancelled,
/// one that moved on meanwhile is decided again from its fresh state, as in `refuse_lost_sale`.
pub fn refuse_cancelled_show(
    fresh: &Booking,
    sold: &PaymentInfo,
    m: &PaymentMessage,
    now: DateTime<Utc>,
) -> Decision {
    refuse_sale(fresh, sold, m, now, RefundReason::ShowCancelled)
}

/// How a refund that releases a pending booking (`Decision::Refund { release: true }`) ends it:
/// cancelled with its show, expired otherwise (its payment cannot become a sale).
pub fn release_transition(reason: RefundReason) -> Transition {
    match reason {
        RefundReason::ShowCancelled => Transition::CancelPending,
        _ => Transition::Expire,
    }
}

fn refuse_sale(
    fresh: &Booking,
    sold: &PaymentInfo,
    m: &PaymentMessage,
    now: DateTime<Utc>,
    reason: RefundReason,
) -> Decision {
    match fresh.status {
        // Still pending, so the sale itself is impossible: refunded, never oversold.
        BookingStatus::PaymentPending => refund_decision(
            fresh,
            PaymentInfo {
                status: PaymentStatus::RefundInitiated,
                ..sold.clone()
            },
            m.amount,
            reason,
            &crate::clock::rfc3339(now),
        ),
        // It moved on meanwhile (confirmed by this very payment reported under another event id,
        // failed, expired, cancelled): decided again from the fresh state, so a concurrent
        // duplicate is a duplicate and never refunds the sale it made.
        _ => decide(fresh, m, now, &sold.payment_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        booking::{BookedSeat, PaymentInfo},
        layout::SeatType,
        pricing::Pricing,
    };
    use chrono::TimeZone as _;
    use BookingStatus::*;

    const HOLD_ENDS: i64 = 1_800_000_000;

    fn at(epoch: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(epoch, 0).single().expect("valid")
    }

    fn intent(status: PaymentStatus) -> PaymentInfo {
        PaymentInfo {
            payment_id: "pay_1".into(),
            provider: "sandbox".into(),
            payment_intent_id: "pi_1".into(),
            amount: 1000,
            currency: "INR".into(),
            status,
            redirect_url: "https://pay.example/1".into(),
            created_at: "2027-01-15T08:00:00Z".into(),
        }
    }

    fn booking(status: BookingStatus, payment: Option<PaymentInfo>) -> Booking {
        Booking {
            booking_id: "bk_1".into(),
            user_id: "usr_1".into(),
            show_id: "sh_1".into(),
            theatre_id: "th_1".into(),
            city_id: "blr".into(),
            show_start: "2027-01-16T18:00:00Z".into(),
            time_zone: "Asia/Kolkata".into(),
            status,
            seats: vec![BookedSeat {
                seat_id: "A1".into(),
                seat_type: SeatType::Regular,
                price: 1000,
                block: 0,
            }],
            pricing: Pricing {
                currency: "INR".into(),
                subtotal: 1000,
                discount: 0,
                fees: 0,
                tax: 0,
                total: 1000,
                applied_offers: vec![],
                points_redeemed: 0,
            },
            coupon: None,
            hold_expires_at: HOLD_ENDS,
            created_at: "2027-01-15T08:00:00Z".into(),
            confirmed_at: None,
            cancelled_at: None,
            payment,
            refund: None,
            ticket: None,
            admitted_at: None,
            counts_toward_seat_cap: true,
            source: Default::default(),
            customer_email: None,
            points: None,
        }
    }

    fn message(outcome: PaymentOutcome) -> PaymentMessage {
        PaymentMessage {
            provider: "sandbox".into(),
            event_id: "evt_1".into(),
            outcome,
            payment_intent_id: "pi_1".into(),
            booking_id: "bk_1".into(),
            amount: 1000,
            currency: "INR".into(),
            occurred_at: HOLD_ENDS - 10,
            provider_refund_id: None,
        }
    }

    fn pending() -> Booking {
        booking(PaymentPending, Some(intent(PaymentStatus::Initiated)))
    }

    fn in_time() -> DateTime<Utc> {
        at(HOLD_ENDS - 10)
    }

    fn refund_reason(d: &Decision) -> Option<(RefundReason, bool)> {
        match d {
            Decision::Refund {
                reason,
                release,
                refund,
                payment,
            } => {
                assert_eq!(refund.reason, reason.as_str());
                assert_eq!(refund.status, "INITIATED");
                assert_eq!(payment.status, PaymentStatus::RefundInitiated);
                Some((*reason, *release))
            }
            _ => None,
        }
    }

    #[test]
    fn success_in_time_sells() {
        let d = decide(
            &pending(),
            &message(PaymentOutcome::Succeeded),
            in_time(),
            "pay_new",
        );
        let Decision::Sell { payment, late } = d else {
            panic!("{d:?}")
        };
        assert!(!late);
        assert_eq!(payment.status, PaymentStatus::Succeeded);
        // The booking's own record is kept: its id, redirect and creation time.
        assert_eq!(payment.payment_id, "pay_1");
        assert_eq!(payment.redirect_url, "https://pay.example/1");
    }

    #[test]
    fn success_without_an_intent_record_gets_a_new_one() {
        let b = booking(PaymentPending, None);
        let d = decide(
            &b,
            &message(PaymentOutcome::Succeeded),
            in_time(),
            "pay_new",
        );
        let Decision::Sell { payment, .. } = d else {
            panic!("{d:?}")
        };
        assert_eq!(payment.payment_id, "pay_new");
        assert_eq!(payment.redirect_url, "");
        assert_eq!(payment.created_at, crate::clock::rfc3339(in_time()));
    }

    #[test]
    fn late_success_of_a_pending_booking_still_sells() {
        // The late-payment policy: the hold lapsed but the sweep has not expired the booking, so
        // the store's seat conditions (held by this booking) decide.
        for now in [HOLD_ENDS + 1, HOLD_ENDS + 3600] {
            let d = decide(
                &pending(),
                &message(PaymentOutcome::Succeeded),
                at(now),
                "p",
            );
            assert!(matches!(d, Decision::Sell { late: true, .. }), "{d:?}");
        }
        // At the hold's last second it is still in time.
        let d = decide(
            &pending(),
            &message(PaymentOutcome::Succeeded),
            at(HOLD_ENDS),
            "p",
        );
        assert!(matches!(d, Decision::Sell { late: false, .. }), "{d:?}");
    }

    #[test]
    fn late_success_after_the_sweep_expired_the_booking_is_refunded() {
        let b = booking(Expired, Some(intent(PaymentStatus::Initiated)));
        let d = decide(
            &b,
            &message(PaymentOutcome::Succeeded),
            at(HOLD_ENDS + 60),
            "p",
        );
        assert_eq!(
            refund_reason(&d),
            Some((RefundReason::NoLongerPayable, false))
        );
    }

    #[test]
    fn late_success_whose_seat_was_taken_is_refunded_and_released() {
        let m = message(PaymentOutcome::Succeeded);
        let now = at(HOLD_ENDS + 60);
        let Decision::Sell { payment, .. } = decide(&pending(), &m, now, "p") else {
            panic!("a pending booking's matching success sells")
        };
        // The store refused the sale; the booking is still pending: it expires, releasing the
        // seats it still holds.
        let d = refuse_lost_sale(&pending(), &payment, &m, now);
        assert_eq!(refund_reason(&d), Some((RefundReason::SeatsLost, true)));
        // It moved on meanwhile (the sweep expired it): decided again, refunded, its state kept.
        let expired = booking(Expired, Some(intent(PaymentStatus::Initiated)));
        let d = refuse_lost_sale(&expired, &payment, &m, now);
        assert_eq!(
            refund_reason(&d),
            Some((RefundReason::NoLongerPayable, false))
        );
        let Decision::Refund {
            payment: refunded, ..
        } = d
        else {
            unreachable!()
        };
        assert_eq!(refunded.payment_id, "pay_1");
    }

    /// The history checker's find (seed 20261202): one capture reported under two event ids in
    /// one batch; the first confirms, the second's sale is refused. Decided again from the fresh,
    /// CONFIRMED booking it is a duplicate: the sale it made is never refunded.
    #[test]
    fn a_refused_sale_of_a_booking_this_payment_confirmed_is_a_duplicate() {
        let m = message(PaymentOutcome::Succeeded);
        let Decision::Sell { payment, .. } = decide(&pending(), &m, in_time(), "p") else {
            panic!("a pending booking's matching success sells")
        };
        let confirmed = booking(Confirmed, Some(intent(PaymentStatus::Succeeded)));
        let d = refuse_lost_sale(&confirmed, &payment, &m, in_time());
        assert!(matches!(d, Decision::IgnoreDuplicate { .. }), "{d:?}");
    }

    #[test]
    fn a_sale_refused_for_a_cancelled_show_is_refunded_and_the_booking_cancelled() {
        let m = message(PaymentOutcome::Succeeded);
        let Decision::Sell { payment, .. } = decide(&pending(), &m, in_time(), "p") else {
            panic!("a pending booking's matching success sells")
        };
        let d = refuse_cancelled_show(&pending(), &payment, &m, in_time());
        assert_eq!(refund_reason(&d), Some((RefundReason::ShowCancelled, true)));
        assert_eq!(
            release_transition(RefundReason::ShowCancelled),
            Transition::CancelPending
        );
        assert_eq!(
            release_transition(RefundReason::SeatsLost),
            Transition::Expire
        );
        // Cancelled meanwhile by the show's cancellation: refunded as no longer payable, kept.
        let cancelled = booking(Cancelled, Some(intent(PaymentStatus::Initiated)));
        let d = refuse_cancelled_show(&cancelled, &payment, &m, in_time());
        assert_eq!(
            refund_reason(&d),
            Some((RefundReason::NoLongerPayable, false))
        );
        // Confirmed by this very payment under another event id: a duplicate, never a refund.
        let confirmed = booking(Confirmed, Some(intent(PaymentStatus::Succeeded)));
        let d = refuse_cancelled_show(&confirmed, &payment, &m, in_time());
        assert!(matches!(d, Decision::IgnoreDuplicate { .. }), "{d:?}");
    }

    #[test]
    fn late_failure_changes_nothing() {
        for status in [Expired, Cancelled, Failed, Confirmed] {
            let b = booking(status, Some(intent(PaymentStatus::Succeeded)));
            let d = decide(
                &b,
                &message(PaymentOutcome::Failed),
                at(HOLD_ENDS + 60),
                "p",
            );
            assert_eq!(
                d,
                Decision::Record {
                    payment: intent(PaymentStatus::Succeeded),
                    refund: None,
                    reason: RecordReason::FailureAfterTheFact
                },
                "{status:?}"
            );
        }
        // Without a record it remembers the failure.
        let b = booking(Expired, None);
        let d = decide(
            &b,
            &message(PaymentOutcome::Failed),
            at(HOLD_ENDS + 60),
            "pay_new",
        );
        let Decision::Record { payment, .. } = d else {
            panic!("{d:?}")
        };
        assert_eq!(
            (payment.payment_id.as_str(), payment.status),
            ("pay_new", PaymentStatus::Failed)
        );
    }

    #[test]
    fn mismatched_success_is_refunded_whatever_the_state() {
        let mut wrong_amount = message(PaymentOutcome::Succeeded);
        wrong_amount.amount = 999;
        let mut wrong_currency = message(PaymentOutcome::Succeeded);
        wrong_currency.currency = "USD".into();
        let mut wrong_intent = message(PaymentOutcome::Succeeded);
        wrong_intent.payment_intent_id = "pi_other".into();
        for m in [wrong_amount, wrong_currency, wrong_intent] {
            for status in [PaymentPending, Confirmed, Expired, Cancelled, Failed] {
                let b = booking(status, Some(intent(PaymentStatus::Initiated)));
                let d = decide(&b, &m, in_time(), "p");
                assert_eq!(
                    refund_reason(&d),
                    Some((RefundReason::Mismatch, status == PaymentPending)),
                    "{status:?} {m:?}"
                );
                let Decision::Refund { refund, .. } = d else {
                    unreachable!()
                };
                assert_eq!(refund.amount, m.amount, "the refund is what was paid");
            }
        }
        // Without an intent record any intent id matches.
        let mut other_intent = message(PaymentOutcome::Succeeded);
        other_intent.payment_intent_id = "pi_other".into();
        let d = decide(
            &booking(PaymentPending, None),
            &other_intent,
            in_time(),
            "p",
        );
        assert!(matches!(d, Decision::Sell { .. }), "{d:?}");
    }

    #[test]
    fn success_of_a_confirmed_booking_is_a_duplicate() {
        let b = booking(Confirmed, Some(intent(PaymentStatus::Succeeded)));
        let d = decide(&b, &message(PaymentOutcome::Succeeded), in_time(), "p");
        assert_eq!(
            d,
            Decision::IgnoreDuplicate {
                payment: intent(PaymentStatus::Succeeded)
            }
        );
    }

    #[test]
    fn success_of_a_failed_expired_cancelled_or_refunded_booking_is_refunded() {
        for status in [Failed, Expired, Cancelled, Refunded] {
            let b = booking(status, Some(intent(PaymentStatus::Initiated)));
            let d = decide(&b, &message(PaymentOutcome::Succeeded), in_time(), "p");
            assert_eq!(
                refund_reason(&d),
                Some((RefundReason::NoLongerPayable, false)),
                "{status:?}"
            );
        }
    }

    #[test]
    fn failure_of_a_pending_booking_fails_it() {
        let d = decide(&pending(), &message(PaymentOutcome::Failed), in_time(), "p");
        let Decision::Fail { payment } = d else {
            panic!("{d:?}")
        };
        assert_eq!(payment.status, PaymentStatus::Failed);
        assert_eq!(payment.payment_id, "pay_1");
    }

    #[test]
    fn provider_refund_completes_the_refund() {
        // One we initiated: its reason and time are kept.
        let mut b = booking(Cancelled, Some(intent(PaymentStatus::RefundInitiated)));
        b.refund = Some(RefundInfo::initiated(
            &Owed {
                booking_id: &b.booking_id,
                payment_intent_id: "pi_1",
                provider: "sandbox",
                amount: 1000,
                currency: "INR",
            },
            RefundReason::CancelledByCustomer,
            "2027-01-15T09:00:00Z",
        ));
        let d = decide(&b, &message(PaymentOutcome::Refunded), in_time(), "p");
        let Decision::Record {
            payment,
            refund: Some(refund),
            reason: RecordReason::ProviderRefunded,
        } = d
        else {
            panic!("{d:?}")
        };
        assert_eq!(payment.status, PaymentStatus::Refunded);
        assert_eq!(refund.status, "SUCCEEDED");
        assert_eq!(refund.reason, "cancelled by the customer");
        assert_eq!(refund.initiated_at, "2027-01-15T09:00:00Z");
        // One the provider made on its own, of a booking that is not CONFIRMED: recorded.
        for status in [PaymentPending, Expired, Failed] {
            let b = booking(status, Some(intent(PaymentStatus::Succeeded)));
            let d = decide(&b, &message(PaymentOutcome::Refunded), in_time(), "p");
            let Decision::Record {
                refund: Some(refund),
                ..
            } = d
            else {
                panic!("{d:?}")
            };
            assert_eq!(
                (
                    refund.status.as_str(),
                    refund.reason.as_str(),
                    refund.amount
                ),
                ("SUCCEEDED", "refunded by the provider", 1000)
            );
        }
    }

    fn refunded(amount: i64) -> PaymentMessage {
        PaymentMessage {
            amount,
            provider_refund_id: Some("re_1".into()),
            ..message(PaymentOutcome::Refunded)
        }
    }

    fn confirmed() -> Booking {
        booking(Confirmed, Some(intent(PaymentStatus::Succeeded)))
    }

    /// When the bookings' show starts.
    fn show_starts() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2027-01-16T18:00:00Z")
            .expect("valid")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_full_provider_refund_of_a_confirmed_booking_refunds_it() {
        // In full (or more: the provider's figure is what it refunded), before the show starts.
        for amount in [1000, 1200] {
            let d = decide(&confirmed(), &refunded(amount), in_time(), "p");
            let Decision::RefundedByProvider {
                payment,
                refund,
                free_seats,
            } = d
            else {
                panic!("{d:?}")
            };
            assert!(
                free_seats,
                "the show has not started: the seats are sold again"
            );
            assert_eq!(payment.status, PaymentStatus::Refunded);
            assert_eq!(
                (payment.payment_id.as_str(), payment.amount),
                ("pay_1", 1000),
                "the booking's own payment record, with what was paid"
            );
            assert_eq!(
                (
                    refund.status.as_str(),
                    refund.reason.as_str(),
                    refund.amount,
                    refund.provider_refund_id.as_deref(),
                    refund.refund_id.clone(),
                    refund.payment_intent_id.as_deref(),
                    refund.settled_at.as_deref(),
                ),
                (
                    "SUCCEEDED",
                    "refunded by the provider",
                    amount,
                    Some("re_1"),
                    Some(crate::domain::refund::refund_id("bk_1", "pi_1")),
                    Some("pi_1"),
                    Some(crate::clock::rfc3339(in_time()).as_str()),
                )
            );
        }
    }

    #[test]
    fn the_seats_of_a_refunded_booking_stay_sold_once_the_show_started_or_admitted() {
        let d = |b: &Booking, now| match decide(b, &refunded(1000), now, "p") {
            Decision::RefundedByProvider { free_seats, .. } => free_seats,
            other => panic!("{other:?}"),
        };
        let start = show_starts().timestamp();
        assert!(d(&confirmed(), at(start - 1)));
        assert!(!d(&confirmed(), at(start)), "started");
        assert!(!d(&confirmed(), at(start + 7200)), "over");
        let mut admitted = confirmed();
        admitted.admitted_at = Some("2027-01-16T17:30:00Z".into());
        assert!(!d(&admitted, at(start - 60)), "someone is in the seat");
        let mut unreadable = confirmed();
        unreadable.show_start = "soon".into();
        assert!(!d(&unreadable, in_time()), "never freed on a doubt");
    }

    #[test]
    fn a_partial_provider_refund_is_only_recorded() {
        let d = decide(&confirmed(), &refunded(400), in_time(), "p");
        assert_eq!(
            d,
            Decision::Record {
                // The payment record is left as it is: the sale stands.
                payment: intent(PaymentStatus::Succeeded),
                refund: Some(RefundInfo {
                    status: "SUCCEEDED".into(),
                    amount: 400,
                    reason: "refunded by the provider".into(),
                    initiated_at: crate::clock::rfc3339(in_time()),
                    refund_id: Some(crate::domain::refund::refund_id("bk_1", "pi_1")),
                    payment_intent_id: Some("pi_1".into()),
                    provider: Some("sandbox".into()),
                    currency: Some("INR".into()),
                    provider_refund_id: Some("re_1".into()),
                    settled_at: Some(crate::clock::rfc3339(in_time())),
                }),
                reason: RecordReason::ProviderRefunded,
            }
        );
        // The rest refunded later: the cumulative figure reaches the total, REFUNDED; the first
        // partial refund's start time is kept.
        let mut partly = confirmed();
        let Decision::Record { refund, .. } = d else {
            unreachable!()
        };
        partly.refund = refund;
        let d = decide(&partly, &refunded(1000), at(HOLD_ENDS + 600), "p");
        let Decision::RefundedByProvider { refund, .. } = d else {
            panic!("{d:?}")
        };
        assert_eq!(
            (refund.amount, refund.initiated_at),
            (1000, crate::clock::rfc3339(in_time()))
        );
    }

    #[test]
    fn a_provider_refund_of_another_intent_or_currency_never_refunds_the_sale() {
        let mut other_intent = refunded(1000);
        other_intent.payment_intent_id = "pi_other".into();
        let mut other_currency = refunded(1000);
        other_currency.currency = "USD".into();
        for m in [other_intent, other_currency] {
            let d = decide(&confirmed(), &m, in_time(), "p");
            let Decision::Record {
                payment,
                refund: Some(refund),
                ..
            } = d
            else {
                panic!("{d:?}")
            };
            assert_eq!(
                (payment.status, payment.payment_intent_id.as_str()),
                (PaymentStatus::Succeeded, "pi_1"),
                "{m:?}"
            );
            assert_eq!(
                refund.payment_intent_id.as_deref(),
                Some(m.payment_intent_id.as_str())
            );
        }
    }

    #[test]
    fn a_provider_refund_of_our_own_refund_only_confirms_it() {
        // A confirmed booking with a refund of ours on its intent (a mismatched capture's): the
        // provider's event settles ours, the booking stays CONFIRMED.
        let mut b = confirmed();
        b.refund = Some(RefundInfo::initiated(
            &Owed {
                booking_id: "bk_1",
                payment_intent_id: "pi_1",
                provider: "sandbox",
                amount: 1000,
                currency: "INR",
            },
            RefundReason::Mismatch,
            "2027-01-15T09:00:00Z",
        ));
        let d = decide(&b, &refunded(1000), in_time(), "p");
        let Decision::Record {
            refund: Some(refund),
            reason: RecordReason::ProviderRefunded,
            ..
        } = d
        else {
            panic!("{d:?}")
        };
        assert_eq!(
            (
                refund.status.as_str(),
                refund.reason.as_str(),
                refund.amount
            ),
            ("SUCCEEDED", "amount, currency or intent mismatch", 1000)
        );
    }
}
