//! `GET /shows/{showId}/stats` (the owning PARTNER, ADMIN): seat counts and revenue from one
//! Query of the show's item collection, with the sales broken down by channel (each seat item
//! names the channel that sold it: `domain::channel::Source`).

use boxoffice::{
    domain::{channel::Source, user::Role},
    http::{ok, serve, HttpResult},
    runtime::{Function, Handler},
    secrets::SecretSet,
    shows::owned_show_collection,
    Deps,
};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Stats<'a> {
    show_id: &'a str,
    capacity: i64,
    sold: i64,
    locked: i64,
    available: i64,
    gross_revenue: i64,
    currency: &'a str,
    bookings_by_status: BTreeMap<&'static str, usize>,
    /// Every channel, with zeros where it sold nothing.
    sales_by_channel: BTreeMap<&'static str, ChannelSales>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct ChannelSales {
    seats: i64,
    gross_revenue: i64,
    bookings: usize,
}

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[SecretSet::JwtKeys],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| show_stats(deps, req)).await
}

async fn show_stats(deps: &Deps, req: Request) -> HttpResult {
    let caller = deps.caller(&req, &[Role::Partner, Role::Admin])?;
    let collection = owned_show_collection(deps, &req, &caller, "see its stats").await?;
    let show = &collection.show;
    let now = deps.clock.now_epoch();
    let seat_types = show.layout.seat_index();
    let (mut sold, mut locked, mut gross) = (0, 0, 0);
    let (mut pending, mut confirmed) = (BTreeSet::new(), BTreeSet::new());
    let mut channels: BTreeMap<Source, (i64, i64, BTreeSet<&str>)> = BTreeMap::new();
    for seat in &collection.seats {
        if seat.is_sold() {
            let price = seat_types
                .get(seat.seat_id.as_str())
                .and_then(|t| show.price_of(*t))
                .unwrap_or(0);
            sold += 1;
            gross += price;
            confirmed.insert(seat.booking_id.as_str());
            let channel = channels.entry(seat.source).or_default();
            channel.0 += 1;
            channel.1 += price;
            channel.2.insert(seat.booking_id.as_str());
        } else if seat.is_held_at(now) {
            locked += 1;
            pending.insert(seat.booking_id.as_str());
        }
    }
    let mut bookings_by_status = BTreeMap::new();
    bookings_by_status.insert("PAYMENT_PENDING", pending.len());
    bookings_by_status.insert("CONFIRMED", confirmed.len());
    let sales_by_channel = Source::ALL
        .into_iter()
        .map(|source| {
            let sales = channels
                .get(&source)
                .map(|(seats, gross_revenue, bookings)| ChannelSales {
                    seats: *seats,
                    gross_revenue: *gross_revenue,
                    bookings: bookings.len(),
                })
                .unwrap_or_default();
            (source.as_str(), sales)
        })
        .collect();
    ok(&Stats {
        show_id: &show.show_id,
        capacity: show.capacity,
        sold,
        locked,
        available: show.capacity - sold - locked,
        gross_revenue: gross,
        currency: &show.currency,
        bookings_by_status,
        sales_by_channel,
    })
}
