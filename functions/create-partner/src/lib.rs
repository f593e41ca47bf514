//! `POST /admin/partners` (ADMIN): a new PARTNER account, the owner of theatres.

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
struct PartnerBody {
    email: String,
    password: String,
    name: String,
    company: String,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys, SecretSet::AdminAccounts],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| create_partner(deps, req)).await
}

async fn create_partner(deps: &Deps, req: Request) -> HttpResult {
    let caller = deps.caller(&req, &[Role::Admin])?;
    let body: PartnerBody = parse_json(&req)?;
    let account = NewAccount {
        email: body.email,
        password: body.password,
        name: body.name,
        company: Some(body.company),
    };
    let user = create_account(deps, account, Role::Partner).await?;
    tracing::info!(user_id = %user.user_id, admin_id = %caller.user_id, "partner created");
    created(&UserView::from(&user))
}
