//! etcd's side of `versus`: a cluster of 1 or 3 `etcd` members on free loopback ports
//! (each its own temporary data directory and log file, fsync on as by default, an 8 GiB
//! backend quota), driven through `etcd-client` for grants, transactions, elections and
//! reads, and through raw gRPC `LeaseKeepAlive` streams for keep-alives, each stream
//! carrying [`LEASES_PER_STREAM`] leases as etcd's Go client multiplexes the
//! keep-alives of a client on one stream (`etcd-client`'s `LeaseKeeper` is bound to one
//! lease and opens a stream per lease, which does not scale to 60,000 leases). Requests
//! and streams go to the Raft leader, as leasehold's client's do.
//!
//! A renewal fails when etcd answers that the lease is gone (TTL ≤ 0), when it is
//! answered after the lease would have expired (the send time of the last renewal that
//! succeeded plus the TTL: a conservative belief, etcd's own deadline is later), or when
//! it is not answered by the end of the run. A lease whose keep-alive is not answered
//! before that belief runs out is given up (no more keep-alives), as clientv3 drops a
//! lease whose keep-alive deadline passed.

use super::Binaries;
use super::nodes::{free_ports, tail};
use super::row::Row;
use super::stats::Latencies;
use super::usage::Usage;
use super::workload::{RENEW_EVERY, TTL, Workload};
use etcd_client::{Client, Compare, CompareOp, ConnectOptions, GetOptions, PutOptions, Txn, TxnOp};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fs::OpenOptions;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

/// How long the members may take to elect a leader and answer.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The bound on every request (campaigns excepted: they wait to be elected).
const RPC_TIMEOUT: Duration = Duration::from_secs(10);
/// The backend quota: 60,000 leases and their keys stay far below it.
const QUOTA_BYTES: u64 = 8 << 30;
/// `etcd-client` clients (each a balanced channel over every member).
const CLIENTS: usize = 8;
/// Grants in flight while the leases of a workload are set up (more makes etcd's
/// keep-alives of the leases already granted late, and leases expire).
const SETUP_INFLIGHT: usize = 64;
/// How long the leases of a workload may take to be set up.
const SETUP_TIMEOUT: Duration = Duration::from_secs(240);
/// claimer-abuse: contenders' claims in flight at most (the client's bound).
const CLAIMS_INFLIGHT: usize = 2_048;
/// overload: grants in flight at most (beyond it a grant is dropped by the client).
const GRANTS_INFLIGHT: usize = 8_192;
/// How long keep-alives in flight at the end are waited for.
const DRAIN: Duration = Duration::from_secs(3);
/// Leases a keep-alive stream carries. etcd answers a stream's keep-alives one after
/// another, and a keep-alive of a lease that has expired waits until the lease's
/// revocation is committed: every lease behind it on the stream waits too, misses its
/// renewal and expires in turn (a cascade). With thousands of leases a stream (one
/// clientv3 client holding them all), one late keep-alive loses them all; this many a
/// stream is like many clients holding a few dozen leases each.
const LEASES_PER_STREAM: usize = 50;
/// The connections to each member the keep-alive streams share.
const CONNECTIONS_PER_MEMBER: usize = 4;
/// The lease TTL, seconds, as etcd takes it.
const TTL_S: i64 = TTL.as_secs() as i64;
/// election: the TTL of the lease that shows whether etcd resets TTLs on a leader
/// change (never renewed).
const PROBE_TTL_S: i64 = 60;

/// The messages of etcd's `etcdserverpb.Lease/LeaseKeepAlive` (`rpc.proto`), for the raw
/// stream.
mod pb {
    /// `LeaseKeepAliveRequest`.
    #[derive(Clone, PartialEq, tonic_prost::prost::Message)]
    #[prost(prost_path = "::tonic_prost::prost")]
    pub struct KeepAliveRequest {
        /// The lease.
        #[prost(int64, tag = "1")]
        pub id: i64,
    }

    /// `LeaseKeepAliveResponse` (its header skipped).
    #[derive(Clone, PartialEq, tonic_prost::prost::Message)]
    #[prost(prost_path = "::tonic_prost::prost")]
    pub struct KeepAliveResponse {
        /// The lease.
        #[prost(int64, tag = "2")]
        pub id: i64,
        /// Its new TTL, seconds; ≤ 0: the lease is gone.
        #[prost(int64, tag = "3")]
        pub ttl: i64,
    }
}

// ---------------------------------------------------------------------------------------
// The cluster.

/// One member: its name, addresses, log and (while it runs) its process.
struct Member {
    name: String,
    client: SocketAddr,
    peer: SocketAddr,
    log: PathBuf,
    /// Its member id (learned from `status` once it runs).
    id: u64,
    child: Option<Child>,
}

/// A running etcd cluster. Dropping it kills every member.
struct Etcd {
    members: Vec<Member>,
    version: String,
    dir: tempfile::TempDir,
}

/// The WAL fsyncs and backend commits one member counted.
#[derive(Debug, Clone, Copy, Default)]
struct Disk {
    wal_fsyncs: f64,
    backend_commits: f64,
}

/// `f` bounded by [`RPC_TIMEOUT`], its error as text.
async fn rpc<T, E: std::fmt::Display>(f: impl Future<Output = Result<T, E>>) -> Result<T, String> {
    match tokio::time::timeout(RPC_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".into()),
    }
}

/// A client of `endpoints` (a balanced channel over them).
async fn connect(endpoints: &[String]) -> Result<Client, String> {
    let options = ConnectOptions::new().with_connect_timeout(Duration::from_secs(2));
    rpc(Client::connect(endpoints, Some(options))).await
}

/// [`CLIENTS`] clients of `endpoints`.
async fn clients(endpoints: &[String]) -> Result<Vec<Client>, String> {
    let mut v = Vec::new();
    for _ in 0..CLIENTS {
        v.push(connect(endpoints).await?);
    }
    Ok(v)
}

