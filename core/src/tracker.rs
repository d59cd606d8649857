//! The tracker: a sans-IO client for one holder's leases, what a unit agent runs.
//!
//! A [`Tracker`] wants leadership of the keys it [tracks](Tracker::track). It claims
//! them, renews what it holds at half the duration, waits for a release after losing a
//! claim and claims again, and reports [`TrackerOutput::Elected`] and
//! [`TrackerOutput::Deposed`] when its leadership changes.
//!
//! Like the [`Engine`](crate::Engine) it does no I/O and reads no clock. The caller
//! feeds it the engine's answers ([`Tracker::handle_answer`]), the engine's lease events
//! ([`Tracker::handle_event`]) and timeouts ([`Tracker::handle_timeout`]), each with the
//! caller's `now`, and after every input drains [`Tracker::poll_output`] until it
//! returns [`TrackerOutput::Timeout`]. A [`TrackerOutput::Submit`] asks the caller to
//! submit an operation to the engine and, once the engine answers it, to hand the
//! answer back under the same [`RequestId`].
//!
//! ## Proving leadership
//!
//! A leader only counts as one while it can prove it holds the lease: a grant or an
//! extension submitted at local time `s` for `d` holds at least until `s + d` (the
//! *conservative expiry*), whenever the log applied it. Once `now` reaches that time
//! without a newer successful extension the tracker reports `Deposed`, even if the
//! engine still has the lease. Time on the caller's clock and log time are assumed to
//! advance at the same rate, as the engine assumes.
//!
//! ## Policy
//!
//! - A claim granted → `Elected`; an extension is submitted
//!   [`TrackerConfig::renew_after`] (less up to [`TrackerConfig::renew_jitter`]) after
//!   the previous successful request was sent: the start its lease can prove.
//! - An extension refused by the log (`Invalid`, `Held`) → `Deposed`. One that did not
//!   reach the log (`Shed`, `DeadlineExceeded`, `Aborted`) is retried after
//!   [`TrackerConfig::retry_delay`], at most [`TrackerConfig::extend_retries`] times;
//!   then `Deposed`.
//! - A claim refused (`Held`, `Invalid`) or answered `DeadlineExceeded` is never
//!   retried directly: the tracker waits for the lease to be released (an `Expired` or
//!   `Revoked` event) and then claims at once; without news for
//!   [`TrackerConfig::release_fallback`] it claims again anyway, since events can be
//!   missed.
//! - A claim `Shed` or `Aborted` is retried after [`TrackerConfig::claim_backoff`] plus
//!   up to 50% jitter derived from the holder's name, so that many trackers refused at
//!   once do not return at once.
//! - A claim `Rejected` (malformed) stops the tracking of that key.
//!
//! ```
//! use leasehold::{Key, Outcome, Time, Tracker, TrackerConfig, TrackerOutput};
//!
//! let key = Key::new("application-leadership", "model-uuid", "mysql");
//! let mut tracker = Tracker::new("mysql/0", TrackerConfig::default());
//! tracker.track(Time::ZERO, key.clone());
//! let TrackerOutput::Submit { id, op } = tracker.poll_output() else { panic!() };
//! assert_eq!(op.kind(), "claim");
//! assert_eq!(tracker.poll_output(), TrackerOutput::Timeout(Time::from_millis(60_000)));
//!
//! // The engine granted the claim 100 ms later, with fencing token 7.
//! tracker.handle_answer(Time::from_millis(100), id, &Outcome::Applied(Ok(Some(7))));
//! assert_eq!(tracker.poll_output(), TrackerOutput::Elected { key: key.clone(), token: 7 });
//! // Next: the renewal, 30 s after the claim was sent (up to 1.5 s early: jitter).
//! let TrackerOutput::Timeout(renew) = tracker.poll_output() else { panic!() };
//! assert!((28_500..=30_000).contains(&renew.as_millis()));
//! assert!(tracker.is_leader(&key));
//! ```

use crate::error::LeaseError;
use crate::event::Event;
use crate::key::Key;
use crate::op::Op;
use crate::outcome::Outcome;
use crate::time::Time;
use std::collections::VecDeque;
use std::ops::{Index, IndexMut};
use std::sync::Arc;
use std::time::Duration;

