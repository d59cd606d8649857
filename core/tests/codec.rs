//! The log format: round trips, determinism, version and limit checks, typed errors.
//! These run natively and on wasm32 under Node.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use leasehold::limits::{MAX_BATCH_BYTES, MAX_BATCH_OPS, MAX_NAME_BYTES};
use leasehold::{Batch, DecodeError, EncodeError, FORMAT_VERSION, Fsm, Key, Op, Snapshot, Time};
use std::time::Duration;

fn key(lease: &str) -> Key {
    Key::new(
        "application-leadership",
        "2f1b7c3e-5d8a-4f6b-9c0d-1e2f3a4b5c6d",
        lease,
    )
}

fn every_kind_of_op() -> Vec<Op> {
    let d = Duration::from_secs(60);
    vec![
        Op::claim(key("mysql-1"), "mysql-1/0", d),
        Op::extend(key("mysql-1"), "mysql-1/0", d),
        Op::revoke(key("mysql-1"), "mysql-1/0"),
        Op::pin(key("mysql-2"), "machine-0"),
        Op::pin_until(
            key("mysql-2"),
            "machine-1",
            Time::from_millis(99),
            "upgrade ✓",
        ),
        Op::unpin(key("mysql-2"), "machine-0"),
        Op::set_time(Time::from_millis(5), Time::from_millis(u64::MAX)),
        Op::handover(key("mysql-3"), "mysql-3/0", "mysql-3/1", d),
    ]
}

#[test]
fn every_operation_round_trips() {
    let batch = Batch::new(u64::MAX, every_kind_of_op());
    let bytes = batch.encode().unwrap();
    assert_eq!(bytes[0], b'B');
    assert_eq!(bytes[1], FORMAT_VERSION);
    assert_eq!(Batch::decode(&bytes).unwrap(), batch);
}

#[test]
fn encoding_is_deterministic() {
    let a = Batch::new(7, every_kind_of_op()).encode().unwrap();
    let b = Batch::new(7, every_kind_of_op()).encode().unwrap();
    assert_eq!(a, b);
}

#[test]
fn realistic_batches_cost_at_most_40_bytes_per_operation() {
    let d = Duration::from_secs(60);
    let claims: Vec<Op> = (0..1000)
        .map(|i| Op::claim(key(&format!("mysql-{i}")), format!("mysql-{i}/2"), d))
        .collect();
    let extends: Vec<Op> = (0..1000)
        .map(|i| Op::extend(key(&format!("mysql-{i}")), format!("mysql-{i}/2"), d))
        .collect();
    for ops in [claims, extends] {
        let bytes = Batch::new(1, ops).encode().unwrap();
        assert!(
            bytes.len() <= 40 * 1000,
            "{} bytes for 1000 ops",
            bytes.len()
        );
    }
}

#[test]
fn wrong_kind_version_truncation_and_trailing_bytes_are_typed_errors() {
    let bytes = Batch::new(1, every_kind_of_op()).encode().unwrap();
    assert_eq!(Batch::decode(&[]), Err(DecodeError::Truncated));
    assert_eq!(Batch::decode(b"B"), Err(DecodeError::Truncated));
    assert!(matches!(
        Snapshot::decode(&bytes),
        Err(DecodeError::WrongKind {
            expected: "snapshot",
            ..
        })
    ));
    let mut v2 = bytes.clone();
    v2[1] = 2;
    assert_eq!(
        Batch::decode(&v2),
        Err(DecodeError::UnsupportedVersion {
            found: 2,
            supported: 1
        })
    );
    for cut in 2..bytes.len() {
        assert!(
            Batch::decode(&bytes[..cut]).is_err(),
            "a batch cut at {cut} decoded"
        );
    }
    let mut long = bytes.clone();
    long.extend_from_slice(&[0, 0]);
    assert_eq!(Batch::decode(&long), Err(DecodeError::TrailingBytes(2)));
}

#[test]
fn oversized_input_is_refused_before_decoding() {
    let huge = vec![0u8; MAX_BATCH_BYTES + 1];
    assert_eq!(
        Batch::decode(&huge),
        Err(DecodeError::TooLarge {
            actual: MAX_BATCH_BYTES + 1,
            limit: MAX_BATCH_BYTES
        })
    );
}

