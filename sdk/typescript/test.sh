#!/usr/bin/env bash
# Everything for the TypeScript SDK, on a fresh machine too:
#   npm ci (in sdk/typescript; buf, protoc-gen-es, TypeScript come from npm),
#   the generated code's freshness (generate.sh --check), tsc --strict on the
#   package (-> dist/) and on the tests, the package as users get it (npm pack,
#   installed into a scratch project, type-checked without the DOM lib and
#   imported), and the tests (node --test) against the real server binary:
#   $CLIPDB_BIN, else target/debug/clipdb, built with cargo when missing.
# TS_FRESH=1 reinstalls node_modules.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"
start=$SECONDS
step() { printf '\n== %s (%ss)\n' "$1" "$((SECONDS - start))"; }
die() { printf '\nsdk/typescript/test.sh: error: %s\n' "$1" >&2; exit 1; }

step "tools"
command -v node >/dev/null && command -v npm >/dev/null \
  || die "no node/npm; install Node.js >= 20 with npm (e.g. apt-get install nodejs npm, or https://nodejs.org)"
# the package runs on Node >= 18.14; its tools (protoc-gen-es, @peculiar/x509) need 20
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
  || die "node is $(node --version); developing and testing the SDK needs Node.js >= 20 (e.g. https://nodejs.org or nvm install 20)"
echo "node $(node --version), npm $(npm --version)"

step "npm ci (sdk/typescript)"
if [ "${TS_FRESH:-0}" = 1 ]; then rm -rf node_modules; fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error \
    || die "npm ci failed; fix with: (cd sdk/typescript && npm ci)"
fi
TSC=node_modules/.bin/tsc

step "generated code is fresh"
./generate.sh --check

step "tsc --strict (package -> dist/)"
rm -rf dist .test-build
"$TSC" -p tsconfig.json || die "tsc failed on sdk/typescript/src (see above)"

step "tsc --strict (tests, examples)"
"$TSC" -p tsconfig.test.json || die "tsc failed on sdk/typescript/test or examples (see above)"

step "the package as installed: npm pack, install, type-check (with the README's quickstart) and import"
scratch="$(mktemp -d)"; trap 'rm -rf "$scratch"' EXIT
tarball="$(npm pack --silent --pack-destination "$scratch" | tail -1)"
mkdir "$scratch/app"
cp test/consumer/app.ts test/consumer/package.json test/consumer/tsconfig.json "$scratch/app/"
node -e 'const fs = require("fs");
  const m = fs.readFileSync("README.md", "utf8").match(/## Quickstart\n\n```ts\n([\s\S]*?)```/);
  if (!m) { console.error("README.md has no ## Quickstart ```ts block"); process.exit(1); }
  fs.writeFileSync(process.argv[1], m[1]);' "$scratch/app/quickstart.ts"
(cd "$scratch/app" && npm install --no-audit --no-fund --loglevel=error "../$tarball") \
  || die "installing the packed SDK failed; try: (cd sdk/typescript && npm pack) and npm install the .tgz"
"$TSC" -p "$scratch/app/tsconfig.json" --typeRoots "$here/node_modules/@types" \
  || die "the installed package, or the quickstart in README.md, does not type-check in a plain Node project (see above)"
node "$scratch/app/out/app.js" || die "importing the installed package failed (see above)"

step "server binary"
BIN="${CLIPDB_BIN:-$root/target/debug/clipdb}"
if [ ! -x "$BIN" ]; then
  [ -n "${CLIPDB_BIN:-}" ] && die "CLIPDB_BIN=$CLIPDB_BIN is not an executable; build it with: cargo build --bin clipdb"
  command -v cargo >/dev/null || die "no clipdb binary at $BIN and no cargo; install Rust (https://rustup.rs), then: cargo build --bin clipdb"
  (cd "$root" && cargo build --bin clipdb --quiet) || die "cargo build --bin clipdb failed"
fi
echo "$BIN"

step "node --test (sdk/typescript/test)"
CLIPDB_BIN="$BIN" node --test --test-reporter=spec .test-build/test/*.test.js \
  || die "the TypeScript SDK's tests failed (see above); rerun with: sdk/typescript/test.sh"

step "sdk/typescript/test.sh passed in $((SECONDS - start)) s"
