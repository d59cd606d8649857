//! Operations: the commands a batch carries and the state machine applies.

use crate::error::FieldError;
use crate::key::Key;
use crate::limits::{MAX_DURATION_MS, MAX_NAME_BYTES, MAX_REASON_BYTES};
use crate::time::{Time, duration_millis};
use core::fmt;
use std::sync::Arc;
use std::time::Duration;

/// One command of the lease log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Grant a free lease to `holder` for `duration`.
    Claim {
        /// The lease.
        key: Key,
        /// Who asks for it.
        holder: Arc<str>,
        /// How long it is granted for, from the log's current time.
        duration: Duration,
    },
    /// Keep a held lease for at least `duration` more; never shortens it.
    Extend {
        /// The lease.
        key: Key,
        /// Its current holder.
        holder: Arc<str>,
        /// The least time it is kept for, from the log's current time.
        duration: Duration,
    },
    /// Give up a held lease; its pins stay.
    Revoke {
        /// The lease.
        key: Key,
        /// Its current holder.
        holder: Arc<str>,
    },
    /// Keep the lease from expiring on behalf of `entity`, until unpinned or `until`.
    Pin {
        /// The lease (held or not).
        key: Key,
        /// Who pins it, e.g. `machine-7`.
        entity: Arc<str>,
        /// Log time after which the pin lapses by itself.
        until: Option<Time>,
        /// Why, in free text, e.g. `series upgrade`.
        reason: Option<Arc<str>>,
    },
    /// Remove `entity`'s pin.
    Unpin {
        /// The lease.
        key: Key,
        /// Whose pin to remove.
        entity: Arc<str>,
    },
    /// Advance the log's global time from `old` to `new`, expiring leases.
    SetTime {
        /// The log time the writer believes is current.
        old: Time,
        /// The new log time.
        new: Time,
    },
    /// Move a held lease from `from` to `to` atomically, with a new fencing token.
    Handover {
        /// The lease.
        key: Key,
        /// Its current holder.
        from: Arc<str>,
        /// Its next holder.
        to: Arc<str>,
        /// How long `to` holds it, from the log's current time.
        duration: Duration,
    },
}

impl Op {
    /// Claim `key` for `holder` for `d`.
    pub fn claim(key: Key, holder: impl Into<Arc<str>>, d: Duration) -> Op {
        Op::Claim {
            key,
            holder: holder.into(),
            duration: d,
        }
    }

    /// Extend `holder`'s lease on `key` to at least `d` from now.
    pub fn extend(key: Key, holder: impl Into<Arc<str>>, d: Duration) -> Op {
        Op::Extend {
            key,
            holder: holder.into(),
            duration: d,
        }
    }

    /// Revoke `holder`'s lease on `key`.
    pub fn revoke(key: Key, holder: impl Into<Arc<str>>) -> Op {
        Op::Revoke {
            key,
            holder: holder.into(),
        }
    }

    /// Pin `key` for `entity` with no deadline and no reason.
    pub fn pin(key: Key, entity: impl Into<Arc<str>>) -> Op {
        Op::Pin {
            key,
            entity: entity.into(),
            until: None,
            reason: None,
        }
    }

    /// Pin `key` for `entity` until log time `until`, saying why.
    pub fn pin_until(
        key: Key,
        entity: impl Into<Arc<str>>,
        until: Time,
        reason: impl Into<Arc<str>>,
    ) -> Op {
        Op::Pin {
            key,
            entity: entity.into(),
            until: Some(until),
            reason: Some(reason.into()),
        }
    }

    /// Remove `entity`'s pin on `key`.
    pub fn unpin(key: Key, entity: impl Into<Arc<str>>) -> Op {
        Op::Unpin {
            key,
            entity: entity.into(),
        }
    }

    /// Advance log time from `old` to `new`.
    #[must_use]
    pub fn set_time(old: Time, new: Time) -> Op {
        Op::SetTime { old, new }
    }

    /// Hand `key` over from `from` to `to` for `d`.
    pub fn handover(
        key: Key,
        from: impl Into<Arc<str>>,
        to: impl Into<Arc<str>>,
        d: Duration,
    ) -> Op {
        Op::Handover {
            key,
            from: from.into(),
            to: to.into(),
            duration: d,
        }
    }

    /// The lease this operation acts on (`None` for `set_time`).
    #[must_use]
    pub fn key(&self) -> Option<&Key> {
        match self {
            Op::Claim { key, .. }
            | Op::Extend { key, .. }
            | Op::Revoke { key, .. }
            | Op::Pin { key, .. }
            | Op::Unpin { key, .. }
            | Op::Handover { key, .. } => Some(key),
            Op::SetTime { .. } => None,
        }
    }

