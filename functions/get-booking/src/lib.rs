//! `GET /bookings/{bookingId}` (the owner, ADMIN).

use boxoffice::{
    bookings::load_for,
    domain::user::Role,
    http::{ok, path_param, serve, HttpResult},
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
    serve(req, |req| get_booking(deps, req)).await
}

async fn get_booking(deps: &Deps, req: Request) -> HttpResult {
    let caller = deps.caller(&req, &Role::ANY)?;
    let booking = load_for(deps, &caller, &path_param(&req, "bookingId")?).await?;
    ok(&BookingView::from(&booking))
}
