//! Shared helpers for the core's integration tests: a random operation stream over a
//! small set of keys and holders, so collisions are frequent.

#![allow(dead_code)]

use leasehold::{Key, Op, Time};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

/// The `i`-th of a few keys.
pub fn key(i: u8) -> Key {
    Key::new(
        "application-leadership",
        ["m0", "m1"][usize::from(i % 2)],
        format!("app-{}", i % 5),
    )
}

/// The `i`-th of a few holders.
pub fn holder(i: u8) -> String {
    format!("unit/{}", i % 4)
}

/// One operation from a few random bytes; time steps are relative to `now`.
pub fn op_from(kind: u8, k: u8, h: u8, n: u16, now: Time) -> Op {
    let d = Duration::from_millis(u64::from(n % 5_000) + 1);
    match kind % 8 {
        0 | 1 => Op::claim(key(k), holder(h), d),
        2 => Op::extend(key(k), holder(h), d),
        3 => Op::revoke(key(k), holder(h)),
        4 => Op::pin_until(
            key(k),
            format!("machine-{}", h % 2),
            Time::from_millis(now.as_millis() + u64::from(n)),
            "upgrade",
        ),
        5 => Op::unpin(key(k), format!("machine-{}", h % 2)),
        6 => Op::handover(key(k), holder(h), holder(h.wrapping_add(1)), d),
        _ => Op::set_time(
            now,
            Time::from_millis(now.as_millis() + u64::from(n % 3_000)),
        ),
    }
}

/// A deterministic stream of `n` operations from `seed`, as `op_from` makes them.
pub fn seeded_ops(seed: u64, n: usize) -> Vec<(u8, u8, u8, u16)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| (rng.random(), rng.random(), rng.random(), rng.random()))
        .collect()
}
