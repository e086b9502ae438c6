#!/usr/bin/env bash
# Checks and tests the Go SDK from scratch: installs buf (npm ci in sdk/)
# and the pinned code generators (go install into sdk/go/.tools/bin), checks
# that the generated code is fresh, gofmt and go vet, then runs `go test`
# against the real server on loopback ports.
#   sdk/go/test.sh                          builds the server with cargo first
#   CLIPDB_BIN=path/to/clipdb sdk/go/test.sh  uses that binary instead
# Extra arguments go to `go test` (e.g. -run TestTLS -v).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
start=$SECONDS
step() { printf '\n== go sdk: %s (%ss)\n' "$1" "$((SECONDS - start))"; }
die() { printf '\nsdk/go/test.sh: error: %s\n' "$1" >&2; exit 1; }

step "tools"
command -v go >/dev/null || die "no go on PATH; install Go >= 1.26 (https://go.dev/doc/install); a Go >= 1.21 fetches it with: export GOTOOLCHAIN=go1.26.8"
gov="$(go env GOVERSION)"
case "$gov" in
  go1.2[6-9]*|go1.[3-9]*|go[2-9]*) ;;
  *) die "Go is $gov; the SDK needs Go >= 1.26 (grpc-go 1.85 does); install it, or let the go command fetch it with: export GOTOOLCHAIN=go1.26.8" ;;
esac
command -v npm >/dev/null || die "no npm (buf comes from npm); install Node.js >= 18 with npm (e.g. apt-get install nodejs npm)"
echo "$gov"

step "buf (npm ci in sdk/)"
BUF="$root/sdk/node_modules/.bin/buf"
if [ ! -x "$BUF" ] || [ sdk/package-lock.json -nt sdk/node_modules/.package-lock.json ]; then
  (cd sdk && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed; fix with: (cd sdk && npm ci)"
fi
"$BUF" --version

step "go mod download"
(cd sdk/go && go mod download) \
  || die "cannot download the SDK's modules; check that the Go module proxy is reachable (go env GOPROXY), then: (cd sdk/go && go mod download)"
(cd sdk/go && go mod verify >/dev/null) || die "go.sum does not match the downloaded modules; fix with: (cd sdk/go && go mod tidy)"

step "generated code is fresh"
BUF="$BUF" sdk/go/generate.sh --check

step "gofmt, go vet"
unformatted="$(cd sdk/go && gofmt -l .)"
[ -z "$unformatted" ] || die "not gofmt-ed: $unformatted; fix with: gofmt -w sdk/go"
(cd sdk/go && go vet ./...) || die "go vet failed (see above)"

if [ -z "${CLIPDB_BIN:-}" ]; then
  step "cargo build --bin clipdb"
  command -v cargo >/dev/null || die "no cargo to build the server; install Rust (https://rustup.rs) or set CLIPDB_BIN=path/to/clipdb"
  cargo build --bin clipdb --quiet || die "cargo build --bin clipdb failed"
  export CLIPDB_BIN="$root/target/debug/clipdb"
fi
[ -x "$CLIPDB_BIN" ] || die "CLIPDB_BIN=$CLIPDB_BIN is not an executable; build it with: cargo build --bin clipdb"

step "go test (against $CLIPDB_BIN)"
(cd sdk/go && go test -count=1 "$@" ./...) || die "the Go SDK's tests failed (see above)"

step "sdk/go/test.sh passed in $((SECONDS - start)) s"
