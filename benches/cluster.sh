#!/usr/bin/env bash
# Cluster benchmark (docs/benchmarks.md, "Cluster mode"): the same synthetic
# CLIP-like data loaded and searched through `clipdb loadgen` on a single
# server and on a cluster of 2 clipdb nodes over 3 clustered NATS servers,
# with 1, 2 and 4 shards (replication factor 1), all on loopback.
#   N=20000 bash benches/cluster.sh      # JSON lines on stdout
# Needs a release build (cargo build --release) and nats-server
# (bash tests/setup/nats.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/clipdb}
NS=${CLIPDB_NATS_SERVER:-tests/.tools/nats/bin/nats-server}
N=${N:-20000}
EF=${EF:-64}
[ -x "$BIN" ] || { echo "no $BIN: run cargo build --release" >&2; exit 1; }
[ -x "$NS" ] || { echo "no nats-server: run bash tests/setup/nats.sh" >&2; exit 1; }
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

CP=(); RP=()
for i in 0 1 2; do CP+=("$(port)"); RP+=("$(port)"); done
for i in 0 1 2; do
  routes=""
  for j in 0 1 2; do [ "$j" = "$i" ] || routes="$routes${routes:+,}nats://127.0.0.1:${RP[$j]}"; done
  "$NS" -a 127.0.0.1 -p "${CP[$i]}" -js -sd "$WORK/ns$i" -n "ns$i" --cluster_name bench \
    --cluster "nats://127.0.0.1:${RP[$i]}" --routes "$routes" 2>"$WORK/ns$i.log" &
  PIDS+=($!)
  wait_port "${CP[$i]}"
done
NATS="nats://127.0.0.1:${CP[0]},nats://127.0.0.1:${CP[1]},nats://127.0.0.1:${CP[2]}"

serve() { # name port extra...
  local name=$1 p=$2; shift 2
  "$BIN" serve --listen "127.0.0.1:$p" --http-listen off --model none \
    --data-dir "$WORK/$name" "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" &
  PIDS+=($!)
  wait_port "$p"
}
SINGLE=$(port); serve single "$SINGLE"
A=$(port); serve n0 "$A" --nats "$NATS" --node-id n0
B=$(port); serve n1 "$B" --nats "$NATS" --node-id n1

run() { # label server shards
  echo "== $1" >&2
  "$BIN" loadgen --server "http://127.0.0.1:$2" --generate "$N" --dim 512 --queries 300 \
    --ef "$EF" --clients 8 --shards "$3" --collection "bench$3" --replace \
    | sed "s/^{/{\"setup\":\"$1\",/"
}
run single "$SINGLE" 1
for s in 1 2 4; do run "cluster-$s-shards" "$A" "$s"; done
