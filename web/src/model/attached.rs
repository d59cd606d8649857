//! A live cluster the dashboard is attached to: what its watch delivered, in order,
//! applied to the run's ledger; the cluster's members and the watch link
//! ([`Cluster`]); the queue by lane and the answer counts from the leader's metrics;
//! the charts' samples, one per wall-clock second.
//!
//! The hook that owns the sockets hands everything that arrives to
//! [`Attached::receive`] as an [`Inbound`]; nothing here does I/O, so a whole failover
//! (a watch lost, resumed from another node, a log compacted past the last index seen)
//! is tested natively.
//!
//! **No batch twice, none missed.** The watch is resumed from the index after the last
//! one applied; a node that replays from there sends every batch since, and one that
//! cannot (its log was compacted past it) starts with a snapshot instead: the ledger is
//! reloaded from the state that follows it and the indexes not seen are recorded as a
//! gap. A batch at or below the last index applied is a duplicate and is skipped. Every
//! batch is applied by the dashboard's own state machine and its results compared with
//! the cluster's: a difference is an invariant break.

use super::cluster::Cluster;
use super::ledger::{Ledger, OpAnswer};
use super::service::{Metrics, NodeStatus, WatchBatch, WatchStart};
use leasehold::{Batch, Lane, Snapshot};
use std::collections::VecDeque;

/// What a node that wants its token for reads answered, as the panel says it.
pub const UNAUTHORIZED_READS: &str = "HTTP 401: this cluster wants its token for reads too; \
    start its nodes with --open-reads to watch it from the dashboard";

/// How many batches' bytes a live cluster's ledger keeps (for the batch detail).
pub const LOG_KEPT: usize = 1_000;

/// How many wall-clock seconds of samples the charts keep.
pub const SAMPLES_KEPT: usize = 300;

/// Something that arrived from the cluster (or happened to a connection to it); every
/// variant names the node's base URL.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// The watch to the node opened.
    Opened(String),
    /// A text message of the watch (the snapshot message that starts it).
    Text(String, String),
    /// A binary message of the watch: the state after the snapshot message, then one
    /// per committed batch.
    Binary(String, Vec<u8>),
    /// The watch failed or closed, and why.
    Lost(String, String),
    /// The answer to a status request: its body, or why there was none.
    Status(String, Result<String, String>),
    /// The answer to a metrics request.
    Metrics(String, Result<String, String>),
}

/// Log indexes the dashboard did not see: the node it resumed from had compacted them
/// away, so it reloaded that node's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// The first index not seen.
    pub from: u64,
    /// The index of the state reloaded.
    pub to: u64,
}

/// What the watch delivered so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedCount {
    /// The log index of the last batch (or state) applied.
    pub last_index: Option<u64>,
    /// The index the ledger started from (its first state).
    pub first_index: Option<u64>,
    /// Batches applied since attaching.
    pub batches: u64,
    /// Batches received twice (skipped).
    pub duplicates: u64,
    /// Stretches of the log not seen.
    pub gaps: Vec<Gap>,
}

/// A batch whose results the dashboard's state machine and the cluster's disagree on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    /// The batch.
    pub batch: u64,
    /// What differed.
    pub what: String,
}

/// One wall-clock second of the cluster, for the charts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ClusterSample {
    /// The end of the second, seconds since attaching.
    pub t: f64,
    /// Operations committed.
    pub ops: f64,
    /// Batches committed.
    pub batches: f64,
    /// Requests the leader answered (from its metrics).
    pub answered: f64,
    /// Requests it shed.
    pub shed: f64,
    /// Median answer latency, ms (bucket bound).
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
}

/// The charts' samples and what the current second has gathered.
#[derive(Debug, Clone, Default)]
struct Samples {
    start_ms: Option<f64>,
    next_ms: f64,
    current: ClusterSample,
    kept: VecDeque<ClusterSample>,
}

