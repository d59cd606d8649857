//! The tracker: driven against a real single-node engine for renewal,
//! contention, release and expiry; fed outcomes directly for the retry policy and
//! stale answers.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use leasehold::{
    Config, Engine, Event, FieldError, Key, LeaseError, Op, Outcome, Output, RequestId, Ticket,
    Time, Tracker, TrackerConfig, TrackerOutput,
};
use std::collections::HashMap;
use std::time::Duration;

/// The design's settings, with the release fallback shortened to one duration so the
/// tests can watch it fire, and renewals exactly on time (the defaults are ten
/// durations and up to 1.5 s early; see `default_config_matches_the_design`).
fn config() -> TrackerConfig {
    TrackerConfig {
        release_fallback: Duration::from_secs(60),
        renew_jitter: Duration::ZERO,
        ..TrackerConfig::default()
    }
}

fn key(lease: &str) -> Key {
    Key::new("application-leadership", "model", lease)
}

fn at(ms: u64) -> Time {
    Time::from_millis(ms)
}

const BATCH: u64 = 100;

/// What happened during a simulated run, on the simulation clock.
#[derive(Debug, Clone, PartialEq)]
enum Record {
    /// Tracker `i` output something other than a timeout.
    Out(usize, TrackerOutput),
    /// The engine reported a lease event.
    Event(Event),
}

/// One engine and a few trackers, wired the way the simulator wires them.
struct Sim {
    engine: Engine,
    now: Time,
    trackers: Vec<Tracker>,
    /// Tracker `i` gets answers, events and timeouts.
    driven: Vec<bool>,
    /// Tracker `i` gets timeouts but neither answers nor events (its requests still
    /// reach the engine): a one-way partition.
    deaf: Vec<bool>,
    tickets: HashMap<Ticket, (usize, RequestId)>,
    log: Vec<(Time, Record)>,
}

impl Sim {
    fn new(holders: &[&str], config: TrackerConfig) -> Sim {
        Sim {
            engine: Engine::single_node(Config::default(), Time::ZERO).unwrap(),
            now: Time::ZERO,
            trackers: holders
                .iter()
                .map(|h| Tracker::new(*h, config.clone()))
                .collect(),
            driven: vec![true; holders.len()],
            deaf: vec![false; holders.len()],
            tickets: HashMap::new(),
            log: Vec::new(),
        }
    }

    /// Drains trackers and engine until neither has anything to say.
    fn drain(&mut self) {
        loop {
            let mut busy = false;
            for i in 0..self.trackers.len() {
                if !self.driven[i] {
                    continue;
                }
                loop {
                    match self.trackers[i].poll_output() {
                        TrackerOutput::Timeout(_) => break,
                        out => {
                            busy = true;
                            if let TrackerOutput::Submit { id, op } = &out {
                                let t = self.engine.handle_request(self.now, op.clone());
                                self.tickets.insert(t, (i, *id));
                            }
                            self.log.push((self.now, Record::Out(i, out)));
                        }
                    }
                }
            }
            loop {
                match self.engine.poll_output() {
                    Output::Timeout(_) => break,
                    Output::Answer(a) => {
                        busy = true;
                        let (i, id) = self.tickets.remove(&a.ticket).expect("our ticket");
                        if self.driven[i] && !self.deaf[i] {
                            self.trackers[i].handle_answer(self.now, id, &a.outcome);
                        }
                    }
                    Output::Event(e) => {
                        busy = true;
                        for i in 0..self.trackers.len() {
                            if self.driven[i] && !self.deaf[i] {
                                self.trackers[i].handle_event(self.now, &e);
                            }
                        }
                        self.log.push((self.now, Record::Event(e)));
                    }
                    Output::Append(_) | Output::Settled(_) => {}
                }
            }
            if !busy {
                return;
            }
        }
    }

    fn next_timeout(&self) -> Time {
        let trackers = (0..self.trackers.len())
            .filter(|&i| self.driven[i])
            .map(|i| self.trackers[i].next_timeout())
            .min()
            .unwrap_or(Time::MAX);
        trackers.min(self.engine.next_timeout())
    }

    /// Runs every timeout up to and including `until`, then sets the clock to `until`.
    fn run_until(&mut self, until: Time) {
        self.drain();
        loop {
            let next = self.next_timeout();
            if next > until {
                break;
            }
            self.now = next;
            self.engine.handle_timeout(next);
            for i in 0..self.trackers.len() {
                if self.driven[i] && self.trackers[i].next_timeout() <= next {
                    self.trackers[i].handle_timeout(next);
                }
            }
            self.drain();
        }
        self.now = until;
    }

    fn track(&mut self, i: usize, k: &Key) {
        self.trackers[i].track(self.now, k.clone());
        self.drain();
    }

    fn untrack(&mut self, i: usize, k: &Key) {
        self.trackers[i].untrack(self.now, k);
        self.drain();
    }

