//! The batching engine: flush policy, lanes, shedding, deadlines, coalescing, answers.
//! These run natively and on wasm32 under Node.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use leasehold::{
    Answer, Batch, Config, Engine, Event, Key, Lane, LeaseError, Op, Outcome, Output,
    SINGULAR_NAMESPACE, Ticket, Time,
};
use std::time::Duration;

fn key(lease: &str) -> Key {
    Key::new("application-leadership", "model", lease)
}

fn singular(lease: &str) -> Key {
    Key::new(SINGULAR_NAMESPACE, "controller", lease)
}

fn at(ms: u64) -> Time {
    Time::from_millis(ms)
}

const MINUTE: Duration = Duration::from_secs(60);

/// What one drain returned.
#[derive(Default, Debug)]
struct Drained {
    appends: Vec<Batch>,
    answers: Vec<Answer>,
    events: Vec<Event>,
    timeout: Option<Time>,
}

impl Drained {
    fn outcome(&self, t: Ticket) -> Option<&Outcome> {
        self.answers
            .iter()
            .find(|a| a.ticket == t)
            .map(|a| &a.outcome)
    }
}

fn drain(engine: &mut Engine) -> Drained {
    let mut d = Drained::default();
    loop {
        match engine.poll_output() {
            Output::Append(a) => d.appends.push(
                engine
                    .fsm()
                    .decode_batch(&a.bytes)
                    .expect("engine batches decode"),
            ),
            Output::Answer(a) => d.answers.push(a),
            Output::Event(e) => d.events.push(e),
            Output::Settled(_) => {}
            Output::Timeout(t) => {
                d.timeout = Some(t);
                return d;
            }
        }
    }
}

fn kinds(batch: &Batch) -> Vec<&'static str> {
    batch.ops.iter().map(Op::kind).collect()
}

fn replicated(config: Config) -> Engine {
    Engine::new(config, Time::ZERO).unwrap()
}

#[test]
fn requests_wait_for_the_100ms_tick_and_share_one_batch() {
    let mut e = replicated(Config::default());
    e.handle_request(at(0), Op::claim(key("a"), "a/0", MINUTE));
    let d = drain(&mut e);
    assert!(d.appends.is_empty());
    assert_eq!(d.timeout, Some(at(100)));
    e.handle_request(at(30), Op::claim(key("b"), "b/0", MINUTE));
    e.handle_request(at(60), Op::claim(key("c"), "c/0", MINUTE));
    e.handle_timeout(at(99));
    assert!(drain(&mut e).appends.is_empty(), "nothing before the tick");
    e.handle_timeout(at(100));
    let d = drain(&mut e);
    assert_eq!(d.appends.len(), 1);
    assert_eq!(kinds(&d.appends[0]), ["setTime", "claim", "claim", "claim"]);
    // The next tick is 100 ms later.
    e.handle_request(at(150), Op::claim(key("d"), "d/0", MINUTE));
    assert_eq!(drain(&mut e).timeout, Some(at(200)));
}

#[test]
fn a_batch_takes_singular_then_extend_then_admin_then_claim() {
    let mut e = replicated(Config {
        max_in_flight: 1,
        ..Config::default()
    });
    // Hold the window with a first batch, so the next requests all queue.
    e.handle_request(at(0), Op::claim(key("held"), "h", MINUTE));
    e.handle_timeout(at(100));
    let first = drain(&mut e).appends.remove(0);
    e.handle_request(at(110), Op::claim(key("c"), "c/0", MINUTE));
    e.handle_request(at(111), Op::pin(key("p"), "machine-0"));
    e.handle_request(at(112), Op::extend(key("held"), "h", MINUTE));
    e.handle_request(at(113), Op::claim(singular("s"), "controller/0", MINUTE));
    assert!(drain(&mut e).appends.is_empty(), "the window is full");
    assert_eq!(e.queue_depth(Lane::Singular), 1);
    e.handle_committed(at(120), first.seq).unwrap();
    let d = drain(&mut e);
    assert_eq!(
        d.appends.len(),
        1,
        "the singular request cuts at once when room appears"
    );
    assert_eq!(
        kinds(&d.appends[0]),
        ["setTime", "claim", "extend", "pin", "claim"]
    );
    assert_eq!(
        &*d.appends[0].ops[1].key().unwrap().namespace,
        SINGULAR_NAMESPACE
    );
}