/// Names one request a [`Tracker`] asked its caller to submit. Unique within one
/// tracker (they count up from 1), not across trackers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// How a [`Tracker`] claims and renews. `TrackerConfig::default()` is what the design
/// describes: 60 s leases renewed every 30 s.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerConfig {
    /// How long each claim and extension asks for (60 s).
    pub duration: Duration,
    /// How long after a successful grant or extension the next extension is submitted
    /// (30 s, half the duration). Should be well below `duration`, or the leader is
    /// deposed at its conservative expiry before it renews.
    pub renew_after: Duration,
    /// How many times an extension that did not reach the log is retried before the
    /// leader gives up and reports itself deposed (3).
    pub extend_retries: u32,
    /// The wait before retrying such an extension (1 s).
    pub retry_delay: Duration,
    /// The wait before claiming again after a claim was `Shed` or `Aborted` (2 s), plus
    /// up to 50% deterministic jitter.
    pub claim_backoff: Duration,
    /// How long a holder waiting for a release claims again anyway, in case the release
    /// event was missed (ten durations). Waiting holders are most of the holders: a
    /// short fallback turns them into a steady stream of claims.
    pub release_fallback: Duration,
    /// Extensions go out up to this much before `renew_after` (deterministic per holder
    /// and request; a twentieth of `renew_after`), so holders that joined together
    /// drift apart instead of renewing in lockstep. Zero renews exactly on time.
    pub renew_jitter: Duration,
}

impl Default for TrackerConfig {
    fn default() -> TrackerConfig {
        TrackerConfig::with_duration(Duration::from_secs(60))
    }
}

impl TrackerConfig {
    /// Leases of `d`, renewed after `d / 2`; the other settings at their defaults.
    #[must_use]
    pub fn with_duration(d: Duration) -> TrackerConfig {
        TrackerConfig {
            duration: d,
            renew_after: d / 2,
            extend_retries: 3,
            retry_delay: Duration::from_secs(1),
            claim_backoff: Duration::from_secs(2),
            release_fallback: d.saturating_mul(10),
            renew_jitter: d / 40,
        }
    }
}

/// What a [`Tracker`] asks of its caller. Drain with [`Tracker::poll_output`] until
/// [`TrackerOutput::Timeout`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum TrackerOutput {
    /// Submit `op` to the engine; hand its answer back with
    /// [`Tracker::handle_answer`] under `id`.
    Submit {
        /// The request's name.
        id: RequestId,
        /// The operation (claim, extend or revoke) to submit.
        op: Op,
    },
    /// This holder now leads `key` and may act as its leader, with fencing `token`.
    Elected {
        /// The lease.
        key: Key,
        /// The grant's fencing token.
        token: u64,
    },
    /// This holder no longer leads `key` (or can no longer prove it does): stop acting.
    Deposed {
        /// The lease.
        key: Key,
    },
    /// Nothing more now: call [`Tracker::handle_timeout`] at this time (or earlier, on
    /// any input). [`Time::MAX`] when nothing is scheduled.
    Timeout(Time),
}

/// Where one tracked key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// A claim is in flight (`pending`, sent at `sent`).
    Claiming,
    /// Leading, provably until `expiry`. With a request pending, an extension is in
    /// flight; otherwise the next one is due at `at`.
    Leading,
    /// Not leading, nothing in flight: claim at `at` (a backoff or the fallback after
    /// waiting for a release), or at once on a release event.
    Waiting,
    /// Untracked while a claim was in flight: if that claim turns out granted, revoke
    /// it; then forget the key.
    Releasing,
}

