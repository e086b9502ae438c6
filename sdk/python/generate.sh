#!/usr/bin/env bash
# Regenerates the Python SDK's protobuf and gRPC modules and their type stubs
# (src/clipdb/v1/clipdb_pb2*.py[i]) from proto/ with buf and buf.gen.yaml.
#   sdk/python/generate.sh          rewrite the committed files
#   sdk/python/generate.sh --check  fail if they differ from a fresh generation
# Needs buf (`npm ci` in sdk/) and, on PATH, a Python with the pinned
# generators (the `generate` extra: pip install './sdk/python[generate]').
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
PY="${PYTHON:-python3}"
case "$PY" in */*) PY="$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")" ;; esac
cd "$root"
BUF="${BUF:-sdk/node_modules/.bin/buf}"
GRPCIO_TOOLS=1.80.1   # keep in step with the `generate` extra in pyproject.toml
MYPY_PROTOBUF=5.1.0

if [ ! -x "$BUF" ]; then
  echo "error: buf not found at $BUF; fix with: (cd sdk && npm ci)" >&2; exit 1
fi
# the plugins run `python` and protoc-gen-mypy from PATH: put $PY's bin first
pybin="$(dirname "$("$PY" -c 'import sys; print(sys.executable)')")"
export PATH="$pybin:$PATH" CLIPDB_GEN_PYTHON="$PY"
have="$("$PY" - <<'PYEOF' 2>/dev/null || true
from importlib.metadata import version
print(version("grpcio-tools"), version("mypy-protobuf"))
PYEOF
)"
if [ "$have" != "$GRPCIO_TOOLS $MYPY_PROTOBUF" ]; then
  echo "error: generating needs grpcio-tools==$GRPCIO_TOOLS and mypy-protobuf==$MYPY_PROTOBUF in $PY (found: ${have:-none});" >&2
  echo "fix with: $PY -m pip install grpcio-tools==$GRPCIO_TOOLS mypy-protobuf==$MYPY_PROTOBUF" >&2
  exit 1
fi

gen=sdk/python/src/clipdb/v1
if [ "${1:-}" = "--check" ]; then
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  "$BUF" generate --output "$tmp" 2> "$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
  if ! diff -r -x __init__.py -x __pycache__ "$gen" "$tmp/$gen"; then
    echo "error: $gen is stale against proto/; regenerate with: sdk/python/generate.sh (and commit)" >&2
    exit 1
  fi
  echo "generated code is fresh"
else
  rm -f "$gen"/*_pb2.py "$gen"/*_pb2.pyi "$gen"/*_pb2_grpc.py "$gen"/*_pb2_grpc.pyi
  "$BUF" generate 2> >(grep -v '^Writing mypy to' >&2)
  echo "regenerated $gen"
fi
