//! An in-process stand-in for API Gateway (HTTP API, payload 2.0) on one local port: it matches
//! the template's routes, builds the same v2 event AWS would send, lets lambda_http turn it into
//! a `Request` exactly as in Lambda, and calls the function's handler. It also answers the Lambda
//! Invoke API (`POST /2015-03-31/functions/{name}/invocations`), so `cargo lambda invoke` and the
//! AWS CLI can invoke any function with an events/ file.

use crate::{registry, template::Template};
use boxoffice::{routes::match_path, runtime::Handler, ApiError, Deps};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{body::Incoming, server::conn::http1, service::service_fn, StatusCode};
use hyper_util::rt::TokioIo;
use lambda_http::Body;
use serde_json::{json, Map, Value};
use std::{future::Future, sync::Arc};
use tokio::net::TcpListener;

/// API Gateway's own payload limit; the functions enforce the contract's 64 KiB themselves.
const GATEWAY_MAX_BODY: usize = 10 * 1024 * 1024;

pub struct Gateway {
    routes: Vec<(String, String, String)>,
    default_function: Option<String>,
    functions: registry::Functions,
}

type HyperResponse = hyper::Response<Full<Bytes>>;

impl Gateway {
    pub fn new(template: &Template, deps: Deps) -> Self {
        Gateway {
            routes: template.http_routes(),
            default_function: template.default_route_function().map(str::to_owned),
            functions: registry::Functions::new(deps),
        }
    }

    /// The stack's own dependencies (each function runs on its own copy: `registry::Functions`).
    pub fn deps(&self) -> &Deps {
        self.functions.base()
    }

