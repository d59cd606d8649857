//! The driver end to end, durable: client threads pipelining extensions through the
//! cloneable [`Driver`] handle ([`Driver::submit`]) into a store on disk that fsyncs every
//! batch before its answers are released, measured from outside (requests per second
//! and the latency of an answer, submit to [`Pending::wait`] returning).
//!
//! Each client thread owns every `threads`-th lease (thread `t` extends `mysql-t`,
//! `mysql-{t + threads}`, ...), cycling, so no two requests in flight are equal and
//! none is coalesced with another. It keeps [`DriverPlan::in_flight`] requests
//! submitted and waits for the oldest. A round runs for [`DriverPlan::round`]; the
//! answers received within it are counted and their latencies recorded; the requests
//! still in flight at its end are then waited for (untimed: the last partial batch
//! waits for the engine's tick) and counted too.

use crate::workload;
use hdrhistogram::Histogram;
use leasehold::driver::{Driver, Pending};
use leasehold::{Config, Key, Op, Outcome};
use serde::Serialize;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// How hard to drive the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverPlan {
    /// Leases held; every request extends one of them.
    pub leases: usize,
    /// Client threads, each with its own share of the leases.
    pub threads: usize,
    /// Requests each client thread keeps submitted and unanswered.
    pub in_flight: usize,
    /// Timed rounds; the fastest is reported.
    pub rounds: usize,
    /// How long each round submits requests.
    pub round: Duration,
}

impl DriverPlan {
    /// 100,000 leases, 8 threads × 256 in flight, three rounds of 0.6 s.
    pub const DEFAULT: DriverPlan = DriverPlan {
        leases: 100_000,
        threads: 8,
        in_flight: 256,
        rounds: 3,
        round: Duration::from_millis(600),
    };
    /// A few leases, two threads, two short rounds: checks the figure can be taken.
    /// (With fewer than `max_batch_ops` = 1,000 requests in flight a batch waits for
    /// the engine's 100 ms tick, so a round may well answer none in time.)
    pub const SMOKE: DriverPlan = DriverPlan {
        leases: 2_000,
        threads: 2,
        in_flight: 512,
        rounds: 2,
        round: Duration::from_millis(20),
    };
}

impl Default for DriverPlan {
    fn default() -> DriverPlan {
        DriverPlan::DEFAULT
    }
}

/// The driver's throughput and answer latency, end to end and durable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriverCost {
    /// Leases held (each request extends one of them).
    pub leases: usize,
    /// Client threads submitting through clones of one `Driver`.
    pub threads: usize,
    /// Requests each thread keeps in flight.
    pub in_flight_per_thread: usize,
    /// Requests answered within the fastest round.
    pub requests: u64,
    /// Seconds the fastest round lasted.
    pub seconds: f64,
    /// Answers per second in the fastest round.
    pub requests_per_second: f64,
    /// Answers per second in every round, in order (the spread).
    pub round_requests_per_second: Vec<f64>,
    /// Median latency of an answer in the fastest round, submit to answer, in ms.
    pub p50_ms: f64,
    /// 99th percentile latency in the fastest round, in ms.
    pub p99_ms: f64,
    /// The slowest answer within the fastest round, in ms.
    pub max_ms: f64,
    /// Batches the engine cut in the fastest round (each fsynced before its answers, on
    /// its own or together with others waiting for the log).
    pub batches: u64,
    /// Operations per batch in the fastest round (`set_time` included).
    pub ops_per_batch: f64,
    /// Requests submitted over the whole run: the claims, then every extension.
    pub submitted: u64,
    /// Requests answered `Applied(Ok)` over the whole run: the claims that populate the
    /// leases, then every extension of every round, drained ones included.
    pub answered_ok: u64,
    /// Requests answered anything else over the whole run (0 when all is well).
    pub answered_other: u64,
}

/// What one client thread saw in one round.
struct ClientRound {
    /// Latencies in µs of the answers received before the round's end.
    latencies: Histogram<u64>,
    submitted: u64,
    ok: u64,
    other: u64,
}

/// One round as measured across the threads.
struct Round {
    seconds: f64,
    latencies: Histogram<u64>,
    batches: u64,
    batch_ops: u64,
}

