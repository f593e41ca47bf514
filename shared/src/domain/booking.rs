//! The booking state machine. Only the contract's moves exist as `Transition`s; every persisted
//! transition is a conditional write on `from()`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BookingStatus {
    PaymentPending,
    Confirmed,
    Failed,
    Expired,
    Cancelled,
    /// The provider refunded the confirmed booking's payment in full on its own (not a refund we
    /// initiated): its ticket is revoked (`domain::payment`, `Decision::RefundedByProvider`).
    Refunded,
}

impl BookingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BookingStatus::PaymentPending => "PAYMENT_PENDING",
            BookingStatus::Confirmed => "CONFIRMED",
            BookingStatus::Failed => "FAILED",
            BookingStatus::Expired => "EXPIRED",
            BookingStatus::Cancelled => "CANCELLED",
            BookingStatus::Refunded => "REFUNDED",
        }
    }

    pub fn is_terminal(self) -> bool {
        !matches!(
            self,
            BookingStatus::PaymentPending | BookingStatus::Confirmed
        )
    }
}

/// Every move the contract allows: `PAYMENT_PENDING → CONFIRMED | FAILED | EXPIRED | CANCELLED`,
/// `CONFIRMED → CANCELLED` (with refund), `CONFIRMED → REFUNDED` (refunded in full by the provider).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Confirm,
    Fail,
    Expire,
    CancelPending,
    CancelConfirmed,
    RefundByProvider,
}

impl Transition {
    pub const ALL: [Transition; 6] = [
        Transition::Confirm,
        Transition::Fail,
        Transition::Expire,
        Transition::CancelPending,
        Transition::CancelConfirmed,
        Transition::RefundByProvider,
    ];

    pub fn from(self) -> BookingStatus {
        match self {
            Transition::CancelConfirmed | Transition::RefundByProvider => BookingStatus::Confirmed,
            _ => BookingStatus::PaymentPending,
        }
    }

    pub fn to(self) -> BookingStatus {
        match self {
            Transition::Confirm => BookingStatus::Confirmed,
            Transition::Fail => BookingStatus::Failed,
            Transition::Expire => BookingStatus::Expired,
            Transition::CancelPending | Transition::CancelConfirmed => BookingStatus::Cancelled,
            Transition::RefundByProvider => BookingStatus::Refunded,
        }
    }

    /// The transition from `from` to `to`, if the contract allows that move.
    pub fn between(from: BookingStatus, to: BookingStatus) -> Option<Transition> {
        Transition::ALL
            .into_iter()
            .find(|t| t.from() == from && t.to() == to)
    }
}

#[cfg(test)]
mod tests {
    use super::{BookingStatus::*, *};

    #[test]
    fn only_the_contract_moves_exist() {
        let all = [
            PaymentPending,
            Confirmed,
            Failed,
            Expired,
            Cancelled,
            Refunded,
        ];
        let allowed: Vec<(BookingStatus, BookingStatus)> = vec![
            (PaymentPending, Confirmed),
            (PaymentPending, Failed),
            (PaymentPending, Expired),
            (PaymentPending, Cancelled),
            (Confirmed, Cancelled),
            (Confirmed, Refunded),
        ];
        for from in all {
            for to in all {
                assert_eq!(
                    Transition::between(from, to).is_some(),
                    allowed.contains(&(from, to)),
                    "{from:?} → {to:?}"
                );
            }
        }
        assert!(Failed.is_terminal() && Expired.is_terminal() && Cancelled.is_terminal());
        assert!(Refunded.is_terminal());
        assert_eq!(serde_json::to_value(Refunded).ok(), Some("REFUNDED".into()));
        assert_eq!(Refunded.as_str(), "REFUNDED");
        assert!(!PaymentPending.is_terminal() && !Confirmed.is_terminal());
    }
}

