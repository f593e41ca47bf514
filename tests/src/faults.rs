//! SDK-level failure injection (the only kind of mock used): an HTTP client in front of the
//! emulators that, for requests of one operation (or any) whose body mentions a chosen string,
//! answers a genuine `ThrottlingException` without sending it, never answers, sends it but loses
//! the response, or fails to connect. Everything else passes through to the real emulator.

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
}

#[derive(Debug, Clone)]
pub struct FaultWhen {
    pub inner: SharedHttpClient,
    pub fault: Fault,
    /// Only requests whose body contains this ("" for all).
    pub marker: String,
    /// Only this operation (the `X-Amz-Target` suffix, e.g. `TransactWriteItems`); `None` for all.
    pub operation: Option<String>,
    /// How many requests the fault hit so far.
    pub hits: Arc<AtomicUsize>,
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
        match self.when.fault {
            Fault::Throttle => HttpConnectorFuture::ready(Ok(throttled())),
            Fault::Hang => HttpConnectorFuture::new(std::future::pending()),
            Fault::Unreachable => HttpConnectorFuture::ready(Err(ConnectorError::io(
                "connection refused (injected)".into(),
            ))),
            Fault::LoseFirstResponse if earlier_hits > 0 => self.inner.call(request),
            Fault::LoseFirstResponse => {
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
