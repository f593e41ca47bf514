//! `GET /movies/{movieId}`.

use boxoffice::{
    http::{cacheable, max_age, path_param, serve, HttpResult},
    ids::is_id,
    runtime::{Function, Handler},
    views::MovieView,
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| get_movie(deps, req)).await
}

async fn get_movie(deps: &Deps, req: Request) -> HttpResult {
    let movie_id = path_param(&req, "movieId")?;
    let not_found = || ApiError::NotFound(format!("No movie {movie_id}."));
    if !is_id("mv", &movie_id) {
        return Err(not_found());
    }
    let movie = deps
        .store
        .get_movie(&movie_id)
        .await?
        .ok_or_else(not_found)?;
    cacheable(&req, &MovieView::from(&movie), max_age::CATALOG)
}