impl Etcd {
    /// Starts `n` members of `exe` and waits until they have a leader.
    async fn start(exe: &Path, n: usize) -> Result<Etcd, String> {
        if !exe.is_file() {
            return Err(format!(
                "no etcd at {} (run ./scripts/versus.sh, which fetches it, or pass --etcd PATH)",
                exe.display()
            ));
        }
        let dir = tempfile::Builder::new()
            .prefix("versus-etcd-")
            .tempdir()
            .map_err(|e| format!("making a temporary directory: {e}"))?;
        let ports = free_ports(2 * n)?;
        let members: Vec<Member> = (0..n)
            .map(|i| Member {
                name: format!("m{}", i + 1),
                client: ports[2 * i],
                peer: ports[2 * i + 1],
                log: dir.path().join(format!("m{}.log", i + 1)),
                id: 0,
                child: None,
            })
            .collect();
        let initial = members
            .iter()
            .map(|m| format!("{}=http://{}", m.name, m.peer))
            .collect::<Vec<_>>()
            .join(",");
        let mut etcd = Etcd {
            members,
            version: String::new(),
            dir,
        };
        for i in 0..n {
            let m = &etcd.members[i];
            let log = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&m.log)
                .map_err(|e| format!("opening {}: {e}", m.log.display()))?;
            let log2 = log.try_clone().map_err(|e| e.to_string())?;
            let mut cmd = Command::new(exe);
            // The environment's ETCD_* variables would be taken as flags.
            for (k, _) in std::env::vars_os() {
                if k.to_string_lossy().starts_with("ETCD_") {
                    cmd.env_remove(k);
                }
            }
            let child = cmd
                .arg(format!("--name={}", m.name))
                .arg(format!(
                    "--data-dir={}",
                    etcd.dir.path().join(&m.name).display()
                ))
                .arg(format!("--listen-client-urls=http://{}", m.client))
                .arg(format!("--advertise-client-urls=http://{}", m.client))
                .arg(format!("--listen-peer-urls=http://{}", m.peer))
                .arg(format!("--initial-advertise-peer-urls=http://{}", m.peer))
                .arg(format!("--initial-cluster={initial}"))
                .arg("--initial-cluster-state=new")
                .arg(format!(
                    "--initial-cluster-token=versus-{}",
                    std::process::id()
                ))
                .arg(format!("--quota-backend-bytes={QUOTA_BYTES}"))
                .arg("--logger=zap")
                .arg("--log-outputs=stderr")
                .stdin(Stdio::null())
                .stdout(Stdio::from(log2))
                .stderr(Stdio::from(log))
                .spawn()
                .map_err(|e| format!("starting {}: {e}", exe.display()))?;
            etcd.members[i].child = Some(child);
        }
        etcd.wait_healthy().await?;
        Ok(etcd)
    }

    /// Waits until every member answers `status` with the same leader; learns the
    /// members' ids.
    async fn wait_healthy(&mut self) -> Result<(), String> {
        let give_up = Instant::now() + START_TIMEOUT;
        loop {
            for m in &mut self.members {
                if let Some(c) = m.child.as_mut()
                    && let Ok(Some(status)) = c.try_wait()
                {
                    return Err(format!(
                        "etcd member {} exited ({status}); its log ends:\n{}",
                        m.name,
                        tail(&m.log, 2_000)
                    ));
                }
            }
            let mut leaders = Vec::new();
            for i in 0..self.members.len() {
                let ep = [format!("http://{}", self.members[i].client)];
                let answer = async {
                    let mut c = connect(&ep).await?;
                    tokio::time::timeout(Duration::from_secs(2), c.status())
                        .await
                        .map_err(|_| "timed out".to_owned())?
                        .map_err(|e| e.to_string())
                }
                .await;
                if let Ok(s) = answer {
                    self.members[i].id = s.header().map_or(0, |h| h.member_id());
                    self.version = s.version().to_owned();
                    leaders.push(s.leader());
                }
            }
            if leaders.len() == self.members.len()
                && leaders[0] != 0
                && leaders.iter().all(|&l| l == leaders[0])
            {
                return Ok(());
            }
            if Instant::now() >= give_up {
                return Err(format!(
                    "etcd did not elect a leader in {START_TIMEOUT:?}; m1's log ends:\n{}",
                    tail(&self.members[0].log, 2_000)
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The client URLs of the running members.
    fn endpoints(&self) -> Vec<String> {
        self.members
            .iter()
            .filter(|m| m.child.is_some())
            .map(|m| format!("http://{}", m.client))
            .collect()
    }

    /// The client URLs of the running members, the Raft leader's first.
    async fn leader_first(&self) -> Result<Vec<String>, String> {
        let leader = self.raft_leader().await?;
        let mut v = vec![format!("http://{}", self.members[leader].client)];
        v.extend(
            self.members
                .iter()
                .enumerate()
                .filter(|(i, m)| *i != leader && m.child.is_some())
                .map(|(_, m)| format!("http://{}", m.client)),
        );
        Ok(v)
    }

    /// The pids of the running members.
    fn pids(&self) -> Vec<u32> {
        self.members
            .iter()
            .filter_map(|m| m.child.as_ref().map(Child::id))
            .collect()
    }

    /// The index of the member that is the Raft leader, asked of the running members.
    async fn raft_leader(&self) -> Result<usize, String> {
        for ep in self.endpoints() {
            let Ok(mut c) = connect(std::slice::from_ref(&ep)).await else {
                continue;
            };
            if let Ok(s) = rpc(c.status()).await
                && let Some(i) = self.members.iter().position(|m| m.id == s.leader())
            {
                return Ok(i);
            }
        }
        Err("no member names a leader".into())
    }

    /// SIGKILLs member `i`; the time of the kill.
    fn kill(&mut self, i: usize) -> Result<Instant, String> {
        let mut child = self.members[i]
            .child
            .take()
            .ok_or_else(|| format!("member {} is not running", self.members[i].name))?;
        child
            .kill()
            .map_err(|e| format!("killing an etcd member: {e}"))?;
        let at = Instant::now();
        let _ = child.wait();
        Ok(at)
    }

    /// Every member's disk counters (`None`: not running or no answer).
    async fn disk(&self) -> Vec<Option<Disk>> {
        let mut v = Vec::new();
        for m in &self.members {
            v.push(if m.child.is_some() {
                disk_of(m.client).await
            } else {
                None
            });
        }
        v
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        for m in &mut self.members {
            if let Some(mut child) = m.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// A member's WAL fsyncs and backend commits, from its `/metrics`.
async fn disk_of(addr: SocketAddr) -> Option<Disk> {
    let body = tokio::time::timeout(Duration::from_secs(3), async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(format!("GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
            .await
            .ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).await.ok()?;
        Some(body)
    })
    .await
    .ok()
    .flatten()?;
    let counter = |name: &str| {
        body.lines().find_map(|l| {
            l.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .parse::<f64>()
                .ok()
        })
    };
    Some(Disk {
        wal_fsyncs: counter("etcd_disk_wal_fsync_duration_seconds_count")?,
        backend_commits: counter("etcd_disk_backend_commit_duration_seconds_count").unwrap_or(0.0),
    })
}

// ---------------------------------------------------------------------------------------
// Keep-alives: a few raw streams, many leases each.

/// One lease's place in a workload: the lease it holds now (0: none), when its holder
/// believes it expires (µs after [`Renewals::base`]) and whether etcd said it is gone.
#[derive(Default)]
struct Slot {
    lease: AtomicI64,
    expiry_us: AtomicU64,
    lost: AtomicBool,
}

/// The keep-alives of a workload: its slots, and what the measured renewals came to.
struct Renewals {
    base: Instant,
    slots: Vec<Slot>,
    /// Renewals sent while this is set are counted.
    measuring: AtomicBool,
    /// Set at the end: no more renewals are sent.
    stop: AtomicBool,
    latencies: Latencies,
    renewals: AtomicU64,
    failed: AtomicU64,
    /// Failed because etcd said the lease was gone.
    gone: AtomicU64,
    /// Failed because answered after the lease's believed expiry.
    late: AtomicU64,
    /// Failed because not answered by the end.
    unanswered: AtomicU64,
    /// Streams that broke and were opened again.
    reopened: AtomicU64,
    /// Every answer, measured or not (for the progress lines).
    answered_all: AtomicU64,
    /// Every answer saying the lease was gone, measured or not.
    gone_all: AtomicU64,
    /// Leases lost (etcd said gone) before the measured time.
    lost_before: AtomicU64,
    /// Leases given up: their keep-alives were not answered before their believed expiry.
    given_up: AtomicU64,
}

impl Renewals {
    fn new(slots: usize) -> Arc<Renewals> {
        Arc::new(Renewals {
            base: Instant::now(),
            slots: (0..slots).map(|_| Slot::default()).collect(),
            measuring: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            latencies: Latencies::new(),
            renewals: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            gone: AtomicU64::new(0),
            late: AtomicU64::new(0),
            unanswered: AtomicU64::new(0),
            reopened: AtomicU64::new(0),
            answered_all: AtomicU64::new(0),
            gone_all: AtomicU64::new(0),
            lost_before: AtomicU64::new(0),
            given_up: AtomicU64::new(0),
        })
    }

    /// `t` in µs after the base.
    fn us(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.base).as_micros()).unwrap_or(u64::MAX)
    }

    /// Slot `slot` holds lease `id`, granted by a request sent at `sent`.
    fn hold(&self, slot: usize, id: i64, sent: Instant) {
        let s = &self.slots[slot];
        s.expiry_us.store(self.us(sent + TTL), Relaxed);
        s.lost.store(false, Relaxed);
        s.lease.store(id, Relaxed);
    }

    /// Starts the measured time (noting the leases lost before it).
    fn start_measuring(&self) {
        let lost = self.slots.iter().filter(|s| s.lost.load(Relaxed)).count();
        self.lost_before.store(lost as u64, Relaxed);
        self.measuring.store(true, Relaxed);
    }

    /// The keep-alives answered so far, for a progress line.
    fn progress(&self) -> String {
        format!(
            "{} keep-alives answered ({} lease gone, {} leases given up unanswered), {} measured ({} failed)",
            self.answered_all.load(Relaxed),
            self.gone_all.load(Relaxed),
            self.given_up.load(Relaxed),
            self.renewals.load(Relaxed),
            self.failed.load(Relaxed)
        )
    }

    /// Whether slot `slot`'s holder believes it holds its lease at `t`.
    fn believes_held(&self, slot: usize, t: Instant) -> bool {
        let s = &self.slots[slot];
        !s.lost.load(Relaxed)
            && s.lease.load(Relaxed) != 0
            && s.expiry_us.load(Relaxed) > self.us(t)
    }

    /// The answer `(id, ttl)` to the renewal `sent`.
    fn answered(&self, sent: &Sent, ttl: i64) {
        let now = Instant::now();
        let slot = &self.slots[sent.slot];
        let current = slot.lease.load(Relaxed) == sent.id;
        let in_time = self.us(now) <= slot.expiry_us.load(Relaxed);
        self.answered_all.fetch_add(1, Relaxed);
        let failed = if ttl <= 0 {
            self.gone_all.fetch_add(1, Relaxed);
            if current {
                slot.lost.store(true, Relaxed);
                let _ = slot.lease.compare_exchange(sent.id, 0, Relaxed, Relaxed);
            }
            if sent.measured {
                self.gone.fetch_add(1, Relaxed);
            }
            true
        } else {
            if current {
                let until = self.us(sent.at + Duration::from_secs(ttl.unsigned_abs()));
                slot.expiry_us.fetch_max(until, Relaxed);
            }
            if !in_time && sent.measured {
                self.late.fetch_add(1, Relaxed);
            }
            !in_time
        };
        if sent.measured {
            self.renewals.fetch_add(1, Relaxed);
            self.latencies.record(sent.slot, now - sent.at);
            if failed {
                self.failed.fetch_add(1, Relaxed);
            }
        }
    }
}

/// A keep-alive sent and not yet answered.
#[derive(Debug, Clone, Copy)]
struct Sent {
    slot: usize,
    id: i64,
    at: Instant,
    measured: bool,
}

/// A keep-alive to send: its time, slot, lease, and whether it is a regular one (which
/// schedules the next) or a retry after a broken stream.
type Due = Reverse<(Instant, usize, i64, bool)>;

/// One open keep-alive stream.
struct Conn {
    tx: mpsc::UnboundedSender<pb::KeepAliveRequest>,
    rx: tonic::Streaming<pb::KeepAliveResponse>,
}

/// Opens a `LeaseKeepAlive` stream on `channel` carrying `first` (etcd answers the
/// stream's headers with its first answer, so the stream opens with requests in it).
async fn open_stream(channel: tonic::transport::Channel, first: &[i64]) -> Result<Conn, String> {
    let opening = async {
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.map_err(|e| e.to_string())?;
        let (tx, rx) = mpsc::unbounded_channel();
        for &id in first {
            let _ = tx.send(pb::KeepAliveRequest { id });
        }
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(
            "/etcdserverpb.Lease/LeaseKeepAlive",
        );
        let response = grpc
            .streaming(
                tonic::Request::new(
                    tonic::codegen::tokio_stream::wrappers::UnboundedReceiverStream::new(rx),
                ),
                path,
                tonic_prost::ProstCodec::<pb::KeepAliveRequest, pb::KeepAliveResponse>::default(),
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(Conn {
            tx,
            rx: response.into_inner(),
        })
    };
    tokio::time::timeout(RPC_TIMEOUT, opening)
        .await
        .unwrap_or_else(|_| Err("opening a keep-alive stream timed out".into()))
}

/// The connections the keep-alive streams share: [`CONNECTIONS_PER_MEMBER`] lazy
/// channels to each member (HTTP/2: many streams on each; a lazy channel reconnects by
/// itself).
fn keep_alive_channels(
    endpoints: &[String],
) -> Result<Vec<Vec<tonic::transport::Channel>>, String> {
    endpoints
        .iter()
        .map(|url| {
            let endpoint = tonic::transport::Endpoint::from_shared(url.clone())
                .map_err(|e| e.to_string())?
                .connect_timeout(Duration::from_secs(2))
                .tcp_nodelay(true);
            Ok((0..CONNECTIONS_PER_MEMBER)
                .map(|_| endpoint.connect_lazy())
                .collect())
        })
        .collect()
}

/// The next answer on `conn`; `None` when the stream broke (never, without a stream).
async fn next_answer(conn: &mut Option<Conn>) -> Option<pb::KeepAliveResponse> {
    match conn {
        Some(c) => c.rx.message().await.ok().flatten(),
        None => std::future::pending().await,
    }
}

/// One keep-alive stream's task: renews the leases added to it every [`RENEW_EVERY`]
/// from their grant, on one stream to member `ep` (the next member when it breaks),
/// until [`Renewals::stop`], then waits up to [`DRAIN`] for the answers in flight.
async fn keep_alive_task(
    channels: Arc<Vec<Vec<tonic::transport::Channel>>>,
    mut ep: usize,
    conn_index: usize,
    mut adds: mpsc::UnboundedReceiver<(usize, i64, Instant)>,
    r: Arc<Renewals>,
) {
    const TICK: Duration = Duration::from_millis(20);
    const RETRY: Duration = Duration::from_millis(100);
    let mut due: BinaryHeap<Due> = BinaryHeap::new();
    let mut inflight: VecDeque<Sent> = VecDeque::new();
    let mut conn: Option<Conn> = None;
    let mut adds_open = true;
    let mut drain_until: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if drain_until.is_none() && r.stop.load(Relaxed) {
            drain_until = Some(now + DRAIN);
        }
        if let Some(d) = drain_until
            && (inflight.is_empty() || now >= d)
        {
            break;
        }
        if drain_until.is_none() {
            let mut batch = Vec::new();
            while let Some(&Reverse((at, slot, id, regular))) = due.peek() {
                if at > now {
                    break;
                }
                due.pop();
                let held = &r.slots[slot];
                if held.lease.load(Relaxed) != id {
                    continue;
                }
                // No answer before the lease's believed expiry: its holder gives it up
                // (as clientv3 drops a lease whose keep-alive deadline passed).
                if r.us(now) > held.expiry_us.load(Relaxed) {
                    if held.lease.compare_exchange(id, 0, Relaxed, Relaxed).is_ok() {
                        held.lost.store(true, Relaxed);
                        r.given_up.fetch_add(1, Relaxed);
                    }
                    continue;
                }
                batch.push((slot, id));
                if regular {
                    due.push(Reverse((at + RENEW_EVERY, slot, id, true)));
                }
            }
            if !batch.is_empty() {
                let ids: Vec<i64> = batch.iter().map(|b| b.1).collect();
                let sent = match conn.as_ref() {
                    Some(c) => ids
                        .iter()
                        .all(|&id| c.tx.send(pb::KeepAliveRequest { id }).is_ok()),
                    None => match open_stream(
                        channels[ep][conn_index % channels[ep].len()].clone(),
                        &ids,
                    )
                    .await
                    {
                        Ok(c) => {
                            conn = Some(c);
                            true
                        }
                        Err(_) => false,
                    },
                };
                let at = Instant::now();
                if sent {
                    let measured = r.measuring.load(Relaxed);
                    for (slot, id) in batch {
                        inflight.push_back(Sent {
                            slot,
                            id,
                            at,
                            measured,
                        });
                    }
                } else {
                    conn = None;
                    ep = (ep + 1) % channels.len();
                    r.reopened.fetch_add(1, Relaxed);
                    for s in inflight.drain(..) {
                        due.push(Reverse((at + RETRY, s.slot, s.id, false)));
                    }
                    for (slot, id) in batch {
                        due.push(Reverse((at + RETRY, slot, id, false)));
                    }
                }
            }
        }
        let now = Instant::now();
        let wake = due
            .peek()
            .map_or(now + TICK, |d| d.0.0)
            .clamp(now, now + TICK);
        tokio::select! {
            add = adds.recv(), if adds_open => match add {
                Some((slot, id, granted)) => due.push(Reverse((granted + first_renewal(slot), slot, id, true))),
                None => adds_open = false,
            },
            () = tokio::time::sleep_until(wake.into()) => {}
            answer = next_answer(&mut conn) => match answer {
                Some(a) => {
                    if let Some(pos) = inflight.iter().position(|s| s.id == a.id)
                        && let Some(sent) = inflight.remove(pos)
                    {
                        r.answered(&sent, a.ttl);
                    }
                }
                None => {
                    conn = None;
                    ep = (ep + 1) % channels.len();
                    r.reopened.fetch_add(1, Relaxed);
                    let at = Instant::now() + RETRY;
                    for s in inflight.drain(..) {
                        due.push(Reverse((at, s.slot, s.id, false)));
                    }
                }
            },
        }
    }
    for s in inflight {
        if s.measured {
            r.renewals.fetch_add(1, Relaxed);
            r.failed.fetch_add(1, Relaxed);
            r.unanswered.fetch_add(1, Relaxed);
        }
    }
}

/// When the first keep-alive of slot `slot`'s lease goes, after its grant: spread over
/// [`RENEW_EVERY`] by slot (the golden ratio's fractions), so that the renewals of leases
/// granted in a burst are spread evenly over the period, as they are in a steady state.
fn first_renewal(slot: usize) -> Duration {
    let phase = (slot as f64 * 0.618_033_988_749_895).fract();
    RENEW_EVERY.mul_f64(phase.max(0.02))
}

/// The keep-alive streams of a workload.
struct Keeper {
    senders: Vec<mpsc::UnboundedSender<(usize, i64, Instant)>>,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
    r: Arc<Renewals>,
}

impl Keeper {
    /// `streams` streams to `endpoints[0]` (the Raft leader; the others when a stream
    /// breaks), spread over its connections.
    fn start(endpoints: &[String], streams: usize, r: &Arc<Renewals>) -> Result<Keeper, String> {
        let channels = Arc::new(keep_alive_channels(endpoints)?);
        let mut senders = Vec::new();
        let mut tasks = Vec::new();
        for i in 0..streams {
            let (tx, rx) = mpsc::unbounded_channel();
            senders.push(tx);
            tasks.push(tokio::spawn(keep_alive_task(
                channels.clone(),
                0,
                i,
                rx,
                r.clone(),
            )));
        }
        Ok(Keeper {
            senders,
            tasks: std::sync::Mutex::new(tasks),
            r: r.clone(),
        })
    }

    /// Keeps lease `id` of slot `slot`, granted by a request sent at `sent`, alive.
    fn add(&self, slot: usize, id: i64, sent: Instant) {
        self.r.hold(slot, id, sent);
        let _ = self.senders[slot % self.senders.len()].send((slot, id, sent));
    }

    /// Stops renewing; waits for the answers in flight.
    async fn finish(&self) {
        self.r.measuring.store(false, Relaxed);
        self.r.stop.store(true, Relaxed);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for mut t in tasks {
            if tokio::time::timeout(DRAIN + Duration::from_secs(2), &mut t)
                .await
                .is_err()
            {
                t.abort();
            }
        }
    }
}

/// How many keep-alive streams carry `leases` leases: about [`LEASES_PER_STREAM`] a
/// stream, at least one per member, at most 2,048.
fn streams_for(leases: usize, nodes: usize) -> usize {
    leases.div_ceil(LEASES_PER_STREAM).clamp(nodes, 2_048)
}

// ---------------------------------------------------------------------------------------
// Requests.

/// Grants a lease (TTL 5 s) and puts `key` with it if `key` is absent, as etcd's
/// election recipe does: `(lease, whether the key was put)`.
async fn grant_with_key(c: &mut Client, key: &str, value: &str) -> Result<(i64, bool), String> {
    let lease = rpc(c.lease_grant(TTL_S, None)).await?.id();
    let ok = put_if_absent(c, key, value, lease).await?;
    Ok((lease, ok))
}

/// Puts `key` with `lease` if it is absent (its create revision is 0).
async fn put_if_absent(c: &mut Client, key: &str, value: &str, lease: i64) -> Result<bool, String> {
    let txn = Txn::new()
        .when([Compare::create_revision(key, CompareOp::Equal, 0)])
        .and_then([TxnOp::put(
            key,
            value,
            Some(PutOptions::new().with_lease(lease)),
        )]);
    Ok(rpc(c.txn(txn)).await?.succeeded())
}

/// A small deterministic generator for jitter (splitmix64).
struct Jitter(u64);

impl Jitter {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A duration uniformly in `[lo, hi)`.
    fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        let span = u64::try_from((hi - lo).as_micros()).unwrap_or(1).max(1);
        lo + Duration::from_micros(self.next() % span)
    }
}

/// Grants `count` leases into slots `slot_of(0..count)` with an owner key each
/// (`key_of(i)`, put if absent), `SETUP_INFLIGHT` at a time, each kept alive by
/// `keeper` from its grant on. Fails if any lease could not be set up.
async fn setup_leases(
    clients: &[Client],
    keeper: &Keeper,
    count: usize,
    slot_of: impl Fn(usize) -> usize + Send + Sync + 'static,
    key_of: impl Fn(usize) -> String + Send + Sync + 'static,
) -> Result<(), String> {
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let slot_of = Arc::new(slot_of);
    let key_of = Arc::new(key_of);
    let give_up = started + SETUP_TIMEOUT;
    let mut tasks = Vec::new();
    for w in 0..SETUP_INFLIGHT.min(count) {
        let mut c = clients[w % clients.len()].clone();
        let (next, done, failed) = (next.clone(), done.clone(), failed.clone());
        let (slot_of, key_of) = (slot_of.clone(), key_of.clone());
        let r = keeper.r.clone();
        let senders = keeper.senders.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Relaxed);
                if i >= count || Instant::now() >= give_up {
                    break;
                }
                let slot = slot_of(i);
                let key = key_of(i);
                let mut ok = false;
                for _ in 0..3 {
                    let sent = Instant::now();
                    let Ok(g) = rpc(c.lease_grant(TTL_S, None)).await else {
                        continue;
                    };
                    r.hold(slot, g.id(), sent);
                    let _ = senders[slot % senders.len()].send((slot, g.id(), sent));
                    if let Ok(true) = put_if_absent(&mut c, &key, &format!("{slot}"), g.id()).await
                    {
                        ok = true;
                        break;
                    }
                }
                if ok {
                    done.fetch_add(1, Relaxed);
                } else {
                    failed.fetch_add(1, Relaxed);
                }
            }
        }));
    }
    let mut last_print = Instant::now();
    for t in &mut tasks {
        loop {
            match tokio::time::timeout(Duration::from_secs(1), &mut *t).await {
                Ok(_) => break,
                Err(_) if Instant::now() >= give_up + RPC_TIMEOUT => {
                    t.abort();
                    break;
                }
                Err(_) => {}
            }
            if last_print.elapsed() >= Duration::from_secs(3) {
                last_print = Instant::now();
                eprintln!(
                    "versus:   {} of {count} leases granted ({:.0} s); {}",
                    done.load(Relaxed),
                    started.elapsed().as_secs_f64(),
                    keeper.r.progress()
                );
            }
        }
    }
    let (done, failed) = (done.load(Relaxed), failed.load(Relaxed));
    eprintln!(
        "versus:   {done} leases with their keys in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if done < count {
        return Err(format!(
            "only {done} of {count} leases set up ({failed} failed) in {:.0} s",
            started.elapsed().as_secs_f64()
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The measured time and the row.

/// The servers' counters at the start of the measured time.
struct Mark {
    at: Instant,
    usage: Usage,
    disk: Vec<Option<Disk>>,
}

impl Mark {
    async fn now(etcd: &Etcd) -> Mark {
        let disk = etcd.disk().await;
        Mark {
            at: Instant::now(),
            usage: Usage::of(&etcd.pids()),
            disk,
        }
    }
}

/// What a killed member counted just before it was killed.
#[derive(Default)]
struct Killed {
    member: Option<usize>,
    usage: Usage,
    disk: Option<Disk>,
}

/// The row of a run: its measured time from `start` to `end`, `ops` operations.
fn fill_row(
    row: &mut Row,
    start: &Mark,
    end: &Mark,
    killed: &Killed,
    seconds: f64,
    ops: u64,
    latencies: &Latencies,
) {
    row.ops = ops;
    row.seconds = seconds;
    row.ops_per_sec = ops as f64 / seconds.max(1e-9);
    let l = latencies.summary();
    if l.count > 0 {
        row.p50_ms = Some(l.p50_ms);
        row.p99_ms = Some(l.p99_ms);
        row.max_ms = Some(l.max_ms);
    }
    let mut end_usage = end.usage;
    end_usage.disk_bytes += killed.usage.disk_bytes;
    end_usage.cpu_ticks += killed.usage.cpu_ticks;
    end_usage.peak_rss = end_usage.peak_rss.max(killed.usage.peak_rss);
    start.usage.fill(&end_usage, ops, row);
    let mut wal = 0.0;
    let mut commits = 0.0;
    let mut counted = 0;
    for (i, before) in start.disk.iter().enumerate() {
        let after = if killed.member == Some(i) {
            killed.disk
        } else {
            end.disk.get(i).copied().flatten()
        };
        if let (Some(b), Some(a)) = (before, after) {
            wal += a.wal_fsyncs - b.wal_fsyncs;
            commits += a.backend_commits - b.backend_commits;
            counted += 1;
        }
    }
    if counted > 0 {
        row.fsyncs_per_sec = Some(wal / seconds.max(1e-9));
        row.notes.push(format!(
            "fsyncs/s counts WAL fsyncs (etcd_disk_wal_fsync_duration_seconds_count, {counted} member{}); the bbolt backend also committed {:.0} times/s (each commit fsyncs too)",
            if counted == 1 { "" } else { "s" },
            commits / seconds.max(1e-9)
        ));
    }
}

/// The notes of the keep-alives of a run.
fn renewal_notes(row: &mut Row, r: &Renewals, streams: usize, leases: usize) {
    row.renewals = Some(r.renewals.load(Relaxed));
    row.renewals_failed = Some(r.failed.load(Relaxed));
    row.notes.push(format!(
        "keep-alives every 4.5 s (each lease's first one spread over the first 4.5 s so that renewals are even) on {streams} raw gRPC LeaseKeepAlive stream{} of about {} leases each (over {CONNECTIONS_PER_MEMBER} HTTP/2 connections to the Raft leader; to another member when a stream breaks), as if that many clientv3 clients each multiplexed its leases on its stream: etcd answers a stream's keep-alives in turn and one for an expired lease blocks its stream until the revocation commits, so fewer, fuller streams lose every lease behind one late keep-alive; a keep-alive is answered by the leader from memory, not written to the Raft log, while every leasehold extension is a durable log entry",
        if streams == 1 { "" } else { "s" },
        leases.div_ceil(streams.max(1))
    ));
    let lost = r.lost_before.load(Relaxed);
    if lost > 0 {
        row.notes.push(format!(
            "{lost} leases were lost before the measured time, while the leases were set up (etcd answered TTL 0, or no answer came before the lease's expiry), and were not renewed in it"
        ));
    }
    let failed = r.failed.load(Relaxed);
    if failed > 0 || r.reopened.load(Relaxed) > 0 {
        row.notes.push(format!(
            "renewals failed: {} lease gone, {} answered after the believed expiry, {} unanswered at the end (+3 s); leases given up unanswered (no more keep-alives) in all: {}; streams reopened {} times",
            r.gone.load(Relaxed),
            r.late.load(Relaxed),
            r.unanswered.load(Relaxed),
            r.given_up.load(Relaxed),
            r.reopened.load(Relaxed)
        ));
    }
}

// ---------------------------------------------------------------------------------------
// The workloads.

/// Runs `w` on an etcd cluster of `nodes`.
pub async fn run(w: &Workload, nodes: usize, bins: &Binaries) -> Result<Row, String> {
    let etcd = Etcd::start(&bins.etcd, nodes).await?;
    eprintln!(
        "versus:   etcd {} up: {} member{} in {}",
        etcd.version,
        nodes,
        if nodes == 1 { "" } else { "s" },
        etcd.dir.path().display()
    );
    let mut row = Row {
        system: "etcd".into(),
        workload: w.name.into(),
        nodes,
        ..Row::default()
    };
    row.notes.push(format!(
        "etcd {}, fsync on (defaults); requests go to the Raft leader, as leasehold's client's do ({CLIENTS} etcd-client clients; election: the units' clients balanced over every member, as clientv3's are)",
        etcd.version
    ));
    match w.name {
        "grant" => grant(w, &etcd, &mut row).await?,
        "renew-10k" | "renew-60k" => renew(w, &etcd, &mut row).await?,
        "claimer-abuse" => claimer_abuse(w, &etcd, &mut row).await?,
        "election" => election(w, etcd, &mut row).await?,
        "overload" => overload(w, &etcd, &mut row).await?,
        other => return Err(format!("no etcd workload `{other}`")),
    }
    Ok(row)
}

/// The longest back-off of a grant worker after a failure (from 50 ms, doubling).
const MAX_BACKOFF: Duration = Duration::from_millis(1_600);

/// Whether an error is etcd shedding load (`etcdserver: too many requests`: its applied
/// index is 5,000 entries behind its committed one).
fn is_shed(e: &str) -> bool {
    e.contains("too many requests")
}

/// `grant`: `w.leases` loops of `LeaseGrant` then the owner key's put-if-absent, 1 s of
/// warm-up, then `w.seconds` measured.
async fn grant(w: &Workload, etcd: &Etcd, row: &mut Row) -> Result<(), String> {
    let endpoints = etcd.leader_first().await?;
    let clients = clients(&endpoints[..1]).await?;
    let latencies = Arc::new(Latencies::new());
    let ops = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let shed = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    eprintln!(
        "versus:   {} grants in flight, 1 s of warm-up + {:.0} s",
        w.leases, w.seconds
    );
    let window = Instant::now() + Duration::from_secs(1);
    let end = window + Duration::from_secs_f64(w.seconds);
    let mut tasks = Vec::new();
    for i in 0..w.leases {
        let mut c = clients[i % clients.len()].clone();
        let (latencies, ops, refused, shed, errors, next) = (
            latencies.clone(),
            ops.clone(),
            refused.clone(),
            shed.clone(),
            errors.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut jitter = Jitter(i as u64 ^ 0x9a9a);
            let mut backoff = Duration::ZERO;
            while Instant::now() < end {
                let n = next.fetch_add(1, Relaxed);
                let t0 = Instant::now();
                let result = grant_with_key(&mut c, &format!("/versus/grant/{n}"), "owner").await;
                let t1 = Instant::now();
                let measured = t0 >= window && t1 <= end;
                match result {
                    Ok((_, true)) => {
                        backoff = Duration::ZERO;
                        if measured {
                            ops.fetch_add(1, Relaxed);
                            latencies.record(i, t1 - t0);
                        }
                    }
                    Ok((_, false)) => {
                        if measured {
                            refused.fetch_add(1, Relaxed);
                        }
                    }
                    Err(e) => {
                        let counter = if is_shed(&e) { &shed } else { &errors };
                        if measured {
                            counter.fetch_add(1, Relaxed);
                        }
                        // Back off exponentially (a client told to slow down does).
                        backoff = (backoff * 2).clamp(Duration::from_millis(50), MAX_BACKOFF);
                        tokio::time::sleep(jitter.between(backoff / 2, backoff)).await;
                    }
                }
            }
        }));
    }
    tokio::time::sleep_until(window.into()).await;
    let start = Mark::now(etcd).await;
    let mut last = (Instant::now(), ops.load(Relaxed));
    while Instant::now() < end {
        tokio::time::sleep(
            Duration::from_secs(5).min(end.saturating_duration_since(Instant::now())),
        )
        .await;
        let (now, n) = (Instant::now(), ops.load(Relaxed));
        eprintln!(
            "versus:   grant {:.0} s: {:.0} granted/s, {} shed so far",
            now.duration_since(window).as_secs_f64(),
            (n - last.1) as f64 / now.duration_since(last.0).as_secs_f64().max(1e-9),
            shed.load(Relaxed)
        );
        last = (now, n);
    }
    let stop = Mark::now(etcd).await;
    join_by(tasks, Instant::now() + RPC_TIMEOUT).await;
    fill_row(
        row,
        &start,
        &stop,
        &Killed::default(),
        w.seconds,
        ops.load(Relaxed),
        &latencies,
    );
    row.notes.push(format!(
        "grant: {} in flight (closed loop, 1 s of warm-up); one op = LeaseGrant (a Raft entry) + a put-if-absent Txn of the owner key (another), latency of the pair; the leases expire 5 s later and etcd's leader revokes each through Raft (a third entry)",
        w.leases
    ));
    let (refused, shed, errors) = (
        refused.load(Relaxed),
        shed.load(Relaxed),
        errors.load(Relaxed),
    );
    if refused + shed + errors > 0 {
        row.notes.push(format!(
            "{shed} requests shed by etcd (`too many requests`: applying 5,000 entries behind; the worker backs off exponentially, 50 ms to 1.6 s, jittered), {errors} failed otherwise, {refused} puts refused (key present)"
        ));
    }
    Ok(())
}

/// Sleeps `d`, a progress line every 5 s.
async fn measure_for(r: &Renewals, d: Duration) {
    let end = Instant::now() + d;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        tokio::time::sleep(left.min(Duration::from_secs(5))).await;
        eprintln!("versus:   {}", r.progress());
    }
}

