#!/usr/bin/env bash
# Scaffolds functions/<name>: a lib (the handler) and a wiring-only main.
# Then add: its function block in template.yaml (Handler: <name>, see the convention at its top)
# and its route in shared/src/routes.rs, its row in bootstrap/src/main.rs's functions! table and
# its crate in bootstrap/Cargo.toml (the one binary every function deploys), its handler in
# infra/local/src/registry.rs, and events/<name>.json (the wiring tests check all of them).
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
if [ "$kind" = http ]; then
  printf 'boxoffice::http_main!(%s);\n' "$crate" > "$dir/src/main.rs"
  cat > "$dir/src/lib.rs" <<RS
use boxoffice::{http::{serve, HttpResult}, Deps};
use lambda_http::{Body, Request, Response};

// The secrets it reads at cold start, e.g. [JwtKeys] for a function that checks tokens; the
// template gives it their ARNs and GetSecretValue on them (iam_conformance checks).
boxoffice::http_entry!(handler, []);

pub async fn handler(deps: &Deps, req: Request) -> Response<Body> {
    serve(req, |req| handle(deps, req)).await
}

async fn handle(deps: &Deps, req: Request) -> HttpResult {
    let _ = (deps, req);
    todo!()
}
RS
else
  echo "write src/main.rs and src/lib.rs for a $kind function by hand" >&2
fi
echo "created $dir"
