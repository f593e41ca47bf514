//! `GET /shows/{showId}/queue/me` (CUSTOMER): the customer's place, people ahead, estimated
//! admission time and, once admitted, a signed admission token bound to customer and show. One
//! GetItem of the customer's own entry; the queue's config and progress come from the
//! container's cache (`queue::STATE_TTL`, 2 s). Clients poll every `pollAfterSeconds` (5).

use boxoffice::{
    auth::authenticate,
    domain::{
        queue::{admission_token, wait_status, POLL_SECONDS},
        user::Role,
    },
    http::{json, path_param, serve, HttpResult},
    ids::is_id,
    queue::{cached_state, status_view, token_keys},
    runtime::{Function, Handler},
    secrets::SecretSet,
    ApiError, Deps,
};
use lambda_http::{http::StatusCode, Body, Request, Response};

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| queue_status(deps, req)).await
}

async fn queue_status(deps: &Deps, req: Request) -> HttpResult {
    let caller = authenticate(&deps.config.jwt, &req)?;
    caller.require(&[Role::Customer])?;
    let show_id = path_param(&req, "showId")?;
    let not_found = || {
        ApiError::NotFound(format!(
            "You are not in the waiting room of show {show_id}."
        ))
    };
    if !is_id("sh", &show_id) {
        return Err(not_found());
    }
    let (state, entry) = tokio::join!(
        cached_state(&deps.store, &show_id),
        deps.store.queue_entry(&show_id, &caller.user_id)
    );
    let state = state?;
    let (entry, _units) = entry?;
    let (Some(config), Some(entry)) = (state.config.as_ref(), entry) else {
        return Err(not_found());
    };
    let now = deps.clock.now_epoch();
    let status = wait_status(config, &state.progress, &entry.view(), now);
    let token = match status.admission {
        Some((at, exp)) if now < exp => {
            let keys = token_keys(&deps.config.jwt)?;
            Some((
                admission_token(&keys[0], &caller.user_id, &show_id, at, exp),
                exp,
            ))
        }
        _ => None,
    };
    let mut body = status_view(&status, token);
    body["pollAfterSeconds"] = POLL_SECONDS.into();
    let mut resp = json(StatusCode::OK, &body)?;
    resp.headers_mut().insert(
        "cache-control",
        lambda_http::http::HeaderValue::from_static("private, max-age=2"),
    );
    Ok(resp)
}
