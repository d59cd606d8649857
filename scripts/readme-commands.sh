#!/usr/bin/env bash
# A short smoke run of each command the README lists, so that none of them rots. Each must
# succeed; the example page must be served. scripts/test.sh runs this after the load
# test (which builds leasehold-benches in release) and ./scripts/wasm.sh (which builds
# www/pkg); run alone, it builds www/pkg when missing. About a minute once built.
#
# Covered by scripts/test.sh itself: `cargo bench -p leasehold-benches` (every benchmark
# run once with `-- --test`), `loadtest` (its smoke run of every scenario),
# ./scripts/versus.sh (its smoke run of every workload on both systems) and
# ./scripts/serve.sh (the dashboard; `./scripts/web.sh test` builds and serves the same).
#
# Usage: ./scripts/readme-commands.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh

tmp="$(mktemp -d)"
server=""
nodes=()
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  for pid in "${nodes[@]}"; do
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

step "README: cargo run --release -p leasehold-benches --bin report"
cargo run --release -p leasehold-benches --bin report

step "README: cargo run --release -p leasehold-benches --bin compaction (2,000 leases, 60 s)"
cargo run --release -p leasehold-benches --bin compaction -- \
  --leases 2000 --seconds 60 --latency-seconds 1

step "README: ./scripts/bench-wasm.sh (10000 leases)"
./scripts/bench-wasm.sh 10000 | tee "$tmp/bench-wasm.out"
if ! grep -q '"wasm_speed_vs_native"' "$tmp/bench-wasm.out"; then
  echo "readme-commands: bench-wasm.sh printed no ratio" >&2
  exit 1
fi

step "README: cargo run -p leasehold --features driver --example embed"
cargo build -p leasehold --features driver --example embed
# It finishes by itself in a few seconds; a hang is a failure.
timeout 60 cargo run -p leasehold --features driver --example embed

step "README: Run a cluster (three leaseholdd, leaseholdctl against a follower)"
cargo build --release -p leasehold-server --bins
for i in 1 2 3; do
  peers=$(for j in 1 2 3; do if [ $j != $i ]; then printf -- '--peer %s=127.0.0.1:740%s ' $j $j; fi; done)
  # shellcheck disable=SC2086 # the peers are separate words
  target/release/leaseholdd --id $i --listen 127.0.0.1:740$i --data "$tmp/data/$i" $peers \
    >"$tmp/node-$i.out" 2>"$tmp/node-$i.err" &
  nodes+=($!)
done
ctl() { target/release/leaseholdctl --endpoint http://127.0.0.1:7402 "$@"; }
claimed=""
for _ in $(seq 100); do # until the cluster has a leader and serves
  if claimed="$(ctl claim app model-1 mysql mysql/0 --duration 60s 2>&1)"; then
    break
  fi
  sleep 0.1
done
echo "$claimed"
if ! grep -q '^ok' <<<"$claimed"; then
  cat "$tmp"/node-*.err >&2
  echo "readme-commands: the cluster did not grant the claim" >&2
  exit 1
fi
ctl leases | tee "$tmp/leases.out"
grep -q 'mysql/0' "$tmp/leases.out"
ctl status | tee "$tmp/status.out"
grep -q 'leader' "$tmp/status.out"
for pid in "${nodes[@]}"; do
  kill "$pid"
  wait "$pid" 2>/dev/null || true
done
nodes=()

step "README: Break it on purpose: the checker catches the planted bug planted-stale-read (20 s)"
cargo build -p leasehold-server --features planted-stale-read --bin leaseholdd --target-dir target/planted
# The run fails (exit 1) by design; what matters is that stale reads are reported.
cargo run -p leasehold-server --bin faults -- --seconds 20 --seed 1 \
  --leaseholdd target/planted/debug/leaseholdd >"$tmp/planted.out" 2>"$tmp/planted.err" || true
stale="$(grep -c '^ *\[stale-read\]' "$tmp/planted.out" || true)"
echo "stale-read violations reported: $stale"
if [ "${stale:-0}" -lt 1 ]; then
  tail -20 "$tmp/planted.err" >&2
  echo "readme-commands: the checker did not catch the planted stale read" >&2
  exit 1
fi

step "README: python3 -m http.server -d www serves examples/engine.html"
if [ ! -f www/pkg/leasehold_wasm.js ]; then
  ./scripts/wasm.sh
fi
log="$tmp/http.server.log"
: >"$log" # exists before the server's shell opens it, for the loop below
# Port 0: the system picks a free port, which the server prints.
python3 -u -m http.server -d www --bind 127.0.0.1 0 >"$log" 2>&1 &
server=$!
port=""
for _ in $(seq 100); do
  port="$(sed -n 's/.* port \([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)"
  [ -n "$port" ] && break
  if ! kill -0 "$server" 2>/dev/null; then
    cat "$log" >&2
    echo "readme-commands: python3 -m http.server exited" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$port" ]; then
  cat "$log" >&2
  echo "readme-commands: python3 -m http.server did not say its port" >&2
  exit 1
fi
base="http://127.0.0.1:$port"
fetch() { # PATH TEXT: the file at PATH is served and contains TEXT
  local body
  body="$(curl -fsS --max-time 10 "$base/$1")" || body=""
  if ! grep -qF "$2" <<<"$body"; then
    echo "readme-commands: $base/$1 is not served or lacks '$2'" >&2
    exit 1
  fi
  echo "served $1"
}
fetch examples/engine.html 'src="engine.js"'
fetch examples/engine.js '../pkg/leasehold_wasm.js'
fetch pkg/leasehold_wasm.js 'leasehold_wasm_bg.wasm'
type="$(curl -fsS --max-time 10 -o /dev/null -w '%{content_type}' "$base/pkg/leasehold_wasm_bg.wasm")"
if [ "$type" != "application/wasm" ]; then
  echo "readme-commands: pkg/leasehold_wasm_bg.wasm served as '$type', not application/wasm" >&2
  exit 1
fi
echo "served pkg/leasehold_wasm_bg.wasm ($type)"
