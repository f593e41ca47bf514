//! `POST /partner/shows/{showId}/sales` (the show's PARTNER, idempotent): the box office sells
//! seats over the counter. One transaction takes the seats under a hold's conditions and writes
//! the booking CONFIRMED with its ticket (`domain::channel::counter_sale`), so a counter sale and
//! an app hold racing for a seat never both get it. The booking is the selling partner's: it
//! cancels and refunds it as a customer would an app booking (the refund is paid back at the
//! counter: provider `counter`).

use boxoffice::{
    channels::refused_sale,
    domain::{
        booking::check_seat_ids,
        channel::{counter_sale, CounterPayment, CounterSaleRequest},
        ticket::ticket_for,
        user::{normalize_email, Role},
    },
    http::{body_bytes, idempotency_key, json_text, parse_json, replay, serve, HttpResult},
    ids::new_id,
    runtime::{Function, Handler},
    secrets::SecretSet,
    shows::partners_cached_show,
    store::bookings::{IdempotencyRecord, SoldOutright},
    views::BookingView,
    ApiError, Deps,
};
use lambda_http::{http::StatusCode, Body, Request, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SaleBody {
    seat_ids: Vec<String>,
    payment_method: CounterPayment,
    customer_email: Option<String>,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys, SecretSet::TicketKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| create_counter_sale(deps, req)).await
}

async fn create_counter_sale(deps: &Deps, req: Request) -> HttpResult {
    let caller = deps.caller(&req, &[Role::Partner])?;
    let key = idempotency_key(&req)?;
    let body: SaleBody = parse_json(&req)?;
    let request_hash = hex::encode(Sha256::digest(body_bytes(&req)));
    check_seat_ids(&body.seat_ids)?;
    let customer_email = body
        .customer_email
        .as_deref()
        .map(normalize_email)
        .transpose()
        .map_err(|why| ApiError::validation(format!("customerEmail: {why}")))?;
    let (show, city) = partners_cached_show(deps, &req, &caller, "sell its seats").await?;
    let now = deps.clock.now();
    let booking_id = new_id("bk");
    let payment_id = new_id("pay");
    let sale = CounterSaleRequest {
        booking_id: &booking_id,
        payment_id: &payment_id,
        seller_id: &caller.user_id,
        seat_ids: &body.seat_ids,
        payment: body.payment_method,
        customer_email: customer_email.as_deref(),
    };
    let mut booking = counter_sale(&show, &city, &sale, now)?;
    booking.ticket = Some(ticket_for(
        &booking,
        new_id("tkt"),
        &deps.config.ticket_keys()?.current,
    ));
    let response_body =
        serde_json::to_string(&BookingView::from(&booking)).map_err(ApiError::internal)?;
    let idempotency = key
        .as_deref()
        .map(|k| (k, IdempotencyRecord::created(&request_hash, &response_body)));
    match deps
        .store
        .sell_at_counter(&booking, idempotency, now.timestamp())
        .await?
    {
        SoldOutright::Sold => {
            tracing::info!(booking_id = %booking.booking_id, show_id = %booking.show_id,
                seats = booking.seats.len(), source = booking.source.as_str(), "sold at the counter");
            boxoffice::metrics::count("CounterSales", 1);
            json_text(StatusCode::CREATED, response_body)
        }
        SoldOutright::Replay(record) => replay(record, &request_hash),
        SoldOutright::Refused(why) => Err(refused_sale(&booking.show_id, why)),
    }
}
