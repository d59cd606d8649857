//! The faults, and a schedule of them drawn from a seed: the first round goes through
//! every kind in a seeded order (so each fires in a 60 s run), later rounds pick kinds
//! at random and sometimes add a clock skew on top of another fault.

use crate::cluster::{Cluster, IDS, agreed_leader, http, statuses};
use crate::load::{CLAIM_LEASE, Recorder, TRACK_LEASE};
use leasehold_server::history::FaultRecord;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// A kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// SIGKILL of the leader, then a restart.
    KillLeader,
    /// SIGKILL of a follower, then a restart.
    KillFollower,
    /// SIGKILL of a follower and then the leader, then restarts of both.
    KillTwo,
    /// SIGSTOP of the leader for longer than a lease, then SIGCONT.
    PauseLeader,
    /// The leader cut off from both followers (both ways).
    PartitionLeader,
    /// One follower cut off from the others (both ways).
    PartitionFollower,
    /// The leader's links to the followers cut one way (leader → follower only).
    PartitionOneWay,
    /// One node's clock shifted forward.
    ClockForward,
    /// One node's clock shifted backward.
    ClockBackward,
    /// One node's Raft log writes fail (it exits), then a restart.
    DiskFail,
    /// Every node SIGKILLed, then all restarted.
    KillAll,
}

/// Every kind.
pub const KINDS: [Kind; 11] = [
    Kind::KillLeader,
    Kind::KillFollower,
    Kind::KillTwo,
    Kind::PauseLeader,
    Kind::PartitionLeader,
    Kind::PartitionFollower,
    Kind::PartitionOneWay,
    Kind::ClockForward,
    Kind::ClockBackward,
    Kind::DiskFail,
    Kind::KillAll,
];

impl Kind {
    /// Its name in the history and the report.
    pub fn name(self) -> &'static str {
        match self {
            Kind::KillLeader => "kill-leader",
            Kind::KillFollower => "kill-follower",
            Kind::KillTwo => "kill-two",
            Kind::PauseLeader => "pause-leader",
            Kind::PartitionLeader => "partition-leader",
            Kind::PartitionFollower => "partition-follower",
            Kind::PartitionOneWay => "partition-one-way",
            Kind::ClockForward => "clock-forward",
            Kind::ClockBackward => "clock-backward",
            Kind::DiskFail => "disk-fail",
            Kind::KillAll => "kill-all",
        }
    }

    /// Whether the nodes' hooks allow it.
    pub fn supported(self, cluster: &Cluster) -> bool {
        let hooks = cluster.hooks();
        match self {
            Kind::PartitionLeader | Kind::PartitionFollower | Kind::PartitionOneWay => hooks.dial,
            Kind::ClockForward | Kind::ClockBackward | Kind::DiskFail => hooks.fault_injection,
            _ => true,
        }
    }
}

/// The faults' driver.
pub struct Schedule {
    rng: StdRng,
    first_round: Vec<Kind>,
    recorder: Arc<Recorder>,
    addrs: BTreeMap<u64, SocketAddr>,
}

/// How long a fault is held, at random.
fn hold(rng: &mut StdRng) -> Duration {
    Duration::from_millis(rng.random_range(1200..2200))
}

impl Schedule {
    /// A schedule drawn from `seed` over the kinds `cluster` supports.
    pub fn new(seed: u64, cluster: &Cluster, recorder: Arc<Recorder>) -> Schedule {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut first_round: Vec<Kind> =
            KINDS.into_iter().filter(|k| k.supported(cluster)).collect();
        first_round.shuffle(&mut rng);
        first_round.reverse();
        let addrs = IDS.iter().map(|&id| (id, cluster.addr(id))).collect();
        Schedule {
            rng,
            first_round,
            recorder,
            addrs,
        }
    }

    /// Whether the first round (every supported kind once) is done.
    pub fn round_done(&self) -> bool {
        self.first_round.is_empty()
    }

