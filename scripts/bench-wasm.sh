#!/usr/bin/env bash
# The state machine's apply benchmark natively and compiled to WebAssembly (wasm32-wasip1,
# run by Node's WASI), in one run; prints both and the ratio of wasm speed to native.
# Usage: ./scripts/bench-wasm.sh [LEASES]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
leases="${1:-1000000}"
target="${CARGO_TARGET_DIR:-target}"

if ! rustup target list --installed | grep -qx wasm32-wasip1; then
  step "installing the wasm32-wasip1 target"
  rustup target add wasm32-wasip1
fi
step "building apply, native and wasm32-wasip1"
cargo build --release -p leasehold-benches --bin apply
cargo build --release -p leasehold-benches --bin apply --target wasm32-wasip1

step "native apply over $leases leases"
native="$("$target/release/apply" "$leases")"
echo "$native"
step "wasm apply over $leases leases (Node $(node --version), WASI)"
# Node 20 can crash while tearing down a large WebAssembly memory after the program has
# printed its result; what counts is that the result was printed.
wasm="$(node --no-warnings benches/wasi/run.mjs "$target/wasm32-wasip1/release/apply.wasm" "$leases" || true)"
echo "$wasm"
if [ -z "$wasm" ]; then
  echo "bench-wasm: the wasm run printed no result" >&2
  exit 1
fi
node -e '
  const [n, w] = process.argv.slice(1).map(JSON.parse);
  const ratio = n.apply_ns_per_op / w.apply_ns_per_op;
  console.log(JSON.stringify({ native_apply_ns_per_op: n.apply_ns_per_op, wasm_apply_ns_per_op: w.apply_ns_per_op, wasm_speed_vs_native: ratio }));
' "$native" "$wasm"
