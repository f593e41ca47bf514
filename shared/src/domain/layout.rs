//! Seat layouts: rows in order, seat ids unique per screen, four seat types, at most 1,000 seats.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};

pub const MAX_SEATS_PER_SCREEN: usize = 1_000;

/// A show's seat items are spread over several partition keys, one per block of its layout
/// (`store::keys::seat_pk`), so no one partition's 1,000 writes/s caps a big show and a show's
/// capacity grows with its size. A block is consecutive whole rows of at most this many seats; a
/// longer row is cut into runs of this many adjacent seats. 100 seats keep a block's Query one
/// small page, and a hold of adjacent seats mostly in one block (a hold spanning two blocks is
/// still one transaction, with every seat condition as strict).
pub const SEATS_PER_BLOCK: usize = 100;

/// A block's index within its show's layout (`Layout::blocks`).
pub type Block = usize;

/// Where a seat's item is kept: its layout block (which partition key) and the seat.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SeatPlace {
    pub block: Block,
    pub seat_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SeatType {
    Regular,
    Premium,
    Recliner,
    Wheelchair,
}

impl SeatType {
    pub fn as_str(self) -> &'static str {
        match self {
            SeatType::Regular => "REGULAR",
            SeatType::Premium => "PREMIUM",
            SeatType::Recliner => "RECLINER",
            SeatType::Wheelchair => "WHEELCHAIR",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seat {
    pub seat_id: String,
    #[serde(rename = "type")]
    pub seat_type: SeatType,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Row {
    pub row_label: String,
    pub seats: Vec<Seat>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Layout {
    pub rows: Vec<Row>,
}

/// A seat or row label: 1–8 of `[A-Za-z0-9-]` (no key separators).
fn is_label(s: &str) -> bool {
    (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl Layout {
    pub fn validate(&self) -> Result<(), String> {
        if self.rows.is_empty() {
            return Err("a layout needs at least one row".into());
        }
        let mut rows = HashSet::new();
        let mut seats = HashSet::new();
        for row in &self.rows {
            if !is_label(&row.row_label) {
                return Err(format!(
                    "rowLabel '{}' must be 1–8 letters, digits or '-'",
                    row.row_label
                ));
            }
            if !rows.insert(row.row_label.as_str()) {
                return Err(format!("row '{}' appears twice", row.row_label));
            }
            if row.seats.is_empty() {
                return Err(format!("row '{}' has no seats", row.row_label));
            }
            for seat in &row.seats {
                if !is_label(&seat.seat_id) {
                    return Err(format!(
                        "seatId '{}' must be 1–8 letters, digits or '-'",
                        seat.seat_id
                    ));
                }
                if !seats.insert(seat.seat_id.as_str()) {
                    return Err(format!(
                        "seatId '{}' appears twice in the screen",
                        seat.seat_id
                    ));
                }
            }
        }
        if seats.len() > MAX_SEATS_PER_SCREEN {
            return Err(format!(
                "a screen has at most {MAX_SEATS_PER_SCREEN} seats, this one {}",
                seats.len()
            ));
        }
        Ok(())
    }

    pub fn capacity(&self) -> usize {
        self.rows.iter().map(|r| r.seats.len()).sum()
    }

    pub fn seat_types(&self) -> BTreeSet<SeatType> {
        self.seats().map(|s| s.seat_type).collect()
    }

    pub fn seats(&self) -> impl Iterator<Item = &Seat> {
        self.rows.iter().flat_map(|r| r.seats.iter())
    }

    pub fn seat(&self, seat_id: &str) -> Option<&Seat> {
        self.seats().find(|s| s.seat_id == seat_id)
    }

    /// Each seat with its block, in layout order: whole rows packed into blocks of at most
    /// `SEATS_PER_BLOCK` seats; a row that does not fit in the current block's room starts a
    /// new one, and a row longer than a block is cut into runs of `SEATS_PER_BLOCK`.
    pub fn blocks(&self) -> impl Iterator<Item = (Block, &Seat)> {
        // Where the next row starts: its block, and how many seats that block has already.
        let mut next: (Block, usize) = (0, 0);
        self.rows.iter().flat_map(move |row| {
            let (mut block, mut used) = next;
            if used > 0 && used + row.seats.len() > SEATS_PER_BLOCK {
                (block, used) = (block + 1, 0);
            }
            let end = used + row.seats.len();
            next = (
                block + end.saturating_sub(1) / SEATS_PER_BLOCK,
                (end.saturating_sub(1) % SEATS_PER_BLOCK) + 1,
            );
            row.seats
                .iter()
                .enumerate()
                .map(move |(i, seat)| (block + (used + i) / SEATS_PER_BLOCK, seat))
        })
    }

    /// How many blocks (partition keys) the show's seats span.
    pub fn block_count(&self) -> Block {
        self.blocks().last().map_or(0, |(b, _)| b + 1)
    }

    /// Where `seat_id`'s item is kept, if the layout has that seat.
    pub fn place(&self, seat_id: &str) -> Option<SeatPlace> {
        self.blocks()
            .find(|(_, s)| s.seat_id == seat_id)
            .map(|(block, s)| SeatPlace {
                block,
                seat_id: s.seat_id.clone(),
            })
    }

    /// Seat id → type, for validating and pricing many seats at once.
    pub fn seat_index(&self) -> BTreeMap<&str, SeatType> {
        self.seats()
            .map(|s| (s.seat_id.as_str(), s.seat_type))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn layout(rows: usize, per_row: usize) -> Layout {
        Layout {
            rows: (0..rows)
                .map(|r| Row {
                    row_label: format!("R{r}"),
                    seats: (0..per_row)
                        .map(|s| Seat {
                            seat_id: format!("R{r}-{s}"),
                            seat_type: if r == 0 {
                                SeatType::Premium
                            } else {
                                SeatType::Regular
                            },
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn layouts_validate() {
        assert!(layout(10, 100).validate().is_ok());
        assert!(layout(7, 143).validate().unwrap_err().contains("1000"));
        let mut dup = layout(2, 2);
        dup.rows[1].seats[0].seat_id = "R0-0".into();
        assert!(dup.validate().unwrap_err().contains("twice"));
        let mut bad = layout(1, 1);
        bad.rows[0].seats[0].seat_id = "A#1".into();
        assert!(bad.validate().is_err());
        assert!(Layout { rows: vec![] }.validate().is_err());
        assert_eq!(layout(2, 3).capacity(), 6);
        assert_eq!(layout(2, 3).seat_types().len(), 2);
    }

    /// (rows, seats per row) → the block of each row's first and last seat, and the count.
    #[test]
    fn seats_are_packed_into_blocks_of_whole_rows() {
        type Case = ((usize, usize), &'static [(Block, Block)], Block);
        let cases: &[Case] = &[
            // 300 seats of 20 a row: 5 rows a block.
            (
                (15, 20),
                &[(0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (1, 1)],
                3,
            ),
            // 30 a row: 3 rows fill 90, the 4th does not fit and starts block 1.
            ((4, 30), &[(0, 0), (0, 0), (0, 0), (1, 1)], 2),
            // A row of exactly one block.
            ((2, 100), &[(0, 0), (1, 1)], 2),
            // A 250-seat row is cut into runs of 100, 100 and 50; the next row starts afresh.
            ((2, 250), &[(0, 2), (3, 5)], 6),
            ((1, 1), &[(0, 0)], 1),
        ];
        for ((rows, per_row), row_blocks, count) in cases {
            let l = layout(*rows, *per_row);
            let blocks: Vec<_> = l.blocks().collect();
            assert_eq!(blocks.len(), rows * per_row);
            for (r, (first, last)) in row_blocks.iter().enumerate() {
                let of = |s: usize| blocks[r * per_row + s].0;
                assert_eq!(
                    (of(0), of(per_row - 1)),
                    (*first, *last),
                    "{rows}x{per_row} row {r}"
                );
            }
            assert_eq!(l.block_count(), *count, "{rows}x{per_row}");
            let mut sizes = BTreeMap::new();
            for (b, _) in &blocks {
                *sizes.entry(*b).or_insert(0usize) += 1;
            }
            assert!(sizes.values().all(|n| *n <= SEATS_PER_BLOCK));
            let last = format!("R{}-{}", rows - 1, per_row - 1);
            assert_eq!(l.place(&last).map(|p| p.block), Some(count - 1));
            assert_eq!(l.place("nope"), None);
        }
    }
}
