//! What a simulation counts.

use serde::Serialize;

/// The totals of a run: the load test's fields (less wall time and memory, which only
/// the load test can measure) and a few the scenarios need.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// The scenario's name.
    pub scenario: String,
    /// `batched` or `per-op`.
    pub mode: String,
    /// Leases (at the peak).
    pub leases: usize,
    /// Holders (trackers).
    pub holders: usize,
    /// Simulated seconds run.
    pub sim_seconds: f64,
    /// Requests submitted to the engine (or lost on the way).
    pub requests: u64,
    /// Operations written to the log (including `set_time`).
    pub ops: u64,
    /// Log entries committed (batches, or operations in per-op mode).
    pub log_entries: u64,
    /// Bytes committed.
    pub log_bytes: u64,
    /// `log_bytes / ops`.
    pub bytes_per_op: f64,
    /// Log entries per simulated second.
    pub entries_per_second: f64,
    /// Extensions answered ok.
    pub extend_ok: u64,
    /// Extensions that failed: refused, shed, past their deadline, aborted or timed out.
    pub extend_failed: u64,
    /// Claims granted.
    pub claims_ok: u64,
    /// Claims shed for lack of room.
    pub claims_shed: u64,
    /// Extensions and admin requests shed (the design says: never while claims wait).
    pub others_shed: u64,
    /// Requests answered `DeadlineExceeded` (by the engine, or by the client giving up).
    pub deadline_exceeded: u64,
    /// Singular-lane requests decided by the log.
    pub singular_ok: u64,
    /// Singular-lane requests that never reached the log.
    pub singular_failed: u64,
    /// Leases that got a new holder after having had another.
    pub leader_changes: u64,
    /// Leader changes whose old holder was still renewing when its lease expired.
    pub spurious_leader_changes: u64,
    /// Leader changes of pinned leases.
    pub pinned_leader_changes: u64,
    /// Median request-to-answer latency, ms.
    pub p50_latency_ms: u64,
    /// 99th percentile request-to-answer latency, ms.
    pub p99_latency_ms: u64,
    /// Requests answered by sharing another request's operation (coalesced).
    pub coalesced: u64,
    /// Invariant breaks (the run stops at the first).
    pub invariant_violations: u64,
    /// The first break, if any: the batch and what broke.
    pub violation: Option<String>,
    /// The deepest the engine's queue got (all lanes).
    pub max_queue_depth: usize,
    /// The longest the log's backlog got, in entries.
    pub max_log_backlog: usize,
    /// After the load dropped: ms until the queue was back within one batch.
    pub recovery_ms: Option<u64>,
    /// Writes to the fenced service by a holder that no longer held the lease.
    pub stale_writes: u64,
    /// Of those, how many the service refused by comparing fencing tokens.
    pub stale_writes_refused: u64,
    /// How many a service without tokens would have accepted: two leaders at once.
    pub stale_writes_accepted_without_tokens: u64,
}

impl Stats {
    /// Extensions that succeeded, as a fraction (1 when there were none).
    #[must_use]
    pub fn extend_success(&self) -> f64 {
        ratio(self.extend_ok, self.extend_ok + self.extend_failed)
    }

    /// Singular requests that reached the log, as a fraction (1 when there were none).
    #[must_use]
    pub fn singular_success(&self) -> f64 {
        ratio(self.singular_ok, self.singular_ok + self.singular_failed)
    }
}

fn ratio(ok: u64, all: u64) -> f64 {
    if all == 0 {
        1.0
    } else {
        ok as f64 / all as f64
    }
}
