//! The simulator's `claimer-abuse` workload over the network: `leases` leases × 3
//! contenders, each contender a core [`Tracker`] with the scenario's settings (5 s
//! claims renewed 4.5 s after the previous successful request was sent, less up to the
//! tracker's jitter; every other setting the tracker's default, as in
//! `leasehold::sim`), joining at random times over the first 4 s, spread over 100
//! models, all through one [`Client`].
//!
//! As in the simulator, a contender whose claim is refused waits for the lease's release
//! and claims again at the tracker's release fallback (or after a backoff when shed).
//! Unlike the simulator the contenders get no lease events (the bench has no watch), so
//! a lease that lapses is claimed again only at those times: every lapse therefore shows
//! as a *leadership loss* (the leader's tracker reports `Deposed`) rather than as a
//! change of holder. No contender ever stops renewing, so every loss is spurious.

use crate::stats::{Latencies, LatencySummary};
use leasehold::{Key, LEADERSHIP_NAMESPACE, Op, Outcome, RequestId, Time, Tracker};
use leasehold::{TrackerConfig, TrackerOutput};
use leasehold_server::client::{Client, ClientError};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Contenders per lease.
const UNITS: usize = 3;
/// Models the leases are spread over.
const MODELS: usize = 100;
/// Claim and extension duration.
const DURATION_MS: u64 = 5_000;
/// Renewal period.
const RENEW_MS: u64 = 4_500;
/// Contenders join within this window.
const JOIN_SPREAD_MS: u64 = 4_000;
/// How long answers still in flight at the end may take.
const DRAIN: Duration = Duration::from_secs(15);
/// No unit has led the lease yet.
const NO_UNIT: u8 = u8::MAX;

/// What the claimer-abuse phase measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AbuseReport {
    /// Leases.
    pub leases: usize,
    /// Contenders (3 per lease).
    pub contenders: usize,
    /// The run's length, seconds.
    pub seconds: f64,
    /// Requests sent.
    pub requests: u64,
    /// Requests answered per second (every answer, over the run).
    pub answers_per_sec: f64,
    /// Claims sent.
    pub claims: u64,
    /// Claims granted.
    pub claims_granted: u64,
    /// Claims refused because another contender held the lease.
    pub claims_refused: u64,
    /// Claims that did not reach the log (shed, deadline, aborted, no answer).
    pub claims_not_applied: u64,
    /// Extensions answered.
    pub extensions: u64,
    /// Extensions answered `ok` before the lease's conservative expiry (the send time
    /// of the previous successful request plus 5 s).
    pub extensions_ok_in_time: u64,
    /// Extensions answered `ok`, but only after that expiry.
    pub extensions_ok_late: u64,
    /// Extensions refused: the lease was gone.
    pub extensions_refused: u64,
    /// Extensions that did not reach the log (shed, deadline, aborted, no answer).
    pub extensions_not_applied: u64,
    /// `extensions_ok_in_time / extensions`, percent.
    pub extensions_in_time_pct: f64,
    /// Elections (first grants and re-grants).
    pub elections: u64,
    /// Leaders that lost their lease although they kept extending (every contender
    /// always renews on time here): the spurious leader changes.
    pub spurious_leader_changes: u64,
    /// Of those, the ones where another contender was then elected.
    pub holder_changes: u64,
    /// Leases whose leader believes it leads at the end.
    pub led_at_end: usize,
    /// Leases the service says are held at the end (read per model after the run).
    pub held_at_end: usize,
    /// Of those, held by the contender that believes it leads.
    pub held_by_believer: usize,
    /// The latest any contender's timer was served (the bench's own lag), ms.
    pub max_timer_lag_ms: u64,
    /// Claim latency.
    pub claim_latency: LatencySummary,
    /// Extension latency.
    pub extend_latency: LatencySummary,
}

/// A request's kind, as the driver remembers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Claim,
    Extend,
    Other,
}

