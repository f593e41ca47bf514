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
use std::{collections::HashSet, time::Duration};
use tokio::{sync::watch, task::JoinHandle};

#[derive(Clone, Debug)]
pub struct TriggerOptions {
    /// Locally, a failed message is visible again after this long instead of the queue's visibility
    /// timeout (minutes in AWS), so redelivery and dead-lettering can be watched.
    pub failed_visibility_seconds: i32,
}

impl Default for TriggerOptions {
    fn default() -> Self {
        TriggerOptions {
            failed_visibility_seconds: 2,
        }
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
    let mut tasks = Vec::new();
    for f in &template.functions {
        for t in &f.triggers {
            if let Trigger::Sqs {
                queue,
                batch_size,
                report_batch_item_failures,
            } = t
            {
                let Some(url) = provisioned.queue_url(queue) else {
                    continue;
                };
                let job = SqsSource {
                    function: f.name.clone(),
                    queue_url: url.to_owned(),
                    batch_size: (*batch_size).clamp(1, 10),
                    report_failures: *report_batch_item_failures,
                    deps: deps.clone(),
                    sqs: sqs.clone(),
                    options: options.clone(),
                };
                tasks.push(tokio::spawn(job.run(stopped.clone())));
            }
        }
    }
    Triggers { stop, tasks }
}

struct SqsSource {
    function: String,
    queue_url: String,
    batch_size: i32,
    report_failures: bool,
    deps: Deps,
    sqs: aws_sdk_sqs::Client,
    options: TriggerOptions,
}

impl SqsSource {
    async fn run(self, mut stopped: watch::Receiver<bool>) {
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
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(self.batch_size)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await?;
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(());
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
        let response = registry::invoke_sqs(&self.function, &self.deps, event)
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
            if failed.contains(id) {
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
