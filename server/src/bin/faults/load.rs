//! The load: trackers on leadership keys (their beliefs), holders sending claims,
//! renewals, rival claims, pins, handovers and revocations (in both the ordinary and
//! the singular namespace), and a reader of `leases`; everything recorded in a
//! [`History`].

use crate::cluster::http;
use leasehold::{Key, LEADERSHIP_NAMESPACE, Op, Outcome, SINGULAR_NAMESPACE};
use leasehold_server::client::{Client, Leadership};
use leasehold_server::history::{Belief, History, ReadRecord, RequestRecord};
use leasehold_server::wire::Leases;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// How long the trackers' leases last.
pub const TRACK_LEASE: Duration = Duration::from_secs(2);
/// How long the holders' claims and renewals last.
pub const CLAIM_LEASE: Duration = Duration::from_secs(3);
/// How many request-sending holders.
const HOLDERS: u32 = 10;
/// How many leadership keys, and trackers on each.
const TRACKED_KEYS: usize = 4;
const TRACKERS_PER_KEY: usize = 3;

/// The history being recorded, with the clock it is recorded on.
#[derive(Debug)]
pub struct Recorder {
    start: Instant,
    history: Mutex<History>,
}

impl Recorder {
    /// A recorder whose time zero is now.
    pub fn new() -> Recorder {
        Recorder {
            start: Instant::now(),
            history: Mutex::new(History::default()),
        }
    }

    /// Microseconds since the start.
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Changes the history.
    pub fn with<T>(&self, f: impl FnOnce(&mut History) -> T) -> T {
        let mut h = self
            .history
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut h)
    }

    /// A copy of the history.
    pub fn snapshot(&self) -> History {
        self.with(|h| h.clone())
    }
}

/// The running load.
#[derive(Debug)]
pub struct Load {
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
    trackers: Vec<JoinHandle<()>>,
}

impl Load {
    /// Starts the load over `trackers` (the client the trackers use) and `requests`
    /// (the one the holders and the reader use), with an HTTP reader of `nodes`.
    pub fn start(
        recorder: &Arc<Recorder>,
        trackers: &Client,
        requests: &Client,
        nodes: Vec<SocketAddr>,
        seed: u64,
    ) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let mut load = Load {
            stop: Arc::clone(&stop),
            workers: Vec::new(),
            trackers: Vec::new(),
        };
        for k in 0..TRACKED_KEYS {
            let key = Key::new(LEADERSHIP_NAMESPACE, "faults", format!("app-{k}"));
            for h in 0..TRACKERS_PER_KEY {
                let holder = format!("app-{k}/{h}");
                let tracking = trackers.track(key.clone(), &holder, TRACK_LEASE);
                load.trackers
                    .push(tokio::spawn(track(Arc::clone(recorder), holder, tracking)));
            }
        }
        let inboxes: Inboxes = Arc::new(Mutex::new(HashMap::new()));
        for p in 0..HOLDERS {
            let rng = StdRng::seed_from_u64(seed.wrapping_mul(1000).wrapping_add(u64::from(p)));
            load.workers.push(tokio::spawn(holder(
                Arc::clone(recorder),
                requests.clone(),
                p,
                rng,
                Arc::clone(&inboxes),
                Arc::clone(&stop),
            )));
        }
        load.workers.push(tokio::spawn(reader(
            Arc::clone(recorder),
            requests.clone(),
            100,
            Arc::clone(&stop),
        )));
        load.workers.push(tokio::spawn(http_reader(
            Arc::clone(recorder),
            nodes,
            101,
            stop,
        )));
        load
    }

    /// Stops the load: the holders finish their requests in flight (up to `limit`), the
    /// trackers are dropped (their leases lapse).
    pub async fn stop(self, limit: Duration) {
        self.stop.store(true, Ordering::SeqCst);
        let give_up = tokio::time::Instant::now() + limit;
        for w in self.workers {
            let _ = tokio::time::timeout_at(give_up, w).await;
        }
        for t in self.trackers {
            t.abort();
        }
    }
}

async fn track(
    recorder: Arc<Recorder>,
    holder: String,
    mut tracking: leasehold_server::client::Tracking,
) {
    let mut open: Option<usize> = None;
    while let Some(change) = tracking.next().await {
        let now = recorder.now_us();
        match change {
            Leadership::Elected { key, token } => recorder.with(|h| {
                if let Some(i) = open.take() {
                    h.beliefs[i].deposed_us = Some(now);
                }
                h.beliefs.push(Belief {
                    holder: holder.clone(),
                    key,
                    token,
                    elected_us: now,
                    deposed_us: None,
                });
                open = Some(h.beliefs.len() - 1);
            }),
            Leadership::Deposed { .. } => recorder.with(|h| {
                if let Some(i) = open.take() {
                    h.beliefs[i].deposed_us = Some(now);
                }
            }),
        }
    }
}

/// The keys the holders contend for.
fn pool() -> Vec<Key> {
    let mut keys: Vec<Key> = (0..4)
        .map(|i| Key::new("jobs", "faults", format!("job-{i}")))
        .collect();
    keys.extend((0..2).map(|i| Key::new(SINGULAR_NAMESPACE, "faults", format!("worker-{i}"))));
    keys
}

