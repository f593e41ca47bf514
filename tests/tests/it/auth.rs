//! Registration, login, roles and tokens through the real handlers and DynamoDB Local.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use boxoffice::{auth::hash_password, domain::user::Role, secrets::SecretSet};
use boxoffice_local::gateway::Gateway;
use boxoffice_tests::{call_on, logs, stack, stack_with};
use futures::future::join_all;
use serde_json::json;

#[tokio::test]
async fn register_login_and_use_the_token() {
    let s = stack().await;
    let r = s
        .call("POST", "/api/v1/auth/register")
        .json(
            &json!({"email": "Alice@Example.com", "password": "correct-horse-1", "name": "Alice"}),
        )
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["email"], "alice@example.com");
    assert_eq!(r.body["role"], "CUSTOMER");
    assert!(r.body["userId"]
        .as_str()
        .is_some_and(|id| id.starts_with("usr_")));

    let login = s
        .call("POST", "/api/v1/auth/login")
        .json(&json!({"email": "ALICE@example.com", "password": "correct-horse-1"}))
        .send()
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["tokenType"], "Bearer");
    assert_eq!(login.body["user"]["userId"], r.body["userId"]);
    assert!(login.body["expiresIn"].as_i64().is_some_and(|n| n > 0));
    let token = login.body["accessToken"].as_str().expect("token");

    // A customer token is accepted (authenticated) but lacks the role: 403, not 401.
    let partner = s
        .call("POST", "/api/v1/admin/partners")
        .token(token)
        .json(&json!({"email": "p@example.com", "password": "correct-horse-1", "name": "P", "company": "C"}))
        .send()
        .await;
    assert_eq!(partner.status, 403, "{}", partner.text);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let s = stack().await;
    // Bob exists, so "wrong" below is a wrong password, not a second unknown email.
    let bob = s
        .call("POST", "/api/v1/auth/register")
        .json(&json!({"email": "bob@example.com", "password": "correct-horse-1", "name": "Bob"}))
        .send()
        .await;
    assert_eq!(bob.status, 201, "{}", bob.text);
    let right = s
        .call("POST", "/api/v1/auth/login")
        .json(&json!({"email": "bob@example.com", "password": "correct-horse-1"}))
        .send()
        .await;
    assert_eq!(right.status, 200, "{}", right.text);
    let wrong = s
        .call("POST", "/api/v1/auth/login")
        .json(&json!({"email": "bob@example.com", "password": "wrong-horse-12"}))
        .send()
        .await;
    let unknown = s
        .call("POST", "/api/v1/auth/login")
        .json(&json!({"email": "eve@example.com", "password": "wrong-horse-12"}))
        .send()
        .await;
    let garbage = s
        .call("POST", "/api/v1/auth/login")
        .json(&json!({"email": "not an email", "password": "x"}))
        .send()
        .await;
    for r in [&wrong, &unknown, &garbage] {
        assert_eq!(r.status, 401, "{}", r.text);
        assert_eq!(r.code(), "INVALID_CREDENTIALS");
        assert_eq!(r.body["error"]["message"], wrong.body["error"]["message"]);
    }
}

