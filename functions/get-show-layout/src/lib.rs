//! `GET /shows/{showId}/layout`: the show's rows and seats with their types and prices, its
//! theatre, screen and start: everything of a seat map that never changes once the show exists,
//! so it is cached for good (`Cache-Control: immutable`, from the container's show cache, no
//! read when warm). What changes, which seats are taken, is `GET /shows/{showId}/availability`.

use boxoffice::{
    http::{immutable, serve, HttpResult},
    runtime::{Function, Handler},
    shows::cached_show,
    views::{local_time, priced_rows},
    Deps,
};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SeatView<'a> {
    seat_id: &'a str,
    #[serde(rename = "type")]
    seat_type: &'static str,
    price: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RowView<'a> {
    row_label: &'a str,
    seats: Vec<SeatView<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LayoutResponse<'a> {
    show_id: &'a str,
    theatre_id: &'a str,
    screen_name: &'a str,
    start_time: String,
    currency: &'a str,
    rows: Vec<RowView<'a>>,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| get_show_layout(deps, req)).await
}

async fn get_show_layout(deps: &Deps, req: Request) -> HttpResult {
    let show = cached_show(deps, &req).await?;
    let rows = priced_rows(&show)?
        .into_iter()
        .map(|(row, seats)| RowView {
            row_label: &row.row_label,
            seats: seats
                .into_iter()
                .map(|(seat, price)| SeatView {
                    seat_id: &seat.seat_id,
                    seat_type: seat.seat_type.as_str(),
                    price,
                })
                .collect(),
        })
        .collect();
    let layout = LayoutResponse {
        show_id: &show.show_id,
        theatre_id: &show.theatre_id,
        screen_name: &show.screen_name,
        start_time: local_time(&show.start_time, &show.time_zone),
        currency: &show.currency,
        rows,
    };
    immutable(&req, &layout)
}
