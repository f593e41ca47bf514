use chrono::{DateTime, FixedOffset, Offset, Utc};
use serde::{Deserialize, Serialize};

/// A city: its time zone decides what "that day" means for browsing; fee and tax apply to bookings there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct City {
    pub city_id: String,
    pub name: String,
    pub time_zone: String,
    pub currency: String,
    /// Minor units per ticket.
    pub convenience_fee_per_ticket: i64,
    /// Tax in basis points (18 % = 1800), so money math stays in integers.
    pub tax_basis_points: i64,
    /// What a point is worth here and what bookings here earn (`domain::loyalty`); a city
    /// without it neither earns nor takes points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loyalty: Option<super::loyalty::LoyaltyRate>,
}

/// An IANA time zone.
#[derive(Debug, Clone)]
pub struct TimeZone(jiff::tz::TimeZone);

impl TimeZone {
    /// The zone's offset from UTC at `t` (UTC itself for instants outside the supported range).
    pub fn offset_at(&self, t: DateTime<Utc>) -> FixedOffset {
        let seconds = jiff::Timestamp::from_second(t.timestamp())
            .map(|ts| self.0.to_offset(ts).seconds())
            .unwrap_or(0);
        FixedOffset::east_opt(seconds).unwrap_or(Utc.fix())
    }
}

pub fn parse_time_zone(tz: &str) -> Result<TimeZone, String> {
    jiff::tz::TimeZone::get(tz)
        .map(TimeZone)
        .map_err(|_| format!("timeZone '{tz}' is not an IANA time zone"))
}

/// An ISO 4217-shaped code: three upper-case letters.
pub fn validate_currency(c: &str) -> Result<(), String> {
    if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err("currency must be an ISO 4217 code such as INR".into())
    }
}

/// A percentage with at most two decimals, 0–100, as basis points.
pub fn percent_to_basis_points(p: f64) -> Result<i64, String> {
    let bp = p * 100.0;
    if !(0.0..=10_000.0).contains(&bp) || (bp - bp.round()).abs() > 1e-6 {
        return Err("taxPercent must be between 0 and 100 with at most two decimals".into());
    }
    Ok(bp.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn city_fields_validate() {
        assert!(parse_time_zone("Asia/Kolkata").is_ok());
        assert!(parse_time_zone("Mars/Olympus").is_err());
        assert!(validate_currency("INR").is_ok());
        assert!(validate_currency("inr").is_err());
        assert_eq!(percent_to_basis_points(18.0), Ok(1800));
        assert_eq!(percent_to_basis_points(12.5), Ok(1250));
        assert!(percent_to_basis_points(12.345).is_err());
        assert!(percent_to_basis_points(-1.0).is_err());
        assert!(percent_to_basis_points(f64::NAN).is_err());
    }
}
