//! Bad input: a handful of malformed, unauthorised and forged requests against the hot path,
//! each of which must get a 4xx in the contract's error format, never a 5xx.

use crate::util::{BoxError, Req};
use boxoffice::{auth::issue_token, domain::user::Role, payments::signature::sign};
use boxoffice_local::gateway::Gateway;
use serde_json::json;

pub struct Probes {
    pub sent: usize,
    pub five_xx: usize,
    /// Answers that were not 4xx with an `error.code`.
    pub off_contract: Vec<String>,
}

pub async fn run(gw: &Gateway, show: &str) -> Result<Probes, BoxError> {
    let deps = gw.deps();
    let now = deps.clock.now_epoch();
    let jwt = &deps.config.jwt;
    let user = issue_token(jwt, "usr_probe", "x@bench", Role::Customer, now)?;
    let expired = issue_token(jwt, "usr_probe", "x@bench", Role::Customer, now - 86_400)?;
    let partner = issue_token(jwt, "usr_probe2", "y@bench", Role::Partner, now)?;
    let big = "x".repeat(70 * 1024);
    let webhook_body = json!({"eventId": "evt_x", "type": "payment.succeeded", "paymentIntentId": "pi_sandbox_bk_x",
        "amount": 1, "currency": "INR", "bookingReference": "bk_x", "timestamp": now})
    .to_string();
    let secret = deps
        .config
        .sandbox_webhook_secret
        .as_ref()
        .ok_or("the local stack loads every secret")?
        .expose()
        .as_bytes();
    let stale = sign(secret, now - 3_600, webhook_body.as_bytes());
    let forged = sign(b"not-the-secret", now, webhook_body.as_bytes());
    let bookings = "/api/v1/bookings";
    let seats = format!("/api/v1/shows/{show}/seats");
    let probes: Vec<Req> = vec![
        Req::new("POST", bookings).token(&user).raw("{".into()),
        Req::new("POST", bookings).json(&json!({"showId": show, "seatIds": ["R1-1"]})),
        Req::new("POST", bookings)
            .token(&expired)
            .json(&json!({"showId": show, "seatIds": ["R1-1"]})),
        Req::new("POST", bookings)
            .token(&partner)
            .json(&json!({"showId": show, "seatIds": ["R1-1"]})),
        Req::new("POST", bookings)
            .token(&user)
            .json(&json!({"showId": show, "seatIds": ["Z99-99"]})),
        Req::new("POST", bookings)
            .token(&user)
            .json(&json!({"showId": show, "seatIds": ["R1-1", "R1-1"]})),
        Req::new("POST", bookings)
            .token(&user)
            .json(&json!({"showId": show, "seatIds": []})),
        Req::new("POST", bookings)
            .token(&user)
            .json(&json!({"showId": show, "seatIds": ["R1-1"], "surprise": true})),
        Req::new("POST", bookings)
            .token(&user)
            .json(&json!({"showId": "sh_nope", "seatIds": ["R1-1"]})),
        Req::new("POST", bookings).token(&user).raw(big),
        Req::new("POST", bookings)
            .token(&user)
            .header("idempotency-key", "no")
            .json(&json!({"showId": show, "seatIds": ["R1-1"]})),
        Req::new("GET", "/api/v1/shows/not-an-id/seats"),
        Req::new("DELETE", &seats),
        Req::new("GET", "/api/v1/no/such/path"),
        Req::new("GET", "/api/v1/bookings/bk_01JD0000000000000000000000").token(&user),
        Req::new(
            "POST",
            "/api/v1/bookings/bk_01JD0000000000000000000000/payments",
        )
        .token(&user)
        .json(&json!({"provider": "sandbox", "returnUrl": "https://bench.example/return"})),
        Req::new("POST", "/api/v1/payments/webhooks/sandbox").raw(webhook_body.clone()),
        Req::new("POST", "/api/v1/payments/webhooks/sandbox")
            .header("x-signature", stale)
            .raw(webhook_body.clone()),
        Req::new("POST", "/api/v1/payments/webhooks/sandbox")
            .header("x-signature", forged)
            .raw(webhook_body.clone()),
        Req::new("POST", "/api/v1/payments/webhooks/sandbox")
            .header("x-signature", "t=abc,v1=zz")
            .raw(webhook_body),
        Req::new("POST", "/api/v1/payments/webhooks/nope").raw("{}".into()),
    ];
    let mut out = Probes {
        sent: 0,
        five_xx: 0,
        off_contract: Vec::new(),
    };
    for p in &probes {
        let (status, body) = p.send(gw).await?;
        out.sent += 1;
        if status >= 500 {
            out.five_xx += 1;
        }
        if !(400..500).contains(&status) || !body["error"]["code"].is_string() {
            out.off_contract
                .push(format!("{} {} → {status}", p.method, p.path));
        }
    }
    Ok(out)
}
