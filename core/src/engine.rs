//! The batching engine: turns a stream of lease requests into one batch per window.
//!
//! Sans-IO: the caller feeds it requests, timeouts and the log's commit notices, each
//! with the caller's `now`, and drains [`Output`]s with [`Engine::poll_output`] until it
//! yields [`Output::Timeout`]. See the crate documentation for the loop.

use crate::batch::Batch;
use crate::codec::{EncodeError, encode_against};
use crate::config::{Config, ConfigError};
use crate::error::{FieldError, LeaseError};
use crate::event::Event;
use crate::fsm::{Fsm, LeaseInfo, LeaseRef};
use crate::key::Key;
use crate::lane::Lane;
use crate::metrics::Metrics;
use crate::op::Op;
pub use crate::outcome::{Answer, Outcome, Ticket};
use crate::queue::{Offer, Queue, Waiter, Waiters};
use crate::time::Time;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

/// A batch to append to the log. Tell the engine when it commits
/// ([`Engine::handle_committed`]) or is abandoned ([`Engine::handle_abandoned`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Append {
    /// The batch's sequence number.
    pub seq: u64,
    /// The encoded batch ([`Batch::decode`] reads it).
    pub bytes: Vec<u8>,
    /// How many operations it holds (including a leading `set_time`).
    pub ops: usize,
}

/// Where one request of an in-flight batch was placed ([`Engine::placements`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The request.
    pub ticket: Ticket,
    /// The index in the batch's operations (counting a leading `set_time`) of the
    /// operation that answers it.
    pub op: u32,
    /// For a claim that rode along on another holder's claim of the same lease: the
    /// request's own claimant. Its answer is then not that operation's result but who
    /// holds the lease after it (`held`, or `invalid` when the claimant does).
    pub rival: Option<Arc<str>>,
}

/// What a settled batch carried and how long its requests waited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReport {
    /// The batch's sequence number.
    pub seq: u64,
    /// Operations, including a leading `set_time`.
    pub ops: usize,
    /// Requests it answered (more than its operations when requests coalesced).
    pub requests: usize,
    /// Operations per lane, in [`Lane::ALL`] order.
    pub lane_ops: [usize; 4],
    /// Encoded size.
    pub bytes: usize,
    /// When it was cut, on the caller's clock.
    pub cut_at: Time,
    /// When it settled, on the caller's clock.
    pub settled_at: Time,
    /// The longest any of its requests waited to be cut.
    pub max_wait: Duration,
    /// False when the log abandoned it.
    pub committed: bool,
}

/// What the engine asks of its caller. Drain with [`Engine::poll_output`] until
/// [`Output::Timeout`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Output {
    /// Nothing more now: call [`Engine::handle_timeout`] at this time (or earlier, on
    /// any input).
    Timeout(Time),
    /// Append this batch to the log.
    Append(Append),
    /// A request's answer.
    Answer(Answer),
    /// A lease changed: elected (`Claimed`, `HandedOver`'s `to`), deposed (`Expired`,
    /// `Revoked`, `HandedOver`'s `from`), pinned or unpinned. Extensions are reported
    /// only with [`Config::report_extensions`].
    Event(Event),
    /// A batch settled (committed or abandoned).
    Settled(BatchReport),
}

/// A misuse of the engine by its caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The batch is not in flight (never appended, or already settled).
    #[error("batch {0} is not in flight")]
    UnknownBatch(u64),
}

/// Whether the engine waits for the log or commits its own batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Replicated,
    SingleNode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settle {
    Pending,
    Committed,
    Abandoned,
}

#[derive(Debug)]
struct InFlight {
    seq: u64,
    batch: Batch,
    /// Whether `batch.ops[0]` is the engine's `set_time`.
    timed: bool,
    /// The lane and requests of each operation after the `set_time`.
    entries: Vec<(Lane, Waiters)>,
    /// For each operation, the place of the lease it extends when the batch names it by
    /// place: applied there without a lookup.
    places: Vec<Option<LeaseRef>>,
    bytes: usize,
    cut_at: Time,
    max_wait: Duration,
    state: Settle,
}

