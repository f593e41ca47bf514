//! `POST /external/shows/{showId}/seats/release` (an `X-Api-Key` of the show's partner): the
//! platform gives back the seats of its block `externalRef` (the sale was undone there). The
//! block is released whole (`seatIds`, when given, must be its seats), in one transaction
//! (`store::channels::release_external`); releasing it again answers it again.

use boxoffice::{
    channels::{keyed_show, ExternalBlockView},
    domain::{
        booking::BookingStatus,
        channel::{check_external_ref, same_seats},
    },
    http::{ok, parse_json, serve, HttpResult},
    refunds::release_block,
    runtime::{Function, Handler},
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReleaseBody {
    external_ref: String,
    seat_ids: Option<Vec<String>>,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start (none: the caller's key is checked against its stored hash).
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| release_seats(deps, req)).await
}

async fn release_seats(deps: &Deps, req: Request) -> HttpResult {
    let (key, show, _) = keyed_show(deps, &req).await?;
    let body: ReleaseBody = parse_json(&req)?;
    check_external_ref(&body.external_ref).map_err(ApiError::validation)?;
    let missing = || ApiError::NotFound(format!("No block {} on this show.", body.external_ref));
    let block = deps
        .store
        .get_external_ref(&show.show_id, &body.external_ref)
        .await?
        .ok_or_else(missing)?;
    if body
        .seat_ids
        .as_ref()
        .is_some_and(|asked| !same_seats(asked, &block.seat_ids))
    {
        return Err(ApiError::validation(
            "A block is released whole: seatIds must be its seats.",
        ));
    }
    let booking = deps
        .store
        .get_booking(&block.booking_id)
        .await?
        .ok_or_else(missing)?;
    let released = match booking.status {
        BookingStatus::Confirmed => match release_block(deps, &booking).await? {
            Some(released) => {
                tracing::info!(booking_id = %booking.booking_id, key_id = %key.key_id, "released by its platform");
                released
            }
            // Released meanwhile by a concurrent request: answered as it is now.
            None => deps
                .store
                .get_booking(&block.booking_id)
                .await?
                .ok_or_else(missing)?,
        },
        _ => booking,
    };
    if released.status != BookingStatus::Cancelled {
        return Err(ApiError::InvalidState(format!(
            "block {} is {}",
            body.external_ref,
            released.status.as_str()
        )));
    }
    ok(&ExternalBlockView::of(&released, &body.external_ref))
}
