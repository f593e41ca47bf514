//! Real money's path, end to end against localstripe (a stateful local Stripe): hold → Stripe
//! PaymentIntent (our metadata, our idempotency) → the card confirmed on localstripe → its signed
//! `payment_intent.*` webhook → our endpoint → SQS → confirm-payment → CONFIRMED with a ticket.
//! Where localstripe cannot produce an event (types we do not use), the test signs a Stripe-shaped
//! event itself with the stage's webhook secret.

use boxoffice::{domain::user::Role, payments::signature::sign};
use boxoffice_tests::{eventually, fixtures::ist, stack_with, Reply, TestStack};
use serde_json::{json, Value};

const GOOD_CARD: &str = "4242424242424242";
/// localstripe declines charges on this card (Stripe's "charge fails after attaching").
const DECLINED_CARD: &str = "4000000000000341";

async fn stack() -> TestStack {
    stack_with(&[
        ("HOLD_SECONDS", "600"),
        ("BOOKING_RATE_LIMIT_PER_MINUTE", "1000"),
    ])
    .await
}

struct Held {
    token: String,
    booking_id: String,
    total: i64,
    currency: String,
}

async fn held(s: &TestStack, show: &str, seats: &[&str]) -> Held {
    let (_, token) = s.user(Role::Customer).await;
    let b = s
        .call("POST", "/api/v1/bookings")
        .token(&token)
        .json(&json!({"showId": show, "seatIds": seats}))
        .send()
        .await;
    assert_eq!(b.status, 201, "{}", b.text);
    Held {
        token,
        booking_id: b.body["bookingId"].as_str().expect("id").to_owned(),
        total: b.body["pricing"]["total"].as_i64().expect("total"),
        currency: b.body["pricing"]["currency"]
            .as_str()
            .expect("currency")
            .to_owned(),
    }
}

async fn initiate(s: &TestStack, h: &Held, key: &str) -> Reply {
    s.call(
        "POST",
        &format!("/api/v1/bookings/{}/payments", h.booking_id),
    )
    .token(&h.token)
    .header("idempotency-key", key)
    .json(&json!({"provider": "stripe", "returnUrl": "https://app.example.com/done"}))
    .send()
    .await
}

/// A card payment method on localstripe, as Stripe.js makes one in the customer's browser.
async fn card(s: &TestStack, number: &str) -> String {
    let (status, pm) = s
        .localstripe(
            "/v1/payment_methods",
            &[
                ("type", "card".into()),
                ("card[number]", number.into()),
                ("card[exp_month]", "12".into()),
                ("card[exp_year]", "2030".into()),
                ("card[cvc]", "123".into()),
            ],
        )
        .await;
    assert_eq!(status, 200, "{pm}");
    pm["id"].as_str().expect("pm id").to_owned()
}

/// The customer pays the intent with `number`: the payment method set on the intent, then the
/// intent confirmed (localstripe answers "Not implemented" to a confirm carrying the method).
async fn pay(s: &TestStack, intent: &str, number: &str) -> (u16, Value) {
    let pm = card(s, number).await;
    let (status, v) = s
        .localstripe(
            &format!("/v1/payment_intents/{intent}"),
            &[("payment_method", pm)],
        )
        .await;
    assert_eq!(status, 200, "{v}");
    s.localstripe(&format!("/v1/payment_intents/{intent}/confirm"), &[])
        .await
}

async fn booking(s: &TestStack, h: &Held) -> Value {
    s.call("GET", &format!("/api/v1/bookings/{}", h.booking_id))
        .token(&h.token)
        .send()
        .await
        .body
}

async fn wait_status(s: &TestStack, h: &Held, want: &str) -> Value {
    eventually(&format!("booking {} {want}", h.booking_id), 120, || async {
        let v = booking(s, h).await;
        (v["status"] == want).then_some(v)
    })
    .await
}

