//! The compactor: a thread that keeps its own replica of the state machine, fed with
//! every record the log thread has made durable, and writes snapshots of it.
//!
//! Why a replica rather than a snapshot taken on the engine thread: taking
//! [`Fsm::snapshot`] copies the whole state and encoding it costs about as much again
//! (together 23 ms at 60,000 leases in the `compaction` benchmark, growing with the
//! number of leases); done on the engine thread, that is a pause in cutting batches. The replica costs one decode and one apply per batch (about 200 ns
//! per operation, on another core) and twice the state's memory, and the engine thread
//! never waits for a snapshot. It is also exactly what a replica in a replicated log
//! does: the snapshot is made from the committed bytes, not from the leader's memory.
//!
//! ```text
//!  log thread ──durable records──▶ compactor (Fsm replica) ──write_snapshot──▶ DIR
//!      ▲                                 │
//!      └──── snapshot taken: delete ─────┘
//!            segments behind it
//! ```
//!
//! A snapshot is taken when [`StoreOptions::snapshot_every_records`] records or
//! [`StoreOptions::snapshot_every_bytes`] bytes have been appended since the last one,
//! and on demand ([`Driver::compact`](super::Driver::compact)).

use super::store::{StoreError, StoreOptions, write_snapshot};
use crate::fsm::Fsm;
use crossbeam_channel::{Receiver, Sender, select};
use std::io;
use std::path::PathBuf;

/// A request for a snapshot now, answered with the records it covers once the log
/// behind it is deleted.
pub(super) type CompactReply = Sender<Result<u64, StoreError>>;

/// A snapshot the compactor wrote: the records it covers, and who asked for it.
pub(super) struct Taken {
    pub(super) covers: u64,
    pub(super) reply: Option<CompactReply>,
}

/// The compactor thread's state.
pub(super) struct Compactor {
    /// The replica, at record `applied`.
    pub(super) fsm: Fsm,
    pub(super) applied: u64,
    pub(super) dir: PathBuf,
    pub(super) options: StoreOptions,
    /// Records and bytes appended since the last snapshot.
    pub(super) since_records: u64,
    pub(super) since_bytes: u64,
    /// The last snapshot's coverage: nothing to do when no record came since.
    pub(super) covered: u64,
}

impl Compactor {
    /// Follows `records` (durable records, in log order) until the log thread closes the
    /// channel, snapshotting by policy and on `requests`; tells the log thread what it
    /// wrote through `taken`.
    pub(super) fn run(
        mut self,
        records: &Receiver<Vec<u8>>,
        requests: &Receiver<CompactReply>,
        taken: &Sender<Taken>,
    ) {
        loop {
            select! {
                recv(records) -> record => match record {
                    Ok(record) => {
                        self.follow(&record);
                        if self.due() {
                            self.snapshot(None, taken);
                        }
                    }
                    Err(_) => return,
                },
                recv(requests) -> request => match request {
                    Ok(reply) => {
                        // Take what the log thread has already sent first.
                        while let Ok(record) = records.try_recv() {
                            self.follow(&record);
                        }
                        self.snapshot(Some(reply), taken);
                    }
                    Err(_) => return,
                },
            }
        }
    }

    fn follow(&mut self, record: &[u8]) {
        // The log thread appends only what the engine encoded, and the driver checked
        // every replayed record at open, so a record that does not decode cannot occur;
        // if one did, skipping it would only make a later snapshot refuse to match.
        let _ = self.fsm.replay_encoded(record);
        self.applied += 1;
        self.since_records += 1;
        self.since_bytes += record.len() as u64;
    }

    fn due(&self) -> bool {
        self.since_records >= self.options.snapshot_every_records
            || self.since_bytes >= self.options.snapshot_every_bytes
    }

    fn snapshot(&mut self, reply: Option<CompactReply>, taken: &Sender<Taken>) {
        let written = if self.applied == self.covered {
            Ok(())
        } else {
            self.fsm
                .snapshot()
                .encode()
                .map_err(|e| StoreError::Io {
                    path: self.dir.clone(),
                    source: io::Error::new(io::ErrorKind::InvalidData, e),
                })
                .and_then(|bytes| write_snapshot(&self.dir, self.applied, &bytes))
                .map(|_| ())
        };
        match written {
            Ok(()) => {
                self.covered = self.applied;
                self.since_records = 0;
                self.since_bytes = 0;
                let _ = taken.send(Taken {
                    covers: self.applied,
                    reply,
                });
            }
            Err(e) => {
                // A policy snapshot is tried again after as many records again; a request
                // is told.
                self.since_records = 0;
                self.since_bytes = 0;
                if let Some(reply) = reply {
                    let _ = reply.send(Err(e));
                }
            }
        }
    }
}
