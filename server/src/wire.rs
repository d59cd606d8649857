//! What the service's interfaces carry: the shapes of leases and status (one serde form,
//! camelCase in JSON, the same fields in postcard) and the frames of the binary stream.
//!
//! **The binary stream** (`GET /v1/stream`, a WebSocket of binary messages, each one
//! postcard-encoded frame):
//!
//! 1. The client's first frame is [`ClientFrame::Hello`] with a random client number;
//!    the node answers [`ServerFrame::Hello`]: its id, the epoch it serves as leader (or
//!    none, with the leader it knows of), its applied log index and the members.
//! 2. [`ClientFrame::Ops`] carries many requests at once: their operations as one
//!    [`leasehold::Batch`] encoding (the log's own compact form), numbered `first`,
//!    `first + 1`, ... Each is answered once, in an [`ServerFrame::Answers`] frame, in any
//!    order, with the node's applied index at the time. Requests name themselves (the
//!    client and the number), so their batch records them.
//! 3. If the connection is lost with requests unanswered, the client asks any node
//!    [`ClientFrame::Resolve`] for them, with the epoch they were sent to and a log index
//!    at or before their batch (the applied index of the last frame it had received when
//!    it sent them): the answer ([`ServerFrame::Resolved`]) is each one's definitive
//!    outcome, or why it cannot be told yet.
//! 4. [`ClientFrame::Leases`] and [`ClientFrame::Status`] read, answered by id.

use crate::types::OpResult;
use leasehold::{FieldError, LeaseInfo, Outcome};
use serde::{Deserialize, Serialize};

/// The largest message the stream takes or sends: a frame of operations is at most one
/// encoded batch ([`leasehold::limits::MAX_BATCH_BYTES`]).
pub const MAX_FRAME_BYTES: usize = leasehold::limits::MAX_BATCH_BYTES + 4096;

/// One lease, as the HTTP API, the watch and the stream give it. `expiresMs` is in log
/// time (compare with `globalTimeMs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// The lease's namespace.
    pub namespace: String,
    /// Its model.
    pub model: String,
    /// Its name.
    pub lease: String,
    /// Who holds it.
    pub holder: String,
    /// The holder's fencing token.
    pub token: u64,
    /// When it expires, in log time (ms).
    pub expires_ms: u64,
    /// The entities pinning it.
    pub pinned_by: Vec<String>,
}

impl From<&LeaseInfo> for Lease {
    fn from(l: &LeaseInfo) -> Lease {
        Lease {
            namespace: l.key.namespace.to_string(),
            model: l.key.model.to_string(),
            lease: l.key.lease.to_string(),
            holder: l.holder.to_string(),
            token: l.token,
            expires_ms: l.expiry.as_millis(),
            pinned_by: l.pinned_by.clone(),
        }
    }
}

/// The leases (`GET /v1/leases`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Leases {
    /// The log time of the read (ms).
    pub global_time_ms: u64,
    /// The leases.
    pub leases: Vec<Lease>,
}

/// A member of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// Its node id.
    pub id: u64,
    /// Its address (`host:port`).
    pub addr: String,
    /// Whether it votes (a learner does not).
    pub voter: bool,
}

/// A node's view of itself and the cluster (`GET /v1/status`), answered locally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The node's id.
    pub id: u64,
    /// `leader`, `follower`, `candidate` or `learner`.
    pub role: String,
    /// The leader's id, if one is known.
    pub leader: Option<u64>,
    /// The node's Raft term.
    pub term: u64,
    /// The members.
    pub members: Vec<Member>,
    /// The highest log index the node knows committed.
    pub commit_index: u64,
    /// The highest log index it applied.
    pub applied_index: u64,
    /// Its log time (ms).
    pub global_time_ms: u64,
    /// How many leases are held.
    pub leases: u64,
}

/// A committed batch as a watch with `state=true` sends it (the form of a reader that
/// keeps its own replica, like the dashboard): one binary WebSocket message, this
/// struct postcard-encoded. Its fields in order read as plain values
/// `(u64, u64, Vec<u8>, Vec<Result<Option<u64>, String>>)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchBatch {
    /// The batch's Raft log index.
    pub index: u64,
    /// The epoch of the leader that cut it.
    pub epoch: u64,
    /// The batch, as [`leasehold::Batch::encode`] writes it (the log's own form).
    pub batch: Vec<u8>,
    /// Each operation's result: the lease's token (`None` for operations without one),
    /// or why it did not apply.
    pub results: Vec<Result<Option<u64>, String>>,
}

