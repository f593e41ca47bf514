//! Authentication: HS256 JWTs (algorithm pinned; `exp`, `iss`, `aud` checked; a previous secret
//! accepted during rotation), argon2id password hashes, and role checks.

use crate::{config::JwtConfig, domain::user::Role, error::ApiError, http::header};
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub email: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub email: String,
    pub role: Role,
}

impl Principal {
    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "Your role may not perform this action.".into(),
            ))
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

pub fn issue_token(
    cfg: &JwtConfig,
    user_id: &str,
    email: &str,
    role: Role,
    now: i64,
) -> Result<String, ApiError> {
    let claims = Claims {
        sub: user_id.to_owned(),
        role,
        email: email.to_owned(),
        iss: cfg.issuer.clone(),
        aud: cfg.audience.clone(),
        iat: now,
        exp: now + cfg.ttl_seconds,
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(cfg.keys()?.current.expose().as_bytes()),
    )
    .map_err(ApiError::internal)
}

pub fn verify_token(cfg: &JwtConfig, token: &str) -> Result<Claims, ApiError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[&cfg.issuer]);
    validation.set_audience(&[&cfg.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 5;
    let keys = cfg.keys()?;
    let secrets = std::iter::once(&keys.current).chain(keys.previous.as_ref());
    // Expiry is only reported when some secret's signature matched; decode checks it first.
    let mut expired = false;
    for secret in secrets {
        match decode::<Claims>(
            token,
            &DecodingKey::from_secret(secret.expose().as_bytes()),
            &validation,
        ) {
            Ok(data) => return Ok(data.claims),
            Err(e) => {
                expired |= matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature)
            }
        }
    }
    let reason = if expired {
        "The access token has expired."
    } else {
        "The access token is invalid."
    };
    Err(ApiError::Unauthorized(reason.into()))
}

/// The caller from `Authorization: Bearer <JWT>`, or 401.
pub fn authenticate(cfg: &JwtConfig, req: &Request) -> Result<Principal, ApiError> {
    let value = header(req, "authorization").ok_or_else(|| {
        ApiError::Unauthorized("An Authorization: Bearer token is required.".into())
    })?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthorized("The Authorization header must be 'Bearer <token>'.".into())
        })?;
    let claims = verify_token(cfg, token)?;
    Ok(Principal {
        user_id: claims.sub,
        email: claims.email,
        role: claims.role,
    })
}

pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Spends the same work as a real verification, so an unknown email takes as long as a wrong password.
pub fn verify_against_dummy(password: &str) {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    if let Some(hash) = DUMMY.get_or_init(|| hash_password("dummy-password-for-timing").ok()) {
        let _ = verify_password(password, hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{JwtKeys, Secret};
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

    fn cfg() -> JwtConfig {
        JwtConfig {
            keys: Some(JwtKeys {
                current: Secret::new("current-secret-current-secret-123"),
                previous: Some(Secret::new("previous-secret-previous-secret-1")),
            }),
            issuer: "boxoffice".into(),
            audience: "boxoffice-api".into(),
            ttl_seconds: 3600,
        }
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn a_fresh_token_verifies() {
        let t = issue_token(&cfg(), "usr_1", "a@b.co", Role::Customer, now()).expect("issue");
        let c = verify_token(&cfg(), &t).expect("verify");
        assert_eq!((c.sub.as_str(), c.role), ("usr_1", Role::Customer));
    }

    #[test]
    fn expired_wrong_secret_wrong_audience_and_alg_none_are_401() {
        let c = cfg();
        let expired = issue_token(&c, "u", "e", Role::Customer, now() - 7200).expect("issue");
        assert!(
            matches!(verify_token(&c, &expired), Err(ApiError::Unauthorized(m)) if m.contains("expired"))
        );

        let mut other = cfg();
        other.keys = Some(JwtKeys {
            current: Secret::new("some-other-secret-some-other-secret"),
            previous: None,
        });
        let forged = issue_token(&other, "u", "e", Role::Admin, now()).expect("issue");
        assert!(verify_token(&c, &forged).is_err());

        let mut aud = cfg();
        aud.audience = "someone-else".into();
        let wrong_aud = issue_token(&aud, "u", "e", Role::Customer, now()).expect("issue");
        assert!(verify_token(&c, &wrong_aud).is_err());

        let mut iss = cfg();
        iss.issuer = "evil".into();
        let wrong_iss = issue_token(&iss, "u", "e", Role::Customer, now()).expect("issue");
        assert!(verify_token(&c, &wrong_iss).is_err());

        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(
            serde_json::json!({"sub":"u","role":"ADMIN","email":"e","iss":"boxoffice","aud":"boxoffice-api","iat":now(),"exp":now()+600})
                .to_string(),
        );
        assert!(verify_token(&c, &format!("{header}.{payload}.")).is_err());
        assert!(verify_token(&c, &format!("{header}.{payload}")).is_err());
    }

    #[test]
    fn tokens_signed_with_the_previous_secret_still_verify() {
        let mut old = cfg();
        old.keys = Some(JwtKeys {
            current: Secret::new("previous-secret-previous-secret-1"),
            previous: None,
        });
        let t = issue_token(&old, "u", "e", Role::Partner, now()).expect("issue");
        assert_eq!(
            verify_token(&cfg(), &t).expect("verify").role,
            Role::Partner
        );
    }

    /// A function without the keys never signs or accepts anything (no empty-key fallback).
    #[test]
    fn without_keys_nothing_is_signed_or_verified() {
        let t = issue_token(&cfg(), "u", "e", Role::Admin, now()).expect("issue");
        let mut keyless = cfg();
        keyless.keys = None;
        assert!(matches!(
            verify_token(&keyless, &t),
            Err(ApiError::Internal(_))
        ));
        assert!(matches!(
            issue_token(&keyless, "u", "e", Role::Admin, now()),
            Err(ApiError::Internal(_))
        ));
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("correct horse"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
        assert!(!verify_password("x", "not a hash"));
    }
}
