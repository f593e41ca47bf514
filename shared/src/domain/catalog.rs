//! Movies, theatres, screens and shows as the domain sees them.

use super::{layout::Layout, layout::SeatType, show::ShowStatus};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Movie {
    pub movie_id: String,
    pub title: String,
    pub languages: Vec<String>,
    pub genres: Vec<String>,
    pub duration_mins: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certification: Option<String>,
    pub release_date: String,
}

pub const MAX_DURATION_MINS: i64 = 360;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screen {
    pub screen_id: String,
    pub name: String,
    pub layout: Layout,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Theatre {
    pub theatre_id: String,
    pub partner_id: String,
    pub name: String,
    pub city_id: String,
    pub area: String,
    pub address: String,
    pub screens: Vec<Screen>,
}

pub const MAX_SCREENS_PER_THEATRE: usize = 20;

/// A show: the screen's layout and the prices are copied in, so a show never changes under a booking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Show {
    pub show_id: String,
    pub theatre_id: String,
    pub theatre_name: String,
    pub partner_id: String,
    pub screen_id: String,
    pub screen_name: String,
    pub movie_id: String,
    pub movie_title: String,
    pub city_id: String,
    pub time_zone: String,
    /// UTC, RFC 3339.
    pub start_time: String,
    pub end_time: String,
    pub local_date: String,
    pub language: String,
    pub format: String,
    pub currency: String,
    pub prices: BTreeMap<SeatType, i64>,
    pub layout: Layout,
    pub capacity: i64,
    pub status: ShowStatus,
    /// Screen slots claimed by this show (freed when it is cancelled).
    pub slots: Vec<i64>,
    /// Seats one customer may hold plus buy for this show (`domain::limits`; default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_seats_per_customer: Option<u32>,
    /// Sold through the waiting room: bookings need an admission token (`domain::queue`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub queue_mode: bool,
}

impl Show {
    pub fn price_of(&self, seat_type: SeatType) -> Option<i64> {
        self.prices.get(&seat_type).copied()
    }

    /// A seat's type and price; `None` when the show has no such seat (or, never for a show
    /// create-show accepted, no price for its type).
    pub fn seat_price(&self, seat_id: &str) -> Option<(SeatType, i64)> {
        let seat = self.layout.seat(seat_id)?;
        Some((seat.seat_type, self.price_of(seat.seat_type)?))
    }

    pub fn price_from(&self) -> i64 {
        self.layout
            .seat_types()
            .iter()
            .filter_map(|t| self.price_of(*t))
            .min()
            .unwrap_or(0)
    }
}

/// Lower-cased, trimmed list of 1–10 labels of 1–40 characters (languages, genres).
pub fn normalize_labels(field: &str, values: &[String]) -> Result<Vec<String>, String> {
    if values.is_empty() || values.len() > 10 {
        return Err(format!("{field} must list 1–10 values"));
    }
    let mut out = Vec::new();
    for v in values {
        let v = v.trim().to_lowercase();
        if v.is_empty() || v.len() > 40 || v.chars().any(|c| c.is_control() || c == '#') {
            return Err(format!("{field} values must be 1–40 characters"));
        }
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out)
}