/// One tracked key. Kept small: a tracker usually has one.
#[derive(Debug, Clone)]
struct Lease {
    key: Key,
    /// The request in flight for this key; 0 when none.
    pending: u64,
    /// When the pending request was submitted.
    sent: Time,
    /// The next action of this key's own (renewal, retry, claim); [`Time::MAX`] if none.
    at: Time,
    /// Leading: the conservative expiry.
    expiry: Time,
    /// Leading: the fencing token.
    token: u64,
    /// The highest fencing token seen for this key; older events are stale.
    seen: u64,
    /// Extensions in a row that did not reach the log.
    failures: u32,
    phase: Phase,
    /// A release event arrived while the claim was in flight: if it is refused,
    /// claim again at once rather than wait.
    released: bool,
    /// The checksum of the holder's name and the key, where [`Tracker::jitter`]'s
    /// checksum continues (computed once: the names are fixed).
    names_crc: u32,
}

/// The tracked keys, in the order they were tracked, in a vector no larger than they
/// need (a tracker usually has one, and a simulation keeps millions of trackers).
#[derive(Debug, Clone, Default)]
struct Leases(Vec<Lease>);

impl Leases {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn iter(&self) -> impl Iterator<Item = &Lease> {
        self.0.iter()
    }

    fn push(&mut self, l: Lease) {
        self.0.reserve_exact(1);
        self.0.push(l);
    }

    /// Removes lease `i`, keeping the others' order; frees the memory once empty.
    fn remove(&mut self, i: usize) -> Lease {
        let l = self.0.remove(i);
        if self.0.is_empty() {
            self.0 = Vec::new();
        }
        l
    }
}

impl Index<usize> for Leases {
    type Output = Lease;

    fn index(&self, i: usize) -> &Lease {
        &self.0[i]
    }
}

impl IndexMut<usize> for Leases {
    fn index_mut(&mut self, i: usize) -> &mut Lease {
        &mut self.0[i]
    }
}

/// The settings, kept in whole milliseconds (the resolution of [`Time`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Settings {
    duration_ms: u64,
    renew_after_ms: u64,
    retry_delay_ms: u64,
    claim_backoff_ms: u64,
    release_fallback_ms: u64,
    renew_jitter_ms: u64,
    extend_retries: u32,
}

impl Settings {
    fn new(config: &TrackerConfig) -> Settings {
        // Waits of at least 1 ms, so a zero setting cannot make a caller spin on one
        // timeout (a zero duration still reaches the engine, which rejects it).
        Settings {
            duration_ms: millis(config.duration),
            renew_after_ms: millis(config.renew_after).max(1),
            retry_delay_ms: millis(config.retry_delay).max(1),
            claim_backoff_ms: millis(config.claim_backoff).max(1),
            release_fallback_ms: millis(config.release_fallback).max(1),
            renew_jitter_ms: millis(config.renew_jitter),
            extend_retries: config.extend_retries,
        }
    }
}

/// A [`TrackerConfig`] in the form trackers keep it, shared by many trackers (a
/// simulation runs millions with one), so each keeps a pointer rather than a copy.
#[derive(Debug, Clone)]
pub(crate) struct SharedConfig(Arc<Settings>);

