//! Durable logs: where the runtime writes each encoded batch before acknowledging it.
//!
//! A [`Log`] holds records, each one encoded [`Batch`](crate::Batch). When
//! [`Log::append`] returns `Ok`, the record is durable. [`MemoryLog`] keeps records in
//! memory; [`FileLog`] keeps them in an append-only file.
//!
//! # The file format
//!
//! The framing of [`crate::frame`]: the header [`FILE_HEADER`], then one frame (length,
//! CRC-32, payload) per record. Every append is one write of a whole frame followed by
//! `fsync` ([`File::sync_data`]), so a crash can damage only the frame that was being
//! appended, which was never acknowledged. [`FileLog::open`] tells the two cases apart
//! with [`frame::scan`]: a torn tail is reported in [`Replay::torn_tail`] and cut off,
//! so later appends continue cleanly; a damaged record before the tail makes `open`
//! return [`LogError::Corrupt`] naming the record and its offset, and change nothing (an
//! operator must look at the file).
//!
//! A file has one writer: [`FileLog`] does not lock it, and two logs open on one file
//! would interleave their frames.

use crate::frame::{self, ScanError};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

pub use crate::frame::{FILE_HEADER, FRAME_HEADER_LEN, TornTail};

/// `FILE_HEADER.len()` as a file offset.
const FILE_HEADER_BYTES: u64 = FILE_HEADER.len() as u64;

/// A durable, append-only sequence of records, each one encoded batch.
///
/// Records are non-empty and at most [`MAX_BATCH_BYTES`](crate::limits::MAX_BATCH_BYTES) long (an encoded batch always
/// is); `append` refuses others with [`io::ErrorKind::InvalidInput`] and appends nothing.
pub trait Log: Send {
    /// Appends one record (the bytes of [`Batch::encode`](crate::Batch::encode)). When
    /// this returns `Ok`, the record is durable and will be replayed after a restart.
    /// When it returns `Err`, the record may or may not have been stored, and the log may
    /// refuse further appends (see [`FileLog::is_poisoned`]).
    fn append(&mut self, record: &[u8]) -> io::Result<()>;

    /// How many records the log holds, counting those replayed when it was opened.
    fn records(&self) -> usize;
}

impl<L: Log + ?Sized> Log for Box<L> {
    fn append(&mut self, record: &[u8]) -> io::Result<()> {
        (**self).append(record)
    }

    fn records(&self) -> usize {
        (**self).records()
    }
}

/// Checks a record against the limits every log enforces ([`frame::check_record`]).
fn check_record(record: &[u8]) -> io::Result<()> {
    frame::check_record(record).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

/// A log kept in memory: nothing survives the process. For tests, simulations and
/// embedders that do not need durability.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryLog {
    entries: Vec<Vec<u8>>,
}

impl MemoryLog {
    /// An empty log.
    #[must_use]
    pub fn new() -> MemoryLog {
        MemoryLog::default()
    }

    /// The records, oldest first.
    #[must_use]
    pub fn entries(&self) -> &[Vec<u8>] {
        &self.entries
    }

    /// The records, oldest first, consuming the log.
    #[must_use]
    pub fn into_entries(self) -> Vec<Vec<u8>> {
        self.entries
    }
}

impl Log for MemoryLog {
    fn append(&mut self, record: &[u8]) -> io::Result<()> {
        check_record(record)?;
        self.entries.push(record.to_vec());
        Ok(())
    }

    fn records(&self) -> usize {
        self.entries.len()
    }
}

/// Why a log file could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// Reading, writing, truncating or syncing the file failed.
    #[error("log file I/O failed: {0}")]
    Io(#[from] io::Error),
    /// The file is not empty but does not start with [`FILE_HEADER`]: it is not a
    /// leasehold log, or is one of an unsupported format version. Nothing was changed.
    #[error("not a leasehold log: bad file header at offset 0: {reason}")]
    BadHeader {
        /// What is wrong with the header.
        reason: &'static str,
    },
    /// A record before the end of the file is damaged. Records after it may have been
    /// acknowledged, so the file was left unchanged.
    #[error(
        "log file is corrupt: record {record} at byte offset {offset}: {reason}; \
         the file was left unchanged because records after it may have been acknowledged"
    )]
    Corrupt {
        /// The damaged record's number, counting from 0.
        record: usize,
        /// The offset of the damaged frame's first byte.
        offset: u64,
        /// What is wrong with the frame.
        reason: &'static str,
    },
}

