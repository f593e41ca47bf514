//! `GET /shows/{showId}/seats`: every seat with its type, price and status: the show (layout and
//! prices) from the container's cache, the held and sold seats from one Query. An expired hold
//! reads as AVAILABLE.

use boxoffice::{
    clock::rfc3339,
    http::{cacheable, max_age, serve, HttpResult},
    runtime::{Function, Handler},
    shows::cached_show_with_seats,
    views::{local_time, priced_rows},
    Deps,
};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum SeatStatus {
    Available,
    Locked,
    Sold,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SeatView<'a> {
    seat_id: &'a str,
    #[serde(rename = "type")]
    seat_type: &'static str,
    price: i64,
    status: SeatStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    lock_expires_at: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RowView<'a> {
    row_label: &'a str,
    seats: Vec<SeatView<'a>>,
}

#[derive(Serialize)]
struct SeatMap<'a> {
    rows: Vec<RowView<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SeatMapResponse<'a> {
    show_id: &'a str,
    theatre_id: &'a str,
    screen_name: &'a str,
    start_time: String,
    currency: &'a str,
    seat_map: SeatMap<'a>,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| get_seat_map(deps, req)).await
}

async fn get_seat_map(deps: &Deps, req: Request) -> HttpResult {
    let (show, seats) = cached_show_with_seats(deps, &req).await?;
    let now = deps.clock.now_epoch();
    let states: HashMap<&str, _> = seats.iter().map(|s| (s.seat_id.as_str(), s)).collect();
    let rows = priced_rows(&show)?
        .into_iter()
        .map(|(row, seats)| RowView {
            row_label: &row.row_label,
            seats: seats
                .into_iter()
                .map(|(seat, price)| {
                    let state = states.get(seat.seat_id.as_str());
                    let (status, lock_expires_at) = match state {
                        Some(s) if s.is_sold() => (SeatStatus::Sold, None),
                        Some(s) if s.is_held_at(now) => (
                            SeatStatus::Locked,
                            s.expires_at
                                .and_then(|e| chrono::DateTime::from_timestamp(e, 0))
                                .map(rfc3339),
                        ),
                        _ => (SeatStatus::Available, None),
                    };
                    SeatView {
                        seat_id: &seat.seat_id,
                        seat_type: seat.seat_type.as_str(),
                        price,
                        status,
                        lock_expires_at,
                    }
                })
                .collect(),
        })
        .collect();
    let seat_map = SeatMapResponse {
        show_id: &show.show_id,
        theatre_id: &show.theatre_id,
        screen_name: &show.screen_name,
        start_time: local_time(&show.start_time, &show.time_zone),
        currency: &show.currency,
        seat_map: SeatMap { rows },
    };
    cacheable(&req, &seat_map, max_age::SEAT_MAP)
}
