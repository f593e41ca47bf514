#!/usr/bin/env bash
# Contract tests: every operation of openapi.yaml, fuzzed by schemathesis against the real local
# gateway (target/debug/boxoffice-local, on a free loopback port), checking that no answer is a 5xx
# and that every status, content type, header and body is the one the document describes. Two
# passes: identifiers fuzzed with a customer registered through the API, then real identifiers
# (infra/contract_setup.py, infra/contract_hooks.py) with each operation's role. The run fails
# when pass 2 leaves an operation without a single 2xx answer (infra/contract_summary.py): a
# suite that only ever sees an operation's guards proves nothing about its success path.
# Runs inside a stack:
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

# The document's own examples and links first (a second, no stack needed).
"$ROOT/.local/contract-venv/bin/python" "$ROOT/infra/contract_examples.py" "$ROOT/openapi.yaml"

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

# Every check schemathesis has (no 5xx; each answer's status, content type, documented headers
# and body as openapi.yaml describes them; schema-violating requests refused; auth enforced;
# 405 with Allow for undocumented methods; ...) but positive_data_acceptance: it wants a 2xx for
# every schema-valid request, and no schema can say that a cursor must come from a previous page,
# a seat id must be in the show, `startTime` in the future or a webhook correctly signed, so the
# server's legitimate 400/410/422 answers to such requests would count as failures. Pass 2 also
# turns ignored_auth off for paymentWebhook alone (its configuration, infra/contract_setup.py):
# there the signature is the credential, and the contract answers a missing or wrong one with
# 400 INVALID_SIGNATURE (as Stripe does), where ignored_auth expects 401/403.
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
offset() { stat -c %s "$work/gateway.log"; }
summary() {
  "$ROOT/.local/contract-venv/bin/python" "$ROOT/infra/contract_summary.py" \
    "$ROOT/openapi.yaml" "$work/gateway.log" "$@" >&2
}
status=0
pass1_from=$(offset)
run "pass 1 (fuzzed identifiers, customer)" run "$ROOT/openapi.yaml" \
  --header "Authorization: Bearer $token" || status=$?
pass1_to=$(offset)

# Pass 2 pins real identifiers (the demo catalogue and records made for the run: bookings, a
# sold-out show and its ticket) and each operation's role (admin, partner, customer), so the
# handlers' core logic answers too. Prepared after pass 1, so that its seat holds (HOLD_SECONDS,
# 120 s locally) last through pass 2. The hooks sign the webhooks with the stage's secrets, read
# here from the local stack's Secrets Manager (moto) into the run's folder (removed on exit).
python3 "$ROOT/infra/contract_setup.py" "$base" "$work/gateway.log" "$work/hook-data.json" \
  >"$work/pass2.toml" || die "could not prepare the test data"
(umask 077 && "$ROOT/.local/venv/bin/python" - "$work/webhook-secrets.json" <<'EOF') ||
import boto3, json, sys
value = boto3.client("secretsmanager").get_secret_value(SecretId="boxoffice-local/PaymentKeysSecret")
keys = json.loads(value["SecretString"])
with open(sys.argv[1], "w", encoding="utf-8") as f:
    json.dump({k: keys[k] for k in ("sandboxWebhookSecret", "stripeWebhookSecret")}, f)
EOF
  die "could not read the webhook secrets from the local Secrets Manager"
pass2_from=$(offset)
SCHEMATHESIS_HOOKS="$ROOT/infra/contract_hooks.py" CONTRACT_HOOK_DATA="$work/hook-data.json" \
  CONTRACT_WEBHOOK_SECRETS="$work/webhook-secrets.json" \
  run "pass 2 (real identifiers, every role)" --config-file "$work/pass2.toml" run "$ROOT/openapi.yaml" ||
  status=$?
pass2_to=$(offset)

# What the handlers answered, per operation (from the gateway's request log). Pass 1 mostly meets
# the guards (fuzzed identifiers, a customer's token) and is shown for information; pass 2 must
# reach every operation's success path: one that only ever answered non-2xx fails the run.
summary "$pass1_from" "$pass1_to" "pass 1"
summary "$pass2_from" "$pass2_to" "pass 2" --require-2xx || status=1
exit $status
