//! Property tests over random sequences of operations and time steps (native only).

#![cfg(not(target_arch = "wasm32"))]

mod common;

use leasehold::{Event, Fsm, Key, Op, Snapshot, Time};
use proptest::prelude::*;
use std::collections::HashMap;

/// A random stream of operation seeds (see `common::op_from`).
fn stream() -> impl Strategy<Value = Vec<(u8, u8, u8, u16)>> {
    proptest::collection::vec(any::<(u8, u8, u8, u16)>(), 1..300)
}

/// Applies the stream; returns the state and, per operation, whether it applied and its
/// events.
fn apply_all(stream: &[(u8, u8, u8, u16)]) -> (Fsm, Vec<(Op, bool, Vec<Event>)>) {
    let mut fsm = Fsm::new();
    let mut log = Vec::new();
    for &(kind, k, h, n) in stream {
        let op = common::op_from(kind, k, h, n, fsm.global_time());
        let result = fsm.apply(&op);
        let ok = result.is_ok();
        log.push((op, ok, result.map(|a| a.events).unwrap_or_default()));
    }
    (fsm, log)
}

/// What an observer of the events believes: holder, token and granted expiry per key.
#[derive(Default)]
struct Model {
    held: HashMap<Key, (String, u64, Time)>,
    pinned: HashMap<Key, std::collections::BTreeSet<String>>,
    last_token: u64,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn never_two_holders_no_early_takeover_and_tokens_grow(stream in stream()) {
        let (fsm, log) = apply_all(&stream);
        let mut m = Model::default();
        let mut now = Time::ZERO;
        for (op, ok, events) in &log {
            if let (Op::SetTime { new, .. }, true) = (op, ok) {
                prop_assert!(*new >= now, "time went backwards");
                now = *new;
            }
            for e in events {
                match e {
                    Event::Claimed { key, holder, token, expiry } => {
                        prop_assert!(!m.held.contains_key(key), "{key} granted while held");
                        prop_assert!(*token > m.last_token, "token {token} does not grow");
                        m.last_token = *token;
                        m.held.insert(key.clone(), (holder.to_string(), *token, *expiry));
                    }
                    Event::HandedOver {
                        key, from, to, token, ..
                    } => {
                        let (h, _, _) = m.held.get(key).expect("handover of an unheld lease");
                        prop_assert_eq!(h.as_str(), &**from);
                        prop_assert!(*token > m.last_token);
                        m.last_token = *token;
                        let Op::Handover { duration, .. } = op else { unreachable!() };
                        let expiry = now + *duration;
                        m.held.insert(key.clone(), (to.to_string(), *token, expiry));
                    }
                    Event::Extended { key, holder, expiry, .. } => {
                        let entry = m.held.get_mut(key).expect("extension of an unheld lease");
                        prop_assert_eq!(entry.0.as_str(), &**holder);
                        prop_assert!(*expiry >= entry.2, "an extension shortened a lease");
                        entry.2 = *expiry;
                    }
                    Event::Expired { key, token, .. } => {
                        let (_, t, expiry) = m.held.remove(key).expect("expiry of an unheld lease");
                        prop_assert_eq!(t, *token);
                        prop_assert!(expiry < now, "{key} taken away at {now}, before its expiry {expiry}");
                        prop_assert!(m.pinned.get(key).is_none_or(|p| p.is_empty()), "a pinned lease expired");
                    }
                    Event::Revoked { key, .. } => {
                        prop_assert!(m.held.remove(key).is_some());
                    }
                    Event::Pinned { key, entity, .. } => {
                        m.pinned.entry(key.clone()).or_default().insert(entity.to_string());
                    }
                    Event::Unpinned { key, entity, .. } => {
                        prop_assert!(m.pinned.entry(key.clone()).or_default().remove(&**entity));
                    }
                }
            }
        }
        prop_assert_eq!(m.held.len(), fsm.len());
        for l in fsm.leases(Time::ZERO) {
            prop_assert_eq!(&m.held[&l.key].0, &l.holder.to_string());
        }
    }

    #[test]
    fn the_same_sequence_twice_gives_identical_snapshots(stream in stream()) {
        let a = apply_all(&stream).0.snapshot().encode().unwrap();
        let b = apply_all(&stream).0.snapshot().encode().unwrap();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn snapshot_restore_snapshot_is_identical(stream in stream()) {
        let bytes = apply_all(&stream).0.snapshot().encode().unwrap();
        let restored = Fsm::restore(Snapshot::decode(&bytes).unwrap());
        prop_assert_eq!(restored.snapshot().encode().unwrap(), bytes);
    }

    #[test]
    fn batches_round_trip(stream in stream(), seq in any::<u64>()) {
        let ops: Vec<Op> = stream.iter().map(|&(a, b, c, d)| common::op_from(a, b, c, d, Time::from_millis(u64::from(d)))).collect();
        let batch = leasehold::Batch::new(seq, ops);
        prop_assert_eq!(leasehold::Batch::decode(&batch.encode().unwrap()).unwrap(), batch);
    }
}
