#!/usr/bin/env bash
# Regenerates the Java SDK's protobuf messages and gRPC stubs (package
# io.clipdb.v1, committed under src/generated/java) from proto/ with buf and
# sdk/java/buf.gen.yaml.
#   sdk/java/generate.sh          rewrite the committed files
#   sdk/java/generate.sh --check  fail if they differ from a fresh generation
# Needs buf (`npm ci` in sdk/), Maven and a JDK: protoc and
# protoc-gen-grpc-java come from Maven Central (versions in pom.xml) into
# sdk/java/.tools.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
BUF="${BUF:-$root/sdk/node_modules/.bin/buf}"
MVN="${MVN:-mvn}"
gen=sdk/java/src/generated/java

[ -x "$BUF" ] || { echo "error: buf not found at $BUF; fix with: (cd sdk && npm ci)" >&2; exit 1; }
command -v "$MVN" >/dev/null || { echo "error: no mvn; install Maven 3.8+ (e.g. apt-get install maven)" >&2; exit 1; }

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=osx ;;
  *) echo "error: no protoc build for $(uname -s) on Maven Central" >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64|amd64) arch=x86_64 ;;
  aarch64|arm64) arch=aarch_64 ;;
  *) echo "error: no protoc build for $(uname -m) on Maven Central" >&2; exit 1 ;;
esac

# protoc and protoc-gen-grpc-java for this platform, as pinned in pom.xml
"$MVN" -q -B -Dstyle.color=never ${MVN_ARGS:-} -f "$here/pom.xml" dependency:copy@codegen-tools \
  -Dcodegen.classifier="$os-$arch" \
  || { echo "error: could not fetch protoc / protoc-gen-grpc-java from Maven Central (see above)" >&2; exit 1; }
for tool in protoc protoc-gen-grpc-java; do
  cp -f "$here/.tools/$tool.exe" "$here/.tools/$tool"
  chmod +x "$here/.tools/$tool"
done

cd "$root"
if [ "${1:-}" = "--check" ]; then
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  "$BUF" generate --template sdk/java/buf.gen.yaml --output "$tmp"
  if ! diff -r "$gen" "$tmp/$gen" >"$tmp/diff"; then
    head -50 "$tmp/diff" >&2
    echo "error: $gen is stale against proto/; regenerate with: sdk/java/generate.sh (and commit)" >&2
    exit 1
  fi
  echo "generated Java code is fresh"
else
  rm -rf "$gen"
  "$BUF" generate --template sdk/java/buf.gen.yaml
  echo "regenerated $gen"
fi
