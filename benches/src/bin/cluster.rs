//! `cluster`: a three-node loopback cluster of real `leaseholdd` processes (each with its
//! own temporary data directory, fsync'ing as by default), measured through the Rust
//! client and HTTP/JSON.
//!
//! ```text
//! cargo build --release -p leasehold-server --bins
//! cargo run --release -p leasehold-benches --bin cluster -- \
//!     [--phases client,http,latency,abuse,failover] [--seconds 10] [--abuse-seconds 30] \
//!     [--leases 60000] [--concurrency 10000] [--http-connections 3000] [--json]
//! ```
//!
//! The phases, in order:
//!
//! 1. `client`: closed-loop throughput of durable operations through one `Client`
//!    connected to the leader (`--concurrency` workers, each claiming a lease of its own
//!    and then extending it).
//! 2. `http`: the same through `POST /v1/claim` / `/v1/extend` with keep-alive
//!    (`--http-connections` connections, one request in flight on each).
//! 3. `latency`: for both, an open loop at half the rate measured in 1 and 2 (which run
//!    first when `latency` is selected), requests sent on a fixed schedule.
//! 4. `abuse`: the simulator's claimer-abuse workload over the network (see `abuse.rs`).
//! 5. `failover`: SIGKILL the leader under light load; time to the first `ok` from the
//!    new leader; then restart the killed node.
//!
//! Progress goes to stderr, the report to stdout (`--json`: one JSON object). Every
//! phase is bounded in time; the nodes are killed when the bench ends, fails or panics.

// The crate root is `cluster.rs`, so its modules are named by path.
#[path = "cluster/abuse.rs"]
mod abuse;
#[path = "cluster/failover.rs"]
mod failover;
#[path = "cluster/load.rs"]
mod load;
#[path = "cluster/nodes.rs"]
mod nodes;
#[path = "cluster/report.rs"]
mod report;
#[path = "cluster/stats.rs"]
mod stats;

use clap::Parser;
use leasehold_server::client::{Client, ClientOptions};
use load::{Http, Target};
use nodes::Cluster;
use report::{CpuProbe, Machine, Report};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The phases, in the order they run.
const PHASES: [&str; 5] = ["client", "http", "latency", "abuse", "failover"];

/// Benchmarks a three-node `leaseholdd` cluster on loopback.
#[derive(Debug, Clone, Parser, Serialize)]
#[command(name = "cluster", version)]
struct Args {
    /// The `leaseholdd` binary (default: the one next to this executable).
    #[arg(long)]
    leaseholdd: Option<PathBuf>,
    /// The phases to run, comma-separated: client, http, latency, abuse, failover.
    #[arg(long, default_value = "client,http,latency,abuse,failover")]
    phases: String,
    /// Measured seconds of each throughput and latency run.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Seconds of each throughput run before measuring starts.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Requests in flight through the client in the throughput phase. Two batches'
    /// worth (2 × `--max-batch-ops`) keeps the log busy: the leader cuts a batch as soon
    /// as `--max-batch-ops` requests wait; more only queue (measured: 20,000 in flight
    /// gave fewer ops/s than 10,000, and twice the latency).
    #[arg(long, default_value_t = 10_000)]
    concurrency: usize,
    /// HTTP keep-alive connections, one request in flight on each (HTTP/1.1 has no
    /// pipelining here); a node serves at most 4,096 HTTP requests at once.
    #[arg(long, default_value_t = 3_000)]
    http_connections: usize,
    /// Leases of the claimer-abuse phase (3 contenders each).
    #[arg(long, default_value_t = 60_000)]
    leases: usize,
    /// Seconds of the claimer-abuse phase.
    #[arg(long, default_value_t = 30.0)]
    abuse_seconds: f64,
    /// The nodes' batch interval, ms.
    #[arg(long, default_value_t = 100)]
    batch_interval_ms: u64,
    /// The nodes' most operations per batch (the claimer-abuse scenario's engine).
    #[arg(long, default_value_t = 5_000)]
    max_batch_ops: usize,
    /// The nodes' queue capacity (the claimer-abuse scenario's engine).
    #[arg(long, default_value_t = 40_000)]
    queue_capacity: usize,
    /// Another flag for every node, e.g. `--node-arg=--max-in-flight=8` (repeatable).
    #[arg(long = "node-arg", allow_hyphen_values = true)]
    node_args: Vec<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cluster: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let mut phases: Vec<&str> = Vec::new();
    for p in args
        .phases
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        if !PHASES.contains(&p) {
            return Err(format!(
                "unknown phase `{p}` (known: {})",
                PHASES.join(", ")
            ));
        }
        phases.push(p);
    }
    if phases.contains(&"latency") {
        // The open loop runs at half the measured maximum.
        phases.extend(["client", "http"]);
    }
    let exe = match &args.leaseholdd {
        Some(p) => p.clone(),
        None => std::env::current_exe()
            .map_err(|e| format!("finding this executable: {e}"))?
            .with_file_name("leaseholdd"),
    };
    let mut node_flags = vec![
        format!("--batch-interval-ms={}", args.batch_interval_ms),
        format!("--max-batch-ops={}", args.max_batch_ops),
        format!("--queue-capacity={}", args.queue_capacity),
    ];
    node_flags.extend(args.node_args.iter().cloned());
    let machine = Machine::read();
    eprintln!(
        "cluster: {} cores, {}; starting 3 nodes of {} ({})",
        machine.cores,
        machine.os,
        exe.display(),
        node_flags.join(" ")
    );
    let mut cluster = Cluster::start(&exe, 3, &node_flags)?;
    eprintln!(
        "cluster: nodes at {} in {}",
        cluster.addrs().join(", "),
        cluster.dir().display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    let mut report = Report {
        machine,
        settings: args.clone(),
        node_flags,
        leader: None,
        client: None,
        http: None,
        client_latency: None,
        http_latency: None,
        abuse: None,
        failover: None,
        checks: Vec::new(),
        cpu: Vec::new(),
        bench_peak_rss_bytes: 0,
        node_peak_rss_bytes: Vec::new(),
    };
    let result = runtime.block_on(async {
        tokio::select! {
            r = run_phases(&args, &phases, &mut cluster, &mut report) => r,
            () = interrupted() => Err("interrupted".to_owned()),
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(2));
    report.node_peak_rss_bytes = cluster.peak_rss();
    drop(cluster);
    result?;
    report.bench_peak_rss_bytes = nodes::peak_rss("self").unwrap_or(0);
    report.checks = report::checks(&report);
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| e.to_string())?
        );
    } else {
        report::print_report(&report);
    }
    Ok(())
}

