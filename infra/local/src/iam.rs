//! Which AWS actions each function really calls, on which resources: the local stand-in for IAM.
//! DynamoDB Local and moto check no permissions, so the `iam_conformance` test records every
//! request a function sends (through the HTTP client every SDK client of the stack shares) and
//! compares the record with the function's policy in template.yaml.
//!
//! Requests are attributed to the function whose invocation (or cold start) sent them: the
//! registry runs each one inside `in_function`. Recording is off unless a test turns it on, so
//! the bench's clients pay one atomic load per request.

use aws_smithy_runtime_api::client::{
    http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
        SharedHttpConnector,
    },
    orchestrator::HttpRequest,
    runtime_components::RuntimeComponents,
};
use serde_json::Value;
use std::{
    collections::BTreeSet,
    future::Future,
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex,
    },
};

tokio::task_local! {
    static FUNCTION: &'static str;
}

static RECORDING: AtomicBool = AtomicBool::new(false);
static RECORDS: Mutex<BTreeSet<Call>> = Mutex::new(BTreeSet::new());

/// One AWS action a function called, on one physical resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Call {
    pub function: String,
    /// IAM's name for it, e.g. `dynamodb:PutItem`.
    pub action: String,
    pub resource: Resource,
}

/// A resource as the request names it (physical names; the test maps them to logical ids).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resource {
    Table(String),
    Index {
        table: String,
        index: String,
    },
    Queue(String),
    Bus(String),
    Secret(String),
    SesIdentity,
    /// A request this module cannot attribute to a resource (so the test fails on it).
    Unknown(String),
}

/// Runs `fut` as (an invocation or cold start of) `function`.
pub async fn in_function<F: Future>(function: &'static str, fut: F) -> F::Output {
    FUNCTION.scope(function, fut).await
}

/// From now on, every request sent inside `in_function` is recorded.
pub fn start_recording() {
    RECORDING.store(true, Ordering::SeqCst);
}

/// Everything recorded so far (by every stack in this process: filter by resource names).
pub fn recorded() -> Vec<Call> {
    match RECORDS.lock() {
        Ok(r) => r.iter().cloned().collect(),
        Err(poisoned) => poisoned.into_inner().iter().cloned().collect(),
    }
}

fn record(calls: Vec<Call>) {
    let mut records = match RECORDS.lock() {
        Ok(r) => r,
        Err(poisoned) => poisoned.into_inner(),
    };
    records.extend(calls);
}

/// The IAM actions and resources of one SDK request.
pub fn actions_of(target: Option<&str>, path: &str, body: &[u8]) -> Vec<(String, Resource)> {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let Some((service, operation)) = target.and_then(|t| t.split_once('.')) else {
        // SES v2 is a REST API (no X-Amz-Target): SendEmail is POST /v2/email/outbound-emails.
        return if path.starts_with("/v2/email/outbound-emails") {
            vec![("ses:SendEmail".into(), Resource::SesIdentity)]
        } else {
            vec![(format!("unknown:{path}"), Resource::Unknown(path.into()))]
        };
    };
    match service {
        "DynamoDB_20120810" => dynamodb_actions(operation, &json),
        "AmazonSQS" => vec![(
            // SendMessageBatch is authorised as sqs:SendMessage (likewise Delete/ChangeVisibility).
            format!("sqs:{}", operation.trim_end_matches("Batch")),
            Resource::Queue(s(&json["QueueUrl"])),
        )],
        "AWSEvents" => {
            let buses: BTreeSet<String> = json["Entries"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| e["EventBusName"].as_str().unwrap_or("default").to_owned())
                .collect();
            buses
                .into_iter()
                .map(|b| (format!("events:{operation}"), Resource::Bus(b)))
                .collect()
        }
        "secretsmanager" => vec![(
            format!("secretsmanager:{operation}"),
            Resource::Secret(s(&json["SecretId"])),
        )],
        other => vec![(
            format!("{other}:{operation}"),
            Resource::Unknown(other.into()),
        )],
    }
}