    /// Serves until `shutdown` resolves.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                _ = &mut shutdown => return,
                a = listener.accept() => a,
            };
            let Ok((stream, _)) = accepted else { continue };
            let gw = self.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let gw = gw.clone();
                    async move { Ok::<_, std::convert::Infallible>(gw.handle(req).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }

    async fn handle(&self, req: hyper::Request<Incoming>) -> HyperResponse {
        let (parts, body) = req.into_parts();
        let body = match Limited::new(body, GATEWAY_MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return to_hyper(ApiError::PayloadTooLarge.to_response(&uuid_like())),
        };
        let path = parts.uri.path();
        if let Some(name) = path
            .strip_prefix("/2015-03-31/functions/")
            .and_then(|r| r.strip_suffix("/invocations"))
        {
            return self.invoke_api(name, &body).await;
        }
        match self.dispatch(&parts, &body).await {
            Some(resp) => to_hyper(resp),
            None => plain(StatusCode::BAD_GATEWAY, "no function for this route"),
        }
    }

    /// One HTTP request through route matching, the v2 event and the function's handler: what a
    /// request to the port does, without the socket (tests and benchmarks use this).
    pub async fn call(&self, req: hyper::Request<Bytes>) -> lambda_http::Response<Body> {
        let (parts, body) = req.into_parts();
        match self.dispatch(&parts, &body).await {
            Some(resp) => resp,
            None => {
                ApiError::Internal("no function for this route".into()).to_response(&uuid_like())
            }
        }
    }

    async fn dispatch(
        &self,
        parts: &hyper::http::request::Parts,
        body: &Bytes,
    ) -> Option<lambda_http::Response<Body>> {
        let event = self.http_event(parts, body);
        self.dispatch_http_event(&event).await
    }

    /// Routes a v2 event to its function, as API Gateway would.
    pub async fn dispatch_http_event(&self, event: &Value) -> Option<lambda_http::Response<Body>> {
        let function = event["routeKey"]
            .as_str()
            .and_then(|rk| {
                self.routes
                    .iter()
                    .find(|(m, p, _)| format!("{m} {p}") == rk)
            })
            .map(|(_, _, f)| f.clone())
            .or_else(|| self.default_function.clone())?;
        let request = lambda_http::request::from_str(&event.to_string()).ok()?;
        registry::invoke_http(&function, &self.functions, request).await
    }

    /// The v2 event API Gateway sends for this request.
    pub fn http_event(&self, parts: &hyper::http::request::Parts, body: &Bytes) -> Value {
        let method = parts.method.as_str();
        let path = parts.uri.path();
        let matched = self.routes.iter().find_map(|(m, p, _)| {
            (m == method)
                .then(|| match_path(p, path).map(|params| (p, params)))
                .flatten()
        });
        let (route_key, path_params) = match matched {
            Some((p, params)) => (format!("{method} {p}"), Some(params)),
            None => ("$default".to_owned(), None),
        };
        let mut headers = Map::new();
        let mut cookies = Vec::new();
        for (k, v) in &parts.headers {
            let Ok(v) = v.to_str() else { continue };
            if k == "cookie" {
                cookies.extend(v.split(';').map(|c| Value::String(c.trim().to_owned())));
                continue;
            }
            let entry = headers
                .entry(k.as_str().to_owned())
                .or_insert_with(|| Value::String(String::new()));
            if let Value::String(s) = entry {
                if !s.is_empty() {
                    s.push(',');
                }
                s.push_str(v);
            }
        }
        let raw_query = parts.uri.query().unwrap_or("");
        let mut query = Map::new();
        for (k, v) in form_pairs(raw_query) {
            let entry = query
                .entry(k)
                .or_insert_with(|| Value::String(String::new()));
            if let Value::String(s) = entry {
                if !s.is_empty() {
                    s.push(',');
                }
                s.push_str(&v);
            }
        }
        let (body_value, is_base64) = match std::str::from_utf8(body) {
            _ if body.is_empty() => (Value::Null, false),
            Ok(text) => (Value::String(text.to_owned()), false),
            Err(_) => {
                use base64::Engine;
                (
                    Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
                    true,
                )
            }
        };
        let now = chrono::Utc::now();
        let mut event = json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": path,
            "rawQueryString": raw_query,
            "headers": headers,
            "requestContext": {
                "accountId": "000000000000",
                "apiId": "local",
                "domainName": "127.0.0.1",
                "domainPrefix": "local",
                "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                          "userAgent": parts.headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("") },
                "requestId": uuid_like(),
                "routeKey": route_key,
                "stage": "$default",
                "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
                "timeEpoch": now.timestamp_millis(),
            },
            "isBase64Encoded": is_base64,
        });
        if let Some(obj) = event.as_object_mut() {
            if !cookies.is_empty() {
                obj.insert("cookies".into(), Value::Array(cookies));
            }
            if !query.is_empty() {
                obj.insert("queryStringParameters".into(), Value::Object(query));
            }
            if let Some(params) = path_params.filter(|p| !p.is_empty()) {
                let map: Map<String, Value> = params
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect();
                obj.insert("pathParameters".into(), Value::Object(map));
            }
            if !body_value.is_null() {
                obj.insert("body".into(), body_value);
            }
        }
        event
    }

    /// The Lambda Invoke API: the body is the raw event, the answer the function's raw result.
    async fn invoke_api(&self, name: &str, event: &Bytes) -> HyperResponse {
        let kind = registry::function(name).map(|(_, f)| f.handler);
        if let Some(Handler::Sqs(_)) = kind {
            return match serde_json::from_slice(event) {
                Ok(ev) => match registry::invoke_sqs(name, &self.functions, ev).await {
                    Some(out) => json_response(
                        StatusCode::OK,
                        serde_json::to_value(out).unwrap_or(Value::Null),
                    ),
                    None => plain(StatusCode::NOT_FOUND, "function not found"),
                },
                Err(e) => json_response(
                    StatusCode::BAD_REQUEST,
                    json!({ "Type": "User", "message": e.to_string() }),
                ),
            };
        }
        if let Some(Handler::Event(_)) = kind {
            return match serde_json::from_slice(event) {
                Ok(ev) => match registry::invoke_event(name, &self.functions, ev).await {
                    Some(Ok(out)) => json_response(StatusCode::OK, out),
                    Some(Err(e)) => json_response(
                        StatusCode::OK,
                        json!({ "errorType": "HandlerError", "errorMessage": e }),
                    ),
                    None => plain(StatusCode::NOT_FOUND, "function not found"),
                },
                Err(e) => json_response(
                    StatusCode::BAD_REQUEST,
                    json!({ "Type": "User", "message": e.to_string() }),
                ),
            };
        }
        let Some(Handler::Http(_)) = kind else {
            return json_response(
                StatusCode::NOT_FOUND,
                json!({ "Type": "User", "message": format!("Function not found: {name}") }),
            );
        };
        let Ok(text) = std::str::from_utf8(event) else {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({ "Type": "User", "message": "event is not UTF-8" }),
            );
        };
        let request = match lambda_http::request::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                return json_response(
                    StatusCode::BAD_REQUEST,
                    json!({ "Type": "User", "message": e.to_string() }),
                )
            }
        };
        match registry::invoke_http(name, &self.functions, request).await {
            Some(resp) => json_response(StatusCode::OK, v2_response(resp)),
            None => plain(StatusCode::NOT_FOUND, "function not found"),
        }
    }
}

