//! The serde form of the public types (feature `serde`): one vocabulary for every
//! consumer that speaks JSON or JavaScript (the JS API, the dashboard, the service).
//!
//! Field names are camelCase; times and durations are whole milliseconds named `…Ms`
//! (`durationMs`, `untilMs`, `expiresMs`); a key's three parts are fields of the object
//! that names it (`namespace`, `model`, `lease`). The same names appear in the core's
//! error messages ([`FieldError::field`], [`ConfigError::field`]), so an error about a
//! field names it as the caller wrote it.
//!
//! | type | form |
//! | --- | --- |
//! | [`Op`] | `{kind: "claim", namespace, model, lease, holder, durationMs}`; `kind` is `claim`, `extend`, `revoke`, `pin` (`entity, untilMs?, reason?`), `unpin`, `setTime` (`oldMs, newMs`) or `handover` (`from, to, durationMs`) |
//! | [`Outcome`] | `{ok, reachedLog, token?, error?, message?, holder?}`, `error` one of `held`, `invalid`, `out-of-sync`, `not-valid`, `shed`, `deadline-exceeded`, `aborted`, `rejected` |
//! | [`Answer`] | the outcome's fields and `ticket` |
//! | [`Event`] | `{event, namespace, model, lease, holder, token, entity?, lapsed?, from?, expiresMs?}` |
//! | [`LeaseInfo`] | `{namespace, model, lease, holder, token, expiresMs, pinnedBy}` |
//! | [`Config`] | every setting, durations as `…Ms`; missing fields take their defaults |
//! | [`Time`] | a number of milliseconds |
//!
//! Numbers of milliseconds are read from integers or from finite non-negative numbers up
//! to 2^53 - 1 (the largest a JavaScript number holds exactly); a fraction is dropped.
//! Unknown fields are refused.
//!
//! ```
//! use leasehold::{Key, Op};
//! use std::time::Duration;
//!
//! let op = Op::claim(Key::new("ns", "m", "db"), "db/0", Duration::from_secs(60));
//! let json = serde_json::to_string(&op).unwrap();
//! assert_eq!(
//!     json,
//!     r#"{"kind":"claim","namespace":"ns","model":"m","lease":"db","holder":"db/0","durationMs":60000}"#
//! );
//! assert_eq!(serde_json::from_str::<Op>(&json).unwrap(), op);
//! ```

use crate::config::{Config, ConfigError};
use crate::error::{FieldError, LeaseError};
use crate::event::Event;
use crate::fsm::LeaseInfo;
use crate::key::Key;
use crate::op::Op;
use crate::outcome::{Answer, Outcome};
use crate::time::Time;
use serde::de::{self, Unexpected, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The largest integer a JavaScript number holds exactly (2^53 - 1).
const MAX_SAFE: u64 = (1 << 53) - 1;

/// Reads a number of milliseconds (see the module docs).
struct Millis;

impl Visitor<'_> for Millis {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number of milliseconds from 0 to 2^53 - 1")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        if v.is_finite() && v >= 0.0 && v <= MAX_SAFE as f64 {
            Ok(v as u64)
        } else {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        if v <= MAX_SAFE {
            Ok(v)
        } else {
            Err(E::invalid_value(Unexpected::Unsigned(v), &self))
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v)
            .ok()
            .filter(|&v| v <= MAX_SAFE)
            .ok_or_else(|| E::invalid_value(Unexpected::Signed(v), &self))
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.as_millis())
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        d.deserialize_any(Millis).map(Time::from_millis)
    }
}

/// A count of milliseconds in a setting.
#[derive(Clone, Copy)]
struct Ms(u64);

