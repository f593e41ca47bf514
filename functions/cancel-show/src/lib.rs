//! `POST /shows/{showId}/cancel` (the owning PARTNER, ADMIN): the show becomes CANCELLED, every
//! pending booking is cancelled and every confirmed one refunded. Safe to repeat: a second call
//! finishes whatever a first one left.

use boxoffice::{
    domain::{
        booking::{cancel_for_show, Cancellation},
        user::Role,
    },
    events::{outbox, publish, show_cancelled, EventKind},
    http::{ok, serve, HttpResult},
    refunds::{cancel_pending, cancel_with_refund},
    shows::owned_show_collection,
    Deps,
};
use lambda_http::{Body, Request, Response};
use serde_json::json;
use std::collections::BTreeSet;

boxoffice::http_entry!(handler, [JwtKeys]);

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| cancel_show(deps, req)).await
}

async fn cancel_show(deps: &Deps, req: Request) -> HttpResult {
    let caller = deps.caller(&req, &[Role::Partner, Role::Admin])?;
    let collection = owned_show_collection(deps, &req, &caller, "cancel it").await?;
    let show_id = collection.show.show_id.clone();
    let events = outbox(deps, vec![show_cancelled(&show_id)]);
    let newly = deps.store.cancel_show(&show_id, &events).await?;
    deps.caches.forget_show(&show_id);
    if newly {
        publish(deps, &events).await;
    }
    let booking_ids: BTreeSet<&str> = collection
        .seats
        .iter()
        .map(|s| s.booking_id.as_str())
        .collect();
    let (mut cancelled, mut refunded) = (0, 0);
    for id in booking_ids {
        let Some(booking) = deps.store.get_booking(id).await? else {
            continue;
        };
        match cancel_for_show(&booking) {
            Cancellation::ReleasePending => {
                let done = cancel_pending(deps, &booking, EventKind::ShowCancelled).await?;
                cancelled += usize::from(done.is_some())
            }
            Cancellation::Refund(reason) => {
                let done = cancel_with_refund(deps, &booking, reason).await?;
                refunded += usize::from(done.is_some())
            }
            _ => {}
        }
    }
    tracing::info!(show_id = %show_id, cancelled, refunded, "show cancelled");
    ok(
        &json!({ "showId": show_id, "status": "CANCELLED", "bookingsCancelled": cancelled, "bookingsRefunded": refunded }),
    )
}