#[test]
fn a_full_batch_is_cut_early() {
    let mut e = replicated(Config {
        max_batch_ops: 10,
        ..Config::default()
    });
    for i in 0..9 {
        e.handle_request(at(1), Op::claim(key(&format!("l{i}")), "h", MINUTE));
    }
    assert!(drain(&mut e).appends.is_empty());
    e.handle_request(at(2), Op::claim(key("l9"), "h", MINUTE));
    let d = drain(&mut e);
    assert_eq!(d.appends.len(), 1);
    assert_eq!(d.appends[0].ops.len(), 11, "ten claims and the time step");
}

#[test]
fn a_singular_request_is_cut_at_once() {
    let mut e = replicated(Config::default());
    e.handle_request(at(5), Op::claim(singular("db"), "controller/0", MINUTE));
    let d = drain(&mut e);
    assert_eq!(d.appends.len(), 1);
    assert_eq!(kinds(&d.appends[0]), ["setTime", "claim"]);
    // Priority requests travel in the same lane whatever their key.
    e.handle_priority_request(at(6), Op::claim(key("x"), "x/0", MINUTE));
    assert_eq!(drain(&mut e).appends.len(), 1);
}

#[test]
fn eager_mode_cuts_whenever_nothing_is_in_flight() {
    let mut e = replicated(Config {
        eager: true,
        ..Config::default()
    });
    e.handle_request(at(5), Op::claim(key("a"), "a/0", MINUTE));
    let first = drain(&mut e).appends.remove(0);
    e.handle_request(at(6), Op::claim(key("b"), "b/0", MINUTE));
    e.handle_request(at(7), Op::claim(key("c"), "c/0", MINUTE));
    assert!(drain(&mut e).appends.is_empty(), "one is in flight: wait");
    e.handle_committed(at(8), first.seq).unwrap();
    let d = drain(&mut e);
    assert_eq!(d.appends.len(), 1);
    assert_eq!(kinds(&d.appends[0]), ["setTime", "claim", "claim"]);
}

/// An engine whose window is held by one uncommitted batch, so requests queue.
fn blocked(config: Config) -> Engine {
    let mut e = replicated(Config {
        max_in_flight: 1,
        ..config
    });
    e.handle_request(at(0), Op::claim(singular("block"), "b", MINUTE));
    assert_eq!(drain(&mut e).appends.len(), 1);
    e
}

#[test]
fn with_a_full_queue_claims_are_refused_first() {
    let mut e = blocked(Config {
        queue_capacity: 3,
        ..Config::default()
    });
    let queued: Vec<Ticket> = (0..3)
        .map(|i| e.handle_request(at(1), Op::claim(key(&format!("q{i}")), "h", MINUTE)))
        .collect();
    let late = e.handle_request(at(2), Op::claim(key("late"), "h", MINUTE));
    let d = drain(&mut e);
    assert_eq!(d.outcome(late), Some(&Outcome::Shed));
    assert!(
        queued.iter().all(|t| d.outcome(*t).is_none()),
        "queued claims wait"
    );
    assert_eq!(e.metrics().lane(Lane::Claim).shed, 1);
}

