//! `GET /shows/{showId}/availability`: which of the show's seats are taken now, compactly: the
//! ids of the LOCKED and of the SOLD seats, in layout order (every other seat of
//! `GET /shows/{showId}/layout` is available; an expired hold is available). The seat items
//! are one Query per block of the layout, all at once; the answer may be cached for
//! `max_age::SEAT_MAP` (1 s), so a CDN or a browser absorbs a rush; its `ETag` changes only when
//! a seat does (the body names no time), so a client polling with `If-None-Match` mostly gets 304.

use boxoffice::{
    http::{cacheable, max_age, serve, HttpResult},
    runtime::{Function, Handler},
    shows::cached_show_with_seats,
    Deps,
};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AvailabilityResponse<'a> {
    show_id: &'a str,
    locked: Vec<&'a str>,
    sold: Vec<&'a str>,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| get_seat_availability(deps, req)).await
}

async fn get_seat_availability(deps: &Deps, req: Request) -> HttpResult {
    let (show, seats) = cached_show_with_seats(deps, &req).await?;
    let now = deps.clock.now_epoch();
    let states: HashMap<&str, _> = seats.iter().map(|s| (s.seat_id.as_str(), s)).collect();
    let (mut locked, mut sold) = (Vec::new(), Vec::new());
    for seat in show.layout.seats() {
        match states.get(seat.seat_id.as_str()) {
            Some(s) if s.is_sold() => sold.push(seat.seat_id.as_str()),
            Some(s) if s.is_held_at(now) => locked.push(seat.seat_id.as_str()),
            _ => {}
        }
    }
    let availability = AvailabilityResponse {
        show_id: &show.show_id,
        locked,
        sold,
    };
    cacheable(&req, &availability, max_age::SEAT_MAP)
}
