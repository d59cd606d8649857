//! Latency histograms shared by many tasks, outcome counters, and their summaries.

use hdrhistogram::Histogram;
use leasehold::Outcome;
use serde::Serialize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Shards of the histogram, so concurrent tasks rarely wait for one another.
const SHARDS: usize = 32;

/// Latencies in microseconds, 1 µs to 10 minutes, 3 significant figures.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// A latency histogram many tasks record into.
pub struct Latencies {
    shards: Vec<Mutex<Histogram<u64>>>,
}

impl Latencies {
    /// An empty one.
    pub fn new() -> Latencies {
        Latencies {
            shards: (0..SHARDS).map(|_| Mutex::new(histogram())).collect(),
        }
    }

    /// Records `d` (into the shard picked by `who`).
    pub fn record(&self, who: usize, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        if let Ok(mut h) = self.shards[who % SHARDS].lock() {
            h.saturating_record(us);
        }
    }

    /// The summary of everything recorded.
    pub fn summary(&self) -> LatencySummary {
        let mut all = histogram();
        for shard in &self.shards {
            if let Ok(h) = shard.lock() {
                let _ = all.add(&*h);
            }
        }
        LatencySummary::of(&all)
    }
}

/// Percentiles of a latency distribution, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LatencySummary {
    /// Requests measured.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// The slowest.
    pub max_ms: f64,
}

impl LatencySummary {
    fn of(h: &Histogram<u64>) -> LatencySummary {
        let ms = |us: u64| us as f64 / 1_000.0;
        if h.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

/// What became of requests, counted by kind of answer.
#[derive(Default)]
pub struct Counts {
    ok: AtomicU64,
    refused: AtomicU64,
    shed: AtomicU64,
    deadline: AtomicU64,
    aborted: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
}

/// The answer to one request, from either interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Applied, succeeded.
    Ok,
    /// Applied, refused by the lease's state (held, invalid).
    Refused,
    /// Shed for lack of room.
    Shed,
    /// Not batched before its deadline.
    Deadline,
    /// Its batch was abandoned.
    Aborted,
    /// Malformed (or refused by the HTTP layer with 4xx other than a lease conflict).
    Rejected,
    /// No answer: the client or the connection failed, or an HTTP 5xx.
    Failed,
}

impl Answer {
    /// The answer of a client outcome.
    pub fn of(outcome: &Outcome) -> Answer {
        match outcome {
            Outcome::Applied(Ok(_)) => Answer::Ok,
            Outcome::Applied(Err(_)) => Answer::Refused,
            Outcome::Shed => Answer::Shed,
            Outcome::DeadlineExceeded => Answer::Deadline,
            Outcome::Aborted => Answer::Aborted,
            Outcome::Rejected(_) => Answer::Rejected,
        }
    }
}

/// The counts, read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CountSummary {
    /// Applied and succeeded.
    pub ok: u64,
    /// Applied and refused (held, invalid).
    pub refused: u64,
    /// Shed.
    pub shed: u64,
    /// Deadline exceeded.
    pub deadline_exceeded: u64,
    /// Aborted.
    pub aborted: u64,
    /// Rejected.
    pub rejected: u64,
    /// No answer (client error, HTTP 5xx, connection failure).
    pub failed: u64,
}

impl CountSummary {
    /// Every request counted.
    pub fn total(&self) -> u64 {
        self.ok
            + self.refused
            + self.shed
            + self.deadline_exceeded
            + self.aborted
            + self.rejected
            + self.failed
    }
}

impl Counts {
    /// Counts one answer.
    pub fn add(&self, a: Answer) {
        let c = match a {
            Answer::Ok => &self.ok,
            Answer::Refused => &self.refused,
            Answer::Shed => &self.shed,
            Answer::Deadline => &self.deadline,
            Answer::Aborted => &self.aborted,
            Answer::Rejected => &self.rejected,
            Answer::Failed => &self.failed,
        };
        c.fetch_add(1, Relaxed);
    }

    /// The counts.
    pub fn summary(&self) -> CountSummary {
        CountSummary {
            ok: self.ok.load(Relaxed),
            refused: self.refused.load(Relaxed),
            shed: self.shed.load(Relaxed),
            deadline_exceeded: self.deadline.load(Relaxed),
            aborted: self.aborted.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            failed: self.failed.load(Relaxed),
        }
    }
}