impl SharedConfig {
    pub(crate) fn new(config: &TrackerConfig) -> SharedConfig {
        SharedConfig(Arc::new(Settings::new(config)))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn plus(t: Time, ms: u64) -> Time {
    Time::from_millis(t.as_millis().saturating_add(ms))
}

/// A holder-side lease client: claims, renews, waits and reports leadership for the
/// keys it tracks. See the [module documentation](self) for the protocol and policy.
///
/// Small by design (a simulation runs millions): the tracked keys live in a vector no
/// larger than they need (usually one entry), the settings are shared, and pending
/// outputs live in a queue that is freed whenever it is drained.
#[derive(Debug, Clone)]
pub struct Tracker {
    holder: Arc<str>,
    leases: Leases,
    outputs: VecDeque<TrackerOutput>,
    next_id: u64,
    settings: Arc<Settings>,
}

impl Tracker {
    /// A tracker for `holder` (e.g. `mysql/0`), tracking nothing yet.
    pub fn new(holder: impl Into<Arc<str>>, config: TrackerConfig) -> Tracker {
        Tracker::with_shared(holder.into(), &SharedConfig::new(&config))
    }

    /// A tracker for `holder` with settings shared with other trackers.
    pub(crate) fn with_shared(holder: Arc<str>, config: &SharedConfig) -> Tracker {
        Tracker {
            holder,
            leases: Leases::default(),
            outputs: VecDeque::new(),
            next_id: 1,
            settings: config.0.clone(),
        }
    }

    // ---- reads -------------------------------------------------------------------

    /// The holder this tracker claims for.
    #[must_use]
    pub fn holder(&self) -> &Arc<str> {
        &self.holder
    }

    /// The settings (durations at millisecond resolution).
    #[must_use]
    pub fn config(&self) -> TrackerConfig {
        let s = &self.settings;
        TrackerConfig {
            duration: Duration::from_millis(s.duration_ms),
            renew_after: Duration::from_millis(s.renew_after_ms),
            extend_retries: s.extend_retries,
            retry_delay: Duration::from_millis(s.retry_delay_ms),
            claim_backoff: Duration::from_millis(s.claim_backoff_ms),
            release_fallback: Duration::from_millis(s.release_fallback_ms),
            renew_jitter: Duration::from_millis(s.renew_jitter_ms),
        }
    }

    /// Whether this holder leads `key`, as last reported (`Elected` without a later
    /// `Deposed`). The tracker deposes itself at the conservative expiry when
    /// [`Tracker::handle_timeout`] (or any input) reaches it; see
    /// [`Tracker::is_leader_at`] for a check against a given time.
    #[must_use]
    pub fn is_leader(&self, key: &Key) -> bool {
        self.find(key)
            .is_some_and(|i| self.leases[i].phase == Phase::Leading)
    }

    /// Whether this holder leads `key` and can prove it at `now` (`now` is before the
    /// conservative expiry).
    #[must_use]
    pub fn is_leader_at(&self, now: Time, key: &Key) -> bool {
        self.leader_expiry(key).is_some_and(|e| now < e)
    }

    /// While leading `key`: the fencing token of the grant.
    #[must_use]
    pub fn token(&self, key: &Key) -> Option<u64> {
        let l = &self.leases[self.find(key)?];
        (l.phase == Phase::Leading).then_some(l.token)
    }

    /// While leading `key`: the conservative expiry, on the caller's clock, before
    /// which the lease is provably held (the submission time of the last successful
    /// grant or extension plus its duration).
    #[must_use]
    pub fn leader_expiry(&self, key: &Key) -> Option<Time> {
        let l = &self.leases[self.find(key)?];
        (l.phase == Phase::Leading).then_some(l.expiry)
    }

    /// Whether `key` is tracked (tracked and neither untracked nor stopped by a
    /// `Rejected` answer).
    #[must_use]
    pub fn is_tracked(&self, key: &Key) -> bool {
        self.find(key)
            .is_some_and(|i| self.leases[i].phase != Phase::Releasing)
    }

    /// The tracked keys, in the order they were tracked.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.leases
            .iter()
            .filter(|l| l.phase != Phase::Releasing)
            .map(|l| &l.key)
    }

    /// The time of the next [`Tracker::handle_timeout`] call this tracker needs;
    /// [`Time::MAX`] when nothing is scheduled.
    #[must_use]
    pub fn next_timeout(&self) -> Time {
        self.leases
            .iter()
            .map(|l| self.wake(l))
            .min()
            .unwrap_or(Time::MAX)
    }

    /// Reads the tracker's state (its first lease's and, with `names`, the names its
    /// requests carry), so that a caller about to hand many trackers their inputs can
    /// have their memory fetched together beforehand (the simulator does).
    #[cfg(feature = "sim")]
    pub(crate) fn warm(&self, names: bool) -> u64 {
        self.leases.iter().next().map_or(0, |l| {
            let state = l.pending ^ l.at.as_millis();
            if !names {
                return state;
            }
            let first = |s: &str| u64::from(s.as_bytes().first().copied().unwrap_or(0));
            state ^ first(&self.holder) ^ first(&l.key.lease)
        })
    }

    // ---- inputs ------------------------------------------------------------------

    /// Wants leadership of `key`: submits a claim at once. Tracking a key already
    /// tracked does nothing.
    pub fn track(&mut self, now: Time, key: Key) {
        self.advance(now);
        if let Some(i) = self.find(&key) {
            let l = &mut self.leases[i];
            if l.phase == Phase::Releasing {
                // The claim submitted before the untrack is still in flight: its answer
                // decides, as if the key had never been untracked.
                l.phase = Phase::Claiming;
                l.released = false;
            }
            return;
        }
        let names_crc = names_crc(&self.holder, &key);
        self.leases.push(Lease {
            key,
            pending: 0,
            sent: now,
            at: Time::MAX,
            expiry: Time::ZERO,
            token: 0,
            seen: 0,
            failures: 0,
            phase: Phase::Waiting,
            released: false,
            names_crc,
        });
        let i = self.leases.len() - 1;
        self.claim(i, now);
    }

    /// Stops wanting `key`: if this holder leads it, reports `Deposed` and submits a
    /// revoke; no further requests are made for it. A claim still in flight is
    /// followed: if it turns out granted, it is revoked too. Answers to the key's
    /// earlier requests are ignored.
    pub fn untrack(&mut self, now: Time, key: &Key) {
        self.advance(now);
        let Some(i) = self.find(key) else { return };
        match self.leases[i].phase {
            Phase::Leading => {
                let l = self.leases.remove(i);
                self.outputs
                    .push_back(TrackerOutput::Deposed { key: l.key.clone() });
                let op = Op::revoke(l.key, self.holder.clone());
                self.submit(op);
            }
            Phase::Claiming => {
                self.leases[i].phase = Phase::Releasing;
            }
            Phase::Waiting => {
                self.leases.remove(i);
            }
            Phase::Releasing => {}
        }
    }

    /// The engine answered request `id`. Answers to unknown or superseded requests are
    /// ignored.
    pub fn handle_answer(&mut self, now: Time, id: RequestId, outcome: &Outcome) {
        self.advance(now);
        if id.0 == 0 {
            return;
        }
        let Some(i) = self.leases.iter().position(|l| l.pending == id.0) else {
            return;
        };
        self.leases[i].pending = 0;
        match self.leases[i].phase {
            Phase::Claiming => self.claim_answered(i, now, outcome),
            Phase::Leading => self.extend_answered(i, now, outcome),
            Phase::Releasing => {
                let l = self.leases.remove(i);
                if let Outcome::Applied(Ok(_)) = outcome {
                    let op = Op::revoke(l.key, self.holder.clone());
                    self.submit(op);
                }
            }
            // Nothing is in flight while waiting.
            Phase::Waiting => {}
        }
    }

    /// A lease event from the engine, about any key; events about keys this tracker
    /// does not track are ignored, and so are events older than the newest fencing
    /// token seen for the key.
    pub fn handle_event(&mut self, now: Time, event: &Event) {
        self.advance(now);
        let Some(i) = self.find(event.key()) else {
            return;
        };
        if self.leases[i].phase == Phase::Releasing {
            return;
        }
        match event {
            Event::Claimed { holder, token, .. } => {
                if !self.fresh(i, *token) {
                    return;
                }
                let mine = *holder == self.holder;
                let l = &mut self.leases[i];
                match l.phase {
                    Phase::Leading if !mine && *token > l.token => {
                        self.depose(i, now);
                    }
                    Phase::Waiting if mine => {
                        // Granted to this holder by a request whose answer was lost (or
                        // superseded): claim again, which the engine turns into an
                        // extension with a provable expiry.
                        self.claim(i, now);
                    }
                    Phase::Waiting => self.wait(i, now),
                    // The claim's answer decides.
                    _ => {}
                }
            }
            Event::Expired { holder, token, .. } | Event::Revoked { holder, token, .. } => {
                if !self.fresh(i, *token) {
                    return;
                }
                let l = &mut self.leases[i];
                match l.phase {
                    Phase::Leading => {
                        if *token > l.token || (*token == l.token && *holder == self.holder) {
                            // This holder's lease (or a later one it missed) ended; the
                            // key is free: claim it again at once.
                            self.depose(i, now);
                            self.claim(i, now);
                        }
                    }
                    Phase::Waiting => self.claim(i, now),
                    Phase::Claiming => l.released = true,
                    Phase::Releasing => {}
                }
            }
            Event::HandedOver { to, token, .. } => {
                if !self.fresh(i, *token) {
                    return;
                }
                if *to == self.holder {
                    self.handed_over(i, now, *token);
                    return;
                }
                match self.leases[i].phase {
                    // Moved away from this holder, or between others while this holder
                    // believed it led (it missed a change): either way, not leading.
                    Phase::Leading => self.depose(i, now),
                    // Held by another holder: news, but no release; keep waiting.
                    Phase::Waiting => self.wait(i, now),
                    // The claim's answer decides.
                    Phase::Claiming | Phase::Releasing => {}
                }
            }
            Event::Extended { .. } | Event::Pinned { .. } | Event::Unpinned { .. } => {}
        }
    }

    /// Time has reached `now`: submits due renewals, retries and claims, and deposes
    /// leaders past their conservative expiry.
    pub fn handle_timeout(&mut self, now: Time) {
        self.advance(now);
    }

    // ---- output ------------------------------------------------------------------

    /// The next output. Call until it returns [`TrackerOutput::Timeout`]; then wait for
    /// that time or another input.
    pub fn poll_output(&mut self) -> TrackerOutput {
        match self.outputs.pop_front() {
            Some(out) => out,
            None => {
                if self.outputs.capacity() > 0 {
                    // Drained: give the memory back (millions of trackers, mostly idle).
                    self.outputs = VecDeque::new();
                }
                TrackerOutput::Timeout(self.next_timeout())
            }
        }
    }

    // ---- internals ---------------------------------------------------------------

    fn find(&self, key: &Key) -> Option<usize> {
        self.leases.iter().position(|l| l.key == *key)
    }

    /// When `l` next needs a timeout.
    fn wake(&self, l: &Lease) -> Time {
        match l.phase {
            // Answers can be lost on the way (a partition): after a whole duration
            // without one, the request is given up.
            Phase::Claiming | Phase::Releasing => plus(l.sent, self.patience()),
            Phase::Leading if l.pending != 0 => l.expiry,
            Phase::Leading => l.at.min(l.expiry),
            Phase::Waiting => l.at,
        }
    }

    /// Runs everything due at `now`.
    fn advance(&mut self, now: Time) {
        let mut i = 0;
        while i < self.leases.len() {
            let l = &self.leases[i];
            if self.wake(l) > now {
                i += 1;
                continue;
            }
            match l.phase {
                Phase::Claiming => {
                    // No answer for a whole duration: give the claim up and claim again
                    // (if the lost one was granted, the engine turns this one into an
                    // extension).
                    self.claim(i, now);
                }
                Phase::Releasing => {
                    self.leases.remove(i);
                    continue;
                }
                Phase::Leading if now >= l.expiry => self.depose(i, now),
                Phase::Leading => self.extend(i, now),
                Phase::Waiting => self.claim(i, now),
            }
            i += 1;
        }
    }

    /// Whether an event with `token` is not older than what was seen for lease `i`;
    /// records it.
    fn fresh(&mut self, i: usize, token: u64) -> bool {
        let l = &mut self.leases[i];
        if token < l.seen {
            return false;
        }
        l.seen = token;
        true
    }

    fn next_request(&mut self) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        id
    }

