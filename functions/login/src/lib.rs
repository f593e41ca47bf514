//! `POST /auth/login`: credentials → a Bearer JWT.

use boxoffice::{
    accounts::check_credentials,
    auth::issue_token,
    http::{ok, parse_json, serve, HttpResult},
    runtime::{Function, Handler},
    secrets::SecretSet,
    views::UserView,
    Deps,
};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LoginBody {
    email: String,
    password: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LoginResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    user: UserView,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys, SecretSet::AdminAccounts],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| login(deps, req)).await
}

async fn login(deps: &Deps, req: Request) -> HttpResult {
    let body: LoginBody = parse_json(&req)?;
    let user = check_credentials(deps, &body.email, &body.password).await?;
    let jwt = &deps.config.jwt;
    let access_token = issue_token(
        jwt,
        &user.user_id,
        &user.email,
        user.role,
        deps.clock.now_epoch(),
    )?;
    tracing::info!(user_id = %user.user_id, "login");
    ok(&LoginResponse {
        access_token,
        token_type: "Bearer",
        expires_in: jwt.ttl_seconds,
        user: UserView::from(&user),
    })
}
