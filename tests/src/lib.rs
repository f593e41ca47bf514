//! Test harness: a fresh set of template resources per test (unique prefix) in the emulators the
//! Makefile started (`AWS_ENDPOINT_URL_*`), and helpers to call functions as a client would.

use boxoffice::{
    accounts::{create_account, NewAccount},
    auth::issue_token,
    domain::user::Role,
    Deps,
};
use boxoffice_local::{gateway::Gateway, LocalStack};
use bytes::Bytes;
use lambda_http::Body;
use serde_json::Value;
use std::{collections::HashMap, sync::Arc};

pub use boxoffice_local::counter;
pub mod faults;
pub mod fixtures;
pub mod history;
pub mod logs;

pub struct TestStack {
    pub stack: LocalStack,
    pub gateway: Arc<Gateway>,
}

/// A response as a client sees it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub body: Value,
    pub text: String,
    /// The body's bytes as sent (an image's, where `text` is lossy).
    pub raw: Vec<u8>,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// The contract's 503: `SERVICE_UNAVAILABLE`, a Retry-After, and no internal detail.
    pub fn assert_unavailable(&self, what: &str) {
        assert_eq!(
            (self.status, self.code()),
            (503, "SERVICE_UNAVAILABLE"),
            "{what}: {}",
            self.text
        );
        assert!(self.headers.contains_key("retry-after"), "{what}");
        assert!(
            !self.text.contains("Throttling") && !self.text.contains("timeout"),
            "{what}: internal detail in {}",
            self.text
        );
    }
}

/// Fails the test with a clear message when the emulators are not there.
fn require_emulators() {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        panic!("AWS_ENDPOINT_URL_DYNAMODB is not set: run the suite with `make test` (it starts the emulators)");
    }
}

pub async fn stack() -> TestStack {
    stack_with(&[]).await
}

pub async fn stack_with(overrides: &[(&'static str, &str)]) -> TestStack {
    require_emulators();
    // BOXOFFICE_TEST_LOG=1 shows the handlers' JSON logs (with --nocapture) when diagnosing.
    if std::env::var("BOXOFFICE_TEST_LOG").is_ok() {
        boxoffice::logging::init();
    }
    let prefix = format!("t{}", ulid::Ulid::new().to_string().to_lowercase());
    let mut map: HashMap<&str, String> = HashMap::new();
    map.insert("HOLD_SECONDS", "30".into());
    for (k, v) in overrides {
        map.insert(k, (*v).to_owned());
    }
    let stack = LocalStack::start(&prefix, &map)
        .await
        .unwrap_or_else(|e| panic!("provisioning the test stack: {e}"));
    let gateway = Arc::new(Gateway::new(&stack.template, stack.deps.clone()));
    TestStack { stack, gateway }
}

pub struct Call<'a> {
    gateway: &'a Gateway,
    builder: hyper::http::request::Builder,
    body: Bytes,
}

impl Call<'_> {
    pub fn token(mut self, token: &str) -> Self {
        self.builder = self
            .builder
            .header("authorization", format!("Bearer {token}"));
        self
    }

    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.builder = self.builder.header(k, v);
        self
    }

    pub fn json(mut self, v: &Value) -> Self {
        self.builder = self.builder.header("content-type", "application/json");
        self.body = Bytes::from(v.to_string());
        self
    }

    pub fn raw(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        self.builder = self.builder.header("content-type", content_type);
        self.body = body.into();
        self
    }

    pub async fn send(self) -> Reply {
        let req = self
            .builder
            .body(self.body)
            .unwrap_or_else(|e| panic!("bad test request: {e}"));
        let resp = self.gateway.call(req).await;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let raw = match resp.into_body() {
            Body::Text(t) => t.into_bytes(),
            Body::Binary(b) => b,
            _ => Vec::new(),
        };
        let text = String::from_utf8_lossy(&raw).into_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
            raw,
        }
    }
}

/// A request through this gateway's routing.
pub fn call_on<'a>(gateway: &'a Gateway, method: &str, path: &str) -> Call<'a> {
    Call {
        gateway,
        builder: hyper::Request::builder().method(method).uri(path),
        body: Bytes::new(),
    }
}

impl TestStack {
    pub fn deps(&self) -> &Deps {
        &self.stack.deps
    }

