//! `POST /external/shows/{showId}/seats/block` (an `X-Api-Key` of the show's partner): another
//! platform sold these seats, so the app must not. One transaction takes them under a hold's
//! conditions (`store::channels::block_external`), as `OTHER_PLATFORM` (`domain::channel::
//! external_block`), with the record of its `externalRef`: the same reference again answers
//! the same block (200), with other seats it is 422 `IDEMPOTENCY_KEY_REUSED`.

use boxoffice::{
    channels::{keyed_show, refused_sale, ExternalBlockView},
    domain::{
        booking::check_seat_ids,
        channel::{check_external_ref, external_block, same_seats},
    },
    http::{created, ok, parse_json, serve, HttpResult},
    ids::new_id,
    runtime::{Function, Handler},
    store::{bookings::SoldOutright, channels::ExternalRef},
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BlockBody {
    seat_ids: Vec<String>,
    external_ref: String,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start (none: the caller's key is checked against its stored hash).
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| block_seats(deps, req)).await
}

async fn block_seats(deps: &Deps, req: Request) -> HttpResult {
    let (key, show, city) = keyed_show(deps, &req).await?;
    let body: BlockBody = parse_json(&req)?;
    check_seat_ids(&body.seat_ids)?;
    check_external_ref(&body.external_ref).map_err(ApiError::validation)?;
    let now = deps.clock.now();
    let booking = external_block(
        &show,
        &city,
        &new_id("bk"),
        &key.partner_id,
        &body.seat_ids,
        now,
    )?;
    match deps
        .store
        .block_external(&booking, &body.external_ref, now.timestamp())
        .await?
    {
        SoldOutright::Sold => {
            tracing::info!(booking_id = %booking.booking_id, show_id = %show.show_id, key_id = %key.key_id,
                seats = booking.seats.len(), "seats blocked for another platform");
            boxoffice::metrics::count("ExternalBlocks", 1);
            created(&ExternalBlockView::of(&booking, &body.external_ref))
        }
        SoldOutright::Replay(block) => replay(deps, &block, &body.seat_ids).await,
        SoldOutright::Refused(why) => Err(refused_sale(&booking.show_id, why)),
    }
}

/// The block a reference made before, if it was for the same seats.
async fn replay(deps: &Deps, block: &ExternalRef, seat_ids: &[String]) -> HttpResult {
    if !same_seats(seat_ids, &block.seat_ids) {
        return Err(ApiError::IdempotencyKeyReused);
    }
    let booking = deps
        .store
        .get_booking(&block.booking_id)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("block {} has no booking", block.booking_id)))?;
    ok(&ExternalBlockView::of(&booking, &block.external_ref))
}
