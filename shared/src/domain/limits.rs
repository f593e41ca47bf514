//! Per-customer abuse limits of the hold path (issue 15): every booking attempt counts toward the
//! per-minute rate window, and a customer holds plus buys at most a cap of seats per show.
//! The store enforces both inside the hold's one transaction; these are the numbers it uses.

/// Seats a customer may hold plus buy for one show unless the show says otherwise.
pub const DEFAULT_SEAT_CAP: u32 = 10;
/// The largest cap a show may configure (a hold takes at most 10 seats; the cap spans holds).
pub const MAX_SEAT_CAP: u32 = 100;

/// The cap that applies to a show: its own, or the default.
pub fn seat_cap(configured: Option<u32>) -> u32 {
    configured.unwrap_or(DEFAULT_SEAT_CAP)
}

/// The most seats the customer may already hold or own for the show so that `requested` more
/// still fit under `cap` (the bound of the counter's condition); `None` when the request alone
/// exceeds the cap and no transaction should be tried.
pub fn seat_cap_room(cap: u32, requested: usize) -> Option<i64> {
    let requested = i64::try_from(requested).ok()?;
    let room = i64::from(cap) - requested;
    (room >= 0).then_some(room)
}

/// Whether a cap a partner or admin asks for is acceptable.
pub fn valid_seat_cap(cap: u32) -> bool {
    (1..=MAX_SEAT_CAP).contains(&cap)
}

/// What a booking attempt that did not commit does to the customer's rate window. Every attempt
/// counts (a 409 included), except one that is itself over the limit (it was refused before it
/// could count) and an idempotent replay (the same request again, answered from its record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Held,
    Replayed,
    RateLimited,
    SeatsTaken,
    SeatCapReached,
    CouponLimitReached,
    NotEnoughPoints,
}

/// Whether the attempt must still be counted after its transaction: a committed hold counted
/// itself inside the transaction; a cancelled one wrote nothing and is counted by one more write.
pub fn counts_after_transaction(outcome: AttemptOutcome) -> bool {
    matches!(
        outcome,
        AttemptOutcome::SeatsTaken
            | AttemptOutcome::SeatCapReached
            | AttemptOutcome::CouponLimitReached
            | AttemptOutcome::NotEnoughPoints
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_room_under_the_cap() {
        for (cap, requested, room) in [
            (10, 1, Some(9)),
            (10, 10, Some(0)),
            (10, 11, None),
            (4, 4, Some(0)),
            (4, 5, None),
            (1, 1, Some(0)),
            (1, 0, Some(1)),
        ] {
            assert_eq!(
                seat_cap_room(cap, requested),
                room,
                "cap {cap}, {requested} seats"
            );
        }
    }

    #[test]
    fn the_cap_of_a_show() {
        assert_eq!(seat_cap(None), 10);
        assert_eq!(seat_cap(Some(4)), 4);
        for (cap, ok) in [(0, false), (1, true), (10, true), (100, true), (101, false)] {
            assert_eq!(valid_seat_cap(cap), ok, "{cap}");
        }
    }

    #[test]
    fn which_attempts_are_counted_after_their_transaction() {
        use AttemptOutcome::*;
        for (outcome, counted) in [
            (Held, false),
            (Replayed, false),
            (RateLimited, false),
            (SeatsTaken, true),
            (SeatCapReached, true),
            (CouponLimitReached, true),
            (NotEnoughPoints, true),
        ] {
            assert_eq!(counts_after_transaction(outcome), counted, "{outcome:?}");
        }
    }
}
