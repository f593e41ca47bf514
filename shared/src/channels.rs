//! Other platforms' requests: the `X-Api-Key` a partner made for them (`domain::api_key`), the
//! show it may act on, and the answers about their blocks of seats.

use crate::{
    domain::{
        api_key::{self, ApiKey, KeyRefusal},
        booking::{Booking, BookingStatus},
        catalog::Show,
        channel::Source,
        city::City,
    },
    http::header,
    store::bookings::SaleRefused,
    ApiError, Deps,
};
use lambda_http::Request;
use serde::Serialize;
use std::sync::Arc;

pub const API_KEY_HEADER: &str = "x-api-key";

/// The show of the `showId` path parameter with its city, when the request's `X-Api-Key` may act
/// on it: 401 without a live key (missing, malformed, unknown, revoked or the wrong secret: all
/// alike), 403 for a show outside the key's theatres, 404 for no such show (to a valid key).
pub async fn keyed_show(deps: &Deps, req: &Request) -> Result<(ApiKey, Arc<Show>, City), ApiError> {
    let unauthorized = || ApiError::Unauthorized("A valid X-Api-Key is required.".into());
    let (key_id, secret) = header(req, API_KEY_HEADER)
        .and_then(api_key::parse)
        .ok_or_else(unauthorized)?;
    let (show_id, not_found) = crate::shows::named_show(req)?;
    let (key, show) = tokio::join!(
        deps.store.get_api_key(key_id),
        deps.caches.show_and_city(&deps.store, &show_id)
    );
    let key = key?;
    let Some((show, city)) = show? else {
        // A live key learns the show does not exist; anyone else is told nothing.
        let live = key.is_some_and(|k| api_key::is_live(&k, secret));
        return Err(if live { not_found() } else { unauthorized() });
    };
    match api_key::check(key.as_ref(), secret, &show) {
        Ok(()) => {}
        Err(KeyRefusal::NotValid) => return Err(unauthorized()),
        Err(KeyRefusal::OutOfScope) => {
            return Err(ApiError::Forbidden(
                "This key may not act on this show's theatre.".into(),
            ))
        }
    }
    let city = crate::shows::city_of(&show, city)?;
    Ok((key.ok_or_else(unauthorized)?, show, city))
}

/// The answer to a sale outright (a counter sale, a block) that wrote nothing.
pub fn refused_sale(show_id: &str, why: SaleRefused) -> ApiError {
    match why {
        SaleRefused::SeatsTaken(seats) => ApiError::SeatLockFailed {
            show_id: show_id.to_owned(),
            unavailable_seat_ids: seats,
        },
        SaleRefused::ShowNotScheduled => {
            ApiError::ShowNotBookable("the show has been cancelled".into())
        }
    }
}

/// A block of seats an external platform sold, as it is answered.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalBlockView<'a> {
    pub block_id: &'a str,
    pub show_id: &'a str,
    pub external_ref: &'a str,
    pub seat_ids: Vec<String>,
    /// `BLOCKED`, or `RELEASED` once given back.
    pub status: &'static str,
    pub source: Source,
    pub blocked_at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released_at: Option<&'a str>,
}

impl<'a> ExternalBlockView<'a> {
    pub fn of(booking: &'a Booking, external_ref: &'a str) -> Self {
        let released = booking.status == BookingStatus::Cancelled;
        ExternalBlockView {
            block_id: &booking.booking_id,
            show_id: &booking.show_id,
            external_ref,
            seat_ids: booking.seat_ids(),
            status: if released { "RELEASED" } else { "BLOCKED" },
            source: booking.source,
            blocked_at: &booking.created_at,
            released_at: booking.cancelled_at.as_deref(),
        }
    }
}

/// A key as its partner sees it (never its secret or its hash).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView<'a> {
    pub key_id: &'a str,
    pub name: &'a str,
    pub theatre_ids: Option<&'a [String]>,
    pub created_at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<&'a str>,
    /// Only in the answer that made it: the whole key, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<&'a str>,
}

impl<'a> ApiKeyView<'a> {
    pub fn of(key: &'a ApiKey, api_key: Option<&'a str>) -> Self {
        ApiKeyView {
            key_id: &key.key_id,
            name: &key.name,
            theatre_ids: key.theatre_ids.as_deref(),
            created_at: &key.created_at,
            revoked_at: key.revoked_at.as_deref(),
            api_key,
        }
    }
}