/// Latencies in microseconds, 1 µs to 60 s, 3 significant figures.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// Opens a driver on a store in `dir` (default config and store options: an fsync per
/// batch), claims `plan.leases` leases through it and runs `plan.rounds` rounds of
/// extensions.
///
/// # Errors
///
/// When the driver cannot be opened or stops during the run, or a client thread
/// panics.
///
/// # Panics
///
/// If the plan has no leases, threads, in-flight requests or rounds, or fewer leases
/// than threads.
pub fn driver_cost(dir: &Path, plan: DriverPlan) -> Result<DriverCost, String> {
    assert!(
        plan.threads > 0 && plan.in_flight > 0 && plan.rounds > 0,
        "a plan needs threads, requests in flight and rounds"
    );
    assert!(plan.leases >= plan.threads, "every thread needs a lease");
    let (driver, _) = Driver::open(Config::default(), dir)
        .map_err(|e| format!("cannot open a driver in {}: {e}", dir.display()))?;
    let shares: Vec<Vec<(usize, Key)>> = (0..plan.threads)
        .map(|t| share(t, plan.threads, plan.leases))
        .collect();
    let claims: Vec<Vec<Op>> = shares.iter().map(|s| ops(s, Op::claim)).collect();
    let extends: Vec<Vec<Op>> = shares.iter().map(|s| ops(s, Op::extend)).collect();

    let (mut submitted, mut ok, mut other) = (0, 0, 0);
    for populated in run_clients(&driver, &claims, plan.in_flight, None)? {
        submitted += populated.submitted;
        ok += populated.ok;
        other += populated.other;
    }
    let mut rounds = Vec::with_capacity(plan.rounds);
    for _ in 0..plan.rounds {
        let before = driver.metrics().map_err(|e| e.to_string())?;
        let started = Instant::now();
        let clients = run_clients(&driver, &extends, plan.in_flight, Some(plan.round))?;
        let seconds = started
            .elapsed()
            .as_secs_f64()
            .min(plan.round.as_secs_f64());
        let after = driver.metrics().map_err(|e| e.to_string())?;
        let mut latencies = histogram();
        for client in clients {
            submitted += client.submitted;
            ok += client.ok;
            other += client.other;
            latencies
                .add(&client.latencies)
                .map_err(|e| format!("cannot merge latencies: {e}"))?;
        }
        rounds.push(Round {
            seconds,
            latencies,
            batches: after.batches - before.batches,
            batch_ops: after.batch_ops - before.batch_ops,
        });
    }
    driver
        .shutdown()
        .map_err(|e| format!("the driver did not stop cleanly: {e}"))?;

    let rate = |r: &Round| r.latencies.len() as f64 / r.seconds.max(1e-9);
    let best = rounds
        .iter()
        .max_by(|a, b| rate(a).total_cmp(&rate(b)))
        .expect("a plan has rounds");
    let ms = |us: u64| us as f64 / 1_000.0;
    Ok(DriverCost {
        leases: plan.leases,
        threads: plan.threads,
        in_flight_per_thread: plan.in_flight,
        requests: best.latencies.len(),
        seconds: best.seconds,
        requests_per_second: rate(best),
        round_requests_per_second: rounds.iter().map(rate).collect(),
        p50_ms: ms(best.latencies.value_at_quantile(0.50)),
        p99_ms: ms(best.latencies.value_at_quantile(0.99)),
        max_ms: ms(best.latencies.max()),
        batches: best.batches,
        ops_per_batch: best.batch_ops as f64 / best.batches.max(1) as f64,
        submitted,
        answered_ok: ok,
        answered_other: other,
    })
}

/// The leases of client thread `t` of `threads`: every `threads`-th of `leases`, from
/// `t`, with their keys. The thread's keys share one namespace and one model allocation
/// of their own, as keys built by callers on different threads do (one allocation for
/// every thread's keys would put every request's reference count on one cache line).
fn share(t: usize, threads: usize, leases: usize) -> Vec<(usize, Key)> {
    let namespace: Arc<str> = Arc::from(workload::NAMESPACE);
    let model: Arc<str> = Arc::from(workload::MODEL);
    (t..leases)
        .step_by(threads)
        .map(|i| {
            let key = Key::new(namespace.clone(), model.clone(), workload::lease_name(i));
            (i, key)
        })
        .collect()
}

