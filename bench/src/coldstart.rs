//! Cold starts: every function binary (bench-fast build) is spawned as Lambda would start it, with
//! the local stack's configuration and `AWS_LAMBDA_RUNTIME_API` pointing at a stub of the Lambda
//! Runtime API that hands out one event from events/. Measured per run: spawn → the runtime's
//! first `GET /invocation/next` (what Lambda reports as Init Duration), spawn → the first answer
//! (`/response` or `/error`), and peak RSS (VmHWM) once the function is idle again.
//! The same for a hello-world `lambda_runtime` binary (bench/hello): the floor to compare with.

use crate::util::BoxError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{body::Incoming, server::conn::http1, service::service_fn, Request, Response};
use hyper_util::rt::TokioIo;
use std::{
    collections::HashMap,
    convert::Infallible,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use tokio::{net::TcpListener, sync::mpsc};

pub const HELLO: &str = "bench-hello";
const PREFIX: &str = "/2018-06-01/runtime";
const REQUEST_ID: &str = "bench-request-0001";

enum Seen {
    Next(Instant),
    Answer(Instant, String),
    Error(Instant, String),
    InitError(String),
}

struct Stub {
    event: Bytes,
    function: String,
    nexts: AtomicUsize,
    seen: mpsc::UnboundedSender<Seen>,
}

async fn stub_call(stub: Arc<Stub>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let get = req.method() == hyper::Method::GET;
    let reply = |status: u16, body: &'static str| {
        let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
        *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
        r
    };
    if get && path == format!("{PREFIX}/invocation/next") {
        let _ = stub.seen.send(Seen::Next(Instant::now()));
        if stub.nexts.fetch_add(1, Ordering::SeqCst) > 0 {
            // The function is idle, waiting for work: it never comes.
            futures::future::pending::<()>().await;
        }
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() + 10_000)
            .unwrap_or(0);
        let mut r = Response::new(Full::new(stub.event.clone()));
        let h = r.headers_mut();
        let mut set = |k: &'static str, v: String| {
            if let Ok(v) = hyper::header::HeaderValue::from_str(&v) {
                h.insert(k, v);
            }
        };
        set("content-type", "application/json".into());
        set("lambda-runtime-aws-request-id", REQUEST_ID.into());
        set("lambda-runtime-deadline-ms", deadline.to_string());
        set(
            "lambda-runtime-invoked-function-arn",
            format!(
                "arn:aws:lambda:us-east-1:000000000000:function:{}",
                stub.function
            ),
        );
        set(
            "lambda-runtime-trace-id",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0".into(),
        );
        return r;
    }
    if get {
        return reply(404, "{}");
    }
    let body = match req.into_body().collect().await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
        Err(_) => String::new(),
    };
    let now = Instant::now();
    let seen = if path == format!("{PREFIX}/invocation/{REQUEST_ID}/response") {
        Seen::Answer(now, body)
    } else if path == format!("{PREFIX}/invocation/{REQUEST_ID}/error") {
        Seen::Error(now, body)
    } else if path == format!("{PREFIX}/init/error") {
        Seen::InitError(body)
    } else {
        return reply(404, "{}");
    };
    let _ = stub.seen.send(seen);
    reply(202, r#"{"status":"OK"}"#)
}

/// One spawn of one binary.
struct Run {
    init_ms: Option<f64>,
    answer_ms: Option<f64>,
    rss_kib: Option<u64>,
    outcome: String,
}