async fn refunds_on_localstripe(s: &TestStack, intent: &str) -> Vec<Value> {
    let list = s
        .localstripe_get(&format!("/v1/refunds?payment_intent={intent}"))
        .await;
    list["data"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_payment_on_localstripe_confirms_through_its_signed_webhook() {
    let s = stack().await;
    let _served = s.serve_for_stripe().await;
    let triggers = s.start_triggers();
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let h = held(&s, &show, &["R0-3", "R0-4"]).await;

    let first = initiate(&s, &h, "pay-once").await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.body["provider"], "stripe");
    assert_eq!(first.body["amount"], h.total);
    let intent = first.body["providerPayload"]["paymentIntentId"]
        .as_str()
        .expect("intent")
        .to_owned();
    assert!(intent.starts_with("pi_"), "{intent}");
    let client_secret = first.body["providerPayload"]["clientSecret"]
        .as_str()
        .expect("client secret");
    assert!(client_secret.starts_with(&format!("{intent}_secret_")));
    // A retried request (same key) answers the same intent: our idempotency record, since
    // localstripe keeps none.
    let again = initiate(&s, &h, "pay-once").await;
    assert_eq!((again.status, &again.body), (201, &first.body));

    // The intent on Stripe's side: our amount and currency, our booking and payment ids.
    let pi = s
        .localstripe_get(&format!("/v1/payment_intents/{intent}"))
        .await;
    assert_eq!(pi["amount"], h.total);
    assert_eq!(pi["currency"], h.currency.to_lowercase());
    assert_eq!(pi["metadata"]["bookingId"], h.booking_id.as_str());
    assert_eq!(pi["metadata"]["paymentId"], first.body["paymentId"]);
    assert_eq!(
        pi["metadata"]["origin"],
        boxoffice::payments::origin_of(&s.deps().config).as_str()
    );

    let (status, paid) = pay(&s, &intent, GOOD_CARD).await;
    assert_eq!(
        (status, &paid["status"]),
        (200, &json!("succeeded")),
        "{paid}"
    );

    let confirmed = wait_status(&s, &h, "CONFIRMED").await;
    assert_eq!(confirmed["payment"]["status"], "SUCCEEDED");
    assert_eq!(confirmed["payment"]["paymentIntentId"], intent.as_str());
    assert!(confirmed["ticket"]["ticketId"]
        .as_str()
        .is_some_and(|t| t.starts_with("tkt_")));
    assert_eq!(confirmed["ticket"]["seatIds"], json!(["R0-3", "R0-4"]));
    assert!(refunds_on_localstripe(&s, &intent).await.is_empty());
    triggers.stop().await;
}

/// `payment_intent.payment_failed` is not final at Stripe: the customer retries the same intent
/// with another card, and that success sells, with no refund anywhere. localstripe declines the
/// first card for real (and sends its `payment_failed`), but cannot take a second attempt on the
/// intent, so the test signs the failure (delivered first, for certain) and the success itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_then_a_good_one_on_the_same_intent_confirms_without_a_refund() {
    let s = stack().await;
    let _served = s.serve_for_stripe().await;
    let triggers = s.start_triggers();
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let h = held(&s, &show, &["R1-5"]).await;
    let p = initiate(&s, &h, "pay-twice").await;
    assert_eq!(p.status, 201, "{}", p.text);
    let intent = p.body["providerPayload"]["paymentIntentId"]
        .as_str()
        .expect("intent")
        .to_owned();

    let (status, declined) = pay(&s, &intent, DECLINED_CARD).await;
    assert_eq!(status, 402, "the card is declined: {declined}");
    let event = |kind: &str| {
        let mut pi = intent_object(&h, &intent);
        pi["status"] = json!(if kind.ends_with("succeeded") {
            "succeeded"
        } else {
            "requires_payment_method"
        });
        json!({"id": format!("evt_{kind}_{intent}"), "object": "event", "type": kind,
            "created": s.deps().clock.now_epoch(), "data": {"object": pi}})
    };
    let failed = deliver_stripe_event(&s, &event("payment_intent.payment_failed")).await;
    assert_eq!(failed.status, 200, "{}", failed.text);
    assert_eq!(booking(&s, &h).await["status"], "PAYMENT_PENDING");
    let succeeded = deliver_stripe_event(&s, &event("payment_intent.succeeded")).await;
    assert_eq!(succeeded.status, 200, "{}", succeeded.text);

    let confirmed = wait_status(&s, &h, "CONFIRMED").await;
    assert_eq!(confirmed["payment"]["status"], "SUCCEEDED");
    assert!(
        confirmed.get("refund").is_none_or(Value::is_null),
        "{confirmed}"
    );
    assert!(refunds_on_localstripe(&s, &intent).await.is_empty());
    triggers.stop().await;
}