/// Ctrl-C or SIGTERM: the bench stops, killing the nodes.
async fn interrupted() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = async {
            match term.as_mut() {
                Some(t) => { t.recv().await; }
                None => std::future::pending().await,
            }
        } => {}
    }
}

/// Fails with a node's log when one of them stopped.
fn check_nodes(cluster: &mut Cluster) -> Result<(), String> {
    match cluster.exited().first() {
        None => Ok(()),
        Some(&id) => Err(format!(
            "node {id} stopped; its log ends:\n{}",
            cluster.log_tail(id)
        )),
    }
}

async fn run_phases(
    args: &Args,
    phases: &[&str],
    cluster: &mut Cluster,
    report: &mut Report,
) -> Result<(), String> {
    let addrs = cluster.addrs();
    let seeds: Vec<&str> = addrs.iter().map(String::as_str).collect();
    let client = Client::connect(&seeds, ClientOptions::default())
        .await
        .map_err(|e| format!("connecting to the cluster: {e}"))?;
    let leader_addr = || async {
        let status = client.status().await.map_err(|e| e.to_string())?;
        status
            .members
            .iter()
            .find(|m| m.id == status.id)
            .map(|m| m.addr.clone())
            .ok_or_else(|| "the leader is not among the members".to_owned())
    };
    report.leader = client.status().await.ok().and_then(|s| s.leader);
    let selected = |p: &str| phases.contains(&p);
    let client_target = Arc::new(Target::Client(client.clone()));
    if selected("client") {
        let probe = CpuProbe::start(cluster);
        let t = load::closed_loop(
            "client",
            Arc::clone(&client_target),
            "bench-client",
            args.concurrency,
            args.seconds,
            args.warmup,
        )
        .await;
        eprintln!(
            "client: {:.0} ok/s, p50 {:.1} ms, p99 {:.1} ms",
            t.ops_per_sec, t.latency.p50_ms, t.latency.p99_ms
        );
        report.client = Some(t);
        report.cpu.push(probe.finish("client", cluster));
        check_nodes(cluster)?;
    }
    let http_target = Arc::new(Target::Http(Box::new(Http::new(
        &leader_addr().await?,
        args.http_connections,
    ))));
    if selected("http") {
        let probe = CpuProbe::start(cluster);
        let t = load::closed_loop(
            "http",
            Arc::clone(&http_target),
            "bench-http",
            args.http_connections,
            args.seconds,
            args.warmup,
        )
        .await;
        eprintln!(
            "http: {:.0} ok/s, p50 {:.1} ms, p99 {:.1} ms",
            t.ops_per_sec, t.latency.p50_ms, t.latency.p99_ms
        );
        report.http = Some(t);
        report.cpu.push(probe.finish("http", cluster));
        check_nodes(cluster)?;
    }
    if selected("latency") {
        let probe = CpuProbe::start(cluster);
        let rate = report.client.as_ref().map_or(1.0, |t| t.ops_per_sec / 2.0);
        let l = load::open_loop(
            "client latency",
            Arc::clone(&client_target),
            "bench-client-open",
            rate,
            args.seconds,
            args.concurrency,
        )
        .await;
        eprintln!(
            "client latency: p50 {:.1} ms, p99 {:.1} ms",
            l.latency.p50_ms, l.latency.p99_ms
        );
        report.client_latency = Some(l);
        report.cpu.push(probe.finish("client latency", cluster));
        check_nodes(cluster)?;
        let probe = CpuProbe::start(cluster);
        let rate = report.http.as_ref().map_or(1.0, |t| t.ops_per_sec / 2.0);
        let l = load::open_loop(
            "http latency",
            Arc::clone(&http_target),
            "bench-http-open",
            rate,
            args.seconds,
            args.http_connections,
        )
        .await;
        eprintln!(
            "http latency: p50 {:.1} ms, p99 {:.1} ms",
            l.latency.p50_ms, l.latency.p99_ms
        );
        report.http_latency = Some(l);
        report.cpu.push(probe.finish("http latency", cluster));
        check_nodes(cluster)?;
    }
    drop(http_target);
    if selected("abuse") {
        let probe = CpuProbe::start(cluster);
        let a = abuse::run(client.clone(), args.leases, args.abuse_seconds, 1).await;
        eprintln!(
            "abuse: {:.3} % of extensions ok in time, {} spurious leader changes",
            a.extensions_in_time_pct, a.spurious_leader_changes
        );
        report.abuse = Some(a);
        report.cpu.push(probe.finish("abuse", cluster));
        check_nodes(cluster)?;
    }
    if selected("failover") {
        let probe = CpuProbe::start(cluster);
        let f = failover::run(cluster, &client).await?;
        report.failover = Some(f);
        report.cpu.push(probe.finish("failover", cluster));
        check_nodes(cluster)?;
    }
    Ok(())
}
