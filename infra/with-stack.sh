#!/usr/bin/env bash
# Runs a command against a private set of emulators: installs what is missing, starts them on
# free loopback ports, exports their endpoints, and always stops them afterwards.
#   infra/with-stack.sh cargo test --workspace
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$here/stack.sh" install
state=$(mktemp -d "${TMPDIR:-/tmp}/boxoffice-stack.XXXXXX")
cleanup() {
  "$here/stack.sh" down "$state" || true
  rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
"$here/stack.sh" up "$state"
# shellcheck disable=SC1091
source "$state/env"
status=0
"$@" || status=$?
exit $status