impl Serialize for Ms {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Ms {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ms, D::Error> {
        d.deserialize_any(Millis).map(Ms)
    }
}

impl From<Duration> for Ms {
    fn from(d: Duration) -> Ms {
        Ms(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A [`Duration`] as whole milliseconds (`#[serde(with = "millis")]`).
mod millis {
    use super::{Deserializer, Duration, Millis, Ms, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(Ms::from(*d).0)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_any(Millis).map(Duration::from_millis)
    }
}

// ---- operations ------------------------------------------------------------------------

/// The form of an [`Op`]: its kind and its fields, the key's parts among them.
#[derive(Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
enum OpForm {
    Claim {
        namespace: Arc<str>,
        model: Arc<str>,
        lease: Arc<str>,
        holder: Arc<str>,
        #[serde(with = "millis")]
        duration_ms: Duration,
    },
    Extend {
        namespace: Arc<str>,
        model: Arc<str>,
        lease: Arc<str>,
        holder: Arc<str>,
        #[serde(with = "millis")]
        duration_ms: Duration,
    },
    Revoke {
        namespace: Arc<str>,
        model: Arc<str>,
        lease: Arc<str>,
        holder: Arc<str>,
    },
    Pin {
        namespace: Arc<str>,
        model: Arc<str>,
        lease: Arc<str>,
        entity: Arc<str>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until_ms: Option<Time>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<Arc<str>>,
    },
    Unpin {
        namespace: Arc<str>,
        model: Arc<str>,
        lease: Arc<str>,
        entity: Arc<str>,
    },
    SetTime {
        old_ms: Time,
        new_ms: Time,
    },
    Handover {
        namespace: Arc<str>,
        model: Arc<str>,
        lease: Arc<str>,
        from: Arc<str>,
        to: Arc<str>,
        #[serde(with = "millis")]
        duration_ms: Duration,
    },
}

impl From<&Op> for OpForm {
    fn from(op: &Op) -> OpForm {
        let parts = |k: &Key| (k.namespace.clone(), k.model.clone(), k.lease.clone());
        match op.clone() {
            Op::Claim {
                key,
                holder,
                duration,
            } => {
                let (namespace, model, lease) = parts(&key);
                OpForm::Claim {
                    namespace,
                    model,
                    lease,
                    holder,
                    duration_ms: duration,
                }
            }
            Op::Extend {
                key,
                holder,
                duration,
            } => {
                let (namespace, model, lease) = parts(&key);
                OpForm::Extend {
                    namespace,
                    model,
                    lease,
                    holder,
                    duration_ms: duration,
                }
            }
            Op::Revoke { key, holder } => {
                let (namespace, model, lease) = parts(&key);
                OpForm::Revoke {
                    namespace,
                    model,
                    lease,
                    holder,
                }
            }
            Op::Pin {
                key,
                entity,
                until,
                reason,
            } => {
                let (namespace, model, lease) = parts(&key);
                OpForm::Pin {
                    namespace,
                    model,
                    lease,
                    entity,
                    until_ms: until,
                    reason,
                }
            }
            Op::Unpin { key, entity } => {
                let (namespace, model, lease) = parts(&key);
                OpForm::Unpin {
                    namespace,
                    model,
                    lease,
                    entity,
                }
            }
            Op::SetTime { old, new } => OpForm::SetTime {
                old_ms: old,
                new_ms: new,
            },
            Op::Handover {
                key,
                from,
                to,
                duration,
            } => {
                let (namespace, model, lease) = parts(&key);
                OpForm::Handover {
                    namespace,
                    model,
                    lease,
                    from,
                    to,
                    duration_ms: duration,
                }
            }
        }
    }
}

impl From<OpForm> for Op {
    fn from(form: OpForm) -> Op {
        let key = |namespace, model, lease| Key {
            namespace,
            model,
            lease,
        };
        match form {
            OpForm::Claim {
                namespace,
                model,
                lease,
                holder,
                duration_ms,
            } => Op::claim(key(namespace, model, lease), holder, duration_ms),
            OpForm::Extend {
                namespace,
                model,
                lease,
                holder,
                duration_ms,
            } => Op::extend(key(namespace, model, lease), holder, duration_ms),
            OpForm::Revoke {
                namespace,
                model,
                lease,
                holder,
            } => Op::revoke(key(namespace, model, lease), holder),
            OpForm::Pin {
                namespace,
                model,
                lease,
                entity,
                until_ms,
                reason,
            } => Op::Pin {
                key: key(namespace, model, lease),
                entity,
                until: until_ms,
                reason,
            },
            OpForm::Unpin {
                namespace,
                model,
                lease,
                entity,
            } => Op::unpin(key(namespace, model, lease), entity),
            OpForm::SetTime { old_ms, new_ms } => Op::set_time(old_ms, new_ms),
            OpForm::Handover {
                namespace,
                model,
                lease,
                from,
                to,
                duration_ms,
            } => Op::handover(key(namespace, model, lease), from, to, duration_ms),
        }
    }
}

impl Serialize for Op {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        OpForm::from(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Op {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Op, D::Error> {
        OpForm::deserialize(d).map(Op::from)
    }
}

// ---- answers ---------------------------------------------------------------------------

/// The form of an [`Outcome`].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutcomeForm<'a> {
    ok: bool,
    reached_log: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    holder: Option<&'a str>,
}

impl<'a> From<&'a Outcome> for OutcomeForm<'a> {
    fn from(outcome: &'a Outcome) -> OutcomeForm<'a> {
        let ok = outcome.is_ok();
        let (token, message, holder) = match outcome {
            Outcome::Applied(Ok(token)) => (*token, None, None),
            Outcome::Applied(Err(e @ LeaseError::Held { holder })) => {
                (None, Some(e.to_string()), Some(&**holder))
            }
            Outcome::Applied(Err(e)) => (None, Some(e.to_string()), None),
            Outcome::Rejected(e) => (None, Some(e.to_string()), None),
            Outcome::Shed | Outcome::DeadlineExceeded | Outcome::Aborted => (None, None, None),
        };
        OutcomeForm {
            ok,
            reached_log: outcome.reached_log(),
            token,
            error: (!ok).then(|| outcome.name()),
            message,
            holder,
        }
    }
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        OutcomeForm::from(self).serialize(s)
    }
}

/// The form of an [`Answer`]: its ticket and its outcome's fields.
#[derive(Serialize)]
struct AnswerForm<'a> {
    ticket: u64,
    #[serde(flatten)]
    outcome: OutcomeForm<'a>,
}

impl Serialize for Answer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        AnswerForm {
            ticket: self.ticket.0,
            outcome: OutcomeForm::from(&self.outcome),
        }
        .serialize(s)
    }
}

impl Serialize for FieldError {
    /// `{field, problem, message}`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Form<'a> {
            field: &'a str,
            problem: &'a str,
            message: String,
        }
        Form {
            field: self.field,
            problem: self.problem,
            message: self.to_string(),
        }
        .serialize(s)
    }
}

