//! The deterministic simulator: many [`Tracker`]s, one [`Engine`] and a modelled log.
//!
//! Seeded (ChaCha8): the same scenario, parameters and seed give the same run, natively
//! and in wasm. Time is simulated; nothing here reads a clock. Every committed batch is
//! checked against the lease invariants ([`Checker`]); a break stops the run and names
//! the batch.
//!
//! ```
//! use leasehold::sim::{Scenario, Simulation};
//!
//! let mut params = Scenario::named("ps45").unwrap().params;
//! params.leases = 50;
//! let mut sim = Simulation::new("ps45", params).unwrap();
//! sim.run_for(40_000);
//! let stats = sim.stats();
//! assert_eq!(stats.invariant_violations, 0);
//! assert!(stats.extend_ok > 0);
//! assert_eq!(sim.engine().fsm().len(), 53, "every lease and singular lease has a leader");
//! ```

mod check;
mod log_model;
mod params;
mod routes;
mod scenario;
mod stats;

pub use check::{Checker, Violation};
pub use params::{LogModel, Mode, PARAM_NAMES, ParamError, ParamValue, Params, camel};
pub use scenario::{Action, MACHINES, SCENARIOS, Scenario, machine_of};
pub use stats::Stats;

use crate::engine::{BatchReport, Engine, Outcome, Output, Ticket};
use crate::event::Event;
use crate::key::{Key, LEADERSHIP_NAMESPACE, SINGULAR_NAMESPACE};
use crate::lane::Lane;
use crate::op::Op;
use crate::time::Time;
use crate::tracker::{RequestId, SharedConfig, Tracker, TrackerConfig, TrackerOutput};
use log_model::LogQueue;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use routes::{LOST, Routes};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// One simulated holder process.
#[derive(Debug, Clone)]
struct Holder {
    /// `None` while crashed (or before it joins).
    tracker: Option<Tracker>,
    /// Requests and answers are lost until then (a partition).
    muted_until: Time,
    /// Frozen until then (a pause): no timers, no input.
    paused_until: Time,
    /// Hung: sends nothing, believes what it believed.
    stopped: bool,
    /// The wake-up scheduled for its tracker.
    wake: Time,
    /// The token of its latest election (for fenced writes).
    token: u64,
}

impl Holder {
    fn new() -> Holder {
        Holder {
            tracker: None,
            muted_until: Time::ZERO,
            paused_until: Time::ZERO,
            stopped: false,
            wake: Time::MAX,
            token: 0,
        }
    }
}

/// Where an answer goes.
#[derive(Debug, Clone, Copy)]
struct Route {
    /// The holder, or `OPERATOR`.
    holder: u32,
    id: RequestId,
    kind: Kind,
    singular: bool,
}

const OPERATOR: u32 = u32::MAX;
/// How many recent events and batches a simulation keeps for display.
pub const HISTORY: usize = 256;
const NO_UNIT: u8 = u8::MAX;
const SPURIOUS: u8 = 0x80;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Claim,
    Extend,
    Other,
}

/// A simulation run. See the [module documentation](self).
#[derive(Debug)]
pub struct Simulation {
    scenario: Scenario,
    params: Params,
    now: Time,
    engine: Engine,
    log: LogQueue,
    holders: Vec<Holder>,
    keys: Vec<Key>,
    holder_names: Vec<Arc<str>>,
    /// Leases whose holders take part (a prefix of `keys`' leadership leases).
    active: usize,
    tracker_config: SharedConfig,
    singular_config: SharedConfig,
    wakeups: BTreeMap<Time, Vec<u32>>,
    routes: Routes<Route>,
    /// Requests by the time their client gives up on them.
    client_timeouts: VecDeque<(Time, u64)>,
    lost_tickets: u64,
    script: VecDeque<(Time, Action)>,
    checker: Checker,
    /// Per lease: the unit that last held it (`NO_UNIT`), with `SPURIOUS` when it lost
    /// the lease while still renewing.
    last_unit: Vec<u8>,
    /// Per lease, in fencing scenarios: the highest token the database has seen.
    fenced: Vec<u64>,
    pinned_by_machine: BTreeMap<usize, Vec<usize>>,
    pinned: Vec<bool>,
    stats: Stats,
    violation: Option<Violation>,
    load_dropped_at: Option<Time>,
    rng: ChaCha8Rng,
    /// Committed batches' bytes, in log order, when recording.
    recording: Option<Vec<Vec<u8>>>,
    /// Appended batches not yet settled, when recording.
    appended: VecDeque<(u64, Vec<u8>)>,
    /// The latest events (not extensions), newest last, at most `HISTORY`.
    recent_events: VecDeque<(Time, Event)>,
    /// The latest settled batches, newest last, at most `HISTORY`.
    recent_batches: VecDeque<BatchReport>,
    /// Per lease: log time of the last grant or extension, and holder changes.
    renewed: Vec<Time>,
    transitions: Vec<u32>,
    committing: u64,
    /// The engine's outputs being handled (kept for its capacity).
    round: VecDeque<Output>,
}

