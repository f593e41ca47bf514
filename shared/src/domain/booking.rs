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
}

impl BookingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BookingStatus::PaymentPending => "PAYMENT_PENDING",
            BookingStatus::Confirmed => "CONFIRMED",
            BookingStatus::Failed => "FAILED",
            BookingStatus::Expired => "EXPIRED",
            BookingStatus::Cancelled => "CANCELLED",
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
/// `CONFIRMED → CANCELLED` (with refund).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Confirm,
    Fail,
    Expire,
    CancelPending,
    CancelConfirmed,
}

impl Transition {
    pub const ALL: [Transition; 5] = [
        Transition::Confirm,
        Transition::Fail,
        Transition::Expire,
        Transition::CancelPending,
        Transition::CancelConfirmed,
    ];

    pub fn from(self) -> BookingStatus {
        match self {
            Transition::CancelConfirmed => BookingStatus::Confirmed,
            _ => BookingStatus::PaymentPending,
        }
    }

    pub fn to(self) -> BookingStatus {
        match self {
            Transition::Confirm => BookingStatus::Confirmed,
            Transition::Fail => BookingStatus::Failed,
            Transition::Expire => BookingStatus::Expired,
            Transition::CancelPending | Transition::CancelConfirmed => BookingStatus::Cancelled,
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
        let all = [PaymentPending, Confirmed, Failed, Expired, Cancelled];
        let allowed: Vec<(BookingStatus, BookingStatus)> = vec![
            (PaymentPending, Confirmed),
            (PaymentPending, Failed),
            (PaymentPending, Expired),
            (PaymentPending, Cancelled),
            (Confirmed, Cancelled),
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
        assert!(!PaymentPending.is_terminal() && !Confirmed.is_terminal());
    }
}

use super::{layout::SeatType, pricing::Pricing};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookedSeat {
    pub seat_id: String,
    #[serde(rename = "type")]
    pub seat_type: SeatType,
    pub price: i64,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundInfo {
    /// `INITIATED`, then `COMPLETED` when the provider confirms it.
    pub status: String,
    pub amount: i64,
    pub reason: String,
    pub initiated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketInfo {
    pub ticket_id: String,
    pub qr_code_data: String,
    pub seat_ids: Vec<String>,
}

impl Booking {
    pub fn seat_ids(&self) -> Vec<String> {
        self.seats.iter().map(|s| s.seat_id.clone()).collect()
    }
}
