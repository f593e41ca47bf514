//! Loyalty points: what a booking earns, what redeeming points takes off its price, and what a
//! refund gives back and takes back. The store keeps one balance per customer and a ledger entry
//! per move (`store::loyalty`); every move rides in the transaction of the booking's own
//! transition, so it happens exactly once, and the balance never goes below zero.
//!
//! A point is the same point in every city; each city says what a point is worth there
//! (`point_value`, in its currency's minor units) and what share of a booking's total comes back
//! as points (`earn_basis_points`). Earning is counted in the city's points, so an admin who
//! sets both rates sets what a point buys: 5 % back at ₹1 a point earns 20 points on ₹400.

use serde::{Deserialize, Serialize};

/// A city's loyalty terms. A city without them neither earns nor takes points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoyaltyRate {
    /// Share of a booking's total that comes back as points, in basis points (5 % = 500).
    pub earn_basis_points: i64,
    /// What one point takes off a price in this city, in minor units (at least 1).
    pub point_value: i64,
}

/// The most points one booking may ask to redeem.
pub const MAX_REDEEM: i64 = 1_000_000;

impl LoyaltyRate {
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=1_000_000).contains(&self.point_value) {
            return Err("loyalty.pointValue must be 1–1000000 minor units".into());
        }
        if !(0..=10_000).contains(&self.earn_basis_points) {
            return Err("loyalty.earnPercent must be 0–100".into());
        }
        Ok(())
    }

    /// Points a booking of `total` earns once CONFIRMED: whole points only, rounded down (a
    /// fraction of a point is never given).
    pub fn points_earned(&self, total: i64) -> i64 {
        if self.point_value <= 0 || total <= 0 {
            return 0;
        }
        let value = total as i128 * self.earn_basis_points.max(0) as i128;
        (value / (10_000 * self.point_value as i128)) as i64
    }

    /// How many of `requested` points a booking uses when `payable` is what its tickets still
    /// cost after any coupon: whole points only, never worth more than `payable` (a total never
    /// goes below zero), so a customer asking for more keeps the rest.
    pub fn points_used(&self, requested: i64, payable: i64) -> i64 {
        if self.point_value <= 0 || requested <= 0 || payable <= 0 {
            return 0;
        }
        requested.min(payable / self.point_value)
    }
}

/// A customer's points on one booking: what its hold redeemed (already off the balance while it
/// is held) and what it earns when CONFIRMED. Both fixed when the seats are held, at the city's
/// rates of that moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookingPoints {
    #[serde(default)]
    pub redeemed: i64,
    #[serde(default)]
    pub earns: i64,
}

/// Why a ledger entry was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntryType {
    Earned,
    Redeemed,
    Reversed,
}

/// Which move of a booking an entry records: one entry per move and booking at most, numbered in
/// the order they can happen (the tie-break of a booking's entries written in one transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Move {
    /// The hold took the points off the balance.
    Redeem,
    /// The booking was CONFIRMED.
    Earn,
    /// The booking's seats were given up (expired, failed, cancelled, refunded): the redeemed
    /// points come back.
    GiveBack,
    /// A confirmed booking was refunded: what it earned goes.
    TakeBack,
}

impl Move {
    pub fn entry_type(self) -> EntryType {
        match self {
            Move::Redeem => EntryType::Redeemed,
            Move::Earn => EntryType::Earned,
            Move::GiveBack | Move::TakeBack => EntryType::Reversed,
        }
    }

    /// The move's place among a booking's entries (part of the entry's key).
    pub fn seq(self) -> u8 {
        match self {
            Move::Redeem => 1,
            Move::Earn => 2,
            Move::GiveBack => 3,
            Move::TakeBack => 4,
        }
    }
}

/// One ledger entry: `points` is signed, what the move did to the balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    #[serde(rename = "type")]
    pub entry_type: EntryType,
    pub points: i64,
    pub booking_id: String,
    pub created_at: String,
}

