//! Round trips per operation, counted by SDK interceptors on the clients the handlers really use
//! (every HTTP request the SDK transmits, retries included): DynamoDB, SQS and EventBridge apart.

use crate::util::{expect, BoxError, Req};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use boxoffice::{
    auth::issue_token,
    domain::user::Role,
    payments::{sandbox_webhook, SandboxEvent},
    Deps,
};
use boxoffice_local::{
    counter::{sequential_rounds, CallCounter},
    gateway::Gateway,
    registry, LocalStack,
};
use serde_json::json;

/// Handler dependencies whose three AWS clients count their requests.
pub struct Counted {
    pub deps: Deps,
    pub ddb: CallCounter,
    pub sqs: CallCounter,
    pub events: CallCounter,
}

impl Counted {
    /// Counting clients over the stack's SDK configuration; `cold`: empty warm-container caches.
    pub fn new(stack: &LocalStack, cold: bool) -> Counted {
        let (ddb, sqs, events) = Default::default();
        let mut deps = stack.deps.clone();
        let conf = aws_sdk_dynamodb::config::Builder::from(&stack.sdk)
            .interceptor(CallCounter::clone(&ddb))
            .build();
        deps.store = boxoffice::store::Store::new(
            aws_sdk_dynamodb::Client::from_conf(conf),
            deps.store.table(),
        );
        let conf = aws_sdk_sqs::config::Builder::from(&stack.sdk)
            .interceptor(CallCounter::clone(&sqs))
            .build();
        deps.sqs = aws_sdk_sqs::Client::from_conf(conf);
        let conf = aws_sdk_eventbridge::config::Builder::from(&stack.sdk)
            .interceptor(CallCounter::clone(&events))
            .build();
        deps.eventbridge = aws_sdk_eventbridge::Client::from_conf(conf);
        if cold {
            deps.caches = Default::default();
        }
        Counted {
            deps,
            ddb,
            sqs,
            events,
        }
    }

    /// (DynamoDB ops and their sequential rounds, SQS ops, EventBridge ops) since the last call.
    pub fn take(&self) -> Trip {
        let calls = self.ddb.take_calls();
        Trip {
            ddb_rounds: sequential_rounds(&calls),
            ddb: calls.into_iter().map(|c| c.operation).collect(),
            sqs: self.sqs.take(),
            events: self.events.take(),
        }
    }
}

#[derive(Default, Clone)]
pub struct Trip {
    pub ddb: Vec<String>,
    /// How many times the handler waited for DynamoDB: concurrent calls are one round trip.
    pub ddb_rounds: usize,
    pub sqs: Vec<String>,
    pub events: Vec<String>,
}

impl Trip {
    pub fn describe(&self) -> String {
        let list = |v: &[String]| {
            if v.is_empty() {
                "–".to_owned()
            } else {
                v.join(", ")
            }
        };
        let mut s = format!("{} ({})", self.ddb.len(), list(&self.ddb));
        if self.ddb_rounds != self.ddb.len() {
            s.push_str(&format!(" in {} round trips", self.ddb_rounds));
        }
        if !self.sqs.is_empty() {
            s.push_str(&format!("; SQS: {}", list(&self.sqs)));
        }
        if !self.events.is_empty() {
            s.push_str(&format!("; EventBridge: {}", list(&self.events)));
        }
        s
    }
}

pub struct Trips {
    pub cold_hold: Trip,
    pub warm_hold: Trip,
    pub seat_map: Trip,
    pub browse: Trip,
    pub initiate: Trip,
    pub webhook: Trip,
    pub confirm: Trip,
    pub get_booking: Trip,
}

impl Trips {
    pub fn rows(&self) -> Vec<(&'static str, &Trip, &'static str, bool)> {
        let n = |t: &Trip| t.ddb.len();
        vec![
            ("hold, warm", &self.warm_hold, "1", n(&self.warm_hold) == 1),
            (
                "hold, cold container",
                &self.cold_hold,
                "1 + 1 show read",
                self.cold_hold.ddb_rounds <= 2
                    && self
                        .cold_hold
                        .ddb
                        .iter()
                        .filter(|o| *o == "TransactWriteItems")
                        .count()
                        == 1,
            ),
            (
                "seat map",
                &self.seat_map,
                "1 per partition it spans (a block of the layout), in parallel",
                self.seat_map.ddb_rounds == 1 && self.seat_map.ddb.iter().all(|o| o == "Query"),
            ),
            (
                "browse page",
                &self.browse,
                "– (1 GSI Query per page by design)",
                true,
            ),
            ("initiate payment", &self.initiate, "–", true),
            (
                "webhook",
                &self.webhook,
                "0 (+1 SQS send)",
                n(&self.webhook) == 0
                    && self
                        .webhook
                        .sqs
                        .iter()
                        .filter(|o| *o == "SendMessage")
                        .count()
                        == 1,
            ),
            (
                "confirm (per message)",
                &self.confirm,
                "≤ 2",
                n(&self.confirm) <= 2,
            ),
            ("get booking", &self.get_booking, "–", true),
        ]
    }

    pub fn pass(&self) -> bool {
        self.rows().iter().all(|r| r.3)
    }

