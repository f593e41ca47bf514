//! Loading the show a request names, for the handlers that work on one show's seats.

use crate::{
    auth::Principal,
    domain::{catalog::Show, city::City},
    http::path_param,
    ids::is_id,
    store::catalog::{SeatItem, ShowCollection},
    ApiError, Deps,
};
use lambda_http::Request;
use std::sync::Arc;

/// The show named by the `showId` path parameter, with its seat items (one Query); 404 when
/// there is no such show, whatever the id looks like.
pub async fn show_collection(deps: &Deps, req: &Request) -> Result<ShowCollection, ApiError> {
    let (show_id, not_found) = named_show(req)?;
    deps.store
        .get_show_collection(&show_id)
        .await?
        .ok_or_else(not_found)
}

/// The same for readers: the show from the container's cache (a show's layout, prices and times
/// do not change; its status may lag by the cache's 30 s) and only the seat items read fresh, so
/// a warm seat map is one small Query instead of the whole show with its layout.
pub async fn cached_show_with_seats(
    deps: &Deps,
    req: &Request,
) -> Result<(Arc<Show>, Vec<SeatItem>), ApiError> {
    let show = cached_show(deps, req).await?;
    let seats = deps.store.get_seat_items(&show).await?;
    Ok((show, seats))
}

/// The show alone, from the container's cache (what never changes of it: layout, prices, times).
pub async fn cached_show(deps: &Deps, req: &Request) -> Result<Arc<Show>, ApiError> {
    let (show_id, not_found) = named_show(req)?;
    deps.caches
        .show(&deps.store, &show_id)
        .await?
        .ok_or_else(not_found)
}

/// The `showId` path parameter and its 404 (said at once for an id that is not a show's).
pub(crate) fn named_show(req: &Request) -> Result<(String, impl Fn() -> ApiError), ApiError> {
    let show_id = path_param(req, "showId")?;
    let message = format!("No show {show_id}.");
    let not_found = move || ApiError::NotFound(message.clone());
    if !is_id("sh", &show_id) {
        return Err(not_found());
    }
    Ok((show_id, not_found))
}

/// The same, for the partner owning the show's theatre or an admin only; `to` names what others
/// may not do ("see its stats").
pub async fn owned_show_collection(
    deps: &Deps,
    req: &Request,
    caller: &Principal,
    to: &str,
) -> Result<ShowCollection, ApiError> {
    let collection = show_collection(deps, req).await?;
    check_owner(&collection.show, caller, to)?;
    Ok(collection)
}

/// The show item alone (one GetItem, read fresh), for its owning partner or an admin only.
pub async fn owned_show(
    deps: &Deps,
    req: &Request,
    caller: &Principal,
    to: &str,
) -> Result<Show, ApiError> {
    let (show_id, not_found) = named_show(req)?;
    let show = deps.store.get_show(&show_id).await?.ok_or_else(not_found)?;
    check_owner(&show, caller, to)?;
    Ok(show)
}

fn check_owner(show: &Show, caller: &Principal, to: &str) -> Result<(), ApiError> {
    if !caller.is_admin() && show.partner_id != caller.user_id {
        return Err(not_the_owner(to));
    }
    Ok(())
}

/// The show from the container's cache (its owner and times never change) with its city, for
/// the partner owning the show's theatre only; `to` names what others may not do.
pub async fn partners_cached_show(
    deps: &Deps,
    req: &Request,
    caller: &Principal,
    to: &str,
) -> Result<(Arc<Show>, City), ApiError> {
    let (show_id, not_found) = named_show(req)?;
    let (show, city) = deps
        .caches
        .show_and_city(&deps.store, &show_id)
        .await?
        .ok_or_else(not_found)?;
    if show.partner_id != caller.user_id {
        return Err(not_the_owner(to));
    }
    let city = city_of(&show, city)?;
    Ok((show, city))
}

/// The city a show's cached lookup found: a show naming no known city is a stored record we
/// cannot serve (500), never the caller's fault.
pub fn city_of(show: &Show, city: Option<City>) -> Result<City, ApiError> {
    city.ok_or_else(|| {
        ApiError::Internal(format!(
            "show {} names unknown city {}",
            show.show_id, show.city_id
        ))
    })
}

fn not_the_owner(to: &str) -> ApiError {
    ApiError::Forbidden(format!(
        "Only the partner owning this show's theatre may {to}."
    ))
}
