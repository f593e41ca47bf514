//! Seat layouts: rows in order, seat ids unique per screen, four seat types, at most 1,000 seats.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};

pub const MAX_SEATS_PER_SCREEN: usize = 1_000;

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
}