impl Samples {
    fn tick(&mut self, wall_ms: f64) {
        let start = *self.start_ms.get_or_insert(wall_ms);
        if self.next_ms == 0.0 {
            self.next_ms = start + 1_000.0;
        }
        while wall_ms >= self.next_ms {
            let mut s = std::mem::take(&mut self.current);
            s.t = (self.next_ms - start) / 1_000.0;
            if self.kept.len() == SAMPLES_KEPT {
                self.kept.pop_front();
            }
            self.kept.push_back(s);
            self.next_ms += 1_000.0;
        }
    }
}

/// A live cluster and what it sent.
#[derive(Debug, Clone)]
pub struct Attached {
    cluster: Cluster,
    feed: FeedCount,
    /// A snapshot message's index, whose state is the next binary message.
    awaiting_state: Option<u64>,
    /// The leader's last metrics, and the node they came from.
    metrics: Option<(String, Metrics)>,
    samples: Samples,
    disagreements: u64,
    first_disagreement: Option<Disagreement>,
    /// The last thing that went wrong with what arrived, for the operator.
    problem: Option<String>,
}

impl Attached {
    /// Attached to the cluster at `url` (any member's base URL or `host:port`).
    #[must_use]
    pub fn new(url: &str) -> Attached {
        Attached {
            cluster: Cluster::new(url),
            feed: FeedCount::default(),
            awaiting_state: None,
            metrics: None,
            samples: Samples::default(),
            disagreements: 0,
            first_disagreement: None,
            problem: None,
        }
    }

    // ---- reads -------------------------------------------------------------------

    /// The cluster as known.
    #[must_use]
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// What the watch delivered.
    #[must_use]
    pub fn feed(&self) -> &FeedCount {
        &self.feed
    }

    /// The queue depth of each lane at the leader, in [`Lane::ALL`] order, and the
    /// answers by outcome, from its last metrics.
    #[must_use]
    pub fn metrics(&self) -> Option<&Metrics> {
        self.metrics.as_ref().map(|(_, m)| m)
    }

    /// The depth of `lane` at the leader.
    #[must_use]
    pub fn depth(&self, lane: Lane) -> u64 {
        self.metrics().map_or(0, |m| m.depths[lane.index()])
    }

    /// The charts' samples, oldest first.
    pub fn samples(&self) -> impl ExactSizeIterator<Item = &ClusterSample> {
        self.samples.kept.iter()
    }

    /// Results where the dashboard's state machine and the cluster's differed.
    #[must_use]
    pub fn disagreements(&self) -> u64 {
        self.disagreements
    }

    /// The first of them.
    #[must_use]
    pub fn first_disagreement(&self) -> Option<&Disagreement> {
        self.first_disagreement.as_ref()
    }

    /// The last thing that went wrong with what arrived.
    #[must_use]
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// The WebSocket URL the next watch opens, and how long to wait first (ms).
    pub fn next_watch(&mut self) -> (String, String, u64) {
        let (base, wait) = self.cluster.next_watch();
        let from = self.feed.last_index.map(|i| i + 1);
        (super::cluster::watch_url(&base, from), base, wait)
    }

    // ---- moving ------------------------------------------------------------------