/// Waits for `tasks` until `deadline`, then aborts what is left.
async fn join_by(tasks: Vec<JoinHandle<()>>, deadline: Instant) {
    for mut t in tasks {
        let left = deadline.saturating_duration_since(Instant::now());
        if tokio::time::timeout(left, &mut t).await.is_err() {
            t.abort();
        }
    }
}

/// Leases held with an owner key each and kept alive, on the Raft leader.
struct Held {
    clients: Vec<Client>,
    r: Arc<Renewals>,
    streams: usize,
    keeper: Keeper,
}

/// Connects to the leader, starts a keeper with `slots` renewal slots and sets up
/// `keys` leases into slots `slot_of(k)` with their owner keys `key_of(k)` (see
/// [`setup_leases`]); stops the keeper again when the setup fails.
async fn hold(
    etcd: &Etcd,
    slots: usize,
    keys: usize,
    slot_of: impl Fn(usize) -> usize + Send + Sync + 'static,
    key_of: impl Fn(usize) -> String + Send + Sync + 'static,
) -> Result<Held, String> {
    let endpoints = etcd.leader_first().await?;
    let clients = clients(&endpoints[..1]).await?;
    let r = Renewals::new(slots);
    let streams = streams_for(keys, endpoints.len());
    let keeper = Keeper::start(&endpoints, streams, &r)?;
    if let Err(e) = setup_leases(&clients, &keeper, keys, slot_of, key_of).await {
        keeper.finish().await;
        return Err(e);
    }
    Ok(Held {
        clients,
        r,
        streams,
        keeper,
    })
}

