//! The non-HTTP triggers AWS would run, read from template.yaml: an SQS event source polls its
//! queue and calls the function with batches, deletes what succeeded, and leaves the failures
//! (all of them unless `ReportBatchItemFailures`) for redelivery and, after `maxReceiveCount`
//! receives, the dead-letter queue.

use crate::{
    provision::Provisioned,
    registry,
    template::{Template, Trigger},
};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use boxoffice::Deps;
use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::{sync::watch, task::JoinHandle};

#[derive(Clone, Debug)]
pub struct TriggerOptions {
    /// Locally, a failed message is visible again after this long instead of the queue's visibility
    /// timeout (minutes in AWS), so redelivery and dead-lettering can be watched.
    pub failed_visibility_seconds: i32,
    /// Runs every schedule at this interval instead of its `rate(...)` (10 s under `make run`, so a
    /// person can watch a hold expire); `None` keeps the template's rates.
    pub schedule_interval: Option<Duration>,
    /// Whether schedules run at all (tests drive them by hand).
    pub schedules: bool,
    /// Functions whose triggers do not run (a test invokes them itself).
    pub except: Vec<String>,
    /// Delivery faults AWS allows and tests inject (`None`: deliveries as asked).
    pub faults: Option<Arc<TriggerFaults>>,
}

/// The delivery faults SQS and EventBridge are allowed: SQS delivers at least once and in no
/// promised order (a handled message comes back when its delete is lost; a batch arrives in any
/// order), an EventBridge rule's target may miss a delivery or get it twice. Each decision is a
/// draw from a generator seeded with `seed` (the same sequence of draws on every run).
#[derive(Debug, Default)]
pub struct TriggerFaults {
    pub seed: u64,
    /// Per mille of the messages a function handled whose delete is lost (they come back).
    pub sqs_redeliver_per_mille: u64,
    /// Whether each batch is handed to the function in a shuffled order.
    pub sqs_reorder: bool,
    /// Per mille of rule deliveries lost (the function never sees the event).
    pub rule_lose_per_mille: u64,
    /// Per mille of rule deliveries made twice.
    pub rule_double_per_mille: u64,
    /// How many of each were injected.
    pub redelivered: AtomicU64,
    pub reordered: AtomicU64,
    pub lost: AtomicU64,
    pub doubled: AtomicU64,
    pub draws: AtomicU64,
}

impl TriggerFaults {
    /// The next draw: true with probability `per_mille`/1000.
    fn draw(&self, per_mille: u64) -> bool {
        per_mille > 0 && self.next() % 1000 < per_mille
    }

    fn next(&self) -> u64 {
        let i = self.draws.fetch_add(1, Ordering::Relaxed);
        let mut x =
            (self.seed ^ i.wrapping_mul(0xA24B_AED4_963E_E407)).wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^ (x >> 31)
    }

    /// Shuffles `items` (Fisher–Yates) when reordering is on; counts the batches it changed.
    fn reorder<T>(&self, items: &mut [T]) {
        if !self.sqs_reorder || items.len() < 2 {
            return;
        }
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
        self.reordered.fetch_add(1, Ordering::Relaxed);
    }
}

impl Default for TriggerOptions {
    fn default() -> Self {
        TriggerOptions {
            failed_visibility_seconds: 2,
            schedule_interval: Some(Duration::from_secs(10)),
            schedules: true,
            except: Vec::new(),
            faults: None,
        }
    }
}

/// `rate(5 minutes)` → 300 s; anything else (cron) → one minute.
pub fn rate_seconds(expression: &str) -> u64 {
    let inner = expression
        .trim()
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or("");
    let mut parts = inner.split_whitespace();
    let n: u64 = parts.next().and_then(|n| n.parse().ok()).unwrap_or(1);
    match parts.next().unwrap_or("minute").trim_end_matches('s') {
        "second" => n,
        "hour" => n * 3600,
        "day" => n * 86_400,
        _ => n * 60,
    }
}