/// An answer coming back to the driver.
struct Reply {
    holder: u32,
    id: RequestId,
    kind: Kind,
    sent: Instant,
    result: Result<Outcome, ClientError>,
}

/// A SplitMix64 step: the bench's only randomness (join times, model names).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A UUID-shaped model name (36 characters, like the simulator's).
fn model_name(salt: u64, m: usize) -> String {
    let a = mix(salt ^ (m as u64).wrapping_mul(0x1000_0000_01B3));
    let b = mix(a);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFF,
        ((b >> 48) & 0x3FFF) | 0x8000,
        b & 0xFFFF_FFFF_FFFF
    )
}

/// The driver's state: every contender's tracker and timer.
struct Driver {
    client: Client,
    base: Instant,
    config: TrackerConfig,
    keys: Vec<Key>,
    models: Vec<Arc<str>>,
    names: Vec<Arc<str>>,
    trackers: Vec<Option<Tracker>>,
    /// Each contender's scheduled wake-up (ms since `base`), `u64::MAX` if none.
    wake: Vec<u64>,
    wakeups: BTreeMap<u64, Vec<u32>>,
    /// Per lease: the unit elected last.
    last_unit: Vec<u8>,
    replies: mpsc::UnboundedSender<Reply>,
    in_flight: u64,
    sending: bool,
    claim_latency: Latencies,
    extend_latency: Latencies,
    report: AbuseReport,
}

