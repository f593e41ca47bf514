//! `POST /payments/webhooks/{provider}`: verifies the provider's signature over the raw body,
//! queues the normalised event for `confirm-payment`, answers `{"received": true}`. No DynamoDB.

use boxoffice::{
    http::{body_bytes, header, ok, path_param, serve, HttpResult},
    payments::{accept_webhook, Provider},
    runtime::{Function, Handler},
    secrets::SecretSet,
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::PaymentKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| payment_webhook(deps, req)).await
}

async fn payment_webhook(deps: &Deps, req: Request) -> HttpResult {
    let name = path_param(&req, "provider")?;
    let provider = Provider::from_name(&name, &deps.config)
        .ok_or_else(|| ApiError::NotFound(format!("No payment provider {name}.")))?;
    accept_webhook(
        deps,
        provider,
        header(&req, provider.signature_header()),
        body_bytes(&req),
    )
    .await?;
    ok(&serde_json::json!({ "received": true }))
}
