#!/usr/bin/env bash
# Moves a dead-letter queue's messages back to their source queue, bounded and safe to re-run:
#   infra/redrive.sh --stack boxoffice-dev PaymentsDLQ      (infra/redrive.sh --help for the rest)
# Works against AWS and against moto (AWS_ENDPOINT_URL_SQS). The work is done by infra/redrive.py
# with boto3: the Python of .local/venv (make tools installs moto, and boto3 with it), or any
# python3 that has boto3; REDRIVE_PYTHON=/path/to/python chooses one.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
py=${REDRIVE_PYTHON:-}
if [ -z "$py" ]; then
  for candidate in "$root/.local/venv/bin/python" python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import boto3' 2>/dev/null; then
      py=$candidate
      break
    fi
  done
fi
# Without boto3, python3 still answers --help, and says what to install otherwise.
exec "${py:-python3}" "$root/infra/redrive.py" "$@"
