//! `GET /cities`: every city with its name and time zone.

use boxoffice::{
    http::{ok, serve, HttpResult},
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
    serve(req, |_| list_cities(deps)).await
}

async fn list_cities(deps: &Deps) -> HttpResult {
    let cities = deps.store.list_cities().await?;
    let cities: Vec<CityView> = cities.iter().map(CityView::from).collect();
    ok(&serde_json::json!({ "cities": cities }))
}