impl Driver {
    fn now(&self) -> Time {
        Time::from_millis(u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    fn schedule(&mut self, h: usize, at: Time) {
        let at = at.as_millis();
        if at == u64::MAX || self.wake[h] == at {
            return;
        }
        self.wake[h] = at;
        self.wakeups.entry(at).or_default().push(h as u32);
    }

    /// Contender `h`'s timer fired: it joins, or its tracker runs its timers.
    fn wake(&mut self, h: usize, now: Time) {
        match self.trackers[h].as_mut() {
            None => {
                let mut t = Tracker::new(self.names[h].clone(), self.config.clone());
                t.track(now, self.keys[h / UNITS].clone());
                self.trackers[h] = Some(t);
            }
            Some(t) => t.handle_timeout(now),
        }
        self.drain(h);
    }

    /// Performs contender `h`'s outputs and schedules its next wake-up.
    fn drain(&mut self, h: usize) {
        loop {
            let Some(t) = self.trackers[h].as_mut() else {
                return;
            };
            match t.poll_output() {
                TrackerOutput::Submit { id, op } => self.submit(h, id, op),
                TrackerOutput::Elected { .. } => {
                    self.report.elections += 1;
                    let (lease, unit) = (h / UNITS, (h % UNITS) as u8);
                    if self.last_unit[lease] != NO_UNIT && self.last_unit[lease] != unit {
                        self.report.holder_changes += 1;
                    }
                    self.last_unit[lease] = unit;
                }
                TrackerOutput::Deposed { .. } => self.report.spurious_leader_changes += 1,
                TrackerOutput::Timeout(at) => {
                    self.schedule(h, at);
                    return;
                }
            }
        }
    }

    fn submit(&mut self, h: usize, id: RequestId, op: Op) {
        if !self.sending {
            return;
        }
        let kind = match op {
            Op::Claim { .. } => Kind::Claim,
            Op::Extend { .. } => Kind::Extend,
            _ => Kind::Other,
        };
        self.report.requests += 1;
        self.in_flight += 1;
        let (client, replies) = (self.client.clone(), self.replies.clone());
        let sent = Instant::now();
        tokio::spawn(async move {
            let result = client.request(op).await;
            let _ = replies.send(Reply {
                holder: h as u32,
                id,
                kind,
                sent,
                result,
            });
        });
    }

    /// An answer: counted, then handed to its contender's tracker.
    fn answer(&mut self, reply: Reply) {
        self.in_flight -= 1;
        let h = reply.holder as usize;
        let now = self.now();
        let took = reply.sent.elapsed();
        let outcome = reply.result.unwrap_or(Outcome::Aborted);
        let key = &self.keys[h / UNITS];
        let r = &mut self.report;
        match reply.kind {
            Kind::Claim => {
                r.claims += 1;
                self.claim_latency.record(h, took);
                match &outcome {
                    Outcome::Applied(Ok(_)) => r.claims_granted += 1,
                    Outcome::Applied(Err(_)) => r.claims_refused += 1,
                    _ => r.claims_not_applied += 1,
                }
            }
            Kind::Extend => {
                r.extensions += 1;
                self.extend_latency.record(h, took);
                let in_time = self.trackers[h]
                    .as_ref()
                    .and_then(|t| t.leader_expiry(key))
                    .is_some_and(|expiry| now < expiry);
                match &outcome {
                    Outcome::Applied(Ok(_)) if in_time => r.extensions_ok_in_time += 1,
                    Outcome::Applied(Ok(_)) => r.extensions_ok_late += 1,
                    Outcome::Applied(Err(_)) => r.extensions_refused += 1,
                    _ => r.extensions_not_applied += 1,
                }
            }
            Kind::Other => {}
        }
        if let Some(t) = self.trackers[h].as_mut() {
            t.handle_answer(now, reply.id, &outcome);
        }
        self.drain(h);
    }

    /// Runs every wake-up due by now; the latest one's lag.
    fn fire_due(&mut self) {
        let now = self.now();
        while let Some(entry) = self.wakeups.first_entry() {
            let at = *entry.key();
            if at > now.as_millis() {
                break;
            }
            let due = entry.remove();
            self.report.max_timer_lag_ms = self
                .report
                .max_timer_lag_ms
                .max(now.as_millis().saturating_sub(at));
            for h in due {
                let h = h as usize;
                if self.wake[h] == at {
                    self.wake[h] = u64::MAX;
                    self.wake(h, now);
                }
            }
        }
    }

    fn leading(&self) -> u64 {
        self.report.elections - self.report.spurious_leader_changes
    }
}

/// Runs the claimer-abuse workload for `seconds` with `leases` leases.
pub async fn run(client: Client, leases: usize, seconds: f64, salt: u64) -> AbuseReport {
    let leases = leases.max(1);
    let contenders = leases * UNITS;
    let models: Vec<Arc<str>> = (0..MODELS)
        .map(|m| Arc::from(model_name(salt, m)))
        .collect();
    let namespace: Arc<str> = Arc::from(LEADERSHIP_NAMESPACE);
    let keys: Vec<Key> = (0..leases)
        .map(|i| {
            Key::new(
                namespace.clone(),
                models[i % MODELS].clone(),
                format!("app-{i}"),
            )
        })
        .collect();
    let names: Vec<Arc<str>> = (0..contenders)
        .map(|h| Arc::from(format!("app-{}/{}", h / UNITS, h % UNITS)))
        .collect();
    // The simulator's tracker settings for the scenario.
    let config = TrackerConfig {
        duration: Duration::from_millis(DURATION_MS),
        renew_after: Duration::from_millis(RENEW_MS),
        ..TrackerConfig::default()
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut d = Driver {
        client,
        base: Instant::now(),
        config,
        keys,
        models,
        names,
        trackers: (0..contenders).map(|_| None).collect(),
        wake: vec![u64::MAX; contenders],
        wakeups: BTreeMap::new(),
        last_unit: vec![NO_UNIT; leases],
        replies: tx,
        in_flight: 0,
        sending: true,
        claim_latency: Latencies::new(),
        extend_latency: Latencies::new(),
        report: AbuseReport {
            leases,
            contenders,
            seconds,
            ..AbuseReport::default()
        },
    };
    for h in 0..contenders {
        let join = mix(salt ^ (h as u64).wrapping_mul(0x2545_F491_4F6C_DD1D)) % JOIN_SPREAD_MS;
        d.schedule(h, Time::from_millis(join));
    }
    eprintln!(
        "abuse: {leases} leases × {UNITS} contenders ({contenders}), 5 s claims renewed every 4.5 s, for {seconds:.0} s"
    );
    let end = d.base + Duration::from_secs_f64(seconds);
    let mut next_progress = d.base + Duration::from_secs(2);
    let mut last = (d.base, 0u64);
    while Instant::now() < end {
        d.fire_due();
        let next_wake = d
            .wakeups
            .first_key_value()
            .map_or(end, |(&at, _)| d.base + Duration::from_millis(at));
        let until = next_wake.min(end).min(next_progress);
        tokio::select! {
            reply = rx.recv() => {
                if let Some(reply) = reply {
                    d.answer(reply);
                }
                // Take what else has arrived before looking at the timers again.
                for _ in 0..1024 {
                    match rx.try_recv() {
                        Ok(reply) => d.answer(reply),
                        Err(_) => break,
                    }
                }
            }
            () = tokio::time::sleep_until(until.into()) => {}
        }
        let now = Instant::now();
        if now >= next_progress {
            let r = &d.report;
            let answered = r.claims + r.extensions;
            let rate = (answered - last.1) as f64 / now.duration_since(last.0).as_secs_f64();
            eprintln!(
                "abuse: {:.0} s, {rate:.0} answers/s, {} in flight, {} leading, {} extensions ({} ok in time), {} spurious, timer lag {} ms",
                now.duration_since(d.base).as_secs_f64(),
                d.in_flight,
                d.leading(),
                r.extensions,
                r.extensions_ok_in_time,
                r.spurious_leader_changes,
                r.max_timer_lag_ms,
            );
            last = (now, answered);
            next_progress = now + Duration::from_secs(2);
        }
    }
    // Stop sending; take the answers still due.
    d.sending = false;
    let give_up = Instant::now() + DRAIN;
    while d.in_flight > 0 {
        match tokio::time::timeout_at(give_up.into(), rx.recv()).await {
            Ok(Some(reply)) => d.answer(reply),
            _ => break,
        }
    }
    let elapsed = d.base.elapsed().as_secs_f64();
    let now = d.now();
    let believers: Vec<Option<u8>> = (0..leases)
        .map(|i| {
            (0..UNITS).find_map(|u| {
                d.trackers[i * UNITS + u]
                    .as_ref()
                    .filter(|t| t.is_leader_at(now, &d.keys[i]))
                    .map(|_| u as u8)
            })
        })
        .collect();
    d.report.led_at_end = believers.iter().filter(|b| b.is_some()).count();
    verify(&mut d, &believers).await;
    let r = &mut d.report;
    r.answers_per_sec = (r.claims + r.extensions) as f64 / elapsed;
    r.extensions_in_time_pct = if r.extensions == 0 {
        0.0
    } else {
        r.extensions_ok_in_time as f64 * 100.0 / r.extensions as f64
    };
    r.claim_latency = d.claim_latency.summary();
    r.extend_latency = d.extend_latency.summary();
    d.report
}

/// Reads every model's leases from the service and compares them with the contenders'
/// beliefs.
async fn verify(d: &mut Driver, believers: &[Option<u8>]) {
    let mut held = 0;
    let mut agreed = 0;
    for model in &d.models {
        let leases = match d
            .client
            .leases(Some(LEADERSHIP_NAMESPACE), Some(model))
            .await
        {
            Ok(l) => l,
            Err(e) => {
                eprintln!("abuse: reading the leases of model {model}: {e}");
                continue;
            }
        };
        for lease in leases.leases {
            let Some(i) = lease
                .lease
                .strip_prefix("app-")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|&i| i < believers.len())
            else {
                continue;
            };
            held += 1;
            let unit = lease
                .holder
                .rsplit_once('/')
                .and_then(|(_, u)| u.parse::<u8>().ok());
            if unit.is_some() && unit == believers[i] {
                agreed += 1;
            }
        }
    }
    d.report.held_at_end = held;
    d.report.held_by_believer = agreed;
}
