//! A simulation's parameters: the workload, the log model and the engine settings.

use crate::config::Config;
use std::time::Duration;

/// How the modelled log writes operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One log entry per batch of up to `max_batch_ops` operations every 100 ms.
    Batched,
    /// One log entry per operation, unprioritised and unbounded, like a lease store
    /// that writes each claim and extension as its own command.
    PerOp,
}

impl Mode {
    /// `batched` or `per-op`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Mode::Batched => "batched",
            Mode::PerOp => "per-op",
        }
    }

    /// The mode named `batched` or `per-op`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Mode> {
        match name {
            "batched" => Some(Mode::Batched),
            "per-op" | "perop" | "per_op" => Some(Mode::PerOp),
            _ => None,
        }
    }
}

/// The modelled log: each entry commits after `commit_latency_ms`, and entries commit one
/// after another no faster than the throughput limits allow (0 = no limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogModel {
    /// Time from append to commit when the log is idle, in ms.
    pub commit_latency_ms: u64,
    /// Entries committed per second at most.
    pub entries_per_sec: u64,
    /// Operations committed per second at most.
    pub ops_per_sec: u64,
    /// Bytes committed per second at most.
    pub bytes_per_sec: u64,
}

impl Default for LogModel {
    /// A Raft log on ordinary disks: 5 ms to commit, 1,000 entries, 100,000 operations
    /// and 20 MB per second.
    fn default() -> LogModel {
        LogModel {
            commit_latency_ms: 5,
            entries_per_sec: 1_000,
            ops_per_sec: 100_000,
            bytes_per_sec: 20_000_000,
        }
    }
}

/// Everything a run depends on. A scenario preset fills it in; any field can be
/// overridden by name with [`Params::set`].
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// The PRNG seed: the same seed and parameters give the same run.
    pub seed: u64,
    /// Batched or one entry per operation.
    pub mode: Mode,
    /// Leadership leases (at the peak, for scenarios that add load in steps).
    pub leases: usize,
    /// Contenders (units) per lease.
    pub units: usize,
    /// Singular leases, each contended by `units` controllers.
    pub singular: usize,
    /// Models (groups) the leases are spread over.
    pub models: usize,
    /// Claim and extension duration, ms.
    pub duration_ms: u64,
    /// Renewal period, ms.
    pub renew_ms: u64,
    /// Holders join (first claim) at random times within this window, ms.
    pub join_spread_ms: u64,
    /// How long the scenario runs by default, simulated seconds.
    pub seconds: u64,
    /// The modelled log.
    pub log: LogModel,
    /// The engine's settings (batched mode; per-op mode derives its own).
    pub engine: Config,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            seed: 1,
            mode: Mode::Batched,
            leases: 100,
            units: 3,
            singular: 0,
            models: 1,
            duration_ms: 60_000,
            renew_ms: 30_000,
            join_spread_ms: 1_000,
            seconds: 120,
            log: LogModel::default(),
            engine: Config::default(),
        }
    }
}

/// A parameter that could not be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// No parameter has that name.
    #[error("unknown parameter `{0}`")]
    Unknown(String),
    /// The value does not fit the parameter.
    #[error("parameter `{name}` {problem}")]
    Invalid {
        /// The parameter.
        name: String,
        /// What is wrong.
        problem: &'static str,
    },
}

/// The names of the numeric parameters [`Params::set`] takes (and `mode`, `eager`).
pub const PARAM_NAMES: &[&str] = &[
    "seed",
    "mode",
    "leases",
    "units",
    "singular",
    "models",
    "duration_ms",
    "renew_ms",
    "join_spread_ms",
    "seconds",
    "commit_latency_ms",
    "entries_per_sec",
    "ops_per_sec",
    "bytes_per_sec",
    "batch_interval_ms",
    "max_batch_ops",
    "max_in_flight",
    "queue_capacity",
    "eager",
];

