//! `GET /.well-known/ticket-keys` (anyone): the Ed25519 public keys ticket codes are signed with,
//! `{keys:[{kid, publicKey}]}` (`publicKey`: base64url of the 32-byte key), so a gate scanner
//! verifies BX2 codes offline. Derived from the `TicketKeys` secret (see `domain::ticket`): the
//! current key and, while keys rotate, the previous one. No DynamoDB.

use boxoffice::{
    http::{serve, HttpResult},
    runtime::{Function, Handler},
    secrets::SecretSet,
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};
use serde_json::json;

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::TicketKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |_| ticket_keys(deps)).await
}

async fn ticket_keys(deps: &Deps) -> HttpResult {
    let keys = deps.config.ticket_keys()?.public();
    let body = serde_json::to_string(&json!({ "keys": keys })).map_err(ApiError::internal)?;
    Response::builder()
        .header("content-type", "application/json")
        // Scanners cache the keys for an hour: a rotation publishes the new key beside the old
        // one, and a code whose kid a scanner does not know yet makes it fetch again.
        .header("cache-control", "public, max-age=3600")
        .body(Body::Text(body))
        .map_err(ApiError::internal)
}