/// The batching lease engine. See the crate documentation for the drain loop.
#[derive(Debug)]
pub struct Engine {
    config: Config,
    mode: Mode,
    fsm: Fsm,
    queue: Queue,
    in_flight: VecDeque<InFlight>,
    outputs: VecDeque<Output>,
    metrics: Metrics,
    next_seq: u64,
    next_ticket: u64,
    now: Time,
    /// Log time = `log_base + (local - local_base)`.
    local_base: Time,
    log_base: Time,
    /// Log time once every in-flight batch has applied.
    planned: Time,
    next_tick: Time,
    last_cut: Time,
    /// A tick passed while the in-flight window was full.
    flush_wanted: bool,
    /// A reused buffer for the events of applying one operation.
    events: Vec<Event>,
    /// Leases an in-flight batch revokes, hands over or unpins, sorted, once per such
    /// operation: a later batch must name them, since their places may change first.
    unsettled: Vec<Key>,
}

impl Engine {
    /// An engine whose batches a replicated log commits: append each [`Output::Append`]
    /// and report back with [`Engine::handle_committed`] or [`Engine::handle_abandoned`].
    pub fn new(config: Config, now: Time) -> Result<Engine, ConfigError> {
        Engine::with_state(config, Fsm::new(), 1, now)
    }

    /// An engine that commits its own batches at once (tests, simulations, browsers).
    pub fn single_node(config: Config, now: Time) -> Result<Engine, ConfigError> {
        Ok(Engine::new(config, now)?.into_single_node())
    }

    /// A replicated engine resuming from a state (replayed from the log or restored
    /// from a snapshot); its next batch is numbered `next_seq`.
    pub fn with_state(
        config: Config,
        fsm: Fsm,
        next_seq: u64,
        now: Time,
    ) -> Result<Engine, ConfigError> {
        config.validate()?;
        let g = fsm.global_time();
        Ok(Engine {
            next_tick: now + config.batch_interval,
            config,
            mode: Mode::Replicated,
            fsm,
            queue: Queue::default(),
            in_flight: VecDeque::new(),
            outputs: VecDeque::new(),
            metrics: Metrics::default(),
            next_seq,
            next_ticket: 1,
            now,
            local_base: now,
            log_base: g,
            planned: g,
            last_cut: now,
            flush_wanted: false,
            events: Vec::new(),
            unsettled: Vec::new(),
        })
    }

    /// Turns this engine into one that commits its own batches.
    #[must_use]
    pub fn into_single_node(mut self) -> Engine {
        self.mode = Mode::SingleNode;
        self
    }

    // ---- reads -------------------------------------------------------------------

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The committed state.
    #[must_use]
    pub fn fsm(&self) -> &Fsm {
        &self.fsm
    }

    /// The held leases, with expiries on the caller's clock.
    #[must_use]
    pub fn leases(&self) -> Vec<LeaseInfo> {
        self.fsm.leases(self.local_of(self.fsm.global_time()))
    }

    /// The log time that corresponds to the caller's `local` time.
    #[must_use]
    pub fn log_time(&self, local: Time) -> Time {
        let since = local
            .as_millis()
            .saturating_sub(self.local_base.as_millis());
        Time::from_millis(self.log_base.as_millis().saturating_add(since))
    }

    /// The caller's time that corresponds to log time `log`.
    #[must_use]
    pub fn local_of(&self, log: Time) -> Time {
        let (local, base) = (self.local_base.as_millis(), self.log_base.as_millis());
        Time::from_millis(match log.as_millis().checked_sub(base) {
            Some(since) => local.saturating_add(since),
            None => local.saturating_sub(base - log.as_millis()),
        })
    }

    /// Waiting requests in `lane`.
    #[must_use]
    pub fn queue_depth(&self, lane: Lane) -> usize {
        self.queue.depth(lane)
    }

    /// Batches appended but not settled.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The running totals, with current lane depths.
    #[must_use]
    pub fn metrics(&self) -> Metrics {
        let mut m = self.metrics.clone();
        for lane in Lane::ALL {
            m.lane_mut(lane).depth = self.queue.depth(lane);
        }
        m
    }

