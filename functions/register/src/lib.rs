//! `POST /auth/register`: a new CUSTOMER account.

use boxoffice::{
    accounts::{create_account, NewAccount},
    domain::user::Role,
    http::{created, parse_json, serve, HttpResult},
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

boxoffice::http_entry!(handler, [AdminAccounts]);

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