/// The moves, with their signed points, when a booking leaves a seat-holding state.
/// `confirmed`: it had been CONFIRMED (it earned). `balance`: the customer's balance now.
///
/// The redeemed points come back first; then what the booking earned is taken back, but never
/// more than the balance then holds: points already spent on another booking stay spent, and
/// the refund is never held up by them (the balance never goes below zero).
pub fn reversal(points: BookingPoints, confirmed: bool, balance: i64) -> Vec<(Move, i64)> {
    let mut moves = Vec::new();
    let mut after = balance.max(0);
    if points.redeemed > 0 {
        moves.push((Move::GiveBack, points.redeemed));
        after += points.redeemed;
    }
    if confirmed {
        let taken = points.earns.max(0).min(after);
        if taken > 0 {
            moves.push((Move::TakeBack, -taken));
        }
    }
    moves
}

#[cfg(test)]
mod tests {
    use super::*;

    const INR: LoyaltyRate = LoyaltyRate {
        earn_basis_points: 500,
        point_value: 100,
    };

    #[test]
    fn bookings_earn_whole_points_of_their_total() {
        // (total in minor units, points earned at 5 % back with a point worth 100)
        for (total, want) in [
            (40_000, 20),
            (39_999, 19),
            (1_999, 0),
            (2_000, 1),
            (0, 0),
            (-5, 0),
            (i64::MAX, i64::MAX / 2_000),
        ] {
            assert_eq!(INR.points_earned(total), want, "{total}");
        }
        let none = LoyaltyRate {
            earn_basis_points: 0,
            point_value: 100,
        };
        assert_eq!(none.points_earned(40_000), 0);
    }

    #[test]
    fn redemption_uses_whole_points_up_to_what_is_payable() {
        // (requested, payable, used)
        for (requested, payable, used) in [
            (10, 5_000, 10),
            (80, 5_000, 50),
            (80, 5_050, 50),
            (1, 99, 0),
            (0, 5_000, 0),
            (-3, 5_000, 0),
            (10, 0, 0),
        ] {
            assert_eq!(
                INR.points_used(requested, payable),
                used,
                "{requested} of {payable}"
            );
        }
    }

    #[test]
    fn a_reversal_gives_back_then_takes_back_at_most_the_balance() {
        let p = |redeemed, earns| BookingPoints { redeemed, earns };
        // (points, confirmed, balance now, moves)
        type Case = (BookingPoints, bool, i64, Vec<(Move, i64)>);
        let cases: Vec<Case> = vec![
            (p(0, 20), true, 50, vec![(Move::TakeBack, -20)]),
            (p(0, 20), true, 5, vec![(Move::TakeBack, -5)]),
            (p(0, 20), true, 0, vec![]),
            (
                p(30, 20),
                true,
                0,
                vec![(Move::GiveBack, 30), (Move::TakeBack, -20)],
            ),
            (p(30, 20), false, 0, vec![(Move::GiveBack, 30)]),
            (p(0, 20), false, 50, vec![]),
            (
                p(10, 20),
                true,
                -4,
                vec![(Move::GiveBack, 10), (Move::TakeBack, -10)],
            ),
        ];
        for (points, confirmed, balance, want) in cases {
            let got = reversal(points, confirmed, balance);
            assert_eq!(
                got, want,
                "{points:?} confirmed={confirmed} balance={balance}"
            );
            let after = balance.max(0) + got.iter().map(|(_, n)| n).sum::<i64>();
            assert!(after >= 0, "balance {after}");
        }
    }

    #[test]
    fn rates_validate_and_moves_order_a_bookings_entries() {
        assert!(INR.validate().is_ok());
        for bad in [(500, 0), (-1, 100), (10_001, 100)] {
            let rate = LoyaltyRate {
                earn_basis_points: bad.0,
                point_value: bad.1,
            };
            assert!(rate.validate().is_err(), "{bad:?}");
        }
        let moves = [Move::Redeem, Move::Earn, Move::GiveBack, Move::TakeBack];
        assert!(moves.windows(2).all(|w| w[0].seq() < w[1].seq()));
        assert_eq!(
            moves.map(Move::entry_type),
            [
                EntryType::Redeemed,
                EntryType::Earned,
                EntryType::Reversed,
                EntryType::Reversed
            ]
        );
    }
}