#[test]
fn limits_are_enforced_when_encoding() {
    let long = "x".repeat(MAX_NAME_BYTES + 1);
    let err = Batch::new(1, vec![Op::claim(key("a"), long, Duration::from_secs(1))]).encode();
    assert_eq!(
        err,
        Err(EncodeError::LimitExceeded {
            what: "holder",
            limit: MAX_NAME_BYTES
        })
    );
    let ops = vec![Op::set_time(Time::ZERO, Time::ZERO); MAX_BATCH_OPS + 1];
    assert!(matches!(
        Batch::new(1, ops).encode(),
        Err(EncodeError::LimitExceeded { .. })
    ));
}

#[test]
fn a_string_index_out_of_range_is_corrupt() {
    // Header, seq 1, no strings, one Revoke (variant 2) naming string 0.
    let bytes = [b'B', FORMAT_VERSION, 1, 0, 1, 2, 0, 0, 0, 0];
    assert_eq!(
        Batch::decode(&bytes),
        Err(DecodeError::Corrupt("string index is out of range"))
    );
}

#[test]
fn a_front_coded_prefix_longer_than_its_predecessor_is_corrupt() {
    // Header, seq 1, one string sharing 5 bytes with the (empty) previous one.
    let bytes = [b'B', FORMAT_VERSION, 1, 1, 5, 1, b'a', 0];
    assert_eq!(
        Batch::decode(&bytes),
        Err(DecodeError::Corrupt("string table prefix is out of range"))
    );
}

fn sample_state() -> Fsm {
    let mut fsm = Fsm::new();
    let d = Duration::from_secs(30);
    for i in 0..50 {
        fsm.apply(&Op::claim(
            key(&format!("app-{i}")),
            format!("app-{i}/0"),
            d,
        ))
        .unwrap();
    }
    fsm.apply(&Op::pin_until(
        key("app-3"),
        "machine-3",
        Time::from_millis(90_000),
        "upgrade",
    ))
    .unwrap();
    fsm.apply(&Op::pin(key("free"), "machine-9")).unwrap();
    fsm.apply(&Op::set_time(Time::ZERO, Time::from_millis(1_000)))
        .unwrap();
    fsm.apply(&Op::revoke(key("app-7"), "app-7/0")).unwrap();
    fsm
}

#[test]
fn snapshot_restore_snapshot_is_byte_identical() {
    let fsm = sample_state();
    let bytes = fsm.snapshot().encode().unwrap();
    assert_eq!(bytes[0], b'S');
    let restored = Fsm::restore(Snapshot::decode(&bytes).unwrap());
    assert_eq!(restored.snapshot().encode().unwrap(), bytes);
    assert_eq!(restored.leases(Time::ZERO), fsm.leases(Time::ZERO));
    assert_eq!(restored.pinned(), fsm.pinned());
    assert_eq!(restored.global_time(), Time::from_millis(1_000));
    assert_eq!(restored.fence(), 50);
}

#[test]
fn a_restored_state_behaves_like_the_original() {
    let mut a = sample_state();
    let mut b = Fsm::restore(Snapshot::decode(&a.snapshot().encode().unwrap()).unwrap());
    let ops = [
        Op::claim(key("app-7"), "x", Duration::from_secs(5)),
        Op::set_time(Time::from_millis(1_000), Time::from_millis(40_000)),
        Op::unpin(key("free"), "machine-9"),
        Op::set_time(Time::from_millis(40_000), Time::from_millis(100_000)),
    ];
    for op in &ops {
        assert_eq!(a.apply(op), b.apply(op));
    }
    assert_eq!(
        a.snapshot().encode().unwrap(),
        b.snapshot().encode().unwrap()
    );
}

#[test]
fn a_truncated_snapshot_is_an_error_at_every_length() {
    let bytes = sample_state().snapshot().encode().unwrap();
    for cut in 0..bytes.len() {
        assert!(
            Snapshot::decode(&bytes[..cut]).is_err(),
            "a snapshot cut at {cut} decoded"
        );
    }
}