/// How many holders [`Simulation::pump`] and the wake-ups read ahead at a time.
const WARM_CHUNK: usize = 16;

/// A simulation that could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// No scenario has that name.
    #[error(
        "unknown scenario `{0}` (known: ps45, claimer-abuse, staged-overload, restart-herd, series-upgrade, fencing-race, million)"
    )]
    UnknownScenario(String),
    /// A parameter is impossible.
    #[error(transparent)]
    Param(#[from] ParamError),
}

impl Simulation {
    /// A run of the scenario named `scenario` with `params` (start from
    /// `Scenario::named(..).params` and override what you need).
    pub fn new(scenario: &str, params: Params) -> Result<Simulation, SimError> {
        let preset = Scenario::named(scenario)
            .ok_or_else(|| SimError::UnknownScenario(scenario.to_owned()))?;
        params.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
        let script = preset.script(&params, &mut rng);
        let total = params.leases + params.singular;
        let models: Vec<Arc<str>> = (0..params.models)
            .map(|m| Arc::from(model_uuid(params.seed, m)))
            .collect();
        let controller: Arc<str> = Arc::from(model_uuid(params.seed, CONTROLLER_MODEL));
        let leadership: Arc<str> = Arc::from(LEADERSHIP_NAMESPACE);
        let singular: Arc<str> = Arc::from(SINGULAR_NAMESPACE);
        let mut keys = Vec::with_capacity(total);
        let mut holder_names = Vec::with_capacity(total * params.units);
        for i in 0..total {
            let name = lease_name(i, params.leases);
            let key = if i < params.leases {
                Key::new(
                    leadership.clone(),
                    models[i % models.len()].clone(),
                    name.as_str(),
                )
            } else {
                Key::new(singular.clone(), controller.clone(), name.as_str())
            };
            for u in 0..params.units {
                holder_names.push(Arc::from(format!("{name}/{u}")));
            }
            keys.push(key);
        }
        let engine =
            Engine::new(params.engine_config(), Time::ZERO).map_err(|e| ParamError::Invalid {
                name: e.field.to_owned(),
                problem: e.problem,
            })?;
        let tracker_config = SharedConfig::new(&TrackerConfig {
            duration: Duration::from_millis(params.duration_ms),
            renew_after: Duration::from_millis(params.renew_ms),
            ..TrackerConfig::default()
        });
        let stats = Stats {
            scenario: preset.name.to_owned(),
            mode: params.mode.name().to_owned(),
            leases: total,
            holders: total * params.units,
            ..Stats::default()
        };
        Ok(Simulation {
            log: LogQueue::new(params.log.clone(), params.mode),
            holders: vec![Holder::new(); total * params.units],
            checker: Checker::new(total),
            last_unit: vec![NO_UNIT; total],
            fenced: if preset.name == "fencing-race" {
                vec![0; total]
            } else {
                Vec::new()
            },
            pinned: vec![false; total],
            singular_config: tracker_config.clone(),
            tracker_config,
            scenario: preset,
            now: Time::ZERO,
            engine,
            keys,
            holder_names,
            active: 0,
            wakeups: BTreeMap::new(),
            routes: Routes::default(),
            client_timeouts: VecDeque::new(),
            lost_tickets: LOST,
            script: script.into(),
            pinned_by_machine: BTreeMap::new(),
            stats,
            violation: None,
            load_dropped_at: None,
            rng,
            recording: None,
            appended: VecDeque::new(),
            recent_events: VecDeque::new(),
            recent_batches: VecDeque::new(),
            renewed: vec![Time::ZERO; total],
            transitions: vec![0; total],
            committing: 0,
            round: VecDeque::new(),
            params,
        })
    }

    /// Keeps every committed batch's bytes, for export (see [`Simulation::recording`]);
    /// batches the log abandoned are left out, so replaying the recording gives the
    /// committed state.
    pub fn record(&mut self) {
        self.recording.get_or_insert_with(Vec::new);
    }

    /// The committed batches recorded so far, in log order.
    #[must_use]
    pub fn recording(&self) -> &[Vec<u8>] {
        self.recording.as_deref().unwrap_or(&[])
    }

    // ---- reads -------------------------------------------------------------------

