//! Small helpers shared by the benchmark's parts: requests through the in-process gateway,
//! percentiles, a seeded generator, environment knobs.

use boxoffice_local::gateway::Gateway;
use bytes::Bytes;
use serde_json::Value;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An environment knob with a default.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The value at quantile `p` (0..=1) of an ascending slice (nearest rank).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

/// A rush's answers counted.
pub struct Tally {
    /// Ascending.
    pub latencies: Vec<f64>,
    pub won: usize,
    pub conflicted: usize,
    pub five_xx: usize,
    /// Neither 201 nor 409 (5xx included), or no answer at all.
    pub other: usize,
}

/// One answer of a rush: (latency ms, the status and JSON body, or no answer).
pub type Answer<E> = (f64, Result<(u16, Value), E>);

pub fn tally<E>(results: &[Answer<E>]) -> Tally {
    let status = |want: &dyn Fn(u16) -> bool| {
        results
            .iter()
            .filter(|(_, r)| r.as_ref().is_ok_and(|(st, _)| want(*st)))
            .count()
    };
    let won = status(&|s| s == 201);
    let conflicted = status(&|s| s == 409);
    Tally {
        latencies: sorted(results.iter().map(|(ms, _)| *ms).collect()),
        won,
        conflicted,
        five_xx: status(&|s| s >= 500),
        other: results.len() - won - conflicted,
    }
}

/// "p50 / p95 / p99" of an ascending slice, in milliseconds.
pub fn p50_95_99(sorted: &[f64]) -> String {
    if sorted.is_empty() {
        return "–".into();
    }
    format!(
        "{:.1} / {:.1} / {:.1}",
        percentile(sorted, 0.50),
        percentile(sorted, 0.95),
        percentile(sorted, 0.99)
    )
}

/// xorshift64: reproducible choices without a dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self, m: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % m.max(1)
    }
}

/// One HTTP request through the gateway (route matching, the v2 event, the real handler).
pub struct Req<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub token: Option<&'a str>,
    pub headers: Vec<(&'a str, String)>,
    pub body: Option<String>,
}

impl<'a> Req<'a> {
    pub fn new(method: &'a str, path: &'a str) -> Self {
        Req {
            method,
            path,
            token: None,
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn token(mut self, token: &'a str) -> Self {
        self.token = Some(token);
        self
    }

    pub fn header(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn json(mut self, body: &Value) -> Self {
        self.body = Some(body.to_string());
        self
    }

    pub fn raw(mut self, body: String) -> Self {
        self.body = Some(body);
        self
    }

    pub fn build(&self) -> Result<hyper::Request<Bytes>, BoxError> {
        let mut b = hyper::Request::builder().method(self.method).uri(self.path);
        if let Some(t) = self.token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        if self.body.is_some() {
            b = b.header("content-type", "application/json");
        }
        for (k, v) in &self.headers {
            b = b.header(*k, v.as_str());
        }
        Ok(b.body(Bytes::from(self.body.clone().unwrap_or_default()))?)
    }

    /// Sends it; the status and the JSON body (`Null` when there is none).
    pub async fn send(&self, gw: &Gateway) -> Result<(u16, Value), BoxError> {
        let resp = gw.call(self.build()?).await;
        let status = resp.status().as_u16();
        let text = match resp.into_body() {
            lambda_http::Body::Text(t) => t,
            lambda_http::Body::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
            _ => String::new(),
        };
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }
}

/// The request's answer, or an error naming the request when the status is not `want`.
pub async fn expect(gw: &Gateway, req: Req<'_>, want: u16) -> Result<Value, BoxError> {
    let (status, body) = req.send(gw).await?;
    if status != want {
        return Err(format!(
            "{} {}: {status} (wanted {want}): {body}",
            req.method, req.path
        )
        .into());
    }
    Ok(body)
}

/// Milliseconds since `t`.
pub fn ms_since(t: std::time::Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}
