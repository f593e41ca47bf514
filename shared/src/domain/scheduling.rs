//! A new show: what a partner's request must satisfy, and the show it becomes. The screen's
//! layout and the prices are copied in, so a show never changes under a booking. Checked in two
//! steps, so a request that is wrong on its face costs no read: `check_request` before anything
//! is loaded, `new_show` against the theatre, screen, movie and city it names.

use super::{
    catalog::{Movie, Screen, Show, Theatre},
    city::{parse_time_zone, validate_currency, City},
    layout::SeatType,
    limits::{valid_seat_cap, MAX_SEAT_CAP},
    show::{end_time, local_date, occupied_slots, ShowStatus},
};
use crate::clock::rfc3339;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// The highest seat price, in minor units.
pub const MAX_PRICE: i64 = 100_000_000;

/// What the partner asks for.
#[derive(Debug, Clone)]
pub struct ShowRequest {
    pub start_time: String,
    pub language: String,
    pub format: String,
    pub currency: String,
    pub prices: BTreeMap<SeatType, i64>,
    pub max_seats_per_customer: Option<u32>,
}

/// A request that passed `check_request`: its start and its normalized format.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRequest {
    pub start: DateTime<Utc>,
    pub format: String,
}

/// Why a show is not scheduled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleRefusal {
    /// The request is wrong (a 400 with this message).
    Invalid(String),
    /// A stored record is (a 500: the city's time zone no longer parses).
    BadCityRecord(String),
}

/// The checks that need nothing loaded: seat cap, start in the future, format, currency, prices.
pub fn check_request(req: &ShowRequest, now: DateTime<Utc>) -> Result<CheckedRequest, String> {
    if req
        .max_seats_per_customer
        .is_some_and(|cap| !valid_seat_cap(cap))
    {
        return Err(format!("maxSeatsPerCustomer must be 1–{MAX_SEAT_CAP}."));
    }
    let start = DateTime::parse_from_rfc3339(&req.start_time)
        .map_err(|_| {
            "startTime must be RFC 3339 with an offset, e.g. 2026-02-01T18:30:00+05:30.".to_owned()
        })?
        .with_timezone(&Utc);
    if start <= now {
        return Err("startTime must be in the future.".into());
    }
    let format = req.format.trim().to_uppercase();
    let format_ok = !format.is_empty()
        && format.len() <= 20
        && format
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-');
    if !format_ok {
        return Err("format must be 1–20 letters, digits, spaces or '-', e.g. 2D, IMAX 3D.".into());
    }
    validate_currency(&req.currency)?;
    if let Some((t, p)) = req
        .prices
        .iter()
        .find(|(_, p)| !(0..=MAX_PRICE).contains(*p))
    {
        return Err(format!(
            "price of {} must be 0–{MAX_PRICE} minor units, not {p}.",
            t.as_str()
        ));
    }
    Ok(CheckedRequest { start, format })
}

/// Where the show plays and what: the records the request names, as loaded.
pub struct Venue<'a> {
    pub theatre: &'a Theatre,
    pub screen: &'a Screen,
    pub movie: &'a Movie,
    pub city: &'a City,
}

