//! The replicated state machine: committed batches applied to a [`leasehold::Fsm`], and
//! its snapshots.
//!
//! - **Apply** decodes each normal entry's batch ([`leasehold::Batch::decode`]) and calls
//!   [`Fsm::apply_batch`] (which reads no clock, so every replica reaches the same
//!   state), under the epoch [`Fence`]: a fence entry raises it, a batch of an earlier
//!   epoch is ignored, and every batch's outcome is recorded in its table. Blank and
//!   membership entries only move the applied log id and membership.
//! - **Snapshots** are the replicated state's bytes ([`StateMachine::snapshot_bytes`]:
//!   the [`Fsm::snapshot`] bytes with the fence and its table) with the last applied log
//!   id and membership. The newest is kept in memory and in the
//!   file `raft-state.snapshot` of the node's directory (replaced durably), from which
//!   [`StateMachine::open`] starts after a restart.

use crate::durable_file::{self, invalid_data};
use crate::feed::{Feed, Item};
use crate::fence::Fence;
use crate::types::{Response, TypeConfig};
use futures_util::{Stream, TryStreamExt};
use leasehold::{Fsm, LeaseInfo, Snapshot, Time};
use openraft::storage::{EntryResponder, RaftSnapshotBuilder, RaftStateMachine};
use openraft::type_config::alias::{LogIdOf, SnapshotMetaOf, SnapshotOf, StoredMembershipOf};
use openraft::{EntryPayload, OptionalSend};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast;

/// Where a watch starts ([`StateMachine::watch`]).
#[derive(Debug)]
pub enum WatchStart {
    /// From the current state: the applied index, the log time and every lease.
    State {
        /// The applied log index.
        index: u64,
        /// The log time.
        global_time: Time,
        /// Every lease, its expiry in log time.
        leases: Vec<LeaseInfo>,
        /// The whole state at `index` ([`Fsm::snapshot`]), when it was asked for
        /// ([`StateMachine::watch_with_state`]).
        state: Option<Snapshot>,
    },
    /// From the requested index: the recent batches from there on.
    Replay(Vec<Arc<Item>>),
}

/// The name of the snapshot's file in the node's directory.
const SNAPSHOT_FILE: &str = "raft-state.snapshot";

/// The state machine of one node. Cloning gives another handle to the same state (the
/// snapshot builder is one; the service keeps one to read leases).
#[derive(Debug, Clone)]
pub struct StateMachine {
    inner: Arc<Mutex<State>>,
    dir: PathBuf,
}

/// The applied state.
#[derive(Debug)]
struct State {
    fsm: Fsm,
    fence: Fence,
    last_applied: Option<LogIdOf<TypeConfig>>,
    membership: StoredMembershipOf<TypeConfig>,
    /// The newest snapshot, as stored.
    snapshot: Option<StoredSnapshot>,
    /// Committed batches for watchers.
    feed: Feed,
}

/// A snapshot as its file holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMetaOf<TypeConfig>,
    /// The replicated state's bytes ([`Body`]).
    fsm: Vec<u8>,
}

/// The replicated state as a snapshot carries it.
#[derive(Debug, Serialize, Deserialize)]
struct Body {
    /// The [`leasehold::Snapshot::encode`] bytes.
    fsm: Vec<u8>,
    fence: Fence,
}

