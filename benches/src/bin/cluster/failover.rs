//! Failover: under light load, SIGKILL the leader's process and measure how long until
//! the new leader answers a request `ok`; then start the killed node again and measure
//! how long it takes to serve and to catch up.

use crate::load::{Http, Lease, Target};
use crate::nodes::Cluster;
use crate::stats::{Answer, CountSummary, Counts};
use leasehold_server::client::Client;
use leasehold_server::wire::Status;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Light load: this many workers, each with a pause between requests.
const WORKERS: usize = 50;
const PAUSE: Duration = Duration::from_millis(100);
/// Load before the kill.
const BEFORE: Duration = Duration::from_secs(2);
/// Load after the first `ok` from the new leader.
const AFTER: Duration = Duration::from_secs(1);
/// How long to wait for the new leader, and for the restarted node.
const PATIENCE: Duration = Duration::from_secs(30);

/// What the failover phase measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FailoverReport {
    /// The leader killed.
    pub killed: u64,
    /// The leader after the kill.
    pub new_leader: Option<u64>,
    /// Operations answered `ok` per second before the kill.
    pub load_ops_per_sec: f64,
    /// From the kill to a surviving node's saying it leads (polled every 10 ms), ms.
    pub kill_to_new_leader_ms: Option<f64>,
    /// From the kill to the first `ok` answer to a request sent after it, ms.
    pub kill_to_first_ok_ms: Option<f64>,
    /// From the kill to the first `ok` answer to any request (one in flight at the kill
    /// may be resolved from the log), ms.
    pub kill_to_any_ok_ms: Option<f64>,
    /// The longest any request took (sent before or after the kill), ms.
    pub longest_request_ms: f64,
    /// Answers after the kill, by kind.
    pub answers_after_kill: CountSummary,
    /// From starting the killed node again to its listening, ms.
    pub restart_ms: Option<f64>,
    /// From starting it again to its having applied what was committed at that time, ms.
    pub caught_up_ms: Option<f64>,
}

/// Microseconds since `base`.
fn micros(base: Instant, t: Instant) -> u64 {
    u64::try_from(t.saturating_duration_since(base).as_micros()).unwrap_or(u64::MAX)
}

/// A node's status over HTTP.
async fn status_of(addr: &str) -> Option<Status> {
    let http = Http::new(addr, 1);
    let (code, body) = http.get("/v1/status").await.ok()?;
    if !code.is_success() {
        return None;
    }
    serde_json::from_slice(&body).ok()
}

/// Runs the failover phase on `cluster` through `client`.
pub async fn run(cluster: &mut Cluster, client: &Client) -> Result<FailoverReport, String> {
    let status = client
        .status()
        .await
        .map_err(|e| format!("reading the leader's status: {e}"))?;
    let leader = status
        .leader
        .filter(|&l| l == status.id)
        .ok_or_else(|| format!("the client's node {} does not lead", status.id))?;
    let target = Arc::new(Target::Client(client.clone()));
    let base = Instant::now();
    let kill_at = Arc::new(AtomicU64::new(u64::MAX));
    let first_ok = Arc::new(AtomicU64::new(u64::MAX));
    let any_ok = Arc::new(AtomicU64::new(u64::MAX));
    let longest = Arc::new(AtomicU64::new(0));
    let before_ok = Arc::new(AtomicU64::new(0));
    let after = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let tag: Arc<str> = Arc::from("bench-failover");
    eprintln!(
        "failover: {WORKERS} workers, a request each per {PAUSE:?} plus its answer; killing leader {leader} in {BEFORE:?}"
    );
    let mut tasks = JoinSet::new();
    for i in 0..WORKERS {
        let lease = Lease::new(&tag, i);
        let (target, kill_at, first_ok, any_ok, longest, before_ok, after, stop) = (
            Arc::clone(&target),
            Arc::clone(&kill_at),
            Arc::clone(&first_ok),
            Arc::clone(&any_ok),
            Arc::clone(&longest),
            Arc::clone(&before_ok),
            Arc::clone(&after),
            Arc::clone(&stop),
        );
        tasks.spawn(async move {
            let mut claimed = false;
            while !stop.load(Relaxed) {
                let sent = micros(base, Instant::now());
                let answer = target.op(!claimed, &lease).await;
                let done = micros(base, Instant::now());
                longest.fetch_max(done - sent, Relaxed);
                claimed = match answer {
                    Answer::Ok => true,
                    Answer::Refused => false,
                    _ => claimed,
                };
                let killed = kill_at.load(Relaxed);
                if done >= killed {
                    after.add(answer);
                    if answer == Answer::Ok {
                        any_ok.fetch_min(done, Relaxed);
                        if sent >= killed {
                            first_ok.fetch_min(done, Relaxed);
                        }
                    }
                } else if answer == Answer::Ok {
                    before_ok.fetch_add(1, Relaxed);
                }
                tokio::time::sleep(PAUSE).await;
            }
        });
    }
    tokio::time::sleep(BEFORE).await;
    let load = before_ok.load(Relaxed) as f64 / base.elapsed().as_secs_f64();
    let killed = tokio::task::block_in_place(|| cluster.kill(leader))?;
    kill_at.store(micros(base, killed), Relaxed);
    eprintln!("failover: killed node {leader}");
    let give_up = killed + PATIENCE;
    let survivors: Vec<String> = cluster
        .addrs()
        .into_iter()
        .filter(|a| cluster.addr(leader).is_none_or(|l| l.to_string() != *a))
        .collect();
    let mut elected = None;
    while (elected.is_none() || first_ok.load(Relaxed) == u64::MAX) && Instant::now() < give_up {
        if elected.is_none() {
            for addr in &survivors {
                if status_of(addr).await.is_some_and(|s| s.role == "leader") {
                    elected = Some(killed.elapsed().as_secs_f64() * 1_000.0);
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let since_kill = |at: u64| {
        (at != u64::MAX).then(|| at.saturating_sub(micros(base, killed)) as f64 / 1_000.0)
    };
    let mut report = FailoverReport {
        killed: leader,
        load_ops_per_sec: load,
        kill_to_new_leader_ms: elected,
        kill_to_first_ok_ms: since_kill(first_ok.load(Relaxed)),
        kill_to_any_ok_ms: since_kill(any_ok.load(Relaxed)),
        ..FailoverReport::default()
    };
    match report.kill_to_first_ok_ms {
        Some(ms) => eprintln!("failover: first ok from the new leader {ms:.0} ms after the kill"),
        None => eprintln!("failover: no ok answer within {PATIENCE:?} of the kill"),
    }
    tokio::time::sleep(AFTER).await;
    stop.store(true, Relaxed);
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    report.longest_request_ms = longest.load(Relaxed) as f64 / 1_000.0;
    report.answers_after_kill = after.summary();
    report.new_leader = client.status().await.ok().and_then(|s| s.leader);
    // The killed node comes back on its data directory and catches up.
    let committed = client.status().await.map(|s| s.commit_index).unwrap_or(0);
    let restarted = Instant::now();
    let listening = cluster.restart(leader).await?;
    report.restart_ms = Some(listening.as_secs_f64() * 1_000.0);
    eprintln!(
        "failover: node {leader} listens again after {:.0} ms",
        listening.as_secs_f64() * 1_000.0
    );
    let addr = cluster
        .addr(leader)
        .map(|a| a.to_string())
        .unwrap_or_default();
    while restarted.elapsed() < PATIENCE {
        if status_of(&addr)
            .await
            .is_some_and(|s| s.applied_index >= committed)
        {
            report.caught_up_ms = Some(restarted.elapsed().as_secs_f64() * 1_000.0);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(report)
}
