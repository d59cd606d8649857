//! Realistic workloads: application-leadership leases of one model, as Juju names them.
//!
//! Lease `i` is `application-leadership` / [`MODEL`] / `mysql-{i}`, held by unit 2 of
//! its application, `mysql-{i}/2`, for [`LEASE_DURATION`]. Every key built here shares
//! one allocation for its namespace and one for its model, as keys decoded from one batch
//! or made by one engine do.

use leasehold::{Fsm, Key, LEADERSHIP_NAMESPACE, Op};
use rustc_hash::FxBuildHasher;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The namespace of every workload key.
pub const NAMESPACE: &str = LEADERSHIP_NAMESPACE;

/// The model of every workload key: a fixed 36-character UUID, as Juju's model UUIDs are.
pub const MODEL: &str = "2f1b7c3e-5d8a-4f6b-9c0d-1e2f3a4b5c6d";

/// The unit number of every holder (`mysql-{i}/2`).
pub const UNIT: u32 = 2;

/// How long claims are granted and extensions keep a lease: 60 s, Juju's default.
pub const LEASE_DURATION: Duration = Duration::from_secs(60);

/// The name of lease `i`: `mysql-{i}`.
#[must_use]
pub fn lease_name(i: usize) -> String {
    format!("mysql-{i}")
}

/// The holder of lease `i`: `mysql-{i}/2`.
#[must_use]
pub fn holder(i: usize) -> Arc<str> {
    Arc::from(format!("mysql-{i}/{UNIT}"))
}

/// The key of lease `i` (with its own namespace and model allocations; use [`keys`] for
/// many keys).
#[must_use]
pub fn key(i: usize) -> Key {
    Key::new(NAMESPACE, MODEL, lease_name(i))
}

/// The keys of leases `0..n`, sharing one namespace and one model allocation.
#[must_use]
pub fn keys(n: usize) -> Vec<Key> {
    let namespace: Arc<str> = Arc::from(NAMESPACE);
    let model: Arc<str> = Arc::from(MODEL);
    (0..n)
        .map(|i| Key::new(namespace.clone(), model.clone(), lease_name(i)))
        .collect()
}

/// For each of `keys`, in order, a claim of lease `i` by `mysql-{i}/2` for 60 s.
#[must_use]
pub fn claims_for(keys: &[Key]) -> Vec<Op> {
    keys.iter()
        .enumerate()
        .map(|(i, k)| Op::claim(k.clone(), holder(i), LEASE_DURATION))
        .collect()
}

/// For each of `keys`, in order, an extension of lease `i` by `mysql-{i}/2` for 60 s.
#[must_use]
pub fn extends_for(keys: &[Key]) -> Vec<Op> {
    keys.iter()
        .enumerate()
        .map(|(i, k)| Op::extend(k.clone(), holder(i), LEASE_DURATION))
        .collect()
}

/// `n` claims: leases `mysql-0..mysql-{n-1}`, each by its unit 2, for 60 s.
#[must_use]
pub fn claims(n: usize) -> Vec<Op> {
    claims_for(&keys(n))
}

/// `n` extensions: leases `mysql-0..mysql-{n-1}`, each by its unit 2, for 60 s.
#[must_use]
pub fn extends(n: usize) -> Vec<Op> {
    extends_for(&keys(n))
}

/// A state machine at log time zero holding the leases of `keys`, lease `i` held by
/// `mysql-{i}/2` for 60 s. The extensions of [`extends_for`] with the same keys all
/// succeed on it.
///
/// # Panics
///
/// If a claim is refused, i.e. if `keys` holds a key twice.
#[must_use]
pub fn populated_fsm_for(keys: &[Key]) -> Fsm {
    let mut fsm = Fsm::new();
    for (i, k) in keys.iter().enumerate() {
        let op = Op::claim(k.clone(), holder(i), LEASE_DURATION);
        if let Err(e) = fsm.apply(&op) {
            panic!("claim of {k} refused: {e}");
        }
    }
    fsm
}

/// A state machine at log time zero holding `n` leases (see [`populated_fsm_for`]).
#[must_use]
pub fn populated_fsm(n: usize) -> Fsm {
    populated_fsm_for(&keys(n))
}

