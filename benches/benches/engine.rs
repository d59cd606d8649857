//! Micro benchmark of the engine end to end per request: submit, cut a batch, encode it,
//! decode it as the log hands it back, commit, apply and answer, over 100,000 and
//! 1,000,000 leases.

use divan::Bencher;
use divan::counter::ItemsCount;
use leasehold_benches::engine_cost::{BATCH_OPS, EngineRig};

/// Leases held while measuring (fewer in a debug build, which only checks that the
/// benchmark runs).
const LEASES: [usize; 2] = if cfg!(debug_assertions) {
    [5_000, 10_000]
} else {
    [100_000, 1_000_000]
};

fn main() {
    divan::main();
}

/// One batch of extensions through the engine, per request.
#[divan::bench(min_time = 1, args = LEASES)]
fn extend_end_to_end(bencher: Bencher, leases: usize) {
    let mut rig = EngineRig::new(leases);
    bencher
        .counter(ItemsCount::new(BATCH_OPS))
        .bench_local(move || {
            let ok = rig.round(BATCH_OPS);
            assert_eq!(ok, BATCH_OPS, "every request is answered ok");
        });
}

/// The baseline: plain hash map updates over the same keys, per operation.
#[divan::bench(min_time = 1, args = LEASES)]
fn hashmap_baseline(bencher: Bencher, leases: usize) {
    let mut rig = EngineRig::new(leases);
    bencher
        .counter(ItemsCount::new(BATCH_OPS))
        .bench_local(move || rig.baseline_round(BATCH_OPS));
}
