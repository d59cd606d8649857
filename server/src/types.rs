//! The Raft type configuration: what one log entry carries ([`BatchEntry`]), what
//! applying it answers ([`Response`]), and the node identities.

use serde::{Deserialize, Serialize};
use std::fmt;

openraft::declare_raft_types!(
    /// The Raft type configuration of the lease service: one log entry per engine
    /// batch, `u64` node ids, nodes addressed by [`openraft::BasicNode`].
    pub TypeConfig:
        D = BatchEntry,
        R = Response,
        NodeId = u64,
        Node = openraft::BasicNode,
        AsyncRuntime = openraft_rt_tokio::TokioRuntime,
);

/// A Raft node of the lease service, owning its [`StateMachine`](crate::StateMachine).
pub type Raft = openraft::Raft<TypeConfig, crate::StateMachine>;

/// One batch of the engine, as a Raft log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchEntry {
    /// The epoch of the leader's engine that formed the batch (lets a new leader tell
    /// its own batches from an earlier leader's).
    pub epoch: u64,
    /// The batch's bytes, as [`leasehold::Batch::encode`] writes them.
    pub batch: Vec<u8>,
}

impl BatchEntry {
    /// The fence a new leader commits first: an entry with an empty batch carrying its
    /// epoch. Once applied, batches of earlier epochs are ignored (a real batch is never
    /// empty: it holds at least its header).
    #[must_use]
    pub fn fence(epoch: u64) -> BatchEntry {
        BatchEntry {
            epoch,
            batch: Vec::new(),
        }
    }

    /// Whether this entry is a fence ([`BatchEntry::fence`]).
    #[must_use]
    pub fn is_fence(&self) -> bool {
        self.batch.is_empty()
    }
}

impl fmt::Display for BatchEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "batch of epoch {} ({} bytes)",
            self.epoch,
            self.batch.len()
        )
    }
}

/// The result of one operation of a batch: the fencing token it granted (if any), or
/// the lease error's message.
pub type OpResult = Result<Option<u64>, String>;

/// What applying one log entry answered, for the leader to route back to its callers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Response {
    /// The entry held no batch (a leader's blank entry or a membership change).
    #[default]
    Nothing,
    /// The batch was applied: one result per operation, in order.
    Applied(Vec<OpResult>),
    /// The batch's bytes did not decode; nothing was applied (every replica decides the
    /// same).
    Undecodable(String),
    /// A fence ([`BatchEntry::fence`]): the epoch fenced off everything before it (the
    /// highest fence so far, which may be a later one than this entry's).
    Fenced(u64),
    /// The batch's epoch is below the highest fence applied before it: ignored, nothing
    /// applied (every replica decides the same).
    Ignored,
}