async fn send(recorder: &Recorder, client: &Client, process: u32, op: Op) -> Option<Outcome> {
    let sent_us = recorder.now_us();
    let traced = client.request_traced(op.clone()).await;
    let received_us = recorder.now_us();
    let outcome = traced.outcome.map_err(|e| e.to_string());
    let result = outcome.as_ref().ok().cloned();
    recorder.with(|h| {
        h.requests.push(RequestRecord {
            process,
            op,
            sent_us,
            received_us,
            outcome,
            names: traced.names,
        });
    });
    result
}

/// The leases handed over to each holder that it has not yet taken note of, with when.
type Inboxes = Arc<Mutex<HashMap<u32, Vec<(Key, Instant)>>>>;

/// One holder: claims keys of the pool (rivalling the others), renews what it holds,
/// pins and unpins, hands leases over and revokes them.
async fn holder(
    recorder: Arc<Recorder>,
    client: Client,
    p: u32,
    mut rng: StdRng,
    inboxes: Inboxes,
    stop: Arc<AtomicBool>,
) {
    let keys = pool();
    let me = format!("holder-{p}");
    let entity = format!("machine-{p}");
    // What it holds, and when it last had that confirmed.
    let mut held: Vec<(Key, Instant)> = Vec::new();
    let mut pinned: Vec<Key> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        if let Some(given) = inboxes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&p)
        {
            held.extend(given);
        }
        held.retain(|(_, at)| at.elapsed() < CLAIM_LEASE - Duration::from_millis(500));
        let due = held
            .iter()
            .position(|(_, at)| at.elapsed() >= Duration::from_millis(800));
        let roll = rng.random_range(0..100);
        if let Some(i) = due {
            let key = held[i].0.clone();
            let at = Instant::now();
            let outcome = send(
                &recorder,
                &client,
                p,
                Op::extend(key, me.as_str(), CLAIM_LEASE),
            )
            .await;
            if outcome.as_ref().is_some_and(Outcome::is_ok) {
                held[i].1 = at;
            } else {
                held.remove(i);
            }
        } else if roll < 45 {
            let key = keys[rng.random_range(0..keys.len())].clone();
            if !held.iter().any(|(k, _)| *k == key) {
                let at = Instant::now();
                let outcome = send(
                    &recorder,
                    &client,
                    p,
                    Op::claim(key.clone(), me.as_str(), CLAIM_LEASE),
                )
                .await;
                if outcome.as_ref().is_some_and(Outcome::is_ok) {
                    held.push((key, at));
                }
            }
        } else if roll < 55 {
            let key = keys[rng.random_range(0..keys.len())].clone();
            if !pinned.contains(&key) {
                let outcome =
                    send(&recorder, &client, p, Op::pin(key.clone(), entity.as_str())).await;
                if outcome.as_ref().is_some_and(Outcome::is_ok) {
                    pinned.push(key);
                }
            }
        } else if roll < 65 {
            if !pinned.is_empty() {
                let key = pinned.swap_remove(rng.random_range(0..pinned.len()));
                send(&recorder, &client, p, Op::unpin(key, entity.as_str())).await;
            }
        } else if roll < 70 {
            if !held.is_empty() {
                let (key, _) = held.swap_remove(rng.random_range(0..held.len()));
                let q = (p + 1 + rng.random_range(0..HOLDERS - 1)) % HOLDERS;
                let to = format!("holder-{q}");
                let at = Instant::now();
                let op = Op::handover(key.clone(), me.as_str(), to, CLAIM_LEASE);
                if send(&recorder, &client, p, op)
                    .await
                    .as_ref()
                    .is_some_and(Outcome::is_ok)
                {
                    inboxes
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .entry(q)
                        .or_default()
                        .push((key, at));
                }
            }
        } else if roll < 75 && !held.is_empty() {
            let (key, _) = held.swap_remove(rng.random_range(0..held.len()));
            send(&recorder, &client, p, Op::revoke(key, me.as_str())).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(10..50))).await;
    }
    for key in pinned {
        send(&recorder, &client, p, Op::unpin(key, entity.as_str())).await;
    }
}

/// Reads every lease every 300 ms.
async fn reader(recorder: Arc<Recorder>, client: Client, process: u32, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        let sent_us = recorder.now_us();
        let result = client.leases(None, None).await.map_err(|e| e.to_string());
        let received_us = recorder.now_us();
        recorder.with(|h| {
            h.reads.push(ReadRecord {
                process,
                sent_us,
                received_us,
                result,
            });
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Reads every lease over HTTP (`GET /v1/leases`) from each node in turn, followers
/// included (they forward the read), every 150 ms.
async fn http_reader(
    recorder: Arc<Recorder>,
    nodes: Vec<SocketAddr>,
    process: u32,
    stop: Arc<AtomicBool>,
) {
    for i in 0.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let addr = nodes[i % nodes.len()];
        let sent_us = recorder.now_us();
        let answer = http(addr, "GET", "/v1/leases", None, Duration::from_secs(5)).await;
        let received_us = recorder.now_us();
        let result = match answer {
            Ok((200, body)) => {
                serde_json::from_str::<Leases>(&body).map_err(|e| format!("{addr}: {e}: {body}"))
            }
            Ok((code, body)) => Err(format!("{addr}: {code} {}", body.trim())),
            Err(e) => Err(format!("{addr}: {e}")),
        };
        recorder.with(|h| {
            h.reads.push(ReadRecord {
                process,
                sent_us,
                received_us,
                result,
            });
        });
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}