#[tokio::test]
async fn exactly_one_of_twenty_concurrent_registrations_of_one_email_wins() {
    let s = stack().await;
    let attempts = (0..20).map(|i| {
        // The same address in different letter cases: unique case-insensitively.
        let email = if i % 2 == 0 { "Race@Example.com" } else { "race@example.COM" };
        s.call("POST", "/api/v1/auth/register")
            .json(&json!({"email": email, "password": "correct-horse-1", "name": format!("Racer {i}")}))
            .send()
    });
    let replies = join_all(attempts).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    let taken = replies
        .iter()
        .filter(|r| r.status == 409 && r.code() == "EMAIL_TAKEN")
        .count();
    assert_eq!(
        (created, taken),
        (1, 19),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let login = s
        .call("POST", "/api/v1/auth/login")
        .json(&json!({"email": "race@example.com", "password": "correct-horse-1"}))
        .send()
        .await;
    assert_eq!(login.status, 200);
}

#[tokio::test]
async fn passwords_and_tokens_never_reach_logs_or_responses() {
    let s = stack().await;
    let (captured, _guard) = logs::capture();
    let password = "Sup3r-Secret-Passphrase-xyz";
    let reg = s
        .call("POST", "/api/v1/auth/register")
        .json(&json!({"email": "carol@example.com", "password": password, "name": "Carol"}))
        .send()
        .await;
    let login = s
        .call("POST", "/api/v1/auth/login")
        .json(&json!({"email": "carol@example.com", "password": password}))
        .send()
        .await;
    let failed = s
        .call("POST", "/api/v1/auth/login")
        .json(&json!({"email": "carol@example.com", "password": format!("{password}!")}))
        .send()
        .await;
    let dup = s
        .call("POST", "/api/v1/auth/register")
        .json(&json!({"email": "carol@example.com", "password": password, "name": "Carol"}))
        .send()
        .await;
    let token = login.body["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let with_token = s.call("GET", "/api/v1/cities").token(&token).send().await;
    assert_eq!(
        (
            reg.status,
            login.status,
            failed.status,
            dup.status,
            with_token.status
        ),
        (201, 200, 401, 409, 200)
    );

    let logs = captured.text();
    assert!(
        logs.contains("correlation_id"),
        "request logs are captured: {logs}"
    );
    assert!(!logs.contains(password), "password in logs");
    assert!(!logs.contains(&token), "token in logs");
    assert!(!logs.contains("argon2"), "password hash in logs");
    for r in [&reg, &login, &failed, &dup] {
        assert!(
            !r.text.contains(password),
            "password in a response: {}",
            r.text
        );
        assert!(!r.text.contains("argon2"), "hash in a response: {}", r.text);
    }
}

#[tokio::test]
async fn bad_tokens_are_401() {
    let s = stack().await;
    let (user_id, good) = s.user(Role::Admin).await;
    let jwt = &s.deps().config.jwt;
    let now = chrono::Utc::now().timestamp();
    let expired = boxoffice::auth::issue_token(
        jwt,
        &user_id,
        "a@b.co",
        Role::Admin,
        now - 2 * jwt.ttl_seconds,
    )
    .expect("token");
    let mut other = jwt.clone();
    other.keys = Some(boxoffice::config::JwtKeys {
        current: boxoffice::config::Secret::new("an-attackers-secret-an-attackers-secret"),
        previous: None,
    });
    let forged =
        boxoffice::auth::issue_token(&other, &user_id, "a@b.co", Role::Admin, now).expect("token");
    let mut aud = jwt.clone();
    aud.audience = "another-api".into();
    let wrong_audience =
        boxoffice::auth::issue_token(&aud, &user_id, "a@b.co", Role::Admin, now).expect("token");
    let claims = json!({"sub": user_id, "role": "ADMIN", "email": "a@b.co", "iss": jwt.issuer, "aud": jwt.audience, "iat": now, "exp": now + 600});
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let body = json!({"email": "x@example.com", "password": "correct-horse-1", "name": "X", "company": "C"});
    for (what, token) in [
        ("expired", expired),
        ("wrong signature", forged),
        ("wrong audience", wrong_audience),
        ("alg none", alg_none),
    ] {
        let r = s
            .call("POST", "/api/v1/admin/partners")
            .token(&token)
            .json(&body)
            .send()
            .await;
        assert_eq!(
            (r.status, r.code()),
            (401, "UNAUTHORIZED"),
            "{what}: {}",
            r.text
        );
    }
    let r = s
        .call("POST", "/api/v1/admin/partners")
        .header("authorization", "Basic abc")
        .json(&body)
        .send()
        .await;
    assert_eq!(r.status, 401);
    let ok = s
        .call("POST", "/api/v1/admin/partners")
        .token(&good)
        .json(&body)
        .send()
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    assert_eq!(ok.body["role"], "PARTNER");
    assert_eq!(ok.body["company"], "C");
}

#[tokio::test]
async fn configured_admins_can_log_in_and_manage_cities() {
    let hash = hash_password("admin-password-123").expect("hash");
    let accounts =
        json!([{"email": "Root@Example.com", "name": "Root", "passwordHash": hash}]).to_string();
    let s = stack_with(&[("ADMIN_ACCOUNTS", &accounts)]).await;
    let login = s
        .call("POST", "/api/v1/auth/login")
        .json(&json!({"email": "root@example.com", "password": "admin-password-123"}))
        .send()
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["user"]["role"], "ADMIN");
    let again = s
        .call("POST", "/api/v1/auth/login")
        .json(&json!({"email": "root@example.com", "password": "admin-password-123"}))
        .send()
        .await;
    assert_eq!(
        again.body["user"]["userId"], login.body["user"]["userId"],
        "seeded once"
    );
    let wrong = s
        .call("POST", "/api/v1/auth/login")
        .json(&json!({"email": "root@example.com", "password": "admin-password-124"}))
        .send()
        .await;
    assert_eq!(wrong.status, 401);
    // Registering the admin's email publicly is refused: the address is taken.
    let steal = s
        .call("POST", "/api/v1/auth/register")
        .json(
            &json!({"email": "ROOT@example.com", "password": "correct-horse-1", "name": "Mallory"}),
        )
        .send()
        .await;
    assert_eq!(steal.status, 409);

    let token = login.body["accessToken"].as_str().expect("token");
    let city = json!({"name": "Pune", "timeZone": "Asia/Kolkata", "currency": "INR", "convenienceFeePerTicket": 2500, "taxPercent": 18});
    let put = s
        .call("PUT", "/api/v1/admin/cities/pune")
        .token(token)
        .json(&city)
        .send()
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.body["taxPercent"], 18.0);
    let mut replaced = city.clone();
    replaced["name"] = json!("Pune City");
    s.call("PUT", "/api/v1/admin/cities/pune")
        .token(token)
        .json(&replaced)
        .send()
        .await;
    let list = s.call("GET", "/api/v1/cities").send().await;
    assert_eq!(list.status, 200);
    let cities = list.body["cities"].as_array().expect("cities");
    assert_eq!(cities.len(), 1);
    assert_eq!(cities[0]["name"], "Pune City");
    assert_eq!(cities[0]["timeZone"], "Asia/Kolkata");

    for (field, value) in [
        ("timeZone", json!("Mars/Base")),
        ("currency", json!("rupees")),
        ("taxPercent", json!(101)),
        ("convenienceFeePerTicket", json!(-1)),
    ] {
        let mut bad = city.clone();
        bad[field] = value;
        let r = s
            .call("PUT", "/api/v1/admin/cities/pune")
            .token(token)
            .json(&bad)
            .send()
            .await;
        assert_eq!(r.status, 400, "{field}: {}", r.text);
    }
    let r = s
        .call("PUT", "/api/v1/admin/cities/x%23y")
        .token(token)
        .json(&city)
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
}

