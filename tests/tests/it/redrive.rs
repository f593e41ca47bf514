//! infra/redrive.sh against the emulator: a dead-letter queue's messages go back to their source
//! queue (found through its redrive policy) exactly once, bodies and attributes unchanged; `--max`
//! bounds a run, and a re-run with nothing left moves nothing.

use aws_sdk_sqs::{
    primitives::Blob,
    types::{
        MessageAttributeValue, MessageSystemAttributeNameForSends, MessageSystemAttributeValue,
    },
};
use boxoffice_local::repo_root;
use boxoffice_tests::{stack, TestStack};
use std::collections::BTreeMap;
use std::time::Duration;

/// Message attributes as (type, string, binary).
type Attrs = BTreeMap<String, (String, Option<String>, Option<Vec<u8>>)>;

/// What must survive the redrive, by body: the message attributes and the X-Ray trace header.
type Sent = BTreeMap<String, (Attrs, Option<String>)>;

fn trace_header(i: usize) -> Option<String> {
    i.is_multiple_of(4)
        .then(|| format!("Root=1-5759e988-bd862e3fe1be46a99427{i:04};Sampled=1"))
}

fn attrs(m: &std::collections::HashMap<String, MessageAttributeValue>) -> Attrs {
    m.iter()
        .map(|(k, v)| {
            (
                k.clone(),
                (
                    v.data_type().to_owned(),
                    v.string_value().map(str::to_owned),
                    v.binary_value().map(|b| b.as_ref().to_vec()),
                ),
            )
        })
        .collect()
}

fn attribute(
    data_type: &str,
    string: Option<String>,
    binary: Option<Vec<u8>>,
) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type(data_type)
        .set_string_value(string)
        .set_binary_value(binary.map(Blob::new))
        .build()
        .expect("a valid attribute")
}