/// The PaymentIntent object of `h`'s payment as Stripe puts it in its events.
fn intent_object(h: &Held, intent: &str) -> Value {
    json!({"id": intent, "object": "payment_intent", "amount": h.total,
        "currency": h.currency.to_lowercase(), "metadata": {"bookingId": h.booking_id}})
}

/// A Stripe-shaped event, signed with the stage's Stripe webhook secret, delivered to our
/// endpoint.
async fn deliver_stripe_event(s: &TestStack, event: &Value) -> Reply {
    let body = event.to_string();
    let secret = s
        .deps()
        .config
        .stripe_webhook_secret
        .as_ref()
        .expect("the local stack loads every secret");
    let header = sign(
        secret.expose().as_bytes(),
        s.deps().clock.now_epoch(),
        body.as_bytes(),
    );
    s.call("POST", "/api/v1/payments/webhooks/stripe")
        .header("stripe-signature", &header)
        .raw("application/json", body)
        .send()
        .await
}

/// Event types we do not use, a failed attempt (not final), and an intent that is not ours are
/// answered 200 (a 4xx would make Stripe retry for days, then disable the endpoint) and queue
/// nothing; a forged one is still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_events_that_change_nothing_are_acknowledged_and_never_queued() {
    let s = stack().await;
    let now = s.deps().clock.now_epoch();
    let booking = boxoffice::ids::new_id("bk");
    let intent = |kind: &str, metadata: Value| {
        json!({"id": format!("evt_{kind}"), "object": "event", "type": kind, "created": now,
            "data": {"object": {"id": "pi_x", "object": "payment_intent", "amount": 1000,
                "currency": "inr", "metadata": metadata}}})
    };
    for event in [
        json!({"id": "evt_c", "object": "event", "type": "customer.created", "created": now,
            "data": {"object": {"id": "cus_1", "object": "customer"}}}),
        intent(
            "payment_intent.payment_failed",
            json!({"bookingId": booking}),
        ),
        intent("payment_intent.created", json!({"bookingId": booking})),
        intent("payment_intent.succeeded", json!({})),
    ] {
        let r = deliver_stripe_event(&s, &event).await;
        assert_eq!(
            (r.status, &r.body),
            (200, &json!({"received": true})),
            "{event}"
        );
    }
    assert_eq!(
        s.queue_depth("PaymentsQueue").await,
        0,
        "nothing was queued"
    );

    let forged = s
        .call("POST", "/api/v1/payments/webhooks/stripe")
        .header(
            "stripe-signature",
            &format!("t={now},v1={}", "0".repeat(64)),
        )
        .raw(
            "application/json",
            intent("payment_intent.succeeded", json!({"bookingId": booking})).to_string(),
        )
        .send()
        .await;
    assert_eq!((forged.status, forged.code()), (400, "INVALID_SIGNATURE"));
    // And a used type still queues: the endpoint is not simply ignoring Stripe.
    let sold = deliver_stripe_event(
        &s,
        &intent("payment_intent.succeeded", json!({"bookingId": booking})),
    )
    .await;
    assert_eq!(sold.status, 200, "{}", sold.text);
    assert_eq!(s.queue_depth("PaymentsQueue").await, 1);
}