/// DynamoDB: a transaction is authorised item by item (Put → PutItem, …), index reads on the
/// index's ARN, batch reads on each table.
fn dynamodb_actions(operation: &str, json: &Value) -> Vec<(String, Resource)> {
    let table = |v: &Value| Resource::Table(v.as_str().unwrap_or_default().to_owned());
    match operation {
        "TransactWriteItems" | "TransactGetItems" => json["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                let (kind, body) = item.as_object()?.iter().next()?;
                let action = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    "Get" => "GetItem",
                    other => other,
                };
                Some((format!("dynamodb:{action}"), table(&body["TableName"])))
            })
            .collect(),
        "BatchGetItem" | "BatchWriteItem" => json["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, _)| {
                (
                    format!("dynamodb:{operation}"),
                    Resource::Table(name.clone()),
                )
            })
            .collect(),
        _ => {
            let resource = match json["IndexName"].as_str() {
                Some(index) => Resource::Index {
                    table: json["TableName"].as_str().unwrap_or_default().to_owned(),
                    index: index.to_owned(),
                },
                None => table(&json["TableName"]),
            };
            vec![(format!("dynamodb:{operation}"), resource)]
        }
    }
}

/// The stack's HTTP client with the recorder in front.
#[derive(Debug, Clone)]
pub struct RecordingHttpClient {
    inner: SharedHttpClient,
}

impl RecordingHttpClient {
    pub fn new(inner: SharedHttpClient) -> Self {
        RecordingHttpClient { inner }
    }
}

impl HttpClient for RecordingHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(RecordingConnector {
            inner: self.inner.http_connector(settings, components),
        })
    }
}

#[derive(Debug)]
struct RecordingConnector {
    inner: SharedHttpConnector,
}

impl HttpConnector for RecordingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        if RECORDING.load(Ordering::Relaxed) {
            if let Ok(function) = FUNCTION.try_with(|f| *f) {
                let target = request.headers().get("x-amz-target");
                let path = request.uri().split('?').next().unwrap_or_default();
                let path = path
                    .find("://")
                    .and_then(|i| path[i + 3..].find('/').map(|j| &path[i + 3 + j..]))
                    .unwrap_or(path);
                let body = request.body().bytes().unwrap_or_default();
                record(
                    actions_of(target, path, body)
                        .into_iter()
                        .map(|(action, resource)| Call {
                            function: function.to_owned(),
                            action,
                            resource,
                        })
                        .collect(),
                );
            }
        }
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_map_to_the_actions_iam_checks() {
        let tx = br#"{"TransactItems":[{"Put":{"TableName":"t"}},{"Update":{"TableName":"t"}},{"ConditionCheck":{"TableName":"t"}},{"Delete":{"TableName":"t"}}]}"#;
        let actions: Vec<String> =
            actions_of(Some("DynamoDB_20120810.TransactWriteItems"), "/", tx)
                .into_iter()
                .map(|(a, _)| a)
                .collect();
        assert_eq!(
            actions,
            [
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:ConditionCheckItem",
                "dynamodb:DeleteItem"
            ]
        );
        assert_eq!(
            actions_of(
                Some("DynamoDB_20120810.Query"),
                "/",
                br#"{"TableName":"t","IndexName":"gsi1"}"#
            ),
            vec![(
                "dynamodb:Query".into(),
                Resource::Index {
                    table: "t".into(),
                    index: "gsi1".into()
                }
            )]
        );
        assert_eq!(
            actions_of(
                Some("AmazonSQS.SendMessageBatch"),
                "/",
                br#"{"QueueUrl":"http://q/1/x"}"#
            ),
            vec![(
                "sqs:SendMessage".into(),
                Resource::Queue("http://q/1/x".into())
            )]
        );
        assert_eq!(
            actions_of(
                Some("AWSEvents.PutEvents"),
                "/",
                br#"{"Entries":[{"EventBusName":"b"},{"EventBusName":"b"}]}"#
            ),
            vec![("events:PutEvents".into(), Resource::Bus("b".into()))]
        );
        assert_eq!(
            actions_of(
                Some("secretsmanager.GetSecretValue"),
                "/",
                br#"{"SecretId":"arn:s"}"#
            ),
            vec![(
                "secretsmanager:GetSecretValue".into(),
                Resource::Secret("arn:s".into())
            )]
        );
        assert_eq!(
            actions_of(None, "/v2/email/outbound-emails", b"{}"),
            vec![("ses:SendEmail".into(), Resource::SesIdentity)]
        );
    }
}