use super::{
    layout::{Block, SeatPlace, SeatType},
    pricing::Pricing,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookedSeat {
    pub seat_id: String,
    #[serde(rename = "type")]
    pub seat_type: SeatType,
    pub price: i64,
    /// The layout block the seat's item is kept in (`layout::SEATS_PER_BLOCK`).
    pub block: Block,
}

impl BookedSeat {
    pub fn place(&self) -> SeatPlace {
        SeatPlace {
            block: self.block,
            seat_id: self.seat_id.clone(),
        }
    }
}

/// A coupon a booking used; `limited` when it counts against a per-user limit (and is given back
/// when the booking does not go through).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponUse {
    pub code: String,
    pub limited: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    pub booking_id: String,
    pub user_id: String,
    pub show_id: String,
    pub theatre_id: String,
    pub city_id: String,
    /// UTC, RFC 3339.
    pub show_start: String,
    pub time_zone: String,
    pub status: BookingStatus,
    pub seats: Vec<BookedSeat>,
    pub pricing: Pricing,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<CouponUse>,
    /// When the seat hold lapses (epoch seconds). Not `expires_at`: that is the table's TTL attribute.
    pub hold_expires_at: i64,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<RefundInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<TicketInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admitted_at: Option<String>,
    /// Whether the hold added its seats to the customer's per-show seat cap counter (every hold
    /// since the cap exists), so leaving the seats gives them back; false for older bookings.
    #[serde(default)]
    pub counts_toward_seat_cap: bool,
    /// Where it was sold (`domain::channel`): the app, the theatre's counter or another platform.
    /// The app's own (most bookings) is left unwritten: no extra bytes on the rush path.
    #[serde(default, skip_serializing_if = "super::channel::Source::is_app")]
    pub source: super::channel::Source,
    /// A counter sale's buyer, when the box office asked (app bookings have their account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    /// The customer's loyalty points on it (`domain::loyalty`): what the hold redeemed and what
    /// confirming it earns. Absent where the city has no loyalty terms and none were redeemed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<super::loyalty::BookingPoints>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    Initiated,
    Succeeded,
    Failed,
    RefundInitiated,
    Refunded,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Initiated => "INITIATED",
            PaymentStatus::Succeeded => "SUCCEEDED",
            PaymentStatus::Failed => "FAILED",
            PaymentStatus::RefundInitiated => "REFUND_INITIATED",
            PaymentStatus::Refunded => "REFUNDED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentInfo {
    pub payment_id: String,
    pub provider: String,
    pub payment_intent_id: String,
    pub amount: i64,
    pub currency: String,
    pub status: PaymentStatus,
    pub redirect_url: String,
    pub created_at: String,
}

/// A refund as the booking shows it; the refund's own record (`store::refunds`) is the source of
/// truth that the refund worker pays from (see `domain::refund`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundInfo {
    /// `INITIATED`, then `SUCCEEDED` once the provider paid it (or `FAILED`, for an operator).
    pub status: String,
    pub amount: i64,
    pub reason: String,
    pub initiated_at: String,
    /// One per (booking, payment intent): `domain::refund::refund_id`. Absent on refunds recorded
    /// before refund records existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_intent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// The provider's id of the refund it paid (`re_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_refund_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketInfo {
    pub ticket_id: String,
    pub qr_code_data: String,
    pub seat_ids: Vec<String>,
}

impl RefundInfo {
    /// A refund of what is `owed`, initiated at `at`, for `reason`: the one place a refund is
    /// made. Its id is the booking's and the payment intent's (`domain::refund::refund_id`).
    pub fn initiated(
        owed: &super::refund::Owed,
        reason: super::payment::RefundReason,
        at: &str,
    ) -> RefundInfo {
        RefundInfo {
            status: super::refund::INITIATED.into(),
            amount: owed.amount,
            reason: reason.as_str().into(),
            initiated_at: at.into(),
            refund_id: Some(super::refund::refund_id(
                owed.booking_id,
                owed.payment_intent_id,
            )),
            payment_intent_id: Some(owed.payment_intent_id.into()),
            provider: Some(owed.provider.into()),
            currency: Some(owed.currency.into()),
            provider_refund_id: None,
            settled_at: None,
        }
    }
}

impl Booking {
    pub fn seat_ids(&self) -> Vec<String> {
        self.seats.iter().map(|s| s.seat_id.clone()).collect()
    }

    /// Where each seat's item is kept, in the booking's seat order.
    pub fn seat_places(&self) -> Vec<SeatPlace> {
        self.seats.iter().map(BookedSeat::place).collect()
    }
}

// ---- The hold: a new booking's seats, prices and terms ----

