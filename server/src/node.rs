//! A node of the lease service: a [`Raft`] with its state machine and, while it leads, a
//! leader task running the core [`Engine`](leasehold::Engine) over the log
//! (the private `leader` module).
//!
//! A supervisor task watches the node's Raft metrics. When the node becomes leader of a
//! term it starts a leader task for that term's epoch ([`epoch_of`]); the task commits
//! the epoch's fence, starts an engine from the committed state and serves
//! [`Node::request`]. On a follower, [`Node::request`] says who leads (forwarding is later
//! work).

use crate::clock::Clock;
pub use crate::fence::epoch_of;
pub use crate::leader::RequestError;
use crate::leader::{self, Origin, Request, Shared, Submit};
use crate::log_store::LogStore;
use crate::metrics::Stats;
use crate::state_machine::StateMachine;
use crate::types::Raft;
use leasehold::{Op, Outcome};
use openraft::ServerState;
use openraft::async_runtime::WatchReceiver;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How often the supervisor looks at the Raft metrics.
const WATCH_INTERVAL: Duration = Duration::from_millis(10);

/// A node of the lease service. See the module documentation.
#[derive(Debug)]
pub struct Node {
    id: u64,
    raft: Raft,
    log: LogStore,
    sm: StateMachine,
    shared: Arc<Shared>,
    supervisor: JoinHandle<()>,
}

impl Node {
    /// Runs the service on `raft`, whose log and state machine are `log` and `sm` (the
    /// handles given to [`Raft::new`]); its leader tasks run engines with `config`. Call
    /// inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when the engine's config is invalid or the node id does not fit in
    /// 16 bits (see [`epoch_of`]).
    pub fn new(
        raft: Raft,
        log: LogStore,
        sm: StateMachine,
        config: leasehold::Config,
    ) -> io::Result<Node> {
        config
            .validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let metrics = raft.metrics().borrow_watched().clone();
        let id = metrics.id;
        let short = u16::try_from(id).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("node id {id} does not fit in 16 bits"),
            )
        })?;
        let shared = Arc::new(Shared::default());
        let supervisor = tokio::spawn(supervise(
            short,
            raft.clone(),
            sm.clone(),
            Arc::clone(&shared),
            config,
        ));
        Ok(Node {
            id,
            raft,
            log,
            sm,
            shared,
            supervisor,
        })
    }

    /// The node's id.
    #[must_use]
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The node's Raft handle.
    #[must_use]
    pub fn raft(&self) -> &Raft {
        &self.raft
    }

    /// The node's state machine.
    #[must_use]
    pub fn state_machine(&self) -> &StateMachine {
        &self.sm
    }

    /// The node's metrics.
    #[must_use]
    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    /// The node's time source, which its leader tasks give their engines (the
    /// fault-injection routes skew it).
    #[must_use]
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// The node's Raft log storage (the fault-injection routes fail it).
    #[must_use]
    pub fn log_store(&self) -> &LogStore {
        &self.log
    }

    /// The epoch of this node's serving leader task, if it serves requests.
    #[must_use]
    pub fn serving_epoch(&self) -> Option<u64> {
        self.shared.serving_epoch()
    }

    /// Submits `op` to this node's engine (when it leads) and waits for its one
    /// definitive answer.
    ///
    /// # Errors
    ///
    /// [`RequestError::NotLeader`] when this node does not serve requests (the request
    /// did not apply); [`RequestError::Stopped`] when the node stopped meanwhile.
    pub async fn request(&self, op: Op) -> Result<Outcome, RequestError> {
        self.request_named(op, None, None).await
    }

    /// [`Node::request`] for a request that names itself ([`Origin`]) and is meant for
    /// the leader task of `epoch`: its batch records the name, so [`Node::resolve`] can
    /// find it if the answer is lost. Refused (not submitted) when this node serves
    /// another epoch.
    ///
    /// # Errors
    ///
    /// As [`Node::request`].
    pub async fn request_named(
        &self,
        op: Op,
        origin: Option<Origin>,
        epoch: Option<u64>,
    ) -> Result<Outcome, RequestError> {
        if epoch.is_some() && self.shared.serving_epoch() != epoch {
            return Err(RequestError::NotLeader {
                leader: self.raft.metrics().borrow_watched().current_leader,
            });
        }
        let not_leader = || RequestError::NotLeader {
            leader: self.raft.metrics().borrow_watched().current_leader,
        };
        let Some((serving, tx)) = self.shared.serving() else {
            return Err(not_leader());
        };
        if epoch.is_some_and(|e| e != serving) {
            return Err(not_leader());
        }
        let (reply, answer) = oneshot::channel();
        if tx
            .send(Request::Submit(Submit { op, origin, reply }))
            .is_err()
        {
            return Err(not_leader());
        }
        match answer.await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(RequestError::NotLeader { .. })) => Err(not_leader()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(RequestError::Stopped),
        }
    }

    /// The definitive outcomes of named requests of `client` that were sent to the leader
    /// of `epoch` and whose answers were lost; `from` is a log index at or before the
    /// first batch that could hold them. Waits (up to `patience`) until every batch of
    /// that epoch is decided here: a later epoch's fence is applied, or this node leads
    /// `epoch` and has settled them. See [`crate::resolve`].
    ///
    /// # Errors
    ///
    /// [`RequestError::Unresolved`] when that did not happen in time, when the log was
    /// purged past `from`, or when their batch left the outcome table.
    pub async fn resolve(
        &self,
        client: u64,
        requests: &[u64],
        epoch: u64,
        from: u64,
        patience: Duration,
    ) -> Result<Vec<(u64, Outcome)>, RequestError> {
        let unresolved = |why: String| RequestError::Unresolved(why);
        // The planted bug `planted-early-resolve` (for the fault harness's checker) reads
        // the log at once, so a batch that commits a moment later is missed: its requests
        // are told `aborted`.
        if !cfg!(feature = "planted-early-resolve") {
            self.wait_decided(client, requests, epoch, patience).await?;
        }
        let applied = self
            .sm
            .last_applied()
            .map_err(|e| unresolved(e.to_string()))?
            .map_or(0, |l| l.index);
        let (first, entries) = self
            .log
            .held_entries(from, applied + 1)
            .await
            .map_err(|e| unresolved(e.to_string()))?;
        if first > from {
            return Err(unresolved(format!(
                "the log of node {} starts at index {first}, after {from}",
                self.id
            )));
        }
        let found = self
            .sm
            .read_fence(|table| crate::resolve::find(&entries, table, epoch, client, requests))
            .map_err(|e| unresolved(e.to_string()))?
            .map_err(unresolved)?;
        Ok(found.into_iter().collect())
    }

    /// Waits (up to `patience`) until every batch of `epoch` is decided here: a later
    /// epoch's fence is applied, or this node leads `epoch` and has settled `requests`.
    async fn wait_decided(
        &self,
        client: u64,
        requests: &[u64],
        epoch: u64,
        patience: Duration,
    ) -> Result<(), RequestError> {
        let unresolved = |why: String| RequestError::Unresolved(why);
        let give_up = tokio::time::Instant::now() + patience;
        loop {
            let fenced = self
                .sm
                .read_fence(|f| f.epoch())
                .map_err(|e| unresolved(e.to_string()))?;
            if fenced > epoch {
                break;
            }
            if let Some((serving, tx)) = self.shared.serving()
                && serving == epoch
            {
                let (reply, settled) = oneshot::channel();
                let origins = crate::resolve::origins(client, requests);
                if tx.send(Request::Settle(origins, reply)).is_ok()
                    && tokio::time::timeout_at(give_up, settled).await == Ok(Ok(()))
                {
                    break;
                }
            }
            if tokio::time::Instant::now() >= give_up {
                return Err(unresolved(format!(
                    "epoch {epoch} is not decided on node {} yet",
                    self.id
                )));
            }
            tokio::time::sleep(WATCH_INTERVAL).await;
        }
        Ok(())
    }

    /// Stops the leader tasks (their unanswered requests get [`RequestError::Stopped`])
    /// and the Raft node.
    ///
    /// # Errors
    ///
    /// When the Raft core's task failed to join.
    pub async fn shutdown(&self) -> io::Result<()> {
        self.shared.stop();
        self.supervisor.abort();
        self.raft.shutdown().await.map_err(io::Error::other)
    }
}

