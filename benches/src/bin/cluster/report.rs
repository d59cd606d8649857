//! The report: where the bench ran, what it measured, the targets checked, as text or
//! JSON.

use crate::Args;
use crate::abuse::AbuseReport;
use crate::failover::FailoverReport;
use crate::load::{OpenLoop, Throughput};
use crate::nodes::{self, Cluster};
use serde::Serialize;

/// Where the bench ran.
#[derive(Debug, Serialize)]
pub struct Machine {
    /// Cores available to the bench (`available_parallelism`).
    pub cores: usize,
    /// The kernel (`uname -sr`).
    pub os: String,
    /// The CPU model.
    pub cpu: String,
    /// Memory, GiB.
    pub memory_gb: f64,
}

impl Machine {
    /// This machine, from `/proc`.
    pub fn read() -> Machine {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let os = format!(
            "{} {}",
            read("/proc/sys/kernel/ostype").trim(),
            read("/proc/sys/kernel/osrelease").trim()
        );
        let cpu = read("/proc/cpuinfo")
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_default();
        let memory_kb: f64 = read("/proc/meminfo")
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0);
        Machine {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            os: if os.trim().is_empty() {
                std::env::consts::OS.to_owned()
            } else {
                os
            },
            cpu,
            memory_gb: memory_kb / 1_048_576.0,
        }
    }
}

/// A target and whether the run met it.
#[derive(Debug, Serialize)]
pub struct Check {
    /// What is measured.
    pub what: &'static str,
    /// The target.
    pub target: String,
    /// What the run measured.
    pub measured: String,
    /// Whether it met the target.
    pub met: bool,
}

/// CPU used during one phase, in cores (CPU seconds per wall second).
#[derive(Debug, Serialize)]
pub struct PhaseCpu {
    /// The phase.
    pub phase: &'static str,
    /// Its length, seconds.
    pub wall_seconds: f64,
    /// The bench process's CPU.
    pub bench_cores: f64,
    /// `(node id, cores)`.
    pub node_cores: Vec<(u64, f64)>,
}

/// CPU counters at the start of a phase.
pub struct CpuProbe {
    at: std::time::Instant,
    bench: u64,
    nodes: Vec<(u64, u64)>,
}

impl CpuProbe {
    /// The counters now.
    pub fn start(cluster: &Cluster) -> CpuProbe {
        CpuProbe {
            at: std::time::Instant::now(),
            bench: nodes::cpu_ticks("self").unwrap_or(0),
            nodes: cluster.cpu_ticks(),
        }
    }

    /// The CPU used since [`CpuProbe::start`].
    pub fn finish(self, phase: &'static str, cluster: &Cluster) -> PhaseCpu {
        let wall = self.at.elapsed().as_secs_f64().max(1e-9);
        let cores = |ticks: u64| ticks as f64 / nodes::TICKS_PER_SEC / wall;
        let now = cluster.cpu_ticks();
        PhaseCpu {
            phase,
            wall_seconds: wall,
            bench_cores: cores(
                nodes::cpu_ticks("self")
                    .unwrap_or(0)
                    .saturating_sub(self.bench),
            ),
            node_cores: now
                .iter()
                .filter_map(|&(id, t)| {
                    let before = self.nodes.iter().find(|(i, _)| *i == id)?.1;
                    Some((id, cores(t.saturating_sub(before))))
                })
                .collect(),
        }
    }
}

/// Everything measured.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Where it ran.
    pub machine: Machine,
    /// The bench's settings.
    pub settings: Args,
    /// The flags every node was started with (besides id, address, data and peers).
    pub node_flags: Vec<String>,
    /// The node that led when the phases started.
    pub leader: Option<u64>,
    /// Throughput through the client.
    pub client: Option<Throughput>,
    /// Throughput through HTTP/JSON.
    pub http: Option<Throughput>,
    /// The client's open loop at half its throughput.
    pub client_latency: Option<OpenLoop>,
    /// HTTP's open loop at half its throughput.
    pub http_latency: Option<OpenLoop>,
    /// The claimer-abuse phase.
    pub abuse: Option<AbuseReport>,
    /// The failover phase.
    pub failover: Option<FailoverReport>,
    /// The targets.
    pub checks: Vec<Check>,
    /// CPU used by the bench and by each node, per phase.
    pub cpu: Vec<PhaseCpu>,
    /// Peak resident memory of the bench process (not the nodes), bytes.
    pub bench_peak_rss_bytes: u64,
    /// Peak resident memory of each node at the end, `(id, bytes)` (a node restarted by
    /// the failover phase counts from its restart).
    pub node_peak_rss_bytes: Vec<(u64, u64)>,
}