/// Running trigger loops; dropping or `stop()`ping ends them.
pub struct Triggers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Triggers {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

pub fn start(
    template: &Template,
    provisioned: &Provisioned,
    deps: &Deps,
    sqs: aws_sdk_sqs::Client,
    options: TriggerOptions,
) -> Triggers {
    let (stop, stopped) = watch::channel(false);
    // One container per function for all its triggers, as one Lambda function's would be.
    let functions = registry::Functions::new(deps.clone());
    let mut tasks = Vec::new();
    for f in template
        .functions
        .iter()
        .filter(|f| !options.except.contains(&f.name))
    {
        for t in &f.triggers {
            if let Trigger::Schedule { expression } = t {
                if options.schedules {
                    let every = options
                        .schedule_interval
                        .unwrap_or(Duration::from_secs(rate_seconds(expression)));
                    tasks.push(tokio::spawn(run_schedule(
                        f.name.clone(),
                        every,
                        functions.clone(),
                        stopped.clone(),
                    )));
                }
            }
            if let (Trigger::EventRule { .. }, Some(url)) =
                (t, provisioned.rule_queues.get(&f.name))
            {
                let job = RuleTarget {
                    function: f.name.clone(),
                    queue_url: url.clone(),
                    functions: functions.clone(),
                    sqs: sqs.clone(),
                    options: options.clone(),
                };
                tasks.push(tokio::spawn(job.run(stopped.clone())));
            }
            if let Trigger::Sqs {
                queue,
                batch_size,
                report_batch_item_failures,
                batching_window_seconds,
            } = t
            {
                let Some(url) = provisioned.queue_url(queue) else {
                    continue;
                };
                let job = Arc::new(SqsSource {
                    function: f.name.clone(),
                    queue_url: url.to_owned(),
                    batch_size: (*batch_size).clamp(1, 10),
                    batching_window: Duration::from_secs(*batching_window_seconds),
                    report_failures: *report_batch_item_failures,
                    functions: functions.clone(),
                    sqs: sqs.clone(),
                    options: options.clone(),
                });
                for _ in 0..SQS_POLLERS {
                    tasks.push(tokio::spawn(job.clone().run(stopped.clone())));
                }
            }
        }
    }
    Triggers { stop, tasks }
}

/// Pollers per SQS event source, each receiving and invoking on its own, so up to this many
/// batches are in the function at once: Lambda's event source starts with five concurrent
/// batches (and scales up from there while the queue has a backlog, up to the source's
/// `MaximumConcurrency`, 20 for confirm-payment); one poller would apply the batches one after
/// the other, which made a rush's confirmations queue behind each other locally (issue 15).
const SQS_POLLERS: usize = 5;

struct SqsSource {
    function: String,
    queue_url: String,
    batch_size: i32,
    /// As Lambda's poller: once a message is in, keep gathering until the batch is full or this
    /// long has passed (so what arrives together is applied together, concurrently).
    batching_window: Duration,
    report_failures: bool,
    functions: registry::Functions,
    sqs: aws_sdk_sqs::Client,
    options: TriggerOptions,
}

impl SqsSource {
    async fn run(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = stopped.changed() => return,
                r = self.poll_once() => if let Err(e) = r {
                    tracing::warn!(function = %self.function, error = %e, "queue poll failed");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                },
            }
        }
    }

    async fn poll_once(&self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let receive = |max: i32, wait: i32| {
            self.sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(max)
                .wait_time_seconds(wait)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
        };
        let mut messages = receive(self.batch_size, 1)
            .await?
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            return Ok(());
        }
        let window_ends = tokio::time::Instant::now() + self.batching_window;
        while (messages.len() as i32) < self.batch_size && tokio::time::Instant::now() < window_ends
        {
            // A long poll: answered as soon as a message is in (no busy polling of the emulator);
            // one started just before the window ends can stretch it by up to its 1 s wait. It is
            // never cut short: a receive given up on could have taken messages out of sight.
            let more = receive(self.batch_size - messages.len() as i32, 1)
                .await?
                .messages
                .unwrap_or_default();
            messages.extend(more);
        }
        if let Some(f) = &self.options.faults {
            f.reorder(&mut messages);
        }
        let records: Vec<SqsMessage> = messages
            .iter()
            .map(|m| {
                let mut r = SqsMessage::default();
                r.message_id = m.message_id.clone();
                r.receipt_handle = m.receipt_handle.clone();
                r.body = m.body.clone();
                r.md5_of_body = m.md5_of_body.clone();
                r.event_source = Some("aws:sqs".into());
                r.aws_region = Some("us-east-1".into());
                r.attributes = m
                    .attributes
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v))
                    .collect();
                r
            })
            .collect();
        let mut event = SqsEvent::default();
        event.records = records;
        let response = registry::invoke_sqs(&self.function, &self.functions, event)
            .await
            .ok_or("unknown SQS function")?;
        let failed: HashSet<String> = if self.report_failures {
            response
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect()
        } else if response.batch_item_failures.is_empty() {
            HashSet::new()
        } else {
            messages
                .iter()
                .filter_map(|m| m.message_id.clone())
                .collect()
        };
        let mut done = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            let (Some(id), Some(handle)) = (&m.message_id, &m.receipt_handle) else {
                continue;
            };
            let redeliver = !failed.contains(id)
                && self.options.faults.as_ref().is_some_and(|f| {
                    let lost = f.draw(f.sqs_redeliver_per_mille);
                    if lost {
                        f.redelivered.fetch_add(1, Ordering::Relaxed);
                    }
                    lost
                });
            // A failure, or a success whose delete was lost: visible again after the timeout.
            if redeliver || failed.contains(id) {
                self.sqs
                    .change_message_visibility()
                    .queue_url(&self.queue_url)
                    .receipt_handle(handle)
                    .visibility_timeout(self.options.failed_visibility_seconds)
                    .send()
                    .await?;
            } else {
                done.push(
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .build()?,
                );
            }
        }
        if !done.is_empty() {
            self.sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(done))
                .send()
                .await?;
        }
        Ok(())
    }
}

