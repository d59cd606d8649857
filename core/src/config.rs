//! The engine's settings, each with a default and a check.

use std::time::Duration;

/// Settings of the batching [`Engine`](crate::Engine). `Config::default()` is what the
/// design describes; [`Config::validate`] names the first impossible field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// How often a batch is cut while requests wait (100 ms).
    pub batch_interval: Duration,
    /// How often an idle engine still writes a time-only batch, so leases expire (1 s).
    pub clock_interval: Duration,
    /// The most requests' operations in one batch; a batch is cut early when this many
    /// are queued (1,000).
    pub max_batch_ops: usize,
    /// The most batches appended but not yet committed (4). Beyond it requests wait in
    /// the queue: the back-pressure point.
    pub max_in_flight: usize,
    /// The most requests waiting in the extend, admin and claim lanes together (10,000).
    /// Singular requests have room of their own and are never shed.
    pub queue_capacity: usize,
    /// How long a claim may wait for a batch before it is answered `DeadlineExceeded` (3 s).
    pub claim_deadline: Duration,
    /// How long an extension may wait (5 s).
    pub extend_deadline: Duration,
    /// How long a revoke, pin, unpin or handover may wait (5 s).
    pub admin_deadline: Duration,
    /// How long a singular request may wait (5 s; singular requests are cut at once, so
    /// they wait only while the in-flight window is full).
    pub singular_deadline: Duration,
    /// Cut a batch whenever none is in flight, instead of waiting for the interval: no
    /// added latency under sparse load (off).
    pub eager: bool,
    /// Also report `Extended` events as outputs (off: extensions are the bulk of the
    /// traffic and their answers already say they succeeded). The simulator's invariant
    /// checker turns this on to follow every expiry.
    pub report_extensions: bool,
    /// Extensions of leases the committed state holds name them by their place in it,
    /// about 6 bytes instead of their names (on). Such batches decode only against the
    /// state they apply to ([`Fsm::decode_batch`](crate::Fsm::decode_batch)); a reader
    /// that decodes batches without the state (one that shows a log from its middle)
    /// needs this off.
    pub refer_to_state: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            batch_interval: Duration::from_millis(100),
            clock_interval: Duration::from_secs(1),
            max_batch_ops: 1_000,
            max_in_flight: 4,
            queue_capacity: 10_000,
            claim_deadline: Duration::from_secs(3),
            extend_deadline: Duration::from_secs(5),
            admin_deadline: Duration::from_secs(5),
            singular_deadline: Duration::from_secs(5),
            eager: false,
            report_extensions: false,
            refer_to_state: true,
        }
    }
}

/// An impossible setting: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config field `{field}` {problem}")]
pub struct ConfigError {
    /// The field's name as the serde form spells it (`batchIntervalMs`).
    pub field: &'static str,
    /// What is wrong.
    pub problem: &'static str,
}

impl Config {
    /// Checks every field; the error names the first impossible one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field, problem| Err(ConfigError { field, problem });
        let ms = |d: Duration| d.as_millis();
        if ms(self.batch_interval) == 0 {
            return err("batchIntervalMs", "must be at least 1 ms");
        }
        if self.clock_interval < self.batch_interval {
            return err(
                "clockIntervalMs",
                "must not be shorter than batchIntervalMs",
            );
        }
        if self.max_batch_ops == 0 || self.max_batch_ops > crate::limits::MAX_BATCH_OPS - 1 {
            return err("maxBatchOps", "must be between 1 and 65,535");
        }
        if self.max_in_flight == 0 {
            return err("maxInFlight", "must be at least 1");
        }
        if self.queue_capacity == 0 {
            return err("queueCapacity", "must be at least 1");
        }
        for (field, d) in [
            ("claimDeadlineMs", self.claim_deadline),
            ("extendDeadlineMs", self.extend_deadline),
            ("adminDeadlineMs", self.admin_deadline),
            ("singularDeadlineMs", self.singular_deadline),
        ] {
            if ms(d) == 0 {
                return err(field, "must be at least 1 ms");
            }
        }
        if self.claim_deadline > self.extend_deadline {
            return err(
                "claimDeadlineMs",
                "must not be longer than extendDeadlineMs: claims are shed first",
            );
        }
        Ok(())
    }
}
