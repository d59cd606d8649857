//! A recorded history of a run against the service, and the committed log it ran
//! against: what the fault harness records and the checker reads.
//!
//! Times are microseconds since the start of the run on the harness's clock. Requests
//! carry the names they were sent under ([`crate::client::Traced::names`]), so the
//! checker finds each one in the log by its [`crate::types::Tag`].

use crate::log_store::LogStore;
use crate::types::{BatchEntry, TypeConfig};
use crate::wire::Leases;
use leasehold::{Key, Op, Outcome};
use openraft::EntryPayload;
use std::io;
use std::path::Path;

/// One request and its one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// The simulated process (holder) that sent it.
    pub process: u32,
    /// The operation.
    pub op: Op,
    /// When it was sent.
    pub sent_us: u64,
    /// When its answer arrived.
    pub received_us: u64,
    /// The answer, or the client's error.
    pub outcome: Result<Outcome, String>,
    /// `(client, number)` of every time it was sent; only the last can be in the log.
    pub names: Vec<(u64, u64)>,
}

/// One `leases` read and what it returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRecord {
    /// The simulated process that read.
    pub process: u32,
    /// When it was sent.
    pub sent_us: u64,
    /// When its answer arrived.
    pub received_us: u64,
    /// The leases read, or the client's error.
    pub result: Result<Leases, String>,
}

/// A holder's belief that it leads a lease, as its tracker reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Belief {
    /// The holder.
    pub holder: String,
    /// The lease.
    pub key: Key,
    /// The fencing token it was elected with.
    pub token: u64,
    /// When the tracker reported `Elected`.
    pub elected_us: u64,
    /// When it reported `Deposed` (`None`: still leading at the end).
    pub deposed_us: Option<u64>,
}

/// One fault the harness injected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRecord {
    /// Its kind, e.g. `kill-leader`, `pause-leader`, `partition-leader`.
    pub kind: String,
    /// When it started.
    pub start_us: u64,
    /// When it was healed (`None`: never).
    pub end_us: Option<u64>,
    /// What exactly (which nodes, how long).
    pub detail: String,
}

/// Everything recorded in one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Every request sent, with its answer.
    pub requests: Vec<RequestRecord>,
    /// Every read.
    pub reads: Vec<ReadRecord>,
    /// Every leadership belief of the trackers.
    pub beliefs: Vec<Belief>,
    /// Every fault injected.
    pub faults: Vec<FaultRecord>,
}

/// One committed log entry that carries a batch: its Raft index and the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedBatch {
    /// The Raft log index.
    pub index: u64,
    /// The entry (a fence when its batch is empty).
    pub entry: BatchEntry,
}

/// The batch entries of the log in the (stopped) node's data directory `dir`, up to and
/// including Raft index `committed`, in order, and the first index the log still holds
/// (entries before it were purged behind a snapshot).
///
/// # Errors
///
/// When the log does not open or an entry does not decode.
pub async fn committed_log(dir: &Path, committed: u64) -> io::Result<(u64, Vec<LoggedBatch>)> {
    let log = LogStore::open(dir)?;
    let (first, entries) = log.held_entries(0, committed.saturating_add(1)).await?;
    let batches = entries
        .into_iter()
        .filter_map(
            |e: openraft::type_config::alias::EntryOf<TypeConfig>| match e.payload {
                EntryPayload::Normal(entry) => Some(LoggedBatch {
                    index: e.log_id.index,
                    entry,
                }),
                _ => None,
            },
        )
        .collect();
    Ok((first, batches))
}
