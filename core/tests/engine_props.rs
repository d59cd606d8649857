//! Property test of the engine under random request streams, commit delays and abandoned
//! batches: every request is answered exactly once, and no request answered "not
//! applied" ever appears in a committed batch (native only).

#![cfg(not(target_arch = "wasm32"))]

use leasehold::{Batch, Config, Engine, Fsm, Key, Op, Outcome, Output, SINGULAR_NAMESPACE, Time};
use proptest::prelude::*;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

#[derive(Debug, Clone)]
enum Step {
    Request { kind: u8, key: u8, holder: u8 },
    Wait(u16),
    Commit,
    Abandon,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(kind, key, holder)| Step::Request { kind, key, holder }),
        3 => (0u16..400).prop_map(Step::Wait),
        3 => Just(Step::Commit),
        1 => Just(Step::Abandon),
    ]
}

fn config() -> impl Strategy<Value = Config> {
    (1usize..4, 1usize..20, 1usize..30, any::<bool>()).prop_map(
        |(in_flight, batch, capacity, eager)| Config {
            max_in_flight: in_flight,
            max_batch_ops: batch,
            queue_capacity: capacity,
            eager,
            ..Config::default()
        },
    )
}

/// The request's operation; its duration (or pin deadline) is unique to the request, so
/// an operation in the log names the request it came from.
fn request(kind: u8, k: u8, h: u8, tag: u64) -> Op {
    let ns = if k % 7 == 0 {
        SINGULAR_NAMESPACE
    } else {
        "application-leadership"
    };
    let key = Key::new(ns, "m", format!("l{}", k % 6));
    let holder = format!("h{}", h % 3);
    let d = Duration::from_millis(tag);
    match kind % 8 {
        0 | 1 => Op::claim(key, holder, d),
        2 | 3 => Op::extend(key, holder, d),
        4 => Op::revoke(key, holder),
        5 => Op::pin_until(key, holder, Time::from_millis(1_000_000 + tag), "r"),
        6 => Op::unpin(key, holder),
        _ => Op::handover(key, holder, format!("h{}", (h % 3 + 1) % 3), d),
    }
}

/// The tag of a logged operation, if it carries one.
fn tag(op: &Op) -> Option<u64> {
    match op {
        Op::Claim { duration, .. }
        | Op::Extend { duration, .. }
        | Op::Handover { duration, .. } => Some(duration.as_millis() as u64),
        Op::Pin { until: Some(u), .. } => Some(u.as_millis() - 1_000_000),
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn every_request_is_answered_once_and_unapplied_ones_never_reach_the_log(
        config in config(),
        steps in proptest::collection::vec(step(), 1..400),
    ) {
        let mut engine = Engine::new(config, Time::ZERO).unwrap();
        let mut now = Time::ZERO;
        let mut log: VecDeque<u64> = VecDeque::new();
        // Each batch as decoded when appended (against the committed state then) and its
        // bytes, which a replica decodes against the state it applies them to.
        let mut appended: HashMap<u64, (Batch, Vec<u8>)> = HashMap::new();
        let mut replica = Fsm::new();
        // And one that keeps no results (a compactor's, a restart's).
        let mut quiet = Fsm::new();
        let mut committed_tags = Vec::new();
        let mut answers: HashMap<u64, Vec<Outcome>> = HashMap::new();
        let mut tags: HashMap<u64, u64> = HashMap::new();
        let mut next_tag = 1_000;
        let drain = |engine: &mut Engine, log: &mut VecDeque<u64>, appended: &mut HashMap<u64, (Batch, Vec<u8>)>, answers: &mut HashMap<u64, Vec<Outcome>>| loop {
            match engine.poll_output() {
                Output::Append(a) => {
                    log.push_back(a.seq);
                    let batch = engine.fsm().decode_batch(&a.bytes).unwrap();
                    appended.insert(a.seq, (batch, a.bytes));
                }
                Output::Answer(a) => answers.entry(a.ticket.0).or_default().push(a.outcome),
                Output::Event(_) | Output::Settled(_) => {}
                Output::Timeout(t) => break t,
            }
        };
        for s in steps {
            match s {
                Step::Request { kind, key, holder } => {
                    next_tag += 1;
                    let ticket = engine.handle_request(now, request(kind, key, holder, next_tag));
                    tags.insert(ticket.0, next_tag);
                }
                Step::Wait(ms) => {
                    now = now + Duration::from_millis(u64::from(ms));
                    engine.handle_timeout(now);
                }
                Step::Commit => {
                    if let Some(seq) = log.pop_front() {
                        let (batch, bytes) = &appended[&seq];
                        committed_tags.extend(batch.ops.iter().filter_map(tag));
                        prop_assert_eq!(&replica.decode_batch(bytes).unwrap(), batch);
                        replica.apply_encoded(bytes).unwrap();
                        prop_assert_eq!(quiet.replay_encoded(bytes), Ok(seq));
                        engine.handle_committed(now, seq).unwrap();
                    }
                }
                Step::Abandon => {
                    if let Some(seq) = log.pop_front() {
                        engine.handle_abandoned(now, seq).unwrap();
                    }
                }
            }
            let timeout = drain(&mut engine, &mut log, &mut appended, &mut answers);
            prop_assert!(timeout > now, "the next timeout {timeout} is not after now {now}");
        }
        // Let the log commit everything still pending, then stop.
        while let Some(seq) = log.pop_front() {
            let (batch, bytes) = &appended[&seq];
            committed_tags.extend(batch.ops.iter().filter_map(tag));
            prop_assert_eq!(&replica.decode_batch(bytes).unwrap(), batch);
            replica.apply_encoded(bytes).unwrap();
            prop_assert_eq!(quiet.replay_encoded(bytes), Ok(seq));
            engine.handle_committed(now, seq).unwrap();
            drain(&mut engine, &mut log, &mut appended, &mut answers);
        }
        // A replica that decoded every committed batch against its own state is where
        // the engine is, byte for byte (places included).
        prop_assert_eq!(replica.snapshot().encode().unwrap(), engine.fsm().snapshot().encode().unwrap());
        prop_assert_eq!(quiet.snapshot(), replica.snapshot());
        engine.shutdown(now);
        drain(&mut engine, &mut log, &mut appended, &mut answers);
        prop_assert!(log.is_empty());

        for ticket in tags.keys() {
            let got = answers.get(ticket).map_or(0, Vec::len);
            prop_assert_eq!(got, 1, "ticket {} answered {} times", ticket, got);
        }
        prop_assert_eq!(answers.len(), tags.len());
        let by_tag: HashMap<u64, u64> = tags.iter().map(|(t, g)| (*g, *t)).collect();
        for g in committed_tags {
            let ticket = by_tag[&g];
            let outcome = &answers[&ticket][0];
            prop_assert!(outcome.reached_log(), "request {} is in a committed batch but was answered {:?}", ticket, outcome);
        }
    }
}