async fn run_once(
    binary: &Path,
    function: &str,
    event: &Bytes,
    env: &[(String, String)],
) -> Result<Run, BoxError> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let port = listener.local_addr()?.port();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let stub = Arc::new(Stub {
        event: event.clone(),
        function: function.to_owned(),
        nexts: AtomicUsize::new(0),
        seen: tx,
    });
    let server = tokio::spawn({
        let stub = stub.clone();
        async move {
            while let Ok((stream, _)) = listener.accept().await {
                let stub = stub.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let stub = stub.clone();
                        async move { Ok::<_, Infallible>(stub_call(stub, req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    });

    let spawned = Instant::now();
    let mut child = Command::new(binary)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function}"),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
        // The function's Handler (template.yaml): the multi-call bootstrap runs the function it
        // names; a function's own binary ignores it.
        .env("_HANDLER", function)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let ms = |t: Instant| (t - spawned).as_secs_f64() * 1000.0;
    let mut run = Run {
        init_ms: None,
        answer_ms: None,
        rss_kib: None,
        outcome: "no answer in 10 s".into(),
    };
    let limit = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let seen = tokio::select! {
            s = rx.recv() => s,
            _ = tokio::time::sleep(Duration::from_millis(25)) => {
                if let Ok(Some(status)) = child.try_wait() {
                    run.outcome = format!("exited ({status})");
                    break;
                }
                if tokio::time::Instant::now() > limit {
                    break;
                }
                continue;
            }
        };
        match seen {
            Some(Seen::Next(t)) if run.init_ms.is_none() => run.init_ms = Some(ms(t)),
            // Idle again after answering: the first invocation is complete.
            Some(Seen::Next(_)) => break,
            Some(Seen::Answer(t, body)) => {
                run.answer_ms = Some(ms(t));
                run.outcome = answer_kind(&body);
            }
            Some(Seen::Error(t, body)) => {
                run.answer_ms = Some(ms(t));
                run.outcome = format!("error: {}", short(&body));
            }
            Some(Seen::InitError(body)) => {
                run.outcome = format!("init error: {}", short(&body));
                break;
            }
            None => break,
        }
    }
    run.rss_kib = peak_rss_kib(pid);
    let _ = child.kill();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output()).await??;
    server.abort();
    if run.answer_ms.is_none() {
        let log = String::from_utf8_lossy(&output.stderr).into_owned()
            + &String::from_utf8_lossy(&output.stdout);
        run.outcome = format!("{}: {}", run.outcome, short(&log));
    }
    Ok(run)
}

fn short(s: &str) -> String {
    let s: String = s.chars().filter(|c| *c != '|' && *c != '\n').collect();
    s.chars().take(120).collect()
}

/// "HTTP 200" for an API Gateway response payload, "ok" for any other JSON answer.
fn answer_kind(body: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) => match v["statusCode"].as_u64() {
            Some(code) => format!("HTTP {code}"),
            None if v["batchItemFailures"]
                .as_array()
                .is_some_and(|a| !a.is_empty()) =>
            {
                "batch item failures".into()
            }
            None => "ok".into(),
        },
        Err(_) => "non-JSON answer".into(),
    }
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Whether an ELF file still has its symbol table (`.symtab`): not stripped.
pub fn has_symtab(path: &Path) -> Option<bool> {
    let data = std::fs::read(path).ok()?;
    if data.get(0..4)? != b"\x7fELF" || *data.get(4)? != 2 {
        return None;
    }
    let le = *data.get(5)? == 1;
    let num = |at: usize, len: usize| -> Option<u64> {
        let b = data.get(at..at + len)?;
        let mut v = 0u64;
        for i in 0..len {
            let byte = if le { b[len - 1 - i] } else { b[i] };
            v = (v << 8) | byte as u64;
        }
        Some(v)
    };
    let shoff = num(0x28, 8)? as usize;
    let shentsize = num(0x3A, 2)? as usize;
    let shnum = num(0x3C, 2)? as usize;
    for i in 0..shnum {
        // SHT_SYMTAB = 2
        if num(shoff + i * shentsize + 4, 4)? == 2 {
            return Some(true);
        }
    }
    Some(false)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    Some(v[v.len() / 2])
}

pub struct Cold {
    pub function: String,
    pub bytes: Option<u64>,
    pub stripped: Option<bool>,
    pub arm64_bytes: Option<u64>,
    pub arm64_stripped: Option<bool>,
    pub init_ms: Option<f64>,
    pub answer_ms: Option<f64>,
    pub rss_kib: Option<u64>,
    pub outcome: String,
}

pub struct ColdStarts {
    pub runs: usize,
    pub hello: Cold,
    pub functions: Vec<Cold>,
    /// Release-profile candidates from bench/profiles.sh, when it has been run.
    pub variants: Vec<Cold>,
    /// Where `sam build` left the arm64 binaries, when it has.
    pub arm64_dir: Option<PathBuf>,
}

fn samples(events: &Path, function: &str) -> Vec<Bytes> {
    event_for(events, function).into_iter().collect()
}

/// The event a function is started with: events/<name>.json, else the first events/<name>-*.json.
fn event_for(events: &Path, function: &str) -> Option<Bytes> {
    let exact = events.join(format!("{function}.json"));
    if let Ok(b) = std::fs::read(&exact) {
        return Some(Bytes::from(b));
    }
    let mut names: Vec<PathBuf> = std::fs::read_dir(events)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{function}-")) && n.ends_with(".json"))
        })
        .collect();
    names.sort();
    std::fs::read(names.first()?).ok().map(Bytes::from)
}