/// The show the request becomes on this screen: one of the movie's languages, a price for every
/// seat type of the screen, the city's currency; its slots include the cleaning gap.
pub fn new_show(
    show_id: String,
    req: ShowRequest,
    checked: CheckedRequest,
    venue: &Venue<'_>,
    cleaning_gap_minutes: i64,
) -> Result<Show, ScheduleRefusal> {
    let Venue {
        theatre,
        screen,
        movie,
        city,
    } = venue;
    let language = req.language.trim().to_lowercase();
    if !movie.languages.contains(&language) {
        return Err(ScheduleRefusal::Invalid(format!(
            "language must be one of the movie's: {}.",
            movie.languages.join(", ")
        )));
    }
    let unpriced: Vec<&str> = screen
        .layout
        .seat_types()
        .into_iter()
        .filter(|t| !req.prices.contains_key(t))
        .map(SeatType::as_str)
        .collect();
    if !unpriced.is_empty() {
        return Err(ScheduleRefusal::Invalid(format!(
            "Every seat type of the screen needs a price; missing: {}.",
            unpriced.join(", ")
        )));
    }
    if city.currency != req.currency {
        return Err(ScheduleRefusal::Invalid(format!(
            "currency must be the city's currency, {}.",
            city.currency
        )));
    }
    let tz = parse_time_zone(&city.time_zone).map_err(ScheduleRefusal::BadCityRecord)?;
    let start = checked.start;
    Ok(Show {
        show_id,
        theatre_id: theatre.theatre_id.clone(),
        theatre_name: theatre.name.clone(),
        partner_id: theatre.partner_id.clone(),
        screen_id: screen.screen_id.clone(),
        screen_name: screen.name.clone(),
        movie_id: movie.movie_id.clone(),
        movie_title: movie.title.clone(),
        city_id: city.city_id.clone(),
        time_zone: city.time_zone.clone(),
        start_time: rfc3339(start),
        end_time: rfc3339(end_time(start, movie.duration_mins)),
        local_date: local_date(start, &tz).to_string(),
        language,
        format: checked.format,
        currency: req.currency,
        prices: req.prices,
        capacity: screen.layout.capacity() as i64,
        layout: screen.layout.clone(),
        status: ShowStatus::Scheduled,
        slots: occupied_slots(start, movie.duration_mins, cleaning_gap_minutes),
        max_seats_per_customer: req.max_seats_per_customer,
        queue_mode: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::layout::{Layout, Row, Seat};
    use chrono::TimeZone as _;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0)
            .single()
            .expect("valid")
    }

    fn request() -> ShowRequest {
        ShowRequest {
            start_time: "2026-12-01T23:30:00+05:30".into(),
            language: " Hindi ".into(),
            format: " imax 3d ".into(),
            currency: "INR".into(),
            prices: BTreeMap::from([(SeatType::Regular, 25_000), (SeatType::Premium, 40_000)]),
            max_seats_per_customer: None,
        }
    }

    fn venue_records() -> (Theatre, Movie, City) {
        let screen = Screen {
            screen_id: "sc1".into(),
            name: "Audi 1".into(),
            layout: Layout {
                rows: vec![Row {
                    row_label: "A".into(),
                    seats: vec![
                        Seat {
                            seat_id: "A1".into(),
                            seat_type: SeatType::Regular,
                        },
                        Seat {
                            seat_id: "A2".into(),
                            seat_type: SeatType::Premium,
                        },
                    ],
                }],
            },
        };
        let theatre = Theatre {
            theatre_id: "th1".into(),
            partner_id: "us1".into(),
            name: "PVR".into(),
            city_id: "bengaluru".into(),
            area: "Koramangala".into(),
            address: "1 Main Road".into(),
            screens: vec![screen],
        };
        let movie = Movie {
            movie_id: "mv1".into(),
            title: "Film".into(),
            languages: vec!["hindi".into(), "tamil".into()],
            genres: vec!["drama".into()],
            duration_mins: 120,
            certification: None,
            release_date: "2026-11-01".into(),
        };
        let city = City {
            city_id: "bengaluru".into(),
            name: "Bengaluru".into(),
            time_zone: "Asia/Kolkata".into(),
            currency: "INR".into(),
            convenience_fee_per_ticket: 3_000,
            tax_basis_points: 1_800,
            loyalty: None,
        };
        (theatre, movie, city)
    }

    #[test]
    fn request_checks_one_rule_per_row() {
        type Edit = fn(&mut ShowRequest);
        let rows: &[(&str, Edit, Option<&str>)] = &[
            ("a valid request", |_| {}, None),
            (
                "seat cap 0",
                |r| r.max_seats_per_customer = Some(0),
                Some("maxSeatsPerCustomer"),
            ),
            (
                "seat cap above the highest",
                |r| r.max_seats_per_customer = Some(MAX_SEAT_CAP + 1),
                Some("maxSeatsPerCustomer"),
            ),
            (
                "a start without an offset",
                |r| r.start_time = "2026-12-02T18:30:00".into(),
                Some("RFC 3339"),
            ),
            (
                "a start that has passed",
                |r| r.start_time = "2026-12-01T09:59:59Z".into(),
                Some("future"),
            ),
            (
                "a start right now",
                |r| r.start_time = "2026-12-01T10:00:00Z".into(),
                Some("future"),
            ),
            (
                "an empty format",
                |r| r.format = "  ".into(),
                Some("format"),
            ),
            (
                "a format of 21 characters",
                |r| r.format = "A".repeat(21),
                Some("format"),
            ),
            (
                "a format with a key separator",
                |r| r.format = "2D#".into(),
                Some("format"),
            ),
            (
                "a lower-case currency",
                |r| r.currency = "inr".into(),
                Some("currency"),
            ),
            (
                "a negative price",
                |r| {
                    r.prices.insert(SeatType::Regular, -1);
                },
                Some("price of REGULAR"),
            ),
            (
                "a price above the highest",
                |r| {
                    r.prices.insert(SeatType::Premium, MAX_PRICE + 1);
                },
                Some("price of PREMIUM"),
            ),
            (
                "a free seat type",
                |r| {
                    r.prices.insert(SeatType::Regular, 0);
                },
                None,
            ),
        ];
        for (name, edit, refusal) in rows {
            let mut req = request();
            edit(&mut req);
            match (check_request(&req, now()), refusal) {
                (Ok(checked), None) => assert_eq!(checked.format, "IMAX 3D", "{name}"),
                (Err(message), Some(part)) => assert!(message.contains(part), "{name}: {message}"),
                (outcome, _) => panic!("{name}: {outcome:?}"),
            }
        }
    }

    #[test]
    fn a_checked_request_becomes_the_show_on_its_screen() {
        let (theatre, movie, city) = venue_records();
        let venue = Venue {
            theatre: &theatre,
            screen: &theatre.screens[0],
            movie: &movie,
            city: &city,
        };
        let req = request();
        let checked = check_request(&req, now()).expect("valid");
        let show = new_show("sh1".into(), req, checked, &venue, 15).expect("scheduled");
        assert_eq!(show.start_time, "2026-12-01T18:00:00Z");
        assert_eq!(show.end_time, "2026-12-01T20:00:00Z");
        assert_eq!(show.local_date, "2026-12-01", "the city's calendar date");
        assert_eq!(
            (show.language.as_str(), show.format.as_str()),
            ("hindi", "IMAX 3D")
        );
        assert_eq!((show.capacity, show.status), (2, ShowStatus::Scheduled));
        assert_eq!(show.slots.len(), 27, "running time plus the cleaning gap");
        assert_eq!(show.seat_price("A2"), Some((SeatType::Premium, 40_000)));
        assert_eq!(show.partner_id, "us1");
    }

    #[test]
    fn a_show_must_fit_its_movie_screen_and_city() {
        let (theatre, movie, city) = venue_records();
        type Edit = fn(&mut ShowRequest, &mut City);
        let rows: &[(&str, Edit, ScheduleRefusal)] = &[
            (
                "a language the movie lacks",
                |r, _| r.language = "telugu".into(),
                ScheduleRefusal::Invalid(
                    "language must be one of the movie's: hindi, tamil.".into(),
                ),
            ),
            (
                "a seat type without a price",
                |r, _| {
                    r.prices.remove(&SeatType::Premium);
                },
                ScheduleRefusal::Invalid(
                    "Every seat type of the screen needs a price; missing: PREMIUM.".into(),
                ),
            ),
            (
                "another currency than the city's",
                |r, _| r.currency = "USD".into(),
                ScheduleRefusal::Invalid("currency must be the city's currency, INR.".into()),
            ),
            (
                "a city whose time zone no longer parses",
                |_, c| c.time_zone = "Mars/Olympus".into(),
                ScheduleRefusal::BadCityRecord(
                    "timeZone 'Mars/Olympus' is not an IANA time zone".into(),
                ),
            ),
        ];
        for (name, edit, refusal) in rows {
            let (mut req, mut city) = (request(), city.clone());
            edit(&mut req, &mut city);
            let venue = Venue {
                theatre: &theatre,
                screen: &theatre.screens[0],
                movie: &movie,
                city: &city,
            };
            let checked = check_request(&req, now()).expect("valid on its face");
            let outcome = new_show("sh1".into(), req, checked, &venue, 15);
            assert_eq!(outcome.as_ref().err(), Some(refusal), "{name}");
        }
    }
}
