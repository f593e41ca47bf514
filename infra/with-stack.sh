#!/usr/bin/env bash
# Runs a command against a private set of emulators: installs what is missing, starts them on
# free loopback ports in a fresh temporary folder, exports their endpoints (AWS_ENDPOINT_URL_*,
# region, dummy credentials), and always stops them afterwards. Exits with the command's status.
#   infra/with-stack.sh cargo test --workspace
# Several can run at once: each has its own folder and ports. The command runs in the foreground,
# so Ctrl-C reaches it as usual; the stack goes down once it has exited.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -gt 0 ] || { echo "usage: infra/with-stack.sh CMD [ARGS...]" >&2; exit 2; }

"$here/stack.sh" install
state=$(mktemp -d "${TMPDIR:-/tmp}/boxoffice-stack.XXXXXX")
watchdog=
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$watchdog" ]; then
    kill "$watchdog" 2>/dev/null || true
    wait "$watchdog" 2>/dev/null || true
  fi
  "$here/stack.sh" down "$state" || true
  rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Should this script be killed outright (SIGKILL: no trap runs), a watchdog stops the stack.
(
  trap - EXIT
  trap '' INT
  nap=
  trap '[ -z "$nap" ] || kill "$nap" 2>/dev/null; exit 0' TERM
  while kill -0 $$ 2>/dev/null; do
    sleep 1 &
    nap=$!
    wait "$nap" || true
  done
  "$here/stack.sh" down "$state" || true
  rm -rf "$state"
) </dev/null >/dev/null 2>&1 &
watchdog=$!

"$here/stack.sh" up "$state"
# shellcheck disable=SC1091
source "$state/env"
status=0
"$@" || status=$?
exit $status
