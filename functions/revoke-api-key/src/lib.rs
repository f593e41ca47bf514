//! `DELETE /partner/api-keys/{keyId}` (the key's PARTNER): revokes the key at once (it is read
//! consistently on every use); revoking a revoked key answers it again. 404 for another
//! partner's key, as for none.

use boxoffice::{
    channels::ApiKeyView,
    clock::rfc3339,
    domain::user::Role,
    http::{ok, path_param, serve, HttpResult},
    ids::is_id,
    runtime::{Function, Handler},
    secrets::SecretSet,
    store::channels::Revoked,
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
    serve(req, |req| revoke_api_key(deps, req)).await
}

async fn revoke_api_key(deps: &Deps, req: Request) -> HttpResult {
    let caller = deps.caller(&req, &[Role::Partner])?;
    let key_id = path_param(&req, "keyId")?;
    let not_found = || ApiError::NotFound(format!("No API key {key_id}."));
    if !is_id("key", &key_id) {
        return Err(not_found());
    }
    let at = rfc3339(deps.clock.now());
    if deps
        .store
        .revoke_api_key(&key_id, &caller.user_id, &at)
        .await?
        == Revoked::NotFound
    {
        return Err(not_found());
    }
    let key = deps
        .store
        .get_api_key(&key_id)
        .await?
        .ok_or_else(not_found)?;
    tracing::info!(key_id = %key_id, partner_id = %caller.user_id, "API key revoked");
    ok(&ApiKeyView::of(&key, None))
}