#[test]
fn a_new_extension_evicts_the_newest_queued_claim() {
    let mut e = blocked(Config {
        queue_capacity: 3,
        ..Config::default()
    });
    let claims: Vec<Ticket> = (0..3)
        .map(|i| e.handle_request(at(1), Op::claim(key(&format!("q{i}")), "h", MINUTE)))
        .collect();
    let ext = e.handle_request(at(2), Op::extend(key("x"), "h", MINUTE));
    let d = drain(&mut e);
    assert_eq!(
        d.outcome(claims[2]),
        Some(&Outcome::Shed),
        "the newest claim is evicted"
    );
    assert_eq!(d.outcome(claims[0]), None);
    assert_eq!(d.outcome(ext), None, "the extension waits");
    assert_eq!(e.queue_depth(Lane::Extend), 1);
    // With no claim left to evict, extensions are refused too.
    let mut e = blocked(Config {
        queue_capacity: 2,
        ..Config::default()
    });
    e.handle_request(at(1), Op::extend(key("a"), "h", MINUTE));
    e.handle_request(at(1), Op::extend(key("b"), "h", MINUTE));
    let refused = e.handle_request(at(1), Op::extend(key("c"), "h", MINUTE));
    assert_eq!(drain(&mut e).outcome(refused), Some(&Outcome::Shed));
}

#[test]
fn singular_requests_always_get_through() {
    let mut e = blocked(Config {
        queue_capacity: 1,
        ..Config::default()
    });
    e.handle_request(at(1), Op::extend(key("a"), "h", MINUTE));
    let tickets: Vec<Ticket> = (0..50)
        .map(|i| e.handle_request(at(1), Op::claim(singular(&format!("s{i}")), "c", MINUTE)))
        .collect();
    let d = drain(&mut e);
    assert!(tickets.iter().all(|t| d.outcome(*t).is_none()), "none shed");
    assert_eq!(e.queue_depth(Lane::Singular), 50);
}

#[test]
fn deadlines_differ_per_lane() {
    let mut e = blocked(Config::default());
    let claim = e.handle_request(at(0), Op::claim(key("c"), "h", MINUTE));
    let ext = e.handle_request(at(0), Op::extend(key("e"), "h", MINUTE));
    e.handle_timeout(at(2_999));
    assert!(drain(&mut e).answers.is_empty());
    e.handle_timeout(at(3_000));
    let d = drain(&mut e);
    assert_eq!(d.outcome(claim), Some(&Outcome::DeadlineExceeded));
    assert_eq!(d.outcome(ext), None, "extensions wait 5 s");
    e.handle_timeout(at(5_000));
    assert_eq!(drain(&mut e).outcome(ext), Some(&Outcome::DeadlineExceeded));
    let m = e.metrics();
    assert_eq!(
        (
            m.lane(Lane::Claim).deadline_exceeded,
            m.lane(Lane::Extend).deadline_exceeded
        ),
        (1, 1)
    );
    assert!(!Outcome::DeadlineExceeded.reached_log());
}

/// Claims `k` for `h` on a single-node engine and returns the token.
fn grant(e: &mut Engine, now: Time, k: &Key, h: &str) -> u64 {
    let t = e.handle_priority_request(now, Op::claim(k.clone(), h, MINUTE));
    match drain(e).outcome(t) {
        Some(Outcome::Applied(Ok(Some(token)))) => *token,
        other => panic!("claim gave {other:?}"),
    }
}

#[test]
fn duplicate_extensions_coalesce_into_one_operation() {
    let mut e = Engine::single_node(Config::default(), Time::ZERO).unwrap();
    let token = grant(&mut e, at(0), &key("a"), "a/0");
    let tickets: Vec<Ticket> = [10, 20, 30]
        .iter()
        .map(|s| e.handle_request(at(1), Op::extend(key("a"), "a/0", Duration::from_secs(*s))))
        .collect();
    e.handle_timeout(at(100));
    let d = drain(&mut e);
    assert_eq!(kinds(&d.appends[0]), ["setTime", "extend"]);
    assert!(
        matches!(&d.appends[0].ops[1], Op::Extend { duration, .. } if *duration == Duration::from_secs(30))
    );
    for t in tickets {
        assert_eq!(d.outcome(t), Some(&Outcome::Applied(Ok(Some(token)))));
    }
    assert_eq!(e.metrics().coalesced, 2);
}

