//! Sales channels: where a booking was sold (`Source`), and the box office's counter sale, a
//! booking sold and paid in one go (`counter_sale`). A counter sale takes its seats under the
//! very conditions of an app hold (`store::seats::SEAT_AVAILABLE`), in one transaction, so the
//! counter and the app share one inventory and never sell a seat twice.

use super::{
    booking::{
        new_hold, Booking, BookingStatus, HoldPolicy, HoldRefusal, HoldRequest, PaymentInfo,
        PaymentStatus,
    },
    catalog::Show,
    city::City,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a booking was sold. Bookings written before channels existed were all sold in the app,
/// so a missing source reads as `App`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Source {
    #[default]
    App,
    /// Sold at the theatre's counter for cash.
    WalkIn,
    /// Sold at the theatre's counter on a card terminal.
    Pos,
    /// Sold by another platform and blocked here.
    OtherPlatform,
}

impl Source {
    pub const ALL: [Source; 4] = [
        Source::App,
        Source::WalkIn,
        Source::Pos,
        Source::OtherPlatform,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::App => "APP",
            Source::WalkIn => "WALK_IN",
            Source::Pos => "POS",
            Source::OtherPlatform => "OTHER_PLATFORM",
        }
    }

    /// True for the app's own bookings (the default, which seat items leave unwritten).
    pub fn is_app(&self) -> bool {
        *self == Source::App
    }
}

/// How a counter sale was paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CounterPayment {
    Cash,
    CardPresent,
}

impl CounterPayment {
    /// The channel a counter sale is counted under: cash over the counter is a walk-in sale, a
    /// card on the counter's terminal a point-of-sale one.
    pub fn source(self) -> Source {
        match self {
            CounterPayment::Cash => Source::WalkIn,
            CounterPayment::CardPresent => Source::Pos,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CounterPayment::Cash => "CASH",
            CounterPayment::CardPresent => "CARD_PRESENT",
        }
    }
}

/// The payment provider of counter sales: the money changed hands at the counter, so its refund
/// is paid back there too (the refund worker settles it without calling anyone).
pub const COUNTER_PROVIDER: &str = "counter";

/// Who sells which seats at the counter.
#[derive(Debug, Clone, Copy)]
pub struct CounterSaleRequest<'a> {
    pub booking_id: &'a str,
    pub payment_id: &'a str,
    /// The partner selling: the booking's owner (who may cancel and refund it).
    pub seller_id: &'a str,
    pub seat_ids: &'a [String],
    pub payment: CounterPayment,
    /// The buyer's (normalised) email, for the box office's receipt.
    pub customer_email: Option<&'a str>,
}

/// The booking a counter sale writes: the seats and prices a hold of them would get (the same
/// rules in the same order: seat count, distinct seats, bookable show, known seats), without the
/// city's convenience fee (the app's booking fee) but with its tax, CONFIRMED and paid at `now`.
/// No coupon applies at the counter, and the sale counts toward no customer's seat cap (the
/// cap limits what one app account can hold).
pub fn counter_sale(
    show: &Show,
    city: &City,
    request: &CounterSaleRequest,
    now: DateTime<Utc>,
) -> Result<Booking, HoldRefusal> {
    let mut booking = sold_outright(
        show,
        city,
        request.booking_id,
        request.seller_id,
        request.seat_ids,
        request.payment.source(),
        now,
    )?;
    booking.customer_email = request.customer_email.map(str::to_owned);
    booking.payment = Some(PaymentInfo {
        payment_id: request.payment_id.to_owned(),
        provider: COUNTER_PROVIDER.into(),
        // One payment per counter sale: its refund's id follows from the booking's
        // (`domain::refund::refund_id`), as for an app payment's intent.
        payment_intent_id: format!(
            "{}_{}",
            request.payment.as_str().to_lowercase(),
            request.booking_id
        ),
        amount: booking.pricing.total,
        currency: booking.pricing.currency.clone(),
        status: PaymentStatus::Succeeded,
        redirect_url: String::new(),
        created_at: crate::clock::rfc3339(now),
    });
    Ok(booking)
}