/// A handler's response as the API Gateway v2 response payload.
pub fn v2_response(resp: lambda_http::Response<Body>) -> Value {
    let mut headers = Map::new();
    for (k, v) in resp.headers() {
        if let Ok(v) = v.to_str() {
            headers.insert(k.as_str().to_owned(), Value::String(v.to_owned()));
        }
    }
    let status = resp.status().as_u16();
    let (body, b64) = match resp.into_body() {
        Body::Text(t) => (t, false),
        Body::Binary(b) => {
            use base64::Engine;
            (base64::engine::general_purpose::STANDARD.encode(b), true)
        }
        _ => (String::new(), false),
    };
    json!({ "statusCode": status, "headers": headers, "body": body, "isBase64Encoded": b64 })
}

/// What a client of the port receives: the handler's response through the Lambda response
/// payload (`v2_response`: a binary body base64-encoded with `isBase64Encoded`) and back, as API
/// Gateway decodes it, so an image or any binary body crosses the same encoding as deployed.
fn to_hyper(resp: lambda_http::Response<Body>) -> HyperResponse {
    let (parts, body) = resp.into_parts();
    let status = parts.status;
    let headers = parts.headers.clone();
    let payload = v2_response(lambda_http::Response::from_parts(parts, body));
    let text = payload["body"].as_str().unwrap_or_default();
    let bytes = if payload["isBase64Encoded"] == Value::Bool(true) {
        use base64::Engine;
        match base64::engine::general_purpose::STANDARD.decode(text) {
            Ok(b) => Bytes::from(b),
            Err(_) => return plain(StatusCode::BAD_GATEWAY, "malformed base64 body"),
        }
    } else {
        Bytes::from(text.to_owned())
    };
    let mut out = hyper::Response::new(Full::new(bytes));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    out
}

fn json_response(status: StatusCode, v: Value) -> HyperResponse {
    let mut out = hyper::Response::new(Full::new(Bytes::from(v.to_string())));
    *out.status_mut() = status;
    out.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    out
}

fn plain(status: StatusCode, text: &'static str) -> HyperResponse {
    let mut out = hyper::Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *out.status_mut() = status;
    out
}

fn uuid_like() -> String {
    boxoffice::ids::new_id("req")
}

/// `a=1&b=x%20y` → pairs, percent- and plus-decoded.
fn form_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_strings_decode() {
        assert_eq!(
            super::form_pairs("a=1&b=x%20y+z&c"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y z".into()),
                ("c".into(), "".into())
            ]
        );
        assert_eq!(super::percent_decode("%zz%4"), "%zz%4");
    }
}
