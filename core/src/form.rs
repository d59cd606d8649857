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

/// A count of milliseconds in a setting (written as the number).
#[derive(Clone, Copy, Serialize)]
#[serde(transparent)]
struct Ms(u64);

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

/// Writes a [`Duration`] as whole milliseconds (`#[serde(serialize_with = "millis")]`).
fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(Ms::from(*d).0)
}

/// A count in a setting: a whole number from 0 to 2^53 - 1 (written as the number).
#[derive(Clone, Copy, Serialize)]
#[serde(transparent)]
struct Count(u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Count, D::Error> {
        struct Whole;
        impl Visitor<'_> for Whole {
            type Value = u64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number from 0 to 2^53 - 1")
            }
            #[allow(clippy::float_cmp)] // exactly whole, not nearly
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
                match Millis.visit_f64::<E>(v) {
                    Ok(n) if n as f64 == v => Ok(n),
                    _ => Err(E::invalid_value(Unexpected::Float(v), &self)),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
                Millis
                    .visit_u64::<E>(v)
                    .map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
                Millis
                    .visit_i64::<E>(v)
                    .map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
            }
        }
        d.deserialize_any(Whole).map(Count)
    }
}

// ---- operations ------------------------------------------------------------------------

/// The form of an [`Op`] as written: its kind and its fields, the key's parts among them.
#[derive(Serialize)]
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
        #[serde(serialize_with = "millis")]
        duration_ms: Duration,
    },
    Extend {
        namespace: Arc<str>,
        model: Arc<str>,
        lease: Arc<str>,
        holder: Arc<str>,
        #[serde(serialize_with = "millis")]
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
        #[serde(serialize_with = "millis")]
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

/// The kinds of operation, as `kind` spells them.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
enum Kind {
    Claim,
    Extend,
    Revoke,
    Pin,
    Unpin,
    SetTime,
    Handover,
}

/// The form of an [`Op`] as read: every field any kind has, each checked as it is read
/// (so a reader that follows the fields can name the one refused), then the kind's
/// required fields checked and any other refused.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OpFields {
    kind: Option<Kind>,
    namespace: Option<Arc<str>>,
    model: Option<Arc<str>>,
    lease: Option<Arc<str>>,
    holder: Option<Arc<str>>,
    entity: Option<Arc<str>>,
    from: Option<Arc<str>>,
    to: Option<Arc<str>>,
    reason: Option<Arc<str>>,
    duration_ms: Option<Ms>,
    until_ms: Option<Time>,
    old_ms: Option<Time>,
    new_ms: Option<Time>,
}

/// The operation kinds, as `kind` spells them.
const KINDS: &str = "`claim`, `extend`, `revoke`, `pin`, `unpin`, `setTime`, `handover`";

impl OpFields {
    /// The operation, or what is missing or does not belong to its kind.
    fn into_op(self) -> Result<Op, String> {
        let kind = self
            .kind
            .ok_or_else(|| format!("missing field `kind` (one of {KINDS})"))?;
        // The fields each kind takes, required first; the optional ones of `pin` after.
        let (required, optional): (&[&str], &[&str]) = match kind {
            Kind::Claim | Kind::Extend => (
                &["namespace", "model", "lease", "holder", "durationMs"],
                &[],
            ),
            Kind::Revoke => (&["namespace", "model", "lease", "holder"], &[]),
            Kind::Pin => (
                &["namespace", "model", "lease", "entity"],
                &["untilMs", "reason"],
            ),
            Kind::Unpin => (&["namespace", "model", "lease", "entity"], &[]),
            Kind::SetTime => (&["oldMs", "newMs"], &[]),
            Kind::Handover => (
                &["namespace", "model", "lease", "from", "to", "durationMs"],
                &[],
            ),
        };
        let present = [
            ("namespace", self.namespace.is_some()),
            ("model", self.model.is_some()),
            ("lease", self.lease.is_some()),
            ("holder", self.holder.is_some()),
            ("entity", self.entity.is_some()),
            ("from", self.from.is_some()),
            ("to", self.to.is_some()),
            ("reason", self.reason.is_some()),
            ("durationMs", self.duration_ms.is_some()),
            ("untilMs", self.until_ms.is_some()),
            ("oldMs", self.old_ms.is_some()),
            ("newMs", self.new_ms.is_some()),
        ];
        for (name, here) in present {
            if !here && required.contains(&name) {
                return Err(format!("missing field `{name}`"));
            }
            if here && !required.contains(&name) && !optional.contains(&name) {
                let mut fields: Vec<&str> = required.iter().chain(optional).copied().collect();
                fields.insert(0, "kind");
                return Err(format!(
                    "unknown field `{name}` for this kind, expected one of `{}`",
                    fields.join("`, `")
                ));
            }
        }
        // Every required field is present: checked above.
        let text = |v: Option<Arc<str>>| v.unwrap_or_else(|| Arc::from(""));
        let ms = |v: Option<Ms>| Duration::from_millis(v.map_or(0, |m| m.0));
        let time = |v: Option<Time>| v.unwrap_or(Time::ZERO);
        let key = Key {
            namespace: text(self.namespace),
            model: text(self.model),
            lease: text(self.lease),
        };
        Ok(match kind {
            Kind::Claim => Op::claim(key, text(self.holder), ms(self.duration_ms)),
            Kind::Extend => Op::extend(key, text(self.holder), ms(self.duration_ms)),
            Kind::Revoke => Op::revoke(key, text(self.holder)),
            Kind::Pin => Op::Pin {
                key,
                entity: text(self.entity),
                until: self.until_ms,
                reason: self.reason,
            },
            Kind::Unpin => Op::unpin(key, text(self.entity)),
            Kind::SetTime => Op::set_time(time(self.old_ms), time(self.new_ms)),
            Kind::Handover => {
                Op::handover(key, text(self.from), text(self.to), ms(self.duration_ms))
            }
        })
    }
}

impl Serialize for Op {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        OpForm::from(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Op {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Op, D::Error> {
        OpFields::deserialize(d)?
            .into_op()
            .map_err(de::Error::custom)
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
    max_batch_ops: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_in_flight: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    queue_capacity: Option<Count>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refer_to_state: Option<bool>,
}

impl From<ConfigForm> for Config {
    fn from(f: ConfigForm) -> Config {
        let d = Config::default();
        let ms =
            |v: Option<Ms>, default: Duration| v.map_or(default, |m| Duration::from_millis(m.0));
        let size = |v: Option<Count>, default: usize| {
            v.map_or(default, |n| usize::try_from(n.0).unwrap_or(usize::MAX))
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
            refer_to_state: f.refer_to_state.unwrap_or(d.refer_to_state),
        }
    }
}

impl From<&Config> for ConfigForm {
    fn from(c: &Config) -> ConfigForm {
        let ms = |d: Duration| Some(Ms::from(d));
        let size = |n: usize| Some(Count(n as u64));
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
            refer_to_state: Some(c.refer_to_state),
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
