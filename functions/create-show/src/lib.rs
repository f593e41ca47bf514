//! `POST /shows` (the PARTNER owning the theatre): schedules a movie on a screen. The screen's
//! layout and the prices are copied into the show, so a show never changes under a booking.

use boxoffice::{
    domain::{
        catalog::{Movie, Theatre},
        layout::SeatType,
        scheduling::{check_request, new_show, ScheduleRefusal, ShowRequest, Venue},
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
    let request = ShowRequest {
        start_time: body.start_time,
        language: body.language,
        format: body.format,
        currency: body.currency,
        prices: body.prices,
        max_seats_per_customer: body.max_seats_per_customer,
    };
    let checked = check_request(&request, deps.clock.now()).map_err(ApiError::validation)?;

    let theatre = owned_theatre(deps, &caller.user_id, &body.theatre_id).await?;
    let screen = find_screen(&theatre, &body.screen_id).ok_or_else(|| {
        ApiError::NotFound(format!("No screen {} in this theatre.", body.screen_id))
    })?;
    let movie = movie_named(deps, &body.movie_id).await?;
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
    let venue = Venue {
        theatre: &theatre,
        screen,
        movie: &movie,
        city: &city,
    };
    let gap = deps.config.cleaning_gap_minutes;
    let show = new_show(new_id("sh"), request, checked, &venue, gap).map_err(|r| match r {
        ScheduleRefusal::Invalid(m) => ApiError::validation(m),
        ScheduleRefusal::BadCityRecord(m) => ApiError::Internal(m),
    })?;
    match deps.store.create_show(&show).await? {
        CreateShow::Created => created(&ShowView::from(&show)),
        CreateShow::Overlaps => Err(ApiError::InvalidState(
            "Another show on this screen overlaps this time (running time plus cleaning gap)."
                .into(),
        )),
    }
}

/// The theatre, if the caller is the partner owning it.
async fn owned_theatre(
    deps: &Deps,
    partner_id: &str,
    theatre_id: &str,
) -> Result<Theatre, ApiError> {
    let theatre_missing = || ApiError::NotFound(format!("No theatre {theatre_id}."));
    if !is_id("th", theatre_id) {
        return Err(theatre_missing());
    }
    let theatre = deps
        .store
        .get_theatre(theatre_id)
        .await?
        .ok_or_else(theatre_missing)?;
    if theatre.partner_id != partner_id {
        return Err(ApiError::Forbidden(
            "Only the partner owning this theatre may schedule its shows.".into(),
        ));
    }
    Ok(theatre)
}

async fn movie_named(deps: &Deps, movie_id: &str) -> Result<Movie, ApiError> {
    let movie_missing = || ApiError::NotFound(format!("No movie {movie_id}."));
    if !is_id("mv", movie_id) {
        return Err(movie_missing());
    }
    deps.store
        .get_movie(movie_id)
        .await?
        .ok_or_else(movie_missing)
}
