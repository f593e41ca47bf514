//! `POST /shows/{showId}/queue` (CUSTOMER): joins a queue-mode show's waiting room, once. One
//! conditional PutItem of the customer's own entry (no item every join touches); joining again
//! answers the same entry. Before the on-sale time the place is not known yet (the draw gives
//! every early arrival a uniformly random one); later arrivals are placed within seconds.

use boxoffice::{
    auth::authenticate,
    domain::{
        queue::{queue_ticket, wait_status, POLL_SECONDS},
        show::not_bookable_reason,
        user::Role,
    },
    http::{json, path_param, serve, HttpResult},
    ids::is_id,
    queue::{cached_state, epoch_time, status_view, token_keys},
    runtime::{Function, Handler},
    secrets::SecretSet,
    store::queue::Joined,
    ApiError, Deps,
};
use chrono::DateTime;
use lambda_http::{http::StatusCode, Body, Request, Response};

/// Entries outlive their show by a day (then TTL removes them).
const ENTRY_AFTER_SHOW_SECONDS: i64 = 24 * 3600;

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| join_queue(deps, req)).await
}

async fn join_queue(deps: &Deps, req: Request) -> HttpResult {
    let caller = authenticate(&deps.config.jwt, &req)?;
    caller.require(&[Role::Customer])?;
    let show_id = path_param(&req, "showId")?;
    let not_found = || ApiError::NotFound(format!("No show {show_id}."));
    if !is_id("sh", &show_id) {
        return Err(not_found());
    }
    let (show, state) = tokio::join!(
        deps.caches.show(&deps.store, &show_id),
        cached_state(&deps.store, &show_id)
    );
    let show = show?.ok_or_else(not_found)?;
    let state = state?;
    let config = state
        .config
        .as_ref()
        .filter(|_| show.queue_mode)
        .ok_or_else(|| {
            ApiError::InvalidState(
                "This show is not sold through a waiting room: book it directly.".into(),
            )
        })?;
    let now = deps.clock.now();
    let start = DateTime::parse_from_rfc3339(&show.start_time).map_err(ApiError::internal)?;
    if let Some(reason) = not_bookable_reason(show.status, start.into(), now) {
        return Err(ApiError::ShowNotBookable(reason.into()));
    }
    let (joined, _units) = deps
        .store
        .join_queue(
            &show_id,
            &caller.user_id,
            now.timestamp(),
            start.timestamp() + ENTRY_AFTER_SHOW_SECONDS,
        )
        .await?;
    let entry = match joined {
        Joined::New(e) | Joined::Again(e) => e,
    };
    let status = wait_status(config, &state.progress, &entry.view(), now.timestamp());
    let keys = token_keys(&deps.config.jwt)?;
    let ticket = queue_ticket(
        &keys[0],
        &caller.user_id,
        &show_id,
        status.place,
        entry.joined_at,
    );
    let mut body = status_view(&status, None);
    body["queueTicket"] = ticket.into();
    body["joinedAt"] = epoch_time(entry.joined_at).into();
    body["pollAfterSeconds"] = POLL_SECONDS.into();
    json(StatusCode::CREATED, &body)
}
