//! The leader task: the core [`Engine`] in replicated mode over the Raft log, for one
//! epoch of one node.
//!
//! 1. **Fence.** It commits [`BatchEntry::fence`] for its epoch (retrying while the
//!    just-elected leader's lease is not yet established), then starts an engine from
//!    the state machine's committed state (`Engine::with_state`): the log time goes on
//!    from the committed global time, so leases never lose time.
//! 2. **Serve.** Requests go to the engine; after every input it drains
//!    [`Engine::poll_output`] until [`Output::Timeout`]. Each [`Output::Append`] is
//!    proposed in order with the leader's committed id (a write under another leader is
//!    refused, never appended), several in flight as the engine's `max_in_flight`
//!    allows. Applied → `handle_committed`; refused before proposing, ignored or
//!    undecodable → `handle_abandoned`; discarded or unanswered → fate unknown.
//! 3. **Deposed.** Once leadership is lost (the metrics show another term or state, or
//!    a write is refused or its fate unknown) it stops taking requests; requests still
//!    in its channel are told [`RequestError::NotLeader`], batches the engine still cuts
//!    are abandoned at once (never proposed). Batches of unknown fate wait until a fence
//!    of a later epoch is applied locally: by then every batch of this epoch is decided,
//!    and the outcome table says which applied (`handle_committed`) and which did not
//!    (`handle_abandoned`). When nothing is in flight, queued requests are shed and the
//!    task ends.

use crate::clock::Clock;
use crate::fence::BatchOutcome;
use crate::metrics::Stats;
use crate::state_machine::StateMachine;
use crate::types::{BatchEntry, Raft, Response, Tag, TypeConfig};
use leasehold::limits::MAX_BATCH_BYTES;
use leasehold::{Append, Engine, Op, Outcome, Output, Ticket, Time};
use openraft::ServerState;
use openraft::async_runtime::WatchReceiver;
use openraft::errors::{ClientWriteError, ForwardReason};
use openraft::impls::ProgressResponder;
use openraft::raft::ClientWriteResult;
use openraft::type_config::alias::CommittedLeaderIdOf;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// The longest the task sleeps before looking at leadership and the fence again.
const POLL: Duration = Duration::from_millis(10);

/// A request that names itself: its client and its number there. Its batch records it
/// ([`Tag`]), so its fate can be read from the log if its answer is lost.
pub type Origin = (u64, u64);

/// What the leader task is asked.
#[derive(Debug)]
pub(crate) enum Request {
    /// Submit an operation.
    Submit(Submit),
    /// Tell (by answering) once none of these requests is waiting or in flight here any
    /// more: each is then answered, and in the log or never to be.
    Settle(Vec<Origin>, oneshot::Sender<()>),
}

/// A request for the leader's engine.
#[derive(Debug)]
pub(crate) struct Submit {
    /// The operation.
    pub(crate) op: Op,
    /// The request's name, if it has one.
    pub(crate) origin: Option<Origin>,
    /// Where its answer goes.
    pub(crate) reply: oneshot::Sender<Result<Outcome, RequestError>>,
}

/// A request in the engine, waiting for its answer.
struct Waiting {
    reply: oneshot::Sender<Result<Outcome, RequestError>>,
    origin: Option<Origin>,
    since: Instant,
}

/// What became of one proposed batch, as far as its write tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Written {
    /// Committed and applied.
    Applied,
    /// Committed but not applied (ignored under a fence, or undecodable).
    NotApplied,
    /// Refused before it was appended.
    NotProposed,
    /// Appended, then discarded or left unanswered: it may or may not commit.
    Unknown,
}

fn classify(result: Result<ClientWriteResult<TypeConfig>, impl Sized>) -> Written {
    match result {
        Ok(Ok(written)) => match written.data {
            Response::Applied(_) => Written::Applied,
            _ => Written::NotApplied,
        },
        Ok(Err(ClientWriteError::ForwardToLeader(_))) => Written::NotProposed,
        Ok(Err(_)) | Err(_) => Written::Unknown,
    }
}

