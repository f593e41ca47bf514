//! `GET /admin/offers` (ADMIN).

use boxoffice::{
    domain::user::Role,
    http::{ok, serve, HttpResult},
    runtime::{Function, Handler},
    secrets::SecretSet,
    views::OfferView,
    Deps,
};
use lambda_http::{Body, Request, Response};

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| list_offers(deps, req)).await
}

async fn list_offers(deps: &Deps, req: Request) -> HttpResult {
    deps.caller(&req, &[Role::Admin])?;
    let offers = deps.store.list_offers().await?;
    let offers: Vec<OfferView> = offers.iter().map(OfferView::from).collect();
    ok(&serde_json::json!({ "offers": offers }))
}