fn admins(entries: &[(&str, &str)]) -> serde_json::Value {
    let list: Vec<serde_json::Value> = entries
        .iter()
        .map(|(email, password)| {
            json!({"email": email, "name": "Root", "passwordHash": hash_password(password).expect("hash")})
        })
        .collect();
    json!({ "adminAccounts": serde_json::Value::Array(list).to_string() })
}

async fn login_on(gw: &Gateway, email: &str, password: &str) -> boxoffice_tests::Reply {
    call_on(gw, "POST", "/api/v1/auth/login")
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
}

/// A configured admin's address is reserved from the start: no one can register it (or be made a
/// partner with it) before the admin's first login.
#[tokio::test]
async fn a_configured_admins_email_cannot_be_registered_before_the_first_login() {
    let accounts = admins(&[("root@example.com", "admin-password-123")])["adminAccounts"]
        .as_str()
        .expect("string")
        .to_owned();
    let s = stack_with(&[("ADMIN_ACCOUNTS", &accounts)]).await;
    let steal = s
        .call("POST", "/api/v1/auth/register")
        .json(
            &json!({"email": "Root@Example.COM", "password": "correct-horse-1", "name": "Mallory"}),
        )
        .send()
        .await;
    assert_eq!(
        (steal.status, steal.code()),
        (409, "EMAIL_TAKEN"),
        "{}",
        steal.text
    );
    let (_, other_admin) = s.user(Role::Admin).await;
    let partner = s
        .call("POST", "/api/v1/admin/partners")
        .token(&other_admin)
        .json(&json!({"email": "root@example.com", "password": "correct-horse-1", "name": "M", "company": "C"}))
        .send()
        .await;
    assert_eq!(
        (partner.status, partner.code()),
        (409, "EMAIL_TAKEN"),
        "{}",
        partner.text
    );
    // The admin's own first login still works, and is an admin.
    let login = login_on(&s.gateway, "root@example.com", "admin-password-123").await;
    assert_eq!(
        (login.status, login.body["user"]["role"].as_str()),
        (200, Some("ADMIN")),
        "{}",
        login.text
    );
}

