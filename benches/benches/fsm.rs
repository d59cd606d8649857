//! Micro benchmarks of the lease state machine: `Fsm::apply` of an extension over a
//! large state, next to a plain hash map update over the same keys with the same hasher.
//!
//! Each iteration performs [`CHUNK`] operations (cycling through every lease), and the
//! throughput is reported per operation. Results are dropped inside the timed loop. Each
//! benchmark runs for at least a second (`--min-time` overrides it) so that it reaches a
//! steady state over the whole lease set rather than its first few chunks.

use divan::Bencher;
use divan::counter::ItemsCount;
use leasehold_benches::workload;
use std::hint::black_box;

/// Leases held while measuring (fewer in a debug build, which only checks that the
/// benchmarks run).
const LEASES: usize = if cfg!(debug_assertions) {
    10_000
} else {
    1_000_000
};

/// Operations per timed iteration.
const CHUNK: usize = 1_000;

fn main() {
    divan::main();
}

/// `Fsm::apply` of an extension by the holder, at log time zero (no expiry moves).
#[divan::bench(min_time = 1)]
fn apply_extend(bencher: Bencher) {
    let keys = workload::keys(LEASES);
    let mut fsm = workload::populated_fsm_for(&keys);
    let extends = workload::extends_for(&keys);
    drop(keys);
    let mut chunks = extends.chunks(CHUNK).cycle();
    bencher
        .counter(ItemsCount::new(CHUNK))
        .bench_local(move || {
            let chunk = chunks.next().expect("cycling never ends");
            for op in chunk {
                let _ = black_box(fsm.apply(black_box(op)));
            }
        });
}

/// The baseline: `HashMap<Key, u64, FxBuildHasher>::get_mut` + keeping the later
/// expiry, over the same keys (and the same extension operations) as `apply_extend`.
#[divan::bench(min_time = 1)]
fn hashmap_baseline(bencher: Bencher) {
    let keys = workload::keys(LEASES);
    let mut map = workload::baseline_map(&keys);
    let extends = workload::extends_for(&keys);
    drop(keys);
    let mut chunks = extends.chunks(CHUNK).cycle();
    bencher
        .counter(ItemsCount::new(CHUNK))
        .bench_local(move || {
            let chunk = chunks.next().expect("cycling never ends");
            let now = black_box(0);
            for op in chunk {
                if let Some(key) = black_box(op).key() {
                    black_box(workload::baseline_extend(&mut map, key, now));
                }
            }
        });
}