/// The refund worker pays a cancelled card payment back on localstripe exactly once, though its
/// request is delivered three times at once (and once more later): the refund record is claimed
/// before the provider is called, and localstripe, unlike Stripe, ignores `Idempotency-Key`, so
/// only our record can be what keeps it to one refund.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_card_payment_is_refunded_on_localstripe_once_though_delivered_three_times() {
    use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
    let s = stack().await;
    let _served = s.serve_for_stripe().await;
    // The refund worker runs only where the test calls it.
    let triggers = s.start_triggers_except(&["refund-payment"]);
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let h = held(&s, &show, &["R1-7", "R1-8"]).await;
    let p = initiate(&s, &h, "pay-then-cancel").await;
    assert_eq!(p.status, 201, "{}", p.text);
    let intent = p.body["providerPayload"]["paymentIntentId"]
        .as_str()
        .expect("intent")
        .to_owned();
    let (status, paid) = pay(&s, &intent, GOOD_CARD).await;
    assert_eq!(
        (status, &paid["status"]),
        (200, &json!("succeeded")),
        "{paid}"
    );
    wait_status(&s, &h, "CONFIRMED").await;

    let c = s
        .call("POST", &format!("/api/v1/bookings/{}/cancel", h.booking_id))
        .token(&h.token)
        .send()
        .await;
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(c.body["refund"]["status"], "INITIATED");
    assert_eq!(c.body["refund"]["amount"], h.total);
    let refund_id = c.body["refund"]["refundId"]
        .as_str()
        .expect("refund id")
        .to_owned();

    // The request the RefundInitiated rule put on RefundsQueue.
    let request = eventually("the refund request on RefundsQueue", 120, || async {
        let out = s
            .sqs()
            .receive_message()
            .queue_url(s.queue_url("RefundsQueue"))
            .max_number_of_messages(1)
            .send()
            .await
            .expect("received");
        out.messages.unwrap_or_default().into_iter().next()
    })
    .await;
    let body = request.body.clone().unwrap_or_default();
    assert!(body.contains(&refund_id), "{body}");
    let delivery = |n: usize| {
        let mut m = SqsMessage::default();
        m.message_id = Some(format!("delivery-{n}"));
        m.body = Some(body.clone());
        m
    };
    let batch = |ns: &[usize]| {
        let mut e = SqsEvent::default();
        e.records = ns.iter().map(|n| delivery(*n)).collect();
        e
    };
    // Three deliveries at once: two in one batch, one in a concurrent invocation.
    let (a, b) = tokio::join!(
        refund_payment::handler(s.deps(), batch(&[1, 2])),
        refund_payment::handler(s.deps(), batch(&[3]))
    );
    assert!(a.batch_item_failures.is_empty() && b.batch_item_failures.is_empty());
    let late = refund_payment::handler(s.deps(), batch(&[4])).await;
    assert!(late.batch_item_failures.is_empty());

    let refunds = refunds_on_localstripe(&s, &intent).await;
    assert_eq!(refunds.len(), 1, "exactly one refund: {refunds:?}");
    assert_eq!(refunds[0]["amount"], h.total);
    assert_eq!(refunds[0]["metadata"]["refundId"], refund_id.as_str());
    let after = booking(&s, &h).await;
    assert_eq!(after["status"], "CANCELLED");
    assert_eq!(after["refund"]["status"], "SUCCEEDED", "{after}");
    assert_eq!(after["refund"]["providerRefundId"], refunds[0]["id"]);
    let record = s
        .deps()
        .store
        .get_refund(&refund_id)
        .await
        .expect("read")
        .expect("the refund record");
    assert_eq!(
        (record.status.as_str(), record.amount, record.claimed_at),
        ("SUCCEEDED", h.total, None)
    );
    triggers.stop().await;
}

/// The show is cancelled between a customer's hold and their payment, and nothing has touched
/// the booking yet (its part of the cancellation is still queued; every container still has the
/// show cached as SCHEDULED): the payment is refused inside the confirm's own transaction and
/// refunded on localstripe. Never CONFIRMED, no seat SOLD, one refund.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_after_the_show_was_cancelled_is_refunded_never_confirmed() {
    let s = stack().await;
    let _served = s.serve_for_stripe().await;
    // The cancellation's parts wait on their queue until the payment has been decided.
    let triggers = s.start_triggers_except(&["cancel-show-seats"]);
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let h = held(&s, &show, &["R1-3", "R1-4"]).await;
    let p = initiate(&s, &h, "pay-after-cancel").await;
    assert_eq!(p.status, 201, "{}", p.text);
    let intent = p.body["providerPayload"]["paymentIntentId"]
        .as_str()
        .expect("intent")
        .to_owned();

    let c = s
        .call("POST", &format!("/api/v1/shows/{show}/cancel"))
        .token(&f.partner)
        .send()
        .await;
    assert_eq!(c.status, 202, "{}", c.text);
    assert_eq!(booking(&s, &h).await["status"], "PAYMENT_PENDING");
    let (status, paid) = pay(&s, &intent, GOOD_CARD).await;
    assert_eq!(
        (status, &paid["status"]),
        (200, &json!("succeeded")),
        "{paid}"
    );

    let refunded = eventually("the refund paid on localstripe", 120, || async {
        let v = booking(&s, &h).await;
        (v["refund"]["status"] == "SUCCEEDED").then_some(v)
    })
    .await;
    assert_eq!(refunded["status"], "CANCELLED", "{refunded}");
    assert_eq!(refunded["refund"]["reason"], "show cancelled", "{refunded}");
    assert!(refunded["ticket"].is_null(), "no ticket: {refunded}");
    let seats = s
        .deps()
        .store
        .get_show_collection(&show)
        .await
        .expect("seats")
        .expect("show")
        .seats;
    assert!(
        seats.iter().all(|seat| !seat.is_sold()),
        "no seat sold: {seats:?}"
    );
    // The part, consumed now, finds the booking cancelled already.
    let parts = s.start_triggers_only_with(s.deps(), &["cancel-show-seats"]);
    eventually("the cancellation's part consumed", 120, || async {
        (s.queue_depth("CancelShowQueue").await == 0).then_some(())
    })
    .await;
    parts.stop().await;
    let refunds = refunds_on_localstripe(&s, &intent).await;
    assert_eq!(refunds.len(), 1, "exactly one refund: {refunds:?}");
    assert_eq!(refunds[0]["amount"], h.total);
    assert_eq!(booking(&s, &h).await["refund"], refunded["refund"]);
    triggers.stop().await;
}