use super::{catalog::Show, city::City, pricing::Offer};
use chrono::{DateTime, Utc};

/// A booking holds 1–this many seats.
pub const MAX_SEATS: usize = 10;

/// The terms every hold gets (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct HoldPolicy {
    /// How long seats stay held without payment.
    pub hold_seconds: i64,
}

/// Who asks for which seats.
#[derive(Debug, Clone, Copy)]
pub struct HoldRequest<'a> {
    pub booking_id: &'a str,
    pub user_id: &'a str,
    pub seat_ids: &'a [String],
    pub offer: Option<&'a Offer>,
    /// Loyalty points the customer asks to redeem (0 for none).
    pub redeem_points: i64,
}

/// Why a hold is refused before anything is written (each is the caller's 4xx, except
/// `BadShowRecord`, a stored show we cannot read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldRefusal {
    /// Not 1–`MAX_SEATS` seats.
    SeatCount,
    DuplicateSeats(Vec<String>),
    NotBookable(&'static str),
    UnknownSeats(Vec<String>),
    /// The offer does not apply (its own message).
    Offer(String),
    /// Points cannot be redeemed here (its own message).
    Points(String),
    BadShowRecord(String),
}

/// Request validation, before anything is read: 1–`MAX_SEATS` distinct seats.
pub fn check_seat_ids(seat_ids: &[String]) -> Result<(), HoldRefusal> {
    if seat_ids.is_empty() || seat_ids.len() > MAX_SEATS {
        return Err(HoldRefusal::SeatCount);
    }
    let mut seen = std::collections::HashSet::new();
    let duplicates: Vec<String> = seat_ids
        .iter()
        .filter(|s| !seen.insert(s.as_str()))
        .cloned()
        .collect();
    if !duplicates.is_empty() {
        return Err(HoldRefusal::DuplicateSeats(duplicates));
    }
    Ok(())
}

/// The show can be booked at `now` and has every seat asked for (before the offer is looked up).
pub fn check_show(show: &Show, seat_ids: &[String], now: DateTime<Utc>) -> Result<(), HoldRefusal> {
    let start = DateTime::parse_from_rfc3339(&show.start_time)
        .map_err(|e| HoldRefusal::BadShowRecord(format!("show {}: {e}", show.show_id)))?;
    if let Some(reason) = super::show::not_bookable_reason(show.status, start.into(), now) {
        return Err(HoldRefusal::NotBookable(reason));
    }
    let unknown: Vec<String> = seat_ids
        .iter()
        .filter(|s| show.layout.seat(s).is_none())
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(HoldRefusal::UnknownSeats(unknown));
    }
    Ok(())
}

