//! What one run (a system × a workload × a cluster size) measured: one JSON object and
//! one table row.

use serde::{Deserialize, Serialize};

/// The figures of one run. A figure a workload does not produce stays `None` (shown as
/// `–`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Row {
    /// `leasehold` or `etcd`.
    pub system: String,
    /// The workload's name.
    pub workload: String,
    /// Nodes in the cluster (1 or 3).
    pub nodes: usize,
    /// Operations completed in the measured time (grants, renewals, claims, campaigns).
    pub ops: u64,
    /// The measured time, seconds.
    pub seconds: f64,
    /// `ops / seconds`.
    pub ops_per_sec: f64,
    /// Latency of the workload's main operation, ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// The slowest, ms.
    pub max_ms: Option<f64>,
    /// Renewals attempted (renew, claimer-abuse, overload, election).
    pub renewals: Option<u64>,
    /// Renewals that failed or came too late (after the lease would have expired).
    pub renewals_failed: Option<u64>,
    /// Leases that changed holder while their holder was still renewing.
    pub spurious_changes: Option<u64>,
    /// election: leadership changes seen after the cluster leader was killed.
    pub leader_changes: Option<u64>,
    /// election: ms from the SIGKILL until every application had a leader again.
    pub recovery_ms: Option<f64>,
    /// Bytes the servers wrote to disk per operation (`/proc/PID/io` `write_bytes`).
    pub disk_bytes_per_op: Option<f64>,
    /// fsyncs per second, all servers (from the servers' own counters).
    pub fsyncs_per_sec: Option<f64>,
    /// CPU seconds of the servers per 1,000 operations.
    pub cpu_s_per_1000_ops: Option<f64>,
    /// The servers' peak resident memory, MB (the largest node).
    pub peak_rss_mb: Option<f64>,
    /// etcd, election: whether a lease's TTL was back at its full value after the
    /// leader change (etcd resets TTLs on a leader change; leasehold never does).
    pub ttl_reset: Option<bool>,
    /// What to know to read the row (where it is not like for like).
    pub notes: Vec<String>,
}