    fn submit(&mut self, op: Op) -> RequestId {
        let id = self.next_request();
        self.outputs.push_back(TrackerOutput::Submit { id, op });
        id
    }

    /// Submits a claim for lease `i`.
    fn claim(&mut self, i: usize, now: Time) {
        let op = Op::claim(
            self.leases[i].key.clone(),
            self.holder.clone(),
            Duration::from_millis(self.settings.duration_ms),
        );
        let id = self.submit(op);
        let l = &mut self.leases[i];
        l.phase = Phase::Claiming;
        l.pending = id.0;
        l.sent = now;
        l.at = Time::MAX;
        l.released = false;
    }

    /// Submits an extension for lease `i` (leading).
    fn extend(&mut self, i: usize, now: Time) {
        let op = Op::extend(
            self.leases[i].key.clone(),
            self.holder.clone(),
            Duration::from_millis(self.settings.duration_ms),
        );
        let id = self.submit(op);
        let l = &mut self.leases[i];
        l.pending = id.0;
        l.sent = now;
        l.at = Time::MAX;
    }

    /// How long to wait for news (an answer, a release) before acting anyway: the
    /// duration, at least 1 ms.
    fn patience(&self) -> u64 {
        self.settings.duration_ms.max(1)
    }

    /// Lease `i` waits for a release, with the fallback claim
    /// [`TrackerConfig::release_fallback`] from `now`.
    fn wait(&mut self, i: usize, now: Time) {
        let d = self.settings.release_fallback_ms;
        let l = &mut self.leases[i];
        l.phase = Phase::Waiting;
        l.pending = 0;
        l.at = plus(now, d);
        l.released = false;
    }

