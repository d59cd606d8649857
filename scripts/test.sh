#!/usr/bin/env bash
# The test command of leasehold: installs what a fresh machine lacks, then runs every
# check CI runs. Usage: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh

ensure_wasm_target
ensure_wasm_bindgen
# The versus benchmark's etcd client builds only with protoc (clippy --all-features).
ensure_protoc
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner

step "format"
cargo fmt --all --check

step "clippy, native"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "clippy, wasm32"
cargo clippy -p leasehold --features sim --all-targets --target wasm32-unknown-unknown -- -D warnings

step "clippy, wasm32 (JavaScript API)"
cargo clippy -p leasehold-wasm --all-targets --target wasm32-unknown-unknown -- -D warnings

step "core embeds without the simulator: no PRNG, no histogram crate, no clock"
deps="$(cargo tree -p leasehold --features driver,serde -e normal --prefix none)"
if grep -E '^(rand|rand_chacha|hdrhistogram) ' <<<"$deps"; then
  echo "leasehold (driver, serde) must not depend on the simulator's crates" >&2
  exit 1
fi
cargo clippy -p leasehold --all-targets -- -D warnings

step "tests, native"
# The service is tested as it is built, without its planted-bug features (which exist
# only for the fault harness's demonstration, see the README).
cargo test --workspace --all-features --exclude leasehold-server --no-fail-fast
cargo test -p leasehold-server --no-fail-fast

step "tests, wasm32 under Node"
cargo test -p leasehold --features sim --tests --no-fail-fast --target wasm32-unknown-unknown

step "JavaScript package: build for Node and web, size budget"
./scripts/wasm.sh

step "JavaScript API, Rust side under Node (wasm-bindgen-test)"
cargo test -p leasehold-wasm --target wasm32-unknown-unknown --test api

step "JavaScript API, node --test"
node --test wasm/test/

step "benchmarks build, and run once each"
cargo bench -p leasehold-benches --no-run
cargo bench -p leasehold-benches -- --test

step "load test: a short smoke run of every scenario, batched and per-op"
cargo run --release -p leasehold-benches --bin loadtest -- \
  --scenario all --mode both --seconds 60 --set leases=1000

step "cluster benchmark: a short smoke run (three leaseholdd; client, HTTP, open loop, claimer abuse, failover)"
cargo build --release -p leasehold-server --bins
cargo run --release -p leasehold-benches --bin cluster -- --seconds 2 --abuse-seconds 6 --leases 2000

step "versus: leasehold and etcd side by side, a short smoke run of every workload on one and three nodes"
./scripts/versus.sh --smoke

step "README commands: a short smoke run of each (report, bench-wasm, embed, the example page)"
./scripts/readme-commands.sh

step "clippy, wasm32, dashboard"
cargo clippy -p leasehold-web --all-targets --target wasm32-unknown-unknown -- -D warnings

step "dashboard: build, then browser tests in headless chromium (screenshots into docs/screenshots)"
./scripts/web.sh test

step "all checks passed"
