//! Property tests over everything that parses untrusted input: request bodies, webhook signatures
//! and payloads, ticket codes, page cursors and tokens. Arbitrary input may be refused (with a
//! 4xx) but never panics, never becomes a 5xx and never forges its way in.

use crate::{
    auth::verify_token,
    config::{Config, JwtConfig, JwtKeys, Secret},
    domain::ticket::{self, TicketClaims},
    http::parse_json,
    payments::{signature, PaymentMessage, Provider},
    store::cursor,
};
use lambda_http::{Body, Request};
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

const NOW: i64 = 1_790_000_000;
const SECRET: &[u8] = b"whsec_property_tests_only_0123456789";

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A body type like the handlers' own: typed fields, unknown fields refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)] // read only by serde
struct Probe {
    show_id: String,
    seat_ids: Vec<String>,
    coupon: Option<String>,
    count: Option<u32>,
}

fn request(content_type: &str, body: Vec<u8>) -> Request {
    let mut req = Request::new(Body::Binary(body));
    if let Ok(v) = content_type.parse() {
        req.headers_mut().insert("content-type", v);
    }
    req
}

/// Any JSON value, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            prop::collection::hash_map(
                prop_oneof![
                    Just("showId".to_owned()),
                    Just("seatIds".to_owned()),
                    Just("coupon".to_owned()),
                    Just("count".to_owned()),
                    ".{0,12}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn content_type() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("application/json".to_owned()),
        Just("application/json; charset=utf-8".to_owned()),
        Just("APPLICATION/JSON".to_owned()),
        Just("text/plain".to_owned()),
        Just(String::new()),
        "[ -~]{0,40}",
    ]
}

fn jwt() -> JwtConfig {
    JwtConfig {
        keys: Some(JwtKeys {
            current: Secret::new("s".repeat(40)),
            previous: None,
        }),
        issuer: "boxoffice".into(),
        audience: "boxoffice-api".into(),
        ttl_seconds: 3600,
    }
}

