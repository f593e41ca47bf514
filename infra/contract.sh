#!/usr/bin/env bash
# Contract tests: every operation of openapi.yaml, fuzzed by schemathesis against the real local
# gateway (target/debug/boxoffice-local, on a free loopback port), checking that no answer is a 5xx
# and that every status, content type, header and body is the one the document describes. Two
# passes: identifiers fuzzed with a customer registered through the API, then real identifiers
# (infra/contract_setup.py) with each operation's role. Runs inside a stack:
#   cargo build -p boxoffice-local && infra/with-stack.sh infra/contract.sh
# (`make test` does both.) Extra arguments go to `schemathesis run`.
#   CONTRACT_MAX_EXAMPLES  test cases per operation and phase (default 20)
#   CONTRACT_SEED          the generation seed (default 20250101), so a failure reproduces
#   CONTRACT_READY_SECONDS how long to wait for the gateway (default 120)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=infra/proc.sh
source "$ROOT/infra/proc.sh"
BIN=${BOXOFFICE_LOCAL_BIN:-$ROOT/target/debug/boxoffice-local}
SCHEMATHESIS="$ROOT/.local/contract-venv/bin/schemathesis"
MAX_EXAMPLES=${CONTRACT_MAX_EXAMPLES:-20}
SEED=${CONTRACT_SEED:-20250101}
READY_SECONDS=${CONTRACT_READY_SECONDS:-120}
HOST=127.0.0.1

log() { printf '[contract] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ -n "${AWS_ENDPOINT_URL_DYNAMODB:-}" ] || die "run inside the stack: infra/with-stack.sh infra/contract.sh"
[ -x "$BIN" ] || die "$BIN is missing: cargo build -p boxoffice-local"
"$ROOT/infra/stack.sh" install-contract-tools

work=$(mktemp -d "${TMPDIR:-/tmp}/boxoffice-contract.XXXXXX")
gateway=

# Stops the gateway this script started (by its PID only): TERM, then KILL after 10 s.
stop_gateway() {
  [ -n "$gateway" ] || return 0
  if alive "$gateway"; then
    kill -TERM "$gateway" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while alive "$gateway" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    if alive "$gateway"; then kill -KILL "$gateway" 2>/dev/null || true; fi
  fi
  wait "$gateway" 2>/dev/null || true
  gateway=
}

# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_gateway
  if [ "$rc" -ne 0 ] && [ -f "$work/gateway.log" ]; then
    log "gateway log (last 30 lines):"
    tail -n 30 "$work/gateway.log" >&2 || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The gateway binds 127.0.0.1:$PORT itself; a port taken meanwhile makes it exit, so try another.
port=
for attempt in 1 2 3 4 5; do
  candidate=$(free_port)
  PORT=$candidate "$BIN" </dev/null >"$work/gateway.log" 2>&1 &
  gateway=$!
  deadline=$((SECONDS + READY_SECONDS))
  while [ $SECONDS -lt $deadline ] && alive "$gateway"; do
    code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' --max-time 2 \
      "http://$HOST:$candidate/api/v1/cities" || true)
    if [ "$code" = 200 ]; then port=$candidate; break; fi
    sleep 0.2
  done
  [ -n "$port" ] && break
  log "gateway did not come up on port $candidate (attempt $attempt): $(tail -n 2 "$work/gateway.log" | tr '\n' ' ')"
  stop_gateway
done
[ -n "$port" ] || die "the gateway did not start"
base="http://$HOST:$port"
log "gateway on $base (pid $gateway)"

# Pass 1 fuzzes every operation, identifiers included, as a customer registered through the API.
email="contract-$(date +%s)-$$@example.com"
password="contract-$RANDOM-$RANDOM-password"
api() {
  curl -sS --noproxy '*' --max-time 30 -H 'content-type: application/json' -X POST "$base/api/v1/$1" -d "$2"
}
api auth/register "{\"email\":\"$email\",\"password\":\"$password\",\"name\":\"Contract Customer\"}" >/dev/null
token=$(api auth/login "{\"email\":\"$email\",\"password\":\"$password\"}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["accessToken"])') ||
  die "could not log the contract customer in"

# Pass 2 pins real identifiers (the demo catalogue, a booking with an open payment intent) and
# each operation's role (admin, partner, customer), so the handlers' core logic answers too.
python3 "$ROOT/infra/contract_setup.py" "$base" "$work/gateway.log" >"$work/pass2.toml" ||
  die "could not prepare the test data"

# Every check schemathesis has (no 5xx; each answer's status, content type, documented headers
# and body as openapi.yaml describes them; schema-violating requests refused; auth enforced;
# 405 with Allow for undocumented methods; ...) but positive_data_acceptance: it wants a 2xx for
# every schema-valid request, and no schema can say that a cursor must come from a previous page,
# a seat id must be in the show, `startTime` in the future or a webhook correctly signed, so the
# server's legitimate 400/410/422 answers to such requests would count as failures.
CHECKS=all
EXCLUDED_CHECKS=positive_data_acceptance
version=$("$SCHEMATHESIS" --version 2>/dev/null | awk '{print $NF}')
# One worker: the gateway shares the two cores anyway, and with threads Python 3.11.7's ast module
# (hypothesis describes strategies by parsing source) fails with "AST constructor recursion depth
# mismatch" (CPython gh-106905).
run() {
  local name=$1 started=$SECONDS rc=0
  shift
  log "$name: schemathesis $version, $MAX_EXAMPLES examples per operation, seed $SEED"
  (cd "$work" && "$SCHEMATHESIS" "$@" \
    --url "$base" \
    --checks "$CHECKS" \
    --exclude-checks "$EXCLUDED_CHECKS" \
    --max-examples "$MAX_EXAMPLES" \
    --seed "$SEED" \
    --generation-database none \
    --workers 1 \
    --request-timeout 30 \
    --no-color \
    "${EXTRA[@]}") || rc=$?
  log "$name: finished in $((SECONDS - started)) s (exit $rc)"
  return $rc
}
EXTRA=("$@")
status=0
run "pass 1 (fuzzed identifiers, customer)" run "$ROOT/openapi.yaml" \
  --header "Authorization: Bearer $token" || status=$?
run "pass 2 (real identifiers, every role)" --config-file "$work/pass2.toml" run "$ROOT/openapi.yaml" ||
  status=$?

# What the handlers answered, per operation (from the gateway's request log): shows at a glance
# which operations reached their success path.
"$ROOT/.local/contract-venv/bin/python" - "$ROOT/openapi.yaml" "$work/gateway.log" <<'EOF' >&2 || true
import collections, json, re, sys, yaml
paths = yaml.safe_load(open(sys.argv[1]))["paths"]
templates = [(m.upper(), p, re.compile("^" + re.sub(r"\{[^}/]+\}", "[^/]+", p) + "$"))
             for p, item in paths.items() for m in item if m in ("get", "put", "post", "delete", "patch")]
seen = collections.defaultdict(collections.Counter)
for line in open(sys.argv[2], errors="replace"):
    if '"request done"' not in line:
        continue
    try:
        rec = json.loads(line)
    except ValueError:
        continue
    span = rec.get("span", {})
    method, path = span.get("method"), span.get("path", "")
    name = next((f"{m} {p}" for m, p, rx in templates if m == method and rx.match(path)), "(unrouted)")
    seen[name][rec.get("status")] += 1
print("[contract] answers per operation (status x count):")
for name in sorted(seen):
    print(f"  {name:<62} " + " ".join(f"{s}x{n}" for s, n in sorted(seen[name].items())))
EOF
exit $status