impl StateMachine {
    /// Opens the state machine of the node whose directory is `dir`: the state of its
    /// newest snapshot, or an empty one.
    ///
    /// # Errors
    ///
    /// The file system's error reading the snapshot, or `InvalidData` when it does not
    /// decode.
    pub fn open(dir: impl AsRef<Path>) -> io::Result<StateMachine> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir)?;
        let state = match durable_file::read(&dir, SNAPSHOT_FILE)? {
            Some(bytes) => {
                let stored: StoredSnapshot = postcard::from_bytes(&bytes)
                    .map_err(|e| invalid_data("the state machine's snapshot", e))?;
                let (fsm, fence) = restore(&stored.fsm)?;
                State {
                    fsm,
                    fence,
                    last_applied: stored.meta.last_log_id,
                    membership: stored.meta.last_membership.clone(),
                    snapshot: Some(stored),
                    feed: Feed::default(),
                }
            }
            None => State {
                fsm: Fsm::new(),
                fence: Fence::default(),
                last_applied: None,
                membership: StoredMembershipOf::<TypeConfig>::default(),
                snapshot: None,
                feed: Feed::default(),
            },
        };
        Ok(StateMachine {
            inner: Arc::new(Mutex::new(state)),
            dir,
        })
    }

    /// Runs `f` on the current state (hold it briefly: applying waits meanwhile).
    ///
    /// # Errors
    ///
    /// When an earlier holder panicked (the lock is poisoned).
    pub fn read<T>(&self, f: impl FnOnce(&Fsm) -> T) -> io::Result<T> {
        Ok(f(&self.lock()?.fsm))
    }

    /// The current replicated state's bytes: the [`leasehold::Snapshot::encode`] bytes of
    /// the [`Fsm`] with the [`Fence`] (its epoch and outcome table). Replicas that
    /// applied the same entries have the same bytes.
    ///
    /// # Errors
    ///
    /// When the lock is poisoned or the snapshot does not encode.
    pub fn snapshot_bytes(&self) -> io::Result<Vec<u8>> {
        encode(&*self.lock()?)
    }

    /// The log id of the last applied entry with the replicated state's bytes
    /// ([`StateMachine::snapshot_bytes`]), read together.
    ///
    /// # Errors
    ///
    /// When the lock is poisoned or the snapshot does not encode.
    pub fn applied_bytes(&self) -> io::Result<(Option<LogIdOf<TypeConfig>>, Vec<u8>)> {
        let state = self.lock()?;
        Ok((state.last_applied, encode(&state)?))
    }

    /// Runs `f` on the current fence and outcome table (hold it briefly).
    ///
    /// # Errors
    ///
    /// When the lock is poisoned.
    pub fn read_fence<T>(&self, f: impl FnOnce(&Fence) -> T) -> io::Result<T> {
        Ok(f(&self.lock()?.fence))
    }

    /// A copy of the current state with the fence's epoch, taken together.
    ///
    /// # Errors
    ///
    /// When the lock is poisoned.
    pub fn fsm_and_epoch(&self) -> io::Result<(Fsm, u64)> {
        let state = self.lock()?;
        Ok((state.fsm.clone(), state.fence.epoch()))
    }

    /// The log id of the last applied entry.
    ///
    /// # Errors
    ///
    /// When the lock is poisoned.
    pub fn last_applied(&self) -> io::Result<Option<LogIdOf<TypeConfig>>> {
        Ok(self.lock()?.last_applied)
    }

    /// Starts watching committed batches from log index `from` (or from now, with the
    /// current state, when `from` is `None` or older than the recent batches kept):
    /// where the watch starts, and a receiver of every batch applied after it.
    ///
    /// # Errors
    ///
    /// When the lock is poisoned.
    pub fn watch(
        &self,
        from: Option<u64>,
    ) -> io::Result<(WatchStart, broadcast::Receiver<Arc<Item>>)> {
        self.watch_with_state(from, false)
    }

    /// As [`StateMachine::watch`]; with `with_state`, a watch that starts from the
    /// current state also carries the whole state ([`Fsm::snapshot`]), taken under the
    /// same lock as its index and leases, so it is exactly the state at that index. A
    /// replay carries none.
    ///
    /// # Errors
    ///
    /// When the lock is poisoned.
    pub fn watch_with_state(
        &self,
        from: Option<u64>,
        with_state: bool,
    ) -> io::Result<(WatchStart, broadcast::Receiver<Arc<Item>>)> {
        let state = self.lock()?;
        let applied = state.last_applied.map_or(0, |l| l.index);
        let start = match from.and_then(|f| state.feed.since(f, applied)) {
            Some(items) => WatchStart::Replay(items),
            None => WatchStart::State {
                index: applied,
                global_time: state.fsm.global_time(),
                leases: state.fsm.leases(state.fsm.global_time()),
                state: with_state.then(|| state.fsm.snapshot()),
            },
        };
        Ok((start, state.feed.subscribe()))
    }

    /// The applied log index, the log time and the leases (in log time) of
    /// `namespace`/`model` (either may be left out), read together.
    ///
    /// # Errors
    ///
    /// When the lock is poisoned.
    pub fn leases(
        &self,
        namespace: Option<&str>,
        model: Option<&str>,
    ) -> io::Result<(u64, Time, Vec<LeaseInfo>)> {
        let state = self.lock()?;
        let g = state.fsm.global_time();
        let leases = match (namespace, model) {
            (Some(ns), Some(m)) => state.fsm.group(ns, m, g),
            _ => state
                .fsm
                .leases(g)
                .into_iter()
                .filter(|l| {
                    namespace.is_none_or(|ns| *l.key.namespace == *ns)
                        && model.is_none_or(|m| *l.key.model == *m)
                })
                .collect(),
        };
        Ok((state.last_applied.map_or(0, |l| l.index), g, leases))
    }

    fn lock(&self) -> io::Result<MutexGuard<'_, State>> {
        self.inner
            .lock()
            .map_err(|_| io::Error::other("the state machine's lock is poisoned"))
    }

    /// Makes `stored` the newest snapshot: writes its file durably, then keeps it.
    async fn keep(&self, stored: StoredSnapshot) -> io::Result<()> {
        let bytes = postcard::to_allocvec(&stored).map_err(io::Error::other)?;
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || durable_file::write(&dir, SNAPSHOT_FILE, &bytes))
            .await
            .map_err(io::Error::other)??;
        let mut state = self.lock()?;
        let newer = match (&state.snapshot, stored.meta.last_log_id) {
            (Some(current), Some(new)) => current.meta.last_log_id.is_none_or(|c| c <= new),
            _ => true,
        };
        if newer {
            state.snapshot = Some(stored);
        }
        Ok(())
    }
}

