//! An in-process network for clusters in tests: a [`Router`] of [`Raft`] handles by node
//! id, whose RPCs are plain method calls on the target's handle. A node can be cut off
//! ([`Router::cut_off`]): every RPC from or to it then fails as unreachable. The network
//! can also be made unreliable ([`Router::set_faults`]): each RPC is delayed, and its
//! request or its reply dropped, at random from a seeded generator.

use crate::types::{Raft, TypeConfig};
use openraft::errors::{RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use openraft::type_config::alias::{SnapshotOf, VoteOf};
use openraft::{BasicNode, OptionalSend, RaftNetworkV2};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How unreliable the network is ([`Router::set_faults`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faults {
    /// The chance that a request is lost before it reaches its target.
    pub drop_request: f64,
    /// The chance that a reply is lost after the target handled the request (the
    /// caller cannot tell it from a lost request).
    pub drop_reply: f64,
    /// The shortest delay of an RPC.
    pub min_delay: Duration,
    /// The longest delay of an RPC.
    pub max_delay: Duration,
}

impl Faults {
    /// A reliable network.
    pub const NONE: Faults = Faults {
        drop_request: 0.0,
        drop_reply: 0.0,
        min_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
    };
}

/// The nodes of an in-process cluster, by id. Cloning gives another handle to the same
/// routes.
#[derive(Clone, Default)]
pub struct Router {
    routes: Arc<Mutex<Routes>>,
}

/// The registered nodes, the ones cut off, and the faults.
struct Routes {
    nodes: BTreeMap<u64, Raft>,
    cut: BTreeSet<u64>,
    faults: Faults,
    rng: StdRng,
}

impl Default for Routes {
    fn default() -> Routes {
        Routes {
            nodes: BTreeMap::new(),
            cut: BTreeSet::new(),
            faults: Faults::NONE,
            rng: StdRng::seed_from_u64(1),
        }
    }
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

    /// Makes every RPC from now on suffer `faults`, drawn from a generator seeded with
    /// `seed`.
    pub fn set_faults(&self, faults: Faults, seed: u64) {
        self.with(|r| {
            r.faults = faults;
            r.rng = StdRng::seed_from_u64(seed);
        });
    }

    /// This RPC's delay and whether its request and its reply are lost.
    fn draw(&self) -> (Duration, bool, bool) {
        self.with(|r| {
            let f = r.faults;
            let delay = if f.max_delay > f.min_delay {
                r.rng.random_range(f.min_delay..=f.max_delay)
            } else {
                f.min_delay
            };
            let lose_request = r.rng.random_bool(f.drop_request.clamp(0.0, 1.0));
            let lose_reply = r.rng.random_bool(f.drop_reply.clamp(0.0, 1.0));
            (delay, lose_request, lose_reply)
        })
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

    /// Runs one RPC on the target through the faults: after the delay, unless the
    /// request is lost; its reply may be lost too.
    async fn call<T, E, F, Fut>(&self, rpc: F) -> Result<T, Unreachable<TypeConfig>>
    where
        F: FnOnce(Raft) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: std::error::Error + 'static,
    {
        let (delay, lose_request, lose_reply) = self.router.draw();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let lost = || {
            Unreachable::from_string(format!(
                "a message between node {} and node {} was lost",
                self.from, self.to
            ))
        };
        if lose_request {
            return Err(lost());
        }
        let reply = rpc(self.target()?).await.map_err(|e| unreachable(&e))?;
        if lose_reply {
            return Err(lost());
        }
        Ok(reply)
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
        self.call(|raft| async move { raft.append_entries(rpc).await })
            .await
            .map_err(RPCError::Unreachable)
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.call(|raft| async move { raft.vote(rpc).await })
            .await
            .map_err(RPCError::Unreachable)
    }

    async fn full_snapshot(
        &mut self,
        vote: VoteOf<TypeConfig>,
        snapshot: SnapshotOf<TypeConfig, Vec<u8>>,
        _cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        self.call(|raft| async move { raft.install_full_snapshot(vote, snapshot).await })
            .await
            .map_err(StreamingError::Unreachable)
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.call(|raft| async move { raft.handle_transfer_leader(req).await })
            .await
            .map_err(RPCError::Unreachable)
    }
}
