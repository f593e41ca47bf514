//! `POST /theatres` (PARTNER): a theatre in a city with its screens and seat layouts.

use boxoffice::{
    domain::{
        catalog::{Screen, Theatre, MAX_SCREENS_PER_THEATRE},
        layout::Layout,
        user::{validate_name, Role},
    },
    http::{created, parse_json, serve, HttpResult},
    ids::new_id,
    runtime::{Function, Handler},
    secrets::SecretSet,
    views::TheatreView,
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScreenBody {
    name: String,
    layout: Layout,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TheatreBody {
    name: String,
    city_id: String,
    area: String,
    address: String,
    screens: Vec<ScreenBody>,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| create_theatre(deps, req)).await
}

async fn create_theatre(deps: &Deps, req: Request) -> HttpResult {
    let caller = deps.caller(&req, &[Role::Partner])?;
    let body: TheatreBody = parse_json(&req)?;
    let field = |name: &'static str, v: &str| validate_name(name, v).map_err(ApiError::validation);
    if body.screens.is_empty() || body.screens.len() > MAX_SCREENS_PER_THEATRE {
        return Err(ApiError::validation(format!(
            "screens must list 1–{MAX_SCREENS_PER_THEATRE} screens."
        )));
    }
    let mut screens = Vec::with_capacity(body.screens.len());
    for (i, s) in body.screens.into_iter().enumerate() {
        s.layout.validate().map_err(|e| {
            ApiError::validation_with(format!("screens[{i}]: {e}"), json!({ "screen": i }))
        })?;
        screens.push(Screen {
            screen_id: new_id("sc"),
            name: field("screen name", &s.name)?,
            layout: s.layout,
        });
    }
    let city_id = body.city_id.trim().to_lowercase();
    if deps.caches.city(&deps.store, &city_id).await?.is_none() {
        return Err(ApiError::validation(format!(
            "cityId '{city_id}' is not a known city."
        )));
    }
    let theatre = Theatre {
        theatre_id: new_id("th"),
        partner_id: caller.user_id.clone(),
        name: field("name", &body.name)?,
        city_id,
        area: field("area", &body.area)?,
        address: validate_name("address", &body.address).map_err(ApiError::validation)?,
        screens,
    };
    deps.store.create_theatre(&theatre).await?;
    tracing::info!(theatre_id = %theatre.theatre_id, partner_id = %caller.user_id, "theatre created");
    created(&TheatreView::from(&theatre))
}
