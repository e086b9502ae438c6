#!/usr/bin/env bash
# Tests the SDKs against the real server, and the proto toolchain:
#   buf lint, buf breaking (against proto/baseline), the generated code's
#   freshness, mypy --strict on the Python SDK, and its pytest suite, which
#   starts target/debug/clipdb on loopback ports (demo model, API keys, TLS);
#   then each other SDK's sdk/<language>/test.sh (TypeScript, Go, Java).
# On a fresh machine it installs what it needs: buf from npm (sdk/package-lock.json,
# into sdk/node_modules) and the Python SDK with its test extra from PyPI (into
# the venv sdk/.venv; SDK_FRESH_VENV=1 recreates it). It tests the server
# binary $CLIPDB_BIN (tests/all.sh passes the one `cargo test` built), else it
# builds one with `cargo build --bin clipdb` (reusing target/). Called by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
PY="${PYTHON:-python3}"
VENV="${SDK_VENV:-$root/sdk/.venv}"
BUF="$root/sdk/node_modules/.bin/buf"
start=$SECONDS
step() { printf '\n== %s (%ss)\n' "$1" "$((SECONDS - start))"; }
die() { printf '\nsdk/test.sh: error: %s\n' "$1" >&2; exit 1; }

step "tools"
command -v "$PY" >/dev/null || die "no $PY; install Python >= 3.9 (e.g. apt-get install python3 python3-venv) or set PYTHON="
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
  || die "$PY is $("$PY" --version 2>&1); the SDK needs Python >= 3.9 (set PYTHON=python3.X)"
command -v npm >/dev/null || die "no npm (buf comes from npm); install Node.js >= 18 with npm (e.g. apt-get install nodejs npm)"
command -v cargo >/dev/null || die "no cargo; install Rust: https://rustup.rs"

step "buf (npm ci in sdk/)"
if [ ! -x "$BUF" ] || [ sdk/package-lock.json -nt sdk/node_modules/.package-lock.json ]; then
  (cd sdk && npm ci --no-audit --no-fund --loglevel=error) \
    || die "npm ci failed; fix with: (cd sdk && npm ci)"
fi
"$BUF" --version

step "python venv $VENV"
if [ "${SDK_FRESH_VENV:-0}" = 1 ]; then rm -rf "$VENV"; fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV" \
    || die "could not create a venv; fix with: apt-get install python3-venv (or python3.X-venv)"
fi
VPY="$VENV/bin/python"
"$VPY" -m pip install --quiet --disable-pip-version-check --upgrade pip \
  || die "pip cannot reach PyPI; fix with: $VPY -m pip install --upgrade pip"
"$VPY" -m pip install --quiet --disable-pip-version-check "./sdk/python[test]" \
  || die "installing the SDK failed; fix with: $VPY -m pip install './sdk/python[test]'"
"$VPY" -c 'import clipdb, grpc, google.protobuf as p; print("clipdb", clipdb.__version__, "grpcio", grpc.__version__, "protobuf", p.__version__)'

step "buf lint"
"$BUF" lint || die "buf lint failed (see above); fix the proto, or see buf.yaml"

step "buf breaking (against proto/baseline/clipdb-v1.binpb)"
"$BUF" breaking --against proto/baseline/clipdb-v1.binpb \
  || die "the proto breaks v1 (see above); keep v1 compatible, or see README.md on updating the baseline on purpose"

step "generated code is fresh"
PYTHON="$VPY" sdk/python/generate.sh --check

step "mypy --strict (sdk/python)"
(cd sdk/python && "$VPY" -m mypy --strict) || die "mypy --strict failed on sdk/python (see above)"

if [ -n "${CLIPDB_BIN:-}" ]; then
  step "server binary: $CLIPDB_BIN"
  [ -x "$CLIPDB_BIN" ] || die "CLIPDB_BIN=$CLIPDB_BIN is not an executable; unset it to build one"
  BIN="$CLIPDB_BIN"
else
  step "cargo build --bin clipdb"
  cargo build --bin clipdb --quiet || die "cargo build --bin clipdb failed"
  BIN="$root/target/debug/clipdb"
fi

step "pytest (sdk/python/tests)"
(cd sdk/python && CLIPDB_BIN="$BIN" "$VPY" -m pytest -q -p no:cacheprovider) \
  || die "the Python SDK's tests failed (see above)"

# Each other SDK's own script: its toolchain from its registry, its
# generated code's freshness, its type checks and linters, and its tests
# against the same server binary.
for sdk in typescript go java; do
  [ -f "sdk/$sdk/test.sh" ] || continue
  step "sdk/$sdk/test.sh"
  CLIPDB_BIN="$BIN" bash "sdk/$sdk/test.sh" \
    || die "the $sdk SDK's checks failed (see above); rerun with: bash sdk/$sdk/test.sh"
done

step "sdk/test.sh passed in $((SECONDS - start)) s"