/// Configuration is authoritative at every login, and a changed secret reaches new containers
/// without a redeploy: a new password hash takes effect, an admin removed from the list logs in
/// as a customer, and an account registered before its email was configured becomes the admin.
#[tokio::test]
async fn admin_configuration_is_authoritative_at_every_login() {
    let s = stack().await;
    // Registered as a customer before anyone configured the address.
    let early = s
        .call("POST", "/api/v1/auth/register")
        .json(
            &json!({"email": "ops@example.com", "password": "customer-password-1", "name": "Ops"}),
        )
        .send()
        .await;
    assert_eq!(early.status, 201, "{}", early.text);

    s.put_secret(
        SecretSet::AdminAccounts,
        &admins(&[
            ("root@example.com", "first-password-1"),
            ("ops@example.com", "ops-password-12"),
        ]),
    )
    .await;
    let gw = s.fresh_gateway();
    let root = login_on(&gw, "root@example.com", "first-password-1").await;
    assert_eq!(
        (root.status, root.body["user"]["role"].as_str()),
        (200, Some("ADMIN")),
        "{}",
        root.text
    );
    let ops = login_on(&gw, "ops@example.com", "ops-password-12").await;
    assert_eq!(
        (ops.status, ops.body["user"]["role"].as_str()),
        (200, Some("ADMIN")),
        "{}",
        ops.text
    );
    assert_eq!(
        ops.body["user"]["userId"], early.body["userId"],
        "the same account, promoted"
    );
    let old = login_on(&gw, "ops@example.com", "customer-password-1").await;
    assert_eq!(
        old.status, 401,
        "the configured hash replaced the registered one"
    );

    // Rotated: root's hash changes, ops is removed.
    s.put_secret(
        SecretSet::AdminAccounts,
        &admins(&[("root@example.com", "second-password-2")]),
    )
    .await;
    let warm = login_on(&gw, "root@example.com", "first-password-1").await;
    assert_eq!(
        warm.status, 200,
        "a warm container keeps what it read at its cold start"
    );
    let gw = s.fresh_gateway();
    assert_eq!(
        login_on(&gw, "root@example.com", "first-password-1")
            .await
            .status,
        401
    );
    let root = login_on(&gw, "root@example.com", "second-password-2").await;
    assert_eq!(
        (root.status, root.body["user"]["role"].as_str()),
        (200, Some("ADMIN")),
        "{}",
        root.text
    );
    let ops = login_on(&gw, "ops@example.com", "ops-password-12").await;
    assert_eq!(
        (ops.status, ops.body["user"]["role"].as_str()),
        (200, Some("CUSTOMER")),
        "{}",
        ops.text
    );
    let token = ops.body["accessToken"].as_str().expect("token");
    let city = json!({"name": "Pune", "timeZone": "Asia/Kolkata", "currency": "INR", "convenienceFeePerTicket": 2500, "taxPercent": 18});
    let put = call_on(&gw, "PUT", "/api/v1/admin/cities/pune")
        .token(token)
        .json(&city)
        .send()
        .await;
    assert_eq!(put.status, 403, "{}", put.text);
}

/// A function whose secret is weak (or missing) does not start: a clear log line naming the key,
/// never its value, and the contract's generic 500, never a token signed with a weak key.
#[tokio::test]
async fn a_function_with_a_weak_secret_refuses_to_start() {
    let s = stack().await;
    let weak = "too-short-key";
    s.put_secret(SecretSet::JwtKeys, &json!({ "jwtSecret": weak }))
        .await;
    let (captured, _guard) = logs::capture();
    let gw = s.fresh_gateway();
    let r = call_on(&gw, "GET", "/api/v1/me/bookings")
        .token("x")
        .send()
        .await;
    assert_eq!((r.status, r.code()), (500, "INTERNAL_ERROR"), "{}", r.text);
    assert!(
        !r.text.contains("jwtSecret") && !r.text.contains(weak),
        "{}",
        r.text
    );
    let logged = captured.text();
    assert!(
        logged.contains("configuration refused") && logged.contains("jwtSecret"),
        "{logged}"
    );
    assert!(
        !logged.contains(weak),
        "the value leaked into the log: {logged}"
    );
    // Functions that do not read the JWT keys are unaffected.
    assert_eq!(
        call_on(&gw, "GET", "/api/v1/cities").send().await.status,
        200
    );

    s.put_secret(SecretSet::JwtKeys, &json!({})).await;
    let gw = s.fresh_gateway();
    let r = call_on(&gw, "GET", "/api/v1/me/bookings")
        .token("x")
        .send()
        .await;
    assert_eq!(r.status, 500, "a missing key refuses too: {}", r.text);
}
