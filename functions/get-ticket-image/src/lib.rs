//! `GET /bookings/{bookingId}/ticket.svg` and `/ticket.png` (the owner, ADMIN): the booking's
//! ticket code as a QR image, for the gate's scanner. One function for both routes (the path's
//! extension picks the format). The QR matrix comes from the `qrcode` crate without its image
//! features; the SVG and the PNG are written here (`render`), so the function links no image
//! library.

mod render;

use boxoffice::{
    auth::authenticate,
    bookings::load_for,
    domain::booking::BookingStatus,
    http::{path_param, serve, HttpResult},
    runtime::{Function, Handler},
    secrets::SecretSet,
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| ticket_image(deps, req)).await
}

async fn ticket_image(deps: &Deps, req: Request) -> HttpResult {
    let caller = authenticate(&deps.config.jwt, &req)?;
    let png = req.uri().path().ends_with(".png");
    let booking = load_for(deps, &caller, &path_param(&req, "bookingId")?).await?;
    if booking.status == BookingStatus::Refunded {
        // The provider gave the money back: the ticket is revoked (the gate refuses it too), so
        // its code is not handed out again.
        return Err(ApiError::InvalidState(
            "This booking is REFUNDED: its ticket is revoked.".into(),
        ));
    }
    let ticket = booking.ticket.as_ref().ok_or_else(|| {
        ApiError::InvalidState(format!(
            "This booking is {}: it has no ticket yet.",
            booking.status.as_str()
        ))
    })?;
    let qr = render::Qr::encode(&ticket.qr_code_data).map_err(ApiError::internal)?;
    let (content_type, body) = if png {
        ("image/png", Body::Binary(qr.png()))
    } else {
        ("image/svg+xml", Body::Text(qr.svg()))
    };
    Response::builder()
        .header("content-type", content_type)
        // The code never changes once issued; only its owner may see it.
        .header("cache-control", "private, max-age=300")
        .body(body)
        .map_err(ApiError::internal)
}