/// One leader task.
pub(crate) struct Task {
    epoch: u64,
    raft: Raft,
    sm: StateMachine,
    shared: Arc<Shared>,
    config: leasehold::Config,
}

/// The serving state of a task.
struct Serving {
    engine: Engine,
    leader_id: CommittedLeaderIdOf<TypeConfig>,
    tickets: HashMap<Ticket, Waiting>,
    /// The named requests in the engine, by name.
    origins: HashMap<Origin, Ticket>,
    /// Callers waiting for named requests to settle.
    settles: Vec<(Vec<Origin>, oneshot::Sender<()>)>,
    /// Batches proposed whose write has not told their fate.
    in_flight: BTreeSet<u64>,
    done_tx: mpsc::UnboundedSender<(u64, Written)>,
    deposed: bool,
}

impl Task {
    pub(crate) fn new(
        epoch: u64,
        raft: Raft,
        sm: StateMachine,
        shared: Arc<Shared>,
        config: leasehold::Config,
    ) -> Task {
        Task {
            epoch,
            raft,
            sm,
            shared,
            config,
        }
    }

    /// The node's clock ([`crate::clock::Clock`]), which the fault-injection routes may
    /// skew either way: the engine ignores a time earlier than one it was given, so a
    /// backward jump only holds its time still.
    fn now(&self) -> Time {
        self.shared.clock.now()
    }

    /// Whether this node still leads with this task's epoch.
    fn leads(&self) -> bool {
        let m = self.raft.metrics().borrow_watched().clone();
        m.running_state.is_ok()
            && m.state == ServerState::Leader
            && m.current_leader == Some(m.id)
            && crate::fence::epoch_of(m.current_term, u16::try_from(m.id).unwrap_or(u16::MAX))
                == self.epoch
    }