    /// The leader a majority agrees on, waiting up to `limit`.
    pub async fn leader(&self, limit: Duration) -> Option<u64> {
        let give_up = tokio::time::Instant::now() + limit;
        loop {
            if let Some(l) = agreed_leader(&statuses(&self.addrs).await) {
                return Some(l);
            }
            if tokio::time::Instant::now() >= give_up {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Injects the next fault (or faults), heals it, and waits for a leader again.
    pub async fn step(&mut self, cluster: &mut Cluster) -> Result<(), String> {
        let kind = match self.first_round.pop() {
            Some(k) => k,
            None => {
                let supported: Vec<Kind> =
                    KINDS.into_iter().filter(|k| k.supported(cluster)).collect();
                supported[self.rng.random_range(0..supported.len())]
            }
        };
        // Later rounds sometimes skew a clock during another fault.
        let overlay = self.round_done()
            && cluster.hooks().fault_injection
            && !matches!(kind, Kind::ClockForward | Kind::ClockBackward)
            && self.rng.random_bool(0.3);
        let leader = self.leader(Duration::from_secs(10)).await;
        let Some(leader) = leader else {
            return Err("no leader before a fault".to_owned());
        };
        let skew = if overlay {
            let node = IDS[self.rng.random_range(0..IDS.len())];
            let ms: i64 = if self.rng.random_bool(0.5) {
                1500
            } else {
                -1500
            };
            let kind = if ms > 0 {
                Kind::ClockForward
            } else {
                Kind::ClockBackward
            };
            let start_us = self.recorder.now_us();
            let detail = self.set_skew(node, ms).await;
            eprintln!(
                "faults: {:>6.1}s {} on node {node} ({detail}), with:",
                secs(start_us),
                kind.name()
            );
            Some((node, kind, start_us, detail))
        } else {
            None
        };
        self.inject(kind, leader, cluster).await?;
        if let Some((node, kind, start_us, detail)) = skew {
            let healed = self.set_skew(node, 0).await;
            self.record(
                kind,
                start_us,
                format!("node {node}: {detail}; healed: {healed}"),
            );
        }
        if self.leader(Duration::from_secs(15)).await.is_none() {
            eprintln!("faults: no leader 15 s after healing a fault");
        }
        let gap = self.rng.random_range(400..900);
        tokio::time::sleep(Duration::from_millis(gap)).await;
        Ok(())
    }

    fn record(&self, kind: Kind, start_us: u64, detail: String) {
        let end_us = self.recorder.now_us();
        self.recorder.with(|h| {
            h.faults.push(FaultRecord {
                kind: kind.name().to_owned(),
                start_us,
                end_us: Some(end_us),
                detail,
            });
        });
    }

    async fn set_skew(&self, node: u64, ms: i64) -> String {
        let body = format!("{{\"skewMs\":{ms}}}");
        match http(
            self.addrs[&node],
            "POST",
            "/debug/clock",
            Some(&body),
            Duration::from_secs(1),
        )
        .await
        {
            Ok((code, _)) if (200..300).contains(&code) => format!("skew {ms} ms"),
            Ok((code, body)) => format!("skew {ms} ms refused: {code} {}", body.trim()),
            Err(e) => format!("skew {ms} ms failed: {e}"),
        }
    }

    async fn inject(
        &mut self,
        kind: Kind,
        leader: u64,
        cluster: &mut Cluster,
    ) -> Result<(), String> {
        let followers: Vec<u64> = IDS.iter().copied().filter(|&i| i != leader).collect();
        let follower = followers[self.rng.random_range(0..followers.len())];
        let other = followers
            .iter()
            .copied()
            .find(|&f| f != follower)
            .unwrap_or(follower);
        let any = IDS[self.rng.random_range(0..IDS.len())];
        let start_us = self.recorder.now_us();
        eprintln!(
            "faults: {:>6.1}s {} (leader {leader})",
            secs(start_us),
            kind.name()
        );
        let held = hold(&mut self.rng);
        let detail = match kind {
            Kind::KillLeader | Kind::KillFollower => {
                let node = if kind == Kind::KillLeader {
                    leader
                } else {
                    follower
                };
                cluster.kill(node);
                tokio::time::sleep(held).await;
                cluster.restart(node).await?;
                format!("node {node} killed for {} ms", held.as_millis())
            }
            Kind::KillTwo => {
                cluster.kill(follower);
                tokio::time::sleep(held / 2).await;
                cluster.kill(leader);
                tokio::time::sleep(held / 2).await;
                cluster.restart(follower).await?;
                cluster.restart(leader).await?;
                format!(
                    "follower {follower} then leader {leader} killed, {} ms apart",
                    (held / 2).as_millis()
                )
            }
            Kind::PauseLeader => {
                let pause = TRACK_LEASE.max(CLAIM_LEASE) + Duration::from_millis(800);
                cluster.pause(leader, true)?;
                tokio::time::sleep(pause).await;
                cluster.pause(leader, false)?;
                format!("node {leader} stopped for {} ms", pause.as_millis())
            }
            Kind::PartitionLeader | Kind::PartitionFollower | Kind::PartitionOneWay => {
                let (node, both) = match kind {
                    Kind::PartitionLeader => (leader, true),
                    Kind::PartitionFollower => (follower, true),
                    _ => (leader, false),
                };
                let cuts: Vec<(u64, u64)> = IDS
                    .iter()
                    .filter(|&&j| j != node)
                    .flat_map(|&j| {
                        let mut c = vec![(node, j)];
                        if both {
                            c.push((j, node));
                        }
                        c
                    })
                    .collect();
                for &(i, j) in &cuts {
                    cluster.cut(i, j, true);
                }
                tokio::time::sleep(held).await;
                for &(i, j) in &cuts {
                    cluster.cut(i, j, false);
                }
                let links: Vec<String> = cuts.iter().map(|(i, j)| format!("{i}->{j}")).collect();
                format!("cut {} for {} ms", links.join(" "), held.as_millis())
            }
            Kind::ClockForward | Kind::ClockBackward => {
                let ms: i64 = if kind == Kind::ClockForward {
                    2500
                } else {
                    -2500
                };
                let node = if self.rng.random_bool(0.5) {
                    leader
                } else {
                    any
                };
                let set = self.set_skew(node, ms).await;
                tokio::time::sleep(held).await;
                let healed = self.set_skew(node, 0).await;
                format!(
                    "node {node}: {set} for {} ms; healed: {healed}",
                    held.as_millis()
                )
            }
            Kind::DiskFail => {
                let node = if self.rng.random_bool(0.5) {
                    leader
                } else {
                    other
                };
                let answer = http(
                    self.addrs[&node],
                    "POST",
                    "/debug/disk",
                    Some("{\"fail\":true}"),
                    Duration::from_secs(1),
                )
                .await;
                let answer = match answer {
                    Ok((code, _)) => format!("answered {code}"),
                    Err(e) => format!("no answer ({e})"),
                };
                let exit = cluster.wait_exit(node, Duration::from_secs(8)).await;
                let exit = match exit {
                    Some(status) => format!("exited with {status}"),
                    None => {
                        cluster.kill(node);
                        "DID NOT EXIT within 8 s (killed)".to_owned()
                    }
                };
                if exit.contains("DID NOT") || !exit.contains("70") {
                    eprintln!("faults: disk failure on node {node}: {exit}");
                }
                tokio::time::sleep(held / 2).await;
                cluster.restart(node).await?;
                format!("node {node}: disk writes fail ({answer}); {exit}; restarted")
            }
            Kind::KillAll => {
                for id in IDS {
                    cluster.kill(id);
                }
                tokio::time::sleep(held / 2).await;
                for id in IDS {
                    cluster.restart(id).await?;
                }
                format!("all nodes killed for {} ms", (held / 2).as_millis())
            }
        };
        self.record(kind, start_us, detail);
        Ok(())
    }

    /// Heals everything: links, paused nodes, clocks, stopped nodes.
    pub async fn heal_all(&self, cluster: &mut Cluster) -> Result<(), String> {
        cluster.heal_all();
        for id in IDS {
            cluster.restart(id).await?;
        }
        if cluster.hooks().fault_injection {
            for id in IDS {
                self.set_skew(id, 0).await;
            }
        }
        Ok(())
    }
}

/// Seconds since the start, from microseconds.
pub fn secs(us: u64) -> f64 {
    us as f64 / 1e6
}