/// `renew-10k`, `renew-60k`: `w.leases` leases with a key each, kept alive.
async fn renew(w: &Workload, etcd: &Etcd, row: &mut Row) -> Result<(), String> {
    let Held {
        r, streams, keeper, ..
    } = hold(
        etcd,
        w.leases,
        w.leases,
        |i| i,
        |i| format!("/versus/renew/{i}"),
    )
    .await?;
    // Let the keep-alives of the setup settle into their cadence.
    tokio::time::sleep(Duration::from_millis(500)).await;
    eprintln!(
        "versus:   {} leases kept alive on {streams} streams; measuring {:.0} s",
        w.leases, w.seconds
    );
    let start = Mark::now(etcd).await;
    r.start_measuring();
    measure_for(&r, Duration::from_secs_f64(w.seconds)).await;
    r.measuring.store(false, Relaxed);
    let stop = Mark::now(etcd).await;
    keeper.finish().await;
    fill_row(
        row,
        &start,
        &stop,
        &Killed::default(),
        w.seconds,
        r.renewals.load(Relaxed),
        &r.latencies,
    );
    renewal_notes(row, &r, streams, w.leases);
    Ok(())
}

/// `claimer-abuse`: `w.leases` keys, each held by one of `w.contenders` units (a lease
/// kept alive, the key put with it) while the others try to take it every second or so
/// with a fresh lease and a put-if-absent (revoking the lease when the key was held).
async fn claimer_abuse(w: &Workload, etcd: &Etcd, row: &mut Row) -> Result<(), String> {
    let keys = w.leases;
    let units = w.contenders.max(2);
    let key_of = |k: usize| format!("/versus/abuse/{k}");
    let Held {
        clients,
        r,
        streams,
        keeper,
    } = hold(etcd, keys * units, keys, move |k| k * units, key_of).await?;
    let keeper = Arc::new(keeper);
    // Who holds each key (unit index), as the contenders learn it from their txns.
    let holder: Arc<Vec<AtomicUsize>> = Arc::new((0..keys).map(|_| AtomicUsize::new(0)).collect());
    let claims = Arc::new(AtomicU64::new(0));
    let taken = Arc::new(AtomicU64::new(0));
    let spurious = Arc::new(AtomicU64::new(0));
    let claim_errors = Arc::new(AtomicU64::new(0));
    let claim_latencies = Arc::new(Latencies::new());
    let permits = Arc::new(Semaphore::new(CLAIMS_INFLIGHT));
    let stop = Arc::new(AtomicBool::new(false));
    eprintln!(
        "versus:   {keys} keys held, {} contenders each retrying; measuring {:.0} s",
        units - 1,
        w.seconds
    );
    let start = Mark::now(etcd).await;
    r.start_measuring();
    let end = start.at + Duration::from_secs_f64(w.seconds);
    let mut tasks = Vec::new();
    for key in 0..keys {
        for unit in 0..units {
            let mut c = clients[(key * units + unit) % clients.len()].clone();
            let (
                holder,
                claims,
                taken,
                spurious,
                claim_errors,
                claim_latencies,
                permits,
                stop,
                keeper,
            ) = (
                holder.clone(),
                claims.clone(),
                taken.clone(),
                spurious.clone(),
                claim_errors.clone(),
                claim_latencies.clone(),
                permits.clone(),
                stop.clone(),
                keeper.clone(),
            );
            let key_name = key_of(key);
            tasks.push(tokio::spawn(async move {
                let me = key * units + unit;
                let mut jitter = Jitter(me as u64 ^ 0x5eed);
                // Spread the first attempts over the first second.
                tokio::time::sleep(jitter.between(Duration::ZERO, Duration::from_secs(1))).await;
                loop {
                    if stop.load(Relaxed) || Instant::now() >= end {
                        break;
                    }
                    let r = &keeper.r;
                    let holds = holder[key].load(Relaxed) == unit;
                    if !holds || r.slots[me].lost.load(Relaxed) {
                        let Ok(_permit) = permits.acquire().await else {
                            break;
                        };
                        if stop.load(Relaxed) {
                            break;
                        }
                        let t0 = Instant::now();
                        let result = async {
                            let lease = rpc(c.lease_grant(TTL_S, None)).await?.id();
                            let ok =
                                put_if_absent(&mut c, &key_name, &format!("{unit}"), lease).await?;
                            Ok::<_, String>((lease, ok))
                        }
                        .await;
                        let t1 = Instant::now();
                        let measured = r.measuring.load(Relaxed);
                        match result {
                            Ok((lease, true)) => {
                                let before = holder[key].swap(unit, Relaxed);
                                let before_slot = key * units + before;
                                if before != unit && r.believes_held(before_slot, t1) {
                                    spurious.fetch_add(1, Relaxed);
                                }
                                r.slots[before_slot].lease.store(0, Relaxed);
                                keeper.add(me, lease, t0);
                                if measured {
                                    taken.fetch_add(1, Relaxed);
                                }
                            }
                            Ok((lease, false)) => {
                                let _ = rpc(c.lease_revoke(lease)).await;
                            }
                            Err(_) => {
                                if measured {
                                    claim_errors.fetch_add(1, Relaxed);
                                }
                            }
                        }
                        if measured {
                            claims.fetch_add(1, Relaxed);
                            claim_latencies.record(me, t1 - t0);
                        }
                    }
                    tokio::time::sleep(
                        jitter.between(Duration::from_millis(500), Duration::from_millis(1_500)),
                    )
                    .await;
                }
            }));
        }
    }
    let mut last_print = Instant::now();
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if last_print.elapsed() >= Duration::from_secs(5) {
            last_print = Instant::now();
            eprintln!(
                "versus:   {} renewals ({} failed), {} claims ({} took the key)",
                r.renewals.load(Relaxed),
                r.failed.load(Relaxed),
                claims.load(Relaxed),
                taken.load(Relaxed)
            );
        }
    }
    r.measuring.store(false, Relaxed);
    stop.store(true, Relaxed);
    let stop_mark = Mark::now(etcd).await;
    join_by(tasks, Instant::now() + RPC_TIMEOUT).await;
    keeper.finish().await;
    let claims = claims.load(Relaxed);
    let renewals = r.renewals.load(Relaxed);
    fill_row(
        row,
        &start,
        &stop_mark,
        &Killed::default(),
        w.seconds,
        renewals + claims,
        &r.latencies,
    );
    renewal_notes(row, &r, streams, keys);
    row.spurious_changes = Some(spurious.load(Relaxed));
    let cl = claim_latencies.summary();
    row.notes.push(format!(
        "ops = holders' keep-alives + contenders' claims ({claims} claims, {:.0}/s, p50 {:.1} ms, p99 {:.1} ms; {} took the key, {} failed); a claim is LeaseGrant + put-if-absent Txn + LeaseRevoke when the key is held (three Raft entries), at most {CLAIMS_INFLIGHT} in flight; latency is the keep-alives'",
        claims as f64 / w.seconds,
        cl.p50_ms,
        cl.p99_ms,
        taken.load(Relaxed),
        claim_errors.load(Relaxed)
    ));
    row.notes.push(
        "a spurious change: a contender's put-if-absent succeeded before the holder's believed expiry (the send time of its last successful keep-alive + 5 s)".into(),
    );
    Ok(())
}