/// Seats another platform sold, blocked here under `external_ref` (`POST
/// /external/shows/{showId}/seats/block`): the seats a hold of them would get, priced at the
/// show's prices for the stats (the money was taken elsewhere: no payment here), CONFIRMED for
/// the key's partner, `OTHER_PLATFORM`. Releasing it (`/release`) gives the seats back.
pub fn external_block(
    show: &Show,
    city: &City,
    booking_id: &str,
    partner_id: &str,
    seat_ids: &[String],
    now: DateTime<Utc>,
) -> Result<Booking, HoldRefusal> {
    sold_outright(
        show,
        city,
        booking_id,
        partner_id,
        seat_ids,
        Source::OtherPlatform,
        now,
    )
}

/// The most characters of an external platform's reference for a block.
pub const MAX_EXTERNAL_REF: usize = 128;

/// An external reference is 1–`MAX_EXTERNAL_REF` printable ASCII characters (it is part of a key).
pub fn check_external_ref(external_ref: &str) -> Result<(), String> {
    let ok = !external_ref.is_empty()
        && external_ref.len() <= MAX_EXTERNAL_REF
        && external_ref.bytes().all(|b| (0x21..=0x7e).contains(&b));
    ok.then_some(()).ok_or_else(|| {
        format!(
            "externalRef must be 1–{MAX_EXTERNAL_REF} printable ASCII characters without spaces"
        )
    })
}

/// Whether a request names exactly a block's seats, in any order (a repeated block, a release).
pub fn same_seats(asked: &[String], block: &[String]) -> bool {
    let mut asked: Vec<&String> = asked.iter().collect();
    let mut block: Vec<&String> = block.iter().collect();
    asked.sort();
    block.sort();
    asked == block
}