/// The targets, checked against what was measured.
pub fn checks(r: &Report) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut check = |what, target: &str, measured: String, met| {
        checks.push(Check {
            what,
            target: target.to_owned(),
            measured,
            met,
        });
    };
    if let Some(t) = &r.client {
        check(
            "client ops/s",
            ">= 100000",
            format!("{:.0}", t.ops_per_sec),
            t.ops_per_sec >= 100_000.0,
        );
    }
    if let Some(t) = &r.http {
        check(
            "http ops/s",
            ">= 20000",
            format!("{:.0}", t.ops_per_sec),
            t.ops_per_sec >= 20_000.0,
        );
    }
    if let Some(l) = &r.client_latency {
        check(
            "client p99 at 50 %",
            "<= 250 ms",
            format!("{:.1} ms", l.latency.p99_ms),
            l.latency.p99_ms <= 250.0,
        );
    }
    if let Some(l) = &r.http_latency {
        check(
            "http p99 at 50 %",
            "<= 250 ms",
            format!("{:.1} ms", l.latency.p99_ms),
            l.latency.p99_ms <= 250.0,
        );
    }
    if let Some(a) = &r.abuse {
        check(
            "abuse spurious leader changes",
            "0",
            a.spurious_leader_changes.to_string(),
            a.spurious_leader_changes == 0,
        );
        check(
            "abuse extensions ok in time",
            ">= 99.99 %",
            format!("{:.4} %", a.extensions_in_time_pct),
            a.extensions_in_time_pct >= 99.99,
        );
    }
    if let Some(f) = &r.failover {
        let ms = f.kill_to_first_ok_ms;
        check(
            "failover: kill to first ok",
            "<= 3000 ms",
            ms.map_or("none".to_owned(), |ms| format!("{ms:.0} ms")),
            ms.is_some_and(|ms| ms <= 3_000.0),
        );
    }
    checks
}

fn print_throughput(out: &mut String, name: &str, t: &Throughput) {
    let a = &t.answers;
    out.push_str(&format!(
        "{name:<16} {:>9.0} ops/s  p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  ({} in flight, {:.0} s; {} ok, {} refused, {} shed, {} deadline, {} aborted, {} failed)\n",
        t.ops_per_sec, t.latency.p50_ms, t.latency.p99_ms, t.latency.max_ms, t.concurrency, t.seconds,
        a.ok, a.refused, a.shed, a.deadline_exceeded, a.aborted, a.failed
    ));
}

fn print_open_loop(out: &mut String, name: &str, l: &OpenLoop) {
    let a = &l.answers;
    out.push_str(&format!(
        "{name:<16} {:>9.0} req/s scheduled, {:.0} ok/s  p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  ({} scheduled, {} dropped; {} ok, {} not ok)\n",
        l.rate, l.ops_per_sec, l.latency.p50_ms, l.latency.p99_ms, l.latency.max_ms, l.scheduled, l.dropped,
        a.ok, a.total() - a.ok
    ));
}

