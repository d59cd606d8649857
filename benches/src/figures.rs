//! The figures the project tracks, measured with [`Instant`] rather than a benchmark
//! harness so that the `report` binary can print them (or emit them as JSON) in seconds.
//!
//! Every timing is the best of several runs ([`Plan::runs`]), each of many operations
//! ([`Plan::min_ops`]), after one untimed warm-up pass that also checks the operations
//! succeed. Results and outputs pass through [`black_box`] and are dropped inside the
//! timed loop, so a figure includes freeing what the operation returned.

use crate::workload;
use leasehold::{Batch, Fsm, Key, Op};
use rustc_hash::FxBuildHasher;
use serde::Serialize;
use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

/// How many operations a batch of [`wire_size`] and [`codec_per_op`] holds.
pub const BATCH_OPS: usize = 1_000;

/// How hard to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Timed runs; the fastest counts.
    pub runs: usize,
    /// The least operations in one run (whole passes over the workload are timed, so a
    /// run may do more).
    pub min_ops: usize,
}

impl Plan {
    /// Five runs of at least two million operations each.
    pub const DEFAULT: Plan = Plan {
        runs: 5,
        min_ops: 2_000_000,
    };
    /// One run of one pass: checks that a figure can be taken, measures nothing useful.
    pub const SMOKE: Plan = Plan {
        runs: 1,
        min_ops: 1,
    };
}

impl Default for Plan {
    fn default() -> Plan {
        Plan::DEFAULT
    }
}

/// Encoded size per operation of a batch of realistic keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WireSize {
    /// Operations in each batch ([`BATCH_OPS`]).
    pub ops: usize,
    /// Encoded bytes of the batch of claims (leases `mysql-0..mysql-999`), which name
    /// every lease.
    pub claim_batch_bytes: usize,
    /// Encoded bytes of the batch of extensions of the same leases as the engine writes
    /// it against a state holding them: each lease named by its place
    /// ([`Fsm::encode_batch`]).
    pub extend_batch_bytes: usize,
    /// Encoded bytes of the same extensions naming every lease ([`Batch::encode`], what
    /// a batch without a state costs; format version 1).
    pub named_extend_batch_bytes: usize,
    /// `claim_batch_bytes / ops`.
    pub claim_bytes_per_op: f64,
    /// `extend_batch_bytes / ops`.
    pub extend_bytes_per_op: f64,
    /// `named_extend_batch_bytes / ops`.
    pub named_extend_bytes_per_op: f64,
}

/// The cost of [`Fsm::apply`] of an extension next to a plain hash map update.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplyVsHashMap {
    /// Leases held by the state (and keys in the map).
    pub leases: usize,
    /// Nanoseconds per [`Fsm::apply`] of an extension, result dropped included.
    pub apply_ns_per_op: f64,
    /// Nanoseconds per `HashMap<Key, u64, FxBuildHasher>::get_mut` + update.
    pub hashmap_ns_per_op: f64,
    /// `apply_ns_per_op / hashmap_ns_per_op`.
    pub ratio: f64,
}

/// The cost of the log format per operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodecPerOp {
    /// Operations in the batch ([`BATCH_OPS`] extensions of held leases).
    pub ops: usize,
    /// Encoded bytes of the batch, as the engine writes it ([`Fsm::encode_batch`]).
    pub batch_bytes: usize,
    /// Nanoseconds per operation of [`Fsm::encode_batch`].
    pub encode_ns_per_op: f64,
    /// Nanoseconds per operation of [`Fsm::decode_batch`] (the names resolved from the
    /// state), dropping the batch included.
    pub decode_ns_per_op: f64,
}