/// The booking of seats sold outright by `owner` through `source`: a hold's seats, rules and
/// prices without the convenience fee, CONFIRMED at `now`, outside any customer's seat cap.
fn sold_outright(
    show: &Show,
    city: &City,
    booking_id: &str,
    owner: &str,
    seat_ids: &[String],
    source: Source,
    now: DateTime<Utc>,
) -> Result<Booking, HoldRefusal> {
    let without_fee = City {
        convenience_fee_per_ticket: 0,
        // Sold to nobody's account: no points earned.
        loyalty: None,
        ..city.clone()
    };
    let hold = HoldRequest {
        booking_id,
        user_id: owner,
        seat_ids,
        offer: None,
        redeem_points: 0,
    };
    let mut booking = new_hold(
        show,
        &without_fee,
        &hold,
        &HoldPolicy { hold_seconds: 0 },
        now,
    )?;
    booking.status = BookingStatus::Confirmed;
    booking.confirmed_at = Some(crate::clock::rfc3339(now));
    booking.counts_toward_seat_cap = false;
    booking.source = source;
    Ok(booking)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        booking::hold_tests::{city, now, show},
        show::ShowStatus,
    };

    fn sale(seats: &[&str], payment: CounterPayment) -> CounterSaleRequest<'static> {
        let seats: Vec<String> = seats.iter().map(|s| s.to_string()).collect();
        CounterSaleRequest {
            booking_id: "bk_1",
            payment_id: "pay_1",
            seller_id: "usr_p",
            seat_ids: Vec::leak(seats),
            payment,
            customer_email: Some("fan@example.com"),
        }
    }

    #[test]
    fn a_counter_sale_is_confirmed_and_paid_at_once_without_the_apps_fee() {
        let b = counter_sale(
            &show(),
            &city(),
            &sale(&["A1", "A2"], CounterPayment::Cash),
            now(),
        )
        .expect("sold");
        assert_eq!(b.status, BookingStatus::Confirmed);
        assert_eq!(b.confirmed_at.as_deref(), Some("2027-01-15T08:00:00Z"));
        assert_eq!(b.user_id, "usr_p");
        assert_eq!(b.source, Source::WalkIn);
        assert!(!b.counts_toward_seat_cap);
        assert_eq!(b.points, None, "sold to no account: no loyalty points");
        assert!(b.coupon.is_none());
        // 2 × 200, no convenience fee, 18 % tax.
        assert_eq!(
            (
                b.pricing.subtotal,
                b.pricing.fees,
                b.pricing.tax,
                b.pricing.total
            ),
            (400, 0, 72, 472)
        );
        let paid = b.payment.expect("paid");
        assert_eq!(
            (
                paid.provider.as_str(),
                paid.status,
                paid.amount,
                paid.currency.as_str()
            ),
            (COUNTER_PROVIDER, PaymentStatus::Succeeded, 472, "INR")
        );
        assert_eq!(paid.payment_intent_id, "cash_bk_1");
        assert_eq!(b.customer_email.as_deref(), Some("fan@example.com"));
    }

    #[test]
    fn an_external_block_is_confirmed_for_the_partner_with_no_payment_here() {
        let seats = vec!["A3".to_owned()];
        let b = external_block(&show(), &city(), "bk_2", "usr_p", &seats, now()).expect("blocked");
        assert_eq!(
            (b.status, b.source, b.user_id.as_str()),
            (BookingStatus::Confirmed, Source::OtherPlatform, "usr_p")
        );
        assert!(b.payment.is_none() && !b.counts_toward_seat_cap && b.points.is_none());
        // A3 is PREMIUM at 350: the stats count it at the show's price, with tax, no fee.
        assert_eq!((b.pricing.subtotal, b.pricing.fees), (350, 0));
        let none: Vec<String> = vec![];
        assert_eq!(
            external_block(&show(), &city(), "bk_2", "usr_p", &none, now()).err(),
            Some(HoldRefusal::SeatCount)
        );
    }

    #[test]
    fn a_block_is_named_by_exactly_its_seats_in_any_order() {
        let ids = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let block = ids(&["R1-2", "R1-3"]);
        let cases = [
            (ids(&["R1-2", "R1-3"]), true),
            (ids(&["R1-3", "R1-2"]), true),
            (ids(&["R1-2"]), false),
            (ids(&["R1-2", "R1-3", "R1-4"]), false),
            (ids(&["R1-2", "R1-2"]), false),
            (ids(&[]), false),
        ];
        for (asked, same) in cases {
            assert_eq!(same_seats(&asked, &block), same, "{asked:?}");
        }
    }

    #[test]
    fn external_references_are_short_printable_keys() {
        let long = "x".repeat(MAX_EXTERNAL_REF + 1);
        let longest = "x".repeat(MAX_EXTERNAL_REF);
        let cases = [
            ("ord-2027-000123", true),
            (longest.as_str(), true),
            ("", false),
            (long.as_str(), false),
            ("has space", false),
            ("tab\there", false),
            ("new\nline", false),
            ("a\u{7f}", false),
            ("naïve", false),
        ];
        for (r, ok) in cases {
            assert_eq!(check_external_ref(r).is_ok(), ok, "{r:?}");
        }
    }

    #[test]
    fn the_payment_method_names_the_channel() {
        let table = [
            (CounterPayment::Cash, Source::WalkIn, "WALK_IN"),
            (CounterPayment::CardPresent, Source::Pos, "POS"),
        ];
        for (payment, source, name) in table {
            assert_eq!(payment.source(), source);
            assert_eq!(source.as_str(), name);
            assert_eq!(serde_json::to_value(source).ok(), Some(name.into()));
        }
        for source in Source::ALL {
            let parsed: Source =
                serde_json::from_value(source.as_str().into()).expect("round trip");
            assert_eq!(parsed, source);
        }
        assert!(Source::default().is_app());
    }

    #[test]
    fn a_counter_sale_is_refused_as_a_hold_would_be() {
        let scheduled = show();
        let with = |status, start: &str| Show {
            status,
            start_time: start.into(),
            ..show()
        };
        type Expected = fn(&HoldRefusal) -> bool;
        let table: [(&str, Show, &[&str], Expected); 5] = [
            ("no seats", scheduled.clone(), &[], |r| {
                *r == HoldRefusal::SeatCount
            }),
            ("a seat twice", scheduled.clone(), &["A1", "A1"], |r| {
                matches!(r, HoldRefusal::DuplicateSeats(_))
            }),
            ("an unknown seat", scheduled.clone(), &["Z9"], |r| {
                *r == HoldRefusal::UnknownSeats(vec!["Z9".into()])
            }),
            (
                "a cancelled show",
                with(ShowStatus::Cancelled, "2027-01-16T18:00:00Z"),
                &["A1"],
                |r| matches!(r, HoldRefusal::NotBookable(_)),
            ),
            (
                "a show that started",
                with(ShowStatus::Scheduled, "2027-01-15T07:00:00Z"),
                &["A1"],
                |r| matches!(r, HoldRefusal::NotBookable(_)),
            ),
        ];
        for (case, show, seats, expected) in table {
            let refused = counter_sale(
                &show,
                &city(),
                &sale(seats, CounterPayment::CardPresent),
                now(),
            );
            assert!(
                matches!(&refused, Err(r) if expected(r)),
                "{case}: {refused:?}"
            );
        }
    }
}
