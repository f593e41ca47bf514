//! `PUT /shows/{showId}/queue` (the show's PARTNER, ADMIN): puts a show in queue mode or changes
//! its queue: on-sale time (fixed once passed), admission rate (changeable during the sale, 0
//! pauses), admission window, whether unused admissions are replaced.

use boxoffice::{
    auth::authenticate,
    clock::rfc3339,
    domain::{
        queue::{configure, ConfigRefusal, QueueConfig, QueueRequest, DEFAULT_WINDOW_SECONDS},
        show::ShowStatus,
        user::Role,
    },
    http::{ok, parse_json, path_param, serve, HttpResult},
    ids::is_id,
    runtime::{Function, Handler},
    secrets::SecretSet,
    ApiError, Deps,
};
use chrono::DateTime;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct QueueBody {
    on_sale_at: String,
    admission_rate_per_second: u32,
    admission_window_seconds: Option<i64>,
    replace_unused: Option<bool>,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| put_show_queue(deps, req)).await
}

async fn put_show_queue(deps: &Deps, req: Request) -> HttpResult {
    let caller = authenticate(&deps.config.jwt, &req)?;
    caller.require(&[Role::Partner, Role::Admin])?;
    let show_id = path_param(&req, "showId")?;
    let body: QueueBody = parse_json(&req)?;
    let not_found = || ApiError::NotFound(format!("No show {show_id}."));
    if !is_id("sh", &show_id) {
        return Err(not_found());
    }
    let show = deps.store.get_show(&show_id).await?.ok_or_else(not_found)?;
    if !caller.is_admin() && caller.user_id != show.partner_id {
        return Err(ApiError::Forbidden(
            "Only the show's partner may configure its queue.".into(),
        ));
    }
    if show.status == ShowStatus::Cancelled {
        return Err(ApiError::ShowNotBookable("The show is cancelled.".into()));
    }
    let on_sale_at = DateTime::parse_from_rfc3339(&body.on_sale_at)
        .map_err(|_| ApiError::validation("onSaleAt must be RFC 3339 with an offset."))?
        .timestamp();
    let start = DateTime::parse_from_rfc3339(&show.start_time)
        .map_err(ApiError::internal)?
        .timestamp();
    let existing = deps.store.queue_state(&show_id).await?.config;
    let request = QueueRequest {
        on_sale_at,
        rate_per_second: body.admission_rate_per_second,
        window_seconds: body
            .admission_window_seconds
            .unwrap_or(DEFAULT_WINDOW_SECONDS),
        replace_unused: body.replace_unused.unwrap_or(true),
    };
    let now = deps.clock.now_epoch();
    let config =
        configure(&show_id, existing.as_ref(), &request, now, start).map_err(|r| match r {
            ConfigRefusal::Invalid(m) => ApiError::validation(m),
            ConfigRefusal::OnSalePassed(m) => ApiError::InvalidState(m),
        })?;
    if !deps.store.put_queue_config(&config).await? {
        return Err(not_found());
    }
    tracing::info!(show_id = %show_id, on_sale_at, rate = request.rate_per_second, "queue configured");
    ok(&view(&config, now))
}

fn time(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .map(rfc3339)
        .unwrap_or_default()
}

pub fn view(c: &QueueConfig, now: i64) -> Value {
    json!({
        "showId": c.show_id,
        "onSaleAt": time(c.on_sale_at),
        "admissionRatePerSecond": c.rate_at(now.max(c.on_sale_at)),
        "admissionWindowSeconds": c.admission_window_seconds,
        "replaceUnused": c.replace_unused,
        "rateSchedule": c.rates.iter().map(|r| json!({"from": time(r.from), "perSecond": r.per_second})).collect::<Vec<_>>(),
    })
}
