//! `POST /shows/{showId}/cancel` (the owning PARTNER, ADMIN): the show becomes CANCELLED at once
//! (no booking of it is confirmed from then on), and its bookings are cancelled or refunded by
//! cancel-show-seats, one queued part of the seats at a time (`boxoffice::show_cancellation`):
//! 202 Accepted. Safe to repeat: a second call queues the parts again, finishing whatever the
//! first left.

use boxoffice::{
    domain::user::Role,
    events::{outbox, publish, show_cancelled},
    http::{json, serve, HttpResult},
    runtime::{Function, Handler},
    secrets::SecretSet,
    show_cancellation::queue_parts,
    shows::owned_show,
    Deps,
};
use lambda_http::{http::StatusCode, Body, Request, Response};

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| cancel_show(deps, req)).await
}

async fn cancel_show(deps: &Deps, req: Request) -> HttpResult {
    let caller = deps.caller(&req, &[Role::Partner, Role::Admin])?;
    let show = owned_show(deps, &req, &caller, "cancel it").await?;
    let events = outbox(deps, vec![show_cancelled(&show.show_id)]);
    let newly = deps.store.cancel_show(&show.show_id, &events).await?;
    deps.caches.forget_show(&show.show_id);
    if newly {
        publish(deps, &events).await;
    }
    let parts = queue_parts(deps, &show).await?;
    tracing::info!(show_id = %show.show_id, newly, parts, "show cancelled; its bookings queued");
    json(
        StatusCode::ACCEPTED,
        &serde_json::json!({ "showId": show.show_id, "status": "CANCELLED", "partsQueued": parts }),
    )
}
