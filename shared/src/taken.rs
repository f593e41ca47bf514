//! Cheaper losers: the seats this container has lately seen DynamoDB answer taken (a losing
//! hold's cancellation reasons name them, from the `ALL_OLD` items; and while the show is
//! contended, a winning hold's own, which its committed transaction has just taken). A hold
//! asking for one of them within `Config::seat_memory` (default 1 s, at most 5 s) is answered
//! 409 at once: no transaction, so during a rush a loser costs its rate-window count only, and no
//! write units on the show's partitions.
//!
//! Never a wrong 201: a 201 only ever comes from a committed transaction. A false 409 is
//! possible for a seat freed (a cancellation, an expiry, a failed payment) in the last
//! `seat_memory`, the same staleness as a cached seat map's. Only DynamoDB's answers are
//! remembered, never a 409 given from memory, so a seat is believed taken at most `seat_memory`
//! after DynamoDB last said so.
//!
//! A winner's seats are remembered only while the show is contended here (a hold of it lost in
//! this container within `seat_memory`): in a rush a freed seat is fought over anyway, and the
//! memory spares the many who ask for the seats just won their transaction; on a quiet show a
//! seat freed by a cancellation, an expiry or a refund can be held again at once.

use std::{collections::HashMap, sync::Mutex, time::Duration};

/// Seats remembered per container at most (a full memory is cleared, then refilled).
const MAX_SEATS: usize = 50_000;

#[derive(Debug, Default)]
pub struct TakenSeats {
    /// show id → what this container remembers of it. Times are epoch ms of the deps' clock, so
    /// a test that moves the clock moves the memory too.
    shows: Mutex<HashMap<String, ShowMemory>>,
}

#[derive(Debug, Default)]
struct ShowMemory {
    /// seat id → when DynamoDB last answered it taken.
    seats: HashMap<String, i64>,
    /// When a hold of the show last lost here (the show is contended while that is fresh).
    lost_at: Option<i64>,
}

/// What DynamoDB answered a hold: the seats it lost, or the seats it won.
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    Lost(&'a [String]),
    Won(&'a [String]),
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
        let Some(show) = shows.get(show_id) else {
            return Vec::new();
        };
        seat_ids
            .iter()
            .filter(|id| {
                show.seats
                    .get(id.as_str())
                    .is_some_and(|at| fresh(*at, now_ms, memory))
            })
            .cloned()
            .collect()
    }

    /// DynamoDB has just (at `now_ms`) answered a hold of `show_id`: the seats it lost are
    /// remembered, and the seats it won while the show is contended here.
    pub fn learn(&self, show_id: &str, answer: Answer<'_>, now_ms: i64, memory: Duration) {
        if memory.is_zero() {
            return;
        }
        let Ok(mut shows) = self.shows.lock() else {
            return;
        };
        let seat_ids = match answer {
            Answer::Lost(lost) => {
                shows.entry(show_id.to_owned()).or_default().lost_at = Some(now_ms);
                lost
            }
            Answer::Won(won) => {
                let contended = shows
                    .get(show_id)
                    .and_then(|show| show.lost_at)
                    .is_some_and(|at| fresh(at, now_ms, memory));
                if !contended {
                    return;
                }
                won
            }
        };
        if remembered(&shows) + seat_ids.len() > MAX_SEATS {
            shows.retain(|_, show| {
                show.seats.retain(|_, at| fresh(*at, now_ms, memory));
                !show.seats.is_empty() || show.lost_at.is_some_and(|at| fresh(at, now_ms, memory))
            });
            if remembered(&shows) + seat_ids.len() > MAX_SEATS {
                shows.clear();
            }
        }
        let show = shows.entry(show_id.to_owned()).or_default();
        for id in seat_ids {
            show.seats.insert(id.clone(), now_ms);
        }
    }
}

fn remembered(shows: &HashMap<String, ShowMemory>) -> usize {
    shows.values().map(|show| show.seats.len()).sum()
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
        taken.learn("sh_a", Answer::Lost(&ids(&["A1", "A2"])), 10_000, second);
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
        off.learn("sh_a", Answer::Lost(&ids(&["A1"])), 10_000, Duration::ZERO);
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
        taken.learn("sh_a", Answer::Lost(&many), 0, long);
        taken.learn("sh_b", Answer::Lost(&ids(&["B1"])), 1, long);
        assert_eq!(taken.known("sh_b", &ids(&["B1"]), 1, long), ids(&["B1"]));
        assert!(
            taken.known("sh_a", &ids(&["S0"]), 1, long).is_empty(),
            "cleared to make room"
        );
    }

    #[test]
    fn a_winners_seats_are_remembered_only_while_the_show_is_contended() {
        let taken = TakenSeats::default();
        let second = Duration::from_secs(1);
        let known = |seats: &[&str], now: i64| taken.known("sh_a", &ids(seats), now, second);
        taken.learn("sh_a", Answer::Won(&ids(&["A1"])), 10_000, second);
        assert!(
            known(&["A1"], 10_000).is_empty(),
            "a quiet show: freed seats holdable at once"
        );
        taken.learn("sh_b", Answer::Lost(&ids(&["B1"])), 10_000, second);
        taken.learn("sh_a", Answer::Won(&ids(&["A1"])), 10_000, second);
        assert!(
            known(&["A1"], 10_000).is_empty(),
            "a loss on another show is no contention here"
        );
        taken.learn("sh_a", Answer::Lost(&ids(&["A2"])), 10_100, second);
        taken.learn("sh_a", Answer::Won(&ids(&["A3", "A4"])), 10_500, second);
        assert_eq!(
            known(&["A4", "A3", "A2"], 10_500),
            ids(&["A4", "A3", "A2"]),
            "contended"
        );
        assert_eq!(
            known(&["A3", "A2"], 11_100),
            ids(&["A3"]),
            "each for its own memory"
        );
        taken.learn("sh_a", Answer::Won(&ids(&["A5"])), 11_100, second);
        assert!(
            known(&["A5"], 11_100).is_empty(),
            "the last loss lapsed: quiet again"
        );
    }
}
