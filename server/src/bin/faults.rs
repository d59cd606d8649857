//! `faults`: a fault-injection run against a three-node `leaseholdd` cluster on
//! loopback, checked afterwards against the committed log.
//!
//! ```text
//! faults [--seconds 60 | --minutes N] [--seed 1] [--leaseholdd PATH] [--json]
//!        [--history FILE]
//! ```
//!
//! It starts three real `leaseholdd` processes (with `--fault-injection`, a TCP proxy
//! per ordered pair of nodes given to them with `--dial`, and `--snapshot-logs` so the
//! whole log stays), drives them with trackers (leadership beliefs), holders (claims,
//! renewals, rival claims, pins, handovers, revocations, in the ordinary and the
//! singular namespace) and readers (`leases` through the `Client`, `GET /v1/leases` from
//! each node in turn) through two `Client`s, and injects faults on a schedule drawn from
//! the seed (the first round has every kind once, in a seeded order):
//!
//! - `kill-leader`, `kill-follower`: SIGKILL, restart on the same data;
//! - `kill-two`: SIGKILL of a follower, then of the leader, then both restarted;
//! - `kill-all`: every node SIGKILLed, then all restarted;
//! - `pause-leader`: SIGSTOP of the leader for longer than any lease, then SIGCONT;
//! - `partition-leader`, `partition-follower`: a node's proxies cut both ways;
//!   `partition-one-way`: only the leader's links to the followers;
//! - `clock-forward`, `clock-backward`: `POST /debug/clock` on one node, then skew 0
//!   (later rounds also skew a clock during another fault);
//! - `disk-fail`: `POST /debug/disk` on one node; it exits (70) and is restarted.
//!
//! At the end it heals everything, waits for the nodes to agree, stops them, reads the
//! leader's committed log and checks the recorded history against it
//! ([`leasehold_server::check`]). Progress goes to stderr, the report to stdout
//! (`--json`: as JSON; `--history FILE`: the history too). Exit status 1 when the check
//! found violations, an acknowledged operation was lost, or a fault kind never fired; 2
//! when the run itself failed.

#[path = "faults/cluster.rs"]
mod cluster;
#[path = "faults/load.rs"]
mod load;
#[path = "faults/proxy.rs"]
mod proxy;
#[path = "faults/report.rs"]
mod report;
#[path = "faults/schedule.rs"]
mod schedule;

use clap::Parser;
use cluster::{Cluster, Hooks, IDS, agreed_leader, statuses};
use leasehold_server::client::{Client, ClientOptions};
use leasehold_server::{check, history};
use load::{Load, Recorder};
use report::Report;
use schedule::{Schedule, secs};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A fault-injection run against a three-node leaseholdd cluster.
#[derive(Debug, Parser)]
#[command(name = "faults", version, about)]
struct Args {
    /// How long to inject faults, in seconds.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// How long to inject faults, in minutes (overrides --seconds).
    #[arg(long)]
    minutes: Option<u64>,
    /// The seed of the fault schedule and the load.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The leaseholdd to run (default: the one next to this program).
    #[arg(long)]
    leaseholdd: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Also write the recorded history (Rust debug format, one record a line) to FILE.
    #[arg(long)]
    history: Option<PathBuf>,
}

/// What the leader monitor saw.
#[derive(Debug, Default)]
struct Monitor {
    last_leader_us: u64,
    longest_gap_us: u64,
    leader: Option<u64>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("faults: starting the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let json = args.json;
    // Interrupted or terminated, the run is dropped, and with it the cluster (which
    // kills the nodes).
    let outcome = runtime.block_on(async move {
        tokio::select! {
            result = run(args) => result,
            () = interrupted() => Err("interrupted".to_owned()),
        }
    });
    match outcome {
        Ok(report) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report.json()).unwrap_or_default()
                );
            } else {
                print!("{}", report.text());
            }
            if report.pass() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("faults: {e}");
            ExitCode::from(2)
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn interrupted() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        } => {}
    }
}

fn leaseholdd(args: &Args) -> Result<PathBuf, String> {
    if let Some(p) = &args.leaseholdd {
        return Ok(p.clone());
    }
    let me = std::env::current_exe().map_err(|e| format!("finding this program: {e}"))?;
    Ok(me.with_file_name(format!("leaseholdd{}", std::env::consts::EXE_SUFFIX)))
}