/// The booking a hold writes: the request validated, the show bookable and holding every seat,
/// each seat at the show's price for its type, the offer, the city's fee and tax
/// (`pricing::price`), PAYMENT_PENDING until `now` + the hold time. Rules in order: seat count,
/// distinct seats, bookable show, known seats, offer.
pub fn new_hold(
    show: &Show,
    city: &City,
    request: &HoldRequest,
    policy: &HoldPolicy,
    now: DateTime<Utc>,
) -> Result<Booking, HoldRefusal> {
    check_seat_ids(request.seat_ids)?;
    check_show(show, request.seat_ids, now)?;
    let mut priced = Vec::with_capacity(request.seat_ids.len());
    let mut blocks = Vec::with_capacity(request.seat_ids.len());
    for id in request.seat_ids {
        let bad_record = || {
            HoldRefusal::BadShowRecord(format!("show {} has no price for seat {id}", show.show_id))
        };
        let (seat_type, price) = show.seat_price(id).ok_or_else(bad_record)?;
        // `check_show` found every seat in the layout, so every seat has a place.
        blocks.push(show.layout.place(id).ok_or_else(bad_record)?.block);
        priced.push(super::pricing::PricedSeat {
            seat_id: id,
            seat_type,
            price,
        });
    }
    let charges = super::pricing::Charges {
        currency: &show.currency,
        fee_per_ticket: city.convenience_fee_per_ticket,
        tax_basis_points: city.tax_basis_points,
    };
    let ctx = super::pricing::BookingContext {
        city_id: &show.city_id,
        theatre_id: &show.theatre_id,
        show_date: &show.local_date,
    };
    let redeem = points_to_redeem(city, request.redeem_points)?;
    let pricing = super::pricing::price(&priced, &charges, request.offer, redeem, &ctx)
        .map_err(HoldRefusal::Offer)?;
    let points = city.loyalty.map(|rate| super::loyalty::BookingPoints {
        redeemed: pricing.points_redeemed,
        earns: rate.points_earned(pricing.total),
    });
    Ok(Booking {
        booking_id: request.booking_id.to_owned(),
        user_id: request.user_id.to_owned(),
        show_id: show.show_id.clone(),
        theatre_id: show.theatre_id.clone(),
        city_id: show.city_id.clone(),
        show_start: show.start_time.clone(),
        time_zone: show.time_zone.clone(),
        status: BookingStatus::PaymentPending,
        seats: priced
            .iter()
            .zip(blocks)
            .map(|(p, block)| BookedSeat {
                seat_id: p.seat_id.to_owned(),
                seat_type: p.seat_type,
                price: p.price,
                block,
            })
            .collect(),
        pricing,
        coupon: request.offer.map(|o| CouponUse {
            code: o.code.clone(),
            limited: o.per_user_limit.is_some(),
        }),
        hold_expires_at: now.timestamp() + policy.hold_seconds,
        created_at: crate::clock::rfc3339(now),
        confirmed_at: None,
        cancelled_at: None,
        payment: None,
        refund: None,
        ticket: None,
        admitted_at: None,
        counts_toward_seat_cap: true,
        source: super::channel::Source::App,
        customer_email: None,
        points: points.filter(|p| *p != super::loyalty::BookingPoints::default()),
    })
}

/// The points a hold asks to redeem, at the city's rate: none asked, none redeemed; asked where
/// the city takes none, or more than `loyalty::MAX_REDEEM`, a refusal.
fn points_to_redeem(
    city: &City,
    requested: i64,
) -> Result<Option<super::pricing::PointsToRedeem>, HoldRefusal> {
    if requested == 0 {
        return Ok(None);
    }
    if !(1..=super::loyalty::MAX_REDEEM).contains(&requested) {
        return Err(HoldRefusal::Points(format!(
            "redeemPoints must be 1–{}",
            super::loyalty::MAX_REDEEM
        )));
    }
    let rate = city.loyalty.ok_or_else(|| {
        HoldRefusal::Points(format!(
            "loyalty points are not redeemable in {}",
            city.name
        ))
    })?;
    Ok(Some(super::pricing::PointsToRedeem { requested, rate }))
}

// ---- Cancellation and expiry ----

/// True once a hold that ends at `hold_expires_at` (epoch seconds) has lapsed at `now`: the
/// expiry rule. The sweep's pending-index cut (`gsi2sk < now#`, `store::sweeps`) and the
/// start-payment condition (`hold_expires_at >= now`) are this rule written as DynamoDB conditions.
pub fn hold_lapsed(hold_expires_at: i64, now: i64) -> bool {
    now > hold_expires_at
}

/// What cancelling a booking does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancellation {
    /// Already CANCELLED: answered as it is (cancelling is idempotent).
    AlreadyCancelled,
    /// `PAYMENT_PENDING → CANCELLED`, the seats free at once.
    ReleasePending,
    /// `CONFIRMED → CANCELLED`, the seats free, the total refunded.
    Refund(super::payment::RefundReason),
    /// Another platform's block (`OTHER_PLATFORM`: sold and paid there): `CONFIRMED →
    /// CANCELLED`, the seats free, nothing to refund here, whatever the time.
    ReleaseBlock,
    /// CONFIRMED, but the cut-off before the show has passed.
    PastCutoff { cutoff_minutes: i64 },
    /// FAILED, EXPIRED or REFUNDED: nothing to cancel.
    NotCancellable(BookingStatus),
}