/// Money captured for a booking we do not have (its intent names a booking id of ours that does
/// not exist) is paid back, never acknowledged and kept: localstripe's own signed webhook, the
/// refund record, the worker, a refund on localstripe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_for_an_unknown_booking_is_refunded_not_dropped() {
    let s = stack().await;
    let _served = s.serve_for_stripe().await;
    let triggers = s.start_triggers();
    let ghost = boxoffice::ids::new_id("bk");
    let (status, pi) = s
        .localstripe(
            "/v1/payment_intents",
            &[
                ("amount", "2500".into()),
                ("currency", "inr".into()),
                ("metadata[bookingId]", ghost.clone()),
                (
                    "metadata[origin]",
                    boxoffice::payments::origin_of(&s.deps().config),
                ),
                ("payment_method_types[]", "card".into()),
            ],
        )
        .await;
    assert_eq!(status, 200, "{pi}");
    let intent = pi["id"].as_str().expect("intent").to_owned();
    let (status, paid) = pay(&s, &intent, GOOD_CARD).await;
    assert_eq!(
        (status, &paid["status"]),
        (200, &json!("succeeded")),
        "{paid}"
    );

    let refund_id = boxoffice::domain::refund::refund_id(&ghost, &intent);
    let record = eventually("the unknown booking's refund paid", 120, || async {
        let r = s.deps().store.get_refund(&refund_id).await.expect("read")?;
        (r.status == "SUCCEEDED").then_some(r)
    })
    .await;
    assert_eq!(
        (record.amount, record.reason.as_str()),
        (2500, "no such booking")
    );
    let refunds = refunds_on_localstripe(&s, &intent).await;
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0]["amount"], 2500);
    assert_eq!(
        record.provider_refund_id.as_deref(),
        refunds[0]["id"].as_str()
    );
    assert!(
        s.deps()
            .store
            .get_booking(&ghost)
            .await
            .expect("read")
            .is_none(),
        "no booking is made up for it"
    );
    triggers.stop().await;
}

/// Ten concurrent deliveries of one `payment_intent.succeeded` (Stripe retries, our endpoint behind
/// a load balancer), signed by the test as Stripe signs them: one sale, one ticket, no refund.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_concurrent_deliveries_of_one_success_sell_once_and_refund_nothing() {
    let s = stack().await;
    let triggers = s.start_triggers();
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let h = held(&s, &show, &["R1-2", "R1-3"]).await;
    let p = initiate(&s, &h, "pay-ten-times").await;
    assert_eq!(p.status, 201, "{}", p.text);
    let intent = p.body["providerPayload"]["paymentIntentId"]
        .as_str()
        .expect("intent")
        .to_owned();
    let mut object = intent_object(&h, &intent);
    object["metadata"]["origin"] = boxoffice::payments::origin_of(&s.deps().config).into();
    let event = json!({"id": format!("evt_ten_{intent}"), "object": "event",
        "type": "payment_intent.succeeded", "created": s.deps().clock.now_epoch(),
        "data": {"object": object}});
    let replies =
        futures::future::join_all((0..10).map(|_| deliver_stripe_event(&s, &event))).await;
    assert!(replies.iter().all(|r| r.status == 200), "{replies:?}");

    let confirmed = wait_status(&s, &h, "CONFIRMED").await;
    eventually("the payments queue to drain", 120, || async {
        (s.queue_depth("PaymentsQueue").await == 0).then_some(())
    })
    .await;
    let after = booking(&s, &h).await;
    assert_eq!(after["ticket"], confirmed["ticket"], "one ticket");
    assert_eq!(after["confirmedAt"], confirmed["confirmedAt"]);
    assert_eq!(after["payment"]["status"], "SUCCEEDED");
    assert!(after.get("refund").is_none_or(Value::is_null), "{after}");
    let refund_id = boxoffice::domain::refund::refund_id(&h.booking_id, &intent);
    assert!(s
        .deps()
        .store
        .get_refund(&refund_id)
        .await
        .expect("read")
        .is_none());
    triggers.stop().await;
}

