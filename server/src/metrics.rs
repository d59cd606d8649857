//! The node's Prometheus metrics ([`Stats`]): queue depth by lane, batches and
//! operations per batch, answers by outcome (shed and deadline counts among them), the
//! answer latency, the Raft term and log indexes, and the fsyncs of the Raft log and
//! vote ([`crate::log_store::LOG_FSYNCS`]).

use crate::types::TypeConfig;
use leasehold::Lane;
use openraft::RaftMetrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::fmt;
use std::time::Duration;

/// A lane, as a label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LaneLabel {
    lane: String,
}

/// An answer's outcome (`ok`, `held`, `shed`, ...), as a label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: String,
}

/// The metrics of one node. Cheap to update from the leader task; rendered on scrape.
pub struct Stats {
    registry: Registry,
    queue_depth: Family<LaneLabel, Gauge>,
    batches: Counter,
    ops_per_batch: Histogram,
    answers: Family<OutcomeLabel, Counter>,
    latency: Histogram,
    term: Gauge,
    commit_index: Gauge,
    applied_index: Gauge,
    last_log_index: Gauge,
    is_leader: Gauge,
}

impl fmt::Debug for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stats").finish_non_exhaustive()
    }
}

impl Default for Stats {
    fn default() -> Stats {
        let mut registry = Registry::with_prefix("leasehold");
        let stats = Stats {
            queue_depth: Family::default(),
            batches: Counter::default(),
            ops_per_batch: Histogram::new(exponential_buckets(1.0, 4.0, 10)),
            answers: Family::default(),
            latency: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            term: Gauge::default(),
            commit_index: Gauge::default(),
            applied_index: Gauge::default(),
            last_log_index: Gauge::default(),
            is_leader: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "queue_depth",
            "Requests waiting in the leader's engine, by lane",
            stats.queue_depth.clone(),
        );
        registry.register(
            "batches",
            "Batches proposed to the log",
            stats.batches.clone(),
        );
        registry.register(
            "ops_per_batch",
            "Operations per proposed batch (including its set_time)",
            stats.ops_per_batch.clone(),
        );
        registry.register(
            "answers",
            "Requests answered by this node's engine, by outcome (shed and deadline-exceeded among them)",
            stats.answers.clone(),
        );
        registry.register(
            "answer_latency_seconds",
            "From a request reaching the leader's engine to its answer",
            stats.latency.clone(),
        );
        registry.register(
            "log_fsyncs",
            "fsyncs of the Raft log and vote",
            crate::log_store::LOG_FSYNCS.clone(),
        );
        registry.register("raft_term", "The node's Raft term", stats.term.clone());
        registry.register(
            "raft_commit_index",
            "The highest log index known committed",
            stats.commit_index.clone(),
        );
        registry.register(
            "raft_applied_index",
            "The highest log index applied to the state machine",
            stats.applied_index.clone(),
        );
        registry.register(
            "raft_last_log_index",
            "The highest log index stored",
            stats.last_log_index.clone(),
        );
        registry.register(
            "raft_is_leader",
            "1 while this node leads",
            stats.is_leader.clone(),
        );
        Stats { registry, ..stats }
    }
}

fn gauge(v: Option<u64>) -> i64 {
    v.map_or(0, |v| i64::try_from(v).unwrap_or(i64::MAX))
}

impl Stats {
    /// The engine's queue depths.
    pub(crate) fn set_depths(&self, depth: impl Fn(Lane) -> usize) {
        for lane in Lane::ALL {
            let label = LaneLabel {
                lane: lane.name().to_owned(),
            };
            let d = i64::try_from(depth(lane)).unwrap_or(i64::MAX);
            self.queue_depth.get_or_create(&label).set(d);
        }
    }

    /// One batch of `ops` operations was proposed.
    pub(crate) fn batch(&self, ops: usize) {
        self.batches.inc();
        self.ops_per_batch.observe(ops as f64);
    }

    /// One request was answered `outcome` after `waited`.
    pub(crate) fn answer(&self, outcome: &'static str, waited: Duration) {
        let label = OutcomeLabel {
            outcome: outcome.to_owned(),
        };
        self.answers.get_or_create(&label).inc();
        self.latency.observe(waited.as_secs_f64());
    }

    /// The Prometheus text of every metric, the Raft ones read from `raft` now.
    #[must_use]
    pub fn render(&self, raft: &RaftMetrics<TypeConfig>) -> String {
        self.term.set(gauge(Some(raft.current_term)));
        self.commit_index
            .set(gauge(raft.local_committed.map(|l| l.index)));
        self.applied_index
            .set(gauge(raft.last_applied.map(|l| l.index)));
        self.last_log_index.set(gauge(raft.last_log_index));
        self.is_leader
            .set(i64::from(raft.current_leader == Some(raft.id)));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
