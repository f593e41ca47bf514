//! `POST /auth/login`: credentials → a Bearer JWT.

use boxoffice::{
    accounts::check_credentials,
    auth::issue_token,
    http::{ok, parse_json, serve, HttpResult},
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

boxoffice::http_entry!(handler, [JwtKeys, AdminAccounts]);

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
