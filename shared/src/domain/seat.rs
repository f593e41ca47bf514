//! Who may take a seat: the rules the store's seat conditions (`store::seats::SEAT_AVAILABLE`,
//! `store::HELD_BY_BOOKING`) enforce in DynamoDB, stated as pure predicates so the protocol model
//! (`tests/tests/it/model.rs`) runs the same rule; `tests/tests/it/seat_conformance.rs` checks the
//! expressions against these predicates over every seat state.

/// A seat that has an item (a seat without one is free).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SeatState {
    Held { booking_id: String, expires_at: i64 },
    Sold { booking_id: String },
}

impl SeatState {
    pub fn booking_id(&self) -> &str {
        match self {
            SeatState::Held { booking_id, .. } | SeatState::Sold { booking_id } => booking_id,
        }
    }
}

/// A new hold may take the seat at `now`: it is free, or its hold has expired (`expires_at < now`;
/// TTL deletion is never relied on). A sold seat is never taken.
pub fn can_hold(current: Option<&SeatState>, now: i64) -> bool {
    match current {
        None => true,
        Some(SeatState::Held { expires_at, .. }) => *expires_at < now,
        Some(SeatState::Sold { .. }) => false,
    }
}

/// `booking_id` may sell the seat: it holds it (even past its hold time: nobody else took it).
pub fn can_sell(current: Option<&SeatState>, booking_id: &str) -> bool {
    matches!(current, Some(SeatState::Held { booking_id: b, .. }) if b == booking_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(b: &str, expires_at: i64) -> SeatState {
        SeatState::Held {
            booking_id: b.into(),
            expires_at,
        }
    }

    #[test]
    fn a_seat_is_held_only_when_free_or_expired() {
        let sold = SeatState::Sold {
            booking_id: "b1".into(),
        };
        let cases = [
            (None, true),
            (Some(held("b1", 99)), true),
            (Some(held("b1", 100)), false),
            (Some(held("b1", 101)), false),
            (Some(sold), false),
        ];
        for (current, want) in cases {
            assert_eq!(can_hold(current.as_ref(), 100), want, "{current:?}");
        }
    }

    #[test]
    fn a_seat_is_sold_only_by_its_holder_even_late() {
        let cases = [
            (None, false),
            (Some(held("b1", 10)), true),
            (Some(held("b1", 1_000)), true),
            (Some(held("b2", 1_000)), false),
            (
                Some(SeatState::Sold {
                    booking_id: "b1".into(),
                }),
                false,
            ),
        ];
        for (current, want) in cases {
            assert_eq!(can_sell(current.as_ref(), "b1"), want, "{current:?}");
        }
    }
}