    /// Where each request of in-flight batch `seq` was placed, in operation order; `None`
    /// when `seq` is not in flight. A replicated service records these with the batch so
    /// that a caller who lost its connection can learn its request's fate from the log.
    #[must_use]
    pub fn placements(&self, seq: u64) -> Option<Vec<Placement>> {
        let f = self.in_flight.iter().find(|f| f.seq == seq)?;
        let skip = u32::from(f.timed);
        let mut out = Vec::new();
        for (i, (_, waiters)) in (skip..).zip(&f.entries) {
            out.extend(waiters.iter().map(|w| Placement {
                ticket: w.ticket,
                op: i,
                rival: w.rival.clone(),
            }));
        }
        Some(out)
    }

    /// The sequence number the next batch will get.
    #[must_use]
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    // ---- inputs ------------------------------------------------------------------

    /// Submits a request (any operation but `set_time`, which is the engine's own). Its
    /// lane follows from the key (singular namespace) and the operation.
    pub fn handle_request(&mut self, now: Time, op: Op) -> Ticket {
        self.submit(now, op, false)
    }

    /// Submits a request in the singular (priority) lane whatever its key.
    pub fn handle_priority_request(&mut self, now: Time, op: Op) -> Ticket {
        self.submit(now, op, true)
    }

    /// Time has reached `now`: cuts due batches and answers requests past their deadline.
    pub fn handle_timeout(&mut self, now: Time) {
        self.advance_clock(now);
        let now = self.now;
        if now >= self.next_tick {
            if !self.queue.is_empty() {
                self.flush_wanted = true;
            }
            let interval =
                u64::try_from(self.config.batch_interval.as_millis()).unwrap_or(u64::MAX);
            let behind = (now.as_millis() - self.next_tick.as_millis()) / interval + 1;
            self.next_tick = Time::from_millis(self.next_tick.as_millis() + behind * interval);
        }
        if now >= self.last_cut + self.config.clock_interval && self.has_room() {
            self.cut(now);
        }
        self.flush(now);
        self.expire(now);
    }

    /// The log committed batch `seq`: apply it, answer its requests, report events.
    pub fn handle_committed(&mut self, now: Time, seq: u64) -> Result<(), EngineError> {
        self.mark(seq, Settle::Committed)?;
        self.advance_clock(now);
        self.settle(self.now);
        self.flush(self.now);
        Ok(())
    }

    /// The log abandoned batch `seq`: none of it applied; its requests get `Aborted`.
    pub fn handle_abandoned(&mut self, now: Time, seq: u64) -> Result<(), EngineError> {
        self.mark(seq, Settle::Abandoned)?;
        self.advance_clock(now);
        self.settle(self.now);
        self.flush(self.now);
        Ok(())
    }

    /// Answers every waiting request (`Shed`: not applied) and every request in an
    /// unsettled batch (`Aborted`), as a service does when it stops.
    pub fn shutdown(&mut self, now: Time) {
        self.advance_clock(now);
        for entry in self.queue.drain() {
            self.answer_all(entry.waiters, &Outcome::Shed);
        }
        while let Some(f) = self.in_flight.pop_front() {
            for (_, waiters) in f.entries {
                self.answer_all(waiters, &Outcome::Aborted);
            }
        }
        self.unsettled.clear();
    }

    // ---- output ------------------------------------------------------------------

    /// The next output. Call until it returns [`Output::Timeout`]; then wait for that
    /// time or another input.
    pub fn poll_output(&mut self) -> Output {
        self.outputs
            .pop_front()
            .unwrap_or_else(|| Output::Timeout(self.next_timeout()))
    }

    /// The time of the next [`Engine::handle_timeout`] call the engine needs.
    #[must_use]
    pub fn next_timeout(&self) -> Time {
        let mut at = self.queue.next_deadline().unwrap_or(Time::MAX);
        if self.has_room() {
            at = at.min(self.last_cut + self.config.clock_interval);
            if !self.queue.is_empty() {
                at = at.min(self.next_tick);
            }
        }
        if at == Time::MAX {
            // The window is full and nothing waits: look again after a clock interval.
            at = self.now + self.config.clock_interval;
        }
        at.max(self.now + Duration::from_millis(1))
    }

    // ---- internals ---------------------------------------------------------------

