//! Batches that name held leases by their place in the state (format version 2): what
//! the engine writes, and when it must name a lease instead. These run natively and on
//! wasm32 under Node.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use leasehold::{
    Batch, Config, DecodeError, Engine, FORMAT_VERSION, Fsm, Key, LeaseError, Op, Outcome, Output,
    Ticket, Time,
};
use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);

fn key(lease: &str) -> Key {
    Key::new("application-leadership", "model", lease)
}

fn at(ms: u64) -> Time {
    Time::from_millis(ms)
}

/// The bytes of every batch appended, and every answer, until the engine waits.
fn drain(e: &mut Engine) -> (Vec<Vec<u8>>, Vec<(Ticket, Outcome)>) {
    let (mut appended, mut answers) = (Vec::new(), Vec::new());
    loop {
        match e.poll_output() {
            Output::Append(a) => appended.push(a.bytes),
            Output::Answer(a) => answers.push((a.ticket, a.outcome)),
            Output::Event(_) | Output::Settled(_) => {}
            Output::Timeout(_) => return (appended, answers),
        }
    }
}

/// An engine holding `leases` (each by `<lease>/0`), and a replica that followed its log.
fn holding(config: Config, leases: &[&str]) -> (Engine, Fsm) {
    let mut e = Engine::new(config, Time::ZERO).unwrap();
    for lease in leases {
        e.handle_request(at(0), Op::claim(key(lease), format!("{lease}/0"), MINUTE));
    }
    e.handle_timeout(at(100));
    let (bytes, _) = drain(&mut e);
    assert_eq!(bytes.len(), 1);
    assert_eq!(bytes[0][1], 1, "claims name their leases");
    let mut replica = Fsm::new();
    replica.apply_encoded(&bytes[0]).unwrap();
    e.handle_committed(at(100), 1).unwrap();
    drain(&mut e);
    (e, replica)
}

fn extend(e: &mut Engine, now: u64, lease: &str) -> Ticket {
    e.handle_request(
        at(now),
        Op::extend(key(lease), format!("{lease}/0"), MINUTE),
    )
}

#[test]
fn extensions_of_held_leases_travel_by_place_and_mean_what_their_names_would() {
    let (mut e, mut replica) = holding(Config::default(), &["a", "b", "c"]);
    for lease in ["a", "b", "c"] {
        extend(&mut e, 150, lease);
    }
    e.handle_timeout(at(200));
    let (bytes, _) = drain(&mut e);
    let bytes = &bytes[0];
    assert_eq!(bytes[1], FORMAT_VERSION);
    assert_eq!(Batch::decode(bytes), Err(DecodeError::NeedsState));
    let decoded = e.fsm().decode_batch(bytes).unwrap();
    let kinds: Vec<&str> = decoded.ops.iter().map(Op::kind).collect();
    assert_eq!(kinds, ["setTime", "extend", "extend", "extend"]);
    assert_eq!(decoded.ops[2].key(), Some(&key("b")));
    e.handle_committed(at(210), 2).unwrap();
    let (_, answers) = drain(&mut e);
    assert_eq!(answers.len(), 3);
    assert!(answers.iter().all(|(_, o)| o.is_ok()), "{answers:?}");
    // A replica reading the bytes against its own state ends where the engine is.
    replica.apply_encoded(bytes).unwrap();
    assert_eq!(
        replica.snapshot().encode().unwrap(),
        e.fsm().snapshot().encode().unwrap()
    );
}

#[test]
fn a_lease_revoked_in_flight_is_named_by_the_next_batch() {
    let (mut e, _) = holding(Config::default(), &["a", "b"]);
    e.handle_request(at(110), Op::revoke(key("a"), "a/0"));
    e.handle_timeout(at(200));
    assert_eq!(drain(&mut e).0.len(), 1, "the revoke is in flight");
    let gone = extend(&mut e, 210, "a");
    extend(&mut e, 210, "b");
    e.handle_timeout(at(300));
    let (bytes, _) = drain(&mut e);
    // `a` may lose its place before this batch applies, so it is named; `b` is not.
    let batch = Batch::decode(&bytes[0]);
    assert_eq!(batch, Err(DecodeError::NeedsState));
    let named = e.fsm().decode_batch(&bytes[0]).unwrap();
    assert_eq!(named.ops[1].key(), Some(&key("a")));
    e.handle_committed(at(310), 2).unwrap();
    e.handle_committed(at(310), 3).unwrap();
    let (_, answers) = drain(&mut e);
    let outcome = answers.iter().find(|(t, _)| *t == gone).map(|(_, o)| o);
    assert_eq!(outcome, Some(&Outcome::Applied(Err(LeaseError::Invalid))));
    // Once the revoke settled, extensions of what is held travel by place again.
    extend(&mut e, 320, "b");
    e.handle_timeout(at(400));
    assert_eq!(drain(&mut e).0[0][1], FORMAT_VERSION);
}

#[test]
fn a_lease_the_batch_lets_expire_is_named() {
    let mut e = Engine::new(Config::default(), Time::ZERO).unwrap();
    e.handle_request(
        at(0),
        Op::claim(key("a"), "a/0", Duration::from_millis(150)),
    );
    e.handle_timeout(at(100));
    drain(&mut e);
    e.handle_committed(at(100), 1).unwrap();
    drain(&mut e);
    // The lease expires at log time 250; this batch moves time to 400.
    let late = extend(&mut e, 350, "a");
    e.handle_timeout(at(400));
    let (bytes, _) = drain(&mut e);
    assert_eq!(bytes[0][1], 1, "named: its place may be empty by then");
    assert!(Batch::decode(&bytes[0]).is_ok());
    e.handle_committed(at(400), 2).unwrap();
    let (_, answers) = drain(&mut e);
    assert_eq!(
        answers.iter().find(|(t, _)| *t == late).map(|(_, o)| o),
        Some(&Outcome::Applied(Err(LeaseError::Invalid)))
    );
}

#[test]
fn with_refer_to_state_off_every_batch_names_its_leases() {
    let config = Config {
        refer_to_state: false,
        ..Config::default()
    };
    let (mut e, _) = holding(config, &["a", "b"]);
    extend(&mut e, 150, "a");
    extend(&mut e, 150, "b");
    e.handle_timeout(at(200));
    let (bytes, _) = drain(&mut e);
    assert_eq!(bytes[0][1], 1);
    assert_eq!(Batch::decode(&bytes[0]).unwrap().ops.len(), 3);
}
