//! Response bodies shared by several functions (camelCase, as the contract writes them).

use crate::domain::{
    city::City,
    user::{Role, User},
};
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            user_id: u.user_id.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role,
            company: u.company.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CityView {
    pub city_id: String,
    pub name: String,
    pub time_zone: String,
    pub currency: String,
    pub convenience_fee_per_ticket: i64,
    pub tax_percent: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loyalty: Option<CityLoyaltyView>,
}

/// A city's loyalty terms as `PUT /admin/cities/{cityId}` takes them: `earnPercent` of a
/// booking's total back as points, each point worth `pointValue` minor units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CityLoyaltyView {
    pub earn_percent: f64,
    pub point_value: i64,
}

impl From<&City> for CityView {
    fn from(c: &City) -> Self {
        CityView {
            city_id: c.city_id.clone(),
            name: c.name.clone(),
            time_zone: c.time_zone.clone(),
            currency: c.currency.clone(),
            convenience_fee_per_ticket: c.convenience_fee_per_ticket,
            tax_percent: c.tax_basis_points as f64 / 100.0,
            loyalty: c.loyalty.map(|l| CityLoyaltyView {
                earn_percent: l.earn_basis_points as f64 / 100.0,
                point_value: l.point_value,
            }),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MovieView<'a> {
    pub movie_id: &'a str,
    pub title: &'a str,
    pub languages: &'a [String],
    pub genres: &'a [String],
    pub duration_mins: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certification: Option<&'a str>,
    pub release_date: &'a str,
}

impl<'a> From<&'a crate::domain::catalog::Movie> for MovieView<'a> {
    fn from(m: &'a crate::domain::catalog::Movie) -> Self {
        MovieView {
            movie_id: &m.movie_id,
            title: &m.title,
            languages: &m.languages,
            genres: &m.genres,
            duration_mins: m.duration_mins,
            certification: m.certification.as_deref(),
            release_date: &m.release_date,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScreenView<'a> {
    pub screen_id: &'a str,
    pub name: &'a str,
    pub capacity: usize,
    pub layout: &'a crate::domain::layout::Layout,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TheatreView<'a> {
    pub theatre_id: &'a str,
    pub partner_id: &'a str,
    pub name: &'a str,
    pub city_id: &'a str,
    pub area: &'a str,
    pub address: &'a str,
    pub screens: Vec<ScreenView<'a>>,
}

impl<'a> From<&'a crate::domain::catalog::Theatre> for TheatreView<'a> {
    fn from(t: &'a crate::domain::catalog::Theatre) -> Self {
        TheatreView {
            theatre_id: &t.theatre_id,
            partner_id: &t.partner_id,
            name: &t.name,
            city_id: &t.city_id,
            area: &t.area,
            address: &t.address,
            screens: t
                .screens
                .iter()
                .map(|s| ScreenView {
                    screen_id: &s.screen_id,
                    name: &s.name,
                    capacity: s.layout.capacity(),
                    layout: &s.layout,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShowView<'a> {
    pub show_id: &'a str,
    pub theatre_id: &'a str,
    pub theatre_name: &'a str,
    pub screen_id: &'a str,
    pub screen_name: &'a str,
    pub movie_id: &'a str,
    pub movie_title: &'a str,
    pub city_id: &'a str,
    pub start_time: String,
    pub end_time: String,
    pub language: &'a str,
    pub format: &'a str,
    pub currency: &'a str,
    pub prices: &'a std::collections::BTreeMap<crate::domain::layout::SeatType, i64>,
    pub price_from: i64,
    pub capacity: i64,
    pub status: crate::domain::show::ShowStatus,
}

/// A stored UTC time shown with the city's offset (falls back to UTC if either is unreadable).
pub fn local_time(utc: &str, time_zone: &str) -> String {
    match (
        chrono::DateTime::parse_from_rfc3339(utc),
        crate::domain::city::parse_time_zone(time_zone),
    ) {
        (Ok(t), Ok(tz)) => crate::domain::show::local_rfc3339(t.with_timezone(&chrono::Utc), &tz),
        _ => utc.to_owned(),
    }
}

impl<'a> From<&'a crate::domain::catalog::Show> for ShowView<'a> {
    fn from(s: &'a crate::domain::catalog::Show) -> Self {
        ShowView {
            show_id: &s.show_id,
            theatre_id: &s.theatre_id,
            theatre_name: &s.theatre_name,
            screen_id: &s.screen_id,
            screen_name: &s.screen_name,
            movie_id: &s.movie_id,
            movie_title: &s.movie_title,
            city_id: &s.city_id,
            start_time: local_time(&s.start_time, &s.time_zone),
            end_time: local_time(&s.end_time, &s.time_zone),
            language: &s.language,
            format: &s.format,
            currency: &s.currency,
            prices: &s.prices,
            price_from: s.price_from(),
            capacity: s.capacity,
            status: s.status,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BookingShowView<'a> {
    pub show_id: &'a str,
    pub theatre_id: &'a str,
    pub start_time: String,
}

/// A booked seat as the API shows it (its storage block stays inside).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BookedSeatView<'a> {
    pub seat_id: &'a str,
    #[serde(rename = "type")]
    pub seat_type: crate::domain::layout::SeatType,
    pub price: i64,
}

impl<'a> BookedSeatView<'a> {
    fn of(seat: &'a crate::domain::booking::BookedSeat) -> Self {
        BookedSeatView {
            seat_id: &seat.seat_id,
            seat_type: seat.seat_type,
            price: seat.price,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BookingView<'a> {
    pub booking_id: &'a str,
    pub status: crate::domain::booking::BookingStatus,
    pub expires_at: String,
    pub show: BookingShowView<'a>,
    pub seats: Vec<BookedSeatView<'a>>,
    pub pricing: &'a crate::domain::pricing::Pricing,
    pub created_at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<&'a crate::domain::booking::PaymentInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund: Option<&'a crate::domain::booking::RefundInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<&'a crate::domain::booking::TicketInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admitted_at: Option<&'a str>,
    pub source: crate::domain::channel::Source,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<&'a str>,
    /// The booking's loyalty points: what its hold redeemed, what confirming it earns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loyalty_points: Option<&'a crate::domain::loyalty::BookingPoints>,
}

impl<'a> From<&'a crate::domain::booking::Booking> for BookingView<'a> {
    fn from(b: &'a crate::domain::booking::Booking) -> Self {
        BookingView {
            booking_id: &b.booking_id,
            status: b.status,
            expires_at: chrono::DateTime::from_timestamp(b.hold_expires_at, 0)
                .map(crate::clock::rfc3339)
                .unwrap_or_default(),
            show: BookingShowView {
                show_id: &b.show_id,
                theatre_id: &b.theatre_id,
                start_time: local_time(&b.show_start, &b.time_zone),
            },
            seats: b.seats.iter().map(BookedSeatView::of).collect(),
            pricing: &b.pricing,
            created_at: &b.created_at,
            confirmed_at: b.confirmed_at.as_deref(),
            cancelled_at: b.cancelled_at.as_deref(),
            payment: b.payment.as_ref(),
            refund: b.refund.as_ref(),
            ticket: b.ticket.as_ref(),
            admitted_at: b.admitted_at.as_deref(),
            source: b.source,
            customer_email: b.customer_email.as_deref(),
            loyalty_points: b.points.as_ref(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferView<'a> {
    pub code: &'a str,
    pub description: &'a str,
    pub rule: &'a crate::domain::pricing::OfferRule,
    pub scope: &'a crate::domain::pricing::OfferScope,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_user_limit: Option<i64>,
    pub active: bool,
}

impl<'a> From<&'a crate::domain::pricing::Offer> for OfferView<'a> {
    fn from(o: &'a crate::domain::pricing::Offer) -> Self {
        OfferView {
            code: &o.code,
            description: &o.description,
            rule: &o.rule,
            scope: &o.scope,
            per_user_limit: o.per_user_limit,
            active: o.active,
        }
    }
}

/// A row of a show's layout, each seat with its price.
pub type PricedRow<'a> = (
    &'a crate::domain::layout::Row,
    Vec<(&'a crate::domain::layout::Seat, i64)>,
);

/// A show's rows in layout order, each seat with its price: what the seat map and the layout
/// show (a seat type the show has no price for is a 500: create-show never stores one).
pub fn priced_rows(
    show: &crate::domain::catalog::Show,
) -> Result<Vec<PricedRow<'_>>, crate::ApiError> {
    show.layout
        .rows
        .iter()
        .map(|row| {
            let seats = row
                .seats
                .iter()
                .map(|seat| {
                    let price = show.price_of(seat.seat_type).ok_or_else(|| {
                        crate::ApiError::Internal(format!(
                            "show {} has a seat type without a price",
                            show.show_id
                        ))
                    })?;
                    Ok((seat, price))
                })
                .collect::<Result<_, crate::ApiError>>()?;
            Ok((row, seats))
        })
        .collect()
}
