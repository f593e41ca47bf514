//! `GET /me/notifications` (CUSTOMER): the caller's inbox, newest first, paged.

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
    serve(req, |req| list_notifications(deps, req)).await
}

async fn list_notifications(deps: &Deps, req: Request) -> HttpResult {
    let caller = deps.caller(&req, &[Role::Customer])?;
    let page = deps
        .store
        .list_notifications(
            &caller.user_id,
            page_limit(&req)?,
            query_param(&req, "cursor").as_deref(),
        )
        .await?;
    ok(&page_body("notifications", &page.items, page.next_cursor))
}
