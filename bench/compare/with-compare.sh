#!/usr/bin/env bash
# Runs a command beside make bench's Node/PostgreSQL/Redis reference service (bench/compare/):
# PostgreSQL and Redis (installed by `infra/stack.sh install-compare-tools` into .local/compare/)
# and server.js, each on a free 127.0.0.1 port in a fresh temporary folder; exports
#   COMPARE_URL                     the Node service, http://127.0.0.1:PORT
#   COMPARE_JWT_SECRET/_ISSUER/_AUDIENCE  what its bearer tokens must be signed with (a fresh secret)
#   COMPARE_VERSIONS                what runs, for the report
# and always stops exactly what it started (by PID) afterwards. When the comparison cannot run
# (BENCH_COMPARE=off, tools missing, a server that does not come up) it exports COMPARE_SKIPPED
# with the reason instead and still runs the command. Exits with the command's status.
#   bench/compare/with-compare.sh target/bench-fast/boxoffice-bench
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
# shellcheck source=infra/proc.sh
source "$root/infra/proc.sh"
[ $# -gt 0 ] || { echo "usage: bench/compare/with-compare.sh CMD [ARGS...]" >&2; exit 2; }
LOCAL="$root/.local/compare"
PG="$LOCAL/postgres"
REDIS="$LOCAL/redis/bin/redis-server"
READY_SECONDS=${COMPARE_READY_SECONDS:-60}
HOST=127.0.0.1

log() { printf '[compare] %s\n' "$*" >&2; }

run_without() {
  export COMPARE_SKIPPED="$1"
  log "comparison skipped: $1"
  shift
  status=0
  "$@" || status=$?
  exit $status
}

if [ "${BENCH_COMPARE:-on}" = off ]; then
  run_without "BENCH_COMPARE=off" "$@"
fi
if [ ! -x "$PG/bin/postgres" ] || [ ! -x "$REDIS" ] || ! compgen -G "$here/node_modules/.installed-*" >/dev/null; then
  run_without "PostgreSQL, Redis or the Node packages are not installed (infra/stack.sh install-compare-tools failed or was not run; they are pinned for Linux x86_64)" "$@"
fi

state=$(mktemp -d "${TMPDIR:-/tmp}/boxoffice-compare.XXXXXX")
chmod 755 "$state"
pids=()

# stop SIGNAL PID: SIGNAL (postgres: INT is its fast shutdown), wait up to 10 s, then KILL.
stop() {
  local sig=$1 pid=$2 deadline
  alive "$pid" || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  deadline=$((SECONDS + 10))
  while alive "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  if alive "$pid"; then
    log "pid $pid ignored $sig for 10 s: KILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
  trap - EXIT INT TERM
  [ -z "${WATCHDOG_PID:-}" ] || { kill "$WATCHDOG_PID" 2>/dev/null || true; wait "$WATCHDOG_PID" 2>/dev/null || true; }
  # The service first (it closes its pools), then the databases.
  [ -z "${NODE_PID:-}" ] || stop TERM "$NODE_PID"
  [ -z "${PG_PID:-}" ] || stop INT "$PG_PID"
  [ -z "${REDIS_PID:-}" ] || stop TERM "$REDIS_PID"
  rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_line PID LOG LINE: until LOG has LINE; fails at once if PID exits, or after READY_SECONDS.
wait_line() {
  local pid=$1 logfile=$2 line=$3 deadline=$((SECONDS + READY_SECONDS))
  while [ $SECONDS -lt $deadline ]; do
    alive "$pid" || return 1
    grep -qF -- "$line" "$logfile" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# PostgreSQL refuses to run as root: there it runs as nobody, owning its data folder.
as_db_user=()
if [ "$(id -u)" = 0 ]; then
  as_db_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  # The unprivileged user must reach PostgreSQL's libraries: a checkout below a private folder
  # (mktemp -d makes them 0700) hides them, so it runs a copy from the state folder (60 MB).
  if ! "${as_db_user[@]}" test -r "$PG/lib" 2>/dev/null; then
    cp -a "$PG" "$state/postgres"
    PG="$state/postgres"
  fi
fi

start_redis() {
  local attempt port
  mkdir -p "$state/redis"
  for attempt in 1 2 3; do
    port=$(free_port)
    (cd "$state/redis" && exec "$REDIS" --bind "$HOST" --port "$port" --protected-mode yes \
      --save '' --appendonly no --dir "$state/redis") </dev/null >"$state/redis.log" 2>&1 &
    REDIS_PID=$!
    if wait_line "$REDIS_PID" "$state/redis.log" "Ready to accept connections"; then
      REDIS_PORT=$port
      return 0
    fi
    stop TERM "$REDIS_PID"
    REDIS_PID=
  done
  return 1
}

start_postgres() {
  local attempt port
  mkdir -p "$state/pg"
  [ ${#as_db_user[@]} -eq 0 ] || chown 65534:65534 "$state/pg"
  "${as_db_user[@]}" "$PG/bin/initdb" -D "$state/pg/data" -U bench --auth=trust -E UTF8 \
    --no-locale --no-sync >"$state/initdb.log" 2>&1 || return 1
  for attempt in 1 2 3; do
    port=$(free_port)
    # DynamoDB Local runs in memory: durability off here too (no fsync, asynchronous commit).
    (cd "$state/pg" && exec "${as_db_user[@]}" "$PG/bin/postgres" -D "$state/pg/data" \
      -c listen_addresses="$HOST" -p "$port" -c unix_socket_directories= \
      -c max_connections=50 -c shared_buffers=128MB -c fsync=off -c synchronous_commit=off \
      -c full_page_writes=off) </dev/null >"$state/postgres.log" 2>&1 &
    PG_PID=$!
    if wait_line "$PG_PID" "$state/postgres.log" "database system is ready to accept connections"; then
      PG_PORT=$port
      return 0
    fi
    stop INT "$PG_PID"
    PG_PID=
  done
  return 1
}

start_node() {
  local attempt port
  for attempt in 1 2 3; do
    port=$(free_port)
    # Its cwd in the state folder too (modules resolve from server.js's own folder).
    (cd "$state" && PORT=$port PGHOST=$HOST PGPORT=$PG_PORT PGUSER=bench PGDATABASE=postgres \
      REDIS_URL="redis://$HOST:$REDIS_PORT" JWT_SECRET="$COMPARE_JWT_SECRET" \
      JWT_ISSUER="$COMPARE_JWT_ISSUER" JWT_AUDIENCE="$COMPARE_JWT_AUDIENCE" HOLD_SECONDS=3600 \
      PG_POOL_MAX="$COMPARE_PG_POOL_MAX" \
      NODE_ENV=production exec node "$here/server.js") </dev/null >"$state/node.log" 2>&1 &
    NODE_PID=$!
    if wait_line "$NODE_PID" "$state/node.log" "listening on $HOST:$port"; then
      NODE_PORT=$port
      return 0
    fi
    stop TERM "$NODE_PID"
    NODE_PID=
  done
  return 1
}

# Not inherited by the command through the environment of anything but this script's children.
COMPARE_JWT_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
COMPARE_JWT_ISSUER=boxoffice-compare
# node-postgres' default pool size; COMPARE_PG_POOL_MAX to try others.
export COMPARE_PG_POOL_MAX=${COMPARE_PG_POOL_MAX:-10}
COMPARE_JWT_AUDIENCE=boxoffice-compare
started=$(date +%s%N)
why=
if ! start_redis; then
  why="redis-server did not come up within ${READY_SECONDS} s: $(tail -n 1 "$state/redis.log" 2>/dev/null || true)"
elif ! start_postgres; then
  # (tail fails when a log was never written: under pipefail that would end the script here.)
  why="PostgreSQL did not come up within ${READY_SECONDS} s: $({ tail -n 1 "$state/postgres.log" "$state/initdb.log" 2>/dev/null || true; } | tr '\n' ' ')"
elif ! start_node; then
  why="the Node service did not come up within ${READY_SECONDS} s: $(tail -n 1 "$state/node.log" 2>/dev/null || true)"
fi
if [ -n "$why" ]; then
  cleanup
  trap - EXIT
  run_without "$why" "$@"
fi
log "redis-server on $HOST:$REDIS_PORT (pid $REDIS_PID), postgres on $HOST:$PG_PORT (pid $PG_PID), node on $HOST:$NODE_PORT (pid $NODE_PID), up in $(( ($(date +%s%N) - started) / 1000000 )) ms"

# Should this script be killed outright (SIGKILL: no trap runs), a watchdog stops the three, each
# only while it still runs in the state folder (a PID the system has given to another process is
# never signalled).
(
  trap - EXIT
  trap '' INT
  trap 'exit 0' TERM
  while kill -0 $$ 2>/dev/null; do sleep 1; done
  for pid in "$NODE_PID" "$PG_PID" "$REDIS_PID"; do
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || continue
    [ "${cwd#"$state"}" = "$cwd" ] || kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$state"
) </dev/null >/dev/null 2>&1 &
WATCHDOG_PID=$!

export COMPARE_URL="http://$HOST:$NODE_PORT"
export COMPARE_JWT_SECRET COMPARE_JWT_ISSUER COMPARE_JWT_AUDIENCE
export COMPARE_STARTUP_MS=$(( ($(date +%s%N) - started) / 1000000 ))
COMPARE_VERSIONS="Node $(node --version), $("$PG/bin/postgres" --version), Redis $("$REDIS" --version | sed -E 's/.* v=([^ ]+).*/\1/'), pg $(node -p "require('$here/node_modules/pg/package.json').version" 2>/dev/null || echo '?'), redis $(node -p "require('$here/node_modules/redis/package.json').version" 2>/dev/null || echo '?')"
export COMPARE_VERSIONS
unset COMPARE_SKIPPED
status=0
"$@" || status=$?
exit $status