    fn advance_clock(&mut self, now: Time) {
        self.now = self.now.max(now);
    }

    fn has_room(&self) -> bool {
        self.in_flight.len() < self.config.max_in_flight
    }

    fn deadline(&self, lane: Lane) -> Duration {
        match lane {
            Lane::Singular => self.config.singular_deadline,
            Lane::Extend => self.config.extend_deadline,
            Lane::Admin => self.config.admin_deadline,
            Lane::Claim => self.config.claim_deadline,
        }
    }

    fn submit(&mut self, now: Time, op: Op, priority: bool) -> Ticket {
        self.advance_clock(now);
        let now = self.now;
        let ticket = Ticket(self.next_ticket);
        self.next_ticket += 1;
        let check = match &op {
            Op::SetTime { .. } => Err(FieldError::new(
                "op",
                "is set_time, which only the engine writes",
            )),
            _ => op.validate(),
        };
        if let Err(e) = check {
            self.metrics.rejected += 1;
            self.push_answer(ticket, Outcome::Rejected(e));
            return ticket;
        }
        let op = self.prepare(op);
        let lane = Lane::of(&op, priority);
        let waiter = Waiter {
            ticket,
            submitted: now,
            rival: None,
        };
        let deadline = now + self.deadline(lane);
        match self
            .queue
            .offer(op, lane, waiter, deadline, self.config.queue_capacity)
        {
            Offer::Queued => self.metrics.lane_mut(lane).accepted += 1,
            Offer::QueuedEvicting(evicted) => {
                self.metrics.lane_mut(lane).accepted += 1;
                self.metrics.lane_mut(Lane::Claim).shed += evicted.waiters.len() as u64;
                self.answer_all(evicted.waiters, &Outcome::Shed);
            }
            Offer::Full => {
                self.metrics.lane_mut(lane).shed += 1;
                self.push_answer(ticket, Outcome::Shed);
            }
        }
        self.flush(now);
        ticket
    }

    /// Turns a request into the operation the log will carry: a claim by the current
    /// holder becomes an extension; a pin deadline moves from the caller's clock to log
    /// time.
    fn prepare(&self, op: Op) -> Op {
        match op {
            Op::Claim {
                key,
                holder,
                duration,
            } if self.fsm.holder(&key) == Some(&*holder) => Op::Extend {
                key,
                holder,
                duration,
            },
            Op::Pin {
                key,
                entity,
                until: Some(until),
                reason,
            } => Op::Pin {
                key,
                entity,
                until: Some(self.log_time(until)),
                reason,
            },
            op => op,
        }
    }

    /// Cuts batches while one is due and the window has room.
    fn flush(&mut self, now: Time) {
        while self.has_room() && !self.queue.is_empty() {
            let full = self.queue.entries() >= self.config.max_batch_ops;
            let eager = self.config.eager && self.in_flight.is_empty();
            if !(full || eager || self.flush_wanted || self.queue.depth(Lane::Singular) > 0) {
                break;
            }
            self.cut(now);
        }
    }

    /// Cuts one batch from the queue, with a leading `set_time` when log time moved.
    fn cut(&mut self, now: Time) {
        self.flush_wanted = false;
        self.last_cut = now;
        let entries = self.queue.cut(self.config.max_batch_ops);
        let log_now = self.log_time(now);
        let timed = log_now > self.planned;
        if entries.is_empty() && !timed {
            return;
        }
        let mut ops = Vec::with_capacity(entries.len() + usize::from(timed));
        if timed {
            ops.push(Op::set_time(self.planned, log_now));
            self.planned = log_now;
        }
        let mut max_wait = Duration::ZERO;
        let entries: Vec<(Lane, Waiters)> = entries
            .into_iter()
            .map(|e| {
                let (op, lane, waiters) = e.into_parts();
                max_wait = max_wait.max(now.saturating_since(waiters.first().submitted));
                ops.push(op);
                (lane, waiters)
            })
            .collect();
        let seq = self.next_seq;
        let batch = Batch::new(seq, ops);
        let (bytes, places) = match self.encode(&batch) {
            Ok(encoded) => encoded,
            Err(_) => {
                // Unreachable: requests are validated and batches bounded below the
                // limits. Answer rather than lose the requests.
                for (_, waiters) in entries {
                    self.answer_all(waiters, &Outcome::Aborted);
                }
                return;
            }
        };
        self.next_seq += 1;
        self.metrics.batches += 1;
        self.metrics.batch_ops += batch.ops.len() as u64;
        self.metrics.batch_bytes += bytes.len() as u64;
        let len = bytes.len();
        let op_count = batch.ops.len();
        self.outputs.push_back(Output::Append(Append {
            seq,
            bytes,
            ops: op_count,
        }));
        for key in batch.ops.iter().filter_map(Op::unsettles) {
            let at = self.unsettled.binary_search(key).unwrap_or_else(|at| at);
            self.unsettled.insert(at, key.clone());
        }
        self.in_flight.push_back(InFlight {
            seq,
            batch,
            timed,
            entries,
            places,
            bytes: len,
            cut_at: now,
            max_wait,
            state: Settle::Pending,
        });
        if self.mode == Mode::SingleNode {
            self.mark(seq, Settle::Committed)
                .expect("the batch just cut is in flight");
            self.settle(now);
        }
    }

