#!/usr/bin/env bash
# Scaffolds functions/<name>: a lib (the handler and its FUNCTION entry point) and a main.rs that
# builds the configuration and clients and runs it.
# Then add: its function block in template.yaml (Handler: <name>, see the convention at its top)
# and its route in shared/src/routes.rs, its row in bootstrap/src/lib.rs's FUNCTIONS table and
# its crate in bootstrap/Cargo.toml (the table both the one binary every function deploys and the
# local stack run from), and events/<name>.json (the wiring tests check all of them).
set -euo pipefail
name=${1:?usage: infra/new-function.sh <function-name> [http|sqs|event]}
kind=${2:-http}
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/functions/$name"
[ -e "$dir" ] && { echo "$dir exists" >&2; exit 1; }
mkdir -p "$dir/src"
cat > "$dir/Cargo.toml" <<TOML
[package]
name = "$name"
edition.workspace = true
version.workspace = true
publish.workspace = true

[lib]
test = false
doctest = false

[[bin]]
name = "$name"
path = "src/main.rs"
test = false

[dependencies]
boxoffice.workspace = true
lambda_http.workspace = true
lambda_runtime.workspace = true
aws_lambda_events.workspace = true
serde.workspace = true
serde_json.workspace = true
tokio.workspace = true
tracing.workspace = true
TOML
crate=${name//-/_}
cat > "$dir/src/main.rs" <<RS
//! The \`$name\` Lambda binary: configuration, secrets and SDK clients built once per cold
//! start, then the runtime loop around the library's handler.

use boxoffice::{runtime, Deps};
use $crate::FUNCTION;

fn main() -> Result<(), runtime::Error> {
    runtime::block_on(async {
        let deps = Deps::from_env(FUNCTION.secrets).await?;
        runtime::serve(&deps, FUNCTION.handler).await
    })
}
RS
# The secrets it reads at cold start go into FUNCTION.secrets, e.g. &[SecretSet::JwtKeys] for a
# function that checks tokens; the template gives it their ARNs and GetSecretValue on them
# (deploy and iam_conformance check).
case "$kind" in
http) cat > "$dir/src/lib.rs" <<'RS'
use boxoffice::{
    http::{serve, HttpResult},
    runtime::{Function, Handler},
    Deps,
};
use lambda_http::{Body, Request, Response};

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Http(|deps, req| Box::pin(handler(deps, req))),
    secrets: &[],
};

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| handle(deps, req)).await
}

async fn handle(deps: &Deps, req: Request) -> HttpResult {
    let _ = (deps, req);
    todo!()
}
RS
;;
sqs) cat > "$dir/src/lib.rs" <<'RS'
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use boxoffice::{
    runtime::{each_message, Function, Handler},
    ApiError, Deps,
};

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Sqs(|deps, event| Box::pin(handler(deps, event))),
    secrets: &[],
};

/// Each message on its own: only the failed ones are retried.
pub async fn handler(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    each_message(&event, "message", |record| process_record(deps, record)).await
}

async fn process_record(deps: &Deps, record: &SqsMessage) -> Result<(), ApiError> {
    let _ = (deps, record);
    todo!()
}
RS
;;
event) cat > "$dir/src/lib.rs" <<'RS'
use boxoffice::{
    runtime::{Function, Handler},
    ApiError, Deps,
};
use serde_json::Value;

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Event(|deps, event| Box::pin(handler(deps, event))),
    secrets: &[],
};

/// An error fails the invocation, so EventBridge retries it.
pub async fn handler(deps: &Deps, event: Value) -> Result<Value, ApiError> {
    let _ = (deps, event);
    todo!()
}
RS
;;
*) echo "kind must be http, sqs or event" >&2; rm -rf "$dir"; exit 1 ;;
esac
echo "created $dir"
