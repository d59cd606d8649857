#!/usr/bin/env bash
# Installs what a fresh machine lacks for building and testing leasehold, idempotently:
# the wasm32 target and wasm-bindgen-cli at exactly the version in Cargo.lock (into the
# ignored folder .tools/). Source it: it puts .tools/bin on PATH.
set -euo pipefail

LEASEHOLD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$LEASEHOLD_ROOT/.tools"
export PATH="$TOOLS/bin:$PATH"

step() { printf '\n==> %s\n' "$*" >&2; }

# The version of a package in Cargo.lock.
lock_version() {
  awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' \
    "$LEASEHOLD_ROOT/Cargo.lock"
}

ensure_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "installing the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

ensure_wasm_bindgen() {
  local want have
  (cd "$LEASEHOLD_ROOT" && cargo metadata --format-version 1 >/dev/null) # makes Cargo.lock
  want="$(lock_version wasm-bindgen)"
  have="$("$TOOLS/bin/wasm-bindgen" --version 2>/dev/null | awk '{print $2}' || true)"
  if [ "$have" != "$want" ]; then
    step "installing wasm-bindgen-cli $want into .tools (about 2 minutes)"
    cargo install wasm-bindgen-cli --version "=$want" --root "$TOOLS" --force
  fi
}

# Debian's etcd (server and client, 3.4) for the `versus` benchmark, unpacked into
# .tools/etcd without installing the package (which would start a system service):
# `apt-get download` and `dpkg -x`. Puts its binaries on PATH.
ETCD_DIR="$TOOLS/etcd"
ensure_etcd() {
  if [ ! -x "$ETCD_DIR/usr/bin/etcd" ] || [ ! -x "$ETCD_DIR/usr/bin/etcdctl" ]; then
    step "fetching Debian's etcd-server and etcd-client into .tools/etcd (apt-get download, dpkg -x)"
    local debs
    debs="$(mktemp -d)"
    (cd "$debs" && apt-get download etcd-server etcd-client)
    mkdir -p "$ETCD_DIR"
    for deb in "$debs"/*.deb; do dpkg -x "$deb" "$ETCD_DIR"; done
    rm -rf "$debs"
  fi
  export PATH="$ETCD_DIR/usr/bin:$PATH"
  export LEASEHOLD_ETCD="$ETCD_DIR/usr/bin/etcd"
}

# `protoc` (Debian's protobuf-compiler), which the etcd-client crate's build needs.
ensure_protoc() {
  if ! command -v protoc >/dev/null; then
    step "installing Debian's protobuf-compiler (protoc, for the etcd-client crate)"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
      sudo="sudo"
    fi
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y protobuf-compiler
  fi
}
