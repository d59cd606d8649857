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
    // A batch that names every lease is still written as version 1.
    assert_eq!(bytes[1], 1);
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
    let mut v3 = bytes.clone();
    v3[1] = FORMAT_VERSION + 1;
    assert_eq!(
        Batch::decode(&v3),
        Err(DecodeError::UnsupportedVersion {
            found: FORMAT_VERSION + 1,
            supported: FORMAT_VERSION
        })
    );
    v3[1] = 0;
    assert!(matches!(
        Batch::decode(&v3),
        Err(DecodeError::UnsupportedVersion { found: 0, .. })
    ));
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

/// A state holding `n` leases `mysql-N` of one model, each by `mysql-N/2`.
fn holding(n: usize) -> (Fsm, Vec<Op>) {
    let mut fsm = Fsm::new();
    let minute = Duration::from_secs(60);
    for i in 0..n {
        let lease = format!("mysql-{i}");
        fsm.apply(&Op::claim(key(&lease), format!("{lease}/2"), minute))
            .unwrap();
    }
    let extends = (0..n)
        .map(|i| Op::extend(key(&format!("mysql-{i}")), format!("mysql-{i}/2"), minute))
        .collect();
    (fsm, extends)
}

#[test]
fn extensions_of_held_leases_refer_to_their_places() {
    let (mut fsm, extends) = holding(1_000);
    let batch = Batch::new(3, extends);
    let bytes = fsm.encode_batch(&batch).unwrap();
    assert_eq!(bytes[1], FORMAT_VERSION);
    assert!(
        bytes.len() <= 8 * 1_000,
        "{} bytes for 1,000 extensions",
        bytes.len()
    );
    assert!(bytes.len() * 2 < batch.encode().unwrap().len());
    // Alone the bytes do not say which leases they extend; against the state they do.
    assert_eq!(Batch::decode(&bytes), Err(DecodeError::NeedsState));
    assert_eq!(Batch::seq_of(&bytes), Ok(3));
    assert_eq!(Batch::seq_of(&bytes[..2]), Err(DecodeError::Truncated));
    assert!(
        DecodeError::NeedsState
            .to_string()
            .contains("against that state")
    );
    assert_eq!(fsm.decode_batch(&bytes).unwrap(), batch);
    // A version-1 batch never refers to places.
    let mut v1 = bytes.clone();
    v1[1] = 1;
    assert!(matches!(
        fsm.decode_batch(&v1),
        Err(DecodeError::Corrupt(_))
    ));
    // Encoding is deterministic, and the bytes apply as the named batch does.
    assert_eq!(fsm.encode_batch(&batch).unwrap(), bytes);
    let mut named = fsm.clone();
    assert_eq!(
        fsm.apply_encoded(&bytes).unwrap(),
        named.apply_batch(&batch)
    );
    assert_eq!(fsm.snapshot(), named.snapshot());
}

#[test]
fn a_reference_to_a_place_whose_grant_changed_is_refused() {
    let (mut fsm, extends) = holding(3);
    let bytes = fsm.encode_batch(&Batch::new(1, extends)).unwrap();
    // mysql-1 is revoked and claimed again (the same place, a new token).
    fsm.apply(&Op::revoke(key("mysql-1"), "mysql-1/2")).unwrap();
    fsm.apply(&Op::claim(key("mysql-1"), "other", Duration::from_secs(5)))
        .unwrap();
    assert!(matches!(
        fsm.decode_batch(&bytes),
        Err(DecodeError::Corrupt(_))
    ));
    let before = fsm.snapshot();
    assert!(fsm.apply_encoded(&bytes).is_err());
    assert_eq!(
        fsm.snapshot(),
        before,
        "a batch that does not decode changes nothing"
    );
}

