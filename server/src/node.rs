//! A node of the lease service: a [`Raft`] with its state machine and, while it leads, a
//! leader task running the core [`Engine`](leasehold::Engine) over the log
//! (the private `leader` module).
//!
//! A supervisor task watches the node's Raft metrics. When the node becomes leader of a
//! term it starts a leader task for that term's epoch ([`epoch_of`]); the task commits
//! the epoch's fence, starts an engine from the committed state and serves
//! [`Node::request`]. On a follower, [`Node::request`] says who leads (forwarding is later
//! work).

pub use crate::fence::epoch_of;
pub use crate::leader::RequestError;
use crate::leader::{self, Shared, Submit};
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
    sm: StateMachine,
    shared: Arc<Shared>,
    supervisor: JoinHandle<()>,
}

impl Node {
    /// Runs the service on `raft`, whose state machine is `sm` (the handle given to
    /// [`Raft::new`]); its leader tasks run engines with `config`. Call inside a tokio
    /// runtime.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when the engine's config is invalid or the node id does not fit in
    /// 16 bits (see [`epoch_of`]).
    pub fn new(raft: Raft, sm: StateMachine, config: leasehold::Config) -> io::Result<Node> {
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

    /// Submits `op` to this node's engine (when it leads) and waits for its one
    /// definitive answer.
    ///
    /// # Errors
    ///
    /// [`RequestError::NotLeader`] when this node does not serve requests (the request
    /// did not apply); [`RequestError::Stopped`] when the node stopped meanwhile.
    pub async fn request(&self, op: Op) -> Result<Outcome, RequestError> {
        let not_leader = || RequestError::NotLeader {
            leader: self.raft.metrics().borrow_watched().current_leader,
        };
        let Some(tx) = self.shared.sender() else {
            return Err(not_leader());
        };
        let (reply, answer) = oneshot::channel();
        if tx.send(Submit { op, reply }).is_err() {
            return Err(not_leader());
        }
        match answer.await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(RequestError::NotLeader { .. })) => Err(not_leader()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(RequestError::Stopped),
        }
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