/// The customer's (or an admin's) cancellation at `now`: confirmed bookings until
/// `cutoff_minutes` before the show (the cancellation cut-off), pending ones always, another
/// platform's block always (its own platform's terms apply to its buyer). `Err` when
/// the stored show start is unreadable.
pub fn cancel_by_customer(
    booking: &Booking,
    now: DateTime<Utc>,
    cutoff_minutes: i64,
) -> Result<Cancellation, String> {
    Ok(match booking.status {
        BookingStatus::Cancelled => Cancellation::AlreadyCancelled,
        BookingStatus::PaymentPending => Cancellation::ReleasePending,
        BookingStatus::Confirmed if booking.source == super::channel::Source::OtherPlatform => {
            Cancellation::ReleaseBlock
        }
        BookingStatus::Confirmed => {
            let start = DateTime::parse_from_rfc3339(&booking.show_start)
                .map_err(|e| format!("booking {}: show start: {e}", booking.booking_id))?;
            let cutoff = start.timestamp() - cutoff_minutes * 60;
            if now.timestamp() >= cutoff {
                Cancellation::PastCutoff { cutoff_minutes }
            } else {
                Cancellation::Refund(super::payment::RefundReason::CancelledByCustomer)
            }
        }
        status @ (BookingStatus::Failed | BookingStatus::Expired | BookingStatus::Refunded) => {
            Cancellation::NotCancellable(status)
        }
    })
}

/// A cancelled show's bookings: pending ones cancelled, confirmed ones refunded whatever the
/// time (no cut-off: the show is not happening), other platforms' blocks released (their money
/// is refunded where it was paid), the rest left as they are (a REFUNDED one was
/// paid back already).
pub fn cancel_for_show(booking: &Booking) -> Cancellation {
    match booking.status {
        BookingStatus::PaymentPending => Cancellation::ReleasePending,
        BookingStatus::Confirmed if booking.source == super::channel::Source::OtherPlatform => {
            Cancellation::ReleaseBlock
        }
        BookingStatus::Confirmed => {
            Cancellation::Refund(super::payment::RefundReason::ShowCancelled)
        }
        BookingStatus::Cancelled => Cancellation::AlreadyCancelled,
        status @ (BookingStatus::Failed | BookingStatus::Expired | BookingStatus::Refunded) => {
            Cancellation::NotCancellable(status)
        }
    }
}

#[cfg(test)]
pub(super) mod hold_tests {
    use super::*;
    use crate::domain::{
        layout::{Layout, Row, Seat, SeatType},
        pricing::{OfferRule, OfferScope},
        show::ShowStatus,
    };
    use chrono::TimeZone as _;