/// Prints the report as text.
pub fn print_report(r: &Report) {
    let m = &r.machine;
    let s = &r.settings;
    let mut out = format!(
        "machine: {} cores, {}, {}, {:.1} GB\nsettings: 3 nodes, fsync on, {}; --seconds {} --warmup {} --concurrency {} --http-connections {} --leases {} --abuse-seconds {}\n\n",
        m.cores,
        m.os,
        m.cpu,
        m.memory_gb,
        r.node_flags.join(" "),
        s.seconds,
        s.warmup,
        s.concurrency,
        s.http_connections,
        s.leases,
        s.abuse_seconds
    );
    if let Some(t) = &r.client {
        print_throughput(&mut out, "client", t);
    }
    if let Some(t) = &r.http {
        print_throughput(&mut out, "http", t);
    }
    if let Some(l) = &r.client_latency {
        print_open_loop(&mut out, "client @ 50 %", l);
    }
    if let Some(l) = &r.http_latency {
        print_open_loop(&mut out, "http @ 50 %", l);
    }
    if let Some(a) = &r.abuse {
        out.push_str(&format!(
            "abuse            {} leases × 3, {:.0} s: {:.0} answers/s; claims {} ({} granted, {} held by another, {} not applied); \
             extensions {} ({} ok in time = {:.4} %, {} ok late, {} refused, {} not applied); \
             spurious leader changes {} ({} to another contender); led at end {}, held {} ({} by the believer); \
             claim p50/p99 {:.1}/{:.1} ms, extend p50/p99 {:.1}/{:.1} ms; bench timer lag ≤ {} ms\n",
            a.leases, a.seconds, a.answers_per_sec, a.claims, a.claims_granted, a.claims_refused, a.claims_not_applied,
            a.extensions, a.extensions_ok_in_time, a.extensions_in_time_pct, a.extensions_ok_late, a.extensions_refused,
            a.extensions_not_applied, a.spurious_leader_changes, a.holder_changes, a.led_at_end, a.held_at_end,
            a.held_by_believer, a.claim_latency.p50_ms, a.claim_latency.p99_ms, a.extend_latency.p50_ms,
            a.extend_latency.p99_ms, a.max_timer_lag_ms
        ));
    }
    if let Some(f) = &r.failover {
        let ms = |v: Option<f64>| v.map_or("none".to_owned(), |v| format!("{v:.0} ms"));
        out.push_str(&format!(
            "failover         killed leader {} under {:.0} ok/s; new leader {:?} (says it leads {} after the kill); first ok after the kill {} (any ok {}); longest request {:.0} ms; \
             restarted node listens after {}, caught up after {}; answers after the kill: {} ok, {} aborted, {} failed, {} other\n",
            f.killed, f.load_ops_per_sec, f.new_leader, ms(f.kill_to_new_leader_ms), ms(f.kill_to_first_ok_ms), ms(f.kill_to_any_ok_ms),
            f.longest_request_ms, ms(f.restart_ms), ms(f.caught_up_ms), f.answers_after_kill.ok,
            f.answers_after_kill.aborted, f.answers_after_kill.failed,
            f.answers_after_kill.total() - f.answers_after_kill.ok - f.answers_after_kill.aborted - f.answers_after_kill.failed
        ));
    }
    out.push_str(&format!("\nCPU (cores busy of {}):\n", m.cores));
    for c in &r.cpu {
        let nodes: Vec<String> = c
            .node_cores
            .iter()
            .map(|(id, cores)| {
                let role = if Some(*id) == r.leader {
                    " (leader)"
                } else {
                    ""
                };
                format!("node {id}{role} {cores:.2}")
            })
            .collect();
        out.push_str(&format!(
            "  {:<16} bench {:.2}, {}\n",
            c.phase,
            c.bench_cores,
            nodes.join(", ")
        ));
    }
    let mb = |b: u64| b as f64 / 1_048_576.0;
    let node_rss: Vec<String> = r
        .node_peak_rss_bytes
        .iter()
        .map(|(id, b)| format!("node {id} {:.0} MB", mb(*b)))
        .collect();
    out.push_str(&format!(
        "\npeak RSS: bench {:.0} MB; {}\n\ntargets:\n",
        mb(r.bench_peak_rss_bytes),
        node_rss.join(", ")
    ));
    for c in &r.checks {
        out.push_str(&format!(
            "  {:<32} {:<12} {:<14} {}\n",
            c.what,
            c.target,
            c.measured,
            if c.met { "met" } else { "MISSED" }
        ));
    }
    print!("{out}");
}
