//! `GET /cities/{cityId}/movies/{movieId}/shows?date=&language=&format=`: the theatres running a
//! movie on a day of the city's calendar, with prices and availability. One GSI Query per page.
//! Shows that have started (or are cancelled) are left out at read time: a listing carries its
//! start, so a past show leaves browse the moment it begins, with nothing to expire.

use boxoffice::{
    domain::{
        city::parse_time_zone,
        show::{availability, local_date, Availability, ShowStatus},
    },
    http::{
        cacheable, date_param, max_age, page_limit, path_param, query_param, serve, HttpResult,
    },
    ids::is_id,
    runtime::{Function, Handler},
    store::catalog::Listing,
    views::local_time,
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AvailabilityView {
    available_seats: i64,
    status: Availability,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ShowSummary {
    show_id: String,
    screen_name: String,
    start_time: String,
    format: String,
    language: String,
    currency: String,
    price_from: i64,
    availability: AvailabilityView,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TheatreShows {
    theatre_id: String,
    name: String,
    shows: Vec<ShowSummary>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BrowseResponse {
    city_id: String,
    movie_id: String,
    date: String,
    theatres: Vec<TheatreShows>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| browse_shows(deps, req)).await
}

async fn browse_shows(deps: &Deps, req: Request) -> HttpResult {
    let city_id = path_param(&req, "cityId")?.to_lowercase();
    let movie_id = path_param(&req, "movieId")?;
    let limit = page_limit(&req)?;
    let date = date_param(&req, "date")?;
    let cursor = query_param(&req, "cursor");

    let city = deps
        .caches
        .city(&deps.store, &city_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("No city {city_id}.")))?;
    let movie_missing = || ApiError::NotFound(format!("No movie {movie_id}."));
    if !is_id("mv", &movie_id) {
        return Err(movie_missing());
    }
    deps.caches
        .movie(&deps.store, &movie_id)
        .await?
        .ok_or_else(movie_missing)?;
    let date = match date {
        Some(d) => d,
        None => local_date(
            deps.clock.now(),
            &parse_time_zone(&city.time_zone).map_err(ApiError::Internal)?,
        ),
    };

    let page = deps
        .store
        .browse_listings(
            &city.city_id,
            &date.to_string(),
            &movie_id,
            limit,
            cursor.as_deref(),
        )
        .await?;
    let filters = Filters {
        language: query_param(&req, "language").map(|l| l.trim().to_lowercase()),
        format: query_param(&req, "format").map(|f| f.trim().to_uppercase()),
    };
    let theatres = by_theatre(page.items, deps.clock.now_epoch(), &filters);
    let browse = BrowseResponse {
        city_id: city.city_id,
        movie_id,
        date: date.to_string(),
        theatres,
        next_cursor: page.next_cursor,
    };
    cacheable(&req, &browse, max_age::BROWSE)
}

/// The query's optional show filters.
struct Filters {
    language: Option<String>,
    format: Option<String>,
}

/// The page's bookable shows (scheduled, not begun, matching the filters), grouped by theatre in
/// the order the page lists them.
fn by_theatre(listings: Vec<Listing>, now: i64, filters: &Filters) -> Vec<TheatreShows> {
    let mut theatres: Vec<TheatreShows> = Vec::new();
    for l in listings {
        let started =
            !chrono::DateTime::parse_from_rfc3339(&l.start_time).is_ok_and(|t| t.timestamp() > now);
        if l.status != ShowStatus::Scheduled
            || started
            || filters.language.as_ref().is_some_and(|x| x != &l.language)
            || filters.format.as_ref().is_some_and(|x| x != &l.format)
        {
            continue;
        }
        let available = l.available();
        let summary = ShowSummary {
            show_id: l.show_id,
            screen_name: l.screen_name,
            start_time: local_time(&l.start_time, &l.time_zone),
            format: l.format,
            language: l.language,
            currency: l.currency,
            price_from: l.price_from,
            availability: AvailabilityView {
                available_seats: available,
                status: availability(available, l.capacity),
            },
        };
        match theatres.iter_mut().find(|t| t.theatre_id == l.theatre_id) {
            Some(t) => t.shows.push(summary),
            None => theatres.push(TheatreShows {
                theatre_id: l.theatre_id,
                name: l.theatre_name,
                shows: vec![summary],
            }),
        }
    }
    theatres
}