    /// A gateway whose handlers use a DynamoDB client that counts its round trips.
    pub fn counted(&self) -> (Gateway, counter::CallCounter) {
        let (deps, counter) = self.counted_deps();
        (Gateway::new(&self.stack.template, deps), counter)
    }

    /// Handler dependencies (cold caches) whose DynamoDB client counts its round trips.
    pub fn counted_deps(&self) -> (Deps, counter::CallCounter) {
        let counter = counter::CallCounter::default();
        (self.deps_with_interceptor(counter.clone()), counter)
    }

    /// Handler dependencies whose DynamoDB client runs `interceptor` (counting, failure injection).
    pub fn deps_with_interceptor(
        &self,
        interceptor: impl aws_smithy_runtime_api::client::interceptors::Intercept + 'static,
    ) -> Deps {
        // The SDK's own default of 3 attempts, as in Lambda (the local stack raises it for load).
        let conf = aws_sdk_dynamodb::config::Builder::from(&self.stack.sdk)
            .interceptor(interceptor)
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3))
            .build();
        let mut deps = self.deps().clone();
        deps.store = boxoffice::store::Store::new(
            aws_sdk_dynamodb::Client::from_conf(conf),
            deps.store.table(),
        );
        deps.caches = Default::default();
        deps
    }

    /// Handler dependencies whose DynamoDB requests (of `operation`, or all) mentioning `marker`
    /// are throttled (not sent).
    pub fn deps_throttled_when(&self, marker: &str, operation: Option<&str>) -> Deps {
        self.deps_with_dynamodb_fault(self.fault(faults::Fault::Throttle, marker, operation))
    }

    /// A fault injector in front of this stack's emulators (see `faults::FaultWhen`).
    pub fn fault(
        &self,
        fault: faults::Fault,
        marker: &str,
        operation: Option<&str>,
    ) -> faults::FaultWhen {
        let inner = self
            .stack
            .sdk
            .http_client()
            .unwrap_or_else(|| panic!("the local stack sets an HTTP client"));
        faults::FaultWhen::new(inner, fault, marker, operation)
    }

    /// Handler dependencies whose DynamoDB client goes through `fault`, with the SDK's default
    /// 3 attempts and the production timeouts (`boxoffice::aws::timeouts`).
    pub fn deps_with_dynamodb_fault(&self, fault: faults::FaultWhen) -> Deps {
        let conf = aws_sdk_dynamodb::config::Builder::from(&self.stack.sdk)
            .http_client(fault)
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3))
            .timeout_config(boxoffice::aws::timeouts())
            .build();
        let mut deps = self.deps().clone();
        deps.store = boxoffice::store::Store::new(
            aws_sdk_dynamodb::Client::from_conf(conf),
            deps.store.table(),
        );
        deps.caches = Default::default();
        deps
    }

    /// Handler dependencies whose DynamoDB client goes through `fault` but otherwise keeps the
    /// local stack's configuration (its generous timeouts for a 2,000-request rush queueing at one
    /// emulator), for concurrency tests under injected faults.
    pub fn deps_under_load_with_dynamodb_fault(&self, fault: faults::FaultWhen) -> Deps {
        let conf = aws_sdk_dynamodb::config::Builder::from(&self.stack.sdk)
            .http_client(fault)
            .build();
        let mut deps = self.deps().clone();
        deps.store = boxoffice::store::Store::new(
            aws_sdk_dynamodb::Client::from_conf(conf),
            deps.store.table(),
        );
        deps.caches = Default::default();
        deps
    }

    /// One item of the stack's table by key (a consistent read), as stored; `None` when absent.
    pub async fn item(
        &self,
        pk: &str,
        sk: &str,
    ) -> Option<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        self.deps()
            .store
            .client()
            .get_item()
            .table_name(self.deps().store.table())
            .key("pk", A::S(pk.to_owned()))
            .key("sk", A::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("reading {pk}/{sk}: {e}"))
            .item
    }

    /// Every item of the stack's table (its own, per test), keyed by `pk`/`sk`, each as a sorted
    /// map of its attributes: a snapshot to compare before and after a request that must write nothing.
    pub async fn table_items(&self) -> TableItems {
        let mut all = std::collections::BTreeMap::new();
        let mut start = None;
        loop {
            let out = self
                .deps()
                .store
                .client()
                .scan()
                .table_name(self.deps().store.table())
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap_or_else(|e| panic!("scanning the table: {e}"));
            for item in out.items.unwrap_or_default() {
                let key = |k: &str| {
                    item.get(k)
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                        .unwrap_or_default()
                };
                let attrs = item
                    .iter()
                    .map(|(k, v)| (k.clone(), canonical(v)))
                    .collect();
                all.insert((key("pk"), key("sk")), attrs);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return all,
            }
        }
    }

    /// Handler dependencies whose SQS client goes through `fault` (production timeouts).
    pub fn deps_with_sqs_fault(&self, fault: faults::FaultWhen) -> Deps {
        let conf = aws_sdk_sqs::config::Builder::from(&self.stack.sdk)
            .http_client(fault)
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3))
            .timeout_config(boxoffice::aws::timeouts())
            .build();
        let mut deps = self.deps().clone();
        deps.sqs = aws_sdk_sqs::Client::from_conf(conf);
        deps
    }

    /// Handler dependencies whose EventBridge client goes through `fault` (production timeouts).
    pub fn deps_with_eventbridge_fault(&self, fault: faults::FaultWhen) -> Deps {
        let conf = aws_sdk_eventbridge::config::Builder::from(&self.stack.sdk)
            .http_client(fault)
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3))
            .timeout_config(boxoffice::aws::timeouts())
            .build();
        let mut deps = self.deps().clone();
        deps.eventbridge = aws_sdk_eventbridge::Client::from_conf(conf);
        deps
    }

    /// The template's SQS triggers, running against this stack (failed messages return after 1 s).
    pub fn start_triggers(&self) -> boxoffice_local::triggers::Triggers {
        self.start_triggers_with(self.deps())
    }

    /// The triggers with the functions' containers made from `deps` (e.g. a faulty client).
    pub fn start_triggers_with(&self, deps: &Deps) -> boxoffice_local::triggers::Triggers {
        self.start_triggers_except_with(deps, &[])
    }

    /// The triggers of every function but `except` (which the test invokes itself).
    pub fn start_triggers_except(&self, except: &[&str]) -> boxoffice_local::triggers::Triggers {
        self.start_triggers_except_with(self.deps(), except)
    }

    /// The triggers of `only` these functions, their containers made from `deps` (with
    /// `start_triggers_except(only)` for the rest: one function under a fault, the others not).
    pub fn start_triggers_only_with(
        &self,
        deps: &Deps,
        only: &[&str],
    ) -> boxoffice_local::triggers::Triggers {
        let others: Vec<&str> = self
            .stack
            .template
            .functions
            .iter()
            .map(|f| f.name.as_str())
            .filter(|name| !only.contains(name))
            .collect();
        self.start_triggers_except_with(deps, &others)
    }

    fn start_triggers_except_with(
        &self,
        deps: &Deps,
        except: &[&str],
    ) -> boxoffice_local::triggers::Triggers {
        boxoffice_local::triggers::start(
            &self.stack.template,
            &self.stack.provisioned,
            deps,
            self.sqs(),
            boxoffice_local::triggers::TriggerOptions {
                failed_visibility_seconds: 1,
                schedule_interval: None,
                schedules: false,
                except: except.iter().map(|f| (*f).to_owned()).collect(),
                faults: None,
            },
        )
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.stack.sdk)
    }

    pub fn queue_url(&self, logical_id: &str) -> String {
        self.stack
            .provisioned
            .queue_url(logical_id)
            .unwrap_or_default()
            .to_owned()
    }

    /// Messages visible or in flight on a queue.
    pub async fn queue_depth(&self, logical_id: &str) -> i64 {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let out = self
            .sqs()
            .get_queue_attributes()
            .queue_url(self.queue_url(logical_id))
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap_or_else(|e| panic!("queue attributes: {e}"));
        let attrs = out.attributes.unwrap_or_default();
        let get = |a: &A| {
            attrs
                .get(a)
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        };
        get(&A::ApproximateNumberOfMessages) + get(&A::ApproximateNumberOfMessagesNotVisible)
    }

    /// Messages visible or in flight on the local queue a function's EventBridge rule delivers to.
    pub async fn rule_queue_depth(&self, function: &str) -> i64 {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let url = self
            .stack
            .provisioned
            .rule_queues
            .get(function)
            .unwrap_or_else(|| panic!("{function} has no rule queue"));
        let out = self
            .sqs()
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap_or_else(|e| panic!("queue attributes: {e}"));
        let attrs = out.attributes.unwrap_or_default();
        [
            A::ApproximateNumberOfMessages,
            A::ApproximateNumberOfMessagesNotVisible,
        ]
        .iter()
        .map(|a| {
            attrs
                .get(a)
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        })
        .sum()
    }

    /// A request through the gateway's routing, exactly as one to the local port.
    pub fn call(&self, method: &str, path: &str) -> Call<'_> {
        call_on(&self.gateway, method, path)
    }

    /// Pays a held booking with the sandbox provider as its owner (`token`), the way a client
    /// does (open the intent, complete it), and polls until the booking is CONFIRMED (within
    /// 120 s): the confirmed booking's JSON. The stack's triggers must be running (the confirm
    /// function takes the payment from its queue).
    pub async fn pay_with_sandbox(&self, token: &str, booking_id: &str) -> Value {
        let p = self
            .call("POST", &format!("/api/v1/bookings/{booking_id}/payments"))
            .token(token)
            .header("idempotency-key", &boxoffice::ids::new_id("idem"))
            .json(&serde_json::json!({"provider": "sandbox", "returnUrl": "https://app.example.com/r"}))
            .send()
            .await;
        assert_eq!(p.status, 201, "{}", p.text);
        let intent = p.body["providerPayload"]["paymentIntentId"]
            .as_str()
            .expect("intent")
            .to_owned();
        let done = self
            .call(
                "POST",
                &format!("/api/v1/sandbox/payments/{intent}/complete"),
            )
            .token(token)
            .json(&serde_json::json!({"outcome": "succeeded"}))
            .send()
            .await;
        assert_eq!(done.status, 200, "{}", done.text);
        eventually("the booking confirmed", 120, || async {
            let b = self
                .call("GET", &format!("/api/v1/bookings/{booking_id}"))
                .token(token)
                .send()
                .await;
            (b.body["status"] == "CONFIRMED").then_some(b.body)
        })
        .await
    }

    /// A stored user of this role and a token for it.
    pub async fn user(&self, role: Role) -> (String, String) {
        let n = ulid::Ulid::new().to_string().to_lowercase();
        let account = NewAccount {
            email: format!("{n}@example.com"),
            password: "correct-horse-battery".into(),
            name: format!("{role:?} {n}"),
            company: (role == Role::Partner).then(|| "Acme Cinemas".to_owned()),
        };
        let user = create_account(self.deps(), account, role)
            .await
            .unwrap_or_else(|e| panic!("creating a {role:?}: {e}"));
        (
            user.user_id.clone(),
            self.token_for(&user.user_id, &user.email, role),
        )
    }

    /// Puts a new value into one of the stack's secrets (as an operator rotating it would).
    /// Containers already warm keep what they read; `fresh_gateway` gives new ones.
    pub async fn put_secret(&self, set: boxoffice::secrets::SecretSet, value: &Value) {
        let arn = self
            .stack
            .provisioned
            .secret_arns
            .get(set.logical_id())
            .unwrap_or_else(|| panic!("the stack has no {} secret", set.logical_id()));
        aws_sdk_secretsmanager::Client::new(&self.stack.sdk)
            .put_secret_value()
            .secret_id(arn)
            .secret_string(value.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("putting {}: {e}", set.logical_id()));
    }

    /// A gateway whose functions all start cold (their secrets read again), as after a deploy
    /// or once Lambda has recycled every container.
    pub fn fresh_gateway(&self) -> Gateway {
        Gateway::new(&self.stack.template, self.deps().clone())
    }

    /// The sandbox provider's webhook signing key, as the stack's Secrets Manager holds it.
    pub fn sandbox_webhook_key(&self) -> &[u8] {
        self.deps()
            .config
            .sandbox_webhook_secret
            .as_ref()
            .map(|k| k.expose().as_bytes())
            .unwrap_or_else(|| panic!("the local stack loads every secret"))
    }

    pub fn token_for(&self, user_id: &str, email: &str, role: Role) -> String {
        issue_token(
            &self.deps().config.jwt,
            user_id,
            email,
            role,
            self.deps().clock.now_epoch(),
        )
        .unwrap_or_else(|e| panic!("issuing a token: {e}"))
    }
}

