//! The emulators' capacity, modelled: every SDK client of the local stack sends at most
//! `MAX_IN_FLIGHT` requests at once, the rest wait their turn. DynamoDB Local is one JVM with one
//! global transaction lock; flooded with a 2,000-request rush on two busy cores it drops pooled
//! connections and times out on its own lock ("this request will succeed in actual DynamoDB"),
//! which would surface as 503s that real DynamoDB never gives. Every request still runs, in full
//! contention: this only queues them in front of the emulator, not in the code under test.

use aws_smithy_runtime_api::client::{
    http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
        SharedHttpConnector,
    },
    orchestrator::HttpRequest,
    result::ConnectorError,
    runtime_components::RuntimeComponents,
};
use std::sync::Arc;
use tokio::sync::Semaphore;

pub const MAX_IN_FLIGHT: usize = 64;

#[derive(Debug, Clone)]
pub struct BoundedHttpClient {
    inner: SharedHttpClient,
    permits: Arc<Semaphore>,
}

impl BoundedHttpClient {
    pub fn new(inner: SharedHttpClient, max_in_flight: usize) -> Self {
        BoundedHttpClient {
            inner,
            permits: Arc::new(Semaphore::new(max_in_flight)),
        }
    }
}

impl HttpClient for BoundedHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(BoundedConnector {
            inner: self.inner.http_connector(settings, components),
            permits: self.permits.clone(),
        })
    }
}

#[derive(Debug)]
struct BoundedConnector {
    inner: SharedHttpConnector,
    permits: Arc<Semaphore>,
}

impl HttpConnector for BoundedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let permits = self.permits.clone();
        HttpConnectorFuture::new(async move {
            let _permit = permits
                .acquire_owned()
                .await
                .map_err(|e| ConnectorError::other(Box::new(e), None))?;
            inner.call(request).await
        })
    }
}