/// Starts a leader task whenever this node leads a term it has no serving task for.
async fn supervise(
    id: u16,
    raft: Raft,
    sm: StateMachine,
    shared: Arc<Shared>,
    config: leasehold::Config,
) {
    // The newest leader task: its epoch and handle (returning the next batch number).
    let mut current: Option<(u64, JoinHandle<u64>)> = None;
    let mut next_seq = (0, 1);
    while !shared.stopped() {
        let m = raft.metrics().borrow_watched().clone();
        if m.running_state.is_err() || m.state == ServerState::Shutdown {
            break;
        }
        if m.state == ServerState::Leader && m.current_leader == Some(u64::from(id)) {
            let epoch = epoch_of(m.current_term, id);
            let start = match &current {
                Some((e, task)) if *e == epoch => task.is_finished(),
                _ => true,
            };
            if start {
                if let Some((e, task)) = current.take()
                    && task.is_finished()
                    && let Ok(seq) = task.await
                {
                    next_seq = (e, seq);
                }
                let seq = if next_seq.0 == epoch { next_seq.1 } else { 1 };
                let task = leader::Task::new(
                    epoch,
                    raft.clone(),
                    sm.clone(),
                    Arc::clone(&shared),
                    config.clone(),
                );
                current = Some((epoch, tokio::spawn(task.run(seq))));
            }
        }
        tokio::time::sleep(WATCH_INTERVAL).await;
    }
}
