//! Arbitrary requests against every route, through the gateway and the real handlers into
//! DynamoDB Local: arbitrary path and query values, headers, tokens and bodies (sample bodies
//! from events/ with fields replaced, dropped or added, any JSON, any bytes) may be refused, but
//! always with a 4xx in the contract's error format: never a 5xx, never a panic.

use boxoffice::{domain::user::Role, payments::signature::sign, routes::ROUTES};
use boxoffice_tests::{call_on, fixtures::ist, stack_with, Reply, TestStack};
use proptest::{
    prelude::*,
    test_runner::{Config, RngAlgorithm, TestRng, TestRunner},
};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Real ids for path parameters, so that handlers get past their lookups too.
struct World {
    ids: HashMap<&'static str, Vec<String>>,
    tokens: Vec<String>,
    samples: HashMap<&'static str, Value>,
    webhook_secret: Vec<u8>,
    now: i64,
}

#[derive(Debug, Clone)]
enum Param {
    Real(prop::sample::Index),
    Any(String),
}

#[derive(Debug, Clone)]
enum BodyCase {
    None,
    /// The route's sample body as it is (so creations succeed and later requests meet real state).
    Sample,
    /// The route's sample body with one top-level field set to any JSON value (or dropped).
    Mutated(prop::sample::Index, Option<Value>),
    /// The sample body plus an unknown field.
    Extra(String, Value),
    Json(Value),
    Bytes(String, Vec<u8>),
}