/// Run `i` gets `events[i % len]` (a request that succeeds once gets one of its own per run).
async fn measure_one(
    binary: &Path,
    function: &str,
    events: Vec<Bytes>,
    env: &[(String, String)],
    runs: usize,
) -> Result<Cold, BoxError> {
    let mut cold = Cold {
        function: function.to_owned(),
        bytes: std::fs::metadata(binary).ok().map(|m| m.len()),
        stripped: has_symtab(binary).map(|s| !s),
        arm64_bytes: None,
        arm64_stripped: None,
        init_ms: None,
        answer_ms: None,
        rss_kib: None,
        outcome: String::new(),
    };
    if cold.bytes.is_none() {
        cold.outcome = format!("not built ({})", binary.display());
        return Ok(cold);
    }
    if events.is_empty() {
        cold.outcome = "no event".into();
        return Ok(cold);
    }
    let (mut inits, mut answers, mut outcomes) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        let run = run_once(binary, function, &events[i % events.len()], env).await?;
        inits.extend(run.init_ms);
        answers.extend(run.answer_ms);
        cold.rss_kib = cold.rss_kib.max(run.rss_kib);
        if !outcomes.contains(&run.outcome) {
            outcomes.push(run.outcome);
        }
    }
    cold.init_ms = median(inits);
    cold.answer_ms = median(answers);
    cold.outcome = outcomes.join("; ");
    Ok(cold)
}

/// `env`: the function configuration (the local stack's), added to this process's environment
/// (endpoints, region, credentials); `events`: each function's successful requests
/// (`coldevents`), events/ samples for any function without.
pub async fn measure(
    functions: &[String],
    logical_ids: &HashMap<String, String>,
    env: &[(String, String)],
    events: &crate::coldevents::Events,
    runs: usize,
) -> Result<ColdStarts, BoxError> {
    let bin_dir = std::env::current_exe()?
        .parent()
        .ok_or("no binary folder")?
        .to_path_buf();
    let root = boxoffice_local::repo_root();
    let samples_dir = root.join("events");
    let hello = measure_one(
        &bin_dir.join(HELLO),
        HELLO,
        vec![Bytes::from_static(br#"{"hello":"world"}"#)],
        env,
        runs,
    )
    .await?;
    let sam = root.join(".aws-sam/build");
    let arm64_dir = sam.is_dir().then_some(sam);
    let mut out = Vec::new();
    for f in functions {
        let own = events.get(f).cloned().unwrap_or_default();
        let own = if own.is_empty() {
            samples(&samples_dir, f)
        } else {
            own
        };
        let mut cold = measure_one(&bin_dir.join(f), f, own, env, runs).await?;
        if let (Some(dir), Some(id)) = (&arm64_dir, logical_ids.get(f)) {
            let bootstrap = dir.join(id).join("bootstrap");
            cold.arm64_bytes = std::fs::metadata(&bootstrap).ok().map(|m| m.len());
            cold.arm64_stripped = has_symtab(&bootstrap).map(|s| !s);
        }
        out.push(cold);
    }
    let variants = measure_profile_variants(&root, functions, &samples_dir, env, runs).await?;
    Ok(ColdStarts {
        runs,
        hello,
        functions: out,
        arm64_dir,
        variants,
    })
}

/// The release-profile candidates bench/profiles.sh leaves in target/profiles/bin, named
/// `<function>-<variant>`: the same cold start, so the profile is chosen on measured init and size.
async fn measure_profile_variants(
    root: &Path,
    functions: &[String],
    events: &Path,
    env: &[(String, String)],
    runs: usize,
) -> Result<Vec<Cold>, BoxError> {
    let Ok(dir) = std::fs::read_dir(root.join("target/profiles/bin")) else {
        return Ok(Vec::new());
    };
    let mut binaries: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
    binaries.sort();
    let mut out = Vec::new();
    for binary in binaries {
        let Some(name) = binary.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(function) = functions
            .iter()
            .filter(|f| name.starts_with(&format!("{f}-")))
            .max_by_key(|f| f.len())
        else {
            continue;
        };
        let mut cold = measure_one(&binary, function, samples(events, function), env, runs).await?;
        cold.function = name.to_owned();
        out.push(cold);
    }
    Ok(out)
}