    /// Runs the task; returns the number of the next batch it would have cut.
    pub(crate) async fn run(self, next_seq: u64) -> u64 {
        let Some(leader_id) = self.fence().await else {
            return next_seq;
        };
        let Ok((fsm, fenced)) = self.sm.fsm_and_epoch() else {
            return next_seq;
        };
        if fenced != self.epoch {
            return next_seq;
        }
        // Leading this epoch again (after a restart): number after its batches in the log.
        let seen = self
            .sm
            .read_fence(|f| f.highest_seq(self.epoch))
            .ok()
            .flatten();
        let next_seq = next_seq.max(seen.map_or(1, |s| s + 1));
        // The service's log is read without its state (a request's fate after a lost
        // connection, the fault checker, the segment files a dashboard opens), so its
        // batches name every lease rather than refer to places in the state.
        let config = leasehold::Config {
            refer_to_state: false,
            ..self.config.clone()
        };
        let Ok(engine) = Engine::with_state(config, fsm, next_seq, self.now()) else {
            return next_seq;
        };
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let mut serving = Serving {
            engine,
            leader_id,
            tickets: HashMap::new(),
            origins: HashMap::new(),
            settles: Vec::new(),
            in_flight: BTreeSet::new(),
            done_tx,
            deposed: false,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        self.shared.serve(self.epoch, tx);
        self.serve(&mut serving, rx, done_rx).await;
        self.shared.unserve(self.epoch);
        serving.engine.next_seq()
    }

    /// Commits this epoch's fence; the leader id to write under, or `None` when the node
    /// no longer leads this epoch.
    async fn fence(&self) -> Option<CommittedLeaderIdOf<TypeConfig>> {
        let leader_id = self.raft.as_leader().ok()?.to_committed_leader_id();
        loop {
            if self.shared.stopped() || !self.leads() {
                return None;
            }
            let (responder, rx) = ProgressResponder::complete_only();
            self.raft
                .write(BatchEntry::fence(self.epoch))
                .with_leader(leader_id)
                .responder(responder)
                .await
                .ok()?;
            match rx.await {
                Ok(Ok(_)) => return Some(leader_id),
                Ok(Err(ClientWriteError::ForwardToLeader(f)))
                    if f.reason == ForwardReason::LeaseExpired =>
                {
                    tokio::time::sleep(POLL).await;
                }
                _ => return None,
            }
        }
    }

    async fn serve(
        &self,
        s: &mut Serving,
        mut rx: mpsc::UnboundedReceiver<Request>,
        mut done_rx: mpsc::UnboundedReceiver<(u64, Written)>,
    ) {
        let mut wake = self.drain(s).await;
        loop {
            // The clock may be skewed (even backwards): sleep by how far ahead of it the
            // wake-up is, at most `POLL`.
            let sleep = Instant::now() + wake.saturating_since(self.now()).min(POLL);
            tokio::select! {
                request = rx.recv(), if !s.deposed => match request {
                    Some(Request::Submit(Submit { op, origin, reply })) => {
                        let ticket = s.engine.handle_request(self.now(), op);
                        if let Some(origin) = origin {
                            s.origins.insert(origin, ticket);
                        }
                        let since = Instant::now();
                        s.tickets.insert(ticket, Waiting { reply, origin, since });
                    }
                    Some(Request::Settle(origins, reply)) => s.settles.push((origins, reply)),
                    None => {}
                },
                Some((seq, written)) = done_rx.recv() => self.settle(s, seq, written),
                () = tokio::time::sleep_until(sleep.into()) => s.engine.handle_timeout(self.now()),
            }
            if self.shared.stopped() {
                // Unanswered requests learn that their fate is unknown.
                for (_, waiting) in s.tickets.drain() {
                    let _ = waiting.reply.send(Err(RequestError::Stopped));
                }
                return;
            }
            if !s.deposed && !self.leads() {
                s.deposed = true;
            }
            if s.deposed {
                self.shared.unserve(self.epoch);
                rx.close();
                while let Ok(request) = rx.try_recv() {
                    match request {
                        Request::Submit(Submit { reply, .. }) => {
                            let _ = reply.send(Err(RequestError::NotLeader { leader: None }));
                        }
                        // Answered below, once its requests settle.
                        Request::Settle(origins, reply) => s.settles.push((origins, reply)),
                    }
                }
                self.resolve_from_table(s);
            }
            wake = self.drain(s).await;
            answer_settles(s);
            if s.deposed && s.in_flight.is_empty() && s.engine.in_flight() == 0 {
                s.engine.shutdown(self.now());
                self.drain(s).await;
                answer_settles(s);
                return;
            }
        }
    }

    /// Drains the engine's outputs: answers go to their callers, batches are proposed
    /// (or abandoned once deposed). Returns when the engine wants its next timeout.
    async fn drain(&self, s: &mut Serving) -> Time {
        loop {
            let mut appends = Vec::new();
            let wake = loop {
                match s.engine.poll_output() {
                    Output::Append(append) => appends.push(append),
                    Output::Answer(answer) => {
                        let waiting = s.tickets.remove(&answer.ticket);
                        debug_assert!(waiting.is_some(), "{:?} answered twice", answer.ticket);
                        if let Some(w) = waiting {
                            self.shared
                                .stats
                                .answer(answer.outcome.name(), w.since.elapsed());
                            if let Some(origin) = w.origin {
                                s.origins.remove(&origin);
                            }
                            let _ = w.reply.send(Ok(answer.outcome));
                        }
                    }
                    Output::Event(_) | Output::Settled(_) => {}
                    Output::Timeout(at) => break at,
                }
            };
            self.shared
                .stats
                .set_depths(|lane| s.engine.queue_depth(lane));
            if appends.is_empty() {
                return wake;
            }
            for append in appends {
                self.propose(s, append).await;
            }
        }
    }

    /// Proposes one batch under this task's leader id, or abandons it once deposed.
    async fn propose(&self, s: &mut Serving, append: Append) {
        if s.deposed {
            let _ = s.engine.handle_abandoned(self.now(), append.seq);
            return;
        }
        let tags = if s.origins.is_empty() {
            Vec::new()
        } else {
            tags(s, append.seq)
        };
        if entry_bound(&append.bytes, &tags) > MAX_BATCH_BYTES {
            // The log would refuse the record, and a storage error stops the node: the
            // batch is never proposed, so its requests are answered `aborted`.
            let _ = s.engine.handle_abandoned(self.now(), append.seq);
            return;
        }
        let (responder, rx) = ProgressResponder::complete_only();
        self.shared.stats.batch(append.ops);
        let entry = BatchEntry {
            epoch: self.epoch,
            batch: append.bytes,
            tags,
        };
        let submitted = self
            .raft
            .write(entry)
            .with_leader(s.leader_id)
            .responder(responder)
            .await;
        s.in_flight.insert(append.seq);
        if submitted.is_err() {
            // The Raft core stopped: whether it took the entry is unknown.
            s.deposed = true;
            return;
        }
        let done = s.done_tx.clone();
        let seq = append.seq;
        tokio::spawn(async move {
            let _ = done.send((seq, classify(rx.await)));
        });
    }

    /// Settles batch `seq` as its write tells.
    fn settle(&self, s: &mut Serving, seq: u64, written: Written) {
        let now = self.now();
        match written {
            Written::Applied => {
                s.in_flight.remove(&seq);
                let _ = s.engine.handle_committed(now, seq);
            }
            Written::NotApplied | Written::NotProposed => {
                s.in_flight.remove(&seq);
                let _ = s.engine.handle_abandoned(now, seq);
                s.deposed |= written == Written::NotProposed;
            }
            // Stays in flight until the table decides it.
            Written::Unknown => s.deposed = true,
        }
    }

    /// Once a later epoch's fence is applied here, settles every batch still in flight
    /// from the outcome table.
    fn resolve_from_table(&self, s: &mut Serving) {
        if s.in_flight.is_empty() {
            return;
        }
        let Ok(decided) = self.sm.read_fence(|fence| {
            (fence.epoch() > self.epoch).then(|| {
                s.in_flight
                    .iter()
                    .map(|seq| {
                        let applied = matches!(
                            fence.outcome(self.epoch, *seq),
                            Some(BatchOutcome::Applied(_))
                        );
                        (*seq, applied)
                    })
                    .collect::<Vec<_>>()
            })
        }) else {
            return;
        };
        let now = self.now();
        for (seq, applied) in decided.into_iter().flatten() {
            s.in_flight.remove(&seq);
            let _ = if applied {
                s.engine.handle_committed(now, seq)
            } else {
                s.engine.handle_abandoned(now, seq)
            };
        }
    }
}

/// What a Raft entry's record holds beyond its batch and tags, at most: the log id,
/// the payload's kind, the epoch and the lengths.
const ENTRY_OVERHEAD: usize = 64;

/// An upper bound of the encoded size of a tag without its rival's name: three varints
/// of at most 10, 10 and 5 bytes, the option and the name's length.
const TAG_BOUND: usize = 31;

/// An upper bound of the size of the log record of an entry with `batch` and `tags`.
fn entry_bound(batch: &[u8], tags: &[Tag]) -> usize {
    let tags: usize = tags
        .iter()
        .map(|t| TAG_BOUND + t.rival.as_ref().map_or(0, String::len))
        .sum();
    batch.len() + tags + ENTRY_OVERHEAD
}

/// Answers the callers whose named requests have all settled.
fn answer_settles(s: &mut Serving) {
    let mut i = 0;
    while i < s.settles.len() {
        if s.settles[i].0.iter().any(|o| s.origins.contains_key(o)) {
            i += 1;
        } else {
            let (_, reply) = s.settles.swap_remove(i);
            let _ = reply.send(());
        }
    }
}

/// The tags of batch `seq`'s named requests.
fn tags(s: &Serving, seq: u64) -> Vec<Tag> {
    let placements = s.engine.placements(seq).unwrap_or_default();
    placements
        .into_iter()
        .filter_map(|p| {
            let (client, request) = s.tickets.get(&p.ticket)?.origin?;
            Some(Tag {
                client,
                request,
                op: p.op,
                rival: p.rival.map(|r| r.to_string()),
            })
        })
        .collect()
}

/// Why a request got no [`Outcome`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// This node does not lead, or its leader task is not serving (yet, or any more):
    /// the request was not submitted, so it did not apply. `leader` is the leader this
    /// node knows of (possibly itself, while its leader task starts: retry shortly).
    NotLeader {
        /// The leader this node knows of.
        leader: Option<u64>,
    },
    /// The node stopped while the request was submitted: its fate is unknown here. A
    /// named request's fate can be found with [`crate::Node::resolve`].
    Stopped,
    /// The fate of named requests could not be found (yet): why.
    Unresolved(String),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::NotLeader { leader: Some(l) } => {
                write!(f, "this node does not serve requests; node {l} leads")
            }
            RequestError::NotLeader { leader: None } => {
                write!(f, "this node does not serve requests; no leader is known")
            }
            RequestError::Stopped => write!(f, "the node stopped; the request's fate is unknown"),
            RequestError::Unresolved(why) => write!(f, "cannot tell the request's fate: {why}"),
        }
    }
}

