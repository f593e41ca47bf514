//! `GET /movies?city=&language=&genre=&date=&limit=&cursor=`: the catalogue, filtered; with `city`
//! only movies "now showing" there: with a show still to start (on `date`, or in the next 7 days
//! of the city's calendar). A show that has begun stops counting at once (filtered at read time
//! by the start in the browse index's sort key: no sweep, no TTL, nothing to write).

use boxoffice::{
    domain::{
        catalog::Movie,
        city::{parse_time_zone, City},
        show::local_date,
    },
    http::{cacheable, date_param, max_age, page_body, page_limit, query_param, serve, HttpResult},
    runtime::{Function, Handler},
    store::catalog::{movie_cursor, movie_cursor_position},
    views::MovieView,
    ApiError, Deps,
};
use chrono::{Duration, NaiveDate};
use lambda_http::{Body, Request, Response};

/// How far ahead "showing in this city" looks when no date is given.
const DAYS_AHEAD: i64 = 7;

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| list_movies(deps, req)).await
}

async fn list_movies(deps: &Deps, req: Request) -> HttpResult {
    let limit = page_limit(&req)?;
    let language = query_param(&req, "language").map(|l| l.trim().to_lowercase());
    let genre = query_param(&req, "genre").map(|g| g.trim().to_lowercase());
    let date = date_param(&req, "date")?;
    let cursor = query_param(&req, "cursor");
    let keep = |m: &Movie| {
        language.as_ref().is_none_or(|l| m.languages.contains(l))
            && genre.as_ref().is_none_or(|g| m.genres.contains(g))
    };

    let Some(city_id) = query_param(&req, "city") else {
        if date.is_some() {
            return Err(ApiError::validation(
                "date filters shows in a city: give city too.",
            ));
        }
        let page = deps
            .store
            .list_movies(limit, cursor.as_deref(), keep)
            .await?;
        return respond(&req, &page.items, page.next_cursor);
    };

    let city = deps
        .caches
        .city(&deps.store, &city_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("No city {city_id}.")))?;
    let mut ids = showing_in(deps, &city, date).await?;
    // Same order and cursor shape as the unfiltered catalogue: newest id first.
    ids.sort_unstable_by(|a, b| b.cmp(a));
    if let Some(c) = &cursor {
        let after = movie_cursor_position(c)?;
        ids.retain(|id| id < &after);
    }
    let mut movies: Vec<Movie> = deps
        .store
        .get_movies(&ids)
        .await?
        .into_iter()
        .filter(keep)
        .collect();
    movies.sort_unstable_by(|a, b| b.movie_id.cmp(&a.movie_id));
    let more = movies.len() > limit as usize;
    movies.truncate(limit as usize);
    let next = more
        .then(|| movies.last().and_then(|m| movie_cursor(&m.movie_id)))
        .flatten();
    respond(&req, &movies, next)
}

fn respond(req: &Request, movies: &[Movie], next_cursor: Option<String>) -> HttpResult {
    let movies: Vec<MovieView> = movies.iter().map(MovieView::from).collect();
    cacheable(
        req,
        &page_body("movies", &movies, next_cursor),
        max_age::CATALOG,
    )
}

/// Ids of the movies with shows still to begin in the city on `date`, or on any of the next
/// `DAYS_AHEAD` days of the city's calendar.
async fn showing_in(
    deps: &Deps,
    city: &City,
    date: Option<NaiveDate>,
) -> Result<Vec<String>, ApiError> {
    let dates = match date {
        Some(d) => vec![d],
        None => {
            let tz = parse_time_zone(&city.time_zone).map_err(ApiError::Internal)?;
            let today = local_date(deps.clock.now(), &tz);
            (0..DAYS_AHEAD).map(|i| today + Duration::days(i)).collect()
        }
    };
    let mut ids = Vec::new();
    let now = deps.clock.now_epoch();
    for d in dates {
        for id in deps
            .store
            .movie_ids_showing(&city.city_id, &d.to_string(), now)
            .await?
        {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}