#[derive(Debug, Clone)]
struct Case {
    route: prop::sample::Index,
    params: Vec<Param>,
    query: Vec<(String, String)>,
    token: Option<prop::sample::Index>,
    garbage_token: Option<String>,
    headers: Vec<(String, String)>,
    body: BodyCase,
    signed: bool,
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        ".{0,30}".prop_map(Value::from),
        Just(json!("")),
        Just(json!("x".repeat(5000))),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::hash_map(".{0,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,60}",
        "[a-z]{2,3}_[0-9A-Z]{26}",
        Just("x".repeat(3000)),
        Just("../../etc/passwd".to_owned()),
        Just("%00".to_owned()),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let param = prop_oneof![
        3 => any::<prop::sample::Index>().prop_map(Param::Real),
        2 => any_text().prop_map(Param::Any),
    ];
    let query_key = prop_oneof![
        Just("limit"),
        Just("cursor"),
        Just("city"),
        Just("cityId"),
        Just("date"),
        Just("language"),
        Just("genre"),
        Just("format"),
        Just("status"),
        Just("from"),
        Just("to"),
    ]
    .prop_map(str::to_owned);
    let header = prop_oneof![
        (Just("idempotency-key".to_owned()), any_text()),
        (Just("x-correlation-id".to_owned()), ".{0,300}"),
        (Just("x-signature".to_owned()), ".{0,120}"),
        (Just("stripe-signature".to_owned()), ".{0,120}"),
        (Just("content-length".to_owned()), "[0-9]{1,6}"),
        (Just("accept".to_owned()), ".{0,40}"),
    ];
    let body = prop_oneof![
        1 => Just(BodyCase::None),
        2 => Just(BodyCase::Sample),
        4 => (any::<prop::sample::Index>(), prop::option::weighted(0.8, json_value()))
            .prop_map(|(i, v)| BodyCase::Mutated(i, v)),
        1 => (".{1,20}", json_value()).prop_map(|(k, v)| BodyCase::Extra(k, v)),
        2 => json_value().prop_map(BodyCase::Json),
        1 => (
            prop_oneof![Just("application/json".to_owned()), "[ -~]{0,30}"],
            prop::collection::vec(any::<u8>(), 0..300)
        )
            .prop_map(|(ct, b)| BodyCase::Bytes(ct, b)),
    ];
    (
        any::<prop::sample::Index>(),
        prop::collection::vec(param, 2),
        prop::collection::vec((query_key, any_text()), 0..3),
        prop::option::weighted(0.8, any::<prop::sample::Index>()),
        prop::option::of(".{0,80}"),
        prop::collection::vec(header, 0..3),
        body,
        any::<bool>(),
    )
        .prop_map(
            |(route, params, query, token, garbage_token, headers, body, signed)| Case {
                route,
                params,
                query,
                token,
                garbage_token,
                headers,
                body,
                signed,
            },
        )
}

/// Percent-encodes everything but unreserved characters.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl World {
    fn path(&self, template: &str, params: &[Param]) -> String {
        let mut out = String::new();
        let mut n = 0;
        for (i, segment) in template.split('/').enumerate() {
            if i > 0 {
                out.push('/');
            }
            match segment.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
                None => out.push_str(segment),
                Some(name) => {
                    let value = match &params[n % params.len()] {
                        Param::Real(ix) => match self.ids.get(name) {
                            Some(ids) => ids[ix.index(ids.len())].clone(),
                            None => "unknown".to_owned(),
                        },
                        Param::Any(s) => s.clone(),
                    };
                    n += 1;
                    out.push_str(&encode(&value));
                }
            }
        }
        out
    }

    fn body(&self, function: &str, case: &BodyCase) -> Option<(String, Vec<u8>)> {
        let sample = self.samples.get(function).cloned().unwrap_or(Value::Null);
        let json = |v: Value| Some(("application/json".to_owned(), v.to_string().into_bytes()));
        match case {
            BodyCase::None => None,
            BodyCase::Sample => json(sample),
            BodyCase::Mutated(ix, value) => {
                let mut v = sample;
                if let Some(obj) = v.as_object_mut() {
                    let keys: Vec<String> = obj.keys().cloned().collect();
                    if !keys.is_empty() {
                        let key = &keys[ix.index(keys.len())];
                        match value {
                            Some(x) => obj.insert(key.clone(), x.clone()),
                            None => obj.remove(key),
                        };
                    }
                }
                json(v)
            }
            BodyCase::Extra(k, x) => {
                let mut v = sample;
                if let Some(obj) = v.as_object_mut() {
                    obj.insert(k.clone(), x.clone());
                }
                json(v)
            }
            BodyCase::Json(v) => json(v.clone()),
            BodyCase::Bytes(ct, b) => Some((ct.clone(), b.clone())),
        }
    }

    async fn send(&self, s: &TestStack, case: &Case) -> (String, Reply) {
        let route = &ROUTES[case.route.index(ROUTES.len())];
        let mut uri = self.path(route.path, &case.params);
        if !case.query.is_empty() {
            let q: Vec<String> = case
                .query
                .iter()
                .map(|(k, v)| format!("{k}={}", encode(v)))
                .collect();
            uri = format!("{uri}?{}", q.join("&"));
        }
        let mut call = call_on(&s.gateway, route.method, &uri);
        if let Some(ix) = case.token {
            call = call.token(&self.tokens[ix.index(self.tokens.len())]);
        } else if let Some(t) = &case.garbage_token {
            if t.parse::<hyper::http::HeaderValue>().is_ok() {
                call = call.header("authorization", &format!("Bearer {t}"));
            }
        }
        for (k, v) in &case.headers {
            if v.parse::<hyper::http::HeaderValue>().is_ok() {
                call = call.header(k, v);
            }
        }
        let body = self.body(route.function, &case.body);
        if let Some((ct, bytes)) = &body {
            if case.signed && route.function == "payment-webhook" {
                call = call.header("x-signature", &sign(&self.webhook_secret, self.now, bytes));
            }
            call = if ct.parse::<hyper::http::HeaderValue>().is_ok() {
                call.raw(ct, bytes.clone())
            } else {
                call.raw("application/json", bytes.clone())
            };
        }
        let what = format!(
            "{} {uri} body={:?}",
            route.method,
            body.map(|(ct, b)| (
                ct,
                String::from_utf8_lossy(&b)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ))
        );
        (what, call.send().await)
    }
}