    /// Times and tokens at which tracker `i` was elected.
    fn elected(&self, i: usize) -> Vec<(Time, u64)> {
        self.log
            .iter()
            .filter_map(|(t, r)| match r {
                Record::Out(j, TrackerOutput::Elected { token, .. }) if *j == i => {
                    Some((*t, *token))
                }
                _ => None,
            })
            .collect()
    }

    fn deposed(&self, i: usize) -> Vec<Time> {
        self.log
            .iter()
            .filter_map(|(t, r)| match r {
                Record::Out(j, TrackerOutput::Deposed { .. }) if *j == i => Some(*t),
                _ => None,
            })
            .collect()
    }

    /// Times at which tracker `i` submitted an operation of `kind`.
    fn submits(&self, i: usize, kind: &str) -> Vec<Time> {
        self.log
            .iter()
            .filter_map(|(t, r)| match r {
                Record::Out(j, TrackerOutput::Submit { op, .. })
                    if *j == i && op.kind() == kind =>
                {
                    Some(*t)
                }
                _ => None,
            })
            .collect()
    }

    /// Times of engine events of `kind` (`expired`, `revoked`, ...).
    fn events(&self, kind: &str) -> Vec<Time> {
        self.log
            .iter()
            .filter_map(|(t, r)| match r {
                Record::Event(e) if e.kind() == kind => Some(*t),
                _ => None,
            })
            .collect()
    }
}

/// Drains a tracker fed by hand: its outputs and the timeout it ended on.
fn drain(t: &mut Tracker) -> (Vec<TrackerOutput>, Time) {
    let mut outs = Vec::new();
    loop {
        match t.poll_output() {
            TrackerOutput::Timeout(at) => return (outs, at),
            out => outs.push(out),
        }
    }
}

/// The single Submit among `outs`, checked to be of `kind` for `k`.
fn submitted(outs: &[TrackerOutput], kind: &str, k: &Key) -> RequestId {
    let subs: Vec<_> = outs
        .iter()
        .filter_map(|o| match o {
            TrackerOutput::Submit { id, op } => Some((*id, op)),
            _ => None,
        })
        .collect();
    assert_eq!(subs.len(), 1, "one submit expected in {outs:?}");
    let (id, op) = subs[0];
    assert_eq!(op.kind(), kind, "in {outs:?}");
    assert_eq!(op.key(), Some(k));
    id
}

/// A tracker for `a/0` that leads `key("x")` with token 5 since t = 100 ms (claim
/// submitted at 0), drained. Returns the tracker.
fn leader() -> Tracker {
    let k = key("x");
    let mut t = Tracker::new("a/0", config());
    t.track(at(0), k.clone());
    let (outs, _) = drain(&mut t);
    let id = submitted(&outs, "claim", &k);
    t.handle_answer(at(100), id, &Outcome::Applied(Ok(Some(5))));
    let (outs, wake) = drain(&mut t);
    assert_eq!(outs, vec![TrackerOutput::Elected { key: k, token: 5 }]);
    assert_eq!(
        wake,
        at(30_000),
        "renewal half a duration after the claim was sent"
    );
    t
}

// ---- against the engine ----------------------------------------------------------

#[test]
fn a_leader_renews_every_half_duration() {
    let k = key("x");
    let mut sim = Sim::new(&["a/0"], config());
    sim.track(0, &k);
    sim.run_until(at(200_000));

    assert_eq!(sim.submits(0, "claim"), vec![at(0)]);
    let elected = sim.elected(0);
    assert_eq!(elected.len(), 1, "elected once: {elected:?}");
    assert_eq!(elected[0].0, at(BATCH), "claims ride the next batch");

    let extends = sim.submits(0, "extend");
    assert_eq!(extends.len(), 6, "{extends:?}");
    // Each extension goes out half a duration after the previous request was sent
    // (the start its lease can prove), whatever the answer's latency.
    let mut last = at(0);
    for t in &extends {
        let gap = t.as_millis() - last.as_millis();
        assert_eq!(
            gap, 30_000,
            "extension {gap} ms after the previous request ({extends:?})"
        );
        last = *t;
    }
    assert!(sim.deposed(0).is_empty());
    assert!(sim.trackers[0].is_leader(&k));
    assert!(sim.trackers[0].is_leader_at(sim.now, &k));
    assert_eq!(sim.engine.fsm().holder(&k), Some("a/0"));
    let expiry = sim.trackers[0].leader_expiry(&k).unwrap();
    assert_eq!(
        expiry,
        *extends.last().unwrap() + Duration::from_secs(60),
        "the conservative expiry counts from the last extension's submission"
    );
    assert_eq!(sim.trackers[0].token(&k), Some(elected[0].1));
}

