//! Request extraction (body, path, query, headers), correlation ids and JSON responses.

use crate::error::ApiError;
use lambda_http::{http::StatusCode, Body, Request, RequestExt, Response};
use serde::{de::DeserializeOwned, Serialize};
use std::future::Future;
use tracing::Instrument;

pub const CORRELATION_HEADER: &str = "x-correlation-id";
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub type HttpResult = Result<Response<Body>, ApiError>;

/// The request's correlation id when it is well-formed (1–128 of `[A-Za-z0-9._:-]`), else a new UUID.
pub fn correlation_id(req: &Request) -> String {
    req.headers()
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_token(v, 1, 128))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

fn is_token(v: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// Runs a handler inside a span carrying the correlation id, turns its error into the contract's
/// error JSON, and echoes the correlation id on every response.
pub async fn serve<F, Fut>(req: Request, handler: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = HttpResult>,
{
    let cid = correlation_id(&req);
    let span = tracing::info_span!("request", correlation_id = %cid, method = %req.method(), path = %req.uri().path());
    async move {
        let mut response = match handler(req).await {
            Ok(response) => response,
            Err(e) => {
                if e.status().is_server_error() {
                    tracing::error!(code = e.code(), error = %e, "request failed");
                } else {
                    tracing::info!(
                        code = e.code(),
                        status = e.status().as_u16(),
                        "request refused"
                    );
                }
                e.to_response(&cid)
            }
        };
        if let Ok(value) = cid.parse() {
            response.headers_mut().insert(CORRELATION_HEADER, value);
        }
        tracing::info!(status = response.status().as_u16(), "request done");
        response
    }
    .instrument(span)
    .await
}

pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

/// Parses a JSON body: 413 over 64 KiB, 415 when not JSON, 400 when malformed, when a field is
/// unknown (the body types use `deny_unknown_fields`) or when nested too deep.
pub fn parse_json<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes = body_bytes(req);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media_type != "application/json" {
        return Err(ApiError::UnsupportedMediaType);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::validation("A JSON request body is required."));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::validation(format!("Invalid request body: {e}")))
}

/// A path parameter by name (API Gateway fills them from the route template).
pub fn path_param(req: &Request, name: &str) -> Result<String, ApiError> {
    req.path_parameters_ref()
        .and_then(|p| p.first(name))
        .map(str::to_owned)
        .ok_or_else(|| ApiError::validation(format!("Path parameter {name} is missing.")))
}

pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_owned)
}

/// The stored answer to a request retried under its `Idempotency-Key`: replayed for the same
/// request, refused for another request under the same key.
pub fn replay(record: crate::store::bookings::IdempotencyRecord, request_hash: &str) -> HttpResult {
    if record.request_hash != request_hash {
        return Err(ApiError::IdempotencyKeyReused);
    }
    json_text(
        StatusCode::from_u16(record.status).unwrap_or(StatusCode::CREATED),
        record.body,
    )
}

/// An optional `YYYY-MM-DD` query parameter (a 400 when present and not a date).
pub fn date_param(req: &Request, name: &str) -> Result<Option<chrono::NaiveDate>, ApiError> {
    query_param(req, name)
        .map(|d| {
            chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .map_err(|_| ApiError::validation(format!("{name} must be YYYY-MM-DD.")))
        })
        .transpose()
}

pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The `Idempotency-Key` header: a UUID or 8–128 printable ASCII characters.
pub fn idempotency_key(req: &Request) -> Result<Option<String>, ApiError> {
    match req.headers().get(IDEMPOTENCY_HEADER) {
        None => Ok(None),
        Some(v) => match v.to_str() {
            Ok(k)
                if (8..=128).contains(&k.len())
                    && k.bytes().all(|b| (0x21..=0x7e).contains(&b)) =>
            {
                Ok(Some(k.to_owned()))
            }
            _ => Err(ApiError::validation(
                "Idempotency-Key must be a UUID or 8–128 printable characters.",
            )),
        },
    }
}

/// `limit` (1–100, default 20) for list endpoints.
pub fn page_limit(req: &Request) -> Result<i32, ApiError> {
    match query_param(req, "limit") {
        None => Ok(20),
        Some(s) => s
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| ApiError::validation("limit must be an integer from 1 to 100.")),
    }
}

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> HttpResult {
    json_text(
        status,
        serde_json::to_string(value).map_err(ApiError::internal)?,
    )
}

/// A response whose JSON body is already serialized (e.g. a stored idempotent response).
pub fn json_text(status: StatusCode, body: String) -> HttpResult {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(body))
        .map_err(ApiError::internal)
}

pub fn ok<T: Serialize>(value: &T) -> HttpResult {
    json(StatusCode::OK, value)
}

/// A page of a listing as the contract answers it: `{<field>: items, nextCursor}`, the cursor
/// absent at the end.
pub fn page_body<T: Serialize>(
    field: &str,
    items: &T,
    next_cursor: Option<String>,
) -> serde_json::Value {
    let mut body = serde_json::json!({ field: items });
    if let Some(c) = next_cursor {
        body["nextCursor"] = c.into();
    }
    body
}

/// How long each public read may be cached, in seconds (the contract: `Cache-Control` on every
/// public read, the seat map's availability for at most a second or two).
pub mod max_age {
    /// Seat states change with every hold: a cached seat map is at most this stale.
    pub const SEAT_MAP: u32 = 1;
    /// Browse's availability counts come from the shows' sold counters, changed by every sale.
    pub const BROWSE: u32 = 5;
    /// Movies, theatres and cities change only when a partner or an admin edits them.
    pub const CATALOG: u32 = 60;
}