    /// Encodes a batch about to be appended. With [`Config::refer_to_state`], an
    /// extension names its lease by place when nothing can move the lease before the
    /// batch applies: the committed state holds it by that holder, it cannot expire by
    /// the time this batch sets, and no in-flight batch (nor an earlier operation of this
    /// one) revokes, hands over or unpins it. Returns the places used, by operation.
    fn encode(&self, batch: &Batch) -> Result<(Vec<u8>, Vec<Option<LeaseRef>>), EncodeError> {
        if !self.config.refer_to_state {
            return Ok((batch.encode()?, vec![None; batch.ops.len()]));
        }
        let mut places = Vec::with_capacity(batch.ops.len());
        let settled =
            |key: &Key| self.unsettled.is_empty() || self.unsettled.binary_search(key).is_err();
        let bytes = encode_against(&self.fsm, batch, self.planned, settled, |place| {
            places.push(place);
        })?;
        Ok((bytes, places))
    }

    fn mark(&mut self, seq: u64, state: Settle) -> Result<(), EngineError> {
        // In-flight batches are numbered consecutively from the front.
        let index = self
            .in_flight
            .front()
            .and_then(|front| seq.checked_sub(front.seq))
            .and_then(|i| usize::try_from(i).ok());
        match index.and_then(|i| self.in_flight.get_mut(i)) {
            Some(f) if f.seq == seq && f.state == Settle::Pending => {
                f.state = state;
                Ok(())
            }
            _ => Err(EngineError::UnknownBatch(seq)),
        }
    }

    /// Applies or aborts settled batches in log order.
    fn settle(&mut self, now: Time) {
        let mut resync = false;
        while self
            .in_flight
            .front()
            .is_some_and(|f| f.state != Settle::Pending)
        {
            let f = self.in_flight.pop_front().expect("front exists");
            let committed = f.state == Settle::Committed;
            let mut lane_ops = [0; 4];
            let mut requests = 0;
            let ops = f.batch.ops.len();
            for key in f.batch.ops.iter().filter_map(Op::unsettles) {
                if let Ok(at) = self.unsettled.binary_search(key) {
                    self.unsettled.remove(at);
                }
            }
            if committed {
                self.metrics.committed += 1;
                let skip = usize::from(f.timed);
                if f.timed {
                    let op = &f.batch.ops[0];
                    if self.apply(op).is_err() {
                        resync = true;
                    }
                }
                let ops_iter = f.batch.ops[skip..].iter().zip(&f.places[skip..]);
                for ((op, place), (lane, waiters)) in ops_iter.zip(f.entries) {
                    lane_ops[lane.index()] += 1;
                    requests += waiters.len();
                    let result = match (place, op) {
                        (Some(at), Op::Extend { duration, .. }) => self.extend_at(*at, *duration),
                        _ => self.apply(op),
                    };
                    self.answer_applied(op, lane, waiters, result);
                }
            } else {
                self.metrics.abandoned += 1;
                resync = true;
                for (lane, waiters) in f.entries {
                    lane_ops[lane.index()] += 1;
                    requests += waiters.len();
                    self.metrics.aborted += waiters.len() as u64;
                    self.answer_all(waiters, &Outcome::Aborted);
                }
            }
            self.outputs.push_back(Output::Settled(BatchReport {
                seq: f.seq,
                ops,
                requests,
                lane_ops,
                bytes: f.bytes,
                cut_at: f.cut_at,
                settled_at: now,
                max_wait: f.max_wait,
                committed,
            }));
        }
        if resync {
            self.resync_time();
        }
    }

