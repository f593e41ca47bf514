//! The emulators' capacity, modelled: every SDK client of the local stack sends at most
//! `MAX_IN_FLIGHT` requests at once to each emulator (DynamoDB Local; moto), the rest wait their
//! turn. DynamoDB Local is one JVM with one global transaction lock; flooded with a 2,000-request
//! rush on two busy cores it drops pooled connections and times out on its own lock ("this request
//! will succeed in actual DynamoDB"), which would surface as 503s that real DynamoDB never gives.
//! Every request still runs, in full contention: this only queues them in front of the emulator,
//! not in the code under test. Each emulator has its own turns (keyed by the request's host and
//! port), as each AWS service has its own capacity: a webhook's SQS send never waits behind the
//! flow's DynamoDB reads.

use aws_smithy_runtime_api::client::{
    http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
        SharedHttpConnector,
    },
    orchestrator::HttpRequest,
    result::ConnectorError,
    runtime_components::RuntimeComponents,
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};
use tokio::sync::Semaphore;

pub const MAX_IN_FLIGHT: usize = 64;

#[derive(Debug, Clone)]
pub struct BoundedHttpClient {
    inner: SharedHttpClient,
    permits: Permits,
}

/// Each emulator's turns, by the `host:port` its requests go to.
#[derive(Debug, Clone)]
struct Permits {
    max_in_flight: usize,
    by_emulator: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

impl Permits {
    fn of(&self, uri: &str) -> Arc<Semaphore> {
        let authority = uri
            .split_once("://")
            .map_or(uri, |(_, rest)| rest)
            .split('/')
            .next()
            .unwrap_or_default();
        let mut map = self
            .by_emulator
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(authority.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.max_in_flight)))
            .clone()
    }
}

impl BoundedHttpClient {
    pub fn new(inner: SharedHttpClient, max_in_flight: usize) -> Self {
        BoundedHttpClient {
            inner,
            permits: Permits {
                max_in_flight,
                by_emulator: Default::default(),
            },
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
    permits: Permits,
}

impl HttpConnector for BoundedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let permits = self.permits.of(request.uri());
        // `stats`: the operation (every emulator here speaks JSON with an `X-Amz-Target`).
        let op = crate::stats::enabled().then(|| {
            request
                .headers()
                .get("x-amz-target")
                .unwrap_or("other")
                .to_owned()
        });
        HttpConnectorFuture::new(async move {
            let asked = std::time::Instant::now();
            let _permit = permits
                .acquire_owned()
                .await
                .map_err(|e| ConnectorError::other(Box::new(e), None))?;
            let granted = std::time::Instant::now();
            let out = inner.call(request).await;
            if let Some(op) = op {
                crate::stats::record(format!("http wait {op}"), ms(granted - asked));
                crate::stats::record(format!("http run {op}"), ms(granted.elapsed()));
            }
            out
        })
    }
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