    /// Simulated time.
    #[must_use]
    pub fn now(&self) -> Time {
        self.now
    }

    /// The scenario preset.
    #[must_use]
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The parameters of this run.
    #[must_use]
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The engine (its committed state, queue and metrics).
    #[must_use]
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The first invariant break, which stopped the run.
    #[must_use]
    pub fn violation(&self) -> Option<&Violation> {
        self.violation.as_ref()
    }

    /// Leases whose holders are active now.
    #[must_use]
    pub fn active_leases(&self) -> usize {
        self.active
    }

    /// The key of lease `i` (leadership leases first, then singular ones).
    #[must_use]
    pub fn key(&self, i: usize) -> Option<&Key> {
        self.keys.get(i)
    }

    /// The latest lease events (extensions aside), oldest first, with the simulated time
    /// they were applied.
    pub fn recent_events(&self) -> impl Iterator<Item = &(Time, Event)> {
        self.recent_events.iter()
    }

    /// The latest settled batches, oldest first.
    pub fn recent_batches(&self) -> impl Iterator<Item = &BatchReport> {
        self.recent_batches.iter()
    }

    /// Log time of lease `i`'s last grant or extension.
    #[must_use]
    pub fn renewed(&self, i: usize) -> Time {
        self.renewed.get(i).copied().unwrap_or(Time::ZERO)
    }

    /// How many times lease `i` was granted (claims and handovers).
    #[must_use]
    pub fn transitions(&self, i: usize) -> u32 {
        self.transitions.get(i).copied().unwrap_or(0)
    }

    /// Which lease `key` is, if it belongs to this simulation.
    #[must_use]
    pub fn lease_of(&self, key: &Key) -> Option<usize> {
        self.lease_index(key)
    }

    /// How many leases (leadership and singular) the simulation has.
    #[must_use]
    pub fn lease_count(&self) -> usize {
        self.keys.len()
    }

