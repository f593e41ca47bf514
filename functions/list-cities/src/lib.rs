//! `GET /cities`: every city with its name and time zone.

use boxoffice::{
    http::{cacheable, max_age, serve, HttpResult},
    runtime::{Function, Handler},
    views::CityView,
    Deps,
};
use lambda_http::{Body, Request, Response};

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| list_cities(deps, req)).await
}

async fn list_cities(deps: &Deps, req: Request) -> HttpResult {
    let cities = deps.store.list_cities().await?;
    let cities: Vec<CityView> = cities.iter().map(CityView::from).collect();
    cacheable(
        &req,
        &serde_json::json!({ "cities": cities }),
        max_age::CATALOG,
    )
}