#[test]
fn a_rival_waits_and_takes_over_within_a_batch_of_a_revoke() {
    let k = key("x");
    let mut sim = Sim::new(&["a/0", "b/0"], config());
    sim.track(0, &k);
    sim.track(1, &k);
    sim.run_until(at(10_000));

    let a_elected = sim.elected(0);
    assert_eq!(a_elected.len(), 1);
    assert!(sim.elected(1).is_empty(), "only one leader");
    assert!(sim.trackers[0].is_leader(&k));
    assert!(!sim.trackers[1].is_leader(&k));
    assert_eq!(sim.submits(1, "claim").len(), 1, "the rival waits quietly");

    sim.untrack(0, &k);
    assert_eq!(
        sim.deposed(0),
        vec![at(10_000)],
        "untracking a leader deposes it"
    );
    assert_eq!(sim.submits(0, "revoke"), vec![at(10_000)]);
    assert!(!sim.trackers[0].is_tracked(&k));
    sim.run_until(at(20_000));

    let revoked = sim.events("revoked");
    assert_eq!(revoked.len(), 1);
    let b_elected = sim.elected(1);
    assert_eq!(b_elected.len(), 1, "{:?}", sim.log);
    let (b_at, b_token) = b_elected[0];
    assert!(b_at >= revoked[0]);
    assert!(
        b_at.as_millis() - revoked[0].as_millis() <= BATCH,
        "elected at {b_at}, released at {}",
        revoked[0]
    );
    assert!(b_token > a_elected[0].1, "tokens only grow");
    assert_eq!(sim.engine.fsm().holder(&k), Some("b/0"));
    assert!(
        sim.elected(0).len() == 1,
        "the untracked holder claims no more"
    );
    assert_eq!(sim.submits(0, "claim").len(), 1);
    assert_eq!(sim.trackers[0].next_timeout(), Time::MAX);
}

#[test]
fn a_rival_takes_over_within_a_batch_of_an_abandoned_lease_expiring() {
    let k = key("x");
    let mut sim = Sim::new(&["a/0", "b/0"], config());
    sim.track(0, &k);
    sim.run_until(at(5_000));
    sim.track(1, &k);
    sim.run_until(at(10_000));
    assert_eq!(sim.elected(0).len(), 1);
    assert!(sim.elected(1).is_empty());

    // a/0 stops: no answers, events or timeouts; its lease runs out.
    sim.driven[0] = false;
    sim.run_until(at(70_000));

    let expired = sim.events("expired");
    assert_eq!(expired.len(), 1, "{:?}", sim.log);
    // Granted at log time 100 ms for 60 s: held through 60.1 s.
    assert!(expired[0] > at(60_100), "expired at {}", expired[0]);
    let b_elected = sim.elected(1);
    assert_eq!(b_elected.len(), 1, "{:?}", sim.log);
    let b_at = b_elected[0].0;
    assert!(
        b_at.as_millis() - expired[0].as_millis() <= BATCH,
        "elected at {b_at}, expired at {}",
        expired[0]
    );
    assert!(
        b_at < at(65_100),
        "the release event, not the fallback (due at 65.1 s), woke the rival"
    );
    let a_expiry = sim.trackers[0].leader_expiry(&k).unwrap();
    assert!(
        a_expiry <= b_at,
        "the old leader could not prove its lease any more"
    );
    assert!(!sim.trackers[0].is_leader_at(b_at, &k));
    assert_eq!(sim.engine.fsm().holder(&k), Some("b/0"));
}

#[test]
fn a_leader_without_answers_is_deposed_at_its_conservative_expiry() {
    let k = key("x");
    let mut sim = Sim::new(&["a/0"], config());
    sim.track(0, &k);
    sim.run_until(at(10_000));
    assert_eq!(sim.elected(0).len(), 1);

    sim.deaf[0] = true;
    sim.run_until(at(59_999));
    assert!(sim.deposed(0).is_empty(), "still provably the leader");
    assert!(sim.trackers[0].is_leader(&k));
    assert_eq!(sim.submits(0, "extend"), vec![at(30_000)]);

    sim.run_until(at(70_000));
    // The claim was submitted at 0 for 60 s; the extension was never confirmed.
    assert_eq!(sim.deposed(0), vec![at(60_000)]);
    assert!(!sim.trackers[0].is_leader(&k));
    // The engine did extend it: deposition is the tracker's caution, not the log's.
    assert_eq!(sim.engine.fsm().holder(&k), Some("a/0"));
    assert_eq!(
        sim.submits(0, "extend").len(),
        1,
        "no renewals once deposed"
    );
}

