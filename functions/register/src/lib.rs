//! `POST /auth/register`: a new CUSTOMER account.

use boxoffice::{
    accounts::{create_account, NewAccount},
    domain::user::Role,
    http::{created, parse_json, serve, HttpResult},
    runtime::{Function, Handler},
    secrets::SecretSet,
    views::UserView,
    Deps,
};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RegisterBody {
    email: String,
    password: String,
    name: String,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::AdminAccounts],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| register(deps, req)).await
}

async fn register(deps: &Deps, req: Request) -> HttpResult {
    let body: RegisterBody = parse_json(&req)?;
    let account = NewAccount {
        email: body.email,
        password: body.password,
        name: body.name,
        company: None,
    };
    let user = create_account(deps, account, Role::Customer).await?;
    tracing::info!(user_id = %user.user_id, "customer registered");
    created(&UserView::from(&user))
}
