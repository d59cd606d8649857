//! What a request gets back: its [`Ticket`] when it is made, and one [`Answer`] with its
//! definitive [`Outcome`] when it is decided.

use crate::error::{FieldError, LeaseError};

/// Names one request; its [`Answer`] carries the same ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ticket(pub u64);

/// The definitive answer to a request: whether it reached the log, and if so its result.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Outcome {
    /// The request reached the log (or shared an operation that did): the state
    /// machine's result, with the lease's fencing token on success.
    Applied(Result<Option<u64>, LeaseError>),
    /// Refused for lack of room; not applied, safe to retry.
    Shed,
    /// Not placed in a batch before its lane's deadline; not applied, safe to retry.
    DeadlineExceeded,
    /// The log abandoned the batch carrying it: it did not apply. Read the lease state
    /// before acting.
    Aborted,
    /// Malformed; never queued. The error names the field.
    Rejected(FieldError),
}

impl Outcome {
    /// Whether the request's operation was decided by the log.
    #[must_use]
    pub fn reached_log(&self) -> bool {
        matches!(self, Outcome::Applied(_))
    }

    /// Whether the request succeeded.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Applied(Ok(_)))
    }

    /// A short name: `ok`, `held`, `invalid`, `out-of-sync`, `not-valid`, `shed`,
    /// `deadline-exceeded`, `aborted`, `rejected`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Applied(Ok(_)) => "ok",
            Outcome::Applied(Err(LeaseError::Held { .. })) => "held",
            Outcome::Applied(Err(LeaseError::Invalid)) => "invalid",
            Outcome::Applied(Err(LeaseError::OutOfSync { .. })) => "out-of-sync",
            Outcome::Applied(Err(_)) => "not-valid",
            Outcome::Shed => "shed",
            Outcome::DeadlineExceeded => "deadline-exceeded",
            Outcome::Aborted => "aborted",
            Outcome::Rejected(_) => "rejected",
        }
    }
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The request's ticket.
    pub ticket: Ticket,
    /// What became of it.
    pub outcome: Outcome,
}