    pub fn table(&self) -> String {
        let mut s = String::from(
            "| Operation | DynamoDB calls (ops; round trips when calls overlap) | Budget | |\n|---|---|---|---|\n",
        );
        for (what, trip, budget, ok) in self.rows() {
            let mark = if budget == "–" || budget.starts_with("– ") {
                "–"
            } else if ok {
                "✅"
            } else {
                "❌"
            };
            s.push_str(&format!(
                "| {what} | {} | {budget} | {mark} |\n",
                trip.describe()
            ));
        }
        s
    }
}

/// One booking through every step on `show`, counting each request. Runs while no trigger
/// consumes the payments queue, so the webhook's message is received and given to
/// confirm-payment here, exactly as the event source mapping would.
pub async fn measure(stack: &LocalStack, show: &str, browse_path: &str) -> Result<Trips, BoxError> {
    let c = Counted::new(stack, true);
    let gw = Gateway::new(&stack.template, c.deps.clone());
    let now = c.deps.clock.now_epoch();
    let user = issue_token(
        &c.deps.config.jwt,
        "usr_trips",
        "t@bench",
        Role::Customer,
        now,
    )?;
    let hold = |seat: &'static str| {
        Req::new("POST", "/api/v1/bookings")
            .token(&user)
            .header("idempotency-key", boxoffice::ids::new_id("idem"))
            .json(&json!({"showId": show, "seatIds": [seat]}))
    };
    c.take();
    expect(&gw, hold("R19-0"), 201).await?;
    let cold_hold = c.take();
    let booking = expect(&gw, hold("R19-1"), 201).await?;
    let warm_hold = c.take();
    // The seat map's own container warms first (each function caches on its own, as on AWS):
    // what is counted is a warm seat map.
    let seat_map_path = format!("/api/v1/shows/{show}/seats");
    let seat_map_request = || Req::new("GET", &seat_map_path);
    expect(&gw, seat_map_request(), 200).await?;
    c.take();
    expect(&gw, seat_map_request(), 200).await?;
    let seat_map = c.take();
    expect(&gw, Req::new("GET", browse_path), 200).await?;
    let browse = c.take();

    let booking_id = booking["bookingId"].as_str().ok_or("no bookingId")?;
    let payment = expect(
        &gw,
        Req::new("POST", &format!("/api/v1/bookings/{booking_id}/payments"))
            .token(&user)
            .header("idempotency-key", boxoffice::ids::new_id("idem"))
            .json(&json!({"provider": "sandbox", "returnUrl": "https://bench.example/return"})),
        201,
    )
    .await?;
    let initiate = c.take();

    let event = SandboxEvent {
        event_id: boxoffice::ids::new_id("evt"),
        kind: "payment.succeeded".into(),
        payment_intent_id: payment["providerPayload"]["paymentIntentId"]
            .as_str()
            .ok_or("no paymentIntentId")?
            .to_owned(),
        amount: payment["amount"].as_i64().ok_or("no amount")?,
        currency: payment["currency"].as_str().unwrap_or("INR").to_owned(),
        booking_reference: booking_id.to_owned(),
        timestamp: now,
    };
    let (signature, body) = sandbox_webhook(&c.deps.config, &event, now)?;
    expect(
        &gw,
        Req::new("POST", "/api/v1/payments/webhooks/sandbox")
            .header("x-signature", signature)
            .raw(body),
        200,
    )
    .await?;
    let webhook = c.take();

    // The event source mapping's part: receive, invoke, delete (uncounted: not the function's).
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let queue = stack
        .provisioned
        .queue_url("PaymentsQueue")
        .ok_or("no PaymentsQueue")?;
    let out = sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(1)
        .wait_time_seconds(5)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await?;
    let m = out
        .messages
        .unwrap_or_default()
        .into_iter()
        .next()
        .ok_or("the webhook queued nothing")?;
    let mut record = SqsMessage::default();
    record.message_id = m.message_id.clone();
    record.receipt_handle = m.receipt_handle.clone();
    record.body = m.body.clone();
    record.event_source = Some("aws:sqs".into());
    let mut batch = SqsEvent::default();
    batch.records = vec![record];
    let confirm_container = registry::Functions::new(c.deps.clone());
    let answer = registry::invoke_sqs("confirm-payment", &confirm_container, batch)
        .await
        .ok_or("no confirm-payment function")?;
    let confirm = c.take();
    if !answer.batch_item_failures.is_empty() {
        return Err("confirm-payment failed the message".into());
    }
    if let Some(handle) = m.receipt_handle {
        sqs.delete_message()
            .queue_url(queue)
            .receipt_handle(handle)
            .send()
            .await?;
    }
    let got = expect(
        &gw,
        Req::new("GET", &format!("/api/v1/bookings/{booking_id}")).token(&user),
        200,
    )
    .await?;
    let get_booking = c.take();
    if got["status"] != "CONFIRMED" {
        return Err(format!("booking not confirmed: {}", got["status"]).into());
    }
    Ok(Trips {
        cold_hold,
        warm_hold,
        seat_map,
        browse,
        initiate,
        webhook,
        confirm,
        get_booking,
    })
}
