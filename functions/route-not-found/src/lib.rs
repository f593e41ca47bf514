//! The `$default` route: anything no other route matched. A known path with another method is
//! 405 (with `Allow`), anything else 404, both in the contract's error format.

use boxoffice::{
    http::{serve, HttpResult},
    routes::allowed_methods,
    runtime::{Function, Handler},
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[],
};

pub async fn handler(_deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| async move { not_routed(&req) }).await
}

fn not_routed(req: &Request) -> HttpResult {
    let allowed = allowed_methods(req.uri().path());
    if allowed.is_empty() {
        Err(ApiError::NotFound("No such resource.".into()))
    } else {
        Err(ApiError::MethodNotAllowed { allowed })
    }
}