    /// Takes what arrived; applies batches to `head` (replacing it when a state
    /// arrives). Returns a message for the operator when something is worth saying (a
    /// gap, a message that does not parse).
    pub fn receive(&mut self, inbound: Inbound, head: &mut Ledger) -> Option<String> {
        match inbound {
            Inbound::Opened(url) => {
                self.cluster.on_open(&url);
                None
            }
            Inbound::Lost(url, reason) => {
                self.awaiting_state = None;
                self.cluster.on_lost(&url, reason);
                None
            }
            Inbound::Status(url, body) => {
                // A node that does not answer is unreachable (the panel says so); one
                // whose answer does not parse is a problem.
                let status = body
                    .inspect_err(|e| {
                        if e.contains(UNAUTHORIZED_READS) {
                            self.problem = Some(e.clone());
                        }
                    })
                    .and_then(|b| {
                        NodeStatus::parse(&b)
                            .inspect_err(|e| self.problem = Some(format!("{url}: {e}")))
                    });
                self.cluster.on_status(&url, status);
                None
            }
            Inbound::Metrics(url, body) => {
                match body.and_then(|b| Metrics::parse(&b)) {
                    Ok(m) => self.on_metrics(url, m),
                    Err(e) => self.problem = Some(format!("{url}: {e}")),
                }
                None
            }
            Inbound::Text(url, text) => match WatchStart::parse(&text) {
                Ok(start) => self.on_start(&url, &start),
                Err(e) => self.trouble(format!("{url}: {e}")),
            },
            Inbound::Binary(url, bytes) => {
                if self.awaiting_state.is_some() {
                    self.on_state(&url, &bytes, head)
                } else {
                    match WatchBatch::parse(&bytes) {
                        Ok(batch) => self.on_batch(&url, batch, head),
                        Err(e) => self.trouble(format!("{url}: {e}")),
                    }
                }
            }
        }
    }

    /// The wall clock moved to `wall_ms`: closes the charts' seconds that ended.
    pub fn tick(&mut self, wall_ms: f64) {
        self.samples.tick(wall_ms);
    }

    /// The leader's metrics (the hook asks the leader): the counters' increase since the
    /// last metrics of the same node go to the current second; another node's start
    /// over.
    fn on_metrics(&mut self, url: String, m: Metrics) {
        if let Some((from, before)) = &self.metrics
            && *from == url
        {
            let c = &mut self.samples.current;
            c.answered += m.answered().saturating_sub(before.answered()) as f64;
            let shed = |m: &Metrics| m.answers.get("shed").copied().unwrap_or(0);
            c.shed += shed(&m).saturating_sub(shed(before)) as f64;
            if let Some(p) = m.latency_since(before, 0.5) {
                c.p50_ms = p;
            }
            if let Some(p) = m.latency_since(before, 0.99) {
                c.p99_ms = p;
            }
        }
        self.metrics = Some((url, m));
    }

    /// Something that arrived was wrong: kept for the panel, and said once.
    fn trouble(&mut self, e: String) -> Option<String> {
        self.problem = Some(e.clone());
        Some(e)
    }

    fn on_start(&mut self, url: &str, start: &WatchStart) -> Option<String> {
        if start.state {
            self.awaiting_state = Some(start.index);
            None
        } else {
            self.trouble(format!(
                "{url} started the watch without its state (an older leaseholdd?): the table \
                 cannot be built"
            ))
        }
    }

    fn on_batch(&mut self, url: &str, frame: WatchBatch, head: &mut Ledger) -> Option<String> {
        // Before any state there is nothing to apply it to (the watch sends one first).
        let last = self.feed.last_index?;
        if frame.index <= last {
            self.feed.duplicates += 1;
            return None;
        }
        let batch = match Batch::decode(&frame.batch) {
            Ok(b) => b,
            Err(e) => {
                return self.trouble(format!(
                    "{url}: the batch at index {} does not decode: {e}",
                    frame.index
                ));
            }
        };
        let seq = batch.seq;
        self.samples.current.ops += batch.ops.len() as f64;
        self.samples.current.batches += 1.0;
        head.apply(&batch, frame.batch);
        self.compare(seq, head.answers(seq).unwrap_or_default(), &frame.results);
        self.feed.last_index = Some(frame.index);
        self.feed.batches += 1;
        None
    }

    /// Compares the dashboard's results of batch `seq` with the cluster's.
    fn compare(&mut self, seq: u64, ours: &[OpAnswer], theirs: &[Result<Option<u64>, String>]) {
        let same = |o: &OpAnswer, t: &Result<Option<u64>, String>| match (o, t) {
            (Ok(ours), Ok(theirs)) => ours == theirs,
            (Err(_), Err(_)) => true,
            _ => false,
        };
        let differs =
            ours.len() != theirs.len() || ours.iter().zip(theirs).any(|(o, t)| !same(o, t));
        if differs {
            self.disagreements += 1;
            self.first_disagreement.get_or_insert(Disagreement {
                batch: seq,
                what: format!(
                    "batch {seq}: the dashboard's state machine and the cluster's disagree \
                     on its results"
                ),
            });
        }
    }

