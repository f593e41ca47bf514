//! SDK-level failure injection (the only kind of mock used): an HTTP client in front of DynamoDB
//! Local that answers a genuine `ThrottlingException` to every request of one operation (or any)
//! whose body mentions a chosen string, without sending it: a real throttle never executes.

use aws_smithy_runtime_api::{
    client::{
        http::{
            HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings,
            SharedHttpClient, SharedHttpConnector,
        },
        orchestrator::HttpRequest,
        runtime_components::RuntimeComponents,
    },
    http::{Response, StatusCode},
};
use aws_smithy_types::body::SdkBody;

#[derive(Debug, Clone)]
pub struct ThrottleWhen {
    pub inner: SharedHttpClient,
    pub marker: String,
    /// Only this DynamoDB operation (e.g. `TransactWriteItems`); `None` for every one.
    pub operation: Option<String>,
}

impl HttpClient for ThrottleWhen {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(ThrottleConnector {
            inner: self.inner.http_connector(settings, components),
            marker: self.marker.clone(),
            operation: self.operation.clone(),
        })
    }
}

#[derive(Debug)]
struct ThrottleConnector {
    inner: SharedHttpConnector,
    marker: String,
    operation: Option<String>,
}

impl HttpConnector for ThrottleConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        let operation_matches = self
            .operation
            .as_ref()
            .is_none_or(|op| target.ends_with(&format!(".{op}")));
        let hit = operation_matches
            && request
                .body()
                .bytes()
                .is_some_and(|b| String::from_utf8_lossy(b).contains(&self.marker));
        if !hit {
            return self.inner.call(request);
        }
        HttpConnectorFuture::new(async move {
            let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;
            let mut resp = Response::new(
                StatusCode::from(hyper::StatusCode::BAD_REQUEST),
                SdkBody::from(body),
            );
            resp.headers_mut()
                .insert("content-type", "application/x-amz-json-1.0");
            Ok(resp)
        })
    }
}
