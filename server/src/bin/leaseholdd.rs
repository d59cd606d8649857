//! `leaseholdd`: one node of the leasehold lease service.
//!
//! ```text
//! leaseholdd --id 1 --listen 127.0.0.1:7401 --data ./data/1 \
//!            [--peer 2=127.0.0.1:7402 --peer 3=127.0.0.1:7403] [--token-file FILE] \
//!            [--batch-interval-ms 100] [engine options]
//!            [--dashboard [--dashboard-dir DIR]] [--open-reads]
//!            [--fault-injection] [--dial 2=127.0.0.1:9402] [--snapshot-logs N]
//! ```
//!
//! The dashboard (off by default): `--dashboard` serves the built dashboard (the static
//! files of `--dashboard-dir`, by default the repository's `www/dist`, built by
//! `./scripts/web.sh`) at `/` of the listen address, without the token; the page attaches
//! to the node it came from. A missing directory refuses to start. `--open-reads` lets
//! `GET /v1/status`, `/v1/leases`, `/v1/watch` and `/metrics` through without the token
//! (writes, the stream, membership, `/debug` and `/raft` still need it).
//!
//! Fault injection (off by default): `--fault-injection` serves `POST /debug/clock` and
//! `POST /debug/disk`; `--dial ID=HOST:PORT` reaches peer ID at that address instead of
//! its membership address (e.g. a proxy); `--snapshot-logs N` snapshots (and purges the
//! log) every N entries. If the Raft node fails (a storage error), `leaseholdd` logs it
//! and exits with status 70.
//!
//! Prints `leaseholdd: node ID listening on ADDR` once it serves, logs to stderr
//! (`RUST_LOG`-style levels with `--log`), and stops on Ctrl-C or SIGTERM.

use clap::Parser;
use leasehold_server::daemon::{self, NodeOptions};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The exit status when the Raft node failed (EX_SOFTWARE).
const FAILED: u8 = 70;

/// The built dashboard's directory by default: the repository's `www/dist`.
const DEFAULT_DASHBOARD_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../www/dist");

/// One node of the leasehold lease service.
#[derive(Debug, Parser)]
#[command(name = "leaseholdd", version, about)]
struct Args {
    /// This node's id (1..=65535).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=65535))]
    id: u64,
    /// Where to listen (HTTP/JSON, the binary stream, the watch, metrics and Raft).
    #[arg(long)]
    listen: SocketAddr,
    /// The data directory (the Raft log, the vote and the snapshot).
    #[arg(long)]
    data: PathBuf,
    /// Another member, as ID=HOST:PORT (repeat for each). None: a one-node cluster.
    #[arg(long = "peer", value_parser = parse_peer)]
    peers: Vec<(u64, String)>,
    /// A file holding the bearer token that clients and peers must present (required
    /// to listen beyond loopback).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// How often the leader cuts a batch, in ms.
    #[arg(long, default_value_t = 100)]
    batch_interval_ms: u64,
    /// How often the leader advances log time when idle, in ms.
    #[arg(long, default_value_t = 1000)]
    clock_interval_ms: u64,
    /// The most operations in one batch.
    #[arg(long)]
    max_batch_ops: Option<usize>,
    /// The most batches in flight at once.
    #[arg(long)]
    max_in_flight: Option<usize>,
    /// The most requests waiting in the extend, admin and claim lanes together.
    #[arg(long)]
    queue_capacity: Option<usize>,
    /// How long a claim may wait for a batch, in ms.
    #[arg(long)]
    claim_deadline_ms: Option<u64>,
    /// How long an extension may wait for a batch, in ms.
    #[arg(long)]
    extend_deadline_ms: Option<u64>,
    /// Raft's heartbeat interval, in ms.
    #[arg(long, default_value_t = 100)]
    heartbeat_ms: u64,
    /// Raft's election timeout, in ms (a random value up to twice it is used).
    #[arg(long, default_value_t = 500)]
    election_timeout_ms: u64,
    /// Serve the built dashboard (the static files of --dashboard-dir) at / of the
    /// listen address, without the token. Refuses to start if the directory or its
    /// index.html is missing (build it with ./scripts/web.sh).
    #[arg(long)]
    dashboard: bool,
    /// The built dashboard's directory, served with --dashboard.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DASHBOARD_DIR, requires = "dashboard")]
    dashboard_dir: PathBuf,
    /// With a token, let the reads through without it: GET /v1/status, /v1/leases,
    /// /v1/watch and /metrics (writes, /v1/stream, membership changes, /debug and /raft
    /// still need it).
    #[arg(long)]
    open_reads: bool,
    /// Serve the fault-injection routes (POST /debug/clock, POST /debug/disk).
    #[arg(long)]
    fault_injection: bool,
    /// Reach peer ID at HOST:PORT instead of its membership address, as ID=HOST:PORT
    /// (repeat for each; e.g. through a proxy).
    #[arg(long = "dial", value_parser = parse_peer)]
    dial: Vec<(u64, String)>,
    /// Take a snapshot (and purge the log) every N entries (default: openraft's).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    snapshot_logs: Option<u64>,
    /// The log level: error, warn, info, debug or trace.
    #[arg(long, default_value = "warn")]
    log: tracing::Level,
}

