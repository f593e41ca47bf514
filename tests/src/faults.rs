//! SDK-level failure injection (the only kind of mock used): an HTTP client in front of DynamoDB
//! Local that answers a genuine `ThrottlingException` to every request whose body mentions a
//! chosen string, without sending it, as a real throttle never executes the request.

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
        })
    }
}

#[derive(Debug)]
struct ThrottleConnector {
    inner: SharedHttpConnector,
    marker: String,
}

impl HttpConnector for ThrottleConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let hit = request
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
