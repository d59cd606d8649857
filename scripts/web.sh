#!/usr/bin/env bash
# Builds the dashboard (web/ + www/) into www/dist, installing what a fresh machine lacks,
# idempotently: the wasm32 target and wasm-bindgen-cli (scripts/tools.sh), Trunk (into
# the ignored .tools/), and the npm packages of web/tests (binaryen's wasm-opt and
# playwright-core, pinned by package-lock.json). With `test`, also Debian's chromium and
# the browser tests: the dashboard on its own, then attached to a live three-node
# cluster of target/release/leaseholdd (built here).
#
# Usage: ./scripts/web.sh          build (release) and print the figures of the build
#        ./scripts/web.sh test     build, then run the browser tests (web/tests)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh

TRUNK_VERSION=0.21.14
# The .wasm must stay within this many bytes gzipped (README figure; 400 KB until the
# live cluster mode added its views, WebSocket and HTTP clients and JSON reader).
WASM_GZ_BUDGET=$((480 * 1024))
NPM_DIR="$LEASEHOLD_ROOT/web/tests"
export PATH="$NPM_DIR/node_modules/.bin:$PATH"

ensure_trunk() {
  local have
  have="$("$TOOLS/bin/trunk" --version 2>/dev/null | awk '{print $2}' || true)"
  if [ "$have" != "$TRUNK_VERSION" ]; then
    step "installing trunk $TRUNK_VERSION into .tools (about 5 minutes)"
    cargo install trunk --version "=$TRUNK_VERSION" --locked --root "$TOOLS" --force
  fi
}

ensure_node() {
  local major
  major="$(node --version 2>/dev/null | sed 's/^v\([0-9]*\).*/\1/' || true)"
  if [ -z "$major" ] || [ "$major" -lt 20 ]; then
    step "Node.js 20 or later is needed (found: ${major:-none}); install it, e.g. from nodejs.org" >&2
    exit 1
  fi
}

ensure_npm_packages() {
  ensure_node
  # npm ci again only when the lock file changed since the last install.
  if ! cmp -s "$NPM_DIR/package-lock.json" "$NPM_DIR/node_modules/.installed-lock.json" 2>/dev/null; then
    step "installing web/tests' npm packages (binaryen, playwright-core) with npm ci"
    (cd "$NPM_DIR" && npm ci --no-audit --no-fund)
    cp "$NPM_DIR/package-lock.json" "$NPM_DIR/node_modules/.installed-lock.json"
  fi
}

ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then
    return
  fi
  step "installing Debian's chromium (apt-get)"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y chromium
}

build() {
  ensure_wasm_target
  ensure_wasm_bindgen
  ensure_trunk
  ensure_npm_packages
  step "building the dashboard (trunk build --release, wasm-opt -Oz) into www/dist"
  # Small and fast: the release profile with link-time optimisation, for this build only
  # (native release builds and benches keep the workspace's profile).
  (cd www && CARGO_PROFILE_RELEASE_LTO=true CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
    CARGO_PROFILE_RELEASE_DEBUG=false trunk build --release --offline)
  local wasm raw gz
  wasm="$(ls www/dist/*.wasm)"
  raw=$(wc -c < "$wasm")
  gz=$(gzip -9c "$wasm" | wc -c)
  step "dashboard .wasm: $raw bytes, $gz bytes gzipped (budget $WASM_GZ_BUDGET)"
  if [ "$gz" -gt "$WASM_GZ_BUDGET" ]; then
    echo "the dashboard's .wasm is over its budget of 480 KB gzipped" >&2
    exit 1
  fi
}

case "${1:-build}" in
  build)
    build
    ;;
  test)
    build
    ensure_chromium
    step "browser tests (headless chromium; screenshots into docs/screenshots)"
    (cd "$NPM_DIR" && node --test --test-reporter=spec browser.test.mjs)
    step "building leaseholdd (release) for the live-cluster tests"
    cargo build --release -p leasehold-server --bins
    step "a live three-node cluster: the harness's smoke test, then the dashboard attached to it"
    (cd "$NPM_DIR" && node --test --test-reporter=spec cluster.test.mjs)
    (cd "$NPM_DIR" && node --test --test-reporter=spec live.test.mjs)
    ;;
  *)
    echo "usage: $0 [build|test]" >&2
    exit 2
    ;;
esac