fn parse_peer(s: &str) -> Result<(u64, String), String> {
    let (id, addr) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not ID=HOST:PORT"))?;
    let id: u64 = id
        .parse()
        .map_err(|_| format!("`{id}` in `{s}` is not a node id"))?;
    if addr.parse::<SocketAddr>().is_err() {
        return Err(format!("`{addr}` in `{s}` is not HOST:PORT"));
    }
    Ok((id, addr.to_owned()))
}

impl Args {
    fn options(&self) -> Result<NodeOptions, String> {
        let token = match &self.token_file {
            Some(path) => Some(read_token(path)?),
            None => None,
        };
        let mut engine = leasehold::Config {
            batch_interval: Duration::from_millis(self.batch_interval_ms),
            clock_interval: Duration::from_millis(self.clock_interval_ms),
            ..leasehold::Config::default()
        };
        if let Some(v) = self.max_batch_ops {
            engine.max_batch_ops = v;
        }
        if let Some(v) = self.max_in_flight {
            engine.max_in_flight = v;
        }
        if let Some(v) = self.queue_capacity {
            engine.queue_capacity = v;
        }
        if let Some(v) = self.claim_deadline_ms {
            engine.claim_deadline = Duration::from_millis(v);
        }
        if let Some(v) = self.extend_deadline_ms {
            engine.extend_deadline = Duration::from_millis(v);
        }
        engine.validate().map_err(|e| e.to_string())?;
        let peers: BTreeMap<u64, String> = self.peers.iter().cloned().collect();
        if peers.contains_key(&self.id) {
            return Err(format!("--peer names this node's own id {}", self.id));
        }
        Ok(NodeOptions {
            peers,
            token,
            engine,
            heartbeat_ms: self.heartbeat_ms,
            election_timeout_ms: self.election_timeout_ms,
            fault_injection: self.fault_injection,
            dashboard: self.dashboard.then(|| self.dashboard_dir.clone()),
            open_reads: self.open_reads,
            dial: self.dial.iter().cloned().collect(),
            snapshot_logs: self.snapshot_logs,
            ..NodeOptions::new(self.id, self.listen, &self.data)
        })
    }
}

fn read_token(path: &PathBuf) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("reading the token file {}: {e}", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!("the token file {} is empty", path.display()));
    }
    Ok(token.to_owned())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_max_level(args.log)
        .with_writer(std::io::stderr)
        .init();
    let options = match args.options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("leaseholdd: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("leaseholdd: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let id = options.id;
        let mut running = match daemon::start(options).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("leaseholdd: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("leaseholdd: node {id} listening on {}", running.addr);
        tokio::select! {
            () = shutdown_signal() => {}
            result = running.wait() => {
                if let Some(why) = running.failure() {
                    eprintln!("leaseholdd: node {id} failed and stopped: {why}");
                    return ExitCode::from(FAILED);
                }
                if let Err(e) = result {
                    eprintln!("leaseholdd: the server stopped: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        match running.shutdown().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("leaseholdd: shutting down: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