    /// The totals so far.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        let m = self.engine.metrics();
        s.sim_seconds = self.now.as_millis() as f64 / 1000.0;
        s.p50_latency_ms = m.latency_percentile(0.5);
        s.p99_latency_ms = m.latency_percentile(0.99);
        s.coalesced = m.coalesced;
        s.bytes_per_op = if s.ops == 0 {
            0.0
        } else {
            s.log_bytes as f64 / s.ops as f64
        };
        s.entries_per_second = if s.sim_seconds > 0.0 {
            s.log_entries as f64 / s.sim_seconds
        } else {
            0.0
        };
        s.violation = self
            .violation
            .as_ref()
            .map(|v| format!("batch {} at {}: {}", v.batch, v.at, v.what));
        s
    }

    /// Whether a holder (lease `lease`, unit `unit`) is running and connected.
    #[must_use]
    pub fn holder_up(&self, lease: usize, unit: usize) -> bool {
        self.holders
            .get(lease * self.params.units + unit)
            .is_some_and(|h| self.healthy(h))
    }

    // ---- driving -----------------------------------------------------------------

    /// Runs `ms` more simulated milliseconds (or until an invariant breaks).
    pub fn run_for(&mut self, ms: u64) {
        self.run_until(self.now + Duration::from_millis(ms));
    }

    /// Runs until simulated time `end` (or until an invariant breaks).
    pub fn run_until(&mut self, end: Time) {
        while self.violation.is_none() {
            let next = self.next_event();
            if next > end {
                self.now = self.now.max(end);
                return;
            }
            self.step_at(next);
        }
    }

    /// Runs until the next batch settles (at most `limit_ms`); returns whether one did.
    pub fn step_batch(&mut self, limit_ms: u64) -> bool {
        let before = self.engine.metrics().committed + self.engine.metrics().abandoned;
        let end = self.now + Duration::from_millis(limit_ms);
        while self.violation.is_none() {
            let next = self.next_event();
            if next > end {
                self.now = end;
                return false;
            }
            self.step_at(next);
            let m = self.engine.metrics();
            if m.committed + m.abandoned > before {
                return true;
            }
        }
        false
    }

    /// Submits an operator's request (revoke, pin, unpin, handover...) now.
    pub fn operator(&mut self, op: Op) -> Ticket {
        let ticket = self.engine.handle_request(self.now, op);
        self.routes.insert(
            ticket.0,
            Route {
                holder: OPERATOR,
                id: RequestId(0),
                kind: Kind::Other,
                singular: false,
            },
        );
        self.pump();
        ticket
    }

    /// Makes a scripted action happen now (a fault, a load change, a pin). Actions that
    /// name a holder or lease the simulation does not have are ignored.
    pub fn inject(&mut self, action: Action) {
        self.apply(action);
        self.pump();
    }

    /// The holder index of unit `unit` of lease `lease`, as [`Action`]s name holders.
    #[must_use]
    pub fn holder_index(&self, lease: usize, unit: usize) -> usize {
        lease * self.params.units + unit
    }

    /// Crashes the holder `unit` of lease `lease`.
    pub fn crash(&mut self, lease: usize, unit: usize) {
        self.apply(Action::Crash(lease * self.params.units + unit));
        self.pump();
    }

    /// Restarts the holder `unit` of lease `lease`.
    pub fn restart(&mut self, lease: usize, unit: usize) {
        self.apply(Action::Restart(lease * self.params.units + unit));
        self.pump();
    }

    /// Makes the first `n` leases' holders take part (load up or down).
    pub fn set_active(&mut self, n: usize) {
        self.apply(Action::SetActive(n));
        self.pump();
    }

    /// The unit of lease `lease` whose tracker believes it leads, if any.
    #[must_use]
    pub fn leader_unit(&self, lease: usize) -> Option<usize> {
        let u = self.params.units;
        (0..u).find(|&unit| self.believes_it_leads(lease * u + unit))
    }

    // ---- the loop ----------------------------------------------------------------

    fn next_event(&self) -> Time {
        let mut t = self.engine.next_timeout();
        if let Some((&w, _)) = self.wakeups.first_key_value() {
            t = t.min(w);
        }
        if let Some(c) = self.log.next_commit() {
            t = t.min(c);
        }
        if let Some((s, _)) = self.script.front() {
            t = t.min(*s);
        }
        if let Some((c, _)) = self.client_timeouts.front() {
            t = t.min(*c);
        }
        t.max(self.now)
    }

    fn step_at(&mut self, now: Time) {
        self.now = now;
        while self.script.front().is_some_and(|(t, _)| *t <= now) {
            let (_, action) = self.script.pop_front().expect("front exists");
            self.apply(action);
        }
        while let Some(seq) = self.log.pop_committed(now) {
            self.committing = seq;
            if self.engine.handle_committed(now, seq).is_ok() {
                self.pump();
            }
            if self.violation.is_some() {
                return;
            }
        }
        if self.engine.next_timeout() <= now {
            self.engine.handle_timeout(now);
        }
        self.pump();
        while let Some(entry) = self.wakeups.first_entry() {
            if *entry.key() > now {
                break;
            }
            let (at, due) = entry.remove_entry();
            for chunk in due.chunks(WARM_CHUNK) {
                let warmed = chunk.iter().fold(0, |sum, &h| sum ^ self.warm(h, true));
                std::hint::black_box(warmed);
                for &h in chunk {
                    let h = h as usize;
                    if self.holders[h].wake == at {
                        self.holders[h].wake = Time::MAX;
                        self.wake(h);
                    }
                }
            }
        }
        self.time_out_clients();
        self.pump();
        let depth: usize = Lane::ALL.iter().map(|&l| self.engine.queue_depth(l)).sum();
        self.stats.max_queue_depth = self.stats.max_queue_depth.max(depth);
        self.stats.max_log_backlog = self.stats.max_log_backlog.max(self.log.backlog());
        if let (Some(dropped), None) = (self.load_dropped_at, self.stats.recovery_ms) {
            if depth <= self.params.engine.max_batch_ops && self.engine.in_flight() <= 1 {
                self.stats.recovery_ms =
                    u64::try_from(now.saturating_since(dropped).as_millis()).ok();
            }
        }
    }

    /// A holder's timer fired: it joins (or rejoins) if it has no tracker yet, wakes from
    /// a pause acting first on what it believed, or runs its tracker's timers.
    fn wake(&mut self, h: usize) {
        let now = self.now;
        let holder = &self.holders[h];
        if holder.paused_until > now {
            let until = holder.paused_until;
            self.schedule(h, until);
            return;
        }
        if holder.tracker.is_none() {
            self.start_holder(h);
            return;
        }
        if !self.fenced.is_empty() && self.believes_it_leads(h) {
            self.fenced_write(h);
        }
        if let Some(t) = self.holders[h].tracker.as_mut() {
            t.handle_timeout(now);
        }
        self.drain_holder(h);
    }

    /// Drains a holder's tracker: submits its requests, notes its elections, schedules
    /// its next wake-up.
    fn drain_holder(&mut self, h: usize) {
        loop {
            let Some(tracker) = self.holders[h].tracker.as_mut() else {
                return;
            };
            match tracker.poll_output() {
                TrackerOutput::Submit { id, op } => self.submit(h, id, op),
                TrackerOutput::Elected { token, .. } => {
                    self.holders[h].token = token;
                    if !self.fenced.is_empty() {
                        self.fenced_write(h);
                    }
                }
                TrackerOutput::Deposed { .. } => {}
                TrackerOutput::Timeout(t) => {
                    self.schedule(h, t);
                    return;
                }
            }
        }
    }

    fn schedule(&mut self, h: usize, t: Time) {
        let holder = &mut self.holders[h];
        if t == Time::MAX || holder.wake == t {
            return;
        }
        holder.wake = t;
        self.wakeups
            .entry(t.max(self.now))
            .or_default()
            .push(holder_id(h));
    }

    fn submit(&mut self, h: usize, id: RequestId, op: Op) {
        self.stats.requests += 1;
        let kind = match op {
            Op::Claim { .. } => Kind::Claim,
            Op::Extend { .. } => Kind::Extend,
            _ => Kind::Other,
        };
        let singular = op.key().is_some_and(Key::is_singular);
        let holder = &self.holders[h];
        let ticket = if holder.stopped || holder.muted_until > self.now {
            // Lost on the way: only the client's own timeout will answer it.
            self.lost_tickets += 1;
            self.lost_tickets
        } else {
            self.engine.handle_request(self.now, op).0
        };
        let route = Route {
            holder: holder_id(h),
            id,
            kind,
            singular,
        };
        self.routes.insert(ticket, route);
        // A connected client of the batching engine waits for its definitive answer. A
        // request lost on the way, or sent to a store that only writes (per-op mode),
        // is given up on by its client: the timeout leaves it unknown whether it applied.
        let lost = ticket >= LOST;
        if !lost && self.params.mode == Mode::Batched {
            return;
        }
        let deadline = match kind {
            Kind::Claim => self.params.engine.claim_deadline,
            _ => self.params.engine.extend_deadline,
        };
        self.client_timeouts
            .push_back((self.now + deadline + Duration::from_secs(1), ticket));
    }

    /// Answers `DeadlineExceeded`, on the client's side, to requests nobody answered in
    /// time (lost in a partition, or stuck behind a log backlog).
    fn time_out_clients(&mut self) {
        while self
            .client_timeouts
            .front()
            .is_some_and(|(t, _)| *t <= self.now)
        {
            let (_, ticket) = self.client_timeouts.pop_front().expect("front exists");
            if let Some(route) = self.routes.remove(ticket) {
                self.deliver(route, &Outcome::DeadlineExceeded);
            }
        }
    }

    /// Drains the engine until it is quiet, delivering answers and events.
    ///
    /// The engine's outputs are taken a round at a time and handled in order; whatever
    /// handling them makes the engine emit comes after them, as it would one by one
    /// (`poll_output` only pops a queue). Each chunk of a round has its holders read
    /// first, so that their memory is fetched together rather than one miss at a time.
    fn pump(&mut self) {
        let mut round = std::mem::take(&mut self.round);
        loop {
            loop {
                match self.engine.poll_output() {
                    Output::Timeout(_) => break,
                    out => round.push_back(out),
                }
            }
            if round.is_empty() {
                break;
            }
            while !round.is_empty() {
                let chunk = round.len().min(WARM_CHUNK);
                let warmed = round.iter().take(chunk).fold(0, |sum, out| {
                    sum ^ match out {
                        Output::Answer(a) => self
                            .routes
                            .get(a.ticket.0)
                            .map_or(0, |route| self.warm(route.holder, false)),
                        Output::Event(e) => self.lease_index(e.key()).map_or(0, |lease| {
                            self.checker.warm(lease) ^ self.renewed[lease].as_millis()
                        }),
                        _ => 0,
                    }
                });
                std::hint::black_box(warmed);
                for out in round.drain(..chunk) {
                    self.on_output(out);
                }
            }
        }
        self.round = round;
    }

    /// Reads holder `h`'s state (the holder and its tracker's lease, and with `names`
    /// the names its requests carry) into the cache.
    fn warm(&self, h: u32, names: bool) -> u64 {
        let h = h as usize;
        self.holders
            .get(h)
            .map_or(0, |holder| match &holder.tracker {
                Some(t) => holder.wake.as_millis() ^ t.warm(names),
                // Joining: its tracker is built from these names.
                None if names => {
                    let first = |s: &str| u64::from(s.as_bytes().first().copied().unwrap_or(0));
                    let lease = &self.keys[h / self.params.units].lease;
                    holder.wake.as_millis() ^ first(&self.holder_names[h]) ^ first(lease)
                }
                None => holder.wake.as_millis(),
            })
    }

    /// Handles one output of the engine.
    fn on_output(&mut self, out: Output) {
        match out {
            Output::Timeout(_) => {}
            Output::Append(a) => {
                self.log.append(self.now, a.seq, a.ops, a.bytes.len());
                self.stats.ops += a.ops as u64;
                self.stats.log_entries += self.log.entries(a.ops);
                self.stats.log_bytes += a.bytes.len() as u64;
                if self.recording.is_some() {
                    self.appended.push_back((a.seq, a.bytes));
                }
            }
            Output::Answer(a) => {
                if let Some(route) = self.routes.remove(a.ticket.0) {
                    self.deliver(route, &a.outcome);
                }
            }
            Output::Event(e) => self.on_event(&e),
            Output::Settled(r) => {
                // Batches settle in log order; older ones still waiting were
                // abandoned by an engine restart.
                while let Some((seq, bytes)) = self.appended.pop_front() {
                    if seq == r.seq {
                        if let (true, Some(rec)) = (r.committed, self.recording.as_mut()) {
                            rec.push(bytes);
                        }
                        break;
                    }
                    if seq > r.seq {
                        self.appended.push_front((seq, bytes));
                        break;
                    }
                }
                if self.recent_batches.len() == HISTORY {
                    self.recent_batches.pop_front();
                }
                self.recent_batches.push_back(r);
            }
        }
    }

    fn deliver(&mut self, route: Route, outcome: &Outcome) {
        let s = &mut self.stats;
        match (route.kind, outcome) {
            (Kind::Extend, Outcome::Applied(Ok(_))) => s.extend_ok += 1,
            (Kind::Extend, _) => s.extend_failed += 1,
            (Kind::Claim, Outcome::Applied(Ok(_))) => s.claims_ok += 1,
            (Kind::Claim, Outcome::Shed) => s.claims_shed += 1,
            (_, Outcome::Shed) => s.others_shed += 1,
            _ => {}
        }
        if *outcome == Outcome::DeadlineExceeded {
            s.deadline_exceeded += 1;
        }
        if route.singular {
            if outcome.reached_log() {
                s.singular_ok += 1;
            } else {
                s.singular_failed += 1;
            }
        }
        if route.holder == OPERATOR {
            return;
        }
        let h = route.holder as usize;
        let now = self.now;
        let holder = &mut self.holders[h];
        if holder.muted_until > now || holder.paused_until > now || holder.stopped {
            return;
        }
        if let Some(t) = holder.tracker.as_mut() {
            t.handle_answer(now, route.id, outcome);
            self.drain_holder(h);
        }
    }

    fn on_event(&mut self, e: &Event) {
        let Some(lease) = self.lease_index(e.key()) else {
            return;
        };
        let unit = e.holder().and_then(|h| unit_of(h));
        let g = self.engine.fsm().global_time();
        if let Err(v) = self.checker.check(self.committing, g, lease, unit, e) {
            self.stats.invariant_violations += 1;
            self.violation.get_or_insert(v);
        }
        if let Event::Extended { .. } = e {
            self.renewed[lease] = g;
            return;
        }
        if self.recent_events.len() == HISTORY {
            self.recent_events.pop_front();
        }
        self.recent_events.push_back((self.now, e.clone()));
        match e {
            Event::Extended { .. } => return,
            Event::Claimed { .. } | Event::HandedOver { .. } => {
                self.renewed[lease] = g;
                self.transitions[lease] += 1;
                let last = self.last_unit[lease];
                let new = unit.unwrap_or(NO_UNIT);
                if last != NO_UNIT && (last & !SPURIOUS) != new {
                    self.stats.leader_changes += 1;
                    if last & SPURIOUS != 0 {
                        self.stats.spurious_leader_changes += 1;
                    }
                    if self.pinned[lease] {
                        self.stats.pinned_leader_changes += 1;
                    }
                }
                self.last_unit[lease] = new;
            }
            Event::Expired { .. } => {
                let still_renewing = unit.is_some_and(|u| {
                    let h = &self.holders[lease * self.params.units + usize::from(u)];
                    self.healthy(h) && h.tracker.as_ref().is_some_and(|t| t.is_tracked(e.key()))
                });
                if still_renewing {
                    self.last_unit[lease] |= SPURIOUS;
                }
            }
            Event::Pinned { .. } => self.pinned[lease] = true,
            Event::Unpinned { .. } => {
                self.pinned[lease] = self.engine.fsm().pins().contains_key(e.key());
            }
            Event::Revoked { .. } => {}
        }
        // Tell the contenders: a release lets the waiting ones claim at once.
        let units = self.params.units;
        for h in lease * units..(lease + 1) * units {
            let now = self.now;
            let holder = &mut self.holders[h];
            if holder.muted_until > now || holder.paused_until > now || holder.stopped {
                continue;
            }
            if let Some(t) = holder.tracker.as_mut() {
                t.handle_event(now, e);
                self.drain_holder(h);
            }
        }
    }

    /// Whether holder `h`'s tracker believes it leads its lease (while paused, what it
    /// believed before the pause).
    fn believes_it_leads(&self, h: usize) -> bool {
        let lease = h / self.params.units;
        self.holders
            .get(h)
            .and_then(|holder| holder.tracker.as_ref())
            .is_some_and(|t| t.is_leader(&self.keys[lease]))
    }

    fn healthy(&self, h: &Holder) -> bool {
        h.tracker.is_some() && !h.stopped && h.muted_until <= self.now && h.paused_until <= self.now
    }

    /// A leader writes to the fenced database with its token.
    fn fenced_write(&mut self, h: usize) {
        let lease = h / self.params.units;
        let token = self.holders[h].token;
        let holds = self.engine.fsm().holder(&self.keys[lease]) == Some(&*self.holder_names[h]);
        if !holds {
            self.stats.stale_writes += 1;
            self.stats.stale_writes_accepted_without_tokens += 1;
        }
        if token < self.fenced[lease] {
            self.stats.stale_writes_refused += 1;
        } else {
            self.fenced[lease] = token;
        }
    }

    fn lease_index(&self, key: &Key) -> Option<usize> {
        let (_, n) = key.lease.rsplit_once('-')?;
        let n: usize = n.parse().ok()?;
        let i = if key.is_singular() {
            self.params.leases + n
        } else {
            n
        };
        (i < self.keys.len()).then_some(i)
    }

    fn start_holder(&mut self, h: usize) {
        let lease = h / self.params.units;
        let config = if lease >= self.params.leases {
            &self.singular_config
        } else {
            &self.tracker_config
        };
        let mut t = Tracker::with_shared(self.holder_names[h].clone(), config);
        t.track(self.now, self.keys[lease].clone());
        let holder = &mut self.holders[h];
        holder.tracker = Some(t);
        holder.stopped = false;
        holder.wake = Time::MAX;
        self.drain_holder(h);
    }

    fn stop_holder(&mut self, h: usize) {
        let holder = &mut self.holders[h];
        holder.tracker = None;
        holder.wake = Time::MAX;
    }

    fn holders_of_machine(&self, machine: usize) -> Vec<usize> {
        let units = self.params.units;
        (0..self.params.leases * units)
            .filter(|&h| machine_of(h, units, MACHINES) == machine)
            .collect()
    }

    fn apply(&mut self, action: Action) {
        let units = self.params.units;
        let holders = self.holders.len();
        let out_of_range = match action {
            Action::Crash(h)
            | Action::Restart(h)
            | Action::StopRenewing(h)
            | Action::Partition(h, _) => h >= holders,
            Action::PauseLeader(lease, _) | Action::ForgetfulPin { lease, .. } => {
                lease >= self.keys.len()
            }
            _ => false,
        };
        if out_of_range {
            return;
        }
        match action {
            Action::SetActive(n) => {
                let n = n.min(self.params.leases);
                if n < self.active {
                    for h in n * units..self.active * units {
                        self.stop_holder(h);
                    }
                    self.load_dropped_at = Some(self.now);
                    self.stats.recovery_ms = None;
                } else {
                    let mut joining: Vec<usize> = (self.active * units..n * units).collect();
                    if self.active == 0 {
                        // The singular leases' controllers join with the first load.
                        joining.extend(self.params.leases * units..self.keys.len() * units);
                    }
                    for h in joining {
                        let delay = if self.params.join_spread_ms == 0 {
                            0
                        } else {
                            self.rng.random_range(0..self.params.join_spread_ms)
                        };
                        self.holders[h] = Holder::new();
                        self.holders[h].paused_until = self.now + Duration::from_millis(delay);
                        self.schedule_join(h, delay);
                    }
                }
                self.active = n;
            }
            Action::Crash(h) => self.stop_holder(h),
            Action::Restart(h) => self.start_holder(h),
            Action::StopRenewing(h) => self.holders[h].stopped = true,
            Action::Partition(h, ms) => {
                self.holders[h].muted_until = self.now + Duration::from_millis(ms)
            }
            Action::PauseLeader(lease, ms) => {
                if let Some(u) = self.leader_unit(lease) {
                    let h = lease * units + u;
                    let until = self.now + Duration::from_millis(ms);
                    self.holders[h].paused_until = until;
                    self.schedule(h, until);
                }
            }
            Action::LeaderRestart(ms) => self.restart_leader(ms),
            Action::PinLeadersOf { machine, until_ms } => {
                let leases: Vec<usize> = (0..self.active)
                    .filter(|&l| {
                        self.leader_unit(l)
                            .is_some_and(|u| machine_of(l * units + u, units, MACHINES) == machine)
                    })
                    .collect();
                let until = self.now + Duration::from_millis(until_ms);
                for &l in &leases {
                    let op = Op::pin_until(
                        self.keys[l].clone(),
                        format!("machine-{machine}"),
                        until,
                        "series upgrade",
                    );
                    self.operator(op);
                }
                self.pinned_by_machine.insert(machine, leases);
            }
            Action::ForgetfulPin { lease, until_ms } => {
                let until = self.now + Duration::from_millis(until_ms);
                let op = Op::pin_until(
                    self.keys[lease].clone(),
                    "operator",
                    until,
                    "forgotten after maintenance",
                );
                self.operator(op);
            }
            Action::UnpinMachine(machine) => {
                for l in self.pinned_by_machine.remove(&machine).unwrap_or_default() {
                    self.operator(Op::unpin(
                        self.keys[l].clone(),
                        format!("machine-{machine}"),
                    ));
                }
            }
            Action::CrashMachine(m) => {
                for h in self.holders_of_machine(m) {
                    self.stop_holder(h);
                }
            }
            Action::RestartMachine(m) => {
                for h in self.holders_of_machine(m) {
                    if h / units < self.active {
                        self.start_holder(h);
                    }
                }
            }
        }
    }

    /// A holder joins after `delay_ms`: until then it is paused with no tracker; its
    /// wake-up starts it.
    fn schedule_join(&mut self, h: usize, delay_ms: u64) {
        let at = self.now + Duration::from_millis(delay_ms);
        self.holders[h].wake = at;
        self.wakeups.entry(at).or_default().push(holder_id(h));
    }

    /// The engine's process restarts: queued and in-flight requests are answered
    /// (shed, aborted), the log forgets what it had not committed, the new engine
    /// resumes from the committed state, and every holder reconnects after `outage_ms`.
    fn restart_leader(&mut self, outage_ms: u64) {
        let now = self.now;
        let back = now + Duration::from_millis(outage_ms);
        for h in &mut self.holders {
            if h.tracker.is_some() {
                h.muted_until = back;
            }
        }
        self.engine.shutdown(now);
        self.pump();
        self.log.clear();
        let fsm = self.engine.fsm().clone();
        let next_seq = self.engine.next_seq();
        self.engine = Engine::with_state(self.params.engine_config(), fsm, next_seq, now)
            .expect("the configuration was valid at the start");
        self.routes.restart();
        // Reconnecting: every running holder starts over at `back`.
        let running: Vec<usize> = (0..self.holders.len())
            .filter(|&h| self.holders[h].tracker.is_some())
            .collect();
        for h in running {
            self.holders[h].tracker = None;
            self.holders[h].paused_until = back;
            self.holders[h].wake = back;
            self.wakeups.entry(back).or_default().push(holder_id(h));
        }
    }
}

