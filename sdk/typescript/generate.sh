#!/usr/bin/env bash
# Regenerates the TypeScript SDK's protobuf code (src/gen/clipdb/v1/clipdb_pb.ts:
# message types and the service descriptors Connect's clients take) from
# proto/ with buf and sdk/typescript/buf.gen.yaml.
#   sdk/typescript/generate.sh          rewrite the committed files
#   sdk/typescript/generate.sh --check  fail if they differ from a fresh generation
# Needs `npm ci` in sdk/typescript (buf and protoc-gen-es are pinned devDependencies).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
BUF="sdk/typescript/node_modules/.bin/buf"
PLUGIN="sdk/typescript/node_modules/.bin/protoc-gen-es"
gen=sdk/typescript/src/gen

for tool in "$BUF" "$PLUGIN"; do
  if [ ! -x "$tool" ]; then
    echo "error: $tool not found; fix with: (cd sdk/typescript && npm ci)" >&2; exit 1
  fi
done

if [ "${1:-}" = "--check" ]; then
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  "$BUF" generate --template sdk/typescript/buf.gen.yaml --output "$tmp"
  if ! diff -r "$gen" "$tmp/$gen"; then
    echo "error: $gen is stale against proto/; regenerate with: sdk/typescript/generate.sh (and commit)" >&2
    exit 1
  fi
  echo "generated code is fresh"
else
  rm -rf "$gen"
  "$BUF" generate --template sdk/typescript/buf.gen.yaml
  echo "regenerated $gen"
fi