#[test]
fn a_deposed_leader_claims_again_once_its_old_lease_expires() {
    // A one-way partition: the leader's extension reached the log but its answer did
    // not, so the tracker deposed itself at 60 s while the engine extended the lease to
    // about 90.2 s. Once it hears again, the lease's expiry is its cue to claim.
    let k = key("x");
    let mut sim = Sim::new(&["a/0"], config());
    sim.track(0, &k);
    sim.run_until(at(10_000));
    sim.deaf[0] = true;
    sim.run_until(at(61_000));
    assert_eq!(sim.deposed(0), vec![at(60_000)]);
    sim.deaf[0] = false;
    sim.run_until(at(100_000));

    let expired = sim.events("expired");
    assert_eq!(expired.len(), 1, "{:?}", sim.log);
    assert!(expired[0] > at(90_200), "expired at {}", expired[0]);
    let claims = sim.submits(0, "claim");
    assert_eq!(claims, vec![at(0), expired[0]]);
    let elected = sim.elected(0);
    assert_eq!(elected.len(), 2, "{elected:?}");
    assert_eq!(elected[1].0, expired[0] + Duration::from_millis(BATCH));
    assert!(elected[1].1 > elected[0].1);
}

#[test]
fn contention_is_deterministic() {
    let run = || {
        let k = key("x");
        let mut sim = Sim::new(&["a/0", "b/0", "c/0"], config());
        for i in 0..3 {
            sim.track(i, &k);
        }
        sim.run_until(at(40_000));
        sim.driven[0] = false;
        sim.run_until(at(200_000));
        sim.log
    };
    let first = run();
    assert!(first.len() > 10);
    assert_eq!(first, run());
}

// ---- fed by hand -----------------------------------------------------------------

#[test]
fn default_config_matches_the_design() {
    let c = TrackerConfig::default();
    assert_eq!(c.release_fallback, Duration::from_secs(600));
    assert_eq!(c.renew_jitter, Duration::from_millis(1_500));
    assert_eq!(c.duration, Duration::from_secs(60));
    assert_eq!(c.renew_after, Duration::from_secs(30));
    assert_eq!(c.extend_retries, 3);
    assert_eq!(c.retry_delay, Duration::from_secs(1));
    assert_eq!(c.claim_backoff, Duration::from_secs(2));
    let short = TrackerConfig::with_duration(Duration::from_secs(10));
    assert_eq!(short.renew_after, Duration::from_secs(5));
    assert_eq!(short.extend_retries, 3);
    let t = Tracker::new("a/0", short.clone());
    assert_eq!(t.config(), short);
    assert_eq!(&**t.holder(), "a/0");
}

#[test]
fn trackers_are_small() {
    assert!(
        size_of::<Tracker>() <= 144,
        "{} bytes",
        size_of::<Tracker>()
    );
    let mut t = Tracker::new("a/0", config());
    assert_eq!(t.poll_output(), TrackerOutput::Timeout(Time::MAX));
    assert_eq!(t.next_timeout(), Time::MAX);
}

#[test]
fn a_shed_extension_is_retried_three_times_then_deposed() {
    let k = key("x");
    let mut t = leader();
    let mut now = at(30_100);
    t.handle_timeout(now);
    let (outs, _) = drain(&mut t);
    let mut id = submitted(&outs, "extend", &k);
    for retry in 1..=3 {
        now = now + Duration::from_millis(50);
        t.handle_answer(now, id, &Outcome::Shed);
        let (outs, wake) = drain(&mut t);
        assert!(outs.is_empty(), "retry {retry}: {outs:?}");
        assert_eq!(wake, now + Duration::from_secs(1), "retry {retry}");
        assert!(t.is_leader(&k));
        t.handle_timeout(at(wake.as_millis() - 1));
        assert!(drain(&mut t).0.is_empty(), "not before the retry delay");
        now = wake;
        t.handle_timeout(now);
        let (outs, _) = drain(&mut t);
        id = submitted(&outs, "extend", &k);
    }
    now = now + Duration::from_millis(50);
    t.handle_answer(now, id, &Outcome::Shed);
    let (outs, wake) = drain(&mut t);
    assert_eq!(outs, vec![TrackerOutput::Deposed { key: k.clone() }]);
    assert!(!t.is_leader(&k));
    assert_eq!(
        wake,
        now + Duration::from_secs(60),
        "then it waits for a release"
    );
}

#[test]
fn every_kind_of_unapplied_extension_counts_and_success_resets_the_count() {
    let k = key("x");
    let mut t = leader();
    let mut now = at(30_100);
    t.handle_timeout(now);
    let (outs, _) = drain(&mut t);
    let mut id = submitted(&outs, "extend", &k);
    let fail = [
        Outcome::DeadlineExceeded,
        Outcome::Aborted,
        Outcome::Shed,
        Outcome::Applied(Ok(Some(5))),
        Outcome::Aborted,
        Outcome::DeadlineExceeded,
        Outcome::Shed,
    ];
    for outcome in &fail {
        now = now + Duration::from_millis(100);
        t.handle_answer(now, id, outcome);
        let (outs, wake) = drain(&mut t);
        assert!(outs.is_empty(), "after {outcome:?}: {outs:?}");
        assert!(t.is_leader(&k), "after {outcome:?}");
        now = wake;
        t.handle_timeout(now);
        let (outs, _) = drain(&mut t);
        id = submitted(&outs, "extend", &k);
    }
    now = now + Duration::from_millis(100);
    t.handle_answer(now, id, &Outcome::Aborted);
    let (outs, _) = drain(&mut t);
    assert_eq!(outs, vec![TrackerOutput::Deposed { key: k.clone() }]);
}

