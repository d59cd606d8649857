//! The scenarios: named, parameterised presets built on the workloads that broke real
//! lease stores, each with its script of load changes and faults.

use super::params::{LogModel, Params};
use crate::config::Config;
use crate::time::Time;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Something that happens at a scripted time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Make the first `n` leases active: their holders join (or, when `n` is lower than
    /// now, the holders of the others stop, leaving their leases to expire).
    SetActive(usize),
    /// A holder's process crashes (holder index = lease × units + unit).
    Crash(usize),
    /// A crashed holder restarts and claims again.
    Restart(usize),
    /// A holder hangs: it keeps believing what it believed but sends nothing.
    StopRenewing(usize),
    /// A holder loses the network for `ms`.
    Partition(usize, u64),
    /// The current leader of a lease freezes for `ms` (a long GC pause), then acts on
    /// what it believed before.
    PauseLeader(usize, u64),
    /// The engine's process restarts; every holder loses contact for `ms` and then
    /// reconnects at once.
    LeaderRestart(u64),
    /// Pin every lease whose leader runs on `machine` until `until_ms` from now.
    PinLeadersOf {
        /// The machine.
        machine: usize,
        /// How long the pins last at most, ms.
        until_ms: u64,
    },
    /// Pin one lease by an operator who will forget it, with a deadline of `until_ms`.
    ForgetfulPin {
        /// The lease.
        lease: usize,
        /// How long the pin lasts at most, ms.
        until_ms: u64,
    },
    /// Remove every pin of `machine`.
    UnpinMachine(usize),
    /// Every holder on `machine` crashes.
    CrashMachine(usize),
    /// Every holder on `machine` restarts.
    RestartMachine(usize),
}

/// The machine a holder runs on: unit `u` of lease `i` runs on machine `(i + u) % machines`.
#[must_use]
pub fn machine_of(holder: usize, units: usize, machines: usize) -> usize {
    (holder / units + holder % units) % machines.max(1)
}

/// Machines in the scenarios that use them.
pub const MACHINES: usize = 3;

/// A named preset.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its name, e.g. `claimer-abuse`.
    pub name: &'static str,
    /// What it shows, in a sentence or two.
    pub description: &'static str,
    /// Its parameters (any can be overridden).
    pub params: Params,
}

/// Every scenario's name, in the order the dashboard lists them.
pub const SCENARIOS: &[&str] = &[
    "ps45",
    "claimer-abuse",
    "staged-overload",
    "restart-herd",
    "series-upgrade",
    "fencing-race",
    "million",
];

const MINUTE: u64 = 60_000;

impl Scenario {
    /// The preset named `name`.
    #[must_use]
    pub fn named(name: &str) -> Option<Scenario> {
        let base = Params::default();
        let (name, description, params) = match name {
            "ps45" => (
                "ps45",
                "A production-sized controller: 2,184 leadership leases with 3 units each, 60 s \
                 claims renewed every 30 s, plus 3 singular leases.",
                Params {
                    leases: 2_184,
                    singular: 3,
                    models: 12,
                    seconds: 180,
                    join_spread_ms: 10_000,
                    ..base
                },
            ),
            "claimer-abuse" => (
                "claimer-abuse",
                "60,000 leases with 3 contenders each (180,000 holders), 5 s claims renewed every \
                 4.5 s: the load test that made a Raft lease store thrash.",
                Params {
                    leases: 60_000,
                    models: 100,
                    duration_ms: 5_000,
                    renew_ms: 4_500,
                    join_spread_ms: 4_000,
                    seconds: 60,
                    engine: Config {
                        max_batch_ops: 5_000,
                        queue_capacity: 40_000,
                        ..Config::default()
                    },
                    ..base
                },
            ),
            "staged-overload" => (
                "staged-overload",
                "Load added in steps (2, then 39, 40 and 41 blocks of 100 leases × 3 units, 10 s \
                 claims renewed every 5 s, a step every 5 minutes) against a log that commits at \
                 most 1,000 entries and 3,000 operations per second; then the load drops back.",
                Params {
                    leases: 12_200,
                    models: 122,
                    duration_ms: 10_000,
                    renew_ms: 5_000,
                    join_spread_ms: 5_000,
                    seconds: 25 * 60,
                    log: LogModel {
                        entries_per_sec: 1_000,
                        ops_per_sec: 3_000,
                        ..LogModel::default()
                    },
                    singular: 3,
                    ..base
                },
            ),
            "restart-herd" => (
                "restart-herd",
                "The engine's process restarts; all 6,552 holders lose contact and reconnect at once. \
                 Coalescing turns their claims into one operation per lease.",
                Params {
                    leases: 2_184,
                    singular: 3,
                    models: 12,
                    seconds: 120,
                    join_spread_ms: 10_000,
                    ..base
                },
            ),
            "series-upgrade" => (
                "series-upgrade",
                "Machine 0's leaders are pinned while it upgrades and its units are down for two \
                 minutes; other units come and go; the pins are lifted. Then a forgotten pin lapses \
                 at its deadline.",
                Params {
                    leases: 60,
                    singular: 0,
                    seconds: 300,
                    join_spread_ms: 2_000,
                    ..base
                },
            ),
            "fencing-race" => (
                "fencing-race",
                "Leaders freeze in long pauses; their leases expire and others are elected; on waking \
                 they write to a database with their old token. With tokens it refuses them; without, \
                 it accepts two leaders.",
                Params {
                    leases: 12,
                    duration_ms: 10_000,
                    renew_ms: 5_000,
                    seconds: 240,
                    join_spread_ms: 500,
                    ..base
                },
            ),
            "million" => (
                "million",
                "1,000,000 leases × 3 holders, 5 s claims renewed every 4.5 s.",
                Params {
                    leases: 1_000_000,
                    models: 1_000,
                    duration_ms: 5_000,
                    renew_ms: 4_500,
                    join_spread_ms: 4_000,
                    seconds: 30,
                    log: LogModel {
                        ops_per_sec: 2_000_000,
                        bytes_per_sec: 200_000_000,
                        ..LogModel::default()
                    },
                    engine: Config {
                        max_batch_ops: 60_000,
                        queue_capacity: 400_000,
                        ..Config::default()
                    },
                    ..base
                },
            ),
            _ => return None,
        };
        Some(Scenario {
            name,
            description,
            params,
        })
    }

