//! The non-HTTP triggers AWS would run, read from template.yaml: an SQS event source polls its
//! queue and calls the function with batches, deletes what succeeded, and leaves the failures
//! (all of them unless `ReportBatchItemFailures`) for redelivery and, after `maxReceiveCount`
//! receives, the dead-letter queue.

use crate::{
    provision::Provisioned,
    registry, stats,
    template::{Template, Trigger},
};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use boxoffice::Deps;
use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::{
    sync::{watch, Notify},
    task::JoinHandle,
};

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
    let pollers_sqs = pollers_client(&sqs);
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
                let job = Arc::new(RuleTarget {
                    function: f.name.clone(),
                    queue_url: url.clone(),
                    functions: functions.clone(),
                    sqs: pollers_sqs.clone(),
                    options: options.clone(),
                });
                for _ in 0..RULE_POLLERS {
                    tasks.push(tokio::spawn(job.clone().run(stopped.clone())));
                }
            }
            if let Trigger::Sqs {
                queue,
                batch_size,
                report_batch_item_failures,
                batching_window_seconds,
                maximum_concurrency,
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
                    max_pollers: maximum_concurrency
                        .map_or(MAX_POLLERS, |m| m as usize)
                        .clamp(1, MAX_POLLERS),
                    pollers: AtomicUsize::new(0),
                    backlog: Notify::new(),
                    functions: functions.clone(),
                    sqs: pollers_sqs.clone(),
                    options: options.clone(),
                });
                tasks.push(tokio::spawn(job.supervise(stopped.clone())));
            }
        }
    }
    Triggers { stop, tasks }
}

/// The event sources' own SQS client: the one given, over an HTTP client of its own. Lambda's
/// pollers are AWS's machines, not the function's: their long polls (each open for up to a second
/// while the queue is empty, on every source) must not take the turns `bounded` gives the
/// functions' own requests at the emulator.
fn pollers_client(sqs: &aws_sdk_sqs::Client) -> aws_sdk_sqs::Client {
    let conf = sqs
        .config()
        .to_builder()
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_sqs::Client::from_conf(conf)
}

/// How many batches an SQS event source starts with: Lambda's "starts processing five batches at
/// a time with five concurrent invocations"; one poller would apply the batches one after the
/// other, which made a rush's confirmations queue behind each other locally (issue 15).
const SQS_POLLERS: usize = 5;

/// Lambda's cap on one event source's concurrent batches (without `MaximumConcurrency`).
const MAX_POLLERS: usize = 1000;

/// "If messages are still available, Lambda increases the number of processes that are reading
/// batches by up to 300 more instances per minute": one more poller at most this often.
const SCALE_UP_EVERY: Duration = Duration::from_millis(200);

/// How often a poller gathering a batch looks for more messages within the batching window.
const GATHER_EVERY: Duration = Duration::from_millis(250);

struct SqsSource {
    function: String,
    queue_url: String,
    batch_size: i32,
    /// As Lambda's poller: once a message is in, keep gathering until the batch is full or this
    /// long has passed (so what arrives together is applied together, concurrently).
    batching_window: Duration,
    report_failures: bool,
    /// `SQS_POLLERS` up to this (`MaximumConcurrency`, or `MAX_POLLERS`).
    max_pollers: usize,
    /// Pollers running now.
    pollers: AtomicUsize,
    /// A poller's batch came back full: messages are still available.
    backlog: Notify,
    functions: registry::Functions,
    sqs: aws_sdk_sqs::Client,
    options: TriggerOptions,
}

/// How a poll went, for scaling: a full batch means messages are still available.
#[derive(Debug, PartialEq, Eq)]
enum Polled {
    Full,
    Partial,
    Empty,
}

