//! The engine's cost per request end to end: submit → batch → encode → decode and apply
//! by a replica (the log hands the bytes to a follower, which reads them against its own
//! state without keeping results: `Fsm::replay_encoded`) → apply by the engine → answer,
//! next to a plain `HashMap` update over the same keys in the same run.

use crate::figures::Plan;
use crate::workload;
use leasehold::{Config, Engine, Fsm, Op, Output, Time};
use serde::Serialize;
use std::hint::black_box;
use std::time::Instant;

/// The engine's end-to-end cost per request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EngineCost {
    /// Leases held (each request extends one of them).
    pub leases: usize,
    /// Requests per batch.
    pub batch_ops: usize,
    /// Nanoseconds per request, submit to answer, including encoding the batch, a replica
    /// decoding and applying it, and the engine applying it.
    pub ns_per_request: f64,
    /// Requests per second on one core (`1e9 / ns_per_request`).
    pub requests_per_second: f64,
    /// Nanoseconds per `HashMap<Key, u64, FxBuildHasher>` update over the same keys.
    pub hashmap_ns_per_op: f64,
    /// `ns_per_request / hashmap_ns_per_op`.
    pub ratio: f64,
}

/// An engine holding leases and a batch's worth of extensions to submit, driven as a
/// replicated log would drive it; shared by [`engine_cost`] and the divan benchmark.
#[derive(Debug)]
pub struct EngineRig {
    engine: Engine,
    /// A follower of the engine's log, from the same state.
    replica: Fsm,
    extends: Vec<Op>,
    map: std::collections::HashMap<leasehold::Key, u64, rustc_hash::FxBuildHasher>,
    next: usize,
}

/// Requests per batch in the rig.
pub const BATCH_OPS: usize = 1_000;

impl EngineRig {
    /// An engine whose state holds `leases` leases (`mysql-0..`), batches of
    /// [`BATCH_OPS`], and the baseline map of the same keys.
    ///
    /// # Panics
    ///
    /// If `leases` is zero.
    #[must_use]
    pub fn new(leases: usize) -> EngineRig {
        assert!(leases > 0, "measuring needs at least one lease");
        let keys = workload::keys(leases);
        let config = Config {
            max_batch_ops: BATCH_OPS,
            queue_capacity: BATCH_OPS * 2,
            max_in_flight: 1,
            ..Config::default()
        };
        let state = workload::populated_fsm_for(&keys);
        let replica = state.clone();
        let engine = Engine::with_state(config, state, 1, Time::ZERO).expect("the config is valid");
        EngineRig {
            engine,
            replica,
            extends: workload::extends_for(&keys),
            map: workload::baseline_map(&keys),
            next: 0,
        }
    }

    /// Leases held.
    #[must_use]
    pub fn leases(&self) -> usize {
        self.extends.len()
    }

    /// Submits the next `n` extensions (cycling through the leases) and drives them to
    /// their answers: the batch is encoded, decoded back as the log would hand it to a
    /// replica, committed and applied. Returns how many answers were ok.
    pub fn round(&mut self, n: usize) -> usize {
        let mut ok = 0;
        for _ in 0..n {
            let op = self.extends[self.next].clone();
            self.next = (self.next + 1) % self.extends.len();
            let _ = self.engine.handle_request(Time::ZERO, op);
            ok += drive(&mut self.engine, &mut self.replica);
        }
        self.engine.handle_timeout(Time::ZERO);
        ok + drive(&mut self.engine, &mut self.replica)
    }

    /// Whether the replica that followed the log is where the engine is, byte for byte.
    #[must_use]
    pub fn replica_agrees(&self) -> bool {
        self.replica.snapshot().encode().ok() == self.engine.fsm().snapshot().encode().ok()
    }

    /// The baseline: `n` plain hash map updates over the same keys.
    pub fn baseline_round(&mut self, n: usize) {
        for _ in 0..n {
            if let Some(key) = black_box(&self.extends[self.next]).key() {
                black_box(workload::baseline_extend(&mut self.map, key, 0));
            }
            self.next = (self.next + 1) % self.extends.len();
        }
    }
}

/// Measures [`EngineCost`] over `leases` leases with batches of 1,000 extensions.
///
/// # Panics
///
/// If a request is not answered `ok` (a bug), or `leases` is zero.
#[must_use]
pub fn engine_cost(leases: usize, plan: Plan) -> EngineCost {
    let mut rig = EngineRig::new(leases);
    let requests = plan.min_ops.div_ceil(leases).max(1) * leases;
    let (mut best, mut baseline) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..plan.runs.max(1) {
        let start = Instant::now();
        let mut ok = 0;
        for _ in 0..requests / BATCH_OPS {
            ok += rig.round(BATCH_OPS);
        }
        ok += rig.round(requests % BATCH_OPS);
        best = best.min(start.elapsed().as_nanos() as f64 / requests as f64);
        assert_eq!(ok, requests, "every request is answered ok");

        let start = Instant::now();
        rig.baseline_round(requests);
        baseline = baseline.min(start.elapsed().as_nanos() as f64 / requests as f64);
    }
    EngineCost {
        leases,
        batch_ops: BATCH_OPS,
        ns_per_request: best,
        requests_per_second: 1e9 / best,
        hashmap_ns_per_op: baseline,
        ratio: best / baseline,
    }
}

/// Drains the engine, playing the log: a replica decodes and applies each appended batch
/// as a follower does, the batch is committed, and the engine applies it. Returns how
/// many answers were ok.
fn drive(engine: &mut Engine, replica: &mut Fsm) -> usize {
    let mut ok = 0;
    let mut committed = Vec::new();
    loop {
        match engine.poll_output() {
            Output::Append(a) => {
                black_box(
                    replica
                        .replay_encoded(&a.bytes)
                        .expect("engine batches decode against the state they apply to"),
                );
                committed.push(a.seq);
            }
            Output::Answer(a) => ok += usize::from(a.outcome.is_ok()),
            Output::Event(_) | Output::Settled(_) => {}
            Output::Timeout(_) => match committed.pop() {
                Some(seq) => engine
                    .handle_committed(Time::ZERO, seq)
                    .expect("the batch is in flight"),
                None => return ok,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_cost_answers_every_request_and_measures_something() {
        let mut rig = EngineRig::new(2_000);
        assert_eq!(rig.round(BATCH_OPS), BATCH_OPS);
        assert!(rig.replica_agrees(), "the replica follows the engine");
        let c = engine_cost(2_000, Plan::SMOKE);
        assert_eq!(c.leases, 2_000);
        assert!(c.ns_per_request > 0.0 && c.ns_per_request.is_finite());
        assert!(c.hashmap_ns_per_op > 0.0);
        assert!((c.ratio - c.ns_per_request / c.hashmap_ns_per_op).abs() < 1e-9);
    }
}