fn config() -> Config {
    let mut config = Config::from_lookup(|k| match k {
        "TABLE_NAME" => Some("t".into()),
        _ => None,
    })
    .unwrap_or_else(|e| panic!("test config: {e}"));
    config.jwt = jwt();
    let webhook_key = Some(Secret::new(String::from_utf8_lossy(SECRET)));
    config.sandbox_webhook_secret = webhook_key.clone();
    config.stripe_webhook_secret = webhook_key;
    config
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn arbitrary_bodies_parse_or_are_a_4xx(ct in content_type(), body in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Err(e) = parse_json::<Probe>(&request(&ct, body.clone())) {
            prop_assert!(e.status().is_client_error(), "{e:?}");
        }
        if let Err(e) = parse_json::<Value>(&request(&ct, body)) {
            prop_assert!(e.status().is_client_error(), "{e:?}");
        }
    }

    #[test]
    fn arbitrary_json_parses_or_is_a_400(v in json_value()) {
        let body = serde_json::to_vec(&v).unwrap_or_default();
        if let Err(e) = parse_json::<Probe>(&request("application/json", body)) {
            prop_assert_eq!(e.status().as_u16(), 400, "{:?}", e);
        }
    }

    #[test]
    fn arbitrary_signature_headers_never_verify(header in ".{0,200}", body in prop::collection::vec(any::<u8>(), 0..256)) {
        prop_assert!(signature::verify(SECRET, Some(&header), &body, NOW).is_err());
    }

    #[test]
    fn a_signature_holds_only_for_its_body_and_within_the_tolerance(
        body in prop::collection::vec(any::<u8>(), 1..256),
        skew in -1000i64..1000,
        flip in any::<prop::sample::Index>(),
    ) {
        let header = signature::sign(SECRET, NOW + skew, &body);
        let fresh = skew.abs() <= signature::TOLERANCE_SECONDS;
        prop_assert_eq!(signature::verify(SECRET, Some(&header), &body, NOW).is_ok(), fresh);
        let mut altered = body.clone();
        let i = flip.index(altered.len());
        altered[i] ^= 0x01;
        prop_assert!(signature::verify(SECRET, Some(&header), &altered, NOW).is_err());
    }

    #[test]
    fn genuinely_signed_arbitrary_payloads_are_a_4xx_or_a_checked_message(
        v in json_value(),
        sandbox in any::<bool>(),
    ) {
        let provider = if sandbox { Provider::Sandbox } else { Provider::Stripe };
        let body = serde_json::to_vec(&v).unwrap_or_default();
        let header = signature::sign(SECRET, NOW, &body);
        match provider.verify(&config(), Some(&header), &body, NOW) {
            Ok(Some(m)) => prop_assert!(m.clone().checked().is_ok(), "{m:?}"),
            Ok(None) => prop_assert!(!sandbox, "the sandbox ignores nothing"),
            Err(e) => prop_assert_eq!(e.status().as_u16(), 400),
        }
    }

    #[test]
    fn near_valid_sandbox_events_are_a_4xx_or_a_checked_message(
        event_id in prop_oneof![Just("evt_1".to_owned()), ".{0,300}"],
        kind in prop_oneof![Just("payment.succeeded".to_owned()), Just("payment.failed".to_owned()), Just("refund.succeeded".to_owned()), ".{0,20}"],
        booking in prop_oneof![Just("bk_01JD2ZQ5Y0M9V4W1T8X6R3K7PA".to_owned()), "bk_.{0,30}", ".{0,40}"],
        amount in prop_oneof![Just(1000i64), any::<i64>()],
        currency in prop_oneof![Just("inr".to_owned()), ".{0,5}"],
    ) {
        let body = json!({"eventId": event_id, "type": kind, "paymentIntentId": format!("pi_sandbox_{booking}"),
            "amount": amount, "currency": currency, "bookingReference": booking, "timestamp": NOW}).to_string();
        let header = signature::sign(SECRET, NOW, body.as_bytes());
        match Provider::Sandbox.verify(&config(), Some(&header), body.as_bytes(), NOW) {
            Ok(None) => prop_assert!(false, "the sandbox ignores nothing"),
            Ok(Some(m)) => {
                prop_assert!(PaymentMessage::checked(m.clone()).is_ok());
                prop_assert_eq!(m.booking_id, booking);
            }
            Err(e) => prop_assert_eq!(e.status().as_u16(), 400),
        }
    }

    #[test]
    fn arbitrary_ticket_codes_never_verify(code in prop_oneof![".{0,300}", "BX1\\.[A-Za-z0-9_-]{0,80}\\.[A-Za-z0-9_-]{0,60}"]) {
        prop_assert!(ticket::verify(b"ticket-key", &code).is_none());
    }

    #[test]
    fn an_altered_ticket_code_never_verifies(
        ids in prop::collection::vec("[A-Za-z0-9_]{1,30}", 4),
        seats in prop::collection::vec("[A-Z][0-9]{1,2}", 1..6),
        at in any::<prop::sample::Index>(),
        with in prop::sample::select(b"ABCxyz019_-.".to_vec()),
    ) {
        let claims = TicketClaims {
            ticket_id: ids[0].clone(), booking_id: ids[1].clone(), show_id: ids[2].clone(),
            theatre_id: ids[3].clone(), seat_ids: seats,
        };
        let code = ticket::issue(b"ticket-key", &claims);
        prop_assert_eq!(ticket::verify(b"ticket-key", &code), Some(claims));
        prop_assert!(ticket::verify(b"another-key", &code).is_none());
        let mut bytes = code.into_bytes();
        let i = at.index(bytes.len());
        prop_assume!(bytes[i] != with);
        bytes[i] = with;
        let altered = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert!(ticket::verify(b"ticket-key", &altered).is_none(), "{altered}");
    }

    #[test]
    fn arbitrary_cursors_are_a_400_or_a_key_of_the_asked_partition(c in prop_oneof![".{0,200}", "[A-Za-z0-9_-]{0,200}"]) {
        match cursor::decode(&c, &["pk", "sk"], "pk", "USER#1") {
            Ok(key) => prop_assert_eq!(key.get("pk").and_then(|v| v.as_s().ok()).map(String::as_str), Some("USER#1")),
            Err(e) => prop_assert_eq!(crate::ApiError::from(e).status().as_u16(), 400),
        }
    }

    #[test]
    fn arbitrary_tokens_are_a_401(t in prop_oneof![".{0,300}", "[A-Za-z0-9_-]{1,60}\\.[A-Za-z0-9_-]{1,120}\\.[A-Za-z0-9_-]{0,60}"]) {
        match verify_token(&jwt(), &t) {
            Ok(claims) => prop_assert!(false, "forged token accepted: {claims:?}"),
            Err(e) => prop_assert_eq!(e.status().as_u16(), 401),
        }
    }
}

#[test]
fn deeply_nested_json_is_refused_with_a_400_not_a_stack_overflow() {
    // 5,000 levels fit under the 64 KiB limit; serde_json stops at 128.
    for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
        let body = format!("{}1{}", open.repeat(5_000), close.repeat(5_000));
        let e = parse_json::<Value>(&request("application/json", body.into_bytes()))
            .expect_err("refused");
        assert_eq!(e.status().as_u16(), 400);
    }
}