impl SqsSource {
    /// Scales the pollers as Lambda does: `SQS_POLLERS` at first; while batches come back full
    /// (messages still available), one more every `SCALE_UP_EVERY` up to `max_pollers`; a poller
    /// beyond the first five leaves once its poll finds no message at all (Lambda scales down
    /// when messages are no longer available). Leaving on the first batch that did not fill, as
    /// it did before, held the pollers at the edge of the load: under a steady stream one
    /// partial batch took a poller away, the backlog built up until batches were full again,
    /// and a confirmation's wait in the queue reached 1.7 s at p95 (issue 15's booking flow).
    async fn supervise(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        let mut pollers = tokio::task::JoinSet::new();
        let base = SQS_POLLERS.min(self.max_pollers);
        for _ in 0..base {
            self.pollers.fetch_add(1, Ordering::SeqCst);
            pollers.spawn(self.clone().run(stopped.clone(), false));
        }
        let mut last_added = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = stopped.changed() => break,
                _ = self.backlog.notified() => {
                    if self.pollers.load(Ordering::SeqCst) < self.max_pollers
                        && last_added.elapsed() >= SCALE_UP_EVERY
                    {
                        last_added = tokio::time::Instant::now();
                        self.pollers.fetch_add(1, Ordering::SeqCst);
                        pollers.spawn(self.clone().run(stopped.clone(), true));
                        stats::record(
                            format!("{}: pollers after a scale-up", self.function),
                            self.pollers.load(Ordering::SeqCst) as f64,
                        );
                    }
                }
                Some(_) = pollers.join_next() => {}
            }
        }
        while pollers.join_next().await.is_some() {}
    }

    async fn run(self: Arc<Self>, mut stopped: watch::Receiver<bool>, extra: bool) {
        loop {
            tokio::select! {
                _ = stopped.changed() => break,
                r = self.poll_once() => match r {
                    Ok(Polled::Full) => self.backlog.notify_one(),
                    Ok(Polled::Empty) if extra => break,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(function = %self.function, error = %e, "queue poll failed");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                },
            }
        }
        self.pollers.fetch_sub(1, Ordering::SeqCst);
    }

    async fn poll_once(&self) -> Result<Polled, Box<dyn std::error::Error + Send + Sync>> {
        let receive = |max: i32, wait: i32| {
            self.sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(max)
                .wait_time_seconds(wait)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
        };
        let asked = std::time::Instant::now();
        let mut messages = receive(self.batch_size, 1)
            .await?
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            return Ok(Polled::Empty);
        }
        let first = std::time::Instant::now();
        let window_ends = tokio::time::Instant::now() + self.batching_window;
        while (messages.len() as i32) < self.batch_size {
            let now = tokio::time::Instant::now();
            if now >= window_ends {
                break;
            }
            // What arrived meanwhile, every `GATHER_EVERY` (the last look at the window's end) with
            // a short poll: the window never outlasts its setting (a long poll of SQS's whole
            // seconds started late in it would stretch it by up to a second, and one given up on
            // could have taken messages out of sight), and the emulator is asked a few times a
            // window, not once per message as a long poll answered on each arrival would be.
            tokio::time::sleep_until(window_ends.min(now + GATHER_EVERY)).await;
            let more = receive(self.batch_size - messages.len() as i32, 0)
                .await?
                .messages
                .unwrap_or_default();
            messages.extend(more);
        }
        let gathered = std::time::Instant::now();
        if stats::enabled() {
            let f = &self.function;
            stats::record(format!("{f}: first receive (ms)"), ms(first - asked));
            stats::record(format!("{f}: window (ms)"), ms(gathered - first));
            stats::record(format!("{f}: batch size"), messages.len() as f64);
            let now = chrono::Utc::now().timestamp_millis() as f64;
            for m in &messages {
                if let Some(sent) = m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
                    .and_then(|t| t.parse::<f64>().ok())
                {
                    stats::record(format!("{f}: sent → in a batch (ms)"), now - sent);
                }
            }
        }
        let polled = if messages.len() as i32 >= self.batch_size {
            Polled::Full
        } else {
            Polled::Partial
        };
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
        let invoked = std::time::Instant::now();
        stats::record(
            format!("{}: invoke (ms)", self.function),
            ms(invoked - gathered),
        );
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
        stats::record(
            format!("{}: delete (ms)", self.function),
            ms(invoked.elapsed()),
        );
        Ok(polled)
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

/// Pollers of a rule target's local queue, each invoking its batch's events concurrently: the
/// queue only stands in for EventBridge's asynchronous invocations, which run side by side (one
/// sequential poller left a flow's notifications minutes behind, and the queue's backlog made
/// every receive of it dearer for the emulator that serves the payments queue too).
const RULE_POLLERS: usize = 10;

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
    async fn run(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
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
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await?;
        let received = std::time::Instant::now();
        let messages = out.messages.unwrap_or_default();
        let any = !messages.is_empty();
        if stats::enabled() && !messages.is_empty() {
            let now = chrono::Utc::now().timestamp_millis() as f64;
            stats::record(
                format!("rule {}: batch size", self.function),
                messages.len() as f64,
            );
            for m in &messages {
                if let Some(sent) = m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
                    .and_then(|t| t.parse::<f64>().ok())
                {
                    stats::record(
                        format!("rule {}: sent → received (ms)", self.function),
                        now - sent,
                    );
                }
            }
        }
        // The fault draws in the batch's order (the seeded sequence), then every event's
        // invocation at once: EventBridge invokes the function asynchronously, one invocation per
        // event, never one event after the other.
        let faults = self.options.faults.as_deref();
        let mut deliveries = Vec::new();
        let mut done = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            let Some(handle) = m.receipt_handle.as_deref() else {
                continue;
            };
            let event: serde_json::Value = serde_json::from_str(m.body.as_deref().unwrap_or("{}"))?;
            if faults.is_some_and(|f| f.draw(f.rule_lose_per_mille)) {
                // A delivery EventBridge never made: the event is gone for this target.
                faults.map(|f| f.lost.fetch_add(1, Ordering::Relaxed));
                done.push(entry(i, handle)?);
                continue;
            }
            let twice = faults.is_some_and(|f| f.draw(f.rule_double_per_mille));
            if twice {
                faults.map(|f| f.doubled.fetch_add(1, Ordering::Relaxed));
            }
            deliveries.push(async move {
                if twice {
                    let _ = registry::invoke_event(&self.function, &self.functions, event.clone())
                        .await;
                }
                let outcome = registry::invoke_event(&self.function, &self.functions, event).await;
                (i, handle, outcome)
            });
        }
        for (i, handle, outcome) in futures::future::join_all(deliveries).await {
            match outcome {
                Some(Ok(_)) => done.push(entry(i, handle)?),
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
        if !done.is_empty() {
            self.sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(done))
                .send()
                .await?;
        }
        if any {
            stats::record(
                format!("rule {}: handle batch (ms)", self.function),
                ms(received.elapsed()),
            );
        }
        Ok(())
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn entry(
    i: usize,
    handle: &str,
) -> Result<DeleteMessageBatchRequestEntry, Box<dyn std::error::Error + Send + Sync>> {
    Ok(DeleteMessageBatchRequestEntry::builder()
        .id(i.to_string())
        .receipt_handle(handle)
        .build()?)
}