fn restore(bytes: &[u8]) -> io::Result<(Fsm, Fence)> {
    let body: Body = postcard::from_bytes(bytes).map_err(|e| invalid_data("a snapshot", e))?;
    let snapshot = Snapshot::decode(&body.fsm).map_err(|e| invalid_data("a lease snapshot", e))?;
    Ok((Fsm::restore(snapshot), body.fence))
}

/// The replicated state's bytes ([`Body`]).
fn encode(state: &State) -> io::Result<Vec<u8>> {
    let body = Body {
        fsm: state.fsm.snapshot().encode().map_err(io::Error::other)?,
        fence: state.fence.clone(),
    };
    postcard::to_allocvec(&body).map_err(io::Error::other)
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    type SnapshotData = Vec<u8>;

    async fn build_snapshot(&mut self) -> Result<SnapshotOf<TypeConfig, Vec<u8>>, io::Error> {
        let stored = {
            let state = self.lock()?;
            StoredSnapshot {
                meta: SnapshotMetaOf::<TypeConfig> {
                    last_log_id: state.last_applied,
                    last_membership: state.membership.clone(),
                },
                fsm: encode(&state)?,
            }
        };
        self.keep(stored.clone()).await?;
        Ok(SnapshotOf::<TypeConfig, Vec<u8>> {
            meta: stored.meta,
            snapshot: stored.fsm,
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotData = Vec<u8>;
    type SnapshotBuilder = StateMachine;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogIdOf<TypeConfig>>, StoredMembershipOf<TypeConfig>), io::Error> {
        let state = self.lock()?;
        Ok((state.last_applied, state.membership.clone()))
    }

    async fn apply<S>(&mut self, mut entries: S) -> Result<(), io::Error>
    where
        S: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        while let Some((entry, responder)) = entries.try_next().await? {
            let response = {
                let mut state = self.lock()?;
                state.last_applied = Some(entry.log_id);
                match &entry.payload {
                    EntryPayload::Blank => Response::Nothing,
                    EntryPayload::Normal(normal) => {
                        let State {
                            fsm, fence, feed, ..
                        } = &mut *state;
                        let (response, committed) = fence.apply(fsm, normal);
                        if let Some(committed) = committed {
                            feed.publish(Item {
                                index: entry.log_id.index,
                                committed,
                            });
                        }
                        response
                    }
                    EntryPayload::Membership(membership) => {
                        state.membership = StoredMembershipOf::<TypeConfig>::new(
                            Some(entry.log_id),
                            membership.clone(),
                        );
                        Response::Nothing
                    }
                }
            };
            if let Some(responder) = responder {
                responder.send(response);
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMetaOf<TypeConfig>,
        snapshot: Vec<u8>,
    ) -> Result<(), io::Error> {
        let (fsm, fence) = restore(&snapshot)?;
        let stored = StoredSnapshot {
            meta: meta.clone(),
            fsm: snapshot,
        };
        self.keep(stored).await?;
        let mut state = self.lock()?;
        state.fsm = fsm;
        state.fence = fence;
        // Watchers cannot follow a jump: their feed closes, and they start again.
        state.feed = Feed::default();
        state.last_applied = meta.last_log_id;
        state.membership = meta.last_membership.clone();
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<SnapshotOf<TypeConfig, Vec<u8>>>, io::Error> {
        Ok(self
            .lock()?
            .snapshot
            .clone()
            .map(|s| SnapshotOf::<TypeConfig, Vec<u8>> {
                meta: s.meta,
                snapshot: s.fsm,
            }))
    }
}
