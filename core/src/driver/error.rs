//! Why the on-disk store could not be opened or written.

use crate::frame::ScanError;
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