/// Encoded bytes per operation of a batch of 1,000 claims and of 1,000 extensions of
/// leases `mysql-0..mysql-999` (exact, no timing).
///
/// # Panics
///
/// If a batch cannot be encoded (a bug in the codec or the workload).
#[must_use]
pub fn wire_size() -> WireSize {
    let keys = workload::keys(BATCH_OPS);
    let claims = encoded(workload::claims_for(&keys)).len();
    let state = workload::populated_fsm_for(&keys);
    let extends = Batch::new(1, workload::extends_for(&keys));
    let referring = state
        .encode_batch(&extends)
        .expect("a batch of realistic operations encodes")
        .len();
    let named = encoded(extends.ops).len();
    let per_op = |bytes: usize| bytes as f64 / BATCH_OPS as f64;
    WireSize {
        ops: BATCH_OPS,
        claim_batch_bytes: claims,
        extend_batch_bytes: referring,
        named_extend_batch_bytes: named,
        claim_bytes_per_op: per_op(claims),
        extend_bytes_per_op: per_op(referring),
        named_extend_bytes_per_op: per_op(named),
    }
}

/// [`ApplyVsHashMap`] over `leases` leases, measured with [`Plan::DEFAULT`]. Building
/// the state takes about a second per million leases; see [`ApplySetup`] to build and
/// measure separately.
#[must_use]
pub fn apply_vs_hashmap(leases: usize) -> ApplyVsHashMap {
    ApplySetup::build(leases).measure(Plan::DEFAULT)
}

/// The state of [`apply_vs_hashmap`]: a state machine holding the leases, the baseline
/// map over the same keys, and one extension per lease.
#[derive(Debug)]
pub struct ApplySetup {
    fsm: Fsm,
    map: HashMap<Key, u64, FxBuildHasher>,
    extends: Vec<Op>,
}

impl ApplySetup {
    /// Builds a state of `leases` leases (leases `mysql-0..`, see [`workload`]), the
    /// baseline map of the same keys, and the extensions.
    ///
    /// # Panics
    ///
    /// If `leases` is zero.
    #[must_use]
    pub fn build(leases: usize) -> ApplySetup {
        assert!(leases > 0, "measuring needs at least one lease");
        let keys = workload::keys(leases);
        ApplySetup {
            fsm: workload::populated_fsm_for(&keys),
            map: workload::baseline_map(&keys),
            extends: workload::extends_for(&keys),
        }
    }

    /// How many leases the state holds.
    #[must_use]
    pub fn leases(&self) -> usize {
        self.extends.len()
    }

    /// Measures extensions cycling through every lease in order, at log time zero (the
    /// extensions never move an expiry), alternating the state machine's runs and the
    /// baseline's.
    ///
    /// # Panics
    ///
    /// If an extension is refused or a key is missing from the map (a bug).
    pub fn measure(&mut self, plan: Plan) -> ApplyVsHashMap {
        let ApplySetup { fsm, map, extends } = self;
        // Warm-up pass, checked.
        for op in extends.iter() {
            assert!(fsm.apply(op).is_ok(), "extension refused: {op:?}");
            let key = op.key().expect("an extension names its key");
            assert!(
                workload::baseline_extend(map, key, 0),
                "{key} not in the map"
            );
        }
        let passes = passes(plan, extends.len());
        let ops = passes * extends.len();
        let mut apply = f64::INFINITY;
        let mut hashmap = f64::INFINITY;
        for _ in 0..plan.runs.max(1) {
            apply = apply.min(ns_per_op(ops, || {
                for _ in 0..passes {
                    for op in extends.iter() {
                        let _ = black_box(fsm.apply(black_box(op)));
                    }
                }
            }));
            hashmap = hashmap.min(ns_per_op(ops, || {
                let now = black_box(0);
                for _ in 0..passes {
                    for op in extends.iter() {
                        if let Some(key) = black_box(op).key() {
                            black_box(workload::baseline_extend(map, key, now));
                        }
                    }
                }
            }));
        }
        ApplyVsHashMap {
            leases: extends.len(),
            apply_ns_per_op: apply,
            hashmap_ns_per_op: hashmap,
            ratio: apply / hashmap,
        }
    }
}

/// Nanoseconds per operation to encode and to decode a batch of 1,000 extensions,
/// measured with [`Plan::DEFAULT`].
#[must_use]
pub fn codec_per_op() -> CodecPerOp {
    codec_per_op_with(Plan::DEFAULT)
}