#[test]
fn competing_claims_put_one_claim_in_the_log_and_rivals_learn_the_winner() {
    let mut e = Engine::single_node(Config::default(), Time::ZERO).unwrap();
    let a = e.handle_request(at(1), Op::claim(key("x"), "x/0", MINUTE));
    let b = e.handle_request(at(2), Op::claim(key("x"), "x/1", MINUTE));
    let c = e.handle_request(at(3), Op::claim(key("x"), "x/2", MINUTE));
    e.handle_timeout(at(100));
    let d = drain(&mut e);
    assert_eq!(kinds(&d.appends[0]), ["setTime", "claim"]);
    assert!(matches!(d.outcome(a), Some(Outcome::Applied(Ok(Some(_))))));
    let held = Outcome::Applied(Err(LeaseError::Held {
        holder: "x/0".into(),
    }));
    assert_eq!(d.outcome(b), Some(&held));
    assert_eq!(d.outcome(c), Some(&held));
    assert!(
        d.outcome(b).unwrap().reached_log(),
        "the answer comes from the log's result"
    );
}

#[test]
fn a_claim_by_the_current_holder_becomes_an_extension() {
    let mut e = Engine::single_node(Config::default(), Time::ZERO).unwrap();
    let token = grant(&mut e, at(0), &key("a"), "a/0");
    let t = e.handle_request(at(1), Op::claim(key("a"), "a/0", MINUTE));
    e.handle_timeout(at(100));
    let d = drain(&mut e);
    assert_eq!(kinds(&d.appends[0]), ["setTime", "extend"]);
    assert_eq!(d.outcome(t), Some(&Outcome::Applied(Ok(Some(token)))));
}

#[test]
fn an_abandoned_batch_answers_aborted_and_time_recovers() {
    let mut e = replicated(Config::default());
    let t = e.handle_request(at(1), Op::claim(key("a"), "a/0", MINUTE));
    e.handle_timeout(at(100));
    let first = drain(&mut e).appends.remove(0);
    e.handle_abandoned(at(110), first.seq).unwrap();
    let d = drain(&mut e);
    assert_eq!(d.outcome(t), Some(&Outcome::Aborted));
    assert!(!Outcome::Aborted.reached_log());
    assert_eq!(e.fsm().holder(&key("a")), None);
    // The next batch starts from the committed time, so its set_time applies.
    let t2 = e.handle_request(at(150), Op::claim(key("a"), "a/0", MINUTE));
    e.handle_timeout(at(200));
    let next = drain(&mut e).appends.remove(0);
    assert!(matches!(next.ops[0], Op::SetTime { old, .. } if old == Time::ZERO));
    e.handle_committed(at(210), next.seq).unwrap();
    assert!(drain(&mut e).outcome(t2).unwrap().is_ok());
    assert_eq!(e.fsm().global_time(), at(200));
    assert_eq!(
        e.handle_committed(at(220), 99),
        Err(leasehold::EngineError::UnknownBatch(99))
    );
}

#[test]
fn an_idle_engine_writes_a_time_batch_every_clock_interval_so_leases_expire() {
    let mut e = Engine::single_node(Config::default(), Time::ZERO).unwrap();
    e.handle_request(at(0), Op::claim(key("a"), "a/0", Duration::from_secs(2)));
    e.handle_timeout(at(100));
    drain(&mut e);
    let mut now = at(100);
    let mut expired_at = None;
    while now < at(5_000) && expired_at.is_none() {
        let d = drain(&mut e);
        now = d.timeout.unwrap();
        e.handle_timeout(now);
        if drain(&mut e)
            .events
            .iter()
            .any(|ev| matches!(ev, Event::Expired { .. }))
        {
            expired_at = Some(now);
        }
    }
    assert_eq!(
        expired_at,
        Some(at(3_100)),
        "the clock batch after expiry at 2.1 s"
    );
    assert_eq!(e.metrics().leadership_changes, 1);
}

#[test]
fn malformed_requests_are_rejected_naming_the_field() {
    let mut e = Engine::single_node(Config::default(), Time::ZERO).unwrap();
    let t = e.handle_request(at(0), Op::claim(key("a"), "", MINUTE));
    let d = drain(&mut e);
    assert!(matches!(d.outcome(t), Some(Outcome::Rejected(f)) if f.field == "holder"));
    let t = e.handle_request(at(0), Op::set_time(Time::ZERO, at(5)));
    assert!(matches!(drain(&mut e).outcome(t), Some(Outcome::Rejected(f)) if f.field == "op"));
}

