//! What each function is cold-started with: a request it answers successfully, made against this
//! stack (tokens signed with the stack's key, real ids, signed webhooks), one per run where a
//! request can succeed only once (a registration, a hold, a cancellation, an admission). So the
//! first answer and the peak memory measure the function doing its real work, not a 401.

use crate::{
    catalog::{layout, Catalog, CITY},
    util::{expect, BoxError, Req},
};
use boxoffice::{auth::issue_token, domain::user::Role};
use boxoffice_local::{gateway::Gateway, registry, triggers::scheduled_event};
use bytes::Bytes;
use serde_json::{json, Value};
use std::collections::HashMap;

pub type Events = HashMap<String, Vec<Bytes>>;

fn event(gw: &Gateway, req: Req<'_>) -> Result<Bytes, BoxError> {
    let (parts, body) = req.build()?.into_parts();
    Ok(Bytes::from(gw.http_event(&parts, &body).to_string()))
}

fn id(v: &Value, field: &str) -> Result<String, BoxError> {
    Ok(v[field]
        .as_str()
        .ok_or_else(|| format!("no {field} in {v}"))?
        .to_owned())
}

fn sqs_event(body: &Value) -> Bytes {
    Bytes::from(
        json!({"Records": [{"messageId": boxoffice::ids::new_id("msg"), "receiptHandle": "cold",
            "body": body.to_string(), "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
            "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:payments",
            "awsRegion": "us-east-1"}]})
        .to_string(),
    )
}

/// A pending booking of `seat` by the customer, and its total.
async fn hold(
    gw: &Gateway,
    token: &str,
    show: &str,
    seat: &str,
) -> Result<(String, i64), BoxError> {
    let b = expect(
        gw,
        Req::new("POST", "/api/v1/bookings")
            .token(token)
            .json(&json!({"showId": show, "seatIds": [seat]})),
        201,
    )
    .await?;
    Ok((
        id(&b, "bookingId")?,
        b["pricing"]["total"].as_i64().unwrap_or(0),
    ))
}

async fn intent(gw: &Gateway, token: &str, booking: &str) -> Result<String, BoxError> {
    let p = expect(
        gw,
        Req::new("POST", &format!("/api/v1/bookings/{booking}/payments"))
            .token(token)
            .json(&json!({"provider": "sandbox", "returnUrl": "https://bench.example/r"})),
        201,
    )
    .await?;
    Ok(p["providerPayload"]["paymentIntentId"]
        .as_str()
        .ok_or("no paymentIntentId")?
        .to_owned())
}

fn payment_message(booking: &str, intent: &str, total: i64) -> Value {
    json!({"provider": "sandbox", "eventId": boxoffice::ids::new_id("evt"), "outcome": "SUCCEEDED",
        "paymentIntentId": intent, "bookingId": booking, "amount": total, "currency": "INR", "occurredAt": 1})
}