impl std::error::Error for RequestError {}

/// What the node's tasks share.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// The serving leader task: its epoch and request queue.
    slot: Mutex<Option<(u64, mpsc::UnboundedSender<Request>)>>,
    /// Set when the node shuts down.
    stopped: AtomicBool,
    /// The node's metrics.
    pub(crate) stats: Stats,
    /// The node's time source.
    pub(crate) clock: Clock,
}

impl Shared {
    fn with_slot<T>(
        &self,
        f: impl FnOnce(&mut Option<(u64, mpsc::UnboundedSender<Request>)>) -> T,
    ) -> T {
        let mut slot = self
            .slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut slot)
    }

    /// The leader task of `epoch` serves requests from `tx`.
    pub(crate) fn serve(&self, epoch: u64, tx: mpsc::UnboundedSender<Request>) {
        self.with_slot(|s| *s = Some((epoch, tx)));
    }

    /// The leader task of `epoch` stops serving (if it still is the one serving).
    pub(crate) fn unserve(&self, epoch: u64) {
        self.with_slot(|s| {
            if s.as_ref().is_some_and(|(e, _)| *e == epoch) {
                *s = None;
            }
        });
    }

    /// The serving leader task's epoch and where its requests go, read together.
    pub(crate) fn serving(&self) -> Option<(u64, mpsc::UnboundedSender<Request>)> {
        self.with_slot(|s| s.clone())
    }

    /// The epoch of the serving leader task, if one serves.
    pub(crate) fn serving_epoch(&self) -> Option<u64> {
        self.with_slot(|s| s.as_ref().map(|(e, _)| *e))
    }

    /// The node shuts down: leader tasks stop serving.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
    }

    /// Whether the node shuts down.
    pub(crate) fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::TypeConfig;
    use openraft::EntryPayload;
    use openraft::entry::RaftEntry;
    use openraft::type_config::alias::EntryOf;

    #[test]
    fn the_entry_bound_is_never_below_the_record() {
        let tag = |request: u64, rival: Option<&str>| Tag {
            client: u64::MAX,
            request,
            op: u32::MAX,
            rival: rival.map(str::to_owned),
        };
        for (batch, tags) in [
            (vec![7; 10], vec![]),
            (vec![7; 100_000], vec![tag(u64::MAX, None); 50]),
            (
                vec![7; 3],
                vec![tag(1, Some(&"r".repeat(256))), tag(u64::MAX, Some(""))],
            ),
        ] {
            let bound = entry_bound(&batch, &tags);
            let entry = EntryOf::<TypeConfig>::new(
                openraft::testing::log_id::<TypeConfig>(u64::MAX, u64::MAX, u64::MAX),
                EntryPayload::Normal(BatchEntry {
                    epoch: u64::MAX,
                    batch,
                    tags,
                }),
            );
            let record = postcard::to_allocvec(&entry).unwrap();
            assert!(record.len() <= bound, "{} > {bound}", record.len());
        }
    }
}