/// A table snapshot (`TestStack::table_items`).
pub type TableItems =
    std::collections::BTreeMap<(String, String), std::collections::BTreeMap<String, String>>;

/// What changed between two snapshots of a table: one line per item added, removed or changed
/// (with the attributes that differ); empty when nothing was written.
pub fn table_changes(before: &TableItems, after: &TableItems) -> Vec<String> {
    let mut changes = Vec::new();
    for (key, item) in after {
        match before.get(key) {
            None => changes.push(format!("added {key:?}: {item:?}")),
            Some(old) if old != item => {
                let differ: Vec<String> = item
                    .iter()
                    .filter(|(k, v)| old.get(*k) != Some(v))
                    .map(|(k, v)| format!("{k} = {v} (was {:?})", old.get(k)))
                    .chain(
                        old.keys()
                            .filter(|k| !item.contains_key(*k))
                            .map(|k| format!("{k} removed")),
                    )
                    .collect();
                changes.push(format!("changed {key:?}: {}", differ.join(", ")));
            }
            Some(_) => {}
        }
    }
    for key in before.keys().filter(|k| !after.contains_key(*k)) {
        changes.push(format!("removed {key:?}"));
    }
    changes
}

/// An attribute value written out with its maps' keys in order, so equal values print alike.
fn canonical(v: &aws_sdk_dynamodb::types::AttributeValue) -> String {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    match v {
        A::M(m) => {
            let sorted: std::collections::BTreeMap<&String, String> =
                m.iter().map(|(k, v)| (k, canonical(v))).collect();
            format!("M{sorted:?}")
        }
        A::L(l) => format!("L{:?}", l.iter().map(canonical).collect::<Vec<_>>()),
        A::Ss(s) | A::Ns(s) => {
            let mut s = s.clone();
            s.sort_unstable();
            format!("{s:?}")
        }
        other => format!("{other:?}"),
    }
}