/// The baseline the state machine is compared with: a plain hash map from key to expiry
/// (in milliseconds) with the hasher the state machine uses, holding `keys`, each
/// expiring at 60 s.
#[must_use]
pub fn baseline_map(keys: &[Key]) -> HashMap<Key, u64, FxBuildHasher> {
    let mut map = HashMap::with_capacity_and_hasher(keys.len(), FxBuildHasher);
    let expiry = duration_ms(LEASE_DURATION);
    for k in keys {
        map.insert(k.clone(), expiry);
    }
    map
}

/// The baseline's version of an extension: look the key up and keep the later expiry.
/// Returns whether the key was there.
#[inline]
pub fn baseline_extend(map: &mut HashMap<Key, u64, FxBuildHasher>, key: &Key, now_ms: u64) -> bool {
    match map.get_mut(key) {
        Some(expiry) => {
            *expiry = (*expiry).max(now_ms + duration_ms(LEASE_DURATION));
            true
        }
        None => false,
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).expect("a lease duration fits in u64 milliseconds")
}

#[cfg(test)]
mod tests {
    use super::*;
    use leasehold::Time;
    use std::collections::HashSet;

    #[test]
    fn model_is_a_36_character_uuid() {
        assert_eq!(MODEL.len(), 36);
        let groups: Vec<usize> = MODEL.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert!(MODEL.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }

    #[test]
    fn keys_are_distinct_and_realistic() {
        let keys = keys(1_000);
        assert_eq!(keys.len(), 1_000);
        let distinct: HashSet<&Key> = keys.iter().collect();
        assert_eq!(distinct.len(), 1_000);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(&*k.namespace, "application-leadership");
            assert_eq!(&*k.model, MODEL);
            assert_eq!(*k.lease, *format!("mysql-{i}"));
            // One allocation for every namespace and every model.
            assert!(Arc::ptr_eq(&k.namespace, &keys[0].namespace));
            assert!(Arc::ptr_eq(&k.model, &keys[0].model));
        }
        assert_eq!(key(7), keys[7]);
        assert_eq!(
            key(999).to_string(),
            format!("application-leadership/{MODEL}/mysql-999")
        );
    }

    #[test]
    fn ops_are_claims_and_extensions_by_unit_2_for_60_s() {
        let claims = claims(1_000);
        let extends = extends(1_000);
        assert_eq!(claims.len(), 1_000);
        assert_eq!(extends.len(), 1_000);
        for (i, op) in claims.iter().enumerate() {
            let Op::Claim {
                key,
                holder,
                duration,
            } = op
            else {
                panic!("op {i} is not a claim: {op:?}");
            };
            assert_eq!(*key, self::key(i));
            assert_eq!(&**holder, format!("mysql-{i}/2"));
            assert_eq!(*duration, Duration::from_secs(60));
            assert!(op.validate().is_ok());
        }
        for (i, op) in extends.iter().enumerate() {
            let Op::Extend {
                key,
                holder,
                duration,
            } = op
            else {
                panic!("op {i} is not an extension: {op:?}");
            };
            assert_eq!(*key, self::key(i));
            assert_eq!(&**holder, format!("mysql-{i}/2"));
            assert_eq!(*duration, Duration::from_secs(60));
        }
    }

    #[test]
    fn populated_fsm_holds_every_lease_and_accepts_the_extensions() {
        let keys = keys(1_000);
        let mut fsm = populated_fsm_for(&keys);
        assert_eq!(fsm.len(), 1_000);
        assert_eq!(fsm.fence(), 1_000);
        assert_eq!(fsm.global_time(), Time::ZERO);
        assert_eq!(fsm.holder(&keys[42]), Some("mysql-42/2"));
        for op in extends_for(&keys) {
            let applied = fsm.apply(&op).expect("the holder extends its lease");
            assert!(applied.token.is_some());
        }
        assert_eq!(fsm.len(), 1_000);
        assert_eq!(populated_fsm(10).len(), 10);
    }

    #[test]
    fn baseline_map_holds_the_same_keys() {
        let keys = keys(1_000);
        let mut map = baseline_map(&keys);
        assert_eq!(map.len(), 1_000);
        for k in &keys {
            assert!(baseline_extend(&mut map, k, 1_000));
        }
        assert_eq!(map[&keys[3]], 61_000);
        assert!(!baseline_extend(&mut map, &key(1_000), 0));
    }
}
