//! `GET /cities`: every city with its name and time zone.

use boxoffice::{
    http::{ok, serve, HttpResult},
    views::CityView,
    Deps,
};
use lambda_http::{Body, Request, Response};

boxoffice::http_entry!(handler, []);

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |_| list_cities(deps)).await
}

async fn list_cities(deps: &Deps) -> HttpResult {
    let cities = deps.store.list_cities().await?;
    let cities: Vec<CityView> = cities.iter().map(CityView::from).collect();
    ok(&serde_json::json!({ "cities": cities }))
}