    /// Reports lease `i` deposed (if it was leading) and makes it wait.
    fn depose(&mut self, i: usize, now: Time) {
        if self.leases[i].phase == Phase::Leading {
            self.outputs.push_back(TrackerOutput::Deposed {
                key: self.leases[i].key.clone(),
            });
        }
        self.leases[i].failures = 0;
        self.wait(i, now);
    }

    /// Lease `i` is granted with `token`, provably until `expiry`; renew at `renew_at`.
    fn elect(&mut self, i: usize, token: u64, expiry: Time, renew_at: Time) {
        let l = &mut self.leases[i];
        let was_leading = l.phase == Phase::Leading && l.token == token;
        l.phase = Phase::Leading;
        l.token = token;
        l.seen = l.seen.max(token);
        l.expiry = expiry;
        l.at = renew_at;
        l.pending = 0;
        l.failures = 0;
        l.released = false;
        if !was_leading {
            let key = l.key.clone();
            self.outputs
                .push_back(TrackerOutput::Elected { key, token });
        }
    }

    fn claim_answered(&mut self, i: usize, now: Time, outcome: &Outcome) {
        let l = &self.leases[i];
        let expiry = plus(l.sent, self.settings.duration_ms);
        match outcome {
            Outcome::Applied(Ok(token)) => {
                if now >= expiry {
                    // Granted, but too late to prove anything: claim again (the engine
                    // extends the lease if it is still this holder's).
                    self.claim(i, now);
                } else {
                    let token = token.unwrap_or(l.seen);
                    // Renew half a duration after the grant's provable start (its
                    // submission), however long the answer took.
                    let renew = plus(l.sent, self.renew_delay(i)).max(now);
                    self.elect(i, token, expiry, renew);
                }
            }
            Outcome::Applied(Err(LeaseError::NotValid(_))) | Outcome::Rejected(_) => {
                // Malformed: it would never succeed. Stop tracking the key.
                self.leases.remove(i);
            }
            Outcome::Applied(Err(_)) if l.released => {
                // A release arrived while the claim was in flight: try once more.
                self.claim(i, now);
            }
            Outcome::Applied(Err(_)) | Outcome::DeadlineExceeded => self.wait(i, now),
            Outcome::Shed | Outcome::Aborted => {
                let backoff = self.settings.claim_backoff_ms;
                // Up to +50%, in thousandths.
                let jitter = u128::from(backoff) * u128::from(self.jitter(i) % 501) / 1000;
                let jitter = u64::try_from(jitter).unwrap_or(u64::MAX);
                let l = &mut self.leases[i];
                l.phase = Phase::Waiting;
                l.at = plus(now, backoff.saturating_add(jitter));
                l.released = false;
            }
        }
    }

