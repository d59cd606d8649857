//! leasehold's side: a `leaseholdd` cluster of one or three nodes on loopback (fsync on,
//! the default), driven through the Rust [`Client`] (one stream connection to the
//! leader, following it when it changes; claimer-abuse's contenders have one of their
//! own).
//!
//! - `grant`: `leases` workers, each claiming a new key (with its owner) after the
//!   other; one second of warm-up, then the measured seconds.
//! - `renew-*`: the leases are claimed in a first cycle of 4.5 s (lease `i` at
//!   `i / leases` of it), then each is extended every 4.5 s on that fixed schedule
//!   (open loop, `leases / 4.5` per second) for the measured seconds. A renewal fails
//!   when it is not `ok`, or is answered after the lease would have expired (5 s after
//!   the send time of its last successful claim or extension, the holder's
//!   conservative view). A lease found lost is claimed again at its next slot (counted
//!   apart, not as a renewal).
//! - `claimer-abuse`: the same holders (unit 0 of each lease) on a client of their own,
//!   and every other contender claiming the lease again 0.5 to 1.5 s after its previous
//!   claim was answered (at most 2,048 contenders' claims in flight, on another client,
//!   as etcd's side). A contender whose claim is granted takes the lease over (it then
//!   renews it, and the old holder contends); the takeover is a spurious change when it
//!   was answered before the holder's believed expiry (the send time of its last
//!   successful claim or extension + 5 s).
//! - `election`: `leases` applications × `contenders` units, each unit running
//!   [`Client::track`]; once every application has a leader, the Raft leader's process
//!   is killed (three nodes): the applications whose leader changed, and the time until
//!   a linearizable read shows every application held by the unit that believes it
//!   leads.
//! - `overload`: `renew-*` while claims of new keys step through the workload's rates.
//!
//! fsyncs are the nodes' own `leasehold_log_fsyncs_total` (GET /metrics of each node,
//! summed, the delta over the measured seconds); disk, CPU and memory from `/proc`.

use super::Binaries;
use super::nodes::{Cluster, TICKS_PER_SEC};
use super::row::Row;
use super::stats::{Answer, Counts, Latencies};
use super::usage::Usage;
use super::workload::{RENEW_EVERY, TTL, Workload};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use leasehold::{Key, LEADERSHIP_NAMESPACE, Op, Outcome};
use leasehold_server::client::{Client, ClientError, ClientOptions, Leadership};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

/// Every node's engine settings beyond the defaults: those of the cluster bench and of
/// the simulator's claimer-abuse scenario (100 ms batches, at most 5,000 operations a
/// batch, 40,000 requests queued).
const NODE_FLAGS: [&str; 2] = ["--max-batch-ops=5000", "--queue-capacity=40000"];
/// How long the client may take to find a serving leader.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long requests still in flight at the end may take to be answered.
const DRAIN: Duration = Duration::from_secs(15);
/// How long every application may take to elect a leader.
const ELECT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long after the kill the election workload waits for every application to have
/// a leader again.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// The most requests in flight (renewals, claims and grants); beyond it a renewal slot
/// is not sent (and counts as failed).
const MAX_IN_FLIGHT: u64 = 200_000;
/// claimer-abuse: the most contenders' claims in flight (as etcd's side).
const CLAIMS_IN_FLIGHT: usize = 2_048;
/// overload: the most grants in flight; beyond it a grant is not sent (as etcd's side).
const GRANTS_IN_FLIGHT: u64 = 8_192;
/// How often progress is printed.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);
/// Every run ends within its measured seconds plus this (setup, drain, teardown).
const RUN_SLACK: Duration = Duration::from_secs(240);
/// What is not like for like, said in every row.
const NOT_LIKE_FOR_LIKE: &str = "every leasehold extension is a durable log entry (batched: one append and fsync per batch on each node); etcd's keep-alives are not";

/// Runs `w` on a leasehold cluster of `nodes`.
pub async fn run(w: &Workload, nodes: usize, bins: &Binaries) -> Result<Row, String> {
    let limit =
        Duration::from_secs_f64(w.seconds.max(w.steps.len() as f64 * w.step_seconds)) + RUN_SLACK;
    match tokio::time::timeout(limit, run_bounded(w, nodes, bins)).await {
        Ok(r) => r,
        Err(_) => Err(format!("did not finish within {limit:?}")),
    }
}

async fn run_bounded(w: &Workload, nodes: usize, bins: &Binaries) -> Result<Row, String> {
    let mut lh = Lh::start(nodes, bins).await?;
    let mut row = Row {
        system: "leasehold".into(),
        workload: w.name.into(),
        nodes,
        notes: vec![
            NOT_LIKE_FOR_LIKE.to_owned(),
            format!(
                "leaseholdd {} (100 ms batches), fsync on; the bench's client and the nodes share this machine's {} cores",
                NODE_FLAGS.join(" "),
                std::thread::available_parallelism().map_or(0, usize::from)
            ),
        ],
        ..Row::default()
    };
    let result = match w.name {
        "grant" => grant(&lh, w, &mut row).await,
        "election" => election(&mut lh, w, &mut row).await,
        name if name.starts_with("renew") => renew(&lh, w, &mut row, Extra::None).await,
        "claimer-abuse" => renew(&lh, w, &mut row, Extra::Contenders).await,
        "overload" => renew(&lh, w, &mut row, Extra::Grants).await,
        other => Err(format!("leasehold has no workload `{other}`")),
    };
    let stopped = lh.cluster.exited();
    if let Some(&id) = stopped.first() {
        return Err(format!(
            "node {id} stopped during the run; its log ends:\n{}",
            lh.cluster.log_tail(id)
        ));
    }
    result?;
    row.ops_per_sec = if row.seconds > 0.0 {
        row.ops as f64 / row.seconds
    } else {
        0.0
    };
    Ok(row)
}