#[test]
fn a_refused_extension_deposes_at_once() {
    for refusal in [
        LeaseError::Invalid,
        LeaseError::Held {
            holder: "b/0".into(),
        },
    ] {
        let k = key("x");
        let mut t = leader();
        t.handle_timeout(at(30_100));
        let (outs, _) = drain(&mut t);
        let id = submitted(&outs, "extend", &k);
        t.handle_answer(at(30_200), id, &Outcome::Applied(Err(refusal.clone())));
        let (outs, wake) = drain(&mut t);
        assert_eq!(outs, vec![TrackerOutput::Deposed { key: k.clone() }]);
        assert_eq!(
            wake,
            at(90_200),
            "waits for a release, fallback a duration on"
        );
        assert!(!t.is_leader(&k));
    }
}

#[test]
fn retries_stop_at_the_conservative_expiry() {
    let k = key("x");
    let config = TrackerConfig {
        retry_delay: Duration::from_secs(20),
        ..config()
    };
    let mut t = Tracker::new("a/0", config);
    t.track(at(0), k.clone());
    let id = submitted(&drain(&mut t).0, "claim", &k);
    t.handle_answer(at(100), id, &Outcome::Applied(Ok(Some(1))));
    drain(&mut t);
    t.handle_timeout(at(30_100));
    let id = submitted(&drain(&mut t).0, "extend", &k);
    t.handle_answer(at(30_200), id, &Outcome::Shed);
    let (outs, wake) = drain(&mut t);
    assert!(outs.is_empty());
    assert_eq!(wake, at(50_200));
    t.handle_timeout(wake);
    let id = submitted(&drain(&mut t).0, "extend", &k);
    t.handle_answer(at(50_300), id, &Outcome::Shed);
    let (outs, wake) = drain(&mut t);
    assert!(outs.is_empty());
    assert_eq!(
        wake,
        at(60_000),
        "the expiry comes before the retry at 70.3 s"
    );
    t.handle_timeout(wake);
    let (outs, _) = drain(&mut t);
    assert_eq!(outs, vec![TrackerOutput::Deposed { key: k.clone() }]);
    assert!(!t.is_leader_at(at(60_000), &k));
}

#[test]
fn a_claim_past_its_deadline_is_never_retried_directly() {
    let k = key("x");
    let mut t = Tracker::new("a/0", config());
    t.track(at(0), k.clone());
    let id = submitted(&drain(&mut t).0, "claim", &k);
    t.handle_answer(at(3_000), id, &Outcome::DeadlineExceeded);
    let (outs, wake) = drain(&mut t);
    assert!(outs.is_empty(), "{outs:?}");
    assert_eq!(wake, at(63_000), "only the fallback is scheduled");

    for s in [5_000, 10_000, 30_000, 62_999] {
        t.handle_timeout(at(s));
        assert!(drain(&mut t).0.is_empty(), "nothing at {s} ms");
    }
    // News that someone holds it pushes the fallback back; it claims nothing.
    let claimed = Event::Claimed {
        key: k.clone(),
        holder: "b/0".into(),
        token: 3,
        expiry: at(70_000),
    };
    t.handle_event(at(62_999), &claimed);
    let (outs, wake) = drain(&mut t);
    assert!(outs.is_empty());
    assert_eq!(wake, at(122_999));
    // A release: claim at once.
    let expired = Event::Expired {
        key: k.clone(),
        holder: "b/0".into(),
        token: 3,
    };
    t.handle_event(at(80_000), &expired);
    let (outs, _) = drain(&mut t);
    submitted(&outs, "claim", &k);
}

#[test]
fn a_claim_past_its_deadline_is_retried_by_the_fallback() {
    let k = key("x");
    let mut t = Tracker::new("a/0", config());
    t.track(at(0), k.clone());
    let id = submitted(&drain(&mut t).0, "claim", &k);
    t.handle_answer(at(3_000), id, &Outcome::DeadlineExceeded);
    let (_, wake) = drain(&mut t);
    t.handle_timeout(wake);
    let (outs, _) = drain(&mut t);
    let id2 = submitted(&outs, "claim", &k);
    assert_ne!(id, id2, "each submit has a fresh id");
}

