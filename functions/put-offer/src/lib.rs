//! `PUT /admin/offers/{code}` (ADMIN): create or replace a coupon rule.

use boxoffice::{
    domain::{
        pricing::{Offer, OfferRule, OfferScope},
        user::{validate_name, Role},
    },
    http::{ok, parse_json, path_param, serve, HttpResult},
    ids::is_slug,
    runtime::{Function, Handler},
    secrets::SecretSet,
    views::OfferView,
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OfferBody {
    description: String,
    rule: OfferRule,
    #[serde(default)]
    scope: OfferScope,
    per_user_limit: Option<i64>,
    #[serde(default = "active_by_default")]
    active: bool,
}

fn active_by_default() -> bool {
    true
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| put_offer(deps, req)).await
}

async fn put_offer(deps: &Deps, req: Request) -> HttpResult {
    deps.caller(&req, &[Role::Admin])?;
    let code = path_param(&req, "code")?.to_uppercase();
    if !is_slug(&code) {
        return Err(ApiError::validation(
            "code must be 2–40 letters, digits, '-' or '_'.",
        ));
    }
    let body: OfferBody = parse_json(&req)?;
    let offer = Offer {
        code,
        description: validate_name("description", &body.description)
            .map_err(ApiError::validation)?,
        rule: body.rule,
        scope: body.scope,
        per_user_limit: body.per_user_limit,
        active: body.active,
    };
    offer.validate().map_err(ApiError::validation)?;
    deps.store.put_offer(&offer).await?;
    ok(&OfferView::from(&offer))
}