/// What became of one request, as the stream carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireOutcome {
    /// [`Outcome::Applied`]: the operation's result.
    Applied(OpResult),
    /// [`Outcome::Shed`].
    Shed,
    /// [`Outcome::DeadlineExceeded`].
    DeadlineExceeded,
    /// [`Outcome::Aborted`].
    Aborted,
    /// [`Outcome::Rejected`]: the field and what is wrong with it.
    Rejected(String, String),
    /// The node does not serve requests (not applied): the leader it knows of.
    NotLeader(Option<u64>),
}

impl From<&Outcome> for WireOutcome {
    fn from(o: &Outcome) -> WireOutcome {
        match o {
            Outcome::Applied(r) => WireOutcome::Applied(r.clone().map_err(|e| (&e).into())),
            Outcome::Shed => WireOutcome::Shed,
            Outcome::DeadlineExceeded => WireOutcome::DeadlineExceeded,
            Outcome::Aborted => WireOutcome::Aborted,
            Outcome::Rejected(f) => WireOutcome::Rejected(f.field.into(), f.problem.into()),
        }
    }
}

impl WireOutcome {
    /// The core outcome, or `Err` with the leader when the node did not serve it.
    ///
    /// # Errors
    ///
    /// [`WireOutcome::NotLeader`]'s leader.
    pub fn into_outcome(self) -> Result<Outcome, Option<u64>> {
        Ok(match self {
            WireOutcome::Applied(r) => Outcome::Applied(r.map_err(|e| e.to_lease_error())),
            WireOutcome::Shed => Outcome::Shed,
            WireOutcome::DeadlineExceeded => Outcome::DeadlineExceeded,
            WireOutcome::Aborted => Outcome::Aborted,
            WireOutcome::Rejected(field, _) => Outcome::Rejected(FieldError::new(
                crate::types::static_field(&field),
                "was rejected by the service",
            )),
            WireOutcome::NotLeader(leader) => return Err(leader),
        })
    }
}

/// A frame from a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientFrame {
    /// The first frame: the client's number (random; names its requests).
    Hello {
        /// The client's number.
        client: u64,
    },
    /// Requests numbered `first..`: their operations as one [`leasehold::Batch`]
    /// encoding (its `seq` is not used).
    Ops {
        /// The number of the first.
        first: u64,
        /// The operations.
        batch: Vec<u8>,
    },
    /// A linearizable read of the leases of `namespace`/`model` (either may be left out).
    Leases {
        /// Names the answer.
        id: u64,
        /// Only this namespace.
        namespace: Option<String>,
        /// Only this model.
        model: Option<String>,
    },
    /// The node's status.
    Status {
        /// Names the answer.
        id: u64,
    },
    /// The fate of requests whose answers were lost.
    Resolve {
        /// Names the answer.
        id: u64,
        /// Their client.
        client: u64,
        /// Their numbers.
        requests: Vec<u64>,
        /// The epoch of the leader they were sent to.
        epoch: u64,
        /// A log index at or before the first batch that could hold them.
        from: u64,
    },
}

/// A frame from a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerFrame {
    /// The answer to [`ClientFrame::Hello`].
    Hello {
        /// The node's id.
        node: u64,
        /// The epoch it serves requests in as leader, or `None`.
        epoch: Option<u64>,
        /// The leader it knows of.
        leader: Option<u64>,
        /// Its applied log index.
        applied: u64,
        /// The members.
        members: Vec<Member>,
    },
    /// Answers to requests, by number.
    Answers {
        /// The node's applied log index when it sent them.
        applied: u64,
        /// `(number, outcome)`.
        answers: Vec<(u64, WireOutcome)>,
    },
    /// The answer to [`ClientFrame::Leases`].
    Leases {
        /// Its id.
        id: u64,
        /// The leases, or why they could not be read.
        leases: Result<Leases, String>,
    },
    /// The answer to [`ClientFrame::Status`].
    Status {
        /// Its id.
        id: u64,
        /// The status.
        status: Status,
    },
    /// The answer to [`ClientFrame::Resolve`].
    Resolved {
        /// Its id.
        id: u64,
        /// `(number, outcome)` of each, or why they cannot be told yet.
        outcomes: Result<Vec<(u64, WireOutcome)>, String>,
    },
    /// The client broke the protocol; the node closes the connection.
    Error {
        /// What was wrong.
        message: String,
    },
}

/// Encodes a frame.
///
/// # Errors
///
/// When postcard cannot encode it (it always can for these types).
pub fn encode<T: Serialize>(frame: &T) -> Result<Vec<u8>, postcard::Error> {
    postcard::to_allocvec(frame)
}

/// Decodes a frame, naming what it expected on failure.
///
/// # Errors
///
/// A message naming the frame type and postcard's complaint.
pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &str) -> Result<T, String> {
    postcard::from_bytes(bytes).map_err(|e| format!("a malformed {what}: {e}"))
}
