#!/usr/bin/env bash
# Builds the JavaScript package of leasehold (crate `leasehold-wasm`) twice from one
# .wasm: for Node into wasm/pkg-node/ (the tests import it) and for the web into www/pkg/
# (the example pages import it), each with its .d.ts. Prints the size of the .wasm and
# fails when it is over 140,000 bytes gzipped (10 KB of headroom under 150 KB).
# Usage: ./scripts/wasm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh

LIMIT=140000 # bytes, gzipped

ensure_wasm_target
ensure_wasm_bindgen

step "building leasehold-wasm for wasm32 (profile wasm-release)"
cargo build -p leasehold-wasm --profile wasm-release --target wasm32-unknown-unknown
wasm="${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/wasm-release/leasehold_wasm.wasm"

step "generating the JavaScript bindings and TypeScript types"
bindgen() {
  wasm-bindgen --target "$1" --out-dir "$2" --remove-name-section --remove-producers-section "$wasm"
}
bindgen nodejs wasm/pkg-node
bindgen web www/pkg

built=www/pkg/leasehold_wasm_bg.wasm
raw=$(wc -c <"$built")
gzipped=$(gzip -9 -c "$built" | wc -c)
printf 'leasehold_wasm_bg.wasm: %d bytes, %d bytes gzipped (gzip -9; limit %d)\n' \
  "$raw" "$gzipped" "$LIMIT"
if [ "$gzipped" -gt "$LIMIT" ]; then
  echo "error: the .wasm is over its size budget of $LIMIT bytes gzipped" >&2
  exit 1
fi
