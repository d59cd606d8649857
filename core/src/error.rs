//! The errors of applying operations.

use crate::time::Time;
use std::sync::Arc;

/// Why an operation was not applied. The log still carries the operation; every replica
/// reaches the same error for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseError {
    /// The operation does not fit the lease's state: extending or revoking a lease the
    /// holder does not hold, or claiming a lease the holder already holds. Retryable.
    #[error("invalid for the lease's current state")]
    Invalid,
    /// Another holder holds the lease.
    #[error("lease is held by {holder}")]
    Held {
        /// The current holder.
        holder: Arc<str>,
    },
    /// A `set_time` whose `old` is not the log's current time: another writer advanced it.
    #[error("log time is {actual}, not {expected}")]
    OutOfSync {
        /// The `old` time the operation expected.
        expected: Time,
        /// The log's actual time.
        actual: Time,
    },
    /// The operation is malformed; the message names the field.
    #[error(transparent)]
    NotValid(#[from] FieldError),
}

/// A malformed field of an operation or a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {problem}")]
pub struct FieldError {
    /// The name of the offending field as the serde form spells it, e.g. `holder` or
    /// `durationMs`.
    pub field: &'static str,
    /// What is wrong with it, e.g. `must not be empty`.
    pub problem: &'static str,
}

impl FieldError {
    /// A field error naming `field`.
    #[must_use]
    pub const fn new(field: &'static str, problem: &'static str) -> FieldError {
        FieldError { field, problem }
    }
}