async fn run(args: Args) -> Result<Report, String> {
    let exe = leaseholdd(&args)?;
    let run_for = Duration::from_secs(args.minutes.map_or(args.seconds, |m| m * 60));
    let hooks = Hooks::detect(&exe)?;
    let mut report = Report {
        seed: args.seed,
        ..Report::default()
    };
    for (has, flag) in [
        (hooks.fault_injection, "--fault-injection"),
        (hooks.dial, "--dial"),
        (hooks.snapshot_logs, "--snapshot-logs"),
    ] {
        if !has {
            eprintln!(
                "faults: {} has no {flag}; the faults needing it will not fire",
                exe.display()
            );
            report.missing_hooks.push(flag.to_owned());
        }
    }
    let mut cluster = Cluster::start(&exe, hooks).await?;
    let addrs: BTreeMap<u64, SocketAddr> = IDS.iter().map(|&id| (id, cluster.addr(id))).collect();
    let seeds = cluster.addrs();
    let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
    let options = ClientOptions {
        patience: Duration::from_secs(10),
        ..ClientOptions::default()
    };
    let trackers = Client::connect(&seeds, options.clone())
        .await
        .map_err(|e| format!("connecting: {e}"))?;
    let requests = Client::connect(&seeds, options)
        .await
        .map_err(|e| format!("connecting: {e}"))?;
    let recorder = Arc::new(Recorder::new());
    eprintln!(
        "faults: cluster up ({}), running {} s with seed {}",
        cluster.addrs().join(" "),
        run_for.as_secs(),
        args.seed
    );

    // Polls every node's status every 100 ms: the longest time without a leader.
    let monitor = Arc::new(Mutex::new(Monitor::default()));
    let watching = Arc::new(AtomicBool::new(true));
    let monitor_task = {
        let (monitor, watching, recorder, addrs) = (
            Arc::clone(&monitor),
            Arc::clone(&watching),
            Arc::clone(&recorder),
            addrs.clone(),
        );
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while watching.load(Ordering::SeqCst) {
                tick.tick().await;
                let leader = agreed_leader(&statuses(&addrs).await);
                let now = recorder.now_us();
                let mut m = monitor
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                m.leader = leader;
                if leader.is_some() {
                    m.last_leader_us = now;
                } else {
                    let gap = now - m.last_leader_us;
                    m.longest_gap_us = m.longest_gap_us.max(gap);
                }
            }
        })
    };
    // A progress line every 10 s.
    let progress_task = {
        let (monitor, recorder) = (Arc::clone(&monitor), Arc::clone(&recorder));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(10)).await;
                let (requests, faults) = recorder.with(|h| (h.requests.len(), h.faults.len()));
                let leader = monitor
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .leader;
                eprintln!(
                    "faults: {:>6.1}s {requests} requests answered, {faults} faults, leader {}",
                    secs(recorder.now_us()),
                    leader.map_or("none".to_owned(), |l| l.to_string())
                );
            }
        })
    };

    let nodes = addrs.values().copied().collect();
    let load = Load::start(&recorder, &trackers, &requests, nodes, args.seed);
    let mut schedule = Schedule::new(args.seed, &cluster, Arc::clone(&recorder));
    let start = tokio::time::Instant::now();
    // The first round of kinds may run past the time asked for, by up to 30 s.
    let overtime = start + run_for + Duration::from_secs(30);
    tokio::time::sleep(Duration::from_secs(1)).await;
    loop {
        let now = tokio::time::Instant::now();
        if now >= overtime || (now >= start + run_for && schedule.round_done()) {
            break;
        }
        if let Err(e) = schedule.step(&mut cluster).await {
            eprintln!("faults: {e}; healing");
            report
                .problems
                .push(format!("at {:.1}s: {e}", secs(recorder.now_us())));
            schedule.heal_all(&mut cluster).await?;
        }
    }
    report.seconds = start.elapsed().as_secs_f64();

    eprintln!(
        "faults: {:>6.1}s healing and settling",
        secs(recorder.now_us())
    );
    schedule.heal_all(&mut cluster).await?;
    load.stop(Duration::from_secs(30)).await;
    drop(trackers);
    drop(requests);
    let (leader, commit) = settle(&addrs)
        .await
        .ok_or("the cluster did not settle within 30 s")?;
    watching.store(false, Ordering::SeqCst);
    let _ = monitor_task.await;
    progress_task.abort();
    report.longest_without_leader_ms = monitor
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .longest_gap_us
        / 1000;
    report.commit_index = commit;
    for id in IDS {
        if cluster
            .terminate(id, Duration::from_secs(5))
            .await
            .is_none()
        {
            report.problems.push(format!(
                "node {id} did not stop within 5 s of SIGTERM (killed)"
            ));
        }
    }
    let (first, log) = history::committed_log(&cluster.data(leader), commit)
        .await
        .map_err(|e| format!("reading node {leader}'s log: {e}"))?;
    drop(cluster);
    let history = recorder.snapshot();
    if let Some(path) = &args.history {
        write_history(path, &history).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    let checked = check::check(&history, first, &log);
    report.tally(&history, first, &log, &checked);
    eprintln!("faults: {:>6.1}s done", secs(recorder.now_us()));
    Ok(report)
}

/// Writes `history` to `path`, one record a line, numbered as the checker numbers them.
fn write_history(path: &std::path::Path, history: &history::History) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for (i, r) in history.requests.iter().enumerate() {
        writeln!(out, "request #{i} {r:?}")?;
    }
    for (i, r) in history.reads.iter().enumerate() {
        writeln!(out, "read #{i} {r:?}")?;
    }
    for (i, b) in history.beliefs.iter().enumerate() {
        writeln!(out, "belief #{i} {b:?}")?;
    }
    for (i, f) in history.faults.iter().enumerate() {
        writeln!(out, "fault #{i} {f:?}")?;
    }
    out.flush()
}

/// Waits until a leader is agreed on and every node has applied the same index (the
/// leader's commit index): the leader and its commit index.
async fn settle(addrs: &BTreeMap<u64, SocketAddr>) -> Option<(u64, u64)> {
    let give_up = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < give_up {
        let all = statuses(addrs).await;
        if let Some(leader) = agreed_leader(&all) {
            let commit = all[&leader].commit_index;
            if all.len() == IDS.len() && all.values().all(|s| s.applied_index == commit) {
                return Some((leader, commit));
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}