/// The leader of every application (`None`: no key), and how many keys there are, from
/// one read of the `/election/` prefix (the leader: the lowest create revision).
async fn election_leaders(
    c: &mut Client,
    apps: usize,
) -> Result<(Vec<Option<(i64, Vec<u8>)>>, usize), String> {
    let resp = rpc(c.get(
        "/election/",
        Some(GetOptions::new().with_prefix().with_keys_only()),
    ))
    .await?;
    let mut leaders: Vec<Option<(i64, Vec<u8>)>> = vec![None; apps];
    for kv in resp.kvs() {
        let Ok(key) = std::str::from_utf8(kv.key()) else {
            continue;
        };
        let Some(app) = key
            .strip_prefix("/election/")
            .and_then(|rest| rest.split('/').next())
            .and_then(|a| a.parse::<usize>().ok())
        else {
            continue;
        };
        if app >= apps {
            continue;
        }
        let rev = kv.create_revision();
        if leaders[app].as_ref().is_none_or(|(r, _)| rev < *r) {
            leaders[app] = Some((rev, kv.key().to_vec()));
        }
    }
    Ok((leaders, resp.kvs().len()))
}

/// The remaining TTL of `lease`, seconds.
async fn ttl_of(c: &mut Client, lease: i64) -> Result<i64, String> {
    Ok(rpc(c.lease_time_to_live(lease, None)).await?.ttl())
}