#[test]
fn extensions_something_earlier_in_the_batch_may_move_are_named() {
    let (fsm, _) = holding(2);
    let d = Duration::from_secs(60);
    // Revoked first, then extended: the place may be taken by then.
    let revoked = Batch::new(
        1,
        vec![
            Op::revoke(key("mysql-0"), "mysql-0/2"),
            Op::extend(key("mysql-0"), "mysql-0/2", d),
        ],
    );
    // Time passes its expiry first.
    let expired = Batch::new(
        2,
        vec![
            Op::set_time(Time::ZERO, Time::from_millis(120_000)),
            Op::extend(key("mysql-1"), "mysql-1/2", d),
        ],
    );
    // Extended by someone who does not hold it.
    let stranger = Batch::new(3, vec![Op::extend(key("mysql-1"), "mysql-9/2", d)]);
    for batch in [revoked, expired, stranger] {
        let bytes = fsm.encode_batch(&batch).unwrap();
        assert_eq!(bytes, batch.encode().unwrap(), "{batch:?}");
        assert_eq!(Batch::decode(&bytes).unwrap(), batch);
    }
}

#[test]
fn snapshots_keep_places_so_a_restored_state_reads_the_same_references() {
    let (mut fsm, _) = holding(4);
    let d = Duration::from_secs(60);
    // Free place 1, so the next claim takes it.
    fsm.apply(&Op::revoke(key("mysql-1"), "mysql-1/2")).unwrap();
    let bytes = fsm.snapshot().encode().unwrap();
    assert_eq!(bytes[1], FORMAT_VERSION);
    let mut restored = Fsm::restore(Snapshot::decode(&bytes).unwrap());
    assert_eq!(restored.snapshot().encode().unwrap(), bytes);
    for state in [&mut fsm, &mut restored] {
        state.apply(&Op::claim(key("late"), "late/0", d)).unwrap();
    }
    assert_eq!(fsm.snapshot(), restored.snapshot());
    let late = fsm
        .snapshot()
        .leases()
        .iter()
        .find(|l| &*l.key.lease == "late")
        .unwrap()
        .slot;
    assert_eq!(late, 1, "a claim takes the lowest free place");
    let extends = Batch::new(
        5,
        vec![
            Op::extend(key("late"), "late/0", d),
            Op::extend(key("mysql-3"), "mysql-3/2", d),
        ],
    );
    let refers = fsm.encode_batch(&extends).unwrap();
    assert_eq!(refers[1], FORMAT_VERSION);
    assert_eq!(restored.decode_batch(&refers).unwrap(), extends);
}

#[test]
fn version_1_snapshots_still_decode_with_places_in_key_order() {
    let (fsm, _) = holding(3);
    let v2 = fsm.snapshot().encode().unwrap();
    // Version 2 is version 1's body followed by the places (a count, then each).
    assert_eq!(&v2[v2.len() - 4..], &[3, 0, 1, 2]);
    let mut v1 = v2[..v2.len() - 4].to_vec();
    v1[1] = 1;
    let snapshot = Snapshot::decode(&v1).unwrap();
    let places: Vec<u32> = snapshot.leases().iter().map(|l| l.slot).collect();
    assert_eq!(places, [0, 1, 2]);
    assert_eq!(Fsm::restore(snapshot).snapshot(), fsm.snapshot());
}

#[test]
fn snapshots_with_repeated_or_far_places_are_corrupt() {
    let (fsm, _) = holding(2);
    let good = fsm.snapshot().encode().unwrap();
    assert_eq!(&good[good.len() - 3..], &[2, 0, 1]);
    let mut repeated = good.clone();
    let n = repeated.len();
    repeated[n - 1] = 0;
    assert!(matches!(
        Snapshot::decode(&repeated),
        Err(DecodeError::Corrupt(_))
    ));
    // Place 2^24 (varint 0x80 0x80 0x80 0x08), one past the limit.
    let mut far = good[..n - 1].to_vec();
    far.extend([0x80, 0x80, 0x80, 0x08]);
    assert!(matches!(
        Snapshot::decode(&far),
        Err(DecodeError::Corrupt(_))
    ));
    let mut short = good[..n - 3].to_vec();
    short.extend([1, 0]);
    assert!(matches!(
        Snapshot::decode(&short),
        Err(DecodeError::Corrupt(_))
    ));
}
