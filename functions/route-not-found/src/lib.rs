//! The `$default` route: anything no other route matched. A known path with another method is
//! 405 (with `Allow`), anything else 404, both in the contract's error format.

use boxoffice::{
    http::{serve, HttpResult},
    routes::allowed_methods,
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};

boxoffice::http_entry!(handler, []);

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
