//! `PUT /admin/cities/{cityId}` (ADMIN): create or replace a city.

use boxoffice::{
    domain::{
        city::{parse_time_zone, percent_to_basis_points, validate_currency, City},
        loyalty::LoyaltyRate,
        user::{validate_name, Role},
    },
    http::{ok, parse_json, path_param, serve, HttpResult},
    ids::is_slug,
    runtime::{Function, Handler},
    secrets::SecretSet,
    views::{CityLoyaltyView, CityView},
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CityBody {
    name: String,
    time_zone: String,
    currency: String,
    convenience_fee_per_ticket: i64,
    tax_percent: f64,
    #[serde(default)]
    loyalty: Option<CityLoyaltyView>,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| put_city(deps, req)).await
}

async fn put_city(deps: &Deps, req: Request) -> HttpResult {
    deps.caller(&req, &[Role::Admin])?;
    let city_id = path_param(&req, "cityId")?.to_lowercase();
    if !is_slug(&city_id) {
        return Err(ApiError::validation(
            "cityId must be 2–40 letters, digits, '-' or '_'.",
        ));
    }
    let body: CityBody = parse_json(&req)?;
    parse_time_zone(&body.time_zone).map_err(ApiError::validation)?;
    validate_currency(&body.currency).map_err(ApiError::validation)?;
    if !(0..=10_000_000).contains(&body.convenience_fee_per_ticket) {
        return Err(ApiError::validation(
            "convenienceFeePerTicket must be 0 or more minor units.",
        ));
    }
    let city = City {
        city_id,
        name: validate_name("name", &body.name).map_err(ApiError::validation)?,
        time_zone: body.time_zone,
        currency: body.currency,
        convenience_fee_per_ticket: body.convenience_fee_per_ticket,
        tax_basis_points: percent_to_basis_points(body.tax_percent)
            .map_err(ApiError::validation)?,
        loyalty: body.loyalty.map(loyalty_rate).transpose()?,
    };
    deps.store.put_city(&city).await?;
    ok(&CityView::from(&city))
}

/// A city's loyalty terms from the request: `earnPercent` with at most two decimals.
fn loyalty_rate(body: CityLoyaltyView) -> Result<LoyaltyRate, ApiError> {
    let rate = LoyaltyRate {
        earn_basis_points: percent_to_basis_points(body.earn_percent).map_err(|_| {
            ApiError::validation("loyalty.earnPercent must be 0–100 with at most two decimals")
        })?,
        point_value: body.point_value,
    };
    rate.validate().map_err(ApiError::validation)?;
    Ok(rate)
}