/// A second target of the notify rule's pattern on the stack's bus: a queue of this test's own
/// that receives a copy of every domain event the bus routes to notify, so a test counts what
/// was really published (not what a handler meant to publish).
pub struct EventTap {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    seen: std::sync::Mutex<Vec<Value>>,
}

impl TestStack {
    pub async fn tap_events(&self) -> EventTap {
        let pattern = self
            .stack
            .template
            .functions
            .iter()
            .find(|f| f.name == "notify")
            .and_then(|f| {
                f.triggers.iter().find_map(|t| match t {
                    boxoffice_local::template::Trigger::EventRule { pattern, .. } => {
                        Some(pattern.clone())
                    }
                    _ => None,
                })
            })
            .unwrap_or_else(|| panic!("template.yaml gives notify a domain-events rule"));
        let name = format!(
            "{}-tap-{}",
            self.stack.provisioned.table_name.trim_end_matches("-table"),
            ulid::Ulid::new().to_string().to_lowercase()
        );
        let sqs = self.sqs();
        let queue_url = sqs
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("tap queue: {e}"))
            .queue_url
            .unwrap_or_default();
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .ok()
            .and_then(|o| o.attributes)
            .and_then(|mut a| a.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .unwrap_or_else(|| panic!("tap queue without an ARN"));
        let events = aws_sdk_eventbridge::Client::new(&self.stack.sdk);
        let bus = self.deps().config.event_bus_name.clone();
        events
            .put_rule()
            .name(&name)
            .event_bus_name(&bus)
            .event_pattern(pattern.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("tap rule: {e}"));
        events
            .put_targets()
            .rule(&name)
            .event_bus_name(&bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("tap")
                    .arn(arn)
                    .build()
                    .unwrap_or_else(|e| panic!("tap target: {e}")),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("tap target: {e}"));
        EventTap {
            sqs,
            queue_url,
            seen: Default::default(),
        }
    }
}