impl Serialize for ConfigError {
    /// `{field, problem, message}`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        FieldError::new(self.field, self.problem).serialize(s)
    }
}

// ---- events and reads ------------------------------------------------------------------

/// The form of an [`Event`].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventForm<'a> {
    event: &'static str,
    namespace: &'a str,
    model: &'a str,
    lease: &'a str,
    holder: Option<&'a str>,
    token: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entity: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lapsed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_ms: Option<Time>,
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let key = self.key();
        let (entity, lapsed, from) = match self {
            Event::Pinned { entity, .. } => (Some(&**entity), None, None),
            Event::Unpinned { entity, lapsed, .. } => (Some(&**entity), Some(*lapsed), None),
            Event::HandedOver { from, .. } => (None, None, Some(&**from)),
            _ => (None, None, None),
        };
        EventForm {
            event: self.kind(),
            namespace: &key.namespace,
            model: &key.model,
            lease: &key.lease,
            holder: self.holder().map(|h| &**h),
            token: self.token(),
            entity,
            lapsed,
            from,
            expires_ms: self.expiry(),
        }
        .serialize(s)
    }
}

/// The form of a [`LeaseInfo`].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LeaseForm<'a> {
    namespace: &'a str,
    model: &'a str,
    lease: &'a str,
    holder: &'a str,
    token: u64,
    expires_ms: Time,
    pinned_by: &'a [String],
}

impl Serialize for LeaseInfo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        LeaseForm {
            namespace: &self.key.namespace,
            model: &self.key.model,
            lease: &self.key.lease,
            holder: &self.holder,
            token: self.token,
            expires_ms: self.expiry,
            pinned_by: &self.pinned_by,
        }
        .serialize(s)
    }
}

// ---- settings --------------------------------------------------------------------------

/// The form of a [`Config`]: every field optional when read (missing ones take their
/// defaults), all of them written.
#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConfigForm {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    batch_interval_ms: Option<Ms>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    clock_interval_ms: Option<Ms>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_batch_ops: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_in_flight: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    queue_capacity: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claim_deadline_ms: Option<Ms>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    extend_deadline_ms: Option<Ms>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    admin_deadline_ms: Option<Ms>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    singular_deadline_ms: Option<Ms>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    eager: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    report_extensions: Option<bool>,
}

impl From<ConfigForm> for Config {
    fn from(f: ConfigForm) -> Config {
        let d = Config::default();
        let ms =
            |v: Option<Ms>, default: Duration| v.map_or(default, |m| Duration::from_millis(m.0));
        let size = |v: Option<u64>, default: usize| {
            v.map_or(default, |n| usize::try_from(n).unwrap_or(usize::MAX))
        };
        Config {
            batch_interval: ms(f.batch_interval_ms, d.batch_interval),
            clock_interval: ms(f.clock_interval_ms, d.clock_interval),
            max_batch_ops: size(f.max_batch_ops, d.max_batch_ops),
            max_in_flight: size(f.max_in_flight, d.max_in_flight),
            queue_capacity: size(f.queue_capacity, d.queue_capacity),
            claim_deadline: ms(f.claim_deadline_ms, d.claim_deadline),
            extend_deadline: ms(f.extend_deadline_ms, d.extend_deadline),
            admin_deadline: ms(f.admin_deadline_ms, d.admin_deadline),
            singular_deadline: ms(f.singular_deadline_ms, d.singular_deadline),
            eager: f.eager.unwrap_or(d.eager),
            report_extensions: f.report_extensions.unwrap_or(d.report_extensions),
        }
    }
}

impl From<&Config> for ConfigForm {
    fn from(c: &Config) -> ConfigForm {
        let ms = |d: Duration| Some(Ms::from(d));
        let size = |n: usize| Some(n as u64);
        ConfigForm {
            batch_interval_ms: ms(c.batch_interval),
            clock_interval_ms: ms(c.clock_interval),
            max_batch_ops: size(c.max_batch_ops),
            max_in_flight: size(c.max_in_flight),
            queue_capacity: size(c.queue_capacity),
            claim_deadline_ms: ms(c.claim_deadline),
            extend_deadline_ms: ms(c.extend_deadline),
            admin_deadline_ms: ms(c.admin_deadline),
            singular_deadline_ms: ms(c.singular_deadline),
            eager: Some(c.eager),
            report_extensions: Some(c.report_extensions),
        }
    }
}

impl Serialize for Config {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ConfigForm::from(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Config {
    /// The defaults with the given fields replaced; not yet checked (see
    /// [`Config::validate`]).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Config, D::Error> {
        ConfigForm::deserialize(d).map(Config::from)
    }
}
