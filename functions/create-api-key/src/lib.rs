//! `POST /partner/api-keys` (PARTNER): a key for another platform that sells the partner's seats
//! (`domain::api_key`), scoped to the theatres named (each the partner's own) or, without
//! `theatreIds`, to every theatre of the partner. The whole key is in this answer only: the
//! table keeps the SHA-256 of its secret.

use boxoffice::{
    channels::ApiKeyView,
    clock::rfc3339,
    domain::{
        api_key::{issue, MAX_THEATRES},
        user::Role,
    },
    http::{created, parse_json, serve, HttpResult},
    ids::{is_id, new_id},
    runtime::{Function, Handler},
    secrets::SecretSet,
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};
use rand::RngCore;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeyBody {
    name: String,
    theatre_ids: Option<Vec<String>>,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| create_api_key(deps, req)).await
}

async fn create_api_key(deps: &Deps, req: Request) -> HttpResult {
    let caller = deps.caller(&req, &[Role::Partner])?;
    let body: KeyBody = parse_json(&req)?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::validation("name must be 1–100 characters."));
    }
    if let Some(ids) = &body.theatre_ids {
        check_theatres(deps, &caller.user_id, ids).await?;
    }
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let at = rfc3339(deps.clock.now());
    let key = issue(
        &new_id("key"),
        &caller.user_id,
        name,
        body.theatre_ids,
        &secret,
        &at,
    );
    deps.store.put_api_key(&key.record).await?;
    tracing::info!(key_id = %key.record.key_id, partner_id = %caller.user_id, "API key created");
    created(&ApiKeyView::of(&key.record, Some(&key.api_key)))
}

/// 1–`MAX_THEATRES` distinct theatres, each of them the partner's (404 for one that does not
/// exist, 403 for another partner's).
async fn check_theatres(deps: &Deps, partner_id: &str, ids: &[String]) -> Result<(), ApiError> {
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    if ids.is_empty() || ids.len() > MAX_THEATRES || distinct.len() != ids.len() {
        return Err(ApiError::validation(format!(
            "theatreIds must list 1–{MAX_THEATRES} distinct theatres."
        )));
    }
    for id in ids {
        let theatre = if is_id("th", id) {
            deps.store.get_theatre(id).await?
        } else {
            None
        };
        match theatre {
            None => return Err(ApiError::NotFound(format!("No theatre {id}."))),
            Some(t) if t.partner_id != partner_id => {
                return Err(ApiError::Forbidden(format!(
                    "Theatre {id} is another partner's."
                )))
            }
            Some(_) => {}
        }
    }
    Ok(())
}
