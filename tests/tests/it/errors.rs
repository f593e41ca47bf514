//! The contract's error format on every kind of refusal, with the correlation id.

use boxoffice::domain::user::Role;
use boxoffice_tests::{stack, Reply};
use serde_json::json;

fn assert_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.code(), code, "{}", r.text);
    let cid = r.body["error"]["correlationId"]
        .as_str()
        .expect("correlationId in the body");
    assert!(!cid.is_empty());
    assert_eq!(
        r.headers["x-correlation-id"], cid,
        "header and body carry the same correlation id"
    );
    assert!(r.body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    assert_eq!(r.headers["content-type"], "application/json");
}

#[tokio::test]
async fn each_refusal_has_its_status_and_code() {
    let s = stack().await;
    let (_, customer) = s.user(Role::Customer).await;

    let bad = s
        .call("POST", "/api/v1/auth/register")
        .json(&json!({"email": "nope", "password": "x", "name": ""}))
        .send()
        .await;
    assert_error(&bad, 400, "VALIDATION_ERROR");
    let unknown_field = s
        .call("POST", "/api/v1/auth/login")
        .json(&json!({"email": "a@b.co", "password": "x", "admin": true}))
        .send()
        .await;
    assert_error(&unknown_field, 400, "VALIDATION_ERROR");
    let malformed = s
        .call("POST", "/api/v1/auth/login")
        .raw("application/json", "{\"email\":")
        .send()
        .await;
    assert_error(&malformed, 400, "VALIDATION_ERROR");

    let no_token = s
        .call("POST", "/api/v1/admin/partners")
        .json(&json!({}))
        .send()
        .await;
    assert_error(&no_token, 401, "UNAUTHORIZED");
    let customer_on_admin = s
        .call("PUT", "/api/v1/admin/cities/pune")
        .token(&customer)
        .json(&json!({"name":"Pune","timeZone":"Asia/Kolkata","currency":"INR","convenienceFeePerTicket":0,"taxPercent":18}))
        .send()
        .await;
    assert_error(&customer_on_admin, 403, "FORBIDDEN");

    let unknown = s.call("GET", "/api/v1/nothing/here").send().await;
    assert_error(&unknown, 404, "NOT_FOUND");
    let outside = s.call("GET", "/").send().await;
    assert_error(&outside, 404, "NOT_FOUND");
    let wrong_method = s.call("DELETE", "/api/v1/auth/register").send().await;
    assert_error(&wrong_method, 405, "METHOD_NOT_ALLOWED");
    assert_eq!(wrong_method.headers["allow"], "POST");

    let big = format!(
        r#"{{"email":"a@b.co","password":"{}","name":"x"}}"#,
        "p".repeat(70 * 1024)
    );
    let too_large = s
        .call("POST", "/api/v1/auth/register")
        .raw("application/json", big)
        .send()
        .await;
    assert_error(&too_large, 413, "PAYLOAD_TOO_LARGE");
    let not_json = s
        .call("POST", "/api/v1/auth/register")
        .raw("text/plain", "email=a")
        .send()
        .await;
    assert_error(&not_json, 415, "UNSUPPORTED_MEDIA_TYPE");
}

#[tokio::test]
async fn a_well_formed_correlation_id_is_echoed_and_a_bad_one_replaced() {
    let s = stack().await;
    let r = s
        .call("GET", "/api/v1/cities")
        .header("x-correlation-id", "trace-42")
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["x-correlation-id"], "trace-42");
    let r = s
        .call("GET", "/api/v1/nope")
        .header("x-correlation-id", "trace-43")
        .send()
        .await;
    assert_eq!(r.body["error"]["correlationId"], "trace-43");
    let r = s
        .call("GET", "/api/v1/cities")
        .header("x-correlation-id", "has spaces and <tags>")
        .send()
        .await;
    let echoed = r.headers["x-correlation-id"].to_str().expect("ascii");
    assert_ne!(echoed, "has spaces and <tags>");
    assert!(!echoed.is_empty());
}