/// The operations `make(key, holder, 60 s)` for the leases of `share`, in order.
fn ops(share: &[(usize, Key)], make: fn(Key, Arc<str>, Duration) -> Op) -> Vec<Op> {
    share
        .iter()
        .map(|(i, key)| make(key.clone(), workload::holder(*i), workload::LEASE_DURATION))
        .collect()
}

/// Runs one client thread per list of `ops`, all starting together; with `until`,
/// each cycles through its list until that long has passed, else it submits its list
/// once. Returns what each saw.
fn run_clients(
    driver: &Driver,
    ops: &[Vec<Op>],
    in_flight: usize,
    until: Option<Duration>,
) -> Result<Vec<ClientRound>, String> {
    let start = Barrier::new(ops.len());
    thread::scope(|scope| {
        let clients: Vec<_> = ops
            .iter()
            .map(|ops| {
                let driver = driver.clone();
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    client(&driver, ops, in_flight, until)
                })
            })
            .collect();
        clients
            .into_iter()
            .map(|c| c.join().map_err(|_| "a client thread panicked".to_owned()))
            .collect()
    })
}

/// One client: keeps `in_flight` of `ops` submitted (cycling with `until`, else once
/// through), waits for the oldest, records the latency of each answer received before
/// `until` has passed, then waits for the rest.
fn client(driver: &Driver, ops: &[Op], in_flight: usize, until: Option<Duration>) -> ClientRound {
    let started = Instant::now();
    let end = until.map(|d| started + d);
    let mut round = ClientRound {
        latencies: histogram(),
        submitted: 0,
        ok: 0,
        other: 0,
    };
    let mut pending: VecDeque<(Instant, Pending)> = VecDeque::with_capacity(in_flight);
    let mut next = ops.iter().cycle().take(if until.is_some() {
        usize::MAX
    } else {
        ops.len()
    });
    let mut submitting = true;
    loop {
        // One clock reading for the requests submitted together: it precedes each of
        // them, by at most the few microseconds the refill takes.
        let refilled = Instant::now();
        while submitting && pending.len() < in_flight {
            match next.next() {
                Some(op) => {
                    pending.push_back((refilled, driver.submit(op.clone())));
                    round.submitted += 1;
                }
                None => submitting = false,
            }
        }
        let Some((submitted, answer)) = pending.pop_front() else {
            return round;
        };
        let outcome = answer.wait();
        let now = Instant::now();
        if matches!(outcome, Outcome::Applied(Ok(_))) {
            round.ok += 1;
        } else {
            round.other += 1;
        }
        if end.is_some_and(|end| now >= end) {
            submitting = false;
        } else if submitting {
            let us = u64::try_from((now - submitted).as_micros()).unwrap_or(u64::MAX);
            round.latencies.saturating_record(us.max(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_is_answered_ok_and_the_counts_add_up() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let plan = DriverPlan::SMOKE;
        let cost = driver_cost(dir.path(), plan).expect("the smoke plan runs");
        // Every request answered once, and ok: the claims, then every extension.
        assert_eq!(cost.answered_other, 0, "{cost:?}");
        assert_eq!(cost.answered_ok, cost.submitted, "{cost:?}");
        assert!(cost.submitted > plan.leases as u64, "{cost:?}");
        assert!(
            cost.requests <= cost.submitted - plan.leases as u64,
            "{cost:?}"
        );
        assert_eq!(cost.round_requests_per_second.len(), plan.rounds);
        assert!(
            cost.p50_ms <= cost.p99_ms && cost.p99_ms <= cost.max_ms,
            "{cost:?}"
        );
        // The store holds what was acknowledged: reopened, every lease is held.
        let (driver, opened) = Driver::open(Config::default(), dir.path()).expect("reopens");
        assert!(opened.replayed > 0);
        let leases = driver.leases().expect("the driver runs");
        assert_eq!(leases.len(), plan.leases);
        assert_eq!(&*leases[0].holder, "mysql-0/2");
    }
}
