//! A small typed client for the two Stripe API calls BoxOffice makes: create a PaymentIntent and
//! create a refund. Over the hyper + rustls stack the AWS SDK already links (no second HTTP or TLS
//! stack in the binaries), form-encoded as Stripe's API wants, every call with an
//! `Idempotency-Key` so a retried call is the same call at Stripe.

use crate::config::Secret;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use serde::Deserialize;
use std::{sync::Arc, time::Duration};

/// Stripe answers in well under a second; a call that takes longer than this is retried by our
/// caller (with the same idempotency key), never waited on past the Lambda's own timeout.
const CALL_TIMEOUT: Duration = Duration::from_secs(8);

#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Worth retrying with the same idempotency key: the network, a timeout, 429 or a 5xx.
    #[error("Stripe is unavailable: {0}")]
    Transient(String),
    /// Stripe refused the request (4xx): retrying the same request gives the same answer.
    #[error("Stripe refused the request ({status}): {message}")]
    Refused { status: u16, message: String },
    /// Not a request this client can make (a bad base URL or key).
    #[error("Stripe client: {0}")]
    Setup(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub client_secret: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    #[serde(default)]
    pub metadata: std::collections::HashMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Refund {
    pub id: String,
    pub amount: i64,
    pub status: String,
    #[serde(default)]
    pub payment_intent: Option<String>,
}

#[derive(Clone)]
pub struct StripeClient {
    base: Arc<str>,
    key: Arc<Secret>,
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for StripeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl StripeClient {
    /// `base` is already checked by the config (https, or http on loopback only).
    pub fn new(base: &str, key: Secret) -> Result<StripeClient, StripeError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| StripeError::Setup(e.to_string()))?;
        let tls = hyper_rustls::ConfigBuilderExt::with_native_roots(tls)
            .map_err(|e| StripeError::Setup(format!("no TLS roots: {e}")))?
            .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        let http = Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
        Ok(StripeClient {
            base: base.trim_end_matches('/').into(),
            key: Arc::new(key),
            http,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// A PaymentIntent for `amount` minor units, its metadata naming our booking and payment, so
    /// that Stripe's events lead back to them.
    pub async fn create_payment_intent(
        &self,
        amount: i64,
        currency: &str,
        booking_id: &str,
        payment_id: &str,
    ) -> Result<PaymentIntent, StripeError> {
        let form = [
            ("amount", amount.to_string()),
            ("currency", currency.to_ascii_lowercase()),
            ("metadata[bookingId]", booking_id.to_owned()),
            ("metadata[paymentId]", payment_id.to_owned()),
            ("payment_method_types[]", "card".to_owned()),
        ];
        self.post("/v1/payment_intents", &form, payment_id).await
    }

    /// Pays `amount` back on `payment_intent`; `refund_id` (ours) is the idempotency key, so a
    /// refund delivered twice is paid once.
    pub async fn create_refund(
        &self,
        payment_intent: &str,
        amount: i64,
        refund_id: &str,
        booking_id: &str,
    ) -> Result<Refund, StripeError> {
        let form = [
            ("payment_intent", payment_intent.to_owned()),
            ("amount", amount.to_string()),
            ("metadata[refundId]", refund_id.to_owned()),
            ("metadata[bookingId]", booking_id.to_owned()),
        ];
        self.post("/v1/refunds", &form, refund_id).await
    }

    /// A form POST to Stripe's API, decoded as `T` on 2xx.
    pub async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, String)],
        idempotency_key: &str,
    ) -> Result<T, StripeError> {
        let (status, bytes) = self.send(path, form, Some(idempotency_key)).await?;
        match status {
            200..=299 => serde_json::from_slice(&bytes)
                .map_err(|e| StripeError::Transient(format!("unreadable answer: {e}"))),
            429 | 500..=599 => Err(StripeError::Transient(format!("status {status}"))),
            _ => Err(StripeError::Refused {
                status,
                message: error_message(&bytes),
            }),
        }
    }

    /// A GET (a retrieve or a list), answered with its status and body.
    pub async fn get(&self, path: &str) -> Result<(u16, Bytes), StripeError> {
        let req = lambda_http::http::Request::get(format!("{}{path}", self.base))
            .header(
                "authorization",
                format!("Bearer {}", self.key.expose()).as_str(),
            )
            .body(Full::new(Bytes::new()))
            .map_err(|e| StripeError::Setup(e.to_string()))?;
        self.call(req).await
    }

    /// A form POST, answered with its status and body whatever they are (bounded in time).
    pub async fn send(
        &self,
        path: &str,
        form: &[(&str, String)],
        idempotency_key: Option<&str>,
    ) -> Result<(u16, Bytes), StripeError> {
        let mut req = lambda_http::http::Request::post(format!("{}{path}", self.base))
            .header(
                "authorization",
                format!("Bearer {}", self.key.expose()).as_str(),
            )
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(key) = idempotency_key {
            req = req.header("idempotency-key", key);
        }
        let req = req
            .body(Full::new(Bytes::from(form_encode(form))))
            .map_err(|e| StripeError::Setup(e.to_string()))?;
        self.call(req).await
    }

    async fn call(
        &self,
        req: lambda_http::http::Request<Full<Bytes>>,
    ) -> Result<(u16, Bytes), StripeError> {
        let call = async {
            let resp = self
                .http
                .request(req)
                .await
                .map_err(|e| StripeError::Transient(e.to_string()))?;
            let status = resp.status().as_u16();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| StripeError::Transient(e.to_string()))?
                .to_bytes();
            Ok::<_, StripeError>((status, bytes))
        };
        tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| StripeError::Transient("no answer in time".into()))?
    }
}

/// Stripe's `{"error": {"message": …}}`, or the status alone.
fn error_message(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "no message".into())
}

/// `application/x-www-form-urlencoded`: unreserved characters as they are, everything else
/// percent-encoded (so `[` `]` of `metadata[bookingId]` too, as Stripe's libraries send them).
pub fn form_encode(form: &[(&str, String)]) -> String {
    fn enc(s: &str, out: &mut String) {
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in form.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        enc(k, &mut out);
        out.push('=');
        enc(v, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_encoded_as_stripe_reads_them() {
        let form = [
            ("metadata[bookingId]", "bk_01".to_owned()),
            ("note", "a b&c=d/é".to_owned()),
        ];
        assert_eq!(
            form_encode(&form),
            "metadata%5BbookingId%5D=bk_01&note=a%20b%26c%3Dd%2F%C3%A9"
        );
    }

    #[test]
    fn stripe_error_bodies_give_their_message() {
        assert_eq!(
            error_message(br#"{"error":{"message":"No such payment_intent"}}"#),
            "No such payment_intent"
        );
        assert_eq!(error_message(b"<html>"), "no message");
    }
}
