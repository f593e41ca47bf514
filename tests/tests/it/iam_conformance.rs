//! IAM conformance: DynamoDB Local and moto check no permissions, so this test stands in for IAM.
//! It drives every function through its success paths (HTTP routes, the SQS and rule triggers,
//! the schedules, each function's cold start), records every AWS action each one really calls on
//! which resource (`boxoffice_local::iam`, in the HTTP client all the stack's SDK clients share),
//! and compares that with the function's policy in template.yaml:
//!
//! - an action called but not granted fails the test, naming the function, action and resource
//!   (deployed, that call would be AccessDenied: a 500, or a message never confirmed);
//! - an action granted but never called fails it too, listed the same way: either the tour below
//!   misses a path (extend it) or the grant is more than the code needs (remove it). So removing
//!   any one grant, or adding one the code does not use, makes this test fail.

use super::cfn::{self, Cfn};
use super::deploy::function_name;
use boxoffice::{auth::hash_password, domain::user::Role};
use boxoffice_local::{
    iam::{self, Resource},
    registry,
    triggers::scheduled_event,
};
use boxoffice_tests::{eventually, fixtures::ist, stack_with, Reply, TestStack};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

type Grants = BTreeMap<String, BTreeSet<(String, String)>>;

/// Each function's granted (action, logical resource) pairs, as a `test` stage with the email
/// channel on would deploy them.
fn granted(t: &Cfn) -> Grants {
    let mut out = Grants::new();
    for (id, r) in t.resources() {
        if r["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let name = function_name(&id);
        let grants = out.entry(name).or_default();
        let policies = t.resolve(&r["Properties"]["Policies"]).unwrap_or_default();
        for policy in cfn::list(&policies) {
            let Some(map) = policy.as_mapping() else {
                panic!("{id}: a policy must be a mapping, not {policy:?}");
            };
            for (kind, body) in map {
                match kind.as_str().unwrap_or_default() {
                    "Statement" => {
                        for stmt in cfn::list(body) {
                            assert_eq!(stmt["Effect"].as_str(), Some("Allow"), "{id}: {stmt:?}");
                            for action in cfn::list(&stmt["Action"]) {
                                for res in cfn::list(&stmt["Resource"]) {
                                    grants.insert((
                                        action.as_str().unwrap_or_default().to_owned(),
                                        cfn::resource_ref(res),
                                    ));
                                }
                            }
                        }
                    }
                    // SAM's policy templates, as SAM expands them.
                    "EventBridgePutEventsPolicy" => {
                        grants.insert((
                            "events:PutEvents".into(),
                            cfn::resource_ref(&body["EventBusName"]),
                        ));
                    }
                    "SQSSendMessagePolicy" => {
                        grants.insert((
                            "sqs:SendMessage".into(),
                            cfn::resource_ref(&body["QueueName"]),
                        ));
                    }
                    other => panic!("{id}: policy {other} is not modelled by this test"),
                }
            }
        }
    }
    out
}

/// The recorded calls of this stack's resources, as (action, logical resource) per function.
fn called(s: &TestStack) -> Grants {
    let p = &s.stack.provisioned;
    let reverse = |m: &std::collections::HashMap<String, String>, physical: &str| {
        m.iter()
            .find(|(_, v)| v.as_str() == physical)
            .map(|(k, _)| k.clone())
    };
    let mut out = Grants::new();
    for call in iam::recorded() {
        let logical = match &call.resource {
            Resource::Table(t) if *t == p.table_name => Some("Table".to_owned()),
            Resource::Index { table, index } if *table == p.table_name => {
                Some(format!("Table/index/{index}"))
            }
            Resource::Queue(url) => reverse(&p.queue_urls, url),
            Resource::Bus(name) => reverse(&p.bus_names, name),
            Resource::Secret(arn) => reverse(&p.secret_arns, arn),
            Resource::SesIdentity => Some("ses:identity".into()),
            Resource::Unknown(what) => Some(format!("unknown({what})")),
            // Another stack's table (tests run side by side): not ours to judge.
            Resource::Table(_) | Resource::Index { .. } => None,
        };
        if let Some(logical) = logical {
            out.entry(call.function)
                .or_default()
                .insert((call.action, logical));
        }
    }
    out
}

fn ok(r: Reply, status: u16, what: &str) -> Value {
    assert_eq!(r.status, status, "{what}: {}", r.text);
    r.body
}

fn id(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {v}"))
        .to_owned()
}

/// Every function through the paths that use each of its grants.
async fn tour(s: &TestStack) {
    let triggers = s.start_triggers();
    let login = |email: &'static str, password: &'static str| async move {
        ok(
            s.call("POST", "/api/v1/auth/login")
                .json(&json!({"email": email, "password": password}))
                .send()
                .await,
            200,
            email,
        )
    };
    // login: a first login stores the admin (PutItem); an account registered before its email was
    // configured is brought in line (UpdateItem); register claims an email (PutItem).
    ok(
        s.call("POST", "/api/v1/auth/register")
            .json(&json!({"email": "ops@iam.test", "password": "early-password-1", "name": "Ops"}))
            .send()
            .await,
        409,
        "a configured admin's email is reserved",
    );
    let early = boxoffice::domain::user::User {
        user_id: boxoffice::ids::new_id("usr"),
        email: "ops@iam.test".into(),
        name: "Early".into(),
        role: Role::Customer,
        company: None,
        password_hash: hash_password("early-password-1").expect("hash"),
        created_at: "2026-01-01T00:00:00Z".into(),
    };
    s.deps().store.create_user(&early).await.expect("stored");
    let root = login("root@iam.test", "root-password-1").await;
    let admin = id(&root, "accessToken");
    let ops = login("ops@iam.test", "ops-password-12").await;
    assert_eq!(ops["user"]["role"], "ADMIN");
    ok(
        s.call("POST", "/api/v1/auth/register")
            .json(&json!({"email": "cust@iam.test", "password": "customer-pass-1", "name": "C"}))
            .send()
            .await,
        201,
        "register",
    );
    let customer = id(
        &login("cust@iam.test", "customer-pass-1").await,
        "accessToken",
    );
    ok(
        s.call("POST", "/api/v1/admin/partners")
            .token(&admin)
            .json(&json!({"email": "partner@iam.test", "password": "partner-pass-1", "name": "P", "company": "Acme"}))
            .send()
            .await,
        201,
        "create-partner",
    );
    let partner = id(
        &login("partner@iam.test", "partner-pass-1").await,
        "accessToken",
    );

    // Catalog.
    // With loyalty terms: the tour's bookings earn, redeem and reverse points.
    let city = json!({"name": "Bengaluru", "timeZone": "Asia/Kolkata", "currency": "INR", "convenienceFeePerTicket": 3000, "taxPercent": 18,
        "loyalty": {"earnPercent": 5, "pointValue": 100}});
    ok(
        s.call("PUT", "/api/v1/admin/cities/blr")
            .token(&admin)
            .json(&city)
            .send()
            .await,
        200,
        "put-city",
    );
    ok(
        s.call("GET", "/api/v1/cities").send().await,
        200,
        "list-cities",
    );
    let offer = json!({"description": "Every third ticket half price", "rule": {"type": "THIRD50"}, "perUserLimit": 5});
    ok(
        s.call("PUT", "/api/v1/admin/offers/THIRD50")
            .token(&admin)
            .json(&offer)
            .send()
            .await,
        200,
        "put-offer",
    );
    ok(
        s.call("GET", "/api/v1/admin/offers")
            .token(&admin)
            .send()
            .await,
        200,
        "list-offers",
    );
    let movie = json!({"title": "Night Train", "languages": ["English"], "genres": ["Thriller"], "durationMins": 100, "releaseDate": "2026-11-01"});
    let movie = id(
        &ok(
            s.call("POST", "/api/v1/movies")
                .token(&admin)
                .json(&movie)
                .send()
                .await,
            201,
            "create-movie",
        ),
        "movieId",
    );
    ok(
        s.call("GET", &format!("/api/v1/movies/{movie}"))
            .send()
            .await,
        200,
        "get-movie",
    );
    let theatre = json!({"name": "Orion", "cityId": "blr", "area": "Rajajinagar", "address": "1 Main Rd",
        "screens": [{"name": "Screen 1", "layout": boxoffice_tests::fixtures::layout(40)},
                    {"name": "Screen 2", "layout": boxoffice_tests::fixtures::layout(2)}]});
    let theatre = ok(
        s.call("POST", "/api/v1/theatres")
            .token(&partner)
            .json(&theatre)
            .send()
            .await,
        201,
        "create-theatre",
    );
    let theatre_id = id(&theatre, "theatreId");
    ok(
        s.call("GET", &format!("/api/v1/theatres/{theatre_id}"))
            .send()
            .await,
        200,
        "get-theatre",
    );
    let show = |screen: usize, start: String| {
        let body = json!({"theatreId": theatre_id, "screenId": theatre["screens"][screen]["screenId"], "movieId": movie,
            "startTime": start, "language": "english", "format": "2D", "currency": "INR", "prices": boxoffice_tests::fixtures::prices()});
        let partner = partner.clone();
        async move {
            id(
                &ok(
                    s.call("POST", "/api/v1/shows")
                        .token(&partner)
                        .json(&body)
                        .send()
                        .await,
                    201,
                    "create-show",
                ),
                "showId",
            )
        }
    };
    // One show within the reminders' two hours, one later, one on the small screen; the first
    // show's start and its date come from one instant of the stack's clock.
    let now = s.deps().clock.now();
    let soon = show(
        0,
        boxoffice::clock::rfc3339(now + chrono::Duration::minutes(90)),
    )
    .await;
    let later = show(
        0,
        boxoffice::clock::rfc3339(now + chrono::Duration::hours(6)),
    )
    .await;
    let small = show(1, ist(3, 18, 0)).await;
    let date = (now + chrono::Duration::minutes(90 + 330)).date_naive();
    ok(
        s.call("GET", &format!("/api/v1/movies?city=blr&date={date}"))
            .send()
            .await,
        200,
        "list-movies",
    );
    ok(
        s.call(
            "GET",
            &format!("/api/v1/cities/blr/movies/{movie}/shows?date={date}"),
        )
        .send()
        .await,
        200,
        "browse-shows",
    );
    ok(
        s.call("GET", &format!("/api/v1/shows/{soon}/seats"))
            .send()
            .await,
        200,
        "get-seat-map",
    );
    for (path, function) in [
        ("layout", "get-show-layout"),
        ("availability", "get-seat-availability"),
    ] {
        ok(
            s.call("GET", &format!("/api/v1/shows/{soon}/{path}"))
                .send()
                .await,
            200,
            function,
        );
    }

    // Booking, payment (sandbox-complete, and the provider's own webhook), confirmation.
    let hold = |show: String, seats: Value, coupon: Option<&'static str>| {
        let customer = customer.clone();
        async move {
            let mut body = json!({"showId": show, "seatIds": seats});
            if let Some(c) = coupon {
                body["couponCode"] = c.into();
            }
            ok(
                s.call("POST", "/api/v1/bookings")
                    .token(&customer)
                    .json(&body)
                    .send()
                    .await,
                201,
                "create-booking",
            )
        }
    };
    let pay = |booking: String| {
        let customer = customer.clone();
        async move {
            let p = ok(
                s.call("POST", &format!("/api/v1/bookings/{booking}/payments"))
                    .token(&customer)
                    .header("idempotency-key", &boxoffice::ids::new_id("idem"))
                    .json(&json!({"provider": "sandbox", "returnUrl": "https://app.example.com/r"}))
                    .send()
                    .await,
                201,
                "initiate-payment",
            );
            p["providerPayload"]["paymentIntentId"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
    };
    // sandbox-complete: the owner plays the provider for its own intent.
    let complete = |intent: String, outcome: &'static str| {
        let customer = customer.clone();
        async move {
            ok(
                s.call(
                    "POST",
                    &format!("/api/v1/sandbox/payments/{intent}/complete"),
                )
                .token(&customer)
                .json(&json!({ "outcome": outcome }))
                .send()
                .await,
                200,
                "sandbox-complete",
            )
        }
    };
    let confirmed = |booking: String| {
        let customer = customer.clone();
        async move {
            eventually("the booking confirmed", 120, || {
                let customer = customer.clone();
                let booking = booking.clone();
                async move {
                    let b = s
                        .call("GET", &format!("/api/v1/bookings/{booking}"))
                        .token(&customer)
                        .send()
                        .await;
                    (b.body["status"] == "CONFIRMED").then_some(b.body)
                }
            })
            .await
        }
    };
    let a = id(
        &hold(
            soon.clone(),
            json!(["R1-1", "R1-2", "R1-3"]),
            Some("THIRD50"),
        )
        .await,
        "bookingId",
    );
    let intent = pay(a.clone()).await;
    complete(intent, "succeeded").await;
    let a_confirmed = confirmed(a.clone()).await;
    let points = ok(
        s.call("GET", "/api/v1/me/loyalty")
            .token(&customer)
            .send()
            .await,
        200,
        "get-loyalty",
    );
    assert!(
        points["balance"].as_i64().is_some_and(|b| b > 0),
        "{points}"
    );
    let b = hold(later.clone(), json!(["R1-10"]), None).await;
    let b_id = id(&b, "bookingId");
    let b_intent = pay(b_id.clone()).await;
    let now = s.deps().clock.now_epoch();
    let event = boxoffice::payments::SandboxEvent {
        event_id: "evt_iam_b".into(),
        kind: "payment.succeeded".into(),
        payment_intent_id: b_intent,
        amount: b["pricing"]["total"].as_i64().unwrap_or_default(),
        currency: "INR".into(),
        booking_reference: b_id.clone(),
        timestamp: now,
    };
    let (signature, body) =
        boxoffice::payments::sandbox_webhook(&s.deps().config, &event, now).expect("signed");
    ok(
        s.call("POST", "/api/v1/payments/webhooks/sandbox")
            .header("x-signature", &signature)
            .raw("application/json", body)
            .send()
            .await,
        200,
        "payment-webhook",
    );
    confirmed(b_id.clone()).await;
    ok(
        s.call("GET", &format!("/api/v1/bookings/{a}"))
            .token(&customer)
            .send()
            .await,
        200,
        "get-booking",
    );
    ok(
        s.call("GET", "/api/v1/me/bookings")
            .token(&customer)
            .send()
            .await,
        200,
        "list-my-bookings",
    );
    let code = a_confirmed["ticket"]["qrCodeData"]
        .as_str()
        .unwrap_or_default();
    ok(
        s.call("POST", "/api/v1/tickets/verify")
            .token(&partner)
            .json(&json!({"qrCodeData": code}))
            .send()
            .await,
        200,
        "verify-ticket",
    );
    for ext in ["svg", "png"] {
        let image = s
            .call("GET", &format!("/api/v1/bookings/{a}/ticket.{ext}"))
            .token(&customer)
            .send()
            .await;
        assert_eq!(
            image.status, 200,
            "get-ticket-image ({ext}): {}",
            image.text
        );
    }
    ok(
        s.call("GET", "/api/v1/.well-known/ticket-keys")
            .send()
            .await,
        200,
        "get-ticket-keys",
    );
    ok(
        s.call("POST", &format!("/api/v1/shows/{later}/best-available"))
            .token(&customer)
            .json(&json!({"count": 2}))
            .send()
            .await,
        200,
        "best-available",
    );
    ok(
        s.call("POST", &format!("/api/v1/shows/{later}/best-available"))
            .token(&customer)
            .json(&json!({"count": 2, "hold": true}))
            .send()
            .await,
        201,
        "best-available (hold)",
    );
    // A counter sale (refunded when its show is cancelled below).
    ok(
        s.call("POST", &format!("/api/v1/partner/shows/{later}/sales"))
            .token(&partner)
            .header("idempotency-key", "iam-counter-sale-0001")
            .json(&json!({"seatIds": ["R1-16"], "paymentMethod": "CARD_PRESENT"}))
            .send()
            .await,
        201,
        "create-counter-sale",
    );
    // Other platforms: a key, a block and its release with it, then the key revoked.
    let key = ok(
        s.call("POST", "/api/v1/partner/api-keys")
            .token(&partner)
            .json(&json!({"name": "IAM platform", "theatreIds": [theatre_id]}))
            .send()
            .await,
        201,
        "create-api-key",
    );
    let api_key = key["apiKey"].as_str().unwrap_or_default().to_owned();
    for (action, status, function) in [
        ("block", 201, "block-external-seats"),
        ("release", 200, "release-external-seats"),
    ] {
        ok(
            s.call(
                "POST",
                &format!("/api/v1/external/shows/{later}/seats/{action}"),
            )
            .header("x-api-key", &api_key)
            .json(&json!({"seatIds": ["R1-17"], "externalRef": "iam-platform-order-1"}))
            .send()
            .await,
            status,
            function,
        );
    }
    ok(
        s.call(
            "DELETE",
            &format!(
                "/api/v1/partner/api-keys/{}",
                key["keyId"].as_str().unwrap_or_default()
            ),
        )
        .token(&partner)
        .send()
        .await,
        200,
        "revoke-api-key",
    );
    ok(
        s.call("GET", &format!("/api/v1/shows/{soon}/stats"))
            .token(&partner)
            .send()
            .await,
        200,
        "show-stats",
    );

    // A failed payment releases its seats.
    let failing = id(
        &hold(soon.clone(), json!(["R1-12"]), None).await,
        "bookingId",
    );
    let failing_intent = pay(failing.clone()).await;
    complete(failing_intent, "failed").await;
    eventually("the booking failed", 120, || {
        let customer = customer.clone();
        let failing = failing.clone();
        async move {
            let b = s
                .call("GET", &format!("/api/v1/bookings/{failing}"))
                .token(&customer)
                .send()
                .await;
            (b.body["status"] == "FAILED").then_some(())
        }
    })
    .await;

    // Cancellations: a pending and a confirmed booking, then a whole show with both kinds.
    let pending = id(
        &hold(soon.clone(), json!(["R1-5"]), None).await,
        "bookingId",
    );
    ok(
        s.call("POST", &format!("/api/v1/bookings/{pending}/cancel"))
            .token(&customer)
            .send()
            .await,
        200,
        "cancel-booking (pending)",
    );
    ok(
        s.call("POST", &format!("/api/v1/bookings/{a}/cancel"))
            .token(&customer)
            .send()
            .await,
        200,
        "cancel-booking (confirmed)",
    );
    let last = id(
        &hold(later.clone(), json!(["R1-15"]), None).await,
        "bookingId",
    );
    ok(
        s.call("POST", &format!("/api/v1/shows/{later}/cancel"))
            .token(&partner)
            .send()
            .await,
        202,
        "cancel-show",
    );
    // cancel-show-seats (CancelShowQueue) cancels the pending one and refunds the confirmed one.
    for booking in [&last, &b_id] {
        eventually(
            &format!("booking {booking} cancelled with its show"),
            120,
            || async {
                let b = s
                    .call("GET", &format!("/api/v1/bookings/{booking}"))
                    .token(&customer)
                    .send()
                    .await;
                (b.body["status"] == "CANCELLED").then_some(())
            },
        )
        .await;
    }

    // A sold-out show's waitlist.
    hold(small.clone(), json!(["R0-0", "R0-1"]), None).await;
    ok(
        s.call("POST", &format!("/api/v1/shows/{small}/waitlist"))
            .token(&customer)
            .json(&json!({"seats": 1}))
            .send()
            .await,
        201,
        "join-waitlist",
    );

    // The waiting room: a show put in queue mode (put-show-queue), joined before its on-sale
    // time (join-queue), the draw and the admission with its notification (queue-sequencer),
    // the status with the admission token (get-queue-status), and a booking with it.
    let queued = show(0, ist(4, 18, 0)).await;
    let on_sale = s.deps().clock.now_epoch() + 30;
    ok(
        s.call("PUT", &format!("/api/v1/shows/{queued}/queue"))
            .token(&partner)
            .json(&json!({"onSaleAt": boxoffice::queue::epoch_time(on_sale), "admissionRatePerSecond": 10}))
            .send()
            .await,
        200,
        "put-show-queue",
    );
    ok(
        s.call("POST", &format!("/api/v1/shows/{queued}/queue"))
            .token(&customer)
            .send()
            .await,
        201,
        "join-queue",
    );
    s.deps().clock.advance(chrono::Duration::seconds(45));
    let functions = registry::Functions::new(s.deps().clone());
    let sequenced = registry::invoke_event(
        "queue-sequencer",
        &functions,
        scheduled_event("queue-sequencer"),
    )
    .await;
    assert!(
        matches!(&sequenced, Some(Ok(r)) if r["queues"][0]["admitted"].as_u64() == Some(1)),
        "{sequenced:?}"
    );
    let admission = eventually("the admission token", 120, || async {
        let st = s
            .call("GET", &format!("/api/v1/shows/{queued}/queue/me"))
            .token(&customer)
            .send()
            .await;
        st.body["admission"]["token"].as_str().map(str::to_owned)
    })
    .await;
    ok(
        s.call("POST", "/api/v1/bookings")
            .token(&customer)
            .header("x-admission-token", &admission)
            .json(&json!({"showId": queued, "seatIds": ["R1-1"]}))
            .send()
            .await,
        201,
        "create-booking with an admission",
    );

    // The schedules: reminders for the show in the next two hours (a booking there is confirmed
    // again first), then the sweep, once the holds above are past their time.
    let c = id(
        &hold(soon.clone(), json!(["R1-8"]), None).await,
        "bookingId",
    );
    let c_intent = pay(c.clone()).await;
    complete(c_intent, "succeeded").await;
    confirmed(c).await;
    let reminders = registry::invoke_event("notify", &functions, scheduled_event("notify")).await;
    assert!(
        matches!(&reminders, Some(Ok(r)) if r["reminders"].as_u64() >= Some(1)),
        "{reminders:?}"
    );
    s.deps().clock.advance(chrono::Duration::hours(1));
    let swept =
        registry::invoke_event("expire-holds", &functions, scheduled_event("expire-holds")).await;
    assert!(
        matches!(&swept, Some(Ok(r)) if r["expired"].as_u64() >= Some(1)),
        "{swept:?}"
    );

    // Notifications land (notify via the domain-events rule, emailing each from `sender`).
    eventually("a refund notification", 120, || async {
        let n = s
            .call("GET", "/api/v1/me/notifications")
            .token(&customer)
            .send()
            .await;
        n.body["notifications"]
            .as_array()
            .is_some_and(|l| l.iter().any(|x| x["type"] == "REFUND_INITIATED"))
            .then_some(())
    })
    .await;
    // The refund worker (RefundsQueue, fed by the RefundInitiated rule) pays booking `a`'s refund.
    eventually("booking a's refund paid by refund-payment", 120, || async {
        let b = s
            .call("GET", &format!("/api/v1/bookings/{a}"))
            .token(&customer)
            .send()
            .await;
        (b.body["refund"]["status"] == "SUCCEEDED").then_some(())
    })
    .await;
    ok(
        s.call("GET", "/api/v1/nowhere").send().await,
        404,
        "route-not-found",
    );
    drop(triggers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_conformance_every_call_is_granted_and_every_grant_is_called() {
    let admins = json!([
        {"email": "root@iam.test", "name": "Root", "passwordHash": hash_password("root-password-1").expect("hash")},
        {"email": "ops@iam.test", "name": "Ops", "passwordHash": hash_password("ops-password-12").expect("hash")},
    ])
    .to_string();
    let sender = format!(
        "tickets-{}@iam.test",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let s = stack_with(&[
        ("ADMIN_ACCOUNTS", admins.as_str()),
        ("NOTIFICATION_EMAIL_FROM", sender.as_str()),
        ("HOLD_SECONDS", "600"),
        ("PAYMENT_WINDOW_SECONDS", "600"),
        ("BOOKING_RATE_LIMIT_PER_MINUTE", "1000"),
    ])
    .await;
    iam::start_recording();
    tour(&s).await;

    let t = Cfn::load(&[
        ("Stage", "test"),
        ("NotificationEmailFrom", sender.as_str()),
    ]);
    let granted = granted(&t);
    let called = called(&s);
    let mut missing = Vec::new();
    let mut unused = Vec::new();
    for function in registry::all_functions() {
        let g = granted.get(function).cloned().unwrap_or_default();
        let c = called.get(function).cloned().unwrap_or_default();
        missing.extend(
            c.difference(&g)
                .map(|(a, r)| format!("{function}: {a} on {r}")),
        );
        unused.extend(
            g.difference(&c)
                .map(|(a, r)| format!("{function}: {a} on {r}")),
        );
    }
    for f in called.keys() {
        assert!(
            granted.contains_key(f),
            "{f} called AWS but is not a function of template.yaml"
        );
    }
    let total: usize = called.values().map(BTreeSet::len).sum();
    eprintln!(
        "iam_conformance: {total} (function, action, resource) calls recorded over {} functions",
        called.len()
    );
    if !unused.is_empty() {
        eprintln!(
            "granted but never called by the tour:\n  {}",
            unused.join("\n  ")
        );
    }
    assert!(
        missing.is_empty(),
        "called but not granted in template.yaml (AccessDenied once deployed):\n  {}",
        missing.join("\n  ")
    );
    assert!(
        unused.is_empty(),
        "granted but never called (exercise it here, or remove the grant):\n  {}",
        unused.join("\n  ")
    );
}
