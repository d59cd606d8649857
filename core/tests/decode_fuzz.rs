//! Decoding arbitrary and mutated bytes never panics and allocates at most in proportion
//! to the input (native only: it counts allocations with a global allocator, so this file
//! holds a single test that runs its cases one after another).
#![allow(unsafe_code)] // a counting global allocator measures what decoding allocates
#![cfg(not(target_arch = "wasm32"))]

mod common;

use leasehold::{Batch, Fsm, Op, Snapshot, Time};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(now, Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Relaxed);
        // SAFETY: the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most a decode of `len` bytes may allocate beyond what it started with: serde's
/// cautious pre-allocation (at most 1 MiB per sequence) plus a constant factor of the input.
fn allowance(len: usize) -> usize {
    4 << 20 | (64 * len)
}

/// The state the seeded operations reach: what batches that refer to places decode against.
fn state() -> &'static Fsm {
    static STATE: OnceLock<Fsm> = OnceLock::new();
    STATE.get_or_init(|| {
        let mut fsm = Fsm::new();
        for op in seeded_ops() {
            let _ = fsm.apply(&op);
        }
        fsm
    })
}

fn seeded_ops() -> Vec<Op> {
    common::seeded_ops(7, 400)
        .iter()
        .map(|&(a, b, c, d)| common::op_from(a, b, c, d, Time::ZERO))
        .collect()
}

/// Decodes `bytes` as a batch (alone and against a state) and a snapshot, checking the
/// peak allocation.
fn decode_within_limits(bytes: &[u8]) -> Result<(), TestCaseError> {
    let state = state();
    let start = CURRENT.load(Relaxed);
    PEAK.store(start, Relaxed);
    let against_state = state.decode_batch(bytes);
    let batch = Batch::decode(bytes);
    let snapshot = Snapshot::decode(bytes);
    let peak = PEAK.load(Relaxed) - start;
    prop_assert!(
        peak <= allowance(bytes.len()),
        "{peak} bytes allocated for {} input bytes",
        bytes.len()
    );
    // Whatever decodes must be usable: it encodes again, and a snapshot restores.
    if let Ok(b) = batch {
        prop_assert!(b.encode().is_ok());
    }
    if let Ok(b) = against_state {
        prop_assert!(b.encode().is_ok());
        let (mut named, mut quiet) = (state.clone(), state.clone());
        prop_assert!(named.apply_encoded(bytes).is_ok());
        prop_assert_eq!(quiet.replay_encoded(bytes), Ok(b.seq));
        prop_assert_eq!(quiet.snapshot(), named.snapshot());
    }
    if let Ok(s) = snapshot {
        let _ = Fsm::restore(s);
    }
    Ok(())
}

fn valid_encodings() -> Vec<Vec<u8>> {
    let fsm = state();
    let extends: Vec<Op> = fsm
        .leases(Time::ZERO)
        .into_iter()
        .map(|l| Op::extend(l.key, l.holder, std::time::Duration::from_secs(9)))
        .collect();
    let refers = fsm.encode_batch(&Batch::new(10, extends)).unwrap();
    assert_eq!(
        refers[1],
        leasehold::FORMAT_VERSION,
        "the batch refers to places"
    );
    vec![
        Batch::new(9, seeded_ops()).encode().unwrap(),
        fsm.snapshot().encode().unwrap(),
        refers,
    ]
}

#[test]
fn decoding_arbitrary_and_mutated_bytes_never_panics_nor_over_allocates() {
    let mut runner = TestRunner::new(Config {
        cases: 2_000,
        failure_persistence: None,
        ..Config::default()
    });
    // Arbitrary bytes, with a valid header half of the time so the body decoder is reached.
    let arbitrary = (
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..512),
    );
    runner
        .run(&arbitrary, |(header, snapshot, mut body)| {
            if header {
                body.splice(
                    0..0,
                    [
                        if snapshot { b'S' } else { b'B' },
                        leasehold::FORMAT_VERSION,
                    ],
                );
            }
            decode_within_limits(&body)
        })
        .unwrap();
    // Valid encodings with a few bytes changed, cut short or extended.
    for valid in valid_encodings() {
        let len = valid.len();
        let mutation = (
            proptest::collection::vec((0..len, any::<u8>()), 1..6),
            0..=len,
            proptest::collection::vec(any::<u8>(), 0..4),
        );
        runner
            .run(&mutation, |(flips, cut, tail)| {
                let mut bytes = valid.clone();
                for (at, value) in flips {
                    bytes[at] = value;
                }
                bytes.truncate(cut.max(2));
                bytes.extend(tail);
                decode_within_limits(&bytes)
            })
            .unwrap();
    }
}