    fn on_state(&mut self, url: &str, bytes: &[u8], head: &mut Ledger) -> Option<String> {
        let Some(index) = self.awaiting_state.take() else {
            return self.trouble(format!("{url}: a state that no snapshot announced"));
        };
        let snapshot = match Snapshot::decode(bytes) {
            Ok(s) => s,
            Err(e) => {
                return self.trouble(format!(
                    "{url}: the state after index {index} does not decode: {e}"
                ));
            }
        };
        match self.feed.last_index {
            // A node behind the dashboard: its batches up to the last index are skipped.
            Some(last) if index <= last => None,
            Some(last) => {
                let gap = Gap {
                    from: last + 1,
                    to: index,
                };
                self.feed.gaps.push(gap);
                self.feed.last_index = Some(index);
                *head = Ledger::of_snapshot(snapshot, true).with_log_cap(LOG_KEPT);
                Some(format!(
                    "gap: the log from index {} to {} was compacted away on {url} before the \
                     dashboard saw it; the table was reloaded from that node's state",
                    gap.from, gap.to
                ))
            }
            None => {
                self.feed.first_index = Some(index);
                self.feed.last_index = Some(index);
                *head = Ledger::of_snapshot(snapshot, true).with_log_cap(LOG_KEPT);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leasehold::{Fsm, Key, Op, Time};
    use std::time::Duration;

    const N1: &str = "http://127.0.0.1:7401";
    const N2: &str = "http://127.0.0.1:7402";

    fn key(l: &str) -> Key {
        Key::new("app", "m", l)
    }

    /// A batch message as the service sends it, with the results its state machine gets.
    fn batch_bytes(fsm: &mut Fsm, index: u64, seq: u64, ops: Vec<Op>) -> Vec<u8> {
        let batch = Batch::new(seq, ops);
        let results: Vec<Result<Option<u64>, String>> = fsm
            .apply_batch(&batch)
            .into_iter()
            .map(|r| r.map(|a| a.token).map_err(|e| e.to_string()))
            .collect();
        frame(index, batch.encode().unwrap(), results)
    }

    fn frame(index: u64, batch: Vec<u8>, results: Vec<Result<Option<u64>, String>>) -> Vec<u8> {
        postcard::to_allocvec(&(index, 1u64, batch, results)).unwrap()
    }

    fn snapshot_text(index: u64) -> String {
        format!(
            r#"{{"kind":"snapshot","index":{index},"globalTimeMs":0,"leases":[],"state":true}}"#
        )
    }

    fn claim(l: &str, h: &str) -> Op {
        Op::claim(key(l), h, Duration::from_secs(60))
    }

    #[test]
    fn a_watch_builds_the_table_resumes_after_a_loss_and_skips_duplicates() {
        let mut cluster = Fsm::new();
        cluster.apply_batch(&Batch::new(1, vec![claim("a", "a/0")]));
        let mut a = Attached::new("127.0.0.1:7401");
        let mut head = Ledger::new([], true);
        let (url, base, wait) = a.next_watch();
        assert_eq!(
            (url.as_str(), base.as_str(), wait),
            ("ws://127.0.0.1:7401/v1/watch?state=true", N1, 0)
        );
        a.receive(Inbound::Opened(N1.into()), &mut head);
        a.receive(Inbound::Text(N1.into(), snapshot_text(5)), &mut head);
        a.receive(
            Inbound::Binary(N1.into(), cluster.snapshot().encode().unwrap()),
            &mut head,
        );
        assert_eq!(head.row(&key("a")).unwrap().holder.as_deref(), Some("a/0"));
        let text = batch_bytes(
            &mut cluster,
            6,
            2,
            vec![claim("b", "b/0"), claim("a", "a/1")],
        );
        assert_eq!(a.receive(Inbound::Binary(N1.into(), text), &mut head), None);
        assert_eq!((a.feed().batches, a.feed().last_index), (1, Some(6)));
        assert_eq!(head.row(&key("b")).unwrap().token, 2);
        // Node 1 dies; its status fails, node 2 answers with the members.
        let status = r#"{"id":2,"role":"leader","leader":2,"term":3,"members":[
            {"id":1,"addr":"127.0.0.1:7401","voter":true},{"id":2,"addr":"127.0.0.1:7402","voter":true}],
            "commitIndex":8,"appliedIndex":8,"globalTimeMs":0,"leases":2}"#;
        a.receive(Inbound::Status(N2.into(), Ok(status.into())), &mut head);
        a.receive(Inbound::Lost(N1.into(), "closed".into()), &mut head);
        let (url, _, wait) = a.next_watch();
        assert_eq!(url, "ws://127.0.0.1:7402/v1/watch?state=true&from=7");
        assert!(wait > 0);
        a.receive(Inbound::Opened(N2.into()), &mut head);
        // Node 2 replays from 7 (and, say, 6 again): the duplicate is skipped.
        let again = frame(6, Batch::new(2, vec![]).encode().unwrap(), vec![]);
        a.receive(Inbound::Binary(N2.into(), again), &mut head);
        let text = batch_bytes(&mut cluster, 8, 3, vec![claim("c", "c/0")]);
        a.receive(Inbound::Binary(N2.into(), text), &mut head);
        assert_eq!(a.feed().duplicates, 1);
        assert_eq!((a.feed().batches, a.feed().last_index), (2, Some(8)));
        assert!(a.feed().gaps.is_empty());
        assert_eq!(a.disagreements(), 0);
        assert_eq!(
            head.fsm().snapshot().encode().unwrap(),
            cluster.snapshot().encode().unwrap()
        );
        assert_eq!(a.cluster().link().name(), "open");
        assert_eq!(a.cluster().reconnects(), 1);
    }

    #[test]
    fn a_log_compacted_past_the_last_index_is_a_gap_and_the_state_is_reloaded() {
        let mut cluster = Fsm::new();
        let mut a = Attached::new(N1);
        let mut head = Ledger::new([], true);
        a.receive(Inbound::Text(N1.into(), snapshot_text(1)), &mut head);
        a.receive(
            Inbound::Binary(N1.into(), cluster.snapshot().encode().unwrap()),
            &mut head,
        );
        // Batches the dashboard never sees.
        cluster.apply_batch(&Batch::new(1, vec![claim("a", "a/0")]));
        cluster.apply_batch(&Batch::new(
            2,
            vec![Op::set_time(Time::ZERO, Time::from_millis(500))],
        ));
        a.receive(Inbound::Lost(N1.into(), "fell behind".into()), &mut head);
        a.receive(Inbound::Text(N1.into(), snapshot_text(40)), &mut head);
        let notice = a
            .receive(
                Inbound::Binary(N1.into(), cluster.snapshot().encode().unwrap()),
                &mut head,
            )
            .unwrap();
        assert!(
            notice.starts_with("gap: the log from index 2 to 40"),
            "{notice}"
        );
        assert_eq!(a.feed().gaps, [Gap { from: 2, to: 40 }]);
        assert_eq!(head.row(&key("a")).unwrap().holder.as_deref(), Some("a/0"));
        // A node behind the dashboard: its state is not taken, its old batches skipped.
        a.receive(Inbound::Text(N2.into(), snapshot_text(30)), &mut head);
        assert_eq!(
            a.receive(
                Inbound::Binary(N2.into(), Fsm::new().snapshot().encode().unwrap()),
                &mut head
            ),
            None
        );
        assert!(head.row(&key("a")).unwrap().holder.is_some());
        assert_eq!(a.feed().last_index, Some(40));
    }

    #[test]
    fn what_does_not_parse_is_named_and_a_disagreement_is_a_break() {
        let mut a = Attached::new(N1);
        let mut head = Ledger::new([], true);
        let e = a
            .receive(Inbound::Text(N1.into(), "{".into()), &mut head)
            .unwrap();
        assert!(e.contains("does not parse"), "{e}");
        let e = a
            .receive(Inbound::Binary(N1.into(), vec![0xff]), &mut head)
            .unwrap();
        assert!(e.contains("is not a batch"), "{e}");
        a.receive(Inbound::Text(N1.into(), snapshot_text(1)), &mut head);
        let e = a
            .receive(Inbound::Binary(N1.into(), vec![0xff; 3]), &mut head)
            .unwrap();
        assert!(e.contains("does not decode"), "{e}");
        a.receive(Inbound::Text(N1.into(), snapshot_text(1)), &mut head);
        a.receive(
            Inbound::Binary(N1.into(), Fsm::new().snapshot().encode().unwrap()),
            &mut head,
        );
        // The cluster says the claim failed; the dashboard's state machine grants it.
        let claim_a = Batch::new(1, vec![claim("a", "a/0")]).encode().unwrap();
        let lie = frame(2, claim_a, vec![Err("held".into())]);
        a.receive(Inbound::Binary(N1.into(), lie), &mut head);
        assert_eq!(a.disagreements(), 1);
        assert_eq!(a.first_disagreement().unwrap().batch, 1);
        let bad = a.receive(
            Inbound::Metrics(N1.into(), Ok("leasehold_batches_total x".into())),
            &mut head,
        );
        assert_eq!(bad, None);
        assert!(a.problem().unwrap().contains("leasehold_batches_total x"));
    }

    #[test]
    fn a_node_that_wants_its_token_for_reads_is_named_and_a_dead_one_is_not_a_problem() {
        let mut a = Attached::new(N1);
        let mut head = Ledger::new([], true);
        a.receive(
            Inbound::Status(N1.into(), Err(format!("{N1}: connection refused"))),
            &mut head,
        );
        assert_eq!(
            a.problem(),
            None,
            "a node that does not answer is just unreachable"
        );
        a.receive(
            Inbound::Status(N1.into(), Err(format!("{N1}: {UNAUTHORIZED_READS}"))),
            &mut head,
        );
        assert!(a.problem().unwrap().contains("--open-reads"));
    }

    #[test]
    fn charts_take_one_sample_per_second_from_batches_and_metrics() {
        let mut a = Attached::new(N1);
        let mut head = Ledger::new([], true);
        let mut cluster = Fsm::new();
        a.tick(0.0);
        a.receive(Inbound::Text(N1.into(), snapshot_text(1)), &mut head);
        a.receive(
            Inbound::Binary(N1.into(), cluster.snapshot().encode().unwrap()),
            &mut head,
        );
        let metrics = |ok: u64| {
            format!(
                "leasehold_queue_depth{{lane=\"claim\"}} 3\nleasehold_answers_total{{outcome=\"ok\"}} {ok}\n\
                 leasehold_answer_latency_seconds_bucket{{le=\"0.128\"}} {ok}\n\
                 leasehold_answer_latency_seconds_bucket{{le=\"+Inf\"}} {ok}\n"
            )
        };
        a.receive(Inbound::Metrics(N1.into(), Ok(metrics(10))), &mut head);
        assert_eq!(a.depth(Lane::Claim), 3);
        let text = batch_bytes(
            &mut cluster,
            2,
            1,
            vec![claim("a", "a/0"), claim("b", "b/0")],
        );
        a.receive(Inbound::Binary(N1.into(), text), &mut head);
        a.receive(Inbound::Metrics(N1.into(), Ok(metrics(25))), &mut head);
        a.tick(1_000.0);
        a.tick(2_500.0);
        let s: Vec<ClusterSample> = a.samples().copied().collect();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].t, s[0].ops, s[0].batches, s[0].answered),
            (1.0, 2.0, 1.0, 15.0)
        );
        assert_eq!(s[0].p99_ms, 128.0);
        assert_eq!((s[1].t, s[1].ops), (2.0, 0.0));
    }
}
