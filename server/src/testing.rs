//! An in-process network for clusters in tests: a [`Router`] of [`Raft`] handles by node
//! id, whose RPCs are plain method calls on the target's handle. A node can be cut off
//! ([`Router::cut_off`]): every RPC from or to it then fails as unreachable.

use crate::types::{Raft, TypeConfig};
use openraft::errors::{RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use openraft::type_config::alias::{SnapshotOf, VoteOf};
use openraft::{BasicNode, OptionalSend, RaftNetworkV2};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};

/// The nodes of an in-process cluster, by id. Cloning gives another handle to the same
/// routes.
#[derive(Clone, Default)]
pub struct Router {
    routes: Arc<Mutex<Routes>>,
}

/// The registered nodes and the ones cut off.
#[derive(Default)]
struct Routes {
    nodes: BTreeMap<u64, Raft>,
    cut: BTreeSet<u64>,
}

impl Router {
    /// A router with no nodes.
    #[must_use]
    pub fn new() -> Router {
        Router::default()
    }

    /// The network factory for node `id` (give it to [`Raft::new`]).
    #[must_use]
    pub fn network(&self, id: u64) -> Network {
        Network {
            router: self.clone(),
            from: id,
        }
    }

    /// Routes RPCs for node `id` to `raft`.
    pub fn add(&self, id: u64, raft: Raft) {
        self.with(|r| r.nodes.insert(id, raft));
    }

    /// Stops routing to node `id`, returning its handle.
    pub fn remove(&self, id: u64) -> Option<Raft> {
        self.with(|r| r.nodes.remove(&id))
    }

    /// Cuts node `id` off: RPCs from and to it fail as unreachable.
    pub fn cut_off(&self, id: u64) {
        self.with(|r| r.cut.insert(id));
    }

    /// Reconnects a node that was cut off.
    pub fn reconnect(&self, id: u64) {
        self.with(|r| r.cut.remove(&id));
    }

    fn with<T>(&self, f: impl FnOnce(&mut Routes) -> T) -> T {
        // A panic while holding the lock leaves plain maps, still consistent.
        let mut routes = self
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut routes)
    }

    /// The handle of `to`, when `from` can reach it.
    fn route(&self, from: u64, to: u64) -> Result<Raft, Unreachable<TypeConfig>> {
        self.with(|r| {
            if r.cut.contains(&from) || r.cut.contains(&to) {
                return Err(Unreachable::from_string(format!(
                    "node {from} cannot reach node {to}: cut off"
                )));
            }
            r.nodes
                .get(&to)
                .cloned()
                .ok_or_else(|| Unreachable::from_string(format!("node {to} is not running")))
        })
    }
}

/// The network factory of one node of a [`Router`].
#[derive(Clone)]
pub struct Network {
    router: Router,
    from: u64,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Connection;

    async fn new_client(&mut self, target: u64, _node: &BasicNode) -> Connection {
        Connection {
            router: self.router.clone(),
            from: self.from,
            to: target,
        }
    }
}

/// One node's connection to another through a [`Router`].
pub struct Connection {
    router: Router,
    from: u64,
    to: u64,
}

impl Connection {
    fn target(&self) -> Result<Raft, Unreachable<TypeConfig>> {
        self.router.route(self.from, self.to)
    }
}

/// A remote failure, as the upstream examples report it: unreachable (back off).
fn unreachable(e: &(impl std::error::Error + 'static)) -> Unreachable<TypeConfig> {
    Unreachable::new(e)
}

impl RaftNetworkV2<TypeConfig> for Connection {
    type SnapshotData = Vec<u8>;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        let raft = self.target()?;
        raft.append_entries(rpc)
            .await
            .map_err(|e| RPCError::Unreachable(unreachable(&e)))
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        let raft = self.target()?;
        raft.vote(rpc)
            .await
            .map_err(|e| RPCError::Unreachable(unreachable(&e)))
    }

    async fn full_snapshot(
        &mut self,
        vote: VoteOf<TypeConfig>,
        snapshot: SnapshotOf<TypeConfig, Vec<u8>>,
        _cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let raft = self.target()?;
        raft.install_full_snapshot(vote, snapshot)
            .await
            .map_err(|e| StreamingError::Unreachable(unreachable(&e)))
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        let raft = self.target()?;
        raft.handle_transfer_leader(req)
            .await
            .map_err(|e| RPCError::Unreachable(unreachable(&e)))
    }
}
