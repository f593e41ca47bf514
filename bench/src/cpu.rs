//! Handler CPU per request, no I/O: each hot-path handler runs once for real (its AWS responses
//! recorded), then many times against those recorded responses, on one thread of a
//! current-thread runtime, timed with that thread's CPU clock. What is timed is what a warm Lambda
//! does per request apart from I/O: parsing the API Gateway event, the handler (auth, validation,
//! pricing, SDK request building and SigV4 signing, response parsing) and serialising the response.
//! Logging is off (as in the rest of the bench); in Lambda it would add a stdout write.

use crate::util::{percentile, sorted, BoxError, Req};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::{
    client::{
        http::{
            HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings,
            SharedHttpClient, SharedHttpConnector,
        },
        orchestrator::{HttpRequest, HttpResponse},
        result::ConnectorError,
        runtime_components::RuntimeComponents,
    },
    http::StatusCode,
};
use aws_smithy_types::body::SdkBody;
use boxoffice::{
    auth::issue_token,
    domain::user::Role,
    payments::{sandbox_webhook, SandboxEvent},
    store::keys::BOOKING_SK,
};
use boxoffice_local::{gateway::Gateway, registry, LocalStack};
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
struct Recorded {
    target: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
}

#[derive(Default, Debug)]
struct TapeState {
    replay: bool,
    recorded: Vec<Recorded>,
    cursor: usize,
    mismatches: usize,
}

/// An SDK HTTP client that records the real exchanges, or replays them in order.
#[derive(Clone, Debug)]
struct Tape {
    inner: SharedHttpClient,
    state: Arc<Mutex<TapeState>>,
}

impl Tape {
    fn with<T>(&self, f: impl FnOnce(&mut TapeState) -> T) -> T {
        match self.state.lock() {
            Ok(mut s) => f(&mut s),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
    fn record(&self) {
        self.with(|s| {
            s.replay = false;
            s.recorded.clear();
        });
    }
    fn replay(&self) {
        self.with(|s| {
            s.replay = true;
            s.cursor = 0;
        });
    }
    fn rewind(&self) {
        self.with(|s| s.cursor = 0);
    }
}

impl HttpClient for Tape {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(TapeConnector {
            inner: self.inner.http_connector(settings, components),
            tape: self.clone(),
        })
    }
}

#[derive(Debug)]
struct TapeConnector {
    inner: SharedHttpConnector,
    tape: Tape,
}

fn target(request: &HttpRequest) -> String {
    request
        .headers()
        .get("x-amz-target")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{} {}", request.method(), request.uri()))
}

fn response(r: &Recorded) -> Result<HttpResponse, ConnectorError> {
    let status =
        StatusCode::try_from(r.status).map_err(|e| ConnectorError::other(Box::new(e), None))?;
    let mut out = HttpResponse::new(status, SdkBody::from(r.body.clone()));
    for (k, v) in &r.headers {
        out.headers_mut().insert(k.clone(), v.clone());
    }
    Ok(out)
}

impl HttpConnector for TapeConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let tape = self.tape.clone();
        let target = target(&request);
        let replayed = tape.with(|s| {
            if !s.replay {
                return None;
            }
            let r = s.recorded.get(s.cursor).cloned();
            s.cursor += 1;
            if r.as_ref().is_none_or(|r| r.target != target) {
                s.mismatches += 1;
            }
            Some(r)
        });
        match replayed {
            Some(Some(r)) => HttpConnectorFuture::ready(response(&r)),
            Some(None) => HttpConnectorFuture::ready(Err(ConnectorError::other(
                "nothing recorded for this request".into(),
                None,
            ))),
            None => {
                let inner = self.inner.clone();
                HttpConnectorFuture::new(async move {
                    let mut resp = inner.call(request).await?;
                    let body = resp
                        .take_body()
                        .collect()
                        .await
                        .map_err(ConnectorError::io)?
                        .to_bytes();
                    let r = Recorded {
                        target,
                        status: resp.status().as_u16(),
                        headers: resp
                            .headers()
                            .iter()
                            .map(|(k, v)| (k.to_owned(), v.to_owned()))
                            .collect(),
                        body,
                    };
                    tape.with(|s| s.recorded.push(r.clone()));
                    response(&r)
                })
            }
        }
    }
}