/// The cluster under test, its client, and an HTTP client for the metrics.
struct Lh {
    cluster: Cluster,
    client: Client,
    http: HttpClient<HttpConnector, Full<Bytes>>,
}

impl Lh {
    /// Starts `nodes` nodes, connects a client to their leader, and waits until the
    /// leader answers a request from its log.
    async fn start(nodes: usize, bins: &Binaries) -> Result<Lh, String> {
        let flags: Vec<String> = NODE_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        let exe = bins.leaseholdd.clone();
        let cluster = tokio::task::block_in_place(|| Cluster::start(&exe, nodes, &flags))?;
        let addrs = cluster.addrs();
        eprintln!(
            "versus:   leaseholdd at {} in {}",
            addrs.join(", "),
            cluster.dir().display()
        );
        let client = connect(&cluster).await?;
        let probe = Key::new(LEADERSHIP_NAMESPACE, "versus-probe", "probe");
        let give_up = Instant::now() + CONNECT_TIMEOUT;
        loop {
            let answer = tokio::time::timeout(
                Duration::from_secs(5),
                client.request(Op::revoke(probe.clone(), "nobody")),
            )
            .await;
            if matches!(answer, Ok(Ok(Outcome::Applied(_)))) {
                break;
            }
            if Instant::now() >= give_up {
                return Err(format!("the cluster does not serve: {answer:?}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        let http = HttpClient::builder(TokioExecutor::new()).build(connector);
        Ok(Lh {
            cluster,
            client,
            http,
        })
    }

    /// `(id, pid)` of the running nodes.
    fn pids(&self) -> Vec<(u64, u32)> {
        self.cluster.running().collect()
    }

    /// Node `id`'s counters from its `/metrics`, if it answers.
    async fn scrape(&self, id: u64) -> Option<NodeMetrics> {
        let addr = self.cluster.addr(id)?;
        let request = Request::builder()
            .method(Method::GET)
            .uri(format!("http://{addr}/metrics"))
            .body(Full::new(Bytes::new()))
            .ok()?;
        let limit = Duration::from_secs(3);
        let response = tokio::time::timeout(limit, self.http.request(request))
            .await
            .ok()?
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        let body = tokio::time::timeout(limit, response.into_body().collect())
            .await
            .ok()?
            .ok()?
            .to_bytes();
        NodeMetrics::parse(std::str::from_utf8(&body).ok()?)
    }
}

/// A client of `cluster`'s leader (a connection of its own).
async fn connect(cluster: &Cluster) -> Result<Client, String> {
    let addrs = cluster.addrs();
    let seeds: Vec<&str> = addrs.iter().map(String::as_str).collect();
    tokio::time::timeout(
        CONNECT_TIMEOUT,
        Client::connect(&seeds, ClientOptions::default()),
    )
    .await
    .map_err(|_| format!("no leader within {CONNECT_TIMEOUT:?}"))?
    .map_err(|e| format!("connecting to the cluster: {e}"))
}

/// The counters versus reads from a node's metrics.
#[derive(Debug, Clone, Copy, Default)]
struct NodeMetrics {
    /// `leasehold_log_fsyncs_total`.
    fsyncs: u64,
    /// Every `leasehold_answers_total`, summed over outcomes.
    answers: u64,
}

impl NodeMetrics {
    /// The counters in a Prometheus text; `None` without the fsync counter (an older
    /// `leaseholdd`).
    fn parse(text: &str) -> Option<NodeMetrics> {
        let value = |v: &str| v.trim().parse::<f64>().ok().map(|v| v as u64);
        let mut m = NodeMetrics::default();
        let mut fsyncs = None;
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("leasehold_log_fsyncs_total ") {
                fsyncs = value(v);
            } else if let Some(rest) = line.strip_prefix("leasehold_answers_total{") {
                let v = rest.rsplit_once(' ').and_then(|(_, v)| value(v));
                m.answers += v.unwrap_or(0);
            }
        }
        m.fsyncs = fsyncs?;
        Some(m)
    }
}

/// The servers' counters at the start of the measured time.
struct Probe {
    at: Instant,
    /// The nodes measured (a node killed on purpose is left out of the usage).
    pids: Vec<u32>,
    usage: Usage,
    /// Per node: its counters at the start, and the latest seen.
    metrics: Vec<(u64, Option<NodeMetrics>, Option<NodeMetrics>)>,
    /// Per node: its CPU clock ticks at the start.
    ticks: Vec<(u64, u64)>,
}

impl Probe {
    /// Starts measuring, leaving node `without` out of the CPU, disk and memory.
    async fn start(lh: &Lh, without: Option<u64>) -> Probe {
        let ids = lh.pids();
        let pids: Vec<u32> = ids
            .iter()
            .filter(|(id, _)| Some(*id) != without)
            .map(|&(_, pid)| pid)
            .collect();
        let mut metrics = Vec::new();
        for &(id, _) in &ids {
            let m = lh.scrape(id).await;
            metrics.push((id, m, m));
        }
        Probe {
            at: Instant::now(),
            usage: Usage::of(&pids),
            pids,
            metrics,
            ticks: lh.cluster.cpu_ticks(),
        }
    }

    /// Reads every node's counters again (before a node is killed).
    async fn refresh(&mut self, lh: &Lh) {
        for (id, _, last) in &mut self.metrics {
            if let Some(m) = lh.scrape(*id).await {
                *last = Some(m);
            }
        }
    }

    /// Ends measuring now.
    async fn finish(mut self, lh: &Lh) -> Measured {
        let seconds = self.at.elapsed().as_secs_f64();
        let end = Usage::of(&self.pids);
        let peaks = lh.cluster.peak_rss();
        let by_node: Vec<String> = lh
            .cluster
            .cpu_ticks()
            .into_iter()
            .filter_map(|(id, t)| {
                let (_, t0) = self.ticks.iter().find(|(i, _)| *i == id)?;
                let peak = peaks.iter().find(|(i, _)| *i == id).map_or(0, |p| p.1);
                Some(format!(
                    "node {id} {:.2} s, peak {:.0} MB",
                    t.saturating_sub(*t0) as f64 / TICKS_PER_SEC,
                    peak as f64 / 1e6
                ))
            })
            .collect();
        self.refresh(lh).await;
        let mut fsyncs = Some(0u64);
        let mut answers = 0;
        for (_, start, last) in &self.metrics {
            match (start, last) {
                (Some(s), Some(l)) => {
                    fsyncs = fsyncs.map(|f| f + l.fsyncs.saturating_sub(s.fsyncs));
                    answers += l.answers.saturating_sub(s.answers);
                }
                _ => fsyncs = None,
            }
        }
        Measured {
            seconds,
            start: self.usage,
            end,
            fsyncs,
            answers,
            by_node: by_node.join("; "),
        }
    }
}

/// What the servers did in the measured time.
struct Measured {
    seconds: f64,
    start: Usage,
    end: Usage,
    /// fsyncs of the Raft log and vote, all nodes (`None`: a node did not tell).
    fsyncs: Option<u64>,
    /// Requests the nodes' engines answered.
    answers: u64,
    /// Each running node's CPU time in the measured time and peak memory.
    by_node: String,
}

impl Measured {
    /// Fills the row's seconds, operations, usage and fsyncs for `ops` operations.
    fn fill(&self, ops: u64, row: &mut Row) {
        row.seconds = self.seconds;
        row.ops = ops;
        self.start.fill(&self.end, ops, row);
        if !self.by_node.is_empty() {
            row.notes.push(format!(
                "servers' CPU in the measured time: {}",
                self.by_node
            ));
        }
        match self.fsyncs {
            Some(f) => row.fsyncs_per_sec = Some(f as f64 / self.seconds.max(1e-9)),
            None => row.notes.push(
                "no fsync count: a node did not answer GET /metrics with leasehold_log_fsyncs_total"
                    .into(),
            ),
        }
    }
}

/// Microseconds from `base` to `t` (0 before it).
fn micros(base: Instant, t: Instant) -> u64 {
    u64::try_from(t.saturating_duration_since(base).as_micros()).unwrap_or(u64::MAX)
}

/// A SplitMix64 step: the bench's only randomness (the contenders' pauses).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The answer of a client call.
fn answer_of(result: &Result<Outcome, ClientError>) -> Answer {
    match result {
        Ok(outcome) => Answer::of(outcome),
        Err(_) => Answer::Failed,
    }
}

/// `n shed, m deadline-exceeded, ...` of the answers that were neither `ok` nor
/// refused, or `None` when there were none.
fn troubles(c: &super::stats::CountSummary) -> Option<String> {
    let parts: Vec<String> = [
        (c.shed, "shed"),
        (c.deadline_exceeded, "deadline-exceeded"),
        (c.aborted, "aborted"),
        (c.rejected, "rejected"),
        (c.failed, "no answer"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Fills the row's latency figures.
fn fill_latency(row: &mut Row, latencies: &Latencies) {
    let l = latencies.summary();
    if l.count > 0 {
        row.p50_ms = Some(l.p50_ms);
        row.p99_ms = Some(l.p99_ms);
        row.max_ms = Some(l.max_ms);
    }
}

/// Waits for the tasks to end, at most [`DRAIN`]; aborts the rest.
async fn drain(tasks: &mut JoinSet<()>) {
    let _ = tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
    tasks.abort_all();
}

// ---------------------------------------------------------------------------------------
// grant

/// `grant`: `w.leases` workers claiming new keys one after the other.
async fn grant(lh: &Lh, w: &Workload, row: &mut Row) -> Result<(), String> {
    let workers = w.leases.max(1);
    let warmup = Duration::from_secs(1);
    let latencies = Arc::new(Latencies::new());
    let counts = Arc::new(Counts::default());
    let granted = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let window = started + warmup;
    let end = window + Duration::from_secs_f64(w.seconds);
    eprintln!(
        "versus:   {workers} claims in flight, each of a new key, for 1 s of warm-up + {:.0} s",
        w.seconds
    );
    let mut tasks = JoinSet::new();
    for worker in 0..workers {
        let (client, latencies, counts, granted) = (
            lh.client.clone(),
            Arc::clone(&latencies),
            Arc::clone(&counts),
            Arc::clone(&granted),
        );
        tasks.spawn(async move {
            let owner: Arc<str> = Arc::from(format!("owner-{worker}"));
            let model: Arc<str> = Arc::from("versus-grant");
            for n in 0u64.. {
                let sent = Instant::now();
                if sent >= end {
                    return;
                }
                let key = Key::new(
                    LEADERSHIP_NAMESPACE,
                    model.clone(),
                    format!("g-{worker}-{n}"),
                );
                let result = client.request(Op::claim(key, owner.clone(), TTL)).await;
                let done = Instant::now();
                let answer = answer_of(&result);
                if answer == Answer::Ok {
                    granted.fetch_add(1, Relaxed);
                }
                if sent >= window && done <= end {
                    counts.add(answer);
                    latencies.record(worker, done - sent);
                }
                if answer == Answer::Failed {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        });
    }
    tokio::time::sleep_until(window.into()).await;
    let probe = Probe::start(lh, None).await;
    let mut last = (Instant::now(), granted.load(Relaxed));
    while Instant::now() < end {
        tokio::time::sleep(PROGRESS_EVERY.min(end.saturating_duration_since(Instant::now()))).await;
        let (now, g) = (Instant::now(), granted.load(Relaxed));
        eprintln!(
            "versus:   grant {:.0} s: {:.0} granted/s",
            now.duration_since(window).as_secs_f64(),
            (g - last.1) as f64 / now.duration_since(last.0).as_secs_f64().max(1e-9)
        );
        last = (now, g);
    }
    let measured = probe.finish(lh).await;
    let c = counts.summary();
    measured.fill(c.ok, row);
    drain(&mut tasks).await;
    fill_latency(row, &latencies);
    row.notes.push(format!(
        "grant: a claim of a new key with its owner, 5 s, {workers} in flight (closed loop); a leader cuts a batch every 100 ms (or at 5,000 operations), so this many in flight allow about {}/s, not the log's limit; {} granted, {} refused{}",
        workers * 10,
        c.ok,
        c.refused,
        troubles(&c).map_or_else(String::new, |t| format!(", {t}"))
    ));
    Ok(())
}

// ---------------------------------------------------------------------------------------
// renew, claimer-abuse, overload

/// What runs beside the renewals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extra {
    /// Nothing (`renew-*`).
    None,
    /// The other contenders' claims (`claimer-abuse`).
    Contenders,
    /// Claims of new keys, stepping up (`overload`).
    Grants,
}

/// The held leases and what their holders know.
struct Held {
    base: Instant,
    keys: Vec<Key>,
    units: usize,
    /// Holder names, `units` per lease.
    names: Vec<Arc<str>>,
    /// Per lease: the unit holding it (as far as the bench knows).
    holder: Vec<AtomicU8>,
    /// Per lease: whether its holder holds it (else its next slot claims it).
    held: Vec<AtomicBool>,
    /// Per lease: whether the holder's last renewal was `ok` in time.
    last_ok: Vec<AtomicBool>,
    /// Per lease: its conservative expiry, µs since `base`.
    expires: Vec<AtomicU64>,
}

impl Held {
    fn new(model: &str, leases: usize, units: usize) -> Held {
        let model: Arc<str> = Arc::from(model);
        Held {
            base: Instant::now(),
            keys: (0..leases)
                .map(|i| Key::new(LEADERSHIP_NAMESPACE, model.clone(), format!("app-{i}")))
                .collect(),
            units,
            names: (0..leases * units)
                .map(|c| Arc::from(format!("app-{}/{}", c / units, c % units)))
                .collect(),
            holder: (0..leases).map(|_| AtomicU8::new(0)).collect(),
            held: (0..leases).map(|_| AtomicBool::new(false)).collect(),
            last_ok: (0..leases).map(|_| AtomicBool::new(false)).collect(),
            expires: (0..leases).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// `unit` was granted or extended lease `i` by a request sent at `sent`.
    fn granted(&self, i: usize, unit: u8, sent: Instant) {
        let until = micros(self.base, sent) + micros_of(TTL);
        self.holder[i].store(unit, Relaxed);
        self.held[i].store(true, Relaxed);
        self.expires[i].fetch_max(until, Relaxed);
    }
}

fn micros_of(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The counters of one run of the renew driver.
#[derive(Default)]
struct Tally {
    /// Renewals (extensions by the holder) scheduled in the measured time: sent.
    renewals: AtomicU64,
    /// Of those, answered `ok` in time.
    renewals_ok: AtomicU64,
    /// Answered `ok`, but after the lease would have expired.
    renewals_late: AtomicU64,
    /// Their answers by kind.
    renew_answers: Counts,
    /// Claims again by a holder that found its lease lost, in the measured time.
    reclaims: AtomicU64,
    /// Of those, granted.
    reclaims_ok: AtomicU64,
    /// Of the renewals, not sent: too many requests in flight.
    renewals_not_sent: AtomicU64,
    /// Contenders' claims sent.
    claims: AtomicU64,
    /// Their answers by kind.
    claim_answers: Counts,
    /// Contenders' claims granted: takeovers (no holder ever stops renewing).
    takeovers: AtomicU64,
    /// Of those, answered before the holder's believed expiry: spurious changes.
    spurious: AtomicU64,
    /// Requests in flight.
    in_flight: AtomicU64,
    /// Of those, overload grants.
    grants_in_flight: AtomicU64,
}

/// One step of the overload's grants.
struct Step {
    rate: u64,
    answers: Counts,
    sent: AtomicU64,
    not_sent: AtomicU64,
}

/// `renew-*`, `claimer-abuse` and `overload`.
async fn renew(lh: &Lh, w: &Workload, row: &mut Row, extra: Extra) -> Result<(), String> {
    let leases = w.leases.max(1);
    let units = if extra == Extra::Contenders {
        w.contenders.clamp(1, usize::from(u8::MAX))
    } else {
        1
    };
    let held = Arc::new(Held::new(&format!("versus-{}", w.name), leases, units));
    let tally = Arc::new(Tally::default());
    let renew_latency = Arc::new(Latencies::new());
    let claim_latency = Arc::new(Latencies::new());
    let steps: Arc<Vec<Step>> = Arc::new(if extra == Extra::Grants {
        w.steps
            .iter()
            .map(|&rate| Step {
                rate,
                answers: Counts::default(),
                sent: AtomicU64::new(0),
                not_sent: AtomicU64::new(0),
            })
            .collect()
    } else {
        Vec::new()
    });
    let step_len = Duration::from_secs_f64(w.step_seconds.max(0.001));
    let measured = if extra == Extra::Grants {
        step_len * u32::try_from(steps.len()).unwrap_or(u32::MAX)
    } else {
        Duration::from_secs_f64(w.seconds)
    };
    // The contenders are other processes than the holders: a connection of their own.
    let contenders = if extra == Extra::Contenders {
        Some(connect(&lh.cluster).await?)
    } else {
        None
    };
    let period = RENEW_EVERY.as_secs_f64();
    let rate = leases as f64 / period;
    let start = Instant::now();
    // The first cycle claims every lease on the renewal schedule; then the measured
    // time begins.
    let measure_from = start + RENEW_EVERY;
    let end = measure_from + measured;
    eprintln!(
        "versus:   {leases} leases{}: claimed over 4.5 s, then extended every 4.5 s ({rate:.0}/s) for {:.0} s{}",
        if units > 1 {
            format!(" × {units} contenders")
        } else {
            String::new()
        },
        measured.as_secs_f64(),
        match extra {
            Extra::Grants => format!(
                ", with claims of new keys at {:?}/s, {:.0} s a step",
                w.steps, w.step_seconds
            ),
            Extra::Contenders =>
                ", the contenders claiming again 0.5 to 1.5 s after each answer from the start of the measured time"
                    .into(),
            Extra::None => String::new(),
        }
    );
    let mut tasks: JoinSet<()> = JoinSet::new();
    if let Some(contenders) = contenders {
        let permits = Arc::new(Semaphore::new(CLAIMS_IN_FLIGHT));
        for c in 0..leases * units {
            if c % units != 0 {
                tasks.spawn(contender(
                    contenders.clone(),
                    Arc::clone(&held),
                    Arc::clone(&tally),
                    Arc::clone(&claim_latency),
                    Arc::clone(&permits),
                    c,
                    (measure_from, end),
                ));
            }
        }
    }
    let mut probe = None;
    let mut slots = 0u64;
    let mut grants = 0u64;
    let mut next_progress = measure_from + PROGRESS_EVERY;
    let mut last_progress = (measure_from, 0u64);
    loop {
        // Everything scheduled before the end is sent, even when the loop wakes late.
        let clock = Instant::now();
        let now = clock.min(end);
        if probe.is_none() && now >= measure_from {
            probe = Some(Probe::start(lh, None).await);
        }
        // Renewal slots due: slot m at `start + m / rate`, for lease `m mod leases`.
        let due = ((now - start).as_secs_f64() * rate) as u64 + 1;
        while slots < due {
            let m = slots;
            slots += 1;
            let scheduled = start + Duration::from_secs_f64(m as f64 / rate);
            if scheduled >= end {
                break;
            }
            let measuring = scheduled >= measure_from;
            let i = usize::try_from(m % leases as u64).unwrap_or(0);
            if tally.in_flight.load(Relaxed) >= MAX_IN_FLIGHT {
                if measuring && held.held[i].load(Relaxed) {
                    tally.renewals.fetch_add(1, Relaxed);
                    tally.renewals_not_sent.fetch_add(1, Relaxed);
                }
                continue;
            }
            tasks.spawn(slot(
                lh.client.clone(),
                Arc::clone(&held),
                Arc::clone(&tally),
                Arc::clone(&renew_latency),
                i,
                scheduled,
                measuring,
            ));
        }
        if now >= measure_from {
            // Grants due: step s from `measure_from + s × step_len`, at its rate (the
            // steps before the current one finish first).
            let since = now - measure_from;
            let current = ((since.as_secs_f64() / step_len.as_secs_f64()) as usize)
                .min(steps.len().saturating_sub(1));
            for (s, step) in steps.iter().enumerate().take(current + 1) {
                let step_start = measure_from + step_len * u32::try_from(s).unwrap_or(0);
                let total = (step.rate as f64 * step_len.as_secs_f64()).round() as u64;
                let due =
                    (((now - step_start).as_secs_f64() * step.rate as f64) as u64 + 1).min(total);
                let mut sent = step.sent.load(Relaxed) + step.not_sent.load(Relaxed);
                while sent < due {
                    let scheduled =
                        step_start + Duration::from_secs_f64(sent as f64 / step.rate as f64);
                    sent += 1;
                    if tally.grants_in_flight.load(Relaxed) >= GRANTS_IN_FLIGHT {
                        step.not_sent.fetch_add(1, Relaxed);
                        continue;
                    }
                    step.sent.fetch_add(1, Relaxed);
                    tasks.spawn(grant_one(
                        lh.client.clone(),
                        Arc::clone(&steps),
                        Arc::clone(&tally),
                        Arc::clone(&claim_latency),
                        s,
                        grants,
                        scheduled,
                    ));
                    grants += 1;
                }
            }
        }
        while tasks.try_join_next().is_some() {}
        if clock >= end {
            break;
        }
        if now >= next_progress {
            let renewals = tally.renewals.load(Relaxed);
            let rate = (renewals - last_progress.1) as f64
                / now.duration_since(last_progress.0).as_secs_f64().max(1e-9);
            let failed = tally
                .renew_answers
                .summary()
                .total()
                .saturating_sub(tally.renewals_ok.load(Relaxed));
            eprintln!(
                "versus:   {} {:.0} s: {rate:.0} renewals/s, {} in flight, {failed} failed so far{}",
                w.name,
                now.duration_since(measure_from).as_secs_f64(),
                tally.in_flight.load(Relaxed),
                match extra {
                    Extra::Contenders => format!(
                        ", {} contenders' claims, {} takeovers, {} spurious",
                        tally.claims.load(Relaxed),
                        tally.takeovers.load(Relaxed),
                        tally.spurious.load(Relaxed)
                    ),
                    Extra::Grants => format!(", {grants} grants sent"),
                    Extra::None => String::new(),
                }
            );
            last_progress = (now, renewals);
            next_progress = now + PROGRESS_EVERY;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let probe = match probe {
        Some(p) => p,
        None => Probe::start(lh, None).await,
    };
    // Usage and fsyncs over the measured time; then the answers still due.
    let measured = probe.finish(lh).await;
    drain(&mut tasks).await;
    let renewals = tally.renewals.load(Relaxed);
    let ok = tally.renewals_ok.load(Relaxed);
    let answers = tally.renew_answers.summary();
    let unanswered = renewals
        .saturating_sub(answers.total())
        .saturating_sub(tally.renewals_not_sent.load(Relaxed));
    let claims = tally.claim_answers.summary();
    let grant_ok: u64 = steps.iter().map(|s| s.answers.summary().ok).sum();
    let ops = match extra {
        Extra::None => ok,
        // Renewals in time, and contenders' claims decided by the log.
        Extra::Contenders => ok + claims.ok + claims.refused,
        Extra::Grants => ok + grant_ok,
    };
    measured.fill(ops, row);
    row.renewals = Some(renewals);
    row.renewals_failed = Some(renewals - ok.min(renewals));
    fill_latency(row, &renew_latency);
    row.notes.push(format!(
        "renewals: extend every 4.5 s of a 5 s lease, failed = not ok, or ok after 5 s from the send time of the last success: {} ok in time, {} ok but late, {} refused (lease lost){}{}",
        ok,
        tally.renewals_late.load(Relaxed),
        answers.refused,
        troubles(&answers).map_or_else(String::new, |t| format!(", {t}")),
        if unanswered > 0 {
            format!(", {unanswered} unanswered within {DRAIN:?} of the end")
        } else {
            String::new()
        }
    ));
    let reclaims = tally.reclaims.load(Relaxed);
    if reclaims > 0 {
        row.notes.push(format!(
            "{reclaims} claims again of leases found lost ({} granted), not counted as renewals",
            tally.reclaims_ok.load(Relaxed)
        ));
    }
    match extra {
        Extra::None => {}
        Extra::Contenders => {
            let spurious = tally.spurious.load(Relaxed);
            row.spurious_changes = Some(spurious);
            let c = claim_latency.summary();
            row.notes.push(format!(
                "claimer-abuse: ops = renewals ok in time + contenders' claims the log decided; {} contenders' claims sent (each contender again 0.5 to 1.5 s after its answer, at most {CLAIMS_IN_FLIGHT} in flight, on a client of their own): {} refused (held), {} granted (takeovers){}; claim latency p50 {:.1} ms, p99 {:.1} ms",
                tally.claims.load(Relaxed),
                claims.refused,
                claims.ok,
                troubles(&claims).map_or_else(String::new, |t| format!(", {t}")),
                c.p50_ms,
                c.p99_ms,
            ));
            row.notes.push(format!(
                "a spurious change: a contender's claim granted and answered before the holder's believed expiry (the send time of its last successful claim or extension + 5 s): {spurious}; takeovers after the holder's renewals failed or came late are not spurious ({} in all)",
                tally.takeovers.load(Relaxed)
            ));
        }
        Extra::Grants => {
            let per_step: Vec<String> = steps
                .iter()
                .map(|s| {
                    let a = s.answers.summary();
                    format!(
                        "{}/s: {} sent, {} ok, {} shed, {} deadline-exceeded{}{}",
                        s.rate,
                        s.sent.load(Relaxed),
                        a.ok,
                        a.shed,
                        a.deadline_exceeded,
                        if a.failed + a.aborted + a.refused > 0 {
                            format!(", {} other", a.failed + a.aborted + a.refused)
                        } else {
                            String::new()
                        },
                        match s.not_sent.load(Relaxed) {
                            0 => String::new(),
                            n => format!(", {n} not sent ({GRANTS_IN_FLIGHT} in flight)"),
                        }
                    )
                })
                .collect();
            let c = claim_latency.summary();
            row.notes.push(format!(
                "overload: ops = renewals ok in time + grants ok; latency = the renewals'; grants by step ({:.0} s each): {}; grant latency p50 {:.1} ms, p99 {:.1} ms",
                w.step_seconds,
                per_step.join("; "),
                c.p50_ms,
                c.p99_ms
            ));
        }
    }
    let not_sent = tally.renewals_not_sent.load(Relaxed);
    if not_sent > 0 {
        row.notes.push(format!(
            "{not_sent} scheduled renewals not sent (counted as failed): more than {MAX_IN_FLIGHT} requests in flight"
        ));
    }
    Ok(())
}

/// One renewal slot of lease `i`, scheduled at `scheduled`: its holder extends it, or
/// claims it again when it found it lost.
async fn slot(
    client: Client,
    held: Arc<Held>,
    tally: Arc<Tally>,
    latency: Arc<Latencies>,
    i: usize,
    scheduled: Instant,
    measuring: bool,
) {
    let unit = held.holder[i].load(Relaxed);
    let name = held.names[i * held.units + usize::from(unit)].clone();
    let key = held.keys[i].clone();
    tally.in_flight.fetch_add(1, Relaxed);
    let sent = Instant::now();
    if held.held[i].load(Relaxed) {
        if measuring {
            tally.renewals.fetch_add(1, Relaxed);
        }
        let expiry = held.expires[i].load(Relaxed);
        let result = client.request(Op::extend(key, name, TTL)).await;
        let done = Instant::now();
        let answer = answer_of(&result);
        let in_time = micros(held.base, done) <= expiry;
        match answer {
            Answer::Ok => {
                held.granted(i, unit, sent);
                held.last_ok[i].store(in_time, Relaxed);
            }
            Answer::Refused => {
                // Lost (lapsed, or taken): claimed again at the next slot, unless another
                // unit holds it now.
                if held.holder[i].load(Relaxed) == unit {
                    held.held[i].store(false, Relaxed);
                    held.last_ok[i].store(false, Relaxed);
                }
            }
            _ => held.last_ok[i].store(false, Relaxed),
        }
        if measuring {
            tally.renew_answers.add(answer);
            latency.record(i, done.saturating_duration_since(scheduled));
            match (answer, in_time) {
                (Answer::Ok, true) => tally.renewals_ok.fetch_add(1, Relaxed),
                (Answer::Ok, false) => tally.renewals_late.fetch_add(1, Relaxed),
                _ => 0,
            };
        }
    } else {
        let result = client.request(Op::claim(key, name, TTL)).await;
        let ok = matches!(result, Ok(Outcome::Applied(Ok(_))));
        if ok {
            held.granted(i, unit, sent);
            held.last_ok[i].store(true, Relaxed);
        }
        if measuring {
            tally.reclaims.fetch_add(1, Relaxed);
            if ok {
                tally.reclaims_ok.fetch_add(1, Relaxed);
            }
        }
    }
    tally.in_flight.fetch_sub(1, Relaxed);
}

/// Contender `c` (lease `c / units`, unit `c mod units`): in the window `(from, end)`,
/// claims its lease whenever it does not hold it, 0.5 to 1.5 s after the previous answer.
async fn contender(
    client: Client,
    held: Arc<Held>,
    tally: Arc<Tally>,
    latency: Arc<Latencies>,
    permits: Arc<Semaphore>,
    c: usize,
    (from, end): (Instant, Instant),
) {
    let (i, unit) = (c / held.units, (c % held.units) as u8);
    let name = held.names[c].clone();
    let mut seed = mix(c as u64 ^ 0x5eed);
    // The first claims spread over the first second.
    let first = from + Duration::from_micros(seed % 1_000_000);
    tokio::time::sleep_until(first.into()).await;
    loop {
        if Instant::now() >= end {
            return;
        }
        if held.holder[i].load(Relaxed) != unit {
            let Ok(_permit) = permits.acquire().await else {
                return;
            };
            if Instant::now() >= end {
                return;
            }
            tally.in_flight.fetch_add(1, Relaxed);
            tally.claims.fetch_add(1, Relaxed);
            let sent = Instant::now();
            let result = client
                .request(Op::claim(held.keys[i].clone(), name.clone(), TTL))
                .await;
            let done = Instant::now();
            let answer = answer_of(&result);
            tally.claim_answers.add(answer);
            latency.record(c, done - sent);
            if answer == Answer::Ok {
                tally.takeovers.fetch_add(1, Relaxed);
                if micros(held.base, done) < held.expires[i].load(Relaxed) {
                    tally.spurious.fetch_add(1, Relaxed);
                }
                held.granted(i, unit, sent);
                held.last_ok[i].store(true, Relaxed);
            }
            tally.in_flight.fetch_sub(1, Relaxed);
        }
        seed = mix(seed);
        tokio::time::sleep(Duration::from_millis(500 + seed % 1_001)).await;
    }
}

/// Grant `n` of the overload, in step `s`: a claim of a new key.
async fn grant_one(
    client: Client,
    steps: Arc<Vec<Step>>,
    tally: Arc<Tally>,
    latency: Arc<Latencies>,
    s: usize,
    n: u64,
    scheduled: Instant,
) {
    tally.in_flight.fetch_add(1, Relaxed);
    tally.grants_in_flight.fetch_add(1, Relaxed);
    let key = Key::new(
        LEADERSHIP_NAMESPACE,
        "versus-overload-grants",
        format!("g-{n}"),
    );
    let result = client.request(Op::claim(key, "owner", TTL)).await;
    steps[s].answers.add(answer_of(&result));
    latency.record(usize::try_from(n).unwrap_or(0), scheduled.elapsed());
    tally.grants_in_flight.fetch_sub(1, Relaxed);
    tally.in_flight.fetch_sub(1, Relaxed);
}

// ---------------------------------------------------------------------------------------
// election

/// Who leads each application, as the units' trackers say.
struct Leaders {
    leader: Vec<Option<u8>>,
    /// Applications with a leader.
    led: usize,
    /// From [`Leaders::mark`]: each application's leader then.
    baseline: Vec<Option<u8>>,
    /// Applications whose leader changed since the mark.
    changed: Vec<bool>,
    marked: bool,
    /// Since the mark: `Elected` and `Deposed` reports.
    elected: u64,
    deposed: u64,
}

impl Leaders {
    fn new(apps: usize) -> Leaders {
        Leaders {
            leader: vec![None; apps],
            led: 0,
            baseline: vec![None; apps],
            changed: vec![false; apps],
            marked: false,
            elected: 0,
            deposed: 0,
        }
    }

    /// Unit `u` of application `a` was elected (or deposed).
    fn apply(&mut self, (a, u, elected): (usize, u8, bool)) {
        if elected {
            if self.leader[a].is_none() {
                self.led += 1;
            }
            self.leader[a] = Some(u);
            if self.marked {
                self.elected += 1;
                if self.baseline[a] != Some(u) {
                    self.changed[a] = true;
                }
            }
        } else if self.leader[a] == Some(u) {
            self.leader[a] = None;
            self.led -= 1;
            if self.marked {
                self.deposed += 1;
            }
        }
    }

    /// Counts changes from now on.
    fn mark(&mut self) {
        self.baseline.clone_from(&self.leader);
        self.changed.fill(false);
        self.marked = true;
        self.elected = 0;
        self.deposed = 0;
    }

    /// Whether every application has a leader and the service says each lease is held
    /// by it.
    fn agree(&self, leases: &leasehold_server::wire::Leases) -> bool {
        if self.led < self.leader.len() {
            return false;
        }
        let mut held: Vec<Option<u8>> = vec![None; self.leader.len()];
        for lease in &leases.leases {
            let Some(a) = lease
                .lease
                .strip_prefix("app-")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|&a| a < held.len())
            else {
                continue;
            };
            held[a] = lease
                .holder
                .rsplit_once('/')
                .and_then(|(_, u)| u.parse::<u8>().ok());
        }
        held == self.leader
    }
}

/// `election`: applications × units tracking their leadership; the Raft leader killed.
async fn election(lh: &mut Lh, w: &Workload, row: &mut Row) -> Result<(), String> {
    const MODEL: &str = "versus-election";
    let apps = w.leases.max(1);
    let units = w.contenders.clamp(1, usize::from(u8::MAX));
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, u8, bool)>();
    let mut tasks = JoinSet::new();
    let started = Instant::now();
    eprintln!(
        "versus:   {apps} applications × {units} units, each unit tracking its leadership (5 s leases)"
    );
    for a in 0..apps {
        let key = Key::new(LEADERSHIP_NAMESPACE, MODEL, format!("app-{a}"));
        for u in 0..units {
            let unit = u as u8;
            let mut tracking = lh.client.track(key.clone(), &format!("app-{a}/{u}"), TTL);
            let tx = tx.clone();
            tasks.spawn(async move {
                while let Some(change) = tracking.next().await {
                    let elected = matches!(change, Leadership::Elected { .. });
                    if tx.send((a, unit, elected)).is_err() {
                        return;
                    }
                }
            });
        }
    }
    drop(tx);
    let mut state = Leaders::new(apps);
    let give_up = started + ELECT_TIMEOUT;
    while state.led < apps {
        tokio::select! {
            m = rx.recv() => match m {
                Some(e) => state.apply(e),
                None => return Err("the trackers stopped".into()),
            },
            () = tokio::time::sleep_until(give_up.into()) => {
                return Err(format!(
                    "only {} of {apps} applications had a leader within {ELECT_TIMEOUT:?}",
                    state.led
                ));
            }
        }
    }
    let elected_in = started.elapsed();
    eprintln!(
        "versus:   every application has a leader after {} ms",
        elected_in.as_millis()
    );
    let kill = w.kill_leader && lh.cluster.running().count() == 3;
    let leader = if kill {
        let status = tokio::time::timeout(Duration::from_secs(5), lh.client.status())
            .await
            .map_err(|_| "no status within 5 s".to_owned())?
            .map_err(|e| format!("reading the leader's status: {e}"))?;
        Some(status.leader.unwrap_or(status.id))
    } else {
        None
    };
    let mut probe = Probe::start(lh, leader).await;
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs_f64(w.seconds);
    state.mark();
    let before_kill = Duration::from_secs_f64((w.seconds / 4.0).min(1.0));
    let mut killed_at: Option<Instant> = None;
    let mut recovered: Option<Duration> = None;
    let mut first_read: Option<Duration> = None;
    let mut next_poll = t0;
    let mut next_progress = t0 + PROGRESS_EVERY;
    loop {
        let now = Instant::now();
        if let Some(id) = leader
            && killed_at.is_none()
            && now >= t0 + before_kill
        {
            probe.refresh(lh).await;
            let at = tokio::task::block_in_place(|| lh.cluster.kill(id))?;
            killed_at = Some(at);
            state.mark();
            eprintln!("versus:   killed node {id} (the Raft leader) with SIGKILL");
        }
        let waiting = killed_at.is_some_and(|k| recovered.is_none() && now < k + RECOVERY_TIMEOUT);
        if now >= end && !waiting {
            break;
        }
        if let Some(k) = killed_at
            && recovered.is_none()
            && now >= next_poll
        {
            next_poll = now + Duration::from_millis(50);
            let read = tokio::time::timeout(
                Duration::from_secs(2),
                lh.client.leases(Some(LEADERSHIP_NAMESPACE), Some(MODEL)),
            )
            .await;
            if let Ok(Ok(leases)) = read {
                let after = k.elapsed();
                first_read.get_or_insert(after);
                while let Ok(e) = rx.try_recv() {
                    state.apply(e);
                }
                if state.agree(&leases) {
                    recovered = Some(after);
                    eprintln!(
                        "versus:   every application has a leader again {} ms after the kill",
                        after.as_millis()
                    );
                }
            }
        }
        if now >= next_progress {
            eprintln!(
                "versus:   election {:.0} s: {} of {apps} applications led, {} changed leader",
                now.duration_since(t0).as_secs_f64(),
                state.led,
                state.changed.iter().filter(|c| **c).count()
            );
            next_progress = now + PROGRESS_EVERY;
        }
        tokio::select! {
            m = rx.recv() => if let Some(e) = m { state.apply(e) },
            () = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
    }
    while let Ok(e) = rx.try_recv() {
        state.apply(e);
    }
    let measured = probe.finish(lh).await;
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    measured.fill(measured.answers, row);
    let changes = state.changed.iter().filter(|c| **c).count() as u64;
    row.leader_changes = Some(changes);
    row.recovery_ms = recovered.map(|d| d.as_secs_f64() * 1_000.0);
    row.notes.push(format!(
        "election: each unit runs Client::track (the core tracker: claim, renew at half the 5 s lease, i.e. every 2.5 s); every application had a leader {} ms after the trackers started; ops = requests the nodes' engines answered in the measured time (claims, extensions, refusals); no latency figures (the tracker's requests are not timed)",
        elected_in.as_millis()
    ));
    row.notes.push(
        "leasehold's lease time is log time: a new Raft leader goes on from the committed log time, so no lease is reset or loses time (TTL reset does not apply)".into(),
    );
    match (leader, killed_at) {
        (Some(id), Some(_)) => {
            row.notes.push(format!(
                "node {id} (the Raft leader) killed with SIGKILL {:.1} s into the measured time; after it: {} applications changed leader ({} elected, {} deposed reports); the new leader served a linearizable read {}; recovery = until such a read showed every application held by the unit that believes it leads{}; CPU, disk and memory of the surviving nodes",
                before_kill.as_secs_f64(),
                changes,
                state.elected,
                state.deposed,
                first_read.map_or_else(
                    || "never".to_owned(),
                    |d| format!("{} ms after the kill", d.as_millis())
                ),
                if recovered.is_none() {
                    format!(" (not within {RECOVERY_TIMEOUT:?})")
                } else {
                    String::new()
                }
            ));
            match lh.cluster.restart(id).await {
                Ok(took) => row.notes.push(format!(
                    "after the measurement, node {id} started again on its data directory and listened after {} ms",
                    took.as_millis()
                )),
                Err(e) => row
                    .notes
                    .push(format!("node {id} did not start again: {e}")),
            }
        }
        _ => row.notes.push(if lh.cluster.running().count() == 1 {
            "one node: no leader to kill (skipped); leadership changes counted over the measured seconds".into()
        } else {
            "no kill (the workload does not ask for it); leadership changes counted over the measured seconds".into()
        }),
    }
    Ok(())
}
