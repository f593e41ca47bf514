//! `GET /me/loyalty` (CUSTOMER): the caller's loyalty balance and ledger entries, newest
//! first, paged (`limit`, `cursor`). What earns, redeems and reverses points is
//! `boxoffice::domain::loyalty`; the entries are written with the bookings' own transitions.

use boxoffice::{
    domain::user::Role,
    http::{ok, page_body, page_limit, query_param, serve, HttpResult},
    runtime::{Function, Handler},
    secrets::SecretSet,
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
    serve(req, |req| get_loyalty(deps, req)).await
}

async fn get_loyalty(deps: &Deps, req: Request) -> HttpResult {
    let caller = deps.caller(&req, &[Role::Customer])?;
    let points = deps
        .store
        .points(
            &caller.user_id,
            page_limit(&req)?,
            query_param(&req, "cursor").as_deref(),
        )
        .await?;
    let mut body = page_body("entries", &points.entries.items, points.entries.next_cursor);
    body["balance"] = points.balance.into();
    ok(&body)
}