/// The name of lease `i`: `app-{i}` for leadership leases, `singular-{j}` after them.
fn lease_name(i: usize, leases: usize) -> String {
    if i < leases {
        format!("app-{i}")
    } else {
        format!("singular-{}", i - leases)
    }
}

/// The unit number in a holder name `lease/unit`.
fn unit_of(holder: &str) -> Option<u8> {
    holder.rsplit_once('/')?.1.parse().ok()
}

/// The model number of the controller's own (singular) leases.
const CONTROLLER_MODEL: u64 = u64::MAX;

/// A UUID-shaped model name derived from the seed (36 characters).
fn model_uuid(seed: u64, m: impl TryInto<u64>) -> String {
    let m: u64 = m.try_into().unwrap_or(u64::MAX - 1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ m.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let a: u32 = rng.random();
    let b: u16 = rng.random();
    let c: u16 = rng.random();
    let d: u16 = rng.random();
    let e: u64 = rng.random::<u64>() & 0xFFFF_FFFF_FFFF;
    format!(
        "{a:08x}-{b:04x}-4{:03x}-{:04x}-{e:012x}",
        c & 0xFFF,
        (d & 0x3FFF) | 0x8000
    )
}

/// A holder's index as stored in wake-ups and routes: [`Params::validate`] keeps holders
/// within 10,000,000, far below `u32::MAX`.
fn holder_id(h: usize) -> u32 {
    h as u32
}
