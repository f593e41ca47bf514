//! SDK-level failure injection (the only kind of mock used): an HTTP client in front of the
//! emulators that, for requests of one operation (or any) whose body mentions a chosen string,
//! answers a genuine `ThrottlingException` or a `TransactionCanceledException` for a
//! `TransactionConflict` without sending it, never answers, sends it but loses the response, or
//! fails to connect. Everything else passes through to the real emulator.

use aws_smithy_runtime_api::{
    client::{
        http::{
            HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings,
            SharedHttpClient, SharedHttpConnector,
        },
        orchestrator::HttpRequest,
        result::ConnectorError,
        runtime_components::RuntimeComponents,
    },
    http::{Response, StatusCode},
};
use aws_smithy_types::body::SdkBody;
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A DynamoDB `ThrottlingException`; the request is not sent (a real throttle never executes).
    Throttle,
    /// The request is not sent and no answer ever comes: only the SDK's timeout ends the wait.
    Hang,
    /// The request reaches the emulator and executes, but its response is lost (the caller sees a
    /// timeout). Once only: the SDK's retry of the same request gets through.
    LoseFirstResponse,
    /// The connection fails: the request is not sent.
    Unreachable,
    /// A `TransactWriteItems` cancelled for a `TransactionConflict` (another transaction was
    /// writing one of its items at that moment), as DynamoDB answers it: HTTP 400, a
    /// `TransactionCanceledException` with one cancellation reason per item, `TransactionConflict`
    /// for the conflicting item (the first seat item, else the first item) and `None` for the others.
    /// The request is not sent: a cancelled transaction writes nothing. Local DynamoDB runs
    /// transactions one at a time and never answers this itself.
    TransactionConflict(Conflicts),
}

/// Which matching requests a `Fault::TransactionConflict` cancels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflicts {
    /// The first `n` matching requests conflict; every later one passes through.
    First(usize),
    /// Each matching request conflicts with probability `per_mille`/1000, decided by a generator
    /// seeded with `seed` and the request's position among the matching ones: the same sequence
    /// of decisions on every run.
    Rate { per_mille: u64, seed: u64 },
}

impl Conflicts {
    /// Whether the `i`-th matching request (from 0) conflicts.
    pub fn conflicts(self, i: usize) -> bool {
        match self {
            Conflicts::First(n) => i < n,
            Conflicts::Rate { per_mille, seed } => {
                splitmix64(seed ^ (i as u64).wrapping_mul(0xA24B_AED4_963E_E407)) % 1000 < per_mille
            }
        }
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[derive(Debug, Clone)]
pub struct FaultWhen {
    pub inner: SharedHttpClient,
    pub fault: Fault,
    /// Only requests whose body contains this ("" for all).
    pub marker: String,
    /// Only this operation (the `X-Amz-Target` suffix, e.g. `TransactWriteItems`); `None` for all.
    pub operation: Option<String>,
    /// How many requests matched so far (the operation and the marker), faulted or not.
    pub hits: Arc<AtomicUsize>,
    /// How many of them the fault actually changed (for `TransactionConflict`: the cancellations
    /// answered; the other faults change every hit they do not pass through).
    pub injected: Arc<AtomicUsize>,
}

impl FaultWhen {
    pub fn new(
        inner: SharedHttpClient,
        fault: Fault,
        marker: &str,
        operation: Option<&str>,
    ) -> Self {
        FaultWhen {
            inner,
            fault,
            marker: marker.to_owned(),
            operation: operation.map(str::to_owned),
            hits: Arc::default(),
            injected: Arc::default(),
        }
    }
}

impl HttpClient for FaultWhen {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(FaultConnector {
            inner: self.inner.http_connector(settings, components),
            when: self.clone(),
        })
    }
}

#[derive(Debug)]
struct FaultConnector {
    inner: SharedHttpConnector,
    when: FaultWhen,
}

impl HttpConnector for FaultConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        let operation_matches = self
            .when
            .operation
            .as_ref()
            .is_none_or(|op| target.ends_with(&format!(".{op}")));
        let hit = operation_matches
            && request
                .body()
                .bytes()
                .is_some_and(|b| String::from_utf8_lossy(b).contains(&self.when.marker));
        if !hit {
            return self.inner.call(request);
        }
        let earlier_hits = self.when.hits.fetch_add(1, Ordering::SeqCst);
        let injected = || self.when.injected.fetch_add(1, Ordering::SeqCst);
        match self.when.fault {
            Fault::TransactionConflict(which) if which.conflicts(earlier_hits) => {
                injected();
                let body = request.body().bytes().unwrap_or_default();
                HttpConnectorFuture::ready(Ok(transaction_conflict(body)))
            }
            Fault::TransactionConflict(_) => self.inner.call(request),
            Fault::Throttle => {
                injected();
                HttpConnectorFuture::ready(Ok(throttled()))
            }
            Fault::Hang => {
                injected();
                HttpConnectorFuture::new(std::future::pending())
            }
            Fault::Unreachable => {
                injected();
                HttpConnectorFuture::ready(Err(ConnectorError::io(
                    "connection refused (injected)".into(),
                )))
            }
            Fault::LoseFirstResponse if earlier_hits > 0 => self.inner.call(request),
            Fault::LoseFirstResponse => {
                injected();
                let sent = self.inner.call(request);
                HttpConnectorFuture::new(async move {
                    let _executed = sent.await;
                    std::future::pending().await
                })
            }
        }
    }
}