#[test]
fn a_held_claim_waits_for_a_release_event() {
    for release in [
        Event::Revoked {
            key: key("x"),
            holder: "b/0".into(),
            token: 2,
        },
        Event::Expired {
            key: key("x"),
            holder: "b/0".into(),
            token: 2,
        },
    ] {
        let k = key("x");
        let mut t = Tracker::new("a/0", config());
        t.track(at(0), k.clone());
        let id = submitted(&drain(&mut t).0, "claim", &k);
        let held = Outcome::Applied(Err(LeaseError::Held {
            holder: "b/0".into(),
        }));
        t.handle_answer(at(100), id, &held);
        let (outs, wake) = drain(&mut t);
        assert!(outs.is_empty());
        assert_eq!(wake, at(60_100));
        // Events about other keys change nothing.
        let other = Event::Revoked {
            key: key("y"),
            holder: "b/0".into(),
            token: 9,
        };
        t.handle_event(at(1_000), &other);
        assert!(drain(&mut t).0.is_empty());
        // A stale release (an older token than one seen) changes nothing either.
        let claimed = Event::Claimed {
            key: k.clone(),
            holder: "b/0".into(),
            token: 2,
            expiry: at(60_000),
        };
        t.handle_event(at(1_000), &claimed);
        let stale = Event::Expired {
            key: k.clone(),
            holder: "c/0".into(),
            token: 1,
        };
        t.handle_event(at(1_500), &stale);
        assert!(drain(&mut t).0.is_empty());

        t.handle_event(at(2_000), &release);
        let (outs, _) = drain(&mut t);
        let id = submitted(&outs, "claim", &k);
        t.handle_answer(at(2_100), id, &Outcome::Applied(Ok(Some(3))));
        let (outs, _) = drain(&mut t);
        assert_eq!(outs, vec![TrackerOutput::Elected { key: k, token: 3 }]);
    }
}

#[test]
fn a_shed_claim_backs_off_with_deterministic_jitter() {
    let k = key("x");
    let backoff = |holder: &str| {
        let mut t = Tracker::new(holder, config());
        t.track(at(0), k.clone());
        let id = submitted(&drain(&mut t).0, "claim", &k);
        t.handle_answer(at(1_000), id, &Outcome::Shed);
        let (outs, wake) = drain(&mut t);
        assert!(outs.is_empty());
        let wait = wake.as_millis() - 1_000;
        assert!((2_000..=3_000).contains(&wait), "{holder}: {wait} ms");
        t.handle_timeout(at(wake.as_millis() - 1));
        assert!(drain(&mut t).0.is_empty());
        t.handle_timeout(wake);
        submitted(&drain(&mut t).0, "claim", &k);
        wait
    };
    assert_eq!(backoff("a/0"), backoff("a/0"), "deterministic");
    let waits: Vec<u64> = (0..20).map(|i| backoff(&format!("unit/{i}"))).collect();
    let mut distinct = waits.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() > 10, "jitter spreads holders out: {waits:?}");

    // Aborted backs off the same way.
    let mut t = Tracker::new("a/0", config());
    t.track(at(0), k.clone());
    let id = submitted(&drain(&mut t).0, "claim", &k);
    t.handle_answer(at(1_000), id, &Outcome::Aborted);
    let (outs, wake) = drain(&mut t);
    assert!(outs.is_empty());
    assert!((3_000..=4_000).contains(&wake.as_millis()));
}

#[test]
fn a_rejected_claim_stops_tracking() {
    let k = key("x");
    let mut t = Tracker::new("a/0", config());
    t.track(at(0), k.clone());
    let id = submitted(&drain(&mut t).0, "claim", &k);
    assert!(t.is_tracked(&k));
    t.handle_answer(
        at(0),
        id,
        &Outcome::Rejected(FieldError::new("holder", "is longer than 256 bytes")),
    );
    let (outs, wake) = drain(&mut t);
    assert!(outs.is_empty());
    assert_eq!(wake, Time::MAX);
    assert!(!t.is_tracked(&k));
    assert_eq!(t.keys().count(), 0);
}

#[test]
fn stale_and_unknown_answers_are_ignored() {
    let k = key("x");
    let mut t = Tracker::new("a/0", config());
    t.track(at(0), k.clone());
    let first = submitted(&drain(&mut t).0, "claim", &k);
    t.handle_answer(at(100), first, &Outcome::Shed);
    let (_, wake) = drain(&mut t);
    t.handle_timeout(wake);
    let second = submitted(&drain(&mut t).0, "claim", &k);

    // A repeated answer for the first attempt, and an id never issued.
    t.handle_answer(wake, first, &Outcome::Applied(Ok(Some(1))));
    t.handle_answer(wake, RequestId(999), &Outcome::Applied(Ok(Some(1))));
    assert!(drain(&mut t).0.is_empty());
    assert!(!t.is_leader(&k));

    t.handle_answer(wake, second, &Outcome::Applied(Ok(Some(2))));
    assert_eq!(
        drain(&mut t).0,
        vec![TrackerOutput::Elected {
            key: k.clone(),
            token: 2
        }]
    );
    // The same answer again changes nothing.
    t.handle_answer(wake, second, &Outcome::Applied(Err(LeaseError::Invalid)));
    assert!(drain(&mut t).0.is_empty());
    assert!(t.is_leader(&k));
}