#[test]
fn config_errors_name_the_field() {
    let bad = [
        (
            Config {
                batch_interval: Duration::ZERO,
                ..Config::default()
            },
            "batchIntervalMs",
        ),
        (
            Config {
                clock_interval: Duration::from_millis(10),
                ..Config::default()
            },
            "clockIntervalMs",
        ),
        (
            Config {
                max_batch_ops: 0,
                ..Config::default()
            },
            "maxBatchOps",
        ),
        (
            Config {
                max_in_flight: 0,
                ..Config::default()
            },
            "maxInFlight",
        ),
        (
            Config {
                queue_capacity: 0,
                ..Config::default()
            },
            "queueCapacity",
        ),
        (
            Config {
                extend_deadline: Duration::from_secs(1),
                ..Config::default()
            },
            "claimDeadlineMs",
        ),
    ];
    for (config, field) in bad {
        let err = Engine::new(config, Time::ZERO).unwrap_err();
        assert_eq!(err.field, field);
        assert!(err.to_string().contains(field));
    }
    assert!(Config::default().validate().is_ok());
}

#[test]
fn pin_deadlines_move_from_the_callers_clock_to_log_time() {
    // The caller's clock starts at 1,000,000 ms; log time starts at zero.
    let mut e = Engine::single_node(Config::default(), at(1_000_000)).unwrap();
    e.handle_request(
        at(1_000_000),
        Op::pin_until(key("a"), "m", at(1_060_000), "upgrade"),
    );
    e.handle_timeout(at(1_000_100));
    drain(&mut e);
    assert_eq!(e.fsm().pins()[&key("a")][0].until, Some(at(60_000)));
}

#[test]
fn shutdown_answers_every_waiting_request() {
    let mut e = blocked(Config::default());
    let t = e.handle_request(at(1), Op::claim(key("a"), "a/0", MINUTE));
    e.shutdown(at(2));
    let d = drain(&mut e);
    assert_eq!(d.outcome(t), Some(&Outcome::Shed));
    assert_eq!(
        d.outcome(Ticket(1)),
        Some(&Outcome::Aborted),
        "the in-flight one"
    );
}

#[test]
fn placements_name_the_operation_that_answers_each_request() {
    let mut e = replicated(Config::default());
    let _ = drain(&mut e);
    let a = e.handle_request(at(150), Op::claim(key("a"), "unit/0", MINUTE));
    let rival = e.handle_request(at(150), Op::claim(key("a"), "unit/1", MINUTE));
    let b = e.handle_request(at(150), Op::claim(key("b"), "unit/0", MINUTE));
    let again = e.handle_request(at(150), Op::claim(key("b"), "unit/0", MINUTE));
    e.handle_timeout(at(200));
    let d = drain(&mut e);
    let batch = &d.appends[0];
    let seq = batch.seq;
    let placed = e.placements(seq).expect("the batch is in flight");
    let op_of = |t: Ticket| placed.iter().find(|p| p.ticket == t).unwrap();
    // Each placement names an operation of the batch on the request's lease.
    for (t, lease) in [(a, "a"), (rival, "a"), (b, "b"), (again, "b")] {
        let op = &batch.ops[op_of(t).op as usize];
        assert_eq!(op.key().unwrap(), &key(lease), "{t:?} placed on {op}");
    }
    assert_eq!(op_of(a).rival, None);
    assert_eq!(op_of(rival).rival.as_deref(), Some("unit/1"));
    assert_eq!(
        op_of(again).op,
        op_of(b).op,
        "a repeated claim shares its operation"
    );
    assert_eq!(placed.len(), 4);
    e.handle_committed(at(210), seq).unwrap();
    let _ = drain(&mut e);
    assert_eq!(e.placements(seq), None, "a settled batch has no placements");
}
