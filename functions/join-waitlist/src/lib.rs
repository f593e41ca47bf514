//! `POST /shows/{showId}/waitlist` (CUSTOMER): joins a sold-out show's waitlist; 409
//! `SEATS_AVAILABLE` while any seat can still be booked.

use boxoffice::{
    clock::rfc3339,
    domain::{show::not_bookable_reason, user::Role},
    http::{created, parse_json, path_param, serve, HttpResult},
    runtime::{Function, Handler},
    secrets::SecretSet,
    shows::show_collection,
    store::inbox::WaitlistEntry,
    ApiError, Deps,
};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WaitlistBody {
    seats: i64,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| join_waitlist(deps, req)).await
}

async fn join_waitlist(deps: &Deps, req: Request) -> HttpResult {
    let caller = deps.caller(&req, &[Role::Customer])?;
    let show_id = path_param(&req, "showId")?;
    let body: WaitlistBody = parse_json(&req)?;
    if !(1..=10).contains(&body.seats) {
        return Err(ApiError::validation("seats must be 1–10."));
    }
    let c = show_collection(deps, &req).await?;
    let now = deps.clock.now();
    let start =
        chrono::DateTime::parse_from_rfc3339(&c.show.start_time).map_err(ApiError::internal)?;
    if let Some(reason) = not_bookable_reason(c.show.status, start.into(), now) {
        return Err(ApiError::ShowNotBookable(reason.into()));
    }
    let taken = c
        .seats
        .iter()
        .filter(|s| s.is_sold() || s.is_held_at(now.timestamp()))
        .count() as i64;
    let available = c.show.capacity - taken;
    if available > 0 {
        return Err(ApiError::SeatsAvailable {
            available_seats: available as u32,
        });
    }
    let entry = WaitlistEntry {
        show_id: show_id.clone(),
        user_id: caller.user_id,
        seats: body.seats,
        joined_at: rfc3339(now),
        notified: false,
        notified_by: None,
    };
    let stored = deps.store.join_waitlist(&entry).await?;
    created(
        &json!({ "showId": stored.show_id, "seats": stored.seats, "joinedAt": stored.joined_at }),
    )
}