/// A card payment confirmed on localstripe for `seats`: the held booking, its intent and its
/// CONFIRMED view.
async fn confirmed_on_localstripe(
    s: &TestStack,
    show: &str,
    seats: &[&str],
) -> (Held, String, Value) {
    let h = held(s, show, seats).await;
    let p = initiate(s, &h, "pay-then-refund").await;
    assert_eq!(p.status, 201, "{}", p.text);
    let intent = p.body["providerPayload"]["paymentIntentId"]
        .as_str()
        .expect("intent")
        .to_owned();
    let (status, paid) = pay(s, &intent, GOOD_CARD).await;
    assert_eq!(
        (status, &paid["status"]),
        (200, &json!("succeeded")),
        "{paid}"
    );
    let confirmed = wait_status(s, &h, "CONFIRMED").await;
    (h, intent, confirmed)
}

/// Stripe's `charge.refunded` for `h`'s charge on `intent`: `refunded` of it refunded so far
/// (`amount_refunded`, cumulative), `refund` the newest refund listed on the charge.
fn charge_refunded(s: &TestStack, h: &Held, intent: &str, refunded: i64, refund: &str) -> Value {
    json!({"id": format!("evt_refunded_{refund}"), "object": "event", "type": "charge.refunded",
        "created": s.deps().clock.now_epoch(),
        "data": {"object": {"id": format!("ch_{intent}"), "object": "charge", "amount": h.total,
            "amount_refunded": refunded, "currency": h.currency.to_lowercase(),
            "payment_intent": intent, "refunded": refunded >= h.total,
            "metadata": {"bookingId": h.booking_id,
                "origin": boxoffice::payments::origin_of(&s.deps().config)},
            "refunds": {"object": "list", "data": [{"id": refund, "object": "refund", "amount": refunded}]}}}})
}

async fn verify(s: &TestStack, partner: &str, confirmed: &Value) -> Reply {
    s.call("POST", "/api/v1/tickets/verify")
        .token(partner)
        .json(&json!({"qrCodeData": confirmed["ticket"]["qrCodeData"]}))
        .send()
        .await
}

async fn drained(s: &TestStack) {
    eventually("the payments queue to drain", 120, || async {
        (s.queue_depth("PaymentsQueue").await == 0).then_some(())
    })
    .await;
}

