//! Snapshots: the whole state of the lease state machine, as the log format stores it.

use crate::key::Key;
use crate::pin::PinInfo;
use crate::time::Time;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The whole state: global time, fencing counter, leases and pins, in canonical order.
///
/// Made by [`crate::Fsm::snapshot`] or [`Snapshot::decode`]; turned back into a state by
/// [`crate::Fsm::restore`]. `restore` followed by `snapshot` gives the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    global: Time,
    fence: u64,
    leases: Vec<SnapshotLease>,
    pins: BTreeMap<Key, Vec<PinInfo>>,
}

/// One held lease in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotLease {
    /// Its place in the state, which batches may refer to it by: kept while the lease is
    /// held, the lowest free one taken by each claim. A state read from a version-1
    /// snapshot, which has no places, numbers its leases in key order.
    pub slot: u32,
    /// The lease.
    pub key: Key,
    /// Its holder.
    pub holder: Arc<str>,
    /// When the holder was granted it, in log time.
    pub acquired: Time,
    /// When it expires, in log time.
    pub expiry: Time,
    /// Its fencing token.
    pub token: u64,
}

impl Snapshot {
    pub(crate) fn from_parts(
        global: Time,
        fence: u64,
        leases: Vec<SnapshotLease>,
        pins: BTreeMap<Key, Vec<PinInfo>>,
    ) -> Snapshot {
        Snapshot {
            global,
            fence,
            leases,
            pins,
        }
    }

    pub(crate) fn into_parts(self) -> (Time, u64, Vec<SnapshotLease>, BTreeMap<Key, Vec<PinInfo>>) {
        (self.global, self.fence, self.leases, self.pins)
    }

    /// The log's global time when the snapshot was taken.
    #[must_use]
    pub fn global_time(&self) -> Time {
        self.global
    }

    /// The last fencing token issued.
    #[must_use]
    pub fn fence(&self) -> u64 {
        self.fence
    }

    /// The held leases, sorted by key.
    #[must_use]
    pub fn leases(&self) -> &[SnapshotLease] {
        &self.leases
    }

    /// The pins, by key.
    #[must_use]
    pub fn pins(&self) -> &BTreeMap<Key, Vec<PinInfo>> {
        &self.pins
    }
}