impl From<ScanError> for LogError {
    fn from(e: ScanError) -> LogError {
        match e {
            ScanError::BadHeader { reason } => LogError::BadHeader { reason },
            ScanError::Corrupt {
                record,
                offset,
                reason,
            } => LogError::Corrupt {
                record,
                offset,
                reason,
            },
        }
    }
}

/// What [`FileLog::open`] read from an existing file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replay {
    /// Every whole record, oldest first.
    pub records: Vec<Vec<u8>>,
    /// The torn tail that was cut off, if there was one.
    pub torn_tail: Option<TornTail>,
}

/// A log in an append-only file of checksummed frames (see the [module docs](self) for
/// the format), fsynced on every append and replayed on open.
#[derive(Debug)]
pub struct FileLog {
    file: File,
    path: PathBuf,
    len: u64,
    records: usize,
    poisoned: bool,
}

impl FileLog {
    /// Opens the log at `path`, creating it if it does not exist.
    ///
    /// A new file (or an existing empty one) gets the header, fsynced along with its
    /// directory entry. An existing file is replayed: every whole record comes back in
    /// [`Replay::records`], in order. A torn tail is cut off (the file is truncated to the
    /// end of its last whole record and fsynced) and described in [`Replay::torn_tail`].
    ///
    /// # Errors
    ///
    /// [`LogError::BadHeader`] if a non-empty file does not start with [`FILE_HEADER`],
    /// [`LogError::Corrupt`] if a record before the tail is damaged (the file is then
    /// unchanged), and [`LogError::Io`] if the file system fails.
    pub fn open(path: impl AsRef<Path>) -> Result<(FileLog, Replay), LogError> {
        let path = path.as_ref();
        let mut options = OpenOptions::new();
        options.read(true).append(true);
        let file = match options.clone().create_new(true).open(path) {
            Ok(file) => return FileLog::create(file, path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => options.open(path)?,
            Err(e) => return Err(e.into()),
        };
        let mut bytes = Vec::new();
        (&file).read_to_end(&mut bytes)?;
        if bytes.is_empty() {
            return FileLog::create(file, path);
        }
        let scan = frame::scan(&bytes)?;
        if scan.torn.is_some() {
            file.set_len(scan.end)?;
            file.sync_all()?;
        }
        let log = FileLog {
            file,
            path: path.to_path_buf(),
            len: scan.end,
            records: scan.records.len(),
            poisoned: false,
        };
        let replay = Replay {
            records: scan.records.iter().map(|r| r.to_vec()).collect(),
            torn_tail: scan.torn,
        };
        Ok((log, replay))
    }

    /// Writes the header to a new or empty file and makes it durable.
    fn create(mut file: File, path: &Path) -> Result<(FileLog, Replay), LogError> {
        file.write_all(&FILE_HEADER)?;
        file.sync_all()?;
        sync_parent_dir(path)?;
        let log = FileLog {
            file,
            path: path.to_path_buf(),
            len: FILE_HEADER_BYTES,
            records: 0,
            poisoned: false,
        };
        Ok((log, Replay::default()))
    }

    /// The path the log was opened at.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's length in bytes: the header and every whole frame.
    #[must_use]
    pub fn len_bytes(&self) -> u64 {
        self.len
    }

    /// Whether an append failed, after which the log refuses further appends: a failed
    /// write or fsync leaves the file in an unknown state (and a later fsync may report
    /// success without making the failed write durable). Reopening the file recovers,
    /// cutting off any torn tail.
    #[must_use]
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }
}

impl Log for FileLog {
    /// Appends one frame with a single `write_all`, then `sync_data`.
    fn append(&mut self, record: &[u8]) -> io::Result<()> {
        check_record(record)?;
        if self.poisoned {
            return Err(io::Error::other(
                "an earlier append to this log failed; reopen the log to recover",
            ));
        }
        let mut frame = Vec::new();
        frame::push_frame(&mut frame, record)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        match self
            .file
            .write_all(&frame)
            .and_then(|()| self.file.sync_data())
        {
            Ok(()) => {
                self.len += frame.len() as u64;
                self.records += 1;
                Ok(())
            }
            Err(e) => {
                self.poisoned = true;
                Err(e)
            }
        }
    }

    fn records(&self) -> usize {
        self.records
    }
}

/// Makes a new directory entry durable.
#[cfg(unix)]
fn sync_parent_dir(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()
}

/// Directories cannot be opened and synced here; the entry's durability is the file
/// system's.
#[cfg(not(unix))]
fn sync_parent_dir(_path: &Path) -> io::Result<()> {
    Ok(())
}