    fn extend_answered(&mut self, i: usize, now: Time, outcome: &Outcome) {
        let s = *self.settings;
        match outcome {
            Outcome::Applied(Ok(_)) => {
                let at = plus(self.leases[i].sent, self.renew_delay(i)).max(now);
                let l = &mut self.leases[i];
                l.expiry = l.expiry.max(plus(l.sent, s.duration_ms));
                l.at = at;
                l.failures = 0;
            }
            Outcome::Shed | Outcome::DeadlineExceeded | Outcome::Aborted => {
                let l = &mut self.leases[i];
                l.failures += 1;
                if l.failures > s.extend_retries {
                    self.depose(i, now);
                } else {
                    l.at = plus(now, s.retry_delay_ms);
                }
            }
            Outcome::Applied(Err(LeaseError::NotValid(_))) | Outcome::Rejected(_) => {
                self.depose(i, now);
                self.leases.remove(i);
            }
            // Invalid, Held: the lease is someone else's or gone.
            Outcome::Applied(Err(_)) => self.depose(i, now),
        }
    }

    /// The lease moved to this holder with `token`. The event carries no duration:
    /// the grant is taken to be for this tracker's duration from `now`, and an
    /// extension is submitted at once to prove it.
    fn handed_over(&mut self, i: usize, now: Time, token: u64) {
        let expiry = plus(now, self.settings.duration_ms);
        let leading = self.leases[i].phase == Phase::Leading;
        if leading {
            // Already leading (it missed a change): keep the proven expiry.
            let l = &mut self.leases[i];
            if l.token != token {
                l.token = token;
                let key = l.key.clone();
                self.outputs
                    .push_back(TrackerOutput::Elected { key, token });
            }
            return;
        }
        // Whatever was in flight is superseded (a claim would now be answered Invalid).
        self.elect(i, token, expiry, Time::MAX);
        self.extend(i, now);
    }

