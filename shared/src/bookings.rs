//! Loading a booking for its owner (or an admin): shared by every endpoint on `/bookings/{id}`.

use crate::{auth::Principal, domain::booking::Booking, ids::is_id, ApiError, Deps};

/// The booking, 404 when unknown, 403 when it belongs to someone else and the caller is no admin.
pub async fn load_for(
    deps: &Deps,
    caller: &Principal,
    booking_id: &str,
) -> Result<Booking, ApiError> {
    let not_found = || ApiError::NotFound(format!("No booking {booking_id}."));
    if !is_id("bk", booking_id) {
        return Err(not_found());
    }
    let booking = deps
        .store
        .get_booking(booking_id)
        .await?
        .ok_or_else(not_found)?;
    if booking.user_id != caller.user_id && !caller.is_admin() {
        return Err(ApiError::Forbidden(
            "This booking belongs to someone else.".into(),
        ));
    }
    Ok(booking)
}
