//! Best available seats (`POST /shows/{showId}/best-available`): the `count` adjacent free seats
//! in one row that sit closest to the centre of the house.
//!
//! Layouts carry no explicit aisles (the contract's layout is rows of `{seatId, type}`), so a gap
//! is read from the seat numbers: within a row, two seats in sequence are adjacent when their
//! trailing numbers differ by one (`A4` then `A6` is an aisle where `A5` would be); seats without a
//! trailing number are adjacent to their neighbours in the row's order. A party is never split
//! across a gap, nor across a taken seat.
//!
//! "Best" is the distance of the party's centre from the centre of the house, each axis scaled to
//! its half-width (so a wide row and a deep house weigh alike): on an empty show the middle row's
//! centre seats win; ties go to the front row, then the left (lower position), so the answer is
//! deterministic.

use super::layout::{Layout, SeatType};
use std::collections::HashSet;

/// The trailing number of a seat id (`A12` → 12), the position a gap is read from.
fn seat_number(seat_id: &str) -> Option<i64> {
    let digits = seat_id.len() - seat_id.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    seat_id[seat_id.len() - digits..].parse().ok()
}

/// The best `count` adjacent free seats of the wanted type in one row, best first (left to
/// right within the party); `None` when no row has such a run (or `count` is 0).
pub fn best_available(
    layout: &Layout,
    taken: &HashSet<&str>,
    count: usize,
    seat_type: Option<SeatType>,
) -> Option<Vec<String>> {
    if count == 0 {
        return None;
    }
    let rows = layout.rows.len();
    let middle_row = (rows as f64 - 1.0) / 2.0;
    let half_depth = (middle_row).max(1.0);
    let mut best: Option<(f64, usize, f64, Vec<String>)> = None;
    for (r, row) in layout.rows.iter().enumerate() {
        // Positions along the row: the seat number where every seat of the row has one (so a
        // gap also moves the centre), else the index.
        let numbered: Option<Vec<i64>> =
            row.seats.iter().map(|s| seat_number(&s.seat_id)).collect();
        let positions: Vec<f64> = match &numbered {
            Some(n) => n.iter().map(|&x| x as f64).collect(),
            None => (0..row.seats.len()).map(|i| i as f64).collect(),
        };
        let (Some(first), Some(last)) = (positions.first(), positions.last()) else {
            continue;
        };
        let row_centre = (first + last) / 2.0;
        let half_width = ((last - first).abs() / 2.0).max(1.0);
        let adjacent = |i: usize| match &numbered {
            Some(n) => (n[i + 1] - n[i]).abs() == 1,
            None => true,
        };
        let usable = |i: usize| {
            let seat = &row.seats[i];
            !taken.contains(seat.seat_id.as_str()) && seat_type.is_none_or(|t| t == seat.seat_type)
        };
        // Runs of adjacent usable seats; every window of `count` inside a run is a candidate.
        let mut start = 0;
        while start < row.seats.len() {
            if !usable(start) {
                start += 1;
                continue;
            }
            let mut end = start; // inclusive
            while end + 1 < row.seats.len() && adjacent(end) && usable(end + 1) {
                end += 1;
            }
            for w in start..=(end + 1).saturating_sub(count) {
                if w + count > end + 1 {
                    break;
                }
                let centre = (positions[w] + positions[w + count - 1]) / 2.0;
                let dx = (centre - row_centre) / half_width;
                let dy = (r as f64 - middle_row) / half_depth;
                let score = dx * dx + dy * dy;
                let better = match &best {
                    None => true,
                    Some((s, br, bp, _)) => score
                        .total_cmp(s)
                        .then(r.cmp(br))
                        .then(positions[w].total_cmp(bp))
                        .is_lt(),
                };
                if better {
                    let seats = row.seats[w..w + count]
                        .iter()
                        .map(|s| s.seat_id.clone())
                        .collect();
                    best = Some((score, r, positions[w], seats));
                }
            }
            start = end + 1;
        }
    }
    best.map(|(_, _, _, seats)| seats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::layout::{Row, Seat};

    /// A layout from rows of seat ids; `W` before an id makes it a wheelchair space.
    fn layout(rows: &[(&str, &[&str])]) -> Layout {
        Layout {
            rows: rows
                .iter()
                .map(|(label, seats)| Row {
                    row_label: (*label).into(),
                    seats: seats
                        .iter()
                        .map(|s| match s.strip_prefix('W') {
                            Some(id) => Seat {
                                seat_id: id.into(),
                                seat_type: SeatType::Wheelchair,
                            },
                            None => Seat {
                                seat_id: (*s).into(),
                                seat_type: SeatType::Regular,
                            },
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    fn row(label: &str, numbers: impl IntoIterator<Item = u32>) -> Vec<String> {
        numbers.into_iter().map(|n| format!("{label}{n}")).collect()
    }

    #[test]
    fn best_available_table() {
        let ten = |l: &str| row(l, 1..=10);
        let (a, b, c, d, e) = (ten("A"), ten("B"), ten("C"), ten("D"), ten("E"));
        fn refs(v: &[String]) -> Vec<&str> {
            v.iter().map(String::as_str).collect()
        }
        let (a, b, c, d, e) = (refs(&a), refs(&b), refs(&c), refs(&d), refs(&e));
        let house = layout(&[("A", &a), ("B", &b), ("C", &c), ("D", &d), ("E", &e)]);
        // A 4-4 aisle: seats 1–4 and 7–10 (5 and 6 are missing: an aisle).
        let aisle_a = ["A1", "A2", "A3", "A4", "A7", "A8", "A9", "A10"];
        let aisle = layout(&[("A", &aisle_a)]);
        let mixed = layout(&[("A", &["WA1", "WA2", "A3", "A4", "A5", "A6"])]);
        let unnumbered = layout(&[("A", &["x", "y", "z"])]);
        type Case<'a> = (
            &'a str,
            &'a Layout,
            &'a [&'a str],
            usize,
            Option<SeatType>,
            Option<&'a [&'a str]>,
        );
        let cases: &[Case] = &[
            (
                "empty show: middle row, centre pair",
                &house,
                &[],
                2,
                None,
                Some(&["C5", "C6"]),
            ),
            (
                "empty show: a trio sits centre (tie goes left)",
                &house,
                &[],
                3,
                None,
                Some(&["C4", "C5", "C6"]),
            ),
            (
                "one seat: centre of the middle row",
                &house,
                &[],
                1,
                None,
                Some(&["C5"]),
            ),
            (
                "centre taken: the next best is beside it",
                &house,
                &["C5", "C6"],
                2,
                None,
                Some(&["C3", "C4"]),
            ),
            (
                "the whole middle row taken: a neighbouring row's centre",
                &house,
                &["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10"],
                2,
                None,
                Some(&["B5", "B6"]),
            ),
            (
                "a whole row: only if a row is free",
                &house,
                &[],
                10,
                None,
                Some(&["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10"]),
            ),
            ("more than a row holds", &house, &[], 11, None, None),
            ("never across the aisle", &aisle, &[], 5, None, None),
            (
                "four fit on one side of the aisle",
                &aisle,
                &[],
                4,
                None,
                Some(&["A1", "A2", "A3", "A4"]),
            ),
            (
                "a pair by the aisle, not straddling it",
                &aisle,
                &[],
                2,
                None,
                Some(&["A3", "A4"]),
            ),
            (
                "a taken seat splits a run too",
                &aisle,
                &["A2", "A9"],
                3,
                None,
                None,
            ),
            (
                "seat type: wheelchair spaces only",
                &mixed,
                &[],
                2,
                Some(SeatType::Wheelchair),
                Some(&["A1", "A2"]),
            ),
            (
                "seat type: never mixes types",
                &mixed,
                &[],
                3,
                Some(SeatType::Wheelchair),
                None,
            ),
            (
                "unnumbered seats are adjacent in order",
                &unnumbered,
                &[],
                2,
                None,
                Some(&["x", "y"]),
            ),
            ("sold out", &unnumbered, &["x", "y", "z"], 1, None, None),
            ("zero seats is no answer", &house, &[], 0, None, None),
        ];
        for (name, layout, taken, count, seat_type, want) in cases {
            let taken: HashSet<&str> = taken.iter().copied().collect();
            let got = best_available(layout, &taken, *count, *seat_type);
            let want = want.map(|w| w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn seat_numbers_are_trailing_digits() {
        for (id, want) in [
            ("A12", Some(12)),
            ("B-3", Some(3)),
            ("AA", None),
            ("7", Some(7)),
        ] {
            assert_eq!(seat_number(id), want, "{id}");
        }
    }
}
