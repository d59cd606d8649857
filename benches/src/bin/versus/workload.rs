//! The workloads, identical for both systems, each a named preset: what is asked, how
//! many leases and contenders, how long, and how the load steps.

use serde::Serialize;
use std::time::Duration;

/// The lease duration (etcd: the lease TTL) every workload uses.
pub const TTL: Duration = Duration::from_secs(5);
/// How often a holder renews (etcd: keep-alive; leasehold: extend).
pub const RENEW_EVERY: Duration = Duration::from_millis(4_500);

/// One workload preset (see the module docs of `versus.rs` for what each measures).
#[derive(Debug, Clone, Serialize)]
pub struct Workload {
    /// `grant`, `renew-10k`, `renew-60k`, `claimer-abuse`, `election` or `overload`.
    pub name: &'static str,
    /// grant: requests in flight; renew, claimer-abuse, overload: held leases;
    /// election: applications.
    pub leases: usize,
    /// claimer-abuse: contenders per lease (the holder among them); election: units
    /// per application; else 1.
    pub contenders: usize,
    /// Measured seconds (after the leases are held).
    pub seconds: f64,
    /// overload: the grant load's steps, grants per second, each `step_seconds` long.
    pub steps: Vec<u64>,
    /// overload: how long each step lasts.
    pub step_seconds: f64,
    /// election: SIGKILL the cluster's leader once every application has a leader
    /// (three nodes only).
    pub kill_leader: bool,
}

impl Workload {
    /// Every preset at full size.
    #[must_use]
    pub fn all() -> Vec<Workload> {
        let w = |name, leases, contenders, seconds| Workload {
            name,
            leases,
            contenders,
            seconds,
            steps: Vec::new(),
            step_seconds: 0.0,
            kill_leader: false,
        };
        vec![
            w("grant", 10_000, 1, 20.0),
            w("renew-10k", 10_000, 1, 30.0),
            w("renew-60k", 60_000, 1, 30.0),
            w("claimer-abuse", 60_000, 3, 30.0),
            Workload {
                kill_leader: true,
                ..w("election", 2_184, 3, 20.0)
            },
            Workload {
                steps: vec![500, 1_000, 2_000, 4_000, 8_000, 16_000],
                step_seconds: 5.0,
                ..w("overload", 10_000, 1, 30.0)
            },
        ]
    }

    /// The same preset scaled down for a smoke run (seconds, not minutes: the test
    /// command runs every workload on both systems).
    #[must_use]
    pub fn smoke(mut self) -> Workload {
        self.leases = match self.name {
            "grant" => 128,
            "election" => 50,
            _ => 500,
        };
        self.seconds = 3.0;
        self.step_seconds = 1.0;
        self.steps.truncate(3);
        self
    }

    /// The preset named `name`.
    #[must_use]
    pub fn named(name: &str) -> Option<Workload> {
        Workload::all().into_iter().find(|w| w.name == name)
    }
}
