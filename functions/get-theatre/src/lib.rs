//! `GET /theatres/{theatreId}`: a theatre with its screens and layouts.

use boxoffice::{
    http::{cacheable, max_age, path_param, serve, HttpResult},
    ids::is_id,
    runtime::{Function, Handler},
    views::TheatreView,
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
    serve(req, |req| get_theatre(deps, req)).await
}

async fn get_theatre(deps: &Deps, req: Request) -> HttpResult {
    let theatre_id = path_param(&req, "theatreId")?;
    let not_found = || ApiError::NotFound(format!("No theatre {theatre_id}."));
    if !is_id("th", &theatre_id) {
        return Err(not_found());
    }
    let theatre = deps
        .store
        .get_theatre(&theatre_id)
        .await?
        .ok_or_else(not_found)?;
    cacheable(&req, &TheatreView::from(&theatre), max_age::CATALOG)
}
