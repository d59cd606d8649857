//! Throughput and latency of lease operations through one interface: the Rust client's
//! binary stream or HTTP/JSON with keep-alive.
//!
//! Every worker (closed loop) or schedule slot (open loop) has a lease of its own: it
//! claims it, then extends it, so no two requests in flight name the same lease and the
//! engine never merges them. Every request counted is one durable operation: answered
//! only once its batch is committed on a majority of fsync'ing nodes.

use crate::stats::{Answer, CountSummary, Counts, Latencies, LatencySummary};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use leasehold::{Key, LEADERSHIP_NAMESPACE, Op};
use leasehold_server::client::Client;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The duration of every lease these phases claim and extend.
const LEASE: Duration = Duration::from_secs(60);

/// How long requests still in flight at the end of a run may take to finish.
const DRAIN: Duration = Duration::from_secs(15);

/// An interface to the leader.
pub enum Target {
    /// The Rust client (binary stream).
    Client(Client),
    /// HTTP/JSON with keep-alive connections to the leader's address.
    Http(Box<Http>),
}

/// The HTTP side: a pooled keep-alive client and the leader's base URL.
pub struct Http {
    client: HttpClient<HttpConnector, Full<Bytes>>,
    base: String,
}

impl Http {
    /// A client of `addr` keeping up to `connections` idle connections.
    pub fn new(addr: &str, connections: usize) -> Http {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let client = HttpClient::builder(TokioExecutor::new())
            .pool_max_idle_per_host(connections)
            .pool_idle_timeout(Duration::from_secs(300))
            .build(connector);
        Http {
            client,
            base: format!("http://{addr}"),
        }
    }

    /// `GET path`: the status and body.
    pub async fn get(&self, path: &str) -> Result<(StatusCode, Bytes), String> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(format!("{}{path}", self.base))
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, body))
    }

    /// `POST /v1/{kind}` with a JSON body.
    async fn post(&self, kind: &str, body: String) -> Answer {
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}/v1/{kind}", self.base))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)));
        let Ok(request) = request else {
            return Answer::Rejected;
        };
        let Ok(response) = self.client.request(request).await else {
            return Answer::Failed;
        };
        let status = response.status();
        let Ok(body) = response.into_body().collect().await else {
            return Answer::Failed;
        };
        let body = body.to_bytes();
        let has = |word: &[u8]| body.windows(word.len()).any(|w| w == word);
        match status {
            StatusCode::OK => Answer::Ok,
            StatusCode::CONFLICT => Answer::Refused,
            StatusCode::BAD_REQUEST => Answer::Rejected,
            StatusCode::GATEWAY_TIMEOUT => Answer::Deadline,
            StatusCode::SERVICE_UNAVAILABLE if has(b"\"shed\"") => Answer::Shed,
            StatusCode::SERVICE_UNAVAILABLE if has(b"\"aborted\"") => Answer::Aborted,
            _ => Answer::Failed,
        }
    }
}

/// One lease of a worker: its key and holder.
pub struct Lease {
    key: Key,
    holder: Arc<str>,
}

impl Lease {
    /// Lease `i` of the leases tagged `tag`.
    pub fn new(tag: &Arc<str>, i: usize) -> Lease {
        Lease {
            key: Key::new(LEADERSHIP_NAMESPACE, tag.clone(), format!("l-{i}")),
            holder: Arc::from(format!("w-{i}")),
        }
    }
}

impl Target {
    /// Claims (`claim`) or extends `lease` for its holder.
    pub async fn op(&self, claim: bool, lease: &Lease) -> Answer {
        match self {
            Target::Client(client) => {
                let op = if claim {
                    Op::claim(lease.key.clone(), lease.holder.clone(), LEASE)
                } else {
                    Op::extend(lease.key.clone(), lease.holder.clone(), LEASE)
                };
                match client.request(op).await {
                    Ok(outcome) => Answer::of(&outcome),
                    Err(_) => Answer::Failed,
                }
            }
            Target::Http(http) => {
                let body = format!(
                    r#"{{"namespace":"{}","model":"{}","lease":"{}","holder":"{}","durationMs":{}}}"#,
                    lease.key.namespace,
                    lease.key.model,
                    lease.key.lease,
                    lease.holder,
                    LEASE.as_millis()
                );
                http.post(if claim { "claim" } else { "extend" }, body)
                    .await
            }
        }
    }
}