/// One function's CPU per request, in microseconds (ascending).
pub struct CpuResult {
    pub function: &'static str,
    pub what: &'static str,
    pub micros: Vec<f64>,
}

pub struct Cpu {
    pub results: Vec<CpuResult>,
    pub iterations: usize,
    /// One bare SDK GetItem (recorded response), µs ascending: what any handler that reads
    /// DynamoDB pays before doing anything of its own.
    pub sdk_floor: Vec<f64>,
}

impl Cpu {
    pub fn worst_p99(&self) -> Option<(&'static str, f64)> {
        self.results
            .iter()
            .map(|r| (r.function, percentile(&r.micros, 0.99)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    pub fn table(&self) -> String {
        let mut s = format!(
            "| Handler CPU per request, no I/O ({} runs each, thread CPU time) | p50 µs | p99 µs | max µs | budget p99 < 100 µs |\n|---|---|---|---|---|\n",
            self.iterations
        );
        for r in &self.results {
            let p99 = percentile(&r.micros, 0.99);
            s.push_str(&format!(
                "| {} ({}) | {:.0} | {:.0} | {:.0} | {} |\n",
                r.function,
                r.what,
                percentile(&r.micros, 0.5),
                p99,
                r.micros.last().copied().unwrap_or(0.0),
                if p99 < 100.0 { "✅" } else { "❌" }
            ));
        }
        s.push_str(&format!(
            "| *floor: one bare SDK GetItem, no handler* | {:.0} | {:.0} | {:.0} | – |\n",
            percentile(&self.sdk_floor, 0.5),
            percentile(&self.sdk_floor, 0.99),
            self.sdk_floor.last().copied().unwrap_or(0.0),
        ));
        s
    }
}

fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

struct Case {
    function: &'static str,
    what: &'static str,
    event: String,
    want: u16,
}

/// The v2 event API Gateway would send for this request, as text.
fn event_text(gw: &Gateway, req: &Req<'_>) -> Result<String, BoxError> {
    let (parts, body) = req.build()?.into_parts();
    Ok(gw.http_event(&parts, &body).to_string())
}

async fn invoke_body(
    functions: &registry::Functions,
    function: &str,
    event: &str,
) -> Result<(u16, Value), BoxError> {
    let request = lambda_http::request::from_str(event)?;
    let resp = registry::invoke_http(function, functions, request)
        .await
        .ok_or("unknown function")?;
    let status = resp.status().as_u16();
    let body = match resp.into_body() {
        lambda_http::Body::Text(t) => serde_json::from_str(&t).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    Ok((status, body))
}

async fn invoke(
    functions: &registry::Functions,
    function: &str,
    event: &str,
) -> Result<u16, BoxError> {
    let request = lambda_http::request::from_str(event)?;
    let resp = registry::invoke_http(function, functions, request)
        .await
        .ok_or("unknown function")?;
    let status = resp.status().as_u16();
    // What the runtime sends back: the v2 response payload, serialised.
    let payload = boxoffice_local::gateway::v2_response(resp).to_string();
    std::hint::black_box(payload);
    Ok(status)
}

/// Records each case on `show` (seats R19-10.. must be free), then replays it `iterations` times.
pub async fn measure(
    stack: &LocalStack,
    show: &str,
    browse_path: &str,
    iterations: usize,
) -> Result<Cpu, BoxError> {
    let inner = stack
        .sdk
        .http_client()
        .ok_or("the local stack sets an HTTP client")?;
    let tape = Tape {
        inner,
        state: Default::default(),
    };
    let mut deps = stack.deps.clone();
    let conf = aws_sdk_dynamodb::config::Builder::from(&stack.sdk)
        .http_client(tape.clone())
        .build();
    let ddb = aws_sdk_dynamodb::Client::from_conf(conf);
    deps.store = boxoffice::store::Store::new(ddb.clone(), deps.store.table());
    deps.sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&stack.sdk)
            .http_client(tape.clone())
            .build(),
    );
    deps.eventbridge = aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(&stack.sdk)
            .http_client(tape.clone())
            .build(),
    );
    deps.caches = Default::default();
    let gw = Gateway::new(&stack.template, deps.clone());
    // Warm containers (their secrets read once, at the first invocation), as the gateway's.
    let functions = registry::Functions::new(deps.clone());
    let now = deps.clock.now_epoch();
    let user = issue_token(&deps.config.jwt, "usr_cpu", "c@bench", Role::Customer, now)?;
    let hold = |seat: &str| {
        Req::new("POST", "/api/v1/bookings")
            .token(&user)
            .header("idempotency-key", boxoffice::ids::new_id("idem"))
            .json(&json!({"showId": show, "seatIds": [seat]}))
    };
    // A warm container: the show and city caches filled by an earlier request.
    tape.record();
    let status = invoke(
        &functions,
        "create-booking",
        &event_text(&gw, &hold("R19-10"))?,
    )
    .await?;
    if status != 201 {
        return Err(format!("cpu: warming create-booking answered {status}").into());
    }

    let mut recorded: Vec<(Case, Vec<Recorded>)> = Vec::new();
    let mut record = |case: Case, tape: &Tape| {
        let r = tape.with(|s| std::mem::take(&mut s.recorded));
        recorded.push((case, r));
    };

    let event = event_text(&gw, &hold("R19-11"))?;
    tape.record();
    let (status, booking) = invoke_body(&functions, "create-booking", &event).await?;
    if status != 201 {
        return Err(format!("cpu: recording create-booking answered {status}: {booking}").into());
    }
    let booking_id = booking["bookingId"]
        .as_str()
        .ok_or("cpu: the hold failed")?
        .to_owned();
    record(
        Case {
            function: "create-booking",
            what: "warm hold, 1 seat",
            event,
            want: 201,
        },
        &tape,
    );

    let cases: Vec<(&'static str, &'static str, String, u16)> = vec![
        (
            "initiate-payment",
            "sandbox intent",
            event_text(
                &gw,
                &Req::new("POST", &format!("/api/v1/bookings/{booking_id}/payments"))
                    .token(&user)
                    .header("idempotency-key", boxoffice::ids::new_id("idem"))
                    .json(&json!({"provider": "sandbox", "returnUrl": "https://bench.example/return"})),
            )?,
            201,
        ),
        (
            "get-seat-map",
            "500 seats",
            event_text(&gw, &Req::new("GET", &format!("/api/v1/shows/{show}/seats")))?,
            200,
        ),
        (
            "browse-shows",
            "one page",
            event_text(&gw, &Req::new("GET", browse_path))?,
            200,
        ),
        (
            "get-booking",
            "own booking",
            event_text(
                &gw,
                &Req::new("GET", &format!("/api/v1/bookings/{booking_id}")).token(&user),
            )?,
            200,
        ),
    ];
    for (function, what, event, want) in cases {
        // The reads run once unrecorded first, so the recording is a warm container's (caches
        // filled); initiate-payment is not repeated, its second call would be an idempotent replay.
        if function != "initiate-payment" {
            invoke(&functions, function, &event).await?;
        }
        tape.record();
        let status = invoke(&functions, function, &event).await?;
        if status != want {
            return Err(format!("cpu: recording {function} answered {status}").into());
        }
        record(
            Case {
                function,
                what,
                event,
                want,
            },
            &tape,
        );
    }
    // The webhook last: its intent exists now. Its message stays queued until the flow's
    // trigger confirms the booking.
    let intent = boxoffice::payments::sandbox_intent_id(&booking_id);
    let (signature, body) = sandbox_webhook(
        &deps.config,
        &SandboxEvent {
            event_id: boxoffice::ids::new_id("evt"),
            kind: "payment.succeeded".into(),
            payment_intent_id: intent,
            amount: booking["pricing"]["total"].as_i64().unwrap_or(0),
            currency: "INR".into(),
            booking_reference: booking_id.clone(),
            timestamp: now,
        },
        now,
    )?;
    let event = event_text(
        &gw,
        &Req::new("POST", "/api/v1/payments/webhooks/sandbox")
            .header("x-signature", signature)
            .raw(body),
    )?;
    tape.record();
    let status = invoke(&functions, "payment-webhook", &event).await?;
    if status != 200 {
        return Err(format!("cpu: recording payment-webhook answered {status}").into());
    }
    record(
        Case {
            function: "payment-webhook",
            what: "verify + enqueue",
            event,
            want: 200,
        },
        &tape,
    );

    // The floor under every handler: one SDK GetItem of the booking, nothing else (request
    // building, endpoint resolution, SigV4 signing, retry bookkeeping, response parsing).
    tape.record();
    let get_item = {
        let (ddb, table) = (ddb.clone(), deps.store.table().to_owned());
        let key = boxoffice::store::keys::booking_pk(&booking_id);
        move || {
            ddb.get_item()
                .table_name(&table)
                .key("pk", AttributeValue::S(key.clone()))
                .key("sk", AttributeValue::S(BOOKING_SK.into()))
                .send()
        }
    };
    get_item().await?;
    let floor_recorded = tape.with(|s| std::mem::take(&mut s.recorded));

    // Replay on one thread with no I/O at all.
    let floor_tape = tape.clone();
    let results =
        tokio::task::spawn_blocking(move || replay(functions, tape, recorded, iterations))
            .await??;
    let sdk_floor = tokio::task::spawn_blocking(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()?;
        floor_tape.with(|s| s.recorded = floor_recorded);
        floor_tape.replay();
        let timed = timed_runs(iterations, || {
            floor_tape.rewind();
            rt.block_on(get_item()).map(|_| ()).map_err(BoxError::from)
        })?;
        Ok::<_, BoxError>(timed)
    })
    .await??;
    Ok(Cpu {
        results,
        iterations,
        sdk_floor,
    })
}

