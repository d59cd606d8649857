//! The engine's cost per request end to end: submit → batch → encode → decode (the log
//! hands the bytes back, as it would to every replica) → apply → answer, next to a plain
//! `HashMap` update over the same keys in the same run.

use crate::figures::Plan;
use crate::workload;
use leasehold::{Batch, Config, Engine, Output, Time};
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
    /// Nanoseconds per request, submit to answer, including encoding the batch, decoding
    /// it back and applying it.
    pub ns_per_request: f64,
    /// Requests per second on one core (`1e9 / ns_per_request`).
    pub requests_per_second: f64,
    /// Nanoseconds per `HashMap<Key, u64, FxBuildHasher>` update over the same keys.
    pub hashmap_ns_per_op: f64,
    /// `ns_per_request / hashmap_ns_per_op`.
    pub ratio: f64,
}

/// Measures [`EngineCost`] over `leases` leases with batches of 1,000 extensions.
///
/// # Panics
///
/// If a request is not answered `ok` (a bug), or `leases` is zero.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn engine_cost(leases: usize, plan: Plan) -> EngineCost {
    assert!(leases > 0, "measuring needs at least one lease");
    let keys = workload::keys(leases);
    let extends = workload::extends_for(&keys);
    let fsm = workload::populated_fsm_for(&keys);
    let batch_ops = 1_000;
    let config = Config {
        max_batch_ops: batch_ops,
        queue_capacity: batch_ops * 2,
        max_in_flight: 1,
        ..Config::default()
    };
    let mut engine = Engine::with_state(config, fsm, 1, Time::ZERO).expect("the config is valid");
    let mut map = workload::baseline_map(&keys);

    let passes = plan.min_ops.div_ceil(extends.len()).max(1);
    let requests = passes * extends.len();
    let (mut best, mut baseline) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..plan.runs.max(1) {
        let start = Instant::now();
        let mut ok = 0usize;
        for _ in 0..passes {
            for op in &extends {
                let _ = engine.handle_request(Time::ZERO, op.clone());
                ok += drive(&mut engine);
            }
            engine.handle_timeout(Time::ZERO);
            ok += drive(&mut engine);
        }
        best = best.min(start.elapsed().as_nanos() as f64 / requests as f64);
        assert_eq!(ok, requests, "every request is answered ok");

        let start = Instant::now();
        for _ in 0..passes {
            for op in &extends {
                if let Some(key) = black_box(op).key() {
                    black_box(workload::baseline_extend(&mut map, key, 0));
                }
            }
        }
        baseline = baseline.min(start.elapsed().as_nanos() as f64 / requests as f64);
    }
    EngineCost {
        leases,
        batch_ops,
        ns_per_request: best,
        requests_per_second: 1e9 / best,
        hashmap_ns_per_op: baseline,
        ratio: best / baseline,
    }
}

/// Drains the engine, playing the log: appended batches are decoded (checking what the
/// log would carry) and committed, and the engine applies them. Returns how many answers
/// were ok.
fn drive(engine: &mut Engine) -> usize {
    let mut ok = 0;
    let mut committed = Vec::new();
    loop {
        match engine.poll_output() {
            Output::Append(a) => {
                black_box(Batch::decode(&a.bytes).expect("engine batches decode"));
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
        let c = engine_cost(2_000, Plan::SMOKE);
        assert_eq!(c.leases, 2_000);
        assert!(c.ns_per_request > 0.0 && c.ns_per_request.is_finite());
        assert!(c.hashmap_ns_per_op > 0.0);
        assert!((c.ratio - c.ns_per_request / c.hashmap_ns_per_op).abs() < 1e-9);
    }
}
