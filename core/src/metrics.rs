//! What the engine counts: queue depth, shedding and deadlines per lane, batches, latency
//! from request to answer, leadership changes.

use crate::lane::Lane;
use hdrhistogram::Histogram;

/// Counters of one lane.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LaneMetrics {
    /// Requests waiting now.
    pub depth: usize,
    /// Requests accepted into the lane, ever.
    pub accepted: u64,
    /// Requests refused or evicted for lack of room.
    pub shed: u64,
    /// Requests answered `DeadlineExceeded`.
    pub deadline_exceeded: u64,
    /// Requests answered from a batch's result.
    pub applied: u64,
}

/// The engine's running totals. Read with [`Engine::metrics`](crate::Engine::metrics).
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Per lane, in [`Lane::ALL`] order.
    pub lanes: [LaneMetrics; 4],
    /// Batches cut (including time-only batches).
    pub batches: u64,
    /// Operations in those batches (including `set_time`).
    pub batch_ops: u64,
    /// Encoded bytes of those batches.
    pub batch_bytes: u64,
    /// Batches committed.
    pub committed: u64,
    /// Batches abandoned by the log.
    pub abandoned: u64,
    /// Requests answered `Aborted`.
    pub aborted: u64,
    /// Requests refused as malformed.
    pub rejected: u64,
    /// Requests answered by sharing another request's operation.
    pub coalesced: u64,
    /// Holders deposed (lease expired, revoked or handed over).
    pub leadership_changes: u64,
    /// Milliseconds from request to answer, on the caller's clock.
    pub latency_ms: Histogram<u64>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            lanes: [LaneMetrics::default(); 4],
            batches: 0,
            batch_ops: 0,
            batch_bytes: 0,
            committed: 0,
            abandoned: 0,
            aborted: 0,
            rejected: 0,
            coalesced: 0,
            leadership_changes: 0,
            latency_ms: Histogram::new_with_bounds(1, 24 * 3_600_000, 2)
                .expect("static histogram bounds are valid"),
        }
    }
}

impl Metrics {
    /// The counters of one lane.
    #[must_use]
    pub fn lane(&self, lane: Lane) -> &LaneMetrics {
        &self.lanes[lane.index()]
    }

    pub(crate) fn lane_mut(&mut self, lane: Lane) -> &mut LaneMetrics {
        &mut self.lanes[lane.index()]
    }

    /// Records one answer's latency.
    pub(crate) fn record_latency(&mut self, ms: u64) {
        self.latency_ms.saturating_record(ms.max(1));
    }

    /// A latency percentile in milliseconds (0 before any answer).
    #[must_use]
    pub fn latency_percentile(&self, q: f64) -> u64 {
        if self.latency_ms.is_empty() {
            0
        } else {
            self.latency_ms.value_at_quantile(q)
        }
    }
}
