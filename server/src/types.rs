//! The Raft type configuration: what one log entry carries ([`BatchEntry`]), what
//! applying it answers ([`Response`]), and the node identities.

use leasehold::{FieldError, LeaseError, Time};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

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
    /// The batch's requests that named themselves ([`Tag`]), so that a caller who lost
    /// its connection can find them in the log.
    pub tags: Vec<Tag>,
}

/// A request that named itself by its client and number, as its batch records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// The client (a random number each connection of a client picks).
    pub client: u64,
    /// The request's number within its client.
    pub request: u64,
    /// The index of the batch operation that answers it ([`leasehold::Placement::op`]).
    pub op: u32,
    /// For a claim that rode along on another holder's claim: its own claimant
    /// ([`leasehold::Placement::rival`]).
    pub rival: Option<String>,
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
            tags: Vec::new(),
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
/// the lease error.
pub type OpResult = Result<Option<u64>, OpError>;

/// A [`LeaseError`] as the outcome table and the wire keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpError {
    /// [`LeaseError::Invalid`].
    Invalid,
    /// [`LeaseError::Held`], with the holder.
    Held(String),
    /// [`LeaseError::OutOfSync`]: the expected and actual log times in ms.
    OutOfSync(u64, u64),
    /// [`LeaseError::NotValid`]: the field and what is wrong with it.
    NotValid(String, String),
}

impl From<&LeaseError> for OpError {
    fn from(e: &LeaseError) -> OpError {
        match e {
            LeaseError::Invalid => OpError::Invalid,
            LeaseError::Held { holder } => OpError::Held(holder.to_string()),
            LeaseError::OutOfSync { expected, actual } => {
                OpError::OutOfSync(expected.as_millis(), actual.as_millis())
            }
            LeaseError::NotValid(f) => OpError::NotValid(f.field.into(), f.problem.into()),
            _ => OpError::NotValid("op".into(), e.to_string()),
        }
    }
}

impl OpError {
    /// The core error. A field error's names are `'static` in core; known field names
    /// map back to themselves, anything else to `op`.
    #[must_use]
    pub fn to_lease_error(&self) -> LeaseError {
        match self {
            OpError::Invalid => LeaseError::Invalid,
            OpError::Held(h) => LeaseError::Held {
                holder: Arc::from(h.as_str()),
            },
            OpError::OutOfSync(e, a) => LeaseError::OutOfSync {
                expected: Time::from_millis(*e),
                actual: Time::from_millis(*a),
            },
            OpError::NotValid(field, _) => {
                LeaseError::NotValid(FieldError::new(static_field(field), "is not valid"))
            }
        }
    }
}

/// A field name of an operation as a `'static` string (`op` for an unknown one).
pub(crate) fn static_field(name: &str) -> &'static str {
    const FIELDS: [&str; 10] = [
        "namespace",
        "model",
        "lease",
        "holder",
        "durationMs",
        "entity",
        "untilMs",
        "reason",
        "from",
        "to",
    ];
    FIELDS.into_iter().find(|f| *f == name).unwrap_or("op")
}

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
