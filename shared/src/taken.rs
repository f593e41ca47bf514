//! Cheaper losers: the seats this container has lately seen DynamoDB answer taken (a losing
//! hold's cancellation reasons name them, from the `ALL_OLD` items). A hold
//! asking for one of them within `Config::seat_memory` (default 1 s, at most 5 s) is answered
//! 409 at once: no transaction, so during a rush a loser costs its rate-window count only, and no
//! write units on the show's partitions.
//!
//! Never a wrong 201: a 201 only ever comes from a committed transaction. A false 409 is
//! possible for a seat freed (a cancellation, an expiry, a failed payment) in the last
//! `seat_memory`, the same staleness as a cached seat map's. Only DynamoDB's answers are
//! remembered, never a 409 given from memory, so a seat is believed taken at most `seat_memory`
//! after DynamoDB last said so.

use std::{collections::HashMap, sync::Mutex, time::Duration};

/// Seats remembered per container at most (a full memory is cleared, then refilled).
const MAX_SEATS: usize = 50_000;

#[derive(Debug, Default)]
pub struct TakenSeats {
    /// show id → seat id → when DynamoDB last answered it taken (epoch ms of the deps' clock,
    /// so a test that moves the clock moves the memory too).
    shows: Mutex<HashMap<String, HashMap<String, i64>>>,
}

impl TakenSeats {
    /// Those of `seat_ids` seen taken less than `memory` before `now_ms`, in request order.
    pub fn known(
        &self,
        show_id: &str,
        seat_ids: &[String],
        now_ms: i64,
        memory: Duration,
    ) -> Vec<String> {
        if memory.is_zero() {
            return Vec::new();
        }
        let Ok(shows) = self.shows.lock() else {
            return Vec::new();
        };
        let Some(seats) = shows.get(show_id) else {
            return Vec::new();
        };
        seat_ids
            .iter()
            .filter(|id| {
                seats
                    .get(id.as_str())
                    .is_some_and(|at| fresh(*at, now_ms, memory))
            })
            .cloned()
            .collect()
    }

    /// DynamoDB has just (at `now_ms`) answered these seats of `show_id` taken.
    pub fn learn(&self, show_id: &str, seat_ids: &[String], now_ms: i64, memory: Duration) {
        if memory.is_zero() || seat_ids.is_empty() {
            return;
        }
        let Ok(mut shows) = self.shows.lock() else {
            return;
        };
        if shows.values().map(HashMap::len).sum::<usize>() + seat_ids.len() > MAX_SEATS {
            shows.retain(|_, seats| {
                seats.retain(|_, at| fresh(*at, now_ms, memory));
                !seats.is_empty()
            });
            if shows.values().map(HashMap::len).sum::<usize>() + seat_ids.len() > MAX_SEATS {
                shows.clear();
            }
        }
        let seats = shows.entry(show_id.to_owned()).or_default();
        for id in seat_ids {
            seats.insert(id.clone(), now_ms);
        }
    }
}

/// Learnt at `at`, still believed at `now_ms`.
fn fresh(at: i64, now_ms: i64, memory: Duration) -> bool {
    let memory_ms = i64::try_from(memory.as_millis()).unwrap_or(i64::MAX);
    now_ms.saturating_sub(at) < memory_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_seat_is_known_taken_for_its_memory_only_and_per_show() {
        let taken = TakenSeats::default();
        let second = Duration::from_secs(1);
        taken.learn("sh_a", &ids(&["A1", "A2"]), 10_000, second);
        let known = |show: &str, seats: &[&str], now: i64, memory: Duration| {
            taken.known(show, &ids(seats), now, memory)
        };
        assert_eq!(
            known("sh_a", &["A3", "A2", "A1"], 10_000, second),
            ids(&["A2", "A1"])
        );
        assert_eq!(
            known("sh_a", &["A1"], 10_999, second),
            ids(&["A1"]),
            "within 1 s"
        );
        assert!(
            known("sh_a", &["A1"], 11_000, second).is_empty(),
            "1 s later"
        );
        assert!(
            known("sh_b", &["A1"], 10_000, second).is_empty(),
            "another show"
        );
        assert!(
            known("sh_a", &["A1"], 10_000, Duration::ZERO).is_empty(),
            "memory off"
        );
        let off = TakenSeats::default();
        off.learn("sh_a", &ids(&["A1"]), 10_000, Duration::ZERO);
        assert!(
            off.known("sh_a", &ids(&["A1"]), 10_000, second).is_empty(),
            "nothing learnt while off"
        );
    }

    #[test]
    fn a_full_memory_makes_room() {
        let taken = TakenSeats::default();
        let long = Duration::from_secs(60);
        let many: Vec<String> = (0..MAX_SEATS).map(|i| format!("S{i}")).collect();
        taken.learn("sh_a", &many, 0, long);
        taken.learn("sh_b", &ids(&["B1"]), 1, long);
        assert_eq!(taken.known("sh_b", &ids(&["B1"]), 1, long), ids(&["B1"]));
        assert!(
            taken.known("sh_a", &ids(&["S0"]), 1, long).is_empty(),
            "cleared to make room"
        );
    }
}