/// The event EventBridge sends a schedule's target.
pub fn scheduled_event(function: &str) -> serde_json::Value {
    serde_json::json!({
        "version": "0",
        "id": boxoffice::ids::new_id("evt"),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": boxoffice::clock::rfc3339(chrono::Utc::now()),
        "region": "us-east-1",
        "resources": [format!("arn:aws:events:us-east-1:000000000000:rule/{function}-schedule")],
        "detail": {},
    })
}

async fn run_schedule(
    function: String,
    every: Duration,
    functions: registry::Functions,
    mut stopped: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = tick.tick() => {
                match registry::invoke_event(&function, &functions, scheduled_event(&function)).await {
                    Some(Err(e)) => tracing::warn!(function = %function, error = %e, "scheduled run failed"),
                    None => return,
                    Some(Ok(_)) => {}
                }
            }
        }
    }
}

/// An EventBridge rule's target: the rule delivers matching events to a local queue, and this
/// calls the function with each; a failed invocation is retried after the visibility delay.
struct RuleTarget {
    function: String,
    queue_url: String,
    functions: registry::Functions,
    sqs: aws_sdk_sqs::Client,
    options: TriggerOptions,
}

impl RuleTarget {
    async fn run(self, mut stopped: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = stopped.changed() => return,
                r = self.poll_once() => if let Err(e) = r {
                    tracing::warn!(function = %self.function, error = %e, "rule queue poll failed");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                },
            }
        }
    }

    async fn poll_once(&self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await?;
        for m in out.messages.unwrap_or_default() {
            let Some(handle) = m.receipt_handle.as_deref() else {
                continue;
            };
            let event: serde_json::Value = serde_json::from_str(m.body.as_deref().unwrap_or("{}"))?;
            let faults = self.options.faults.as_deref();
            if faults.is_some_and(|f| f.draw(f.rule_lose_per_mille)) {
                // A delivery EventBridge never made: the event is gone for this target.
                faults.map(|f| f.lost.fetch_add(1, Ordering::Relaxed));
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await?;
                continue;
            }
            if faults.is_some_and(|f| f.draw(f.rule_double_per_mille)) {
                faults.map(|f| f.doubled.fetch_add(1, Ordering::Relaxed));
                let _ =
                    registry::invoke_event(&self.function, &self.functions, event.clone()).await;
            }
            match registry::invoke_event(&self.function, &self.functions, event).await {
                Some(Ok(_)) => {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await?;
                }
                other => {
                    tracing::warn!(function = %self.function, outcome = ?other.map(|r| r.err()), "rule target failed; will retry");
                    self.sqs
                        .change_message_visibility()
                        .queue_url(&self.queue_url)
                        .receipt_handle(handle)
                        .visibility_timeout(self.options.failed_visibility_seconds)
                        .send()
                        .await?;
                }
            }
        }
        Ok(())
    }
}
