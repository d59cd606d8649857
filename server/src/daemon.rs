//! Running one node of the service: its storage, Raft, engine and HTTP listener
//! ([`start`]), as `leaseholdd` does and as tests do in one process.
//!
//! A node with no peers is a one-node cluster. With peers, on a first start (nothing in
//! its data directory) the node with the lowest id initialises the cluster with every
//! listed member and the others wait for it; a restarted node rejoins from its data
//! directory.
//!
//! **A failed node stops.** When the Raft core stops with an error (a storage error is
//! fatal to openraft: a disk that cannot be written), the node stops acknowledging
//! anything: its leader tasks stop (their unanswered requests learn that their fate is
//! unknown), its Raft node shuts down, it stops listening, and [`Running::wait`] ends with
//! the error ([`Running::failure`] tells it); `leaseholdd` then exits with status 70.
//!
//! **Fault injection** ([`NodeOptions::fault_injection`], `--dial`, `--snapshot-logs`)
//! is off unless asked for; see [`crate::api`]'s `/debug` routes.
//!
//! **The dashboard** ([`NodeOptions::dashboard`], `leaseholdd --dashboard`): the node
//! serves the built dashboard's static files at `/` ([`crate::api::dashboard`]), read when
//! it starts; a missing directory (or `index.html`) refuses to start.
//! [`NodeOptions::open_reads`] (`--open-reads`) lets the reads through without the token.

use crate::api;
use crate::log_store::LogStore;
use crate::network::HttpNetwork;
use crate::node::Node;
use crate::service::Service;
use crate::state_machine::StateMachine;
use crate::types::Raft;
use openraft::async_runtime::WatchReceiver;
use openraft::errors::Fatal;
use openraft::{BasicNode, SnapshotPolicy};
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
    /// Serve the fault-injection routes (`POST /debug/clock`, `POST /debug/disk`).
    pub fault_injection: bool,
    /// Serve the built dashboard in this directory at `/` (read into memory at start;
    /// see [`crate::api::dashboard`]); `None`: no dashboard.
    pub dashboard: Option<PathBuf>,
    /// With a token, let `GET /v1/status`, `GET /v1/leases`, `GET /v1/watch` and
    /// `GET /metrics` through without it ([`api::RouterOptions::open_reads`]).
    pub open_reads: bool,
    /// Peers reached at another address than their membership address (node id →
    /// `HOST:PORT`), e.g. through a proxy ([`HttpNetwork::with_dial`]).
    pub dial: BTreeMap<u64, String>,
    /// Take a snapshot (and so purge the log) every this many entries
    /// (`SnapshotPolicy::LogsSinceLast`); `None`: openraft's default.
    pub snapshot_logs: Option<u64>,
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
            fault_injection: false,
            dashboard: None,
            open_reads: false,
            dial: BTreeMap::new(),
            snapshot_logs: None,
        }
    }

    /// The Raft configuration.
    ///
    /// # Errors
    ///
    /// When openraft finds it invalid.
    pub fn raft_config(&self) -> io::Result<openraft::Config> {
        let mut config = openraft::Config {
            cluster_name: "leasehold".into(),
            heartbeat_interval: self.heartbeat_ms,
            election_timeout_min: self.election_timeout_ms,
            election_timeout_max: self.election_timeout_ms.saturating_mul(2),
            ..openraft::Config::default()
        };
        if let Some(n) = self.snapshot_logs {
            config.snapshot_policy = SnapshotPolicy::LogsSinceLast(n);
        }
        config
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
    /// The HTTP server, until it has been waited for.
    server: Option<JoinHandle<io::Result<()>>>,
    stop: watch::Sender<bool>,
    /// Why the node failed, once it has.
    failed: watch::Receiver<Option<String>>,
    watcher: JoinHandle<()>,
}

impl Running {
    /// Stops listening and shuts the node down.
    ///
    /// # Errors
    ///
    /// When the Raft node fails to shut down.
    pub async fn shutdown(self) -> io::Result<()> {
        let _ = self.stop.send(true);
        if let Some(server) = self.server {
            let _ = server.await;
        }
        self.watcher.abort();
        self.service.node().shutdown().await
    }

