#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this): first
# tests/setup/*.sh install what the tests need (see tests/setup/README.md), then
# the Rust
# tests (unit tests, the integration binary, the fault-injection binary),
# then the SDKs and the proto toolchain against the real server
# (sdk/test.sh installs buf from npm and the Python SDK from PyPI), then the
# deployment files (deploy/check.sh: hadolint, kustomize +
# kubernetes-validate, promtool, flags against `clipdb serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
for setup in tests/setup/*.sh; do
  [ -e "$setup" ] || continue
  bash "$setup"
done
cargo test
# The server binary `cargo test` built for the integration tests: the SDK
# tests and the deploy checks use it instead of building another with the
# dev profile (3 minutes of a fresh CI run on 2 cores).
export CLIPDB_BIN="$PWD/target/debug/clipdb"
bash sdk/test.sh
bash deploy/check.sh