/// A refund made on Stripe's side (its dashboard, a dispute) of the whole payment: the signed
/// `charge.refunded` makes the booking REFUNDED with the provider's refund SUCCEEDED (its record
/// too, nothing for our worker to pay), revokes the ticket (the gate, the ticket image), frees the
/// seats for the next customer (the show has not started), and a redelivery changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_charge_refunded_refunds_the_booking_revokes_its_ticket_and_frees_its_seats() {
    // No memory of taken seats: the 409 below would otherwise refuse the seats again for up to
    // SEAT_MEMORY_MS after the refund freed them (a 409 the contract allows that stale), and the
    // refund is confirmed within that second now that confirm-payment has no batching window.
    let s = stack_with(&[
        ("HOLD_SECONDS", "600"),
        ("BOOKING_RATE_LIMIT_PER_MINUTE", "1000"),
        ("SEAT_MEMORY_MS", "0"),
    ])
    .await;
    let _served = s.serve_for_stripe().await;
    let triggers = s.start_triggers();
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (h, intent, confirmed) = confirmed_on_localstripe(&s, &show, &["R0-5", "R0-6"]).await;
    let taken = s
        .call("POST", "/api/v1/bookings")
        .token(&s.user(Role::Customer).await.1)
        .json(&json!({"showId": show, "seatIds": ["R0-5"]}))
        .send()
        .await;
    assert_eq!(
        (taken.status, taken.code()),
        (409, "SEAT_LOCK_FAILED"),
        "sold: {}",
        taken.text
    );

    let event = charge_refunded(&s, &h, &intent, h.total, "re_dashboard_1");
    let r = deliver_stripe_event(&s, &event).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let refunded = wait_status(&s, &h, "REFUNDED").await;
    let refund_id = boxoffice::domain::refund::refund_id(&h.booking_id, &intent);
    assert_eq!(refunded["payment"]["status"], "REFUNDED");
    assert_eq!(refunded["payment"]["amount"], h.total);
    assert_eq!(refunded["refund"]["status"], "SUCCEEDED");
    assert_eq!(refunded["refund"]["amount"], h.total);
    assert_eq!(refunded["refund"]["reason"], "refunded by the provider");
    assert_eq!(refunded["refund"]["providerRefundId"], "re_dashboard_1");
    assert_eq!(refunded["refund"]["refundId"], refund_id.as_str());
    assert_eq!(
        refunded["ticket"], confirmed["ticket"],
        "kept, revoked by the status"
    );
    let record = s
        .deps()
        .store
        .get_refund(&refund_id)
        .await
        .expect("read")
        .expect("the provider's refund record");
    assert_eq!(
        (
            record.status.as_str(),
            record.amount,
            record.reason.as_str(),
            record.provider_refund_id.as_deref(),
            record.payment_intent_id.as_str()
        ),
        (
            "SUCCEEDED",
            h.total,
            "refunded by the provider",
            Some("re_dashboard_1"),
            intent.as_str()
        )
    );

    // The ticket is revoked: the gate answers as for a cancelled booking, the image is refused.
    let gate = verify(&s, &f.partner, &confirmed).await;
    assert_eq!(
        (gate.status, gate.code()),
        (409, "INVALID_STATE"),
        "{}",
        gate.text
    );
    assert!(gate.text.contains("REFUNDED"), "{}", gate.text);
    for image in ["ticket.svg", "ticket.png"] {
        let r = s
            .call("GET", &format!("/api/v1/bookings/{}/{image}", h.booking_id))
            .token(&h.token)
            .send()
            .await;
        assert_eq!(
            (r.status, r.code()),
            (409, "INVALID_STATE"),
            "{image}: {}",
            r.text
        );
    }
    let cancel = s
        .call("POST", &format!("/api/v1/bookings/{}/cancel", h.booking_id))
        .token(&h.token)
        .send()
        .await;
    assert_eq!(
        (cancel.status, cancel.code()),
        (409, "INVALID_STATE"),
        "{}",
        cancel.text
    );

    // The seats are for sale again.
    let next = held(&s, &show, &["R0-5", "R0-6"]).await;
    assert_ne!(next.booking_id, h.booking_id);

    // Stripe's retry of the event, and the same refund under another event id: nothing changes,
    // and the refund worker has nothing to pay (nothing refunded again on localstripe).
    let r = deliver_stripe_event(&s, &event).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut again = event.clone();
    again["id"] = json!(format!("evt_again_{intent}"));
    let r = deliver_stripe_event(&s, &again).await;
    assert_eq!(r.status, 200, "{}", r.text);
    drained(&s).await;
    refund_payment::pay(s.deps(), &refund_id)
        .await
        .expect("pays nothing");
    assert_eq!(booking(&s, &h).await, refunded);
    assert_eq!(
        s.deps().store.get_refund(&refund_id).await.expect("read"),
        Some(record)
    );
    assert!(refunds_on_localstripe(&s, &intent).await.is_empty());
    triggers.stop().await;
}

