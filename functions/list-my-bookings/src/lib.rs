//! `GET /me/bookings` (CUSTOMER): the caller's bookings, newest first, paged.

use boxoffice::{
    domain::user::Role,
    http::{ok, page_body, page_limit, query_param, serve, HttpResult},
    runtime::{Function, Handler},
    secrets::SecretSet,
    views::BookingView,
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
    serve(req, |req| list_my_bookings(deps, req)).await
}

async fn list_my_bookings(deps: &Deps, req: Request) -> HttpResult {
    let caller = deps.caller(&req, &[Role::Customer])?;
    let limit = page_limit(&req)?;
    let page = deps
        .store
        .list_user_bookings(
            &caller.user_id,
            limit,
            query_param(&req, "cursor").as_deref(),
        )
        .await?;
    let bookings: Vec<BookingView> = page.items.iter().map(BookingView::from).collect();
    ok(&page_body("bookings", &bookings, page.next_cursor))
}