    /// The operation's name as the log and the dashboard show it (`claim`, `extend`, ...).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Claim { .. } => "claim",
            Op::Extend { .. } => "extend",
            Op::Revoke { .. } => "revoke",
            Op::Pin { .. } => "pin",
            Op::Unpin { .. } => "unpin",
            Op::SetTime { .. } => "setTime",
            Op::Handover { .. } => "handover",
        }
    }

    /// The lease this operation may move to another place or holder (a revoke, a
    /// handover, an unpin, after which the lease may expire at once): a batch that
    /// follows must name that lease rather than refer to its place.
    pub(crate) fn unsettles(&self) -> Option<&Key> {
        match self {
            Op::Revoke { key, .. } | Op::Handover { key, .. } | Op::Unpin { key, .. } => Some(key),
            _ => None,
        }
    }

    /// Checks every field that can be checked without the lease state: non-empty names
    /// within [`MAX_NAME_BYTES`], durations of at least 1 ms and at most
    /// [`MAX_DURATION_MS`], reasons within [`MAX_REASON_BYTES`], `new >= old`.
    pub fn validate(&self) -> Result<(), FieldError> {
        match self {
            Op::Claim {
                key,
                holder,
                duration,
            }
            | Op::Extend {
                key,
                holder,
                duration,
            } => {
                validate_key(key)?;
                validate_name("holder", holder)?;
                validate_duration("durationMs", *duration)
            }
            Op::Revoke { key, holder } => {
                validate_key(key)?;
                validate_name("holder", holder)
            }
            Op::Pin {
                key,
                entity,
                reason,
                ..
            } => {
                validate_key(key)?;
                validate_name("entity", entity)?;
                match reason {
                    Some(r) if r.len() > MAX_REASON_BYTES => {
                        Err(FieldError::new("reason", "is longer than 1024 bytes"))
                    }
                    _ => Ok(()),
                }
            }
            Op::Unpin { key, entity } => {
                validate_key(key)?;
                validate_name("entity", entity)
            }
            Op::SetTime { old, new } => {
                if new < old {
                    Err(FieldError::new(
                        "newMs",
                        "is earlier than `oldMs`: time never goes backwards",
                    ))
                } else {
                    Ok(())
                }
            }
            Op::Handover {
                key,
                from,
                to,
                duration,
            } => {
                validate_key(key)?;
                validate_name("from", from)?;
                validate_name("to", to)?;
                if from == to {
                    return Err(FieldError::new("to", "is the same holder as `from`"));
                }
                validate_duration("durationMs", *duration)
            }
        }
    }
}

impl fmt::Display for Op {
    /// One line for logs and the dashboard, e.g. `claim ns/model/db by db/0 for 60.000s`,
    /// `pin ns/model/db for machine-7 until 90.000s (series upgrade)`,
    /// `setTime 1.000s → 2.000s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = |d: &Duration| Time::ZERO.saturating_add(*d);
        match self {
            Op::Claim {
                key,
                holder,
                duration,
            }
            | Op::Extend {
                key,
                holder,
                duration,
            } => write!(
                f,
                "{} {key} by {holder} for {}",
                self.kind(),
                secs(duration)
            ),
            Op::Revoke { key, holder } => write!(f, "revoke {key} by {holder}"),
            Op::Pin {
                key,
                entity,
                until,
                reason,
            } => {
                write!(f, "pin {key} for {entity}")?;
                if let Some(until) = until {
                    write!(f, " until {until}")?;
                }
                match reason {
                    Some(reason) => write!(f, " ({reason})"),
                    None => Ok(()),
                }
            }
            Op::Unpin { key, entity } => write!(f, "unpin {key} for {entity}"),
            Op::SetTime { old, new } => write!(f, "setTime {old} → {new}"),
            Op::Handover {
                key,
                from,
                to,
                duration,
            } => write!(
                f,
                "handover {key} from {from} to {to} for {}",
                secs(duration)
            ),
        }
    }
}

/// Checks the three parts of a key.
pub(crate) fn validate_key(key: &Key) -> Result<(), FieldError> {
    validate_name("namespace", &key.namespace)?;
    validate_name("model", &key.model)?;
    validate_name("lease", &key.lease)
}

/// Checks one name: non-empty and within [`MAX_NAME_BYTES`].
pub(crate) fn validate_name(field: &'static str, name: &str) -> Result<(), FieldError> {
    if name.is_empty() {
        Err(FieldError::new(field, "must not be empty"))
    } else if name.len() > MAX_NAME_BYTES {
        Err(FieldError::new(field, "is longer than 256 bytes"))
    } else {
        Ok(())
    }
}

/// Checks a duration: at least 1 ms, at most [`MAX_DURATION_MS`].
pub(crate) fn validate_duration(field: &'static str, d: Duration) -> Result<(), FieldError> {
    match duration_millis(d) {
        Some(0) => Err(FieldError::new(field, "must be at least 1 ms")),
        Some(ms) if ms <= MAX_DURATION_MS => Ok(()),
        _ => Err(FieldError::new(field, "is longer than ten years")),
    }
}
