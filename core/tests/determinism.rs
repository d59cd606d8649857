//! The same log gives the same state, byte for byte, natively and in wasm: a seeded
//! stream of operations is applied and the snapshot's checksum compared with a golden
//! value recorded once. Both the native and the wasm32 runs check the same value.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod common;

use leasehold::{Fsm, Time};

/// Applies the seeded stream and returns (snapshot checksum, events, errors, fence).
fn run(seed: u64) -> (u32, usize, usize, u64) {
    let mut fsm = Fsm::new();
    let (mut events, mut errors) = (0, 0);
    for (kind, k, h, n) in common::seeded_ops(seed, 5_000) {
        match fsm.apply(&common::op_from(kind, k, h, n, fsm.global_time())) {
            Ok(a) => events += a.events.len(),
            Err(_) => errors += 1,
        }
    }
    assert!(fsm.global_time() > Time::ZERO);
    let bytes = fsm.snapshot().encode().unwrap();
    (crc32fast::hash(&bytes), events, errors, fsm.fence())
}

#[test]
fn the_same_seeded_log_gives_the_golden_state_on_every_target() {
    let got = run(42);
    assert_eq!(got, run(42), "two runs differ");
    assert_eq!(
        got, GOLDEN,
        "this target's state differs from the recorded one"
    );
}

/// Recorded from a native run; a wasm32 run must reach exactly the same.
const GOLDEN: (u32, usize, usize, u64) = (2_505_395_592, 2_217, 2_325, 628);
