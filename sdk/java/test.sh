#!/usr/bin/env bash
# Tests the Java SDK: the generated code is fresh against proto/
# (generate.sh --check), then `mvn verify` compiles it and runs its JUnit 5
# tests, which start the real clipdb server on loopback ports (demo model,
# API keys, TLS). On a fresh machine it installs what it needs: buf from npm
# (sdk/package-lock.json into sdk/node_modules), and through Maven, protoc,
# protoc-gen-grpc-java and the dependencies from Maven Central. The server
# binary is $CLIPDB_BIN, else target/debug/clipdb (built with cargo if missing).
#   MVN_ARGS="-Dmaven.repo.local=DIR" sdk/java/test.sh   extra Maven arguments
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
start=$SECONDS
step() { printf '\n== java: %s (%ss)\n' "$1" "$((SECONDS - start))"; }
die() { printf '\nsdk/java/test.sh: error: %s\n' "$1" >&2; exit 1; }
# Maven 3.8 prints stray colour resets even with -B; drop them
mvn_quiet() { mvn -q -B -Dstyle.color=never ${MVN_ARGS:-} "$@" 2>&1 | sed -u 's/\x1b\[0m//g'; }

step "tools"
command -v javac >/dev/null || die "no javac; install a JDK >= 11 (e.g. apt-get install openjdk-17-jdk-headless)"
jv="$(javac -version 2>&1 | sed -E 's/^javac ([0-9]+).*/\1/')"
[ "$jv" -ge 11 ] 2>/dev/null || die "javac is $(javac -version 2>&1); the SDK needs a JDK >= 11 (set JAVA_HOME / PATH)"
command -v mvn >/dev/null || die "no mvn; install Maven >= 3.8 (e.g. apt-get install maven)"
command -v npm >/dev/null || die "no npm (buf comes from npm); install Node.js >= 18 with npm (e.g. apt-get install nodejs npm)"
javac -version; mvn -v 2>/dev/null | sed -n '1s/\x1b\[[0-9;]*m//gp'

step "buf (npm ci in sdk/)"
BUF="$root/sdk/node_modules/.bin/buf"
if [ ! -x "$BUF" ] || [ sdk/package-lock.json -nt sdk/node_modules/.package-lock.json ]; then
  (cd sdk && npm ci --no-audit --no-fund --loglevel=error) \
    || die "npm ci failed; fix with: (cd sdk && npm ci)"
fi

step "generated code is fresh (sdk/java/generate.sh --check)"
MVN_ARGS="${MVN_ARGS:-}" BUF="$BUF" "$here/generate.sh" --check 2>&1 | sed -u 's/\x1b\[0m//g'

step "server binary"
bin="${CLIPDB_BIN:-$root/target/debug/clipdb}"
if [ ! -x "$bin" ]; then
  [ -z "${CLIPDB_BIN:-}" ] || die "CLIPDB_BIN=$CLIPDB_BIN is not an executable; build it with: cargo build --bin clipdb"
  command -v cargo >/dev/null || die "no $bin and no cargo; install Rust (https://rustup.rs), then: cargo build --bin clipdb"
  echo "building it: cargo build --bin clipdb"
  cargo build --bin clipdb --quiet || die "cargo build --bin clipdb failed"
fi
echo "$bin"

step "mvn verify (compile, JUnit 5 tests against the real server)"
rm -rf "$here/target/surefire-reports"
status=0
(cd "$here" && CLIPDB_BIN="$bin" mvn_quiet verify) || status=$?
# Maven is quiet on success: say what ran, from Surefire's reports
shopt -s nullglob
reports=("$here"/target/surefire-reports/TEST-*.xml)
sum() {  # adds up one attribute of the <testsuite> elements
  [ ${#reports[@]} -gt 0 ] || { echo 0; return; }
  awk -v key="$1" '{
      while (match($0, "<testsuite [^>]*")) {
        tag = substr($0, RSTART, RLENGTH); $0 = substr($0, RSTART + RLENGTH)
        if (match(tag, " " key "=\"[0-9]+\"")) { v = substr(tag, RSTART, RLENGTH); gsub(/[^0-9]/, "", v); s += v }
      }
    } END { print s + 0 }' "${reports[@]}"
}
tests=$(sum tests); failed=$(( $(sum failures) + $(sum errors) )); skipped=$(sum skipped)
echo "java: $((tests - failed - skipped)) passed, $failed failed, $skipped skipped"
[ "$status" = 0 ] || die "the Java SDK's build or tests failed (see above; reports in sdk/java/target/surefire-reports)"
[ "$tests" -gt 0 ] || die "no Java test ran (see sdk/java/target/surefire-reports)"

step "sdk/java/test.sh passed in $((SECONDS - start)) s"
