//! Shows: scheduling on a screen (no overlaps, cleaning gap), the local date of a start time,
//! bookability and the availability summary.

use super::city::TimeZone;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ShowStatus {
    Scheduled,
    Cancelled,
}

/// Screens are booked in slots of this many minutes: a show claims every slot its running time
/// (plus the cleaning gap) touches, with one conditional write per slot, so two concurrent
/// overlapping shows can never both be created.
pub const SLOT_MINUTES: i64 = 5;

/// The slot numbers (minutes since the epoch / SLOT_MINUTES) a show occupies: from its start to
/// its end plus the cleaning gap, rounded outward to whole slots.
pub fn occupied_slots(start: DateTime<Utc>, duration_mins: i64, gap_mins: i64) -> Vec<i64> {
    let start_min = start.timestamp().div_euclid(60);
    let end_min = start_min + duration_mins + gap_mins;
    let first = start_min.div_euclid(SLOT_MINUTES);
    let last = (end_min - 1).div_euclid(SLOT_MINUTES);
    (first..=last).collect()
}

/// The date of `t` in the city's time zone: a 23:30 IST show is on its IST date.
pub fn local_date(t: DateTime<Utc>, tz: &TimeZone) -> NaiveDate {
    t.with_timezone(&tz.offset_at(t)).date_naive()
}

/// `t` as RFC 3339 with the city's offset (`2026-02-01T18:30:00+05:30`).
pub fn local_rfc3339(t: DateTime<Utc>, tz: &TimeZone) -> String {
    t.with_timezone(&tz.offset_at(t))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

pub fn end_time(start: DateTime<Utc>, duration_mins: i64) -> DateTime<Utc> {
    start + Duration::minutes(duration_mins)
}

/// The state of a seat that has an item (a seat without one is available, and so is a HELD seat
/// whose hold has lapsed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SeatState {
    Held,
    Sold,
}

impl SeatState {
    pub const fn as_str(self) -> &'static str {
        match self {
            SeatState::Held => "HELD",
            SeatState::Sold => "SOLD",
        }
    }
}

impl PartialEq<&str> for SeatState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Availability {
    Available,
    FastFilling,
    SoldOut,
}

/// `FAST_FILLING` under 20 % left, `SOLD_OUT` at none.
pub fn availability(available: i64, capacity: i64) -> Availability {
    if available <= 0 {
        Availability::SoldOut
    } else if available * 5 < capacity {
        Availability::FastFilling
    } else {
        Availability::Available
    }
}

/// Why a show cannot be booked now, if it cannot.
pub fn not_bookable_reason(
    status: ShowStatus,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<&'static str> {
    match status {
        ShowStatus::Cancelled => Some("The show has been cancelled."),
        ShowStatus::Scheduled if start <= now => Some("The show has already started."),
        ShowStatus::Scheduled => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::city::parse_time_zone;
    use chrono::TimeZone as _;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, h, m, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn slots_cover_running_time_and_gap() {
        let a = occupied_slots(at(10, 0), 120, 15);
        assert_eq!(a.len(), 27);
        let touching = occupied_slots(at(12, 15), 90, 15);
        assert!(
            a.iter().all(|s| !touching.contains(s)),
            "a show may start right after the gap"
        );
        let overlapping = occupied_slots(at(12, 10), 90, 15);
        assert!(a.iter().any(|s| overlapping.contains(s)));
    }

    #[test]
    fn local_dates_follow_the_city_time_zone() {
        let kolkata = parse_time_zone("Asia/Kolkata").expect("tz");
        // 23:30 IST on 1 Dec is 18:00 UTC on 1 Dec; 00:30 IST on 2 Dec is 19:00 UTC on 1 Dec.
        assert_eq!(local_date(at(18, 0), &kolkata).to_string(), "2026-12-01");
        assert_eq!(local_date(at(19, 0), &kolkata).to_string(), "2026-12-02");
        assert_eq!(
            local_rfc3339(at(18, 0), &kolkata),
            "2026-12-01T23:30:00+05:30"
        );
    }

    #[test]
    fn offsets_follow_daylight_saving() {
        let new_york = parse_time_zone("America/New_York").expect("tz");
        // 1 Dec is EST (-05:00); 1 Jul is EDT (-04:00).
        assert_eq!(
            local_rfc3339(at(18, 0), &new_york),
            "2026-12-01T13:00:00-05:00"
        );
        let july = at(18, 0) - Duration::days(153);
        assert_eq!(local_rfc3339(july, &new_york), "2026-07-01T14:00:00-04:00");
        assert!(parse_time_zone("Mars/Olympus_Mons").is_err());
    }

    #[test]
    fn availability_thresholds() {
        assert_eq!(availability(0, 100), Availability::SoldOut);
        assert_eq!(availability(19, 100), Availability::FastFilling);
        assert_eq!(availability(20, 100), Availability::Available);
    }
}