impl Params {
    /// Sets one parameter by name from its text (`"5000"`, `"per-op"`, `"true"`). Only the
    /// value's form is checked here; [`Params::validate`] (which [`super::Simulation::new`]
    /// calls) checks that the parameters make sense together, so they can be set in any
    /// order.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ParamError> {
        let invalid = |problem| ParamError::Invalid {
            name: name.to_owned(),
            problem,
        };
        if name == "mode" {
            self.mode = Mode::from_name(value).ok_or(invalid("must be `batched` or `per-op`"))?;
            return Ok(());
        }
        if name == "eager" {
            self.engine.eager = value
                .parse()
                .map_err(|_| invalid("must be `true` or `false`"))?;
            return Ok(());
        }
        let n: u64 = value
            .trim()
            .parse()
            .map_err(|_| invalid("must be a whole number"))?;
        let size = |n: u64| usize::try_from(n).map_err(|_| invalid("is too large"));
        match name {
            "seed" => self.seed = n,
            "leases" => self.leases = size(n)?,
            "units" => self.units = size(n)?,
            "singular" => self.singular = size(n)?,
            "models" => self.models = size(n)?,
            "duration_ms" => self.duration_ms = n,
            "renew_ms" => self.renew_ms = n,
            "join_spread_ms" => self.join_spread_ms = n,
            "seconds" => self.seconds = n,
            "commit_latency_ms" => self.log.commit_latency_ms = n,
            "entries_per_sec" => self.log.entries_per_sec = n,
            "ops_per_sec" => self.log.ops_per_sec = n,
            "bytes_per_sec" => self.log.bytes_per_sec = n,
            "batch_interval_ms" => self.engine.batch_interval = Duration::from_millis(n),
            "max_batch_ops" => self.engine.max_batch_ops = size(n)?,
            "max_in_flight" => self.engine.max_in_flight = size(n)?,
            "queue_capacity" => self.engine.queue_capacity = size(n)?,
            _ => return Err(ParamError::Unknown(name.to_owned())),
        }
        Ok(())
    }

    /// The value of every parameter, by name, as text.
    #[must_use]
    pub fn values(&self) -> Vec<(&'static str, String)> {
        PARAM_NAMES
            .iter()
            .map(|&name| {
                let v = match name {
                    "seed" => self.seed.to_string(),
                    "mode" => self.mode.name().to_owned(),
                    "leases" => self.leases.to_string(),
                    "units" => self.units.to_string(),
                    "singular" => self.singular.to_string(),
                    "models" => self.models.to_string(),
                    "duration_ms" => self.duration_ms.to_string(),
                    "renew_ms" => self.renew_ms.to_string(),
                    "join_spread_ms" => self.join_spread_ms.to_string(),
                    "seconds" => self.seconds.to_string(),
                    "commit_latency_ms" => self.log.commit_latency_ms.to_string(),
                    "entries_per_sec" => self.log.entries_per_sec.to_string(),
                    "ops_per_sec" => self.log.ops_per_sec.to_string(),
                    "bytes_per_sec" => self.log.bytes_per_sec.to_string(),
                    "batch_interval_ms" => self.engine.batch_interval.as_millis().to_string(),
                    "max_batch_ops" => self.engine.max_batch_ops.to_string(),
                    "max_in_flight" => self.engine.max_in_flight.to_string(),
                    "queue_capacity" => self.engine.queue_capacity.to_string(),
                    _ => self.engine.eager.to_string(),
                };
                (name, v)
            })
            .collect()
    }

    /// Checks that a run with these parameters makes sense; names the first bad one.
    pub fn validate(&self) -> Result<(), ParamError> {
        let bad = |name: &str, problem| {
            Err(ParamError::Invalid {
                name: name.to_owned(),
                problem,
            })
        };
        if self.units == 0 || self.units > 250 {
            return bad("units", "must be between 1 and 250");
        }
        if self.models == 0 {
            return bad("models", "must be at least 1");
        }
        if self.duration_ms == 0 || self.duration_ms > crate::limits::MAX_DURATION_MS {
            return bad("duration_ms", "must be between 1 ms and ten years");
        }
        if self.renew_ms == 0 || self.renew_ms >= self.duration_ms {
            return bad(
                "renew_ms",
                "must be at least 1 and shorter than duration_ms",
            );
        }
        if (self.leases + self.singular).saturating_mul(self.units) > 10_000_000 {
            return bad("leases", "times units must stay within 10,000,000 holders");
        }
        if let Err(e) = self.engine.validate() {
            return Err(ParamError::Invalid {
                name: e.field.to_owned(),
                problem: e.problem,
            });
        }
        Ok(())
    }

    /// The engine settings the run uses: as given in batched mode; in per-op mode one
    /// operation per entry, every request appended at once (no lanes to wait in, no
    /// shedding), as a store without batching behaves.
    #[must_use]
    pub fn engine_config(&self) -> Config {
        let mut c = self.engine.clone();
        c.report_extensions = true;
        if self.mode == Mode::PerOp {
            c.max_batch_ops = 1;
            c.max_in_flight = usize::MAX / 2;
            c.queue_capacity = usize::MAX / 2;
            c.eager = true;
        }
        c
    }
}
