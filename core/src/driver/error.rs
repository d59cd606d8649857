//! Why the on-disk store could not be opened or written, and why a request did not
//! succeed.

use crate::error::{FieldError, LeaseError};
use crate::frame::ScanError;
use crate::outcome::Outcome;
use std::io;
use std::path::{Path, PathBuf};

/// Why a store could not be opened or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file system failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A log file of the store is damaged before its end, or is not a log file.
    /// Records after the damage may have been acknowledged, so nothing was changed.
    #[error("{}: {source}; the store was left unchanged", path.display())]
    Corrupt {
        /// The segment (or old log file).
        path: PathBuf,
        /// What is wrong and where.
        source: ScanError,
    },
    /// The newest snapshot is damaged and the log behind any older state is gone.
    #[error(
        "{}: snapshot is damaged at byte offset {offset}: {reason}; no older snapshot \
         has its log, so the store was left unchanged",
        path.display()
    )]
    Snapshot {
        /// The snapshot file.
        path: PathBuf,
        /// Where the damage is.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// Records are missing between the snapshot and the segments, or between segments.
    #[error(
        "{}: the log has a gap: expected record {expected} next, the segment starts at {found}",
        path.display()
    )]
    Gap {
        /// The segment after the gap.
        path: PathBuf,
        /// The record number that should come next.
        expected: u64,
        /// The record number the segment starts with.
        found: u64,
    },
}

impl StoreError {
    /// The error for an I/O failure at `path`, for `map_err`.
    pub(super) fn io(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
        move |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Why a request did not succeed: every [`Outcome`] but success, and a stopped driver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The request reached the log and the state machine refused it (e.g. the lease is
    /// held by another holder).
    #[error(transparent)]
    Lease(#[from] LeaseError),
    /// Refused for lack of room, or queued when the driver shut down; not applied, safe
    /// to retry.
    #[error("request shed: not applied, safe to retry")]
    Shed,
    /// Not placed in a batch before its lane's deadline; not applied, safe to retry.
    #[error("request deadline exceeded before it was batched: not applied, safe to retry")]
    DeadlineExceeded,
    /// The log abandoned the batch carrying it; read the lease state before acting.
    #[error("the log abandoned the batch carrying the request; read the lease state")]
    Aborted,
    /// Malformed; never queued. The error names the field.
    #[error("request rejected: {0}")]
    Rejected(FieldError),
    /// The driver has shut down; the request was not taken.
    #[error("the driver has shut down")]
    Stopped,
}

impl RequestError {
    /// The result an outcome stands for: the fencing token (if any) on success, else the
    /// error.
    pub fn result_of(outcome: Outcome) -> Result<Option<u64>, RequestError> {
        match outcome {
            Outcome::Applied(Ok(token)) => Ok(token),
            Outcome::Applied(Err(e)) => Err(RequestError::Lease(e)),
            Outcome::Shed => Err(RequestError::Shed),
            Outcome::DeadlineExceeded => Err(RequestError::DeadlineExceeded),
            Outcome::Aborted => Err(RequestError::Aborted),
            Outcome::Rejected(e) => Err(RequestError::Rejected(e)),
        }
    }
}