/// The events, `runs` per function (fewer where one request succeeds again and again).
pub async fn build(gw: &Gateway, cat: &Catalog, runs: usize) -> Result<Events, BoxError> {
    let deps = gw.deps();
    let now = deps.clock.now_epoch();
    let jwt = &deps.config.jwt;
    let n = runs.max(1);
    let mut out = Events::new();
    let mut put = |f: &str, e: Bytes| out.entry(f.to_owned()).or_default().push(e);

    // A real customer (login reads the stored account).
    let stamp = boxoffice::ids::new_id("c").to_lowercase();
    let email = format!("{stamp}@cold.bench");
    let creds = json!({"email": email, "password": "cold-password-1", "name": "Cold"});
    let me = expect(
        gw,
        Req::new("POST", "/api/v1/auth/register").json(&creds),
        201,
    )
    .await?;
    let customer_id = id(&me, "userId")?;
    let login = json!({"email": email, "password": "cold-password-1"});
    let token = id(
        &expect(gw, Req::new("POST", "/api/v1/auth/login").json(&login), 200).await?,
        "accessToken",
    )?;
    put(
        "login",
        event(gw, Req::new("POST", "/api/v1/auth/login").json(&login))?,
    );
    for i in 0..n {
        let body = json!({"email": format!("{stamp}-{i}@cold.bench"), "password": "cold-password-1", "name": "Cold"});
        put(
            "register",
            event(gw, Req::new("POST", "/api/v1/auth/register").json(&body))?,
        );
        let partner = json!({"email": format!("{stamp}-p{i}@cold.bench"), "password": "cold-password-1", "name": "P", "company": "Cold Co"});
        put(
            "create-partner",
            event(
                gw,
                Req::new("POST", "/api/v1/admin/partners")
                    .token(&cat.admin)
                    .json(&partner),
            )?,
        );
    }

    // Catalog.
    let city = json!({"name": "Bench City", "timeZone": "Asia/Kolkata", "currency": "INR", "convenienceFeePerTicket": 3000, "taxPercent": 18});
    put(
        "put-city",
        event(
            gw,
            Req::new("PUT", &format!("/api/v1/admin/cities/{CITY}"))
                .token(&cat.admin)
                .json(&city),
        )?,
    );
    put("list-cities", event(gw, Req::new("GET", "/api/v1/cities"))?);
    let offer =
        json!({"description": "Every third ticket half price", "rule": {"type": "THIRD50"}});
    put(
        "put-offer",
        event(
            gw,
            Req::new("PUT", "/api/v1/admin/offers/COLD50")
                .token(&cat.admin)
                .json(&offer),
        )?,
    );
    expect(
        gw,
        Req::new("PUT", "/api/v1/admin/offers/COLD50")
            .token(&cat.admin)
            .json(&offer),
        200,
    )
    .await?;
    put(
        "list-offers",
        event(
            gw,
            Req::new("GET", "/api/v1/admin/offers").token(&cat.admin),
        )?,
    );
    let movie_body = json!({"title": "Cold Start", "languages": ["english"], "genres": ["drama"], "durationMins": 100, "releaseDate": "2026-01-01"});
    put(
        "create-movie",
        event(
            gw,
            Req::new("POST", "/api/v1/movies")
                .token(&cat.admin)
                .json(&movie_body),
        )?,
    );
    let movie = cat.movie(gw, "Cold Start").await?;
    put(
        "get-movie",
        event(gw, Req::new("GET", &format!("/api/v1/movies/{movie}")))?,
    );
    put(
        "list-movies",
        event(gw, Req::new("GET", &format!("/api/v1/movies?city={CITY}")))?,
    );
    let theatre_body = json!({"name": "Cold Theatre", "cityId": CITY, "area": "A", "address": "B",
        "screens": [{"name": "Screen 1", "layout": layout(4, 10, 1)}]});
    put(
        "create-theatre",
        event(
            gw,
            Req::new("POST", "/api/v1/theatres")
                .token(&cat.partner)
                .json(&theatre_body),
        )?,
    );
    let main = cat.theatre(gw, "Cold Main", layout(8, 10, 1)).await?;
    let spare = cat.theatre(gw, "Cold Spare", layout(2, 10, 1)).await?;
    let tiny = cat.theatre(gw, "Cold Tiny", layout(1, 1, 0)).await?;
    put(
        "get-theatre",
        event(gw, Req::new("GET", &format!("/api/v1/theatres/{}", main.0)))?,
    );
    let day = |d: i64| format!("{}T18:00:00+05:30", crate::catalog::ist_date(d));
    let show = cat.show(gw, &movie, &main, &day(5)).await?;
    for i in 0..n {
        let body = json!({"theatreId": spare.0, "screenId": spare.1, "movieId": movie, "startTime": day(10 + i as i64),
            "language": "english", "format": "2D", "currency": "INR", "prices": {"REGULAR": 18000, "PREMIUM": 25000}});
        put(
            "create-show",
            event(
                gw,
                Req::new("POST", "/api/v1/shows")
                    .token(&cat.partner)
                    .json(&body),
            )?,
        );
        let doomed = cat.show(gw, &movie, &main, &day(40 + i as i64)).await?;
        put(
            "cancel-show",
            event(
                gw,
                Req::new("POST", &format!("/api/v1/shows/{doomed}/cancel")).token(&cat.partner),
            )?,
        );
    }
    let date = crate::catalog::ist_date(5);
    put(
        "browse-shows",
        event(
            gw,
            Req::new(
                "GET",
                &format!("/api/v1/cities/{CITY}/movies/{movie}/shows?date={date}"),
            ),
        )?,
    );
    put(
        "get-seat-map",
        event(gw, Req::new("GET", &format!("/api/v1/shows/{show}/seats")))?,
    );
    put(
        "get-show-layout",
        event(gw, Req::new("GET", &format!("/api/v1/shows/{show}/layout")))?,
    );
    put(
        "get-seat-availability",
        event(
            gw,
            Req::new("GET", &format!("/api/v1/shows/{show}/availability")),
        )?,
    );
    put(
        "show-stats",
        event(
            gw,
            Req::new("GET", &format!("/api/v1/shows/{show}/stats")).token(&cat.partner),
        )?,
    );

    // Bookings and payments: a fresh seat or booking per run where the call changes state.
    let mut seat = 0;
    let mut next_seat = || {
        seat += 1;
        format!("R{}-{}", seat / 10, seat % 10)
    };
    let confirmer = registry::Functions::new(deps.clone());
    for _ in 0..n {
        put(
            "create-booking",
            event(
                gw,
                Req::new("POST", "/api/v1/bookings")
                    .token(&token)
                    .header("idempotency-key", boxoffice::ids::new_id("idem"))
                    .json(&json!({"showId": show, "seatIds": [next_seat()]})),
            )?,
        );
        put(
            "create-counter-sale",
            event(
                gw,
                Req::new("POST", &format!("/api/v1/partner/shows/{show}/sales"))
                    .token(&cat.partner)
                    .header("idempotency-key", boxoffice::ids::new_id("idem"))
                    .json(&json!({"seatIds": [next_seat()], "paymentMethod": "CASH"})),
            )?,
        );
        // Other platforms: a key made (and one revoked) per run; a block, and a release of
        // another block made for it.
        let new_key = || {
            Req::new("POST", "/api/v1/partner/api-keys")
                .token(&cat.partner)
                .json(&json!({"name": "Cold platform"}))
        };
        put("create-api-key", event(gw, new_key())?);
        let made = expect(gw, new_key(), 201).await?;
        let key_id = id(&made, "keyId")?;
        put(
            "revoke-api-key",
            event(
                gw,
                Req::new("DELETE", &format!("/api/v1/partner/api-keys/{key_id}"))
                    .token(&cat.partner),
            )?,
        );
        // The revoked one's own key is no use to the block: a live key for it.
        let live = id(&expect(gw, new_key(), 201).await?, "apiKey")?;
        let block_path = format!("/api/v1/external/shows/{show}/seats/block");
        put(
            "block-external-seats",
            event(
                gw,
                Req::new("POST", &block_path)
                    .header("x-api-key", live.clone())
                    .json(&json!({"seatIds": [next_seat()], "externalRef": boxoffice::ids::new_id("ref")})),
            )?,
        );
        let released_ref = boxoffice::ids::new_id("ref");
        expect(
            gw,
            Req::new("POST", &block_path)
                .header("x-api-key", live.clone())
                .json(&json!({"seatIds": [next_seat()], "externalRef": released_ref})),
            201,
        )
        .await?;
        put(
            "release-external-seats",
            event(
                gw,
                Req::new(
                    "POST",
                    &format!("/api/v1/external/shows/{show}/seats/release"),
                )
                .header("x-api-key", live)
                .json(&json!({"externalRef": released_ref})),
            )?,
        );
        let (pending, _) = hold(gw, &token, &show, &next_seat()).await?;
        put(
            "cancel-booking",
            event(
                gw,
                Req::new("POST", &format!("/api/v1/bookings/{pending}/cancel")).token(&token),
            )?,
        );
        let (unpaid, _) = hold(gw, &token, &show, &next_seat()).await?;
        put(
            "initiate-payment",
            event(
                gw,
                Req::new("POST", &format!("/api/v1/bookings/{unpaid}/payments"))
                    .token(&token)
                    .header("idempotency-key", boxoffice::ids::new_id("idem"))
                    .json(&json!({"provider": "sandbox", "returnUrl": "https://bench.example/r"})),
            )?,
        );
        // Paid through the provider's webhook, through sandbox-complete, through the queue.
        let (b, total) = hold(gw, &token, &show, &next_seat()).await?;
        let pi = intent(gw, &token, &b).await?;
        let signed = boxoffice::payments::SandboxEvent {
            event_id: boxoffice::ids::new_id("evt"),
            kind: "payment.succeeded".into(),
            payment_intent_id: pi,
            amount: total,
            currency: "INR".into(),
            booking_reference: b,
            timestamp: now,
        };
        let (signature, body) = boxoffice::payments::sandbox_webhook(&deps.config, &signed, now)?;
        put(
            "payment-webhook",
            event(
                gw,
                Req::new("POST", "/api/v1/payments/webhooks/sandbox")
                    .header("x-signature", signature)
                    .raw(body),
            )?,
        );
        let (b, _) = hold(gw, &token, &show, &next_seat()).await?;
        let pi = intent(gw, &token, &b).await?;
        put(
            "sandbox-complete",
            event(
                gw,
                Req::new("POST", &format!("/api/v1/sandbox/payments/{pi}/complete"))
                    .token(&token)
                    .json(&json!({"outcome": "succeeded"})),
            )?,
        );
        let (b, total) = hold(gw, &token, &show, &next_seat()).await?;
        let pi = intent(gw, &token, &b).await?;
        put(
            "confirm-payment",
            sqs_event(&payment_message(&b, &pi, total)),
        );
        // A ticket to admit: confirmed here, through the same handler the queue drives.
        let (b, total) = hold(gw, &token, &show, &next_seat()).await?;
        let pi = intent(gw, &token, &b).await?;
        let batch = serde_json::from_slice(&sqs_event(&payment_message(&b, &pi, total)))?;
        let answer = registry::invoke_sqs("confirm-payment", &confirmer, batch)
            .await
            .ok_or("no confirm-payment")?;
        if !answer.batch_item_failures.is_empty() {
            return Err("confirming a ticket for the cold starts failed".into());
        }
        let booking = expect(
            gw,
            Req::new("GET", &format!("/api/v1/bookings/{b}")).token(&token),
            200,
        )
        .await?;
        let code = booking["ticket"]["qrCodeData"]
            .as_str()
            .ok_or("no ticket")?;
        put(
            "verify-ticket",
            event(
                gw,
                Req::new("POST", "/api/v1/tickets/verify")
                    .token(&cat.partner)
                    .json(&json!({"qrCodeData": code})),
            )?,
        );
        put(
            "get-ticket-image",
            event(
                gw,
                Req::new("GET", &format!("/api/v1/bookings/{b}/ticket.png")).token(&token),
            )?,
        );
        put(
            "best-available",
            event(
                gw,
                Req::new("POST", &format!("/api/v1/shows/{show}/best-available"))
                    .token(&token)
                    .json(&json!({"count": 2})),
            )?,
        );
        put(
            "get-ticket-keys",
            event(gw, Req::new("GET", "/api/v1/.well-known/ticket-keys"))?,
        );
    }
    let (some_booking, _) = hold(gw, &token, &show, &next_seat()).await?;
    put(
        "get-booking",
        event(
            gw,
            Req::new("GET", &format!("/api/v1/bookings/{some_booking}")).token(&token),
        )?,
    );
    put(
        "list-my-bookings",
        event(gw, Req::new("GET", "/api/v1/me/bookings").token(&token))?,
    );
    put(
        "list-notifications",
        event(
            gw,
            Req::new("GET", "/api/v1/me/notifications").token(&token),
        )?,
    );
    put(
        "get-loyalty",
        event(gw, Req::new("GET", "/api/v1/me/loyalty").token(&token))?,
    );

    // A sold-out show's waitlist, one customer a run.
    let sold_out = cat.show(gw, &movie, &tiny, &day(6)).await?;
    hold(gw, &token, &sold_out, "R0-0").await?;
    for i in 0..n {
        let waiting = issue_token(
            jwt,
            &format!("usr_coldwait{i}"),
            "w@cold.bench",
            Role::Customer,
            now,
        )?;
        put(
            "join-waitlist",
            event(
                gw,
                Req::new("POST", &format!("/api/v1/shows/{sold_out}/waitlist"))
                    .token(&waiting)
                    .json(&json!({"seats": 1})),
            )?,
        );
    }

    // The waiting room: a show in queue mode (on sale tomorrow); each run configures it again,
    // joins as a new customer, and reads the status of one who has joined.
    let queued = cat.show(gw, &movie, &spare, &day(4)).await?;
    let queue_body = json!({"onSaleAt": boxoffice::queue::epoch_time(now + 86_400), "admissionRatePerSecond": 10});
    expect(
        gw,
        Req::new("PUT", &format!("/api/v1/shows/{queued}/queue"))
            .token(&cat.partner)
            .json(&queue_body),
        200,
    )
    .await?;
    expect(
        gw,
        Req::new("POST", &format!("/api/v1/shows/{queued}/queue")).token(&token),
        201,
    )
    .await?;
    for i in 0..n {
        put(
            "put-show-queue",
            event(
                gw,
                Req::new("PUT", &format!("/api/v1/shows/{queued}/queue"))
                    .token(&cat.partner)
                    .json(&queue_body),
            )?,
        );
        let joining = issue_token(
            jwt,
            &format!("usr_coldq{i}"),
            "q@cold.bench",
            Role::Customer,
            now,
        )?;
        put(
            "join-queue",
            event(
                gw,
                Req::new("POST", &format!("/api/v1/shows/{queued}/queue")).token(&joining),
            )?,
        );
    }
    put(
        "get-queue-status",
        event(
            gw,
            Req::new("GET", &format!("/api/v1/shows/{queued}/queue/me")).token(&token),
        )?,
    );
    put(
        "queue-sequencer",
        Bytes::from(scheduled_event("queue-sequencer").to_string()),
    );

    // The event-driven functions, and the $default route (its 404 is its success).
    put(
        "expire-holds",
        Bytes::from(scheduled_event("expire-holds").to_string()),
    );
    let detail = json!({"eventId": boxoffice::ids::new_id("evt"), "bookingId": some_booking, "userId": customer_id,
        "showId": show, "seatIds": ["R0-1"]});
    put(
        "notify",
        Bytes::from(
            json!({"version": "0", "id": "cold", "detail-type": "BookingConfirmed", "source": "boxoffice",
                "account": "000000000000", "time": boxoffice::clock::rfc3339(chrono::Utc::now()),
                "region": "us-east-1", "resources": [], "detail": detail})
            .to_string(),
        ),
    );
    put(
        "route-not-found",
        event(gw, Req::new("GET", "/api/v1/no-such-route"))?,
    );
    Ok(out)
}

/// Whether a cold start's answer is the function's success: a 2xx, or the $default route's 404.
pub fn succeeded(function: &str, outcome: &str) -> bool {
    outcome.split("; ").all(|o| match o.strip_prefix("HTTP ") {
        Some(code) => code.starts_with('2') || (function == "route-not-found" && code == "404"),
        None => o == "ok",
    })
}