/// A public read's 200: the body with its `ETag` (a hash of the body: equal bodies, equal tags,
/// in every container) and `Cache-Control: public, max-age`; a `304` without a body when the
/// request's `If-None-Match` already names this tag.
pub fn cacheable<T: Serialize>(req: &Request, value: &T, max_age_seconds: u32) -> HttpResult {
    tagged(req, value, &format!("public, max-age={max_age_seconds}"))
}

/// The same for what never changes once written (a show's layout and prices): a year, and
/// `immutable`, so neither a browser nor a CDN asks again.
pub fn immutable<T: Serialize>(req: &Request, value: &T) -> HttpResult {
    tagged(req, value, "public, max-age=31536000, immutable")
}

fn tagged<T: Serialize>(req: &Request, value: &T, cache_control: &str) -> HttpResult {
    let body = serde_json::to_string(value).map_err(ApiError::internal)?;
    let digest = <sha2::Sha256 as sha2::Digest>::digest(body.as_bytes());
    let etag = format!("\"{}\"", hex::encode(&digest[..16]));
    let not_modified = header(req, "if-none-match").is_some_and(|v| names_etag(v, &etag));
    let builder = Response::builder()
        .header("etag", &etag)
        .header("cache-control", cache_control);
    if not_modified {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::Empty)
            .map_err(ApiError::internal);
    }
    builder
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::Text(body))
        .map_err(ApiError::internal)
}

/// Whether an `If-None-Match` value names `etag` (a list of tags, weak ones compared weakly as
/// RFC 9110 asks for this header, or `*`).
fn names_etag(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

pub fn created<T: Serialize>(value: &T) -> HttpResult {
    json(StatusCode::CREATED, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Thing {
        name: String,
    }

    fn req(content_type: Option<&str>, body: &str) -> Request {
        let mut r = Request::new(Body::Text(body.to_owned()));
        if let Some(ct) = content_type {
            r.headers_mut()
                .insert("content-type", ct.parse().expect("static header"));
        }
        r
    }

    #[test]
    fn body_parsing_maps_each_failure_to_its_status() {
        let j = Some("application/json; charset=utf-8");
        assert!(parse_json::<Thing>(&req(j, r#"{"name":"a"}"#)).is_ok());
        let status = |r: &Request| parse_json::<Thing>(r).unwrap_err().status().as_u16();
        assert_eq!(status(&req(j, r#"{"name":"a","x":1}"#)), 400);
        assert_eq!(status(&req(j, "{")), 400);
        assert_eq!(status(&req(j, "")), 400);
        assert_eq!(status(&req(Some("text/plain"), r#"{"name":"a"}"#)), 415);
        assert_eq!(status(&req(None, r#"{"name":"a"}"#)), 415);
        let big = format!(r#"{{"name":"{}"}}"#, "a".repeat(MAX_BODY_BYTES));
        assert_eq!(status(&req(j, &big)), 413);
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(status(&req(j, &deep)), 400);
    }

    #[test]
    fn a_public_read_answers_304_to_its_own_etag_only() {
        let value = serde_json::json!({ "seats": ["A1", "A2"] });
        let first = cacheable(&req(None, ""), &value, 1).expect("a response");
        assert_eq!(first.status(), StatusCode::OK);
        assert_eq!(first.headers()["cache-control"], "public, max-age=1");
        let etag = first.headers()["etag"].to_str().expect("ascii").to_owned();
        assert!(
            etag.starts_with('"') && etag.ends_with('"') && etag.len() == 34,
            "{etag}"
        );
        let with = |if_none_match: &str| {
            let mut r = req(None, "");
            r.headers_mut().insert(
                "if-none-match",
                if_none_match.parse().expect("a header value"),
            );
            let response = cacheable(&r, &value, 1).expect("a response");
            (
                response.status().as_u16(),
                response.headers().get("etag").cloned(),
            )
        };
        let rows = [
            (etag.clone(), 304),
            (format!("W/{etag}"), 304),
            (format!("\"other\", {etag}"), 304),
            ("*".to_owned(), 304),
            ("\"other\"".to_owned(), 200),
            (etag.trim_matches('"').to_owned(), 200),
        ];
        for (if_none_match, status) in rows {
            let (got, tag) = with(&if_none_match);
            assert_eq!(got, status, "If-None-Match: {if_none_match}");
            assert_eq!(
                tag.as_ref().and_then(|t| t.to_str().ok()),
                Some(etag.as_str())
            );
        }
        let changed = cacheable(&req(None, ""), &serde_json::json!({ "seats": ["A1"] }), 1)
            .expect("a response");
        assert_ne!(changed.headers()["etag"].to_str().ok(), Some(etag.as_str()));
    }

    #[test]
    fn correlation_ids_are_echoed_only_when_well_formed() {
        let mut r = req(None, "");
        r.headers_mut().insert(
            CORRELATION_HEADER,
            "abc-123".parse().expect("static header"),
        );
        assert_eq!(correlation_id(&r), "abc-123");
        r.headers_mut().insert(
            CORRELATION_HEADER,
            "bad id<script>".parse().expect("static header"),
        );
        assert_ne!(correlation_id(&r), "bad id<script>");
    }
}
