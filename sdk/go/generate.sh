#!/usr/bin/env bash
# Regenerates the Go SDK's protobuf and gRPC code (gen/clipdb/v1/*.pb.go)
# from proto/ with buf and sdk/go/buf.gen.yaml.
#   sdk/go/generate.sh          rewrite the committed files
#   sdk/go/generate.sh --check  fail if they differ from a fresh generation
# Installs the pinned plugins with `go install` into sdk/go/.tools/bin (from
# the Go module proxy); needs buf (`npm ci` in sdk/) and Go.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
BUF="${BUF:-sdk/node_modules/.bin/buf}"
# protoc-gen-go comes with the protobuf runtime: keep it equal to
# google.golang.org/protobuf in go.mod.
PROTOC_GEN_GO=v1.36.12
PROTOC_GEN_GO_GRPC=v1.6.2
tools="$here/.tools/bin"

command -v go >/dev/null || { echo "error: no go on PATH; install Go >= 1.26 (https://go.dev/doc/install)" >&2; exit 1; }
if [ ! -x "$BUF" ]; then
  echo "error: buf not found at $BUF; fix with: (cd sdk && npm ci)" >&2; exit 1
fi
have() { [ -x "$tools/$1" ] && "$tools/$1" --version 2>/dev/null | grep -q -- "${2#v}\$"; }
install() {
  GOBIN="$tools" go install "$1@$2" \
    || { echo "error: could not install $1@$2; fix with: GOBIN=$tools go install $1@$2" >&2; exit 1; }
}
have protoc-gen-go "$PROTOC_GEN_GO" || install google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO"
have protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC" || install google.golang.org/grpc/cmd/protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC"

gen=sdk/go/gen/clipdb/v1
if [ "${1:-}" = "--check" ]; then
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  # same template, output under $tmp (the template's out is sdk/go)
  "$BUF" generate --template sdk/go/buf.gen.yaml --output "$tmp"
  if ! diff -r "$gen" "$tmp/$gen"; then
    echo "error: $gen is stale against proto/; regenerate with: sdk/go/generate.sh (and commit)" >&2
    exit 1
  fi
  echo "generated Go code is fresh"
else
  rm -f "$gen"/*.pb.go
  "$BUF" generate --template sdk/go/buf.gen.yaml
  echo "regenerated $gen"
fi
