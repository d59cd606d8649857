//! One test per rule of the lease state machine (the table in the README), with its boundaries.
//! These run natively and on wasm32 under Node.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use leasehold::{Batch, Event, FieldError, Fsm, Key, LeaseError, Op, Time};
use std::time::Duration;

fn key(lease: &str) -> Key {
    Key::new("application-leadership", "model", lease)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn at(ms: u64) -> Time {
    Time::from_millis(ms)
}

/// Advances log time to `ms`, asserting success, and returns the events.
fn advance(fsm: &mut Fsm, ms: u64) -> Vec<Event> {
    let old = fsm.global_time();
    fsm.apply(&Op::set_time(old, at(ms)))
        .expect("set_time")
        .events
}

#[test]
fn claim_of_a_free_key_is_granted_with_expiry_and_token() {
    let mut fsm = Fsm::new();
    advance(&mut fsm, 1_000);
    let a = fsm.apply(&Op::claim(key("a"), "a/0", secs(60))).unwrap();
    assert_eq!(a.token, Some(1));
    assert_eq!(
        a.events,
        vec![Event::Claimed {
            key: key("a"),
            holder: "a/0".into(),
            token: 1,
            expiry: at(61_000)
        }]
    );
    let info = fsm.lease(&key("a"), at(5)).unwrap();
    assert_eq!(&*info.holder, "a/0");
    assert_eq!(
        info.expiry,
        at(60_005),
        "expiry is reported on the caller's clock"
    );
    assert_eq!(info.acquired, at(1_000));
}

#[test]
fn claim_of_a_key_held_by_another_is_held_naming_the_holder() {
    let mut fsm = Fsm::new();
    fsm.apply(&Op::claim(key("a"), "a/0", secs(60))).unwrap();
    assert_eq!(
        fsm.apply(&Op::claim(key("a"), "a/1", secs(60))),
        Err(LeaseError::Held {
            holder: "a/0".into()
        })
    );
}

#[test]
fn claim_by_the_same_holder_is_invalid() {
    let mut fsm = Fsm::new();
    fsm.apply(&Op::claim(key("a"), "a/0", secs(60))).unwrap();
    assert_eq!(
        fsm.apply(&Op::claim(key("a"), "a/0", secs(60))),
        Err(LeaseError::Invalid)
    );
}

#[test]
fn a_lease_past_expiry_but_not_swept_is_still_held() {
    let mut fsm = Fsm::new();
    fsm.apply(&Op::claim(key("a"), "a/0", secs(1))).unwrap();
    // No time has passed in the log, so however late the caller's clock is, it is held.
    assert_eq!(
        fsm.apply(&Op::claim(key("a"), "a/1", secs(60))),
        Err(LeaseError::Held {
            holder: "a/0".into()
        })
    );
    assert_eq!(fsm.holder(&key("a")), Some("a/0"));
}

#[test]
fn a_lease_expiring_exactly_at_the_new_time_survives_that_step() {
    let mut fsm = Fsm::new();
    fsm.apply(&Op::claim(key("a"), "a/0", secs(10))).unwrap();
    assert!(advance(&mut fsm, 10_000).is_empty());
    assert_eq!(fsm.holder(&key("a")), Some("a/0"));
    let events = advance(&mut fsm, 10_001);
    assert_eq!(
        events,
        vec![Event::Expired {
            key: key("a"),
            holder: "a/0".into(),
            token: 1
        }]
    );
    assert_eq!(fsm.holder(&key("a")), None);
}

#[test]
fn extend_by_the_holder_moves_expiry_forward() {
    let mut fsm = Fsm::new();
    fsm.apply(&Op::claim(key("a"), "a/0", secs(10))).unwrap();
    advance(&mut fsm, 5_000);
    let e = fsm.apply(&Op::extend(key("a"), "a/0", secs(10))).unwrap();
    assert_eq!(e.token, Some(1), "an extension keeps the token");
    advance(&mut fsm, 14_000);
    assert_eq!(fsm.holder(&key("a")), Some("a/0"));
    advance(&mut fsm, 15_001);
    assert_eq!(fsm.holder(&key("a")), None);
}

#[test]
fn an_extension_never_shortens() {
    let mut fsm = Fsm::new();
    fsm.apply(&Op::claim(key("a"), "a/0", secs(60))).unwrap();
    let e = fsm.apply(&Op::extend(key("a"), "a/0", secs(1))).unwrap();
    assert!(matches!(e.events[..], [Event::Extended { expiry, .. }] if expiry == at(60_000)));
    advance(&mut fsm, 30_000);
    assert_eq!(fsm.holder(&key("a")), Some("a/0"));
}

#[test]
fn extend_of_no_lease_or_by_another_is_invalid() {
    let mut fsm = Fsm::new();
    assert_eq!(
        fsm.apply(&Op::extend(key("a"), "a/0", secs(1))),
        Err(LeaseError::Invalid)
    );
    fsm.apply(&Op::claim(key("a"), "a/0", secs(60))).unwrap();
    assert_eq!(
        fsm.apply(&Op::extend(key("a"), "a/1", secs(1))),
        Err(LeaseError::Invalid)
    );
}

#[test]
fn revoke_removes_the_lease_only_for_its_holder() {
    let mut fsm = Fsm::new();
    assert_eq!(
        fsm.apply(&Op::revoke(key("a"), "a/0")),
        Err(LeaseError::Invalid)
    );
    fsm.apply(&Op::claim(key("a"), "a/0", secs(60))).unwrap();
    assert_eq!(
        fsm.apply(&Op::revoke(key("a"), "a/1")),
        Err(LeaseError::Invalid)
    );
    let r = fsm.apply(&Op::revoke(key("a"), "a/0")).unwrap();
    assert_eq!(
        r.events,
        vec![Event::Revoked {
            key: key("a"),
            holder: "a/0".into(),
            token: 1
        }]
    );
    assert_eq!(fsm.holder(&key("a")), None);
    assert_eq!(
        fsm.apply(&Op::claim(key("a"), "a/1", secs(60)))
            .unwrap()
            .token,
        Some(2)
    );
}

#[test]
fn revoke_keeps_pins() {
    let mut fsm = Fsm::new();
    fsm.apply(&Op::claim(key("a"), "a/0", secs(10))).unwrap();
    fsm.apply(&Op::pin(key("a"), "machine-0")).unwrap();
    fsm.apply(&Op::revoke(key("a"), "a/0")).unwrap();
    assert_eq!(fsm.pinned()[&key("a")], vec!["machine-0".to_string()]);
    // The next holder is pinned too.
    fsm.apply(&Op::claim(key("a"), "a/1", secs(10))).unwrap();
    advance(&mut fsm, 60_000);
    assert_eq!(fsm.holder(&key("a")), Some("a/1"));
}

#[test]
fn a_pinned_lease_never_expires_and_reports_thirty_seconds() {
    let mut fsm = Fsm::new();
    fsm.apply(&Op::claim(key("a"), "a/0", secs(10))).unwrap();
    let p = fsm.apply(&Op::pin(key("a"), "machine-0")).unwrap();
    assert!(
        matches!(&p.events[..], [Event::Pinned { holder: Some(h), token: Some(1), .. }] if &**h == "a/0")
    );
    advance(&mut fsm, 3_600_000);
    let info = fsm.lease(&key("a"), at(100)).unwrap();
    assert_eq!(info.expiry, at(30_100));
    assert_eq!(info.pinned_by, vec!["machine-0".to_string()]);
}

#[test]
fn pinning_is_idempotent() {
    let mut fsm = Fsm::new();
    fsm.apply(&Op::pin(key("a"), "machine-0")).unwrap();
    fsm.apply(&Op::pin(key("a"), "machine-0")).unwrap();
    assert_eq!(fsm.pinned()[&key("a")], vec!["machine-0".to_string()]);
    fsm.apply(&Op::unpin(key("a"), "machine-0")).unwrap();
    assert!(fsm.pinned().is_empty());
}

#[test]
fn a_pin_on_an_unheld_key_binds_the_next_holder() {
    let mut fsm = Fsm::new();
    let p = fsm.apply(&Op::pin(key("a"), "machine-0")).unwrap();
    assert!(matches!(
        &p.events[..],
        [Event::Pinned {
            holder: None,
            token: None,
            ..
        }]
    ));
    fsm.apply(&Op::claim(key("a"), "a/0", secs(10))).unwrap();
    advance(&mut fsm, 20_000);
    assert_eq!(fsm.holder(&key("a")), Some("a/0"));
}

#[test]
fn several_pinners_hold_until_the_last_unpins() {
    let mut fsm = Fsm::new();
    fsm.apply(&Op::claim(key("a"), "a/0", secs(10))).unwrap();
    fsm.apply(&Op::pin(key("a"), "machine-1")).unwrap();
    fsm.apply(&Op::pin(key("a"), "machine-0")).unwrap();
    assert_eq!(
        fsm.pinned()[&key("a")],
        vec!["machine-0".to_string(), "machine-1".to_string()]
    );
    advance(&mut fsm, 20_000);
    fsm.apply(&Op::unpin(key("a"), "machine-0")).unwrap();
    advance(&mut fsm, 20_001);
    assert_eq!(fsm.holder(&key("a")), Some("a/0"), "one pin remains");
    fsm.apply(&Op::unpin(key("a"), "machine-1")).unwrap();
    let events = advance(&mut fsm, 20_002);
    assert!(matches!(&events[..], [Event::Expired { .. }]), "{events:?}");
}

#[test]
fn unpin_of_an_absent_pin_changes_nothing() {
    let mut fsm = Fsm::new();
    let u = fsm.apply(&Op::unpin(key("a"), "machine-0")).unwrap();
    assert!(u.events.is_empty());
}

#[test]
fn a_lapsed_pin_lets_the_lease_expire() {
    let mut fsm = Fsm::new();
    fsm.apply(&Op::claim(key("a"), "a/0", secs(10))).unwrap();
    fsm.apply(&Op::pin_until(key("a"), "machine-0", at(30_000), "upgrade"))
        .unwrap();
    advance(&mut fsm, 30_000);
    assert_eq!(
        fsm.holder(&key("a")),
        Some("a/0"),
        "the pin holds at its deadline"
    );
    let events = advance(&mut fsm, 30_001);
    assert!(
        matches!(&events[0], Event::Unpinned { lapsed: true, .. }),
        "{events:?}"
    );
    assert!(matches!(&events[1], Event::Expired { .. }), "{events:?}");
    assert!(fsm.pinned().is_empty());
    assert_eq!(fsm.holder(&key("a")), None);
}

#[test]
fn a_pin_deadline_in_the_past_is_rejected_naming_until() {
    let mut fsm = Fsm::new();
    advance(&mut fsm, 5_000);
    let err = fsm
        .apply(&Op::pin_until(key("a"), "m", at(5_000), "r"))
        .unwrap_err();
    assert_eq!(
        err,
        LeaseError::NotValid(FieldError::new(
            "untilMs",
            "is not after the log's current time"
        ))
    );
}

#[test]
fn pins_keep_their_reason_and_deadline() {
    let mut fsm = Fsm::new();
    fsm.apply(&Op::pin_until(
        key("a"),
        "machine-0",
        at(9_000),
        "series upgrade",
    ))
    .unwrap();
    let pin = &fsm.pins()[&key("a")][0];
    assert_eq!(pin.until, Some(at(9_000)));
    assert_eq!(pin.reason.as_deref(), Some("series upgrade"));
}

#[test]
fn time_never_goes_backwards() {
    let mut fsm = Fsm::new();
    advance(&mut fsm, 5_000);
    let err = fsm.apply(&Op::set_time(at(5_000), at(4_000))).unwrap_err();
    assert!(
        matches!(err, LeaseError::NotValid(FieldError { field: "newMs", .. })),
        "{err}"
    );
    assert_eq!(fsm.global_time(), at(5_000));
}

#[test]
fn set_time_from_a_stale_old_is_out_of_sync() {
    let mut fsm = Fsm::new();
    advance(&mut fsm, 5_000);
    assert_eq!(
        fsm.apply(&Op::set_time(at(4_000), at(6_000))),
        Err(LeaseError::OutOfSync {
            expected: at(4_000),
            actual: at(5_000)
        })
    );
}

#[test]
fn handover_moves_the_lease_with_a_new_token() {
    let mut fsm = Fsm::new();
    fsm.apply(&Op::claim(key("a"), "a/0", secs(10))).unwrap();
    let h = fsm
        .apply(&Op::handover(key("a"), "a/0", "a/1", secs(30)))
        .unwrap();
    assert_eq!(h.token, Some(2));
    assert_eq!(
        h.events,
        vec![Event::HandedOver {
            key: key("a"),
            from: "a/0".into(),
            to: "a/1".into(),
            token: 2,
            expiry: Time::from_millis(30_000),
        }]
    );
    advance(&mut fsm, 20_000);
    assert_eq!(fsm.holder(&key("a")), Some("a/1"));
}

#[test]
fn handover_only_by_the_holder() {
    let mut fsm = Fsm::new();
    assert_eq!(
        fsm.apply(&Op::handover(key("a"), "a/0", "a/1", secs(1))),
        Err(LeaseError::Invalid)
    );
    fsm.apply(&Op::claim(key("a"), "a/0", secs(10))).unwrap();
    assert_eq!(
        fsm.apply(&Op::handover(key("a"), "a/2", "a/1", secs(1))),
        Err(LeaseError::Invalid)
    );
    assert_eq!(fsm.holder(&key("a")), Some("a/0"));
}

#[test]
fn tokens_grow_across_claims_and_handovers() {
    let mut fsm = Fsm::new();
    let mut last = 0;
    for i in 0..5 {
        let t = fsm
            .apply(&Op::claim(key(&format!("l{i}")), "h", secs(1)))
            .unwrap()
            .token
            .unwrap();
        assert!(t > last);
        last = t;
        let t = fsm
            .apply(&Op::handover(key(&format!("l{i}")), "h", "g", secs(1)))
            .unwrap()
            .token
            .unwrap();
        assert!(t > last);
        last = t;
    }
    assert_eq!(fsm.fence(), last);
}

#[test]
fn validation_names_the_offending_field() {
    let mut fsm = Fsm::new();
    let cases = [
        (Op::claim(Key::new("", "m", "l"), "h", secs(1)), "namespace"),
        (Op::claim(Key::new("n", "", "l"), "h", secs(1)), "model"),
        (Op::claim(Key::new("n", "m", ""), "h", secs(1)), "lease"),
        (Op::claim(key("a"), "", secs(1)), "holder"),
        (Op::claim(key("a"), "h", Duration::ZERO), "durationMs"),
        (
            Op::extend(key("a"), "h", Duration::from_micros(10)),
            "durationMs",
        ),
        (Op::pin(key("a"), ""), "entity"),
        (Op::unpin(key("a"), ""), "entity"),
        (Op::handover(key("a"), "h", "", secs(1)), "to"),
        (Op::handover(key("a"), "h", "h", secs(1)), "to"),
        (Op::claim(key(&"x".repeat(257)), "h", secs(1)), "lease"),
        (
            Op::claim(key("a"), "h", Duration::from_secs(u64::MAX)),
            "durationMs",
        ),
    ];
    for (op, field) in cases {
        match fsm.apply(&op) {
            Err(LeaseError::NotValid(e)) => {
                assert_eq!(e.field, field, "{op:?}");
                assert!(e.to_string().contains(field));
            }
            other => panic!("{op:?} gave {other:?}"),
        }
    }
    assert!(fsm.is_empty());
}

#[test]
fn a_batch_applies_its_valid_operations_and_reports_each_invalid_one() {
    let mut fsm = Fsm::new();
    let batch = Batch::new(
        1,
        vec![
            Op::claim(key("a"), "a/0", secs(10)),
            Op::claim(key("a"), "a/1", secs(10)),
            Op::claim(key("b"), "", secs(10)),
            Op::claim(key("c"), "c/0", secs(10)),
        ],
    );
    let results = fsm.apply_batch(&batch);
    assert!(results[0].is_ok());
    assert_eq!(
        results[1],
        Err(LeaseError::Held {
            holder: "a/0".into()
        })
    );
    assert!(matches!(&results[2], Err(LeaseError::NotValid(e)) if e.field == "holder"));
    assert!(results[3].is_ok());
    assert_eq!(fsm.len(), 2);
}

#[test]
fn reads_cover_all_leases_one_group_and_time() {
    let mut fsm = Fsm::new();
    fsm.apply(&Op::claim(Key::new("ns", "m1", "b"), "h", secs(10)))
        .unwrap();
    fsm.apply(&Op::claim(Key::new("ns", "m1", "a"), "h", secs(10)))
        .unwrap();
    fsm.apply(&Op::claim(Key::new("ns", "m2", "a"), "h", secs(10)))
        .unwrap();
    let all: Vec<String> = fsm
        .leases(Time::ZERO)
        .iter()
        .map(|l| l.key.to_string())
        .collect();
    assert_eq!(all, ["ns/m1/a", "ns/m1/b", "ns/m2/a"]);
    let g: Vec<String> = fsm
        .group("ns", "m1", Time::ZERO)
        .iter()
        .map(|l| l.key.to_string())
        .collect();
    assert_eq!(g, ["ns/m1/a", "ns/m1/b"]);
    assert!(fsm.group("ns", "m3", Time::ZERO).is_empty());
    advance(&mut fsm, 7);
    assert_eq!(fsm.global_time(), at(7));
}

#[test]
fn a_slot_freed_by_expiry_is_reused_without_confusing_expiries() {
    let mut fsm = Fsm::new();
    fsm.apply(&Op::claim(key("a"), "a/0", secs(1))).unwrap();
    advance(&mut fsm, 2_000);
    fsm.apply(&Op::claim(key("b"), "b/0", secs(100))).unwrap();
    fsm.apply(&Op::extend(key("b"), "b/0", secs(200))).unwrap();
    advance(&mut fsm, 150_000);
    assert_eq!(fsm.holder(&key("b")), Some("b/0"));
    advance(&mut fsm, 202_001);
    assert_eq!(fsm.holder(&key("b")), None);
}
