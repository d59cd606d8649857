#!/usr/bin/env bash
# leasehold side by side with etcd (benches/src/bin/versus.rs): fetches what a fresh
# machine lacks, idempotently (Debian's etcd 3.4 unpacked into the ignored .tools/etcd,
# without starting a system service; protoc for the etcd client crate), builds
# leaseholdd and the versus binary (release), then runs it with the arguments given.
#
# Usage: ./scripts/versus.sh [--smoke] [--systems leasehold,etcd] [--nodes 1,3]
#            [--workloads grant,renew-10k,...] [--json FILE] [--svg docs/versus.svg]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh

ensure_etcd
ensure_protoc
step "building leaseholdd and versus (release)"
cargo build --release -p leasehold-server --bins
cargo build --release -p leasehold-benches --features versus --bin versus
step "versus $*"
target/release/versus --etcd "$LEASEHOLD_ETCD" "$@"