    /// Recomputes the log time the next batch starts from, after a batch was abandoned
    /// or a `set_time` found the log elsewhere: the committed time, carried through
    /// the in-flight batches whose `set_time` will still apply.
    fn resync_time(&mut self) {
        let mut g = self.fsm.global_time();
        for f in &self.in_flight {
            if let (true, Some(Op::SetTime { old, new })) = (f.timed, f.batch.ops.first()) {
                if *old == g {
                    g = *new;
                }
            }
        }
        self.planned = g;
    }

    /// Applies one committed operation and reports its events.
    fn apply(&mut self, op: &Op) -> Result<Option<u64>, LeaseError> {
        let mut events = std::mem::take(&mut self.events);
        let result = self.fsm.apply_into(op, &mut events);
        self.emit_events(&mut events);
        self.events = events;
        result
    }

    /// Applies a committed extension at the place its batch named.
    fn extend_at(&mut self, at: LeaseRef, d: Duration) -> Result<Option<u64>, LeaseError> {
        if !self.config.report_extensions {
            return self.fsm.extend_at(at, d, None);
        }
        let mut events = std::mem::take(&mut self.events);
        let result = self.fsm.extend_at(at, d, Some(&mut events));
        self.emit_events(&mut events);
        self.events = events;
        result
    }

    fn emit_events(&mut self, events: &mut Vec<Event>) {
        for e in events.drain(..) {
            match e {
                Event::Extended { .. } if !self.config.report_extensions => continue,
                Event::Expired { .. } | Event::Revoked { .. } | Event::HandedOver { .. } => {
                    self.metrics.leadership_changes += 1;
                }
                _ => {}
            }
            self.outputs.push_back(Output::Event(e));
        }
    }

    /// Answers an entry's requests from its operation's result; rival claimants learn
    /// who holds the lease now.
    fn answer_applied(
        &mut self,
        op: &Op,
        lane: Lane,
        waiters: Waiters,
        result: Result<Option<u64>, LeaseError>,
    ) {
        self.metrics.lane_mut(lane).applied += waiters.len() as u64;
        self.metrics.coalesced += waiters.len().saturating_sub(1) as u64;
        for w in waiters {
            let outcome = match (&w.rival, op.key()) {
                (Some(rival), Some(key)) => Outcome::Applied(match self.fsm.holder(key) {
                    Some(h) if h == &**rival => Err(LeaseError::Invalid),
                    Some(h) => Err(LeaseError::Held {
                        holder: Arc::from(h),
                    }),
                    None => Err(LeaseError::Invalid),
                }),
                _ => Outcome::Applied(result.clone()),
            };
            self.record_latency(w.submitted);
            self.push_answer(w.ticket, outcome);
        }
    }

    fn answer_all(&mut self, waiters: Waiters, outcome: &Outcome) {
        for w in waiters {
            self.record_latency(w.submitted);
            self.push_answer(w.ticket, outcome.clone());
        }
    }

    fn record_latency(&mut self, submitted: Time) {
        let ms =
            u64::try_from(self.now.saturating_since(submitted).as_millis()).unwrap_or(u64::MAX);
        self.metrics.record_latency(ms);
    }

    fn push_answer(&mut self, ticket: Ticket, outcome: Outcome) {
        self.outputs
            .push_back(Output::Answer(Answer { ticket, outcome }));
    }

    /// Answers `DeadlineExceeded` to every entry whose lane deadline has passed.
    fn expire(&mut self, now: Time) {
        for entry in self.queue.expire(now) {
            self.metrics.lane_mut(entry.lane).deadline_exceeded += entry.waiters.len() as u64;
            self.answer_all(entry.waiters, &Outcome::DeadlineExceeded);
        }
    }
}