#[test]
fn a_late_extension_answer_after_the_expiry_is_ignored() {
    let k = key("x");
    let mut t = leader();
    t.handle_timeout(at(30_100));
    let id = submitted(&drain(&mut t).0, "extend", &k);
    t.handle_timeout(at(60_000));
    assert_eq!(
        drain(&mut t).0,
        vec![TrackerOutput::Deposed { key: k.clone() }]
    );
    t.handle_answer(at(60_500), id, &Outcome::Applied(Ok(Some(5))));
    assert!(
        drain(&mut t).0.is_empty(),
        "no re-election from a stale answer"
    );
    assert!(!t.is_leader(&k));
}

#[test]
fn answers_after_untrack_are_ignored_and_a_late_grant_is_revoked() {
    let k = key("x");
    // A leader untracked: Deposed, revoke; its extension's late answer is ignored.
    let mut t = leader();
    t.handle_timeout(at(30_100));
    let ext = submitted(&drain(&mut t).0, "extend", &k);
    t.untrack(at(30_150), &k);
    let (outs, wake) = drain(&mut t);
    assert_eq!(outs[0], TrackerOutput::Deposed { key: k.clone() });
    submitted(&outs, "revoke", &k);
    assert_eq!(wake, Time::MAX);
    t.handle_answer(at(30_200), ext, &Outcome::Applied(Err(LeaseError::Invalid)));
    assert!(drain(&mut t).0.is_empty());
    assert!(!t.is_leader(&k));

    // A claim in flight when untracked, then granted: revoked, never Elected.
    let mut t = Tracker::new("a/0", config());
    t.track(at(0), k.clone());
    let claim = submitted(&drain(&mut t).0, "claim", &k);
    t.untrack(at(10), &k);
    assert!(drain(&mut t).0.is_empty(), "not leading: no Deposed");
    assert!(!t.is_tracked(&k));
    t.handle_answer(at(100), claim, &Outcome::Applied(Ok(Some(4))));
    let (outs, wake) = drain(&mut t);
    submitted(&outs, "revoke", &k);
    assert!(
        !outs
            .iter()
            .any(|o| matches!(o, TrackerOutput::Elected { .. }))
    );
    assert_eq!(wake, Time::MAX);
    assert!(!t.is_leader(&k));
}

#[test]
fn release_events_about_the_leader_depose_it() {
    let k = key("x");
    let mut t = leader();
    // Another holder's old, stale news changes nothing.
    let stale = Event::Revoked {
        key: k.clone(),
        holder: "b/0".into(),
        token: 4,
    };
    t.handle_event(at(1_000), &stale);
    assert!(drain(&mut t).0.is_empty());
    assert!(t.is_leader(&k));

    let expired = Event::Expired {
        key: k.clone(),
        holder: "a/0".into(),
        token: 5,
    };
    t.handle_event(at(2_000), &expired);
    let (outs, _) = drain(&mut t);
    assert_eq!(outs[0], TrackerOutput::Deposed { key: k.clone() });
    submitted(&outs, "claim", &k);
    assert!(!t.is_leader(&k));
    // Deposed only once.
    t.handle_event(at(2_000), &expired);
    assert!(drain(&mut t).0.is_empty());
}

#[test]
fn handovers_elect_and_depose() {
    let k = key("x");
    let mut t = leader();
    let away = Event::HandedOver {
        key: k.clone(),
        from: "a/0".into(),
        to: "b/0".into(),
        token: 6,
        expiry: at(61_000),
    };
    t.handle_event(at(1_000), &away);
    let (outs, wake) = drain(&mut t);
    assert_eq!(outs, vec![TrackerOutput::Deposed { key: k.clone() }]);
    assert_eq!(wake, at(61_000));

    let back = Event::HandedOver {
        key: k.clone(),
        from: "b/0".into(),
        to: "a/0".into(),
        token: 7,
        expiry: at(62_000),
    };
    t.handle_event(at(2_000), &back);
    let (outs, wake) = drain(&mut t);
    assert_eq!(
        outs[0],
        TrackerOutput::Elected {
            key: k.clone(),
            token: 7
        }
    );
    // The handover's duration is unknown: an extension proves the lease at once.
    let id = submitted(&outs, "extend", &k);
    assert!(t.is_leader(&k));
    assert_eq!(t.token(&k), Some(7));
    assert_eq!(wake, at(62_000));
    t.handle_answer(at(2_100), id, &Outcome::Applied(Ok(Some(7))));
    let (outs, wake) = drain(&mut t);
    assert!(outs.is_empty());
    assert_eq!(
        wake,
        at(32_000),
        "renewal half a duration after the extension was sent"
    );
}