    /// The scripted load changes and faults of a run with `params`, in time order.
    #[must_use]
    pub fn script(&self, params: &Params, rng: &mut ChaCha8Rng) -> Vec<(Time, Action)> {
        let at = |ms: u64| Time::from_millis(ms);
        let p = params;
        let mut s = vec![(Time::ZERO, Action::SetActive(p.leases))];
        match self.name {
            "staged-overload" => {
                // 2, then +39, +40, +41 blocks of 100 leases, scaled to `leases`.
                let block = |blocks: usize| (p.leases * blocks / 122).max(1);
                s = vec![
                    (Time::ZERO, Action::SetActive(block(2))),
                    (at(5 * MINUTE), Action::SetActive(block(41))),
                    (at(10 * MINUTE), Action::SetActive(block(81))),
                    (at(15 * MINUTE), Action::SetActive(block(122))),
                    (at(20 * MINUTE), Action::SetActive(block(2))),
                ];
            }
            "restart-herd" => s.push((at(60_000), Action::LeaderRestart(5_000))),
            "series-upgrade" => {
                s.push((
                    at(30_000),
                    Action::PinLeadersOf {
                        machine: 0,
                        until_ms: 10 * MINUTE,
                    },
                ));
                s.push((at(35_000), Action::CrashMachine(0)));
                // Other units come and go meanwhile.
                let others: Vec<usize> = (0..p.leases * p.units)
                    .filter(|&h| machine_of(h, p.units, MACHINES) != 0)
                    .collect();
                for _ in 0..(p.leases / 6).max(1) {
                    let h = others[rng.random_range(0..others.len())];
                    let down = rng.random_range(40_000..120_000u64);
                    s.push((at(down), Action::Crash(h)));
                    s.push((
                        at(down + rng.random_range(5_000..40_000u64)),
                        Action::Restart(h),
                    ));
                }
                s.push((at(155_000), Action::RestartMachine(0)));
                s.push((at(160_000), Action::UnpinMachine(0)));
                // The forgotten pin: its leader is stopped, the pin lapses at its deadline.
                let lease = p.leases.saturating_sub(1);
                s.push((
                    at(170_000),
                    Action::ForgetfulPin {
                        lease,
                        until_ms: 60_000,
                    },
                ));
                s.push((at(175_000), Action::CrashMachine(1)));
                s.push((at(280_000), Action::RestartMachine(1)));
            }
            "fencing-race" => {
                let mut t = 20_000;
                while t + 40_000 < p.seconds * 1_000 {
                    let lease = rng.random_range(0..p.leases.max(1));
                    s.push((at(t), Action::PauseLeader(lease, p.duration_ms * 2)));
                    t += rng.random_range(15_000..30_000u64);
                }
            }
            _ => {}
        }
        s.sort_by_key(|(t, _)| *t);
        s
    }
}