    /// Waits until the HTTP server ends (it ends only on [`Running::shutdown`] or an
    /// error) or the node fails.
    ///
    /// # Errors
    ///
    /// The server's error, or the node's failure ([`Running::failure`]): its Raft core
    /// stopped with an error (e.g. a storage error), and the node stopped.
    pub async fn wait(&mut self) -> io::Result<()> {
        let mut failed = self.failed.clone();
        let failure = async move {
            match failed.wait_for(Option::is_some).await {
                Ok(why) => why.clone(),
                // The watcher ended without a failure: never.
                Err(_) => std::future::pending().await,
            }
        };
        let result = match &mut self.server {
            Some(server) => tokio::select! {
                ended = server => {
                    self.server = None;
                    ended.map_err(io::Error::other).and_then(|r| r)
                }
                why = failure => Err(io::Error::other(format!("the node failed: {}", why.unwrap_or_default()))),
            },
            None => Ok(()),
        };
        match self.failure() {
            Some(why) => Err(io::Error::other(format!("the node failed: {why}"))),
            None => result,
        }
    }

    /// Why the node failed (its Raft core stopped with this error), if it has.
    #[must_use]
    pub fn failure(&self) -> Option<String> {
        self.failed.borrow().clone()
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
/// A refused address ([`check_listen`]), a dashboard directory that is missing or has no
/// `index.html` ([`api::Dashboard::load`]), storage that does not open (a corrupt log
/// names its file and offset), an invalid setting, or an address that cannot be bound.
pub async fn start(options: NodeOptions) -> io::Result<Running> {
    check_listen(options.listen, options.token.as_deref())?;
    let config = Arc::new(options.raft_config()?);
    let dashboard = match &options.dashboard {
        Some(dir) => Some(Arc::new(api::Dashboard::load(dir)?)),
        None => None,
    };
    let log = LogStore::open(&options.data)?;
    let sm = StateMachine::open(&options.data)?;
    let token: Option<Arc<str>> = options.token.as_deref().map(Arc::from);
    let listener = TcpListener::bind(options.listen).await?;
    let addr = listener.local_addr()?;
    let network = HttpNetwork::new(token.clone()).with_dial(options.dial.clone());
    let raft = Raft::new(options.id, config, network, log.clone(), sm.clone())
        .await
        .map_err(io::Error::other)?;
    let node = Node::new(raft.clone(), log, sm, options.engine.clone())?;
    let service = Arc::new(Service::new(node, token));
    let (stop, mut stopped) = watch::channel(false);
    let router = api::router_with_options(
        Arc::clone(&service),
        &api::RouterOptions {
            fault_injection: options.fault_injection,
            open_reads: options.open_reads,
            dashboard,
        },
    );
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
    });
    let (fail, failed) = watch::channel(None);
    let watcher = tokio::spawn(watch_failure(Arc::clone(&service), fail, stop.clone()));
    initialise(&raft, &options, addr).await?;
    Ok(Running {
        addr,
        service,
        server: Some(server),
        stop,
        failed,
        watcher,
    })
}

/// Watches the Raft core's running state; when it stops with an error, logs it, stops
/// the node (its leader tasks and Raft) and the HTTP server, and reports the error on
/// `fail`. A normal shutdown ends the watch quietly.
async fn watch_failure(
    service: Arc<Service>,
    fail: watch::Sender<Option<String>>,
    stop: watch::Sender<bool>,
) {
    let node = service.node();
    let mut metrics = node.raft().metrics();
    loop {
        let running = metrics.borrow_watched().running_state.clone();
        match running {
            Ok(()) => {}
            Err(Fatal::Stopped) => return,
            Err(e) => {
                tracing::error!(
                    node = node.id(),
                    "the Raft node failed, stopping the node: {e}"
                );
                let _ = node.shutdown().await;
                let _ = fail.send(Some(e.to_string()));
                let _ = stop.send(true);
                return;
            }
        }
        if metrics.changed().await.is_err() {
            // The core is gone: its last state was seen above, or is now.
            if metrics.borrow_watched().running_state.is_ok() {
                return;
            }
        }
    }
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
