//! `GET /bookings/{bookingId}` (the owner, ADMIN).

use boxoffice::{
    bookings::load_for,
    domain::user::Role,
    http::{ok, path_param, serve, HttpResult},
    views::BookingView,
    Deps,
};
use lambda_http::{Body, Request, Response};

boxoffice::http_entry!(handler, [JwtKeys]);

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| get_booking(deps, req)).await
}

async fn get_booking(deps: &Deps, req: Request) -> HttpResult {
    let caller = deps.caller(&req, &Role::ANY)?;
    let booking = load_for(deps, &caller, &path_param(&req, "bookingId")?).await?;
    ok(&BookingView::from(&booking))
}