/// [`codec_per_op`] with a chosen plan.
///
/// # Panics
///
/// If the batch does not encode or does not decode to itself (a bug).
#[must_use]
pub fn codec_per_op_with(plan: Plan) -> CodecPerOp {
    let keys = workload::keys(BATCH_OPS);
    let state = workload::populated_fsm_for(&keys);
    let batch = Batch::new(1, workload::extends_for(&keys));
    let bytes = state
        .encode_batch(&batch)
        .expect("realistic batches encode");
    assert_eq!(
        state.decode_batch(&bytes).as_ref(),
        Ok(&batch),
        "the batch decodes to itself"
    );
    let passes = passes(plan, BATCH_OPS);
    let ops = passes * BATCH_OPS;
    let mut encode = f64::INFINITY;
    let mut decode = f64::INFINITY;
    for _ in 0..plan.runs.max(1) {
        encode = encode.min(ns_per_op(ops, || {
            for _ in 0..passes {
                black_box(state.encode_batch(black_box(&batch)).ok());
            }
        }));
        decode = decode.min(ns_per_op(ops, || {
            for _ in 0..passes {
                black_box(state.decode_batch(black_box(&bytes)).ok());
            }
        }));
    }
    CodecPerOp {
        ops: BATCH_OPS,
        batch_bytes: bytes.len(),
        encode_ns_per_op: encode,
        decode_ns_per_op: decode,
    }
}

fn encoded(ops: Vec<Op>) -> Vec<u8> {
    Batch::new(1, ops)
        .encode()
        .expect("a batch of realistic operations encodes")
}

/// Whole passes over `per_pass` operations for a run of at least `plan.min_ops`.
fn passes(plan: Plan, per_pass: usize) -> usize {
    plan.min_ops.div_ceil(per_pass.max(1)).max(1)
}

/// Times `f`, which performs `ops` operations.
fn ns_per_op(ops: usize, f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_nanos() as f64 / ops.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_size_meets_its_targets() {
        let w = wire_size();
        assert_eq!(w.ops, 1_000);
        assert!(w.claim_bytes_per_op <= 40.0, "claims: {w:?}");
        assert!(w.named_extend_bytes_per_op <= 40.0, "extensions: {w:?}");
        assert!(w.extend_bytes_per_op <= 8.0, "extensions by place: {w:?}");
        assert!(w.claim_bytes_per_op > 0.0 && w.extend_bytes_per_op > 0.0);
        let exact = w.claim_batch_bytes as f64 / 1_000.0;
        assert!((w.claim_bytes_per_op - exact).abs() < f64::EPSILON);
    }

    #[test]
    fn apply_vs_hashmap_measures_something() {
        let mut setup = ApplySetup::build(1_000);
        assert_eq!(setup.leases(), 1_000);
        let f = setup.measure(Plan::SMOKE);
        assert_eq!(f.leases, 1_000);
        assert!(f.apply_ns_per_op > 0.0 && f.apply_ns_per_op.is_finite());
        assert!(f.hashmap_ns_per_op > 0.0 && f.hashmap_ns_per_op.is_finite());
        assert!((f.ratio - f.apply_ns_per_op / f.hashmap_ns_per_op).abs() < 1e-9);
        // The extensions moved nothing: every lease is still held, at time zero.
        assert_eq!(setup.fsm.len(), 1_000);
    }

    #[test]
    fn codec_per_op_measures_something() {
        let c = codec_per_op_with(Plan::SMOKE);
        assert_eq!(c.ops, 1_000);
        assert_eq!(c.batch_bytes, wire_size().extend_batch_bytes);
        assert!(c.encode_ns_per_op > 0.0 && c.decode_ns_per_op > 0.0);
    }

    #[test]
    fn plan_runs_whole_passes() {
        assert_eq!(passes(Plan::DEFAULT, 1_000_000), 2);
        assert_eq!(passes(Plan::DEFAULT, 3_000_000), 1);
        assert_eq!(passes(Plan::SMOKE, 1_000), 1);
        assert_eq!(passes(Plan::DEFAULT, 1_000), 2_000);
    }
}