    /// 2027-01-15T08:00Z, the day before `show()` starts (also the channel tests' fixture).
    pub(in crate::domain) fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 1, 15, 8, 0, 0)
            .single()
            .expect("valid")
    }

    /// Three seats: A1 and A2 REGULAR at 200, A3 PREMIUM at 350; starts 2027-01-16T18:00Z.
    pub(in crate::domain) fn show() -> Show {
        let seat = |id: &str, seat_type| Seat {
            seat_id: id.into(),
            seat_type,
        };
        Show {
            show_id: "sh_1".into(),
            theatre_id: "th_1".into(),
            theatre_name: "T".into(),
            partner_id: "usr_p".into(),
            screen_id: "scr_1".into(),
            screen_name: "1".into(),
            movie_id: "mv_1".into(),
            movie_title: "M".into(),
            city_id: "blr".into(),
            time_zone: "Asia/Kolkata".into(),
            start_time: "2027-01-16T18:00:00Z".into(),
            end_time: "2027-01-16T20:00:00Z".into(),
            local_date: "2027-01-16".into(),
            language: "en".into(),
            format: "2D".into(),
            currency: "INR".into(),
            prices: [(SeatType::Regular, 200), (SeatType::Premium, 350)]
                .into_iter()
                .collect(),
            layout: Layout {
                rows: vec![Row {
                    row_label: "A".into(),
                    seats: vec![
                        seat("A1", SeatType::Regular),
                        seat("A2", SeatType::Regular),
                        seat("A3", SeatType::Premium),
                    ],
                }],
            },
            capacity: 3,
            status: ShowStatus::Scheduled,
            slots: vec![],
            max_seats_per_customer: None,
            queue_mode: false,
        }
    }

    /// A fee of 20 a ticket, 18 % tax.
    pub(in crate::domain) fn city() -> City {
        City {
            city_id: "blr".into(),
            name: "Bengaluru".into(),
            time_zone: "Asia/Kolkata".into(),
            currency: "INR".into(),
            convenience_fee_per_ticket: 20,
            tax_basis_points: 1800,
            loyalty: Some(crate::domain::loyalty::LoyaltyRate {
                earn_basis_points: 500,
                point_value: 10,
            }),
        }
    }

    fn ids(seats: &[&str]) -> Vec<String> {
        seats.iter().map(|s| s.to_string()).collect()
    }

    fn hold(show: &Show, seats: &[&str], offer: Option<&Offer>) -> Result<Booking, HoldRefusal> {
        let seat_ids = ids(seats);
        let request = HoldRequest {
            booking_id: "bk_1",
            user_id: "usr_c",
            seat_ids: &seat_ids,
            offer,
            redeem_points: 0,
        };
        new_hold(
            show,
            &city(),
            &request,
            &HoldPolicy { hold_seconds: 300 },
            now(),
        )
    }

    #[test]
    fn a_hold_prices_each_seat_by_its_type_and_adds_fee_and_tax() {
        let b = hold(&show(), &["A1", "A3"], None).expect("holds");
        assert_eq!(b.status, BookingStatus::PaymentPending);
        assert_eq!(
            b.seats
                .iter()
                .map(|s| (s.seat_id.as_str(), s.seat_type, s.price))
                .collect::<Vec<_>>(),
            vec![
                ("A1", SeatType::Regular, 200),
                ("A3", SeatType::Premium, 350)
            ]
        );
        // 550 + 2 × 20 fees, 18 % tax on 590 = 106.2 → 106.
        assert_eq!(
            (
                b.pricing.subtotal,
                b.pricing.fees,
                b.pricing.tax,
                b.pricing.total
            ),
            (550, 40, 106, 696)
        );
        assert_eq!(b.hold_expires_at, now().timestamp() + 300);
        assert_eq!(b.created_at, "2027-01-15T08:00:00Z");
        assert_eq!(
            (
                b.booking_id.as_str(),
                b.user_id.as_str(),
                b.show_start.as_str()
            ),
            ("bk_1", "usr_c", "2027-01-16T18:00:00Z")
        );
        assert_eq!(b.coupon, None);
    }

    #[test]
    fn holds_are_refused_in_rule_order() {
        let eleven: Vec<String> = (0..11).map(|i| format!("A{i}")).collect();
        let eleven: Vec<&str> = eleven.iter().map(String::as_str).collect();
        let mut cancelled = show();
        cancelled.status = ShowStatus::Cancelled;
        let mut started = show();
        started.start_time = "2027-01-15T07:59:59Z".into();
        let mut unpriced = show();
        unpriced.prices.remove(&SeatType::Premium);
        let mut unreadable = show();
        unreadable.start_time = "tomorrow".into();
        let cases: Vec<(&str, Show, Vec<&str>, HoldRefusal)> = vec![
            ("no seats", show(), vec![], HoldRefusal::SeatCount),
            ("eleven seats", show(), eleven, HoldRefusal::SeatCount),
            (
                "a seat twice",
                show(),
                vec!["A1", "A2", "A1"],
                HoldRefusal::DuplicateSeats(ids(&["A1"])),
            ),
            (
                "duplicates before bookability",
                cancelled.clone(),
                vec!["A1", "A1"],
                HoldRefusal::DuplicateSeats(ids(&["A1"])),
            ),
            (
                "cancelled show",
                cancelled,
                vec!["Z9"],
                HoldRefusal::NotBookable("The show has been cancelled."),
            ),
            (
                "started show",
                started,
                vec!["A1"],
                HoldRefusal::NotBookable("The show has already started."),
            ),
            (
                "unknown seats",
                show(),
                vec!["A1", "Z9", "B1"],
                HoldRefusal::UnknownSeats(ids(&["Z9", "B1"])),
            ),
            (
                "a seat type without a price",
                unpriced,
                vec!["A3"],
                HoldRefusal::BadShowRecord("show sh_1 has no price for seat A3".into()),
            ),
        ];
        for (name, show, seats, want) in cases {
            assert_eq!(hold(&show, &seats, None), Err(want), "{name}");
        }
        assert!(matches!(
            hold(&unreadable, &["A1"], None),
            Err(HoldRefusal::BadShowRecord(_))
        ));
    }

    #[test]
    fn offers_apply_or_refuse_the_hold() {
        let offer = |rule, per_user_limit, active| Offer {
            code: "SAVE".into(),
            description: "d".into(),
            rule,
            scope: OfferScope::default(),
            per_user_limit,
            active,
        };
        let flat = offer(
            OfferRule::FlatOff {
                amount: 50,
                min_subtotal: 0,
            },
            Some(1),
            true,
        );
        let b = hold(&show(), &["A1"], Some(&flat)).expect("applies");
        assert_eq!(b.pricing.discount, 50);
        assert_eq!(
            b.coupon,
            Some(CouponUse {
                code: "SAVE".into(),
                limited: true
            })
        );
        let unlimited = offer(OfferRule::Third50 {}, None, true);
        assert_eq!(
            hold(&show(), &["A1"], Some(&unlimited)),
            Err(HoldRefusal::Offer(
                "coupon SAVE needs at least 3 tickets".into()
            ))
        );
        let b = hold(&show(), &["A1", "A2", "A3"], Some(&unlimited)).expect("applies");
        assert_eq!(b.coupon.map(|c| c.limited), Some(false));
        let inactive = offer(OfferRule::Third50 {}, None, false);
        assert!(matches!(
            hold(&show(), &["A1"], Some(&inactive)),
            Err(HoldRefusal::Offer(_))
        ));
    }

    #[test]
    fn a_hold_redeems_points_and_fixes_what_it_earns() {
        use crate::domain::loyalty::BookingPoints;
        let with_points = |seats: &[&str], redeem_points, city: &City| {
            let seat_ids = ids(seats);
            let request = HoldRequest {
                booking_id: "bk_1",
                user_id: "usr_c",
                seat_ids: &seat_ids,
                offer: None,
                redeem_points,
            };
            new_hold(
                &show(),
                city,
                &request,
                &HoldPolicy { hold_seconds: 300 },
                now(),
            )
        };
        // A1 at 200 + fee 20, 18 % tax: 260 total; 5 % back at 10 a point earns 1 point.
        let b = with_points(&["A1"], 0, &city()).expect("holds");
        assert_eq!(
            b.points,
            Some(BookingPoints {
                redeemed: 0,
                earns: 1
            })
        );
        // 15 points × 10 off the 200: taxable 50 + 20 fee → 13 tax (12.6), total 83; earns 0.
        let b = with_points(&["A1"], 15, &city()).expect("holds");
        assert_eq!(
            (
                b.pricing.discount,
                b.pricing.points_redeemed,
                b.pricing.total
            ),
            (150, 15, 83)
        );
        assert_eq!(
            b.points,
            Some(BookingPoints {
                redeemed: 15,
                earns: 0
            })
        );
        // More points than the tickets cost: only what they cost (20 × 10 = 200).
        let b = with_points(&["A1"], 500, &city()).expect("holds");
        assert_eq!((b.pricing.points_redeemed, b.pricing.discount), (20, 200));
        let mut plain = city();
        plain.loyalty = None;
        let b = with_points(&["A1"], 0, &plain).expect("holds");
        assert_eq!(b.points, None, "a city without loyalty earns nothing");
        for (redeem, city, why) in [
            (5, plain, "not redeemable in Bengaluru"),
            (-1, city(), "redeemPoints must be 1–1000000"),
            (1_000_001, city(), "redeemPoints must be 1–1000000"),
        ] {
            match with_points(&["A1"], redeem, &city) {
                Err(HoldRefusal::Points(m)) => assert!(m.contains(why), "{m}"),
                other => panic!("{redeem}: {other:?}"),
            }
        }
    }

    #[test]
    fn refusals_are_the_contract_errors() {
        use crate::ApiError;
        let e = ApiError::from(HoldRefusal::SeatCount);
        assert_eq!(e.to_string(), "seatIds must list 1–10 seats.");
        let e = ApiError::from(HoldRefusal::UnknownSeats(ids(&["Z9"])));
        assert_eq!(
            e.details(),
            Some(serde_json::json!({ "unknownSeatIds": ["Z9"] }))
        );
        let e = ApiError::from(HoldRefusal::DuplicateSeats(ids(&["A1"])));
        assert_eq!(
            e.details(),
            Some(serde_json::json!({ "duplicateSeatIds": ["A1"] }))
        );
        assert!(matches!(
            ApiError::from(HoldRefusal::NotBookable("x")),
            ApiError::ShowNotBookable(_)
        ));
        assert!(matches!(
            ApiError::from(HoldRefusal::BadShowRecord("x".into())),
            ApiError::Internal(_)
        ));
    }

    fn booked(status: BookingStatus) -> Booking {
        let mut b = hold(&show(), &["A1"], None).expect("holds");
        b.status = status;
        b
    }

    #[test]
    fn customers_cancel_pending_always_and_confirmed_until_the_cutoff() {
        use crate::domain::payment::RefundReason;
        use BookingStatus::*;
        // The show starts 2027-01-16T18:00Z; a 120-minute cut-off is 16:00Z.
        let at = |h, m, s| {
            Utc.with_ymd_and_hms(2027, 1, 16, h, m, s)
                .single()
                .expect("valid")
        };
        let cases = [
            (PaymentPending, at(17, 59, 0), Cancellation::ReleasePending),
            (Cancelled, at(19, 0, 0), Cancellation::AlreadyCancelled),
            (
                Confirmed,
                at(15, 59, 59),
                Cancellation::Refund(RefundReason::CancelledByCustomer),
            ),
            (
                Confirmed,
                at(16, 0, 0),
                Cancellation::PastCutoff {
                    cutoff_minutes: 120,
                },
            ),
            (
                Confirmed,
                at(18, 30, 0),
                Cancellation::PastCutoff {
                    cutoff_minutes: 120,
                },
            ),
            (Failed, at(8, 0, 0), Cancellation::NotCancellable(Failed)),
            (Expired, at(8, 0, 0), Cancellation::NotCancellable(Expired)),
            (
                Refunded,
                at(8, 0, 0),
                Cancellation::NotCancellable(Refunded),
            ),
        ];
        for (status, now, want) in cases {
            assert_eq!(
                cancel_by_customer(&booked(status), now, 120),
                Ok(want),
                "{status:?} at {now}"
            );
        }
        let mut unreadable = booked(Confirmed);
        unreadable.show_start = "soon".into();
        assert!(cancel_by_customer(&unreadable, at(8, 0, 0), 120).is_err());
        // Another platform's block is released, before or past the cut-off: nothing paid here.
        let mut block = booked(Confirmed);
        block.source = crate::domain::channel::Source::OtherPlatform;
        for now in [at(15, 0, 0), at(17, 0, 0)] {
            assert_eq!(
                cancel_by_customer(&block, now, 120),
                Ok(Cancellation::ReleaseBlock)
            );
        }
        // A counter sale is refunded as an app booking is.
        block.source = crate::domain::channel::Source::WalkIn;
        assert_eq!(
            cancel_by_customer(&block, at(15, 0, 0), 120),
            Ok(Cancellation::Refund(RefundReason::CancelledByCustomer))
        );
    }

    #[test]
    fn a_cancelled_show_cancels_pending_and_refunds_confirmed_bookings() {
        use crate::domain::payment::RefundReason;
        use BookingStatus::*;
        let cases = [
            (PaymentPending, Cancellation::ReleasePending),
            (Confirmed, Cancellation::Refund(RefundReason::ShowCancelled)),
            (Cancelled, Cancellation::AlreadyCancelled),
            (Failed, Cancellation::NotCancellable(Failed)),
            (Expired, Cancellation::NotCancellable(Expired)),
            (Refunded, Cancellation::NotCancellable(Refunded)),
        ];
        for (status, want) in cases {
            assert_eq!(cancel_for_show(&booked(status)), want, "{status:?}");
        }
        let mut block = booked(Confirmed);
        block.source = crate::domain::channel::Source::OtherPlatform;
        assert_eq!(cancel_for_show(&block), Cancellation::ReleaseBlock);
    }

    #[test]
    fn a_hold_lapses_after_its_last_second() {
        assert!(!hold_lapsed(100, 99));
        assert!(!hold_lapsed(100, 100));
        assert!(hold_lapsed(100, 101));
    }
}
