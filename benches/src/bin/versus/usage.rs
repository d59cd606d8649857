//! What the server processes used during a run: bytes written to disk, CPU time and
//! peak memory, read from `/proc/PID/{io,stat,status}` before and after.

use super::nodes::{TICKS_PER_SEC, cpu_ticks, peak_rss};

/// The counters of a set of server processes at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// Bytes written to storage (`write_bytes` of `/proc/PID/io`), summed.
    pub disk_bytes: u64,
    /// User and system CPU, clock ticks, summed.
    pub cpu_ticks: u64,
    /// The largest peak resident memory, bytes.
    pub peak_rss: u64,
}

/// `write_bytes` of `/proc/PID/io`.
fn disk_bytes(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))
        .and_then(|v| v.trim().parse().ok())
}

impl Usage {
    /// The counters of `pids` now (a process that is gone counts nothing).
    #[must_use]
    pub fn of(pids: &[u32]) -> Usage {
        let mut u = Usage::default();
        for &pid in pids {
            let p = pid.to_string();
            u.disk_bytes += disk_bytes(pid).unwrap_or(0);
            u.cpu_ticks += cpu_ticks(&p).unwrap_or(0);
            u.peak_rss = u.peak_rss.max(peak_rss(&p).unwrap_or(0));
        }
        u
    }

    /// Fills `row`'s disk, CPU and memory figures from the usage between `self` (the
    /// start) and `end`, for `ops` operations.
    pub fn fill(&self, end: &Usage, ops: u64, row: &mut super::row::Row) {
        let ops = ops.max(1) as f64;
        row.disk_bytes_per_op = Some(end.disk_bytes.saturating_sub(self.disk_bytes) as f64 / ops);
        let cpu_s = end.cpu_ticks.saturating_sub(self.cpu_ticks) as f64 / TICKS_PER_SEC;
        row.cpu_s_per_1000_ops = Some(cpu_s * 1000.0 / ops);
        row.peak_rss_mb = Some(end.peak_rss.max(self.peak_rss) as f64 / 1e6);
    }
}
