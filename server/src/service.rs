//! The service behind every interface of a node: requests go to this node's engine when
//! it leads and are forwarded to the leader otherwise (through a [`Client`], so a
//! forwarded request whose leader falls is still answered definitively); linearizable
//! reads; status; membership changes.

use crate::client::{Client, ClientError, ClientOptions};
use crate::node::{Node, RequestError};
use crate::wire::{Lease, Leases, Member, Status};
use leasehold::{Op, Outcome};
use openraft::async_runtime::WatchReceiver;
use openraft::{BasicNode, ChangeMembers, ReadPolicy, ServerState};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// How long a request may wait for a serving leader.
pub const LEADER_PATIENCE: Duration = Duration::from_secs(10);

/// Why the service could not answer a request with an [`Outcome`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceError {
    /// No leader served the request in time; it did not apply.
    NoLeader(String),
    /// The request was forwarded and its fate could not be told in time.
    Unresolved(String),
    /// The node is shutting down.
    Stopping,
    /// A read or a membership change failed: why.
    Failed(String),
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceError::NoLeader(why) => {
                write!(
                    f,
                    "no leader served the request ({why}); it did not apply, retry"
                )
            }
            ServiceError::Unresolved(why) => write!(
                f,
                "the request was forwarded and its fate is unknown ({why}); read the lease before acting"
            ),
            ServiceError::Stopping => write!(f, "the node is shutting down"),
            ServiceError::Failed(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for ServiceError {}

/// A node's service. Shared by its interfaces.
pub struct Service {
    node: Node,
    token: Option<Arc<str>>,
    /// The connection to the leader that follower requests are forwarded over.
    forward: Mutex<Option<Client>>,
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("node", &self.node.id())
            .finish_non_exhaustive()
    }
}

impl Service {
    /// The service of `node`; `token` is the bearer token its peers require.
    #[must_use]
    pub fn new(node: Node, token: Option<Arc<str>>) -> Service {
        Service {
            node,
            token,
            forward: Mutex::new(None),
        }
    }