/// What a closed-loop run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// The measured window (after the warm-up), seconds.
    pub seconds: f64,
    /// Operations answered `ok` per second in the window.
    pub ops_per_sec: f64,
    /// Latency of the requests sent in the window.
    pub latency: LatencySummary,
    /// Every answer in the window, by kind.
    pub answers: CountSummary,
}

/// Shared state of one run's workers.
struct Shared {
    target: Arc<Target>,
    latencies: Latencies,
    /// Answers of requests sent in the window.
    counts: Counts,
    /// Answers `ok` at any time, for progress.
    progress: AtomicU64,
}

/// Prints progress every two seconds until `end`.
async fn report_progress(label: String, shared: Arc<Shared>, started: Instant, end: Instant) {
    let mut last = (started, 0u64);
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_secs(2).min(end - Instant::now())).await;
        let now = Instant::now();
        let ok = shared.progress.load(Relaxed);
        let rate = (ok - last.1) as f64 / now.duration_since(last.0).as_secs_f64();
        eprintln!(
            "{label}: {:.0} s, {ok} ok, {rate:.0} ok/s",
            now.duration_since(started).as_secs_f64()
        );
        last = (now, ok);
    }
}

/// Waits for the tasks to end, at most [`DRAIN`]; aborts the rest.
async fn drain(mut tasks: JoinSet<()>) {
    let _ = tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
    tasks.abort_all();
}