    /// How long after a request's submission the next extension goes out:
    /// [`TrackerConfig::renew_after`] less up to [`TrackerConfig::renew_jitter`].
    fn renew_delay(&self, i: usize) -> u64 {
        let s = &self.settings;
        let jitter = s.renew_jitter_ms.min(s.renew_after_ms.saturating_sub(1));
        s.renew_after_ms - self.jitter(i) % (jitter + 1)
    }

    /// Deterministic jitter for lease `i`: a checksum of the holder's name, the key and
    /// the request counter (the same on every platform, unlike `usize`-wide hashers).
    fn jitter(&self, i: usize) -> u64 {
        let mut h = crc32fast::Hasher::new_with_initial(self.leases[i].names_crc);
        h.update(&self.next_id.to_le_bytes());
        u64::from(h.finalize())
    }
}

/// The checksum of `holder` and `key`'s parts, each followed by a zero byte: where
/// [`Tracker::jitter`]'s checksum of a request continues.
fn names_crc(holder: &str, key: &Key) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for part in [holder, &*key.namespace, &*key.model, &*key.lease] {
        h.update(part.as_bytes());
        h.update(&[0]);
    }
    h.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(lease: &str) -> Key {
        Key::new("application-leadership", "model", lease)
    }

    #[test]
    fn the_jitter_continues_the_checksum_of_the_names_and_the_request_counter() {
        let mut t = Tracker::new("mysql/0", TrackerConfig::default());
        t.track(Time::ZERO, key("mysql"));
        let mut whole = crc32fast::Hasher::new();
        for part in ["mysql/0", "application-leadership", "model", "mysql"] {
            whole.update(part.as_bytes());
            whole.update(&[0]);
        }
        whole.update(&t.next_id.to_le_bytes());
        assert_eq!(t.jitter(0), u64::from(whole.finalize()));
    }

    #[test]
    fn removing_a_tracked_key_keeps_the_others_in_order() {
        let mut t = Tracker::new("mysql/0", TrackerConfig::default());
        for lease in ["a", "b", "c"] {
            t.track(Time::ZERO, key(lease));
        }
        let names =
            |t: &Tracker| -> Vec<String> { t.keys().map(|k| k.lease.to_string()).collect() };
        assert_eq!(names(&t), ["a", "b", "c"]);
        assert_eq!(t.leases.remove(0).key, key("a"));
        assert_eq!(names(&t), ["b", "c"]);
        assert_eq!(t.leases.remove(1).key, key("c"));
        assert_eq!(names(&t), ["b"]);
        assert_eq!(t.leases.remove(0).key, key("b"));
        assert_eq!(t.leases.0.capacity(), 0, "the memory is freed");
        t.track(Time::ZERO, key("d"));
        assert_eq!(names(&t), ["d"]);
    }
}