/// A partial refund on Stripe's side is only recorded: the booking stays CONFIRMED with a ticket
/// that still admits, its seats stay sold, the provider's refund of that amount SUCCEEDED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_charge_refunded_is_recorded_and_the_booking_stays_confirmed() {
    let s = stack().await;
    let _served = s.serve_for_stripe().await;
    let triggers = s.start_triggers();
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (h, intent, confirmed) = confirmed_on_localstripe(&s, &show, &["R1-10", "R1-11"]).await;
    let part = h.total / 4;
    let r = deliver_stripe_event(&s, &charge_refunded(&s, &h, &intent, part, "re_part_1")).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let after = eventually("the partial refund recorded", 120, || async {
        let v = booking(&s, &h).await;
        v.get("refund").is_some_and(|r| !r.is_null()).then_some(v)
    })
    .await;
    assert_eq!(after["status"], "CONFIRMED");
    assert_eq!(after["payment"], confirmed["payment"], "the sale stands");
    assert_eq!(after["ticket"], confirmed["ticket"]);
    assert_eq!(
        (
            &after["refund"]["status"],
            &after["refund"]["amount"],
            &after["refund"]["reason"],
            &after["refund"]["providerRefundId"]
        ),
        (
            &json!("SUCCEEDED"),
            &json!(part),
            &json!("refunded by the provider"),
            &json!("re_part_1")
        )
    );
    let refund_id = boxoffice::domain::refund::refund_id(&h.booking_id, &intent);
    let record = s
        .deps()
        .store
        .get_refund(&refund_id)
        .await
        .expect("read")
        .expect("the partial refund's record");
    assert_eq!((record.status.as_str(), record.amount), ("SUCCEEDED", part));
    let taken = s
        .call("POST", "/api/v1/bookings")
        .token(&s.user(Role::Customer).await.1)
        .json(&json!({"showId": show, "seatIds": ["R1-10"]}))
        .send()
        .await;
    assert_eq!(
        (taken.status, taken.code()),
        (409, "SEAT_LOCK_FAILED"),
        "still sold: {}",
        taken.text
    );
    let gate = verify(&s, &f.partner, &confirmed).await;
    assert_eq!(gate.status, 200, "the ticket still admits: {}", gate.text);
    triggers.stop().await;
}

/// Our own refund (a cancelled booking's, paid by the worker on localstripe) reported back by
/// Stripe's `charge.refunded`: it only confirms the refund; the booking stays CANCELLED, the
/// refund keeps its reason and Stripe's refund id, no second refund record or provider refund.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_refunded_of_our_own_refund_only_confirms_it() {
    let s = stack().await;
    let _served = s.serve_for_stripe().await;
    let triggers = s.start_triggers();
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (h, intent, _) = confirmed_on_localstripe(&s, &show, &["R1-14"]).await;
    let c = s
        .call("POST", &format!("/api/v1/bookings/{}/cancel", h.booking_id))
        .token(&h.token)
        .send()
        .await;
    assert_eq!(c.status, 200, "{}", c.text);
    let paid = eventually("our refund paid on localstripe", 120, || async {
        let v = booking(&s, &h).await;
        (v["refund"]["status"] == "SUCCEEDED").then_some(v)
    })
    .await;
    let stripe_refunds = refunds_on_localstripe(&s, &intent).await;
    assert_eq!(stripe_refunds.len(), 1, "{stripe_refunds:?}");
    let re = stripe_refunds[0]["id"].as_str().expect("re id").to_owned();
    assert_eq!(paid["refund"]["providerRefundId"], re.as_str());
    let refund_id = boxoffice::domain::refund::refund_id(&h.booking_id, &intent);
    let ours = s.deps().store.get_refund(&refund_id).await.expect("read");

    let r = deliver_stripe_event(&s, &charge_refunded(&s, &h, &intent, h.total, &re)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // What the event changes: the payment record shows the money back.
    let after = eventually("the payment shown refunded", 120, || async {
        let v = booking(&s, &h).await;
        (v["payment"]["status"] == "REFUNDED").then_some(v)
    })
    .await;
    assert_eq!(after["status"], "CANCELLED");
    assert_eq!(
        after["refund"], paid["refund"],
        "our refund, as the worker settled it"
    );
    assert_eq!(after["refund"]["reason"], "cancelled by the customer");
    assert_eq!(
        s.deps().store.get_refund(&refund_id).await.expect("read"),
        ours,
        "the one refund record, untouched"
    );
    drained(&s).await;
    assert_eq!(refunds_on_localstripe(&s, &intent).await.len(), 1);
    triggers.stop().await;
}