/// Runs `f` `iterations` times after a tenth as many uncounted warm-up runs (code paths,
/// allocator), timing each with this thread's CPU clock: microseconds, ascending.
fn timed_runs(
    iterations: usize,
    mut f: impl FnMut() -> Result<(), BoxError>,
) -> Result<Vec<f64>, BoxError> {
    let mut micros = Vec::with_capacity(iterations);
    for i in 0..iterations + iterations / 10 {
        let t = thread_cpu_seconds();
        f()?;
        let spent = thread_cpu_seconds() - t;
        if i >= iterations / 10 {
            micros.push(spent * 1e6);
        }
    }
    Ok(sorted(micros))
}

fn replay(
    functions: registry::Functions,
    tape: Tape,
    cases: Vec<(Case, Vec<Recorded>)>,
    iterations: usize,
) -> Result<Vec<CpuResult>, BoxError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let mut out = Vec::new();
    for (case, recorded) in cases {
        tape.with(|s| {
            s.recorded = recorded;
            s.mismatches = 0;
        });
        tape.replay();
        let micros = timed_runs(iterations, || {
            tape.rewind();
            let status = rt.block_on(invoke(&functions, case.function, &case.event))?;
            if status != case.want {
                return Err(format!("cpu: replaying {} answered {status}", case.function).into());
            }
            Ok(())
        })?;
        if tape.with(|s| s.mismatches) > 0 {
            return Err(format!("cpu: {} sent requests other than recorded", case.function).into());
        }
        out.push(CpuResult {
            function: case.function,
            what: case.what,
            micros,
        });
    }
    Ok(out)
}
