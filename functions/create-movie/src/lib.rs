//! `POST /movies` (ADMIN): a movie in the catalogue.

use boxoffice::{
    domain::{
        catalog::{normalize_labels, Movie, MAX_DURATION_MINS},
        user::{validate_name, Role},
    },
    http::{created, parse_json, serve, HttpResult},
    ids::new_id,
    runtime::{Function, Handler},
    secrets::SecretSet,
    views::MovieView,
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MovieBody {
    title: String,
    languages: Vec<String>,
    genres: Vec<String>,
    duration_mins: i64,
    certification: Option<String>,
    release_date: String,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| create_movie(deps, req)).await
}

async fn create_movie(deps: &Deps, req: Request) -> HttpResult {
    deps.caller(&req, &[Role::Admin])?;
    let body: MovieBody = parse_json(&req)?;
    if !(1..=MAX_DURATION_MINS).contains(&body.duration_mins) {
        return Err(ApiError::validation(format!(
            "durationMins must be 1–{MAX_DURATION_MINS}."
        )));
    }
    let release_date = chrono::NaiveDate::parse_from_str(&body.release_date, "%Y-%m-%d")
        .map_err(|_| ApiError::validation("releaseDate must be a date, YYYY-MM-DD."))?;
    let certification = body
        .certification
        .map(|c| validate_name("certification", &c))
        .transpose()
        .map_err(ApiError::validation)?;
    let movie = Movie {
        movie_id: new_id("mv"),
        title: validate_name("title", &body.title).map_err(ApiError::validation)?,
        languages: normalize_labels("languages", &body.languages).map_err(ApiError::validation)?,
        genres: normalize_labels("genres", &body.genres).map_err(ApiError::validation)?,
        duration_mins: body.duration_mins,
        certification,
        release_date: release_date.to_string(),
    };
    deps.store.put_movie(&movie).await?;
    created(&MovieView::from(&movie))
}
