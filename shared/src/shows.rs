//! Loading the show a request names, for the handlers that work on one show's seats.

use crate::{
    auth::Principal, http::path_param, ids::is_id, store::catalog::ShowCollection, ApiError, Deps,
};
use lambda_http::Request;

/// The show named by the `showId` path parameter, with its seat items (one Query); 404 when
/// there is no such show, whatever the id looks like.
pub async fn show_collection(deps: &Deps, req: &Request) -> Result<ShowCollection, ApiError> {
    let show_id = path_param(req, "showId")?;
    let not_found = || ApiError::NotFound(format!("No show {show_id}."));
    if !is_id("sh", &show_id) {
        return Err(not_found());
    }
    deps.store
        .get_show_collection(&show_id)
        .await?
        .ok_or_else(not_found)
}

/// The same, for the partner owning the show's theatre or an admin only; `to` names what others
/// may not do ("cancel it").
pub async fn owned_show_collection(
    deps: &Deps,
    req: &Request,
    caller: &Principal,
    to: &str,
) -> Result<ShowCollection, ApiError> {
    let collection = show_collection(deps, req).await?;
    if !caller.is_admin() && collection.show.partner_id != caller.user_id {
        return Err(ApiError::Forbidden(format!(
            "Only the partner owning this show's theatre may {to}."
        )));
    }
    Ok(collection)
}
