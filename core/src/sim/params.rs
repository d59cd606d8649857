//! A simulation's parameters: the workload, the log model and the engine settings.

use crate::config::Config;
use core::fmt;
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

/// The type of a parameter: how its value is written and read back from text.
trait ParamType: Sized {
    /// The value as a typed [`ParamValue`].
    fn value(&self) -> ParamValue;
    /// Reads the value from text; the error says what the text must be.
    fn parse(text: &str) -> Result<Self, &'static str>;
}

/// A parameter's value, typed: what [`Params::values`] returns and the serde form writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(untagged))]
pub enum ParamValue {
    /// A whole number (a count, a seed, milliseconds, a rate).
    Number(u64),
    /// A word (`mode`: `batched` or `per-op`).
    Word(&'static str),
    /// A flag (`eager`).
    Flag(bool),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Number(n) => write!(f, "{n}"),
            ParamValue::Word(w) => f.write_str(w),
            ParamValue::Flag(b) => write!(f, "{b}"),
        }
    }
}

impl ParamType for u64 {
    fn value(&self) -> ParamValue {
        ParamValue::Number(*self)
    }
    fn parse(text: &str) -> Result<u64, &'static str> {
        text.trim().parse().map_err(|_| "must be a whole number")
    }
}

impl ParamType for usize {
    fn value(&self) -> ParamValue {
        ParamValue::Number(*self as u64)
    }
    fn parse(text: &str) -> Result<usize, &'static str> {
        usize::try_from(u64::parse(text)?).map_err(|_| "is too large")
    }
}

impl ParamType for Duration {
    fn value(&self) -> ParamValue {
        ParamValue::Number(u64::try_from(self.as_millis()).unwrap_or(u64::MAX))
    }
    fn parse(text: &str) -> Result<Duration, &'static str> {
        u64::parse(text).map(Duration::from_millis)
    }
}

impl ParamType for bool {
    fn value(&self) -> ParamValue {
        ParamValue::Flag(*self)
    }
    fn parse(text: &str) -> Result<bool, &'static str> {
        text.trim().parse().map_err(|_| "must be `true` or `false`")
    }
}

impl ParamType for Mode {
    fn value(&self) -> ParamValue {
        ParamValue::Word(self.name())
    }
    fn parse(text: &str) -> Result<Mode, &'static str> {
        Mode::from_name(text.trim()).ok_or("must be `batched` or `per-op`")
    }
}

/// One parameter: its name and how to read and write it in [`Params`].
struct Param {
    name: &'static str,
    get: fn(&Params) -> ParamValue,
    set: fn(&mut Params, &str) -> Result<(), &'static str>,
}

/// The parameters, each named once: `"name" => field.path`.
macro_rules! params {
    ($($name:literal => $($field:ident).+),* $(,)?) => {
        /// Every parameter's name, as [`Params::set`], links and the serde form spell it
        /// (camelCase; [`Params::set`] also takes the snake-case spelling).
        pub const PARAM_NAMES: &[&str] = &[$($name),*];

        /// Every parameter, in [`PARAM_NAMES`] order.
        const PARAMS: &[Param] = &[$(Param {
            name: $name,
            get: |p| ParamType::value(&p.$($field).+),
            set: |p, text| {
                p.$($field).+ = ParamType::parse(text)?;
                Ok(())
            },
        }),*];
    };
}

params! {
    "seed" => seed,
    "mode" => mode,
    "leases" => leases,
    "units" => units,
    "singular" => singular,
    "models" => models,
    "durationMs" => duration_ms,
    "renewMs" => renew_ms,
    "joinSpreadMs" => join_spread_ms,
    "seconds" => seconds,
    "commitLatencyMs" => log.commit_latency_ms,
    "entriesPerSec" => log.entries_per_sec,
    "opsPerSec" => log.ops_per_sec,
    "bytesPerSec" => log.bytes_per_sec,
    "batchIntervalMs" => engine.batch_interval,
    "maxBatchOps" => engine.max_batch_ops,
    "maxInFlight" => engine.max_in_flight,
    "queueCapacity" => engine.queue_capacity,
    "eager" => engine.eager,
}

/// `snake_case` as camelCase (`duration_ms` → `durationMs`); camelCase stays as it is.
/// The simulator's statistics are written in snake case (the load test's JSON); this is
/// how the JavaScript API names them.
#[must_use]
pub fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

impl Params {
    /// Sets one parameter by name (`durationMs`, or `duration_ms`) from its text
    /// (`"5000"`, `"per-op"`, `"true"`). Only the value's form is checked here;
    /// [`Params::validate`] (which [`super::Simulation::new`] calls) checks that the
    /// parameters make sense together, so they can be set in any order.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ParamError> {
        let camel = camel(name);
        let param = PARAMS
            .iter()
            .find(|p| p.name == camel)
            .ok_or_else(|| ParamError::Unknown(name.to_owned()))?;
        (param.set)(self, value).map_err(|problem| ParamError::Invalid {
            name: param.name.to_owned(),
            problem,
        })
    }

    /// The value of every parameter, by name, in [`PARAM_NAMES`] order.
    #[must_use]
    pub fn values(&self) -> Vec<(&'static str, ParamValue)> {
        PARAMS.iter().map(|p| (p.name, (p.get)(self))).collect()
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
            return bad("durationMs", "must be between 1 ms and ten years");
        }
        if self.renew_ms == 0 || self.renew_ms >= self.duration_ms {
            return bad("renewMs", "must be at least 1 and shorter than durationMs");
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

#[cfg(feature = "serde")]
impl serde::Serialize for Params {
    /// Every parameter by name: `{seed, mode, leases, ..., eager}`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(PARAMS.len()))?;
        for (name, value) in self.values() {
            map.serialize_entry(name, &value)?;
        }
        map.end()
    }
}
