//! Running one node of the service: its storage, Raft, engine and HTTP listener
//! ([`start`]), as `leaseholdd` does and as tests do in one process.
//!
//! A node with no peers is a one-node cluster. With peers, on a first start (nothing in
//! its data directory) the node with the lowest id initialises the cluster with every
//! listed member and the others wait for it; a restarted node rejoins from its data
//! directory.

use crate::api;
use crate::log_store::LogStore;
use crate::network::HttpNetwork;
use crate::node::Node;
use crate::service::Service;
use crate::state_machine::StateMachine;
use crate::types::Raft;
use openraft::BasicNode;
use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How a node runs.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// The node's id (1..=65535).
    pub id: u64,
    /// Where it listens (HTTP, the stream, the watch and Raft).
    pub listen: SocketAddr,
    /// Its data directory.
    pub data: PathBuf,
    /// The other members' ids and addresses, for a first start.
    pub peers: BTreeMap<u64, String>,
    /// The bearer token clients and peers must present.
    pub token: Option<String>,
    /// The engine's settings.
    pub engine: leasehold::Config,
    /// Raft's heartbeat interval in ms.
    pub heartbeat_ms: u64,
    /// Raft's election timeout in ms (a random value between it and twice it).
    pub election_timeout_ms: u64,
}

impl NodeOptions {
    /// A one-node cluster's options with the default settings.
    #[must_use]
    pub fn new(id: u64, listen: SocketAddr, data: impl Into<PathBuf>) -> NodeOptions {
        NodeOptions {
            id,
            listen,
            data: data.into(),
            peers: BTreeMap::new(),
            token: None,
            engine: leasehold::Config::default(),
            heartbeat_ms: 100,
            election_timeout_ms: 500,
        }
    }

    /// The Raft configuration.
    ///
    /// # Errors
    ///
    /// When openraft finds it invalid.
    pub fn raft_config(&self) -> io::Result<openraft::Config> {
        openraft::Config {
            cluster_name: "leasehold".into(),
            heartbeat_interval: self.heartbeat_ms,
            election_timeout_min: self.election_timeout_ms,
            election_timeout_max: self.election_timeout_ms * 2,
            ..openraft::Config::default()
        }
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    }
}

/// A running node.
#[derive(Debug)]
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Its service.
    pub service: Arc<Service>,
    server: JoinHandle<io::Result<()>>,
    stop: watch::Sender<bool>,
}

impl Running {
    /// Stops listening and shuts the node down.
    ///
    /// # Errors
    ///
    /// When the Raft node fails to shut down.
    pub async fn shutdown(self) -> io::Result<()> {
        let _ = self.stop.send(true);
        let _ = self.server.await;
        self.service.node().shutdown().await
    }

    /// Waits until the HTTP server ends (it ends only on [`Running::shutdown`] or an
    /// error).
    ///
    /// # Errors
    ///
    /// The server's error.
    pub async fn wait(&mut self) -> io::Result<()> {
        (&mut self.server).await.map_err(io::Error::other)?
    }
}

/// Refuses an address beyond loopback without a token.
///
/// # Errors
///
/// `InvalidInput` naming the address.
pub fn check_listen(listen: SocketAddr, token: Option<&str>) -> io::Result<()> {
    if !listen.ip().is_loopback() && token.is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "refusing to listen on {listen} without a token: beyond loopback every client and peer must authenticate (--token-file)"
            ),
        ));
    }
    Ok(())
}

/// Starts a node: opens its storage, starts Raft and the engine, listens, and (on a first
/// start) initialises the cluster.
///
/// # Errors
///
/// A refused address ([`check_listen`]), storage that does not open (a corrupt log names
/// its file and offset), an invalid setting, or an address that cannot be bound.
pub async fn start(options: NodeOptions) -> io::Result<Running> {
    check_listen(options.listen, options.token.as_deref())?;
    let config = Arc::new(options.raft_config()?);
    let log = LogStore::open(&options.data)?;
    let sm = StateMachine::open(&options.data)?;
    let token: Option<Arc<str>> = options.token.as_deref().map(Arc::from);
    let listener = TcpListener::bind(options.listen).await?;
    let addr = listener.local_addr()?;
    let network = HttpNetwork::new(token.clone());
    let raft = Raft::new(options.id, config, network, log.clone(), sm.clone())
        .await
        .map_err(io::Error::other)?;
    let node = Node::new(raft.clone(), log, sm, options.engine.clone())?;
    let service = Arc::new(Service::new(node, token));
    let (stop, mut stopped) = watch::channel(false);
    let router = api::router(Arc::clone(&service));
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
    });
    initialise(&raft, &options, addr).await?;
    Ok(Running {
        addr,
        service,
        server,
        stop,
    })
}

/// On a first start, the lowest id of the members initialises the cluster.
async fn initialise(raft: &Raft, options: &NodeOptions, addr: SocketAddr) -> io::Result<()> {
    if raft.is_initialized().await.map_err(io::Error::other)? {
        return Ok(());
    }
    let mut members: BTreeMap<u64, BasicNode> = options
        .peers
        .iter()
        .map(|(id, a)| (*id, BasicNode::new(a)))
        .collect();
    members.insert(options.id, BasicNode::new(addr.to_string()));
    if members.keys().next() != Some(&options.id) {
        // Another member initialises; this node waits to hear from the leader.
        return Ok(());
    }
    match raft.initialize(members).await {
        Ok(()) => Ok(()),
        Err(openraft::errors::RaftError::APIError(
            openraft::errors::InitializeError::NotAllowed(_),
        )) => Ok(()),
        Err(e) => Err(io::Error::other(e)),
    }
}