/// Puts `n` distinct messages on the stack's PaymentsDLQ; returns (body, attributes) of each.
async fn dead_letters(s: &TestStack, n: usize) -> Sent {
    let mut sent = BTreeMap::new();
    for i in 0..n {
        let body = format!(r#"{{"provider":"sandbox","eventId":"evt_redrive_{i}","n":{i}}}"#);
        let mut req = s
            .sqs()
            .send_message()
            .queue_url(s.queue_url("PaymentsDLQ"))
            .message_body(&body)
            .message_attributes(
                "provider",
                attribute("String", Some("sandbox".into()), None),
            )
            .message_attributes("attempt", attribute("Number", Some(i.to_string()), None))
            .message_attributes(
                "digest",
                attribute("Binary", None, Some(vec![i as u8, 0, 0xff])),
            );
        if i.is_multiple_of(3) {
            req = req.message_attributes(
                "note",
                attribute("String.custom", Some(format!("ünïcode {i}")), None),
            );
        }
        if let Some(trace) = trace_header(i) {
            req = req.message_system_attributes(
                MessageSystemAttributeNameForSends::AwsTraceHeader,
                MessageSystemAttributeValue::builder()
                    .data_type("String")
                    .string_value(trace)
                    .build()
                    .expect("a valid system attribute"),
            );
        }
        req.send().await.expect("sent to the DLQ");
        let mut a = Attrs::new();
        a.insert(
            "provider".into(),
            ("String".into(), Some("sandbox".into()), None),
        );
        a.insert(
            "attempt".into(),
            ("Number".into(), Some(i.to_string()), None),
        );
        a.insert(
            "digest".into(),
            ("Binary".into(), None, Some(vec![i as u8, 0, 0xff])),
        );
        if i.is_multiple_of(3) {
            a.insert(
                "note".into(),
                ("String.custom".into(), Some(format!("ünïcode {i}")), None),
            );
        }
        sent.insert(body, (a, trace_header(i)));
    }
    sent
}

/// Runs infra/redrive.sh with the emulator's environment (inherited: AWS_ENDPOINT_URL_SQS,
/// region, credentials), bounded by `timeout`; returns (success, stdout + stderr).
async fn redrive(args: &[String]) -> (bool, String) {
    let mut cmd = std::process::Command::new("timeout");
    cmd.arg("120")
        .arg(repo_root().join("infra/redrive.sh"))
        .args(args)
        .stdin(std::process::Stdio::null());
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("the redrive thread")
        .expect("infra/redrive.sh runs (coreutils timeout, python3)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Receives every message of the queue (hidden for 5 minutes once received, so each is received
/// once), long-polling until `want` have arrived or 30 s have passed; then drains what is left.
async fn receive_all(
    s: &TestStack,
    logical_id: &str,
    want: usize,
) -> Vec<aws_sdk_sqs::types::Message> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    loop {
        let done = got.len() >= want;
        let batch = s
            .sqs()
            .receive_message()
            .queue_url(s.queue_url(logical_id))
            .max_number_of_messages(10)
            .visibility_timeout(300)
            .wait_time_seconds(if done { 0 } else { 1 })
            .message_attribute_names("All")
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .expect("received")
            .messages
            .unwrap_or_default();
        if batch.is_empty() && (done || tokio::time::Instant::now() > deadline) {
            return got;
        }
        got.extend(batch);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redrive_moves_every_dead_letter_back_exactly_once() {
    let s = stack().await;
    let n = 13; // more than one receive batch (10)
    let sent = dead_letters(&s, n).await;
    assert_eq!(s.queue_depth("PaymentsDLQ").await, n as i64);
    let dlq = s.queue_url("PaymentsDLQ");

    // Bounded: --max 4 moves exactly 4.
    let (ok, out) = redrive(&["--max".into(), "4".into(), dlq.clone()]).await;
    assert!(ok, "redrive --max 4 failed:\n{out}");
    assert!(out.contains("moved 4 message(s)"), "{out}");
    assert_eq!(s.queue_depth("PaymentsDLQ").await, (n - 4) as i64, "{out}");
    assert_eq!(s.queue_depth("PaymentsQueue").await, 4, "{out}");

    // The rest; the source queue comes from PaymentsQueue's redrive policy.
    let (ok, out) = redrive(std::slice::from_ref(&dlq)).await;
    assert!(ok, "redrive failed:\n{out}");
    assert!(
        out.contains(&format!("moved {} message(s)", n - 4)),
        "{out}"
    );
    assert!(out.contains(&s.queue_url("PaymentsQueue")), "{out}");

    // A re-run with an empty DLQ moves nothing and succeeds.
    let (ok, out) = redrive(std::slice::from_ref(&dlq)).await;
    assert!(ok, "re-run failed:\n{out}");
    assert!(out.contains("moved 0 message(s)"), "{out}");
    assert_eq!(s.queue_depth("PaymentsDLQ").await, 0);

    let back = receive_all(&s, "PaymentsQueue", n).await;
    let mut seen = BTreeMap::new();
    for m in &back {
        let body = m.body().unwrap_or_default().to_owned();
        let a = attrs(m.message_attributes.as_ref().unwrap_or(&Default::default()));
        let trace = m
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::AwsTraceHeader))
            .cloned();
        assert!(
            seen.insert(body.clone(), (a, trace)).is_none(),
            "{body} is on PaymentsQueue twice"
        );
    }
    assert_eq!(seen, sent, "bodies and attributes on PaymentsQueue");
    assert_eq!(
        s.queue_depth("PaymentsQueue").await,
        n as i64,
        "no extra copies"
    );
    assert_eq!(s.queue_depth("PaymentsDLQ").await, 0);
}

#[tokio::test]
async fn redrive_refuses_a_queue_without_a_source_and_explains_why() {
    let s = stack().await;
    let (ok, out) = redrive(&[s.queue_url("NotificationsDLQ")]).await;
    assert!(!ok, "{out}");
    assert!(out.contains("no source queue"), "{out}");
    let (ok, out) = redrive(&["--help".into()]).await;
    assert!(ok, "{out}");
    assert!(
        out.contains("--max N") && out.contains("--stack NAME"),
        "{out}"
    );
}