fn throttled() -> Response<SdkBody> {
    let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;
    let mut resp = Response::new(
        StatusCode::from(hyper::StatusCode::BAD_REQUEST),
        SdkBody::from(body),
    );
    resp.headers_mut()
        .insert("content-type", "application/x-amz-json-1.0");
    resp
}

/// DynamoDB's answer to a `TransactWriteItems` (`body`, its JSON request) that conflicted with
/// another transaction on one of its items: the wire format of the real service (HTTP 400,
/// `application/x-amz-json-1.0`, `__type`, `Message`, one `CancellationReasons` entry per item).
fn transaction_conflict(body: &[u8]) -> Response<SdkBody> {
    let request: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let items = request["TransactItems"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let conflicting = items
        .iter()
        .position(|i| i.to_string().contains("\"SEAT#"))
        .unwrap_or(0);
    let reasons: Vec<serde_json::Value> = (0..items.len().max(1))
        .map(|i| {
            if i == conflicting {
                serde_json::json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"})
            } else {
                serde_json::json!({"Code": "None"})
            }
        })
        .collect();
    let codes: Vec<&str> = reasons
        .iter()
        .map(|r| r["Code"].as_str().unwrap_or("None"))
        .collect();
    let answer = serde_json::json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": format!(
            "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
            codes.join(", ")
        ),
        "CancellationReasons": reasons,
    });
    let mut resp = Response::new(
        StatusCode::from(hyper::StatusCode::BAD_REQUEST),
        SdkBody::from(answer.to_string()),
    );
    resp.headers_mut()
        .insert("content-type", "application/x-amz-json-1.0");
    resp
}

/// Random DynamoDB faults for the history workload (`history`): each request, by a draw from a
/// generator seeded with `seed`, passes, is throttled (not sent), is a `TransactionConflict`
/// (a `TransactWriteItems`, not sent), commits and then loses its answer (the caller sees a
/// timeout: the write happened), or, inside an invocation armed to die (`Invocation`), after the
/// invocation's first call, never returns: the workload ends that invocation there, as Lambda
/// ends a function killed mid-flight.
#[derive(Debug, Clone)]
pub struct Chaos {
    pub inner: SharedHttpClient,
    pub rates: Arc<ChaosRates>,
}

/// Per-mille rates of each fault and how many were injected.
#[derive(Debug, Default)]
pub struct ChaosRates {
    pub seed: u64,
    pub throttle_per_mille: u64,
    pub conflict_per_mille: u64,
    pub lost_answer_per_mille: u64,
    pub throttled: AtomicUsize,
    pub conflicted: AtomicUsize,
    pub lost_answers: AtomicUsize,
    pub killed: AtomicUsize,
    pub draws: AtomicUsize,
}

impl ChaosRates {
    fn draw(&self) -> u64 {
        let i = self.draws.fetch_add(1, Ordering::Relaxed) as u64;
        splitmix64(self.seed ^ i.wrapping_mul(0xA24B_AED4_963E_E407)) % 1000
    }
}

/// One invocation that is to be killed after its first AWS call (when `armed`): `fired` tells
/// the workload the moment its second call starts.
#[derive(Debug, Default)]
pub struct Invocation {
    pub armed: bool,
    pub calls: AtomicUsize,
    pub fired: tokio::sync::Notify,
}

tokio::task_local! {
    /// The invocation the current task runs (set by the workload around a handler call).
    pub static INVOCATION: Arc<Invocation>;
}

impl HttpClient for Chaos {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(ChaosConnector {
            inner: self.inner.http_connector(settings, components),
            rates: self.rates.clone(),
        })
    }
}

#[derive(Debug)]
struct ChaosConnector {
    inner: SharedHttpConnector,
    rates: Arc<ChaosRates>,
}

impl HttpConnector for ChaosConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let kill = INVOCATION
            .try_with(|i| i.armed && i.calls.fetch_add(1, Ordering::SeqCst) >= 1)
            .unwrap_or(false);
        if kill {
            self.rates.killed.fetch_add(1, Ordering::Relaxed);
            let _ = INVOCATION.try_with(|i| i.fired.notify_one());
            return HttpConnectorFuture::new(std::future::pending());
        }
        let transaction = request
            .headers()
            .get("x-amz-target")
            .is_some_and(|t| t.ends_with(".TransactWriteItems"));
        let r = &self.rates;
        let mut d = r.draw();
        if d < r.throttle_per_mille {
            r.throttled.fetch_add(1, Ordering::Relaxed);
            return HttpConnectorFuture::ready(Ok(throttled()));
        }
        d -= r.throttle_per_mille.min(d);
        if transaction && d < r.conflict_per_mille {
            r.conflicted.fetch_add(1, Ordering::Relaxed);
            let body = request.body().bytes().unwrap_or_default();
            return HttpConnectorFuture::ready(Ok(transaction_conflict(body)));
        }
        d -= r.conflict_per_mille.min(d);
        if d < r.lost_answer_per_mille {
            r.lost_answers.fetch_add(1, Ordering::Relaxed);
            let sent = self.inner.call(request);
            return HttpConnectorFuture::new(async move {
                let _executed = sent.await;
                Err(ConnectorError::timeout(
                    "the answer was lost after the request executed (injected)".into(),
                ))
            });
        }
        self.inner.call(request)
    }
}
