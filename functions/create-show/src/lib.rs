//! `POST /shows` (the PARTNER owning the theatre): schedules a movie on a screen. The screen's
//! layout and the prices are copied into the show, so a show never changes under a booking.

use boxoffice::{
    clock::rfc3339,
    domain::{
        catalog::Show,
        city::{parse_time_zone, validate_currency},
        layout::SeatType,
        show::{end_time, local_date, occupied_slots, ShowStatus},
        user::Role,
    },
    http::{created, parse_json, serve, HttpResult},
    ids::{is_id, new_id},
    runtime::{Function, Handler},
    secrets::SecretSet,
    store::catalog::{find_screen, CreateShow},
    views::ShowView,
    ApiError, Deps,
};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ShowBody {
    theatre_id: String,
    screen_id: String,
    movie_id: String,
    start_time: String,
    language: String,
    format: String,
    currency: String,
    prices: BTreeMap<SeatType, i64>,
    /// The per-customer seat cap of this show (issue 15; default 10).
    max_seats_per_customer: Option<u32>,
}

const MAX_PRICE: i64 = 100_000_000;

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| create_show(deps, req)).await
}

async fn create_show(deps: &Deps, req: Request) -> HttpResult {
    let caller = deps.caller(&req, &[Role::Partner])?;
    let body: ShowBody = parse_json(&req)?;
    if let Some(cap) = body.max_seats_per_customer {
        if !boxoffice::domain::limits::valid_seat_cap(cap) {
            return Err(ApiError::validation(format!(
                "maxSeatsPerCustomer must be 1–{}.",
                boxoffice::domain::limits::MAX_SEAT_CAP
            )));
        }
    }

    let start: DateTime<Utc> = DateTime::parse_from_rfc3339(&body.start_time)
        .map_err(|_| {
            ApiError::validation(
                "startTime must be RFC 3339 with an offset, e.g. 2026-02-01T18:30:00+05:30.",
            )
        })?
        .with_timezone(&Utc);
    if start <= deps.clock.now() {
        return Err(ApiError::validation("startTime must be in the future."));
    }
    let format = body.format.trim().to_uppercase();
    if format.is_empty()
        || format.len() > 20
        || !format
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-')
    {
        return Err(ApiError::validation(
            "format must be 1–20 letters, digits, spaces or '-', e.g. 2D, IMAX 3D.",
        ));
    }
    validate_currency(&body.currency).map_err(ApiError::validation)?;
    if let Some((t, p)) = body
        .prices
        .iter()
        .find(|(_, p)| !(0..=MAX_PRICE).contains(*p))
    {
        return Err(ApiError::validation(format!(
            "price of {} must be 0–{MAX_PRICE} minor units, not {p}.",
            t.as_str()
        )));
    }

    let theatre_missing = || ApiError::NotFound(format!("No theatre {}.", body.theatre_id));
    if !is_id("th", &body.theatre_id) {
        return Err(theatre_missing());
    }
    let theatre = deps
        .store
        .get_theatre(&body.theatre_id)
        .await?
        .ok_or_else(theatre_missing)?;
    if theatre.partner_id != caller.user_id {
        return Err(ApiError::Forbidden(
            "Only the partner owning this theatre may schedule its shows.".into(),
        ));
    }
    let screen = find_screen(&theatre, &body.screen_id).ok_or_else(|| {
        ApiError::NotFound(format!("No screen {} in this theatre.", body.screen_id))
    })?;
    let movie_missing = || ApiError::NotFound(format!("No movie {}.", body.movie_id));
    if !is_id("mv", &body.movie_id) {
        return Err(movie_missing());
    }
    let movie = deps
        .store
        .get_movie(&body.movie_id)
        .await?
        .ok_or_else(movie_missing)?;
    let language = body.language.trim().to_lowercase();
    if !movie.languages.contains(&language) {
        return Err(ApiError::validation(format!(
            "language must be one of the movie's: {}.",
            movie.languages.join(", ")
        )));
    }
    let unpriced: Vec<&str> = screen
        .layout
        .seat_types()
        .into_iter()
        .filter(|t| !body.prices.contains_key(t))
        .map(SeatType::as_str)
        .collect();
    if !unpriced.is_empty() {
        return Err(ApiError::validation(format!(
            "Every seat type of the screen needs a price; missing: {}.",
            unpriced.join(", ")
        )));
    }
    let city = deps
        .caches
        .city(&deps.store, &theatre.city_id)
        .await?
        .ok_or_else(|| {
            ApiError::Internal(format!(
                "theatre {} names unknown city {}",
                theatre.theatre_id, theatre.city_id
            ))
        })?;
    if city.currency != body.currency {
        return Err(ApiError::validation(format!(
            "currency must be the city's currency, {}.",
            city.currency
        )));
    }
    let tz = parse_time_zone(&city.time_zone).map_err(ApiError::Internal)?;

    let show = Show {
        show_id: new_id("sh"),
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
        format,
        currency: body.currency,
        prices: body.prices,
        capacity: screen.layout.capacity() as i64,
        layout: screen.layout.clone(),
        status: ShowStatus::Scheduled,
        slots: occupied_slots(start, movie.duration_mins, deps.config.cleaning_gap_minutes),
        max_seats_per_customer: body.max_seats_per_customer,
        queue_mode: false,
    };
    match deps.store.create_show(&show).await? {
        CreateShow::Created => created(&ShowView::from(&show)),
        CreateShow::Overlaps => Err(ApiError::InvalidState(
            "Another show on this screen overlaps this time (running time plus cleaning gap)."
                .into(),
        )),
    }
}