    /// The node.
    #[must_use]
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The bearer token, if one is configured.
    #[must_use]
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Submits `op` (to this node's engine, or forwarded to the leader) and waits for its
    /// one definitive outcome.
    ///
    /// # Errors
    ///
    /// See [`ServiceError`]: only `NoLeader` (it did not apply), `Stopping`, and, for a
    /// forwarded request whose answer was lost and whose fate no node could tell within
    /// the forwarding client's patience, `Unresolved`.
    pub async fn request(&self, op: Op) -> Result<Outcome, ServiceError> {
        let give_up = tokio::time::Instant::now() + LEADER_PATIENCE;
        loop {
            if self.node.serving_epoch().is_some() {
                match self.node.request(op.clone()).await {
                    Ok(outcome) => return Ok(outcome),
                    Err(RequestError::NotLeader { .. }) => {}
                    Err(RequestError::Stopped) => return Err(ServiceError::Stopping),
                    Err(RequestError::Unresolved(why)) => {
                        return Err(ServiceError::Unresolved(why));
                    }
                }
            } else if let Some(leader) = self.leader_elsewhere() {
                let client = self.forwarder(leader).await?;
                return match client.request(op).await {
                    Ok(outcome) => Ok(outcome),
                    Err(ClientError::Unresolved(why)) => Err(ServiceError::Unresolved(why)),
                    Err(e) => Err(ServiceError::NoLeader(e.to_string())),
                };
            }
            if tokio::time::Instant::now() >= give_up {
                return Err(ServiceError::NoLeader(format!(
                    "none within {} s",
                    LEADER_PATIENCE.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The leader's address when another node leads.
    fn leader_elsewhere(&self) -> Option<String> {
        let m = self.node.raft().metrics().borrow_watched().clone();
        let leader = m.current_leader.filter(|l| *l != m.id)?;
        m.membership_config
            .membership()
            .get_node(&leader)
            .map(|n| n.addr.clone())
    }

    /// The forwarding client, connected (again) to the leader at `addr` when needed.
    async fn forwarder(&self, addr: String) -> Result<Client, ServiceError> {
        let mut slot = self.forward.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let options = ClientOptions {
            token: self.token.as_deref().map(str::to_owned),
            ..ClientOptions::default()
        };
        let client = Client::connect(&[addr.as_str()], options)
            .await
            .map_err(|e| ServiceError::NoLeader(e.to_string()))?;
        *slot = Some(client.clone());
        Ok(client)
    }

    /// The leases of `namespace`/`model` (either may be left out), read linearizably:
    /// on the leader after openraft confirms its leadership with a quorum, or forwarded
    /// to the leader.
    ///
    /// # Errors
    ///
    /// When no leader could confirm the read in time.
    pub async fn leases(
        &self,
        namespace: Option<&str>,
        model: Option<&str>,
    ) -> Result<Leases, ServiceError> {
        if cfg!(feature = "planted-stale-read") {
            // The planted bug `planted-stale-read` (for the fault harness's checker):
            // whatever this node has applied, however stale.
            return self.local_leases(namespace, model);
        }
        let give_up = tokio::time::Instant::now() + LEADER_PATIENCE;
        loop {
            let raft = self.node.raft();
            if raft.metrics().borrow_watched().state == ServerState::Leader {
                // Only once this node's leader task serves: it has applied its epoch's
                // fence, so everything committed before its term (a restarted leader may
                // not know its commit index until then). Then openraft confirms the
                // leadership with a quorum and waits until the read index is applied.
                if self.node.serving_epoch().is_some()
                    && raft
                        .ensure_linearizable(ReadPolicy::ReadIndex)
                        .await
                        .is_ok()
                {
                    return self.local_leases(namespace, model);
                }
            } else if let Some(leader) = self.leader_elsewhere() {
                let client = self.forwarder(leader).await?;
                return client
                    .leases(namespace, model)
                    .await
                    .map_err(|e| ServiceError::Failed(e.to_string()));
            }
            if tokio::time::Instant::now() >= give_up {
                return Err(ServiceError::NoLeader(
                    "no leader confirmed the read".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The leases as this node has applied them (not linearizable).
    ///
    /// # Errors
    ///
    /// When the state machine's lock is poisoned.
    pub fn local_leases(
        &self,
        namespace: Option<&str>,
        model: Option<&str>,
    ) -> Result<Leases, ServiceError> {
        let (_, global, leases) = self
            .node
            .state_machine()
            .leases(namespace, model)
            .map_err(|e| ServiceError::Failed(e.to_string()))?;
        Ok(Leases {
            global_time_ms: global.as_millis(),
            leases: leases.iter().map(Lease::from).collect(),
        })
    }

    /// This node's view of itself and the cluster.
    #[must_use]
    pub fn status(&self) -> Status {
        let m = self.node.raft().metrics().borrow_watched().clone();
        let membership = m.membership_config.membership();
        let voters: BTreeSet<u64> = membership.voter_ids().collect();
        let members: Vec<Member> = membership
            .nodes()
            .map(|(id, node)| Member {
                id: *id,
                addr: node.addr.clone(),
                voter: voters.contains(id),
            })
            .collect();
        let role = match m.state {
            ServerState::Leader => "leader",
            ServerState::Candidate => "candidate",
            ServerState::Learner => "learner",
            _ if !voters.contains(&m.id) => "learner",
            _ => "follower",
        };
        let (global, leases) = self
            .node
            .state_machine()
            .read(|fsm| (fsm.global_time().as_millis(), fsm.len() as u64))
            .unwrap_or((0, 0));
        Status {
            id: m.id,
            role: role.to_owned(),
            leader: m.current_leader,
            term: m.current_term,
            members,
            commit_index: m.local_committed.map_or(0, |l| l.index),
            applied_index: m.last_applied.map_or(0, |l| l.index),
            global_time_ms: global,
            leases,
        }
    }

    /// The members, as this node knows them.
    #[must_use]
    pub fn members(&self) -> Vec<Member> {
        self.status().members
    }

    /// Adds node `id` at `addr`: as a learner first, waiting until it has caught up, then
    /// as a voter. Only the leader can; the caller forwards otherwise.
    ///
    /// # Errors
    ///
    /// openraft's refusal, e.g. when this node does not lead.
    pub async fn add_member(&self, id: u64, addr: &str) -> Result<(), ServiceError> {
        let raft = self.node.raft();
        raft.add_learner(id, BasicNode::new(addr), true)
            .await
            .map_err(|e| ServiceError::Failed(format!("adding node {id} as a learner: {e}")))?;
        raft.change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), false)
            .await
            .map_err(|e| ServiceError::Failed(format!("promoting node {id} to voter: {e}")))?;
        Ok(())
    }

    /// Removes node `id` from the cluster. Only the leader can.
    ///
    /// # Errors
    ///
    /// openraft's refusal, e.g. when this node does not lead.
    pub async fn remove_member(&self, id: u64) -> Result<(), ServiceError> {
        let raft = self.node.raft();
        let m = raft.metrics().borrow_watched().clone();
        let membership = m.membership_config.membership();
        let change = if membership.voter_ids().any(|v| v == id) {
            ChangeMembers::RemoveVoters(BTreeSet::from([id]))
        } else {
            ChangeMembers::RemoveNodes(BTreeSet::from([id]))
        };
        raft.change_membership(change, false)
            .await
            .map_err(|e| ServiceError::Failed(format!("removing node {id}: {e}")))?;
        Ok(())
    }

    /// The leader's id and address, if known.
    #[must_use]
    pub fn leader(&self) -> Option<(u64, String)> {
        let m = self.node.raft().metrics().borrow_watched().clone();
        let leader = m.current_leader?;
        let nodes: BTreeMap<u64, String> = m
            .membership_config
            .membership()
            .nodes()
            .map(|(id, n)| (*id, n.addr.clone()))
            .collect();
        nodes.get(&leader).map(|a| (leader, a.clone()))
    }
}