async fn world(s: &TestStack) -> World {
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (_, customer) = s.user(Role::Customer).await;
    let b = s
        .call("POST", "/api/v1/bookings")
        .token(&customer)
        .json(&json!({"showId": show, "seatIds": ["R1-1"]}))
        .send()
        .await;
    assert_eq!(b.status, 201, "{}", b.text);
    let booking = b.body["bookingId"].as_str().expect("booking id").to_owned();
    let mut ids: HashMap<&'static str, Vec<String>> = HashMap::new();
    ids.insert("cityId", vec![f.city_id.clone(), "new-city".into()]);
    ids.insert("movieId", vec![f.movie_id.clone()]);
    ids.insert("theatreId", vec![f.theatre_id.clone()]);
    ids.insert("showId", vec![show.clone()]);
    ids.insert("bookingId", vec![booking.clone()]);
    ids.insert("code", vec!["THIRD50".into(), "new-offer".into()]);
    ids.insert("provider", vec!["sandbox".into(), "stripe".into()]);
    ids.insert(
        "paymentIntentId",
        vec![boxoffice::payments::sandbox_intent_id(&booking)],
    );
    let mut samples = HashMap::new();
    for route in ROUTES {
        let path = boxoffice_local::repo_root()
            .join("events")
            .join(format!("{}.json", route.function));
        let event: Value = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        if let Some(body) = event["body"].as_str() {
            let with_real_ids = body
                .replace("sh_01JD0000000000000000000000", &show)
                .replace("mv_01JD0000000000000000000000", &f.movie_id)
                .replace("th_01JD0000000000000000000000", &f.theatre_id)
                .replace("sc_01JD0000000000000000000000", &f.screen_id)
                .replace("bk_01JD0000000000000000000000", &booking);
            if let Ok(v) = serde_json::from_str(&with_real_ids) {
                samples.insert(route.function, v);
            }
        }
    }
    World {
        ids,
        tokens: vec![customer, f.partner.clone(), f.admin.clone()],
        samples,
        webhook_secret: s.sandbox_webhook_key().to_vec(),
        now: s.deps().clock.now_epoch(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arbitrary_requests_to_every_route_get_a_4xx_in_the_contract_format_never_a_5xx() {
    let s = stack_with(&[
        ("BOOKING_RATE_LIMIT_PER_MINUTE", "1000000"),
        ("HOLD_SECONDS", "3600"),
    ])
    .await;
    let w = world(&s).await;
    let cases: u32 = std::env::var("HARDENING_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            max_shrink_iters: 200,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let seen = std::sync::Mutex::new(HashMap::<u16, usize>::new());
    let result = tokio::task::block_in_place(|| {
        runner
            .run(&case(), |c| {
                let (what, r) = handle.block_on(w.send(&s, &c));
                if let Ok(mut seen) = seen.lock() {
                    *seen.entry(r.status).or_default() += 1;
                }
                prop_assert!(r.status < 500, "{what} → {} {}", r.status, r.text);
                if r.status >= 400 {
                    prop_assert!(
                        !r.code().is_empty() && r.body["error"]["message"].is_string(),
                        "{what} → {} without the contract's error JSON: {}",
                        r.status,
                        r.text
                    );
                    prop_assert!(r.headers.contains_key("x-correlation-id"), "{what}");
                }
                Ok(())
            })
            // The runner's error carries the whole failing case; its message is all we report.
            .map_err(|e| e.to_string())
    });
    let seen = seen.into_inner().unwrap_or_default();
    eprintln!("hardening: {cases} cases, statuses {seen:?}");
    if let Err(e) = result {
        panic!("{e}\nstatuses seen: {seen:?}");
    }
    // The inputs reached past the door: successes and several kinds of refusal.
    assert!(seen.keys().any(|s| (200..300).contains(s)), "{seen:?}");
    assert!(seen.len() >= 5, "{seen:?}");
}