impl EventTap {
    /// Every event the bus delivered to the tap so far (each once, in arrival order).
    pub async fn events(&self) -> Vec<Value> {
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap_or_else(|e| panic!("tap receive: {e}"));
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            for m in messages {
                let event = serde_json::from_str(m.body.as_deref().unwrap_or("null"))
                    .unwrap_or(Value::Null);
                if let Ok(mut seen) = self.seen.lock() {
                    seen.push(event);
                }
                if let Some(h) = m.receipt_handle {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(h)
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("tap delete: {e}"));
                }
            }
        }
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// How many events of `detail_type` about `booking_id` were published.
    pub async fn count(&self, detail_type: &str, booking_id: &str) -> usize {
        self.events()
            .await
            .iter()
            .filter(|e| e["detail-type"] == detail_type && e["detail"]["bookingId"] == booking_id)
            .count()
    }
}

/// A customer's inbox, newest first, as `GET /me/notifications` answers it.
pub async fn inbox_of(s: &TestStack, token: &str) -> Vec<Value> {
    let r = s
        .call("GET", "/api/v1/me/notifications")
        .token(token)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["notifications"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The emails the SES emulator accepted for `to`: (subject, body).
pub async fn emails_to(to: &str) -> Vec<(String, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL_SESV2").expect("make test exports the SES endpoint");
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut conn = tokio::net::TcpStream::connect(host)
        .await
        .expect("emulator answers");
    let ask = format!("GET /moto-api/data.json HTTP/1.0\r\nHost: {host}\r\n\r\n");
    conn.write_all(ask.as_bytes()).await.expect("request sent");
    let mut raw = String::new();
    conn.read_to_string(&mut raw).await.expect("response read");
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    let data: Value = serde_json::from_str(body).expect("emulator state is JSON");
    data["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| {
            m["destinations"]["ToAddresses"]
                .as_array()
                .is_some_and(|a| a.iter().any(|t| t == to))
        })
        .map(|m| {
            (
                m["subject"].as_str().unwrap_or("").to_owned(),
                m["body"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// Polls `check` until it returns `Some`, failing the test after `seconds`.
pub async fn eventually<T, F, Fut>(what: &str, seconds: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {seconds}s waiting for {what}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A stack's gateway served on a loopback port (for callers outside the process: localstripe's
/// webhooks). It stops serving when dropped.
pub struct Served {
    pub port: u16,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl TestStack {
    /// The gateway on a free loopback port, registered with localstripe as this stage's Stripe
    /// webhook endpoint (signed with this stack's `stripeWebhookSecret`), as an operator registers
    /// the stage's endpoint in Stripe's dashboard. Several stacks share one localstripe: each
    /// registers under its own name, and the events of another stack's intents reach this one
    /// signed with that stack's secret, so they are refused (400) here and change nothing.
    pub async fn serve_for_stripe(&self) -> Served {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap_or_else(|e| panic!("binding a loopback port: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("the bound port: {e}"))
            .port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(self.gateway.clone().serve(listener, async {
            let _ = stopped.await;
        }));
        let name = format!("stack-{}", ulid::Ulid::new());
        boxoffice_local::stripe::register_webhook(
            self.deps(),
            &name,
            &format!("http://127.0.0.1:{port}/api/v1"),
        )
        .await
        .unwrap_or_else(|e| panic!("registering the Stripe webhook with localstripe: {e}"));
        Served { port, _stop: stop }
    }

    /// A call to localstripe's API (as a Stripe.js client or the dashboard would make it), its
    /// JSON answer and status.
    pub async fn localstripe(&self, path: &str, form: &[(&str, String)]) -> (u16, Value) {
        let stripe = self
            .deps()
            .stripe()
            .unwrap_or_else(|e| panic!("the local stack has a Stripe client: {e}"));
        let (status, body) = stripe
            .send(path, form, None)
            .await
            .unwrap_or_else(|e| panic!("localstripe {path}: {e}"));
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// GET from localstripe's API.
    pub async fn localstripe_get(&self, path: &str) -> Value {
        let stripe = self
            .deps()
            .stripe()
            .unwrap_or_else(|e| panic!("the local stack has a Stripe client: {e}"));
        let (status, body) = stripe
            .get(path)
            .await
            .unwrap_or_else(|e| panic!("localstripe {path}: {e}"));
        assert_eq!(
            status,
            200,
            "GET {path}: {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    }
}