/// `election`: `w.leases` applications × `w.contenders` units campaigning with etcd's
/// election service (`concurrency.Election` on the server); then (three nodes) SIGKILL
/// of the Raft leader.
async fn election(w: &Workload, mut etcd: Etcd, row: &mut Row) -> Result<(), String> {
    let endpoints = etcd.leader_first().await?;
    // The units' clients are balanced over every member, as clientv3's are: their
    // campaigns go on through the others when the leader is killed.
    let clients = clients(&endpoints).await?;
    let apps = w.leases;
    let units = w.contenders.max(1);
    let r = Renewals::new(apps * units);
    let streams = streams_for(apps * units, endpoints.len());
    let keeper = Arc::new(Keeper::start(&endpoints, streams, &r)?);
    let permits = Arc::new(Semaphore::new(SETUP_INFLIGHT));
    let campaigns = Arc::new(AtomicU64::new(0));
    // Sessions that lost their lease in the measured time (and started another).
    let sessions = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let setup_started = Instant::now();
    let mut tasks = Vec::new();
    for app in 0..apps {
        for unit in 0..units {
            let mut c = clients[(app * units + unit) % clients.len()].clone();
            let (keeper, permits, campaigns, sessions, stop) = (
                keeper.clone(),
                permits.clone(),
                campaigns.clone(),
                sessions.clone(),
                stop.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let slot = app * units + unit;
                let mut election = c.election_client();
                let name = format!("/election/{app}");
                let value = format!("unit-{unit}");
                let r = keeper.r.clone();
                // A session: a lease kept alive and a campaign on it; when the lease is
                // lost (given up or gone), a new session, as a clientv3 application
                // whose `Session.Done()` fires starts one.
                loop {
                    let lease = loop {
                        if stop.load(Relaxed) {
                            return;
                        }
                        let Ok(_permit) = permits.acquire().await else {
                            return;
                        };
                        let sent = Instant::now();
                        if let Ok(g) = rpc(c.lease_grant(TTL_S, None)).await {
                            keeper.add(slot, g.id(), sent);
                            break g.id();
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    };
                    let lost = async {
                        while !stop.load(Relaxed) && r.slots[slot].lease.load(Relaxed) == lease {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    };
                    let campaign = async {
                        loop {
                            // A campaign waits until elected: bounded by the lease only.
                            match election
                                .campaign(name.as_str(), value.as_str(), lease)
                                .await
                            {
                                Ok(_) => {
                                    if r.measuring.load(Relaxed) {
                                        campaigns.fetch_add(1, Relaxed);
                                    }
                                    return;
                                }
                                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                            }
                        }
                    };
                    tokio::pin!(lost);
                    tokio::select! {
                        () = &mut lost => {}
                        () = campaign => lost.await,
                    }
                    if !stop.load(Relaxed) && r.measuring.load(Relaxed) {
                        sessions.fetch_add(1, Relaxed);
                    }
                }
            }));
        }
    }
    let abort_all = |tasks: &Vec<JoinHandle<()>>| {
        for t in tasks {
            t.abort();
        }
    };
    // Setup: every unit's key in place and every application with a leader.
    let mut reader = clients[0].clone();
    let give_up = setup_started + SETUP_TIMEOUT;
    let mut last_print = Instant::now();
    let before = loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if let Ok((leaders, keys)) = election_leaders(&mut reader, apps).await {
            let led = leaders.iter().filter(|l| l.is_some()).count();
            if keys >= apps * units && led == apps {
                break leaders;
            }
            if last_print.elapsed() >= Duration::from_secs(3) {
                last_print = Instant::now();
                eprintln!(
                    "versus:   {keys} of {} units campaigning, {led} of {apps} applications led",
                    apps * units
                );
            }
        }
        if Instant::now() >= give_up {
            stop.store(true, Relaxed);
            abort_all(&tasks);
            keeper.finish().await;
            return Err(format!(
                "the applications did not all have a leader in {SETUP_TIMEOUT:?}"
            ));
        }
    };
    eprintln!(
        "versus:   {apps} applications × {units} units campaigning, every one led ({:.1} s)",
        setup_started.elapsed().as_secs_f64()
    );
    let kill = w.kill_leader && etcd.members.len() == 3;
    let probe = if kill {
        Some(rpc(reader.lease_grant(PROBE_TTL_S, None)).await?.id())
    } else {
        None
    };
    let start = Mark::now(&etcd).await;
    r.start_measuring();
    let end = start.at + Duration::from_secs_f64(w.seconds);
    let mut changed = vec![false; apps];
    let mut killed = Killed::default();
    let mut recovery_ms = None;
    let mut ttls = None;
    if let Some(probe) = probe {
        // The probe's TTL must have run down visibly before the kill.
        let kill_at = start.at + Duration::from_secs_f64((w.seconds / 3.0).max(3.0));
        tokio::time::sleep_until(kill_at.into()).await;
        let ttl_before = ttl_of(&mut reader, probe).await?;
        let victim = etcd.raft_leader().await?;
        let pid = etcd.members[victim].child.as_ref().map(Child::id);
        killed.member = Some(victim);
        killed.usage = Usage::of(&pid.into_iter().collect::<Vec<_>>());
        killed.disk = disk_of(etcd.members[victim].client).await;
        let at = etcd.kill(victim)?;
        eprintln!(
            "versus:   SIGKILL of the Raft leader {} (probe lease TTL {ttl_before} s)",
            etcd.members[victim].name
        );
        let live = etcd.endpoints();
        let mut poller = connect(&live).await?;
        let recover_by = at + Duration::from_secs(30);
        while Instant::now() < recover_by {
            if let Ok((leaders, _)) = election_leaders(&mut poller, apps).await {
                for (app, l) in leaders.iter().enumerate() {
                    if let (Some((_, now)), Some((_, was))) = (l, &before[app])
                        && now != was
                    {
                        changed[app] = true;
                    }
                }
                if leaders.iter().all(Option::is_some) {
                    recovery_ms = Some(at.elapsed().as_secs_f64() * 1e3);
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let Some(ms) = recovery_ms else {
            stop.store(true, Relaxed);
            abort_all(&tasks);
            keeper.finish().await;
            return Err("the applications were not all led again 30 s after the kill".into());
        };
        eprintln!("versus:   every application led again {ms:.0} ms after the kill");
        let after = async {
            loop {
                if let Ok(t) = ttl_of(&mut poller, probe).await {
                    return (t, at.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        if let Ok((ttl_after, elapsed)) = tokio::time::timeout(RPC_TIMEOUT, after).await {
            ttls = Some((ttl_before, ttl_after, elapsed));
        }
        reader = poller;
    }
    // The rest of the measured time: leadership changes, polled.
    while Instant::now() < end {
        tokio::time::sleep(
            Duration::from_millis(500).min(end.saturating_duration_since(Instant::now())),
        )
        .await;
        if let Ok((leaders, _)) = election_leaders(&mut reader, apps).await {
            for (app, l) in leaders.iter().enumerate() {
                if let (Some((_, now)), Some((_, was))) = (l, &before[app])
                    && now != was
                {
                    changed[app] = true;
                }
            }
        }
    }
    let seconds = start.at.elapsed().as_secs_f64();
    r.measuring.store(false, Relaxed);
    stop.store(true, Relaxed);
    let stop_mark = Mark::now(&etcd).await;
    abort_all(&tasks);
    keeper.finish().await;
    let campaigns = campaigns.load(Relaxed);
    let renewals = r.renewals.load(Relaxed);
    fill_row(
        row,
        &start,
        &stop_mark,
        &killed,
        seconds,
        renewals + campaigns,
        &r.latencies,
    );
    renewal_notes(row, &r, streams, apps * units);
    row.leader_changes = Some(changed.iter().filter(|&&c| c).count() as u64);
    row.recovery_ms = recovery_ms;
    row.notes.push(format!(
        "campaigns through etcd's election service (v3election Campaign: put-if-absent of /election/APP/LEASE, then waits for the keys before it); ops = keep-alives + {campaigns} campaigns won in the measured time; {} units lost their lease in it (a keep-alive unanswered before the lease's believed expiry: given up, as clientv3 does) and campaigned again on a new one; latency is the keep-alives'; leaders read with one range of /election/ every 50 ms (after the kill) or 500 ms",
        sessions.load(Relaxed)
    ));
    if kill {
        row.notes.push(
            "recovery_ms: from the SIGKILL until a linearizable read showed every application led (etcd keeps the keys: leases do not expire on a leader change); the leadership changes come later, from the leases whose holders gave them up while no keep-alive was answered (the election outlasts the 0.5 s between a renewal and the lease's end), which etcd then expires".into(),
        );
        if let Some((before, after, elapsed)) = ttls {
            // A lease that is never renewed: its TTL only falls unless the new leader
            // reset it.
            let reset = after > before;
            row.ttl_reset = Some(reset);
            row.notes.push(format!(
                "ttl_reset: a {PROBE_TTL_S} s probe lease, never renewed, had {before} s left before the kill and {after} s {:.1} s after it",
                elapsed.as_secs_f64()
            ));
        }
        if let Some(i) = killed.member {
            row.notes.push(format!(
                "usage and fsyncs of the killed member ({}) counted up to the kill",
                etcd.members[i].name
            ));
        }
    } else if w.kill_leader {
        row.notes
            .push("one node: no leader killed (leader changes counted without a kill)".into());
    }
    Ok(())
}

/// `overload`: the renew workload of `w.leases` while a grant load (grant + owner key,
/// open loop) steps through `w.steps` grants per second.
async fn overload(w: &Workload, etcd: &Etcd, row: &mut Row) -> Result<(), String> {
    let held_key = |i| format!("/versus/overload/held/{i}");
    let Held {
        clients,
        r,
        streams,
        keeper,
    } = hold(etcd, w.leases, w.leases, |i| i, held_key).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let steps = w.steps.clone();
    let step = Duration::from_secs_f64(w.step_seconds);
    eprintln!(
        "versus:   {} leases kept alive on {streams} streams; grants stepping through {steps:?}/s, {:.0} s each",
        w.leases, w.step_seconds
    );
    let granted: Arc<Vec<AtomicU64>> = Arc::new(steps.iter().map(|_| AtomicU64::new(0)).collect());
    let failed: Arc<Vec<AtomicU64>> = Arc::new(steps.iter().map(|_| AtomicU64::new(0)).collect());
    let shed: Arc<Vec<AtomicU64>> = Arc::new(steps.iter().map(|_| AtomicU64::new(0)).collect());
    let mut dropped = vec![0u64; steps.len()];
    let mut offered = vec![0u64; steps.len()];
    let inflight = Arc::new(AtomicUsize::new(0));
    let grant_latencies = Arc::new(Latencies::new());
    let start = Mark::now(etcd).await;
    r.start_measuring();
    let mut tasks = Vec::new();
    let mut n = 0u64;
    let mut renewals_before = 0;
    for (i, &rate) in steps.iter().enumerate() {
        let step_start = Instant::now();
        let step_end = step_start + step;
        let mut issued = 0u64;
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        while Instant::now() < step_end {
            tick.tick().await;
            let due = (step_start.elapsed().as_secs_f64() * rate as f64) as u64;
            while issued < due.min(rate.saturating_mul(step.as_secs_f64().ceil() as u64)) {
                issued += 1;
                offered[i] += 1;
                if inflight.load(Relaxed) >= GRANTS_INFLIGHT {
                    dropped[i] += 1;
                    continue;
                }
                inflight.fetch_add(1, Relaxed);
                let mut c = clients[(n as usize) % clients.len()].clone();
                let key = format!("/versus/overload/grant/{n}");
                n += 1;
                let (granted, failed, shed, inflight, grant_latencies) = (
                    granted.clone(),
                    failed.clone(),
                    shed.clone(),
                    inflight.clone(),
                    grant_latencies.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let t0 = Instant::now();
                    match grant_with_key(&mut c, &key, "owner").await {
                        Ok((_, true)) => {
                            granted[i].fetch_add(1, Relaxed);
                            grant_latencies.record(i, t0.elapsed());
                        }
                        Err(e) if is_shed(&e) => {
                            shed[i].fetch_add(1, Relaxed);
                        }
                        _ => {
                            failed[i].fetch_add(1, Relaxed);
                        }
                    }
                    inflight.fetch_sub(1, Relaxed);
                }));
            }
        }
        let renewals = r.renewals.load(Relaxed);
        eprintln!(
            "versus:   step {rate}/s: {} granted so far, {} dropped at the client, renewals {} ({} failed so far)",
            granted[i].load(Relaxed),
            dropped[i],
            renewals - renewals_before,
            r.failed.load(Relaxed)
        );
        renewals_before = renewals;
    }
    let steps_seconds = start.at.elapsed().as_secs_f64();
    // Renew only for the rest of the measured time, if the steps were shorter.
    let rest = w.seconds - steps_seconds;
    if rest > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(rest)).await;
    }
    let seconds = start.at.elapsed().as_secs_f64();
    r.measuring.store(false, Relaxed);
    let stop_mark = Mark::now(etcd).await;
    join_by(tasks, Instant::now() + RPC_TIMEOUT).await;
    keeper.finish().await;
    let grants: u64 = granted.iter().map(|g| g.load(Relaxed)).sum();
    let renewals = r.renewals.load(Relaxed);
    fill_row(
        row,
        &start,
        &stop_mark,
        &Killed::default(),
        seconds,
        renewals + grants,
        &r.latencies,
    );
    renewal_notes(row, &r, streams, w.leases);
    let per_step: Vec<String> = steps
        .iter()
        .enumerate()
        .map(|(i, rate)| {
            format!(
                "{rate}/s: {} of {} granted ({} shed by etcd, {} failed otherwise, {} dropped at the client)",
                granted[i].load(Relaxed),
                offered[i],
                shed[i].load(Relaxed),
                failed[i].load(Relaxed),
                dropped[i]
            )
        })
        .collect();
    let gl = grant_latencies.summary();
    row.notes.push(format!(
        "ops = keep-alives + {grants} grants (grant + owner key, open loop, at most {GRANTS_INFLIGHT} in flight; grant p50 {:.1} ms, p99 {:.1} ms); per step of {:.0} s: {}; latency and renewals failed are the keep-alives'",
        gl.p50_ms,
        gl.p99_ms,
        w.step_seconds,
        per_step.join("; ")
    ));
    Ok(())
}