#[test]
fn tracking_twice_claims_once() {
    let k = key("x");
    let mut t = Tracker::new("a/0", config());
    t.track(at(0), k.clone());
    t.track(at(0), k.clone());
    let (outs, _) = drain(&mut t);
    submitted(&outs, "claim", &k);
    t.track(at(5), key("y"));
    let (outs, _) = drain(&mut t);
    submitted(&outs, "claim", &key("y"));
    assert_eq!(t.keys().cloned().collect::<Vec<_>>(), vec![k, key("y")]);
}

#[test]
fn submitted_operations_carry_the_holder_and_duration() {
    let k = key("x");
    let mut t = Tracker::new("a/0", TrackerConfig::with_duration(Duration::from_secs(8)));
    t.track(at(0), k.clone());
    let (outs, _) = drain(&mut t);
    assert!(matches!(
        &outs[..],
        [TrackerOutput::Submit { op, .. }]
            if *op == Op::claim(k.clone(), "a/0", Duration::from_secs(8))
    ));
}

#[test]
fn a_grant_answered_after_its_duration_is_not_trusted() {
    let k = key("x");
    let mut t = Tracker::new("a/0", config());
    t.track(at(0), k.clone());
    let id = submitted(&drain(&mut t).0, "claim", &k);
    t.handle_answer(at(60_000), id, &Outcome::Applied(Ok(Some(1))));
    let (outs, _) = drain(&mut t);
    assert!(
        !outs
            .iter()
            .any(|o| matches!(o, TrackerOutput::Elected { .. })),
        "{outs:?}"
    );
    // Claimed again instead: the engine turns it into an extension if still held.
    let again = submitted(&outs, "claim", &k);
    t.handle_answer(at(60_100), again, &Outcome::Applied(Ok(Some(1))));
    let (outs, _) = drain(&mut t);
    assert_eq!(
        outs,
        vec![TrackerOutput::Elected {
            key: k.clone(),
            token: 1
        }]
    );
    assert_eq!(t.leader_expiry(&k), Some(at(120_000)));
}

#[test]
fn a_release_seen_while_claiming_is_not_lost() {
    let k = key("x");
    let mut t = Tracker::new("a/0", config());
    t.track(at(0), k.clone());
    let id = submitted(&drain(&mut t).0, "claim", &k);
    // The release overtook the claim's answer, which still says Held: claim again.
    let revoked = Event::Revoked {
        key: k.clone(),
        holder: "b/0".into(),
        token: 2,
    };
    t.handle_event(at(50), &revoked);
    assert!(
        drain(&mut t).0.is_empty(),
        "the claim in flight decides first"
    );
    let held = Outcome::Applied(Err(LeaseError::Held {
        holder: "b/0".into(),
    }));
    t.handle_answer(at(100), id, &held);
    let (outs, _) = drain(&mut t);
    let id = submitted(&outs, "claim", &k);
    // Held again (someone else won the release): now it waits.
    t.handle_answer(at(200), id, &held);
    let (outs, wake) = drain(&mut t);
    assert!(outs.is_empty());
    assert_eq!(wake, at(60_200));
    // News of a grant to this very holder (its answer lost): claim to confirm.
    let mine = Event::Claimed {
        key: k.clone(),
        holder: "a/0".into(),
        token: 3,
        expiry: at(60_000),
    };
    t.handle_event(at(300), &mine);
    submitted(&drain(&mut t).0, "claim", &k);
}

#[test]
fn zero_delays_still_move_time_forward() {
    let k = key("x");
    let config = TrackerConfig {
        renew_after: Duration::ZERO,
        retry_delay: Duration::ZERO,
        claim_backoff: Duration::ZERO,
        ..config()
    };
    let mut t = Tracker::new("a/0", config);
    t.track(at(0), k.clone());
    let id = submitted(&drain(&mut t).0, "claim", &k);
    t.handle_answer(at(100), id, &Outcome::Shed);
    let (_, wake) = drain(&mut t);
    assert!(wake > at(100));
    t.handle_timeout(wake);
    let id = submitted(&drain(&mut t).0, "claim", &k);
    t.handle_answer(wake, id, &Outcome::Applied(Ok(Some(1))));
    let (_, renew) = drain(&mut t);
    assert!(renew > wake);
}

#[test]
fn renewal_jitter_spreads_holders_that_joined_together() {
    let k = key("x");
    let mut sim = Sim::new(&["a/0"], TrackerConfig::default());
    sim.track(0, &k);
    sim.run_until(at(200_000));
    let extends = sim.submits(0, "extend");
    assert!(extends.len() >= 6, "{extends:?}");
    let mut last = at(0);
    let mut gaps = Vec::new();
    for t in &extends {
        let gap = t.as_millis() - last.as_millis();
        assert!(
            (28_500..=30_000).contains(&gap),
            "extension {gap} ms after the previous request"
        );
        gaps.push(gap);
        last = *t;
    }
    gaps.sort_unstable();
    gaps.dedup();
    assert!(gaps.len() > 1, "the jitter varies: {gaps:?}");
    assert!(sim.deposed(0).is_empty());
}