/// Runs `concurrency` workers for `seconds` (the first `warmup` not measured), each
/// claiming its lease of those tagged `tag` and then extending it, one request at a
/// time.
pub async fn closed_loop(
    label: &str,
    target: Arc<Target>,
    tag: &str,
    concurrency: usize,
    seconds: f64,
    warmup: f64,
) -> Throughput {
    let tag: Arc<str> = Arc::from(tag);
    let shared = Arc::new(Shared {
        target,
        latencies: Latencies::new(),
        counts: Counts::default(),
        progress: AtomicU64::new(0),
    });
    let started = Instant::now();
    let window_start = started + Duration::from_secs_f64(warmup);
    let end = window_start + Duration::from_secs_f64(seconds);
    eprintln!("{label}: {concurrency} workers for {warmup:.0} + {seconds:.0} s");
    let mut tasks = JoinSet::new();
    for i in 0..concurrency {
        let shared = Arc::clone(&shared);
        let lease = Lease::new(&tag, i);
        tasks.spawn(async move {
            let mut claimed = false;
            loop {
                let sent = Instant::now();
                if sent >= end {
                    return;
                }
                let answer = shared.target.op(!claimed, &lease).await;
                let done = Instant::now();
                claimed = match answer {
                    Answer::Ok => true,
                    Answer::Refused => false,
                    _ => claimed,
                };
                if answer == Answer::Ok {
                    shared.progress.fetch_add(1, Relaxed);
                }
                if sent >= window_start && done <= end {
                    shared.counts.add(answer);
                    shared.latencies.record(i, done - sent);
                }
                if answer == Answer::Failed {
                    // No answer: do not spin on a broken connection.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        });
    }
    let progress = tokio::spawn(report_progress(
        label.to_owned(),
        Arc::clone(&shared),
        started,
        end,
    ));
    drain(tasks).await;
    progress.abort();
    let answers = shared.counts.summary();
    Throughput {
        concurrency,
        seconds,
        ops_per_sec: answers.ok as f64 / seconds,
        latency: shared.latencies.summary(),
        answers,
    }
}

/// What an open-loop run measured.
#[derive(Debug, Clone, Serialize)]
pub struct OpenLoop {
    /// The schedule's rate, requests per second.
    pub rate: f64,
    /// The run's length, seconds.
    pub seconds: f64,
    /// The most requests in flight at once.
    pub max_in_flight: usize,
    /// Requests scheduled.
    pub scheduled: u64,
    /// Requests not sent because too many were already waiting (the system fell far
    /// behind the schedule).
    pub dropped: u64,
    /// Operations answered `ok` per second.
    pub ops_per_sec: f64,
    /// Latency from each request's scheduled time (so waiting for a slot counts).
    pub latency: LatencySummary,
    /// Every answer, by kind.
    pub answers: CountSummary,
}

/// Sends requests at `rate` per second for `seconds` on a fixed schedule, whatever the
/// answers, at most `max_in_flight` at once (beyond that they wait, and their waiting
/// counts in their latency). Request `k` goes to lease `k mod P` of those tagged `tag`,
/// with `P` two seconds' worth of requests: claimed the first time, extended after.
pub async fn open_loop(
    label: &str,
    target: Arc<Target>,
    tag: &str,
    rate: f64,
    seconds: f64,
    max_in_flight: usize,
) -> OpenLoop {
    let tag: Arc<str> = Arc::from(tag);
    let rate = rate.max(1.0);
    let pool = ((rate * 2.0).ceil() as usize).max(max_in_flight).max(1);
    let leases: Arc<Vec<(Lease, AtomicBool)>> = Arc::new(
        (0..pool)
            .map(|i| (Lease::new(&tag, i), AtomicBool::new(false)))
            .collect(),
    );
    let shared = Arc::new(Shared {
        target,
        latencies: Latencies::new(),
        counts: Counts::default(),
        progress: AtomicU64::new(0),
    });
    let slots = Arc::new(Semaphore::new(max_in_flight));
    // Requests waiting for a slot or in flight; beyond four windows' worth the system
    // is hopelessly behind and new ones are dropped (and counted) to bound memory.
    let waiting = Arc::new(AtomicU64::new(0));
    let most_waiting = 4 * max_in_flight as u64;
    let started = Instant::now();
    let end = started + Duration::from_secs_f64(seconds);
    eprintln!("{label}: {rate:.0} requests/s on a fixed schedule for {seconds:.0} s");
    let progress = tokio::spawn(report_progress(
        label.to_owned(),
        Arc::clone(&shared),
        started,
        end,
    ));
    let mut tasks = JoinSet::new();
    let total = (rate * seconds) as u64;
    let (mut issued, mut dropped) = (0u64, 0u64);
    while issued < total {
        let now = Instant::now();
        let due = ((now - started).as_secs_f64() * rate) as u64;
        while issued < due.min(total) {
            let k = issued;
            issued += 1;
            if waiting.load(Relaxed) >= most_waiting {
                dropped += 1;
                continue;
            }
            waiting.fetch_add(1, Relaxed);
            let scheduled = started + Duration::from_secs_f64(k as f64 / rate);
            let (shared, leases, slots, waiting) = (
                Arc::clone(&shared),
                Arc::clone(&leases),
                Arc::clone(&slots),
                Arc::clone(&waiting),
            );
            tasks.spawn(async move {
                let Ok(_slot) = slots.acquire().await else {
                    return;
                };
                let (lease, claimed) = &leases[(k % pool as u64) as usize];
                let claim = !claimed.load(Relaxed);
                let answer = shared.target.op(claim, lease).await;
                match answer {
                    Answer::Ok => claimed.store(true, Relaxed),
                    Answer::Refused => claimed.store(false, Relaxed),
                    _ => {}
                }
                if answer == Answer::Ok {
                    shared.progress.fetch_add(1, Relaxed);
                }
                shared.counts.add(answer);
                shared.latencies.record(k as usize, scheduled.elapsed());
                waiting.fetch_sub(1, Relaxed);
            });
        }
        // Reap finished tasks so the set stays small.
        while tasks.try_join_next().is_some() {}
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    drain(tasks).await;
    progress.abort();
    let answers = shared.counts.summary();
    OpenLoop {
        rate,
        seconds,
        max_in_flight,
        scheduled: total,
        dropped,
        ops_per_sec: answers.ok as f64 / seconds,
        latency: shared.latencies.summary(),
        answers,
    }
}
