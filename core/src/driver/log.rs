//! Durable logs: where the runtime writes each encoded batch before acknowledging it.
//!
//! A [`Log`] holds records, each one encoded [`Batch`](crate::Batch). When
//! [`Log::append`] returns `Ok`, the record is durable. [`MemoryLog`] keeps records in
//! memory; [`FileLog`] keeps them in an append-only file.
//!
//! # The file format
//!
//! ```text
//! file   = header frame*
//! header = "LHLOG\0\0\x01"                  (8 bytes: magic and format version 1)
//! frame  = len:u32le crc:u32le payload      (crc = CRC-32 of the payload)
//! ```
//!
//! A payload holds 1 to [`MAX_BATCH_BYTES`] bytes. Every append is one write of a whole
//! frame followed by `fsync` ([`File::sync_data`]), so a crash can damage only the
//! frame that was being appended, which was never acknowledged. [`FileLog::open`] tells
//! the two cases apart:
//!
//! - A *torn tail*: the last frame runs past the end of the file, the last frame's
//!   checksum fails, or the file ends in zeros where a frame should start (a filesystem
//!   may extend the file before writing its data). It is reported in [`Replay::torn_tail`]
//!   and cut off, so later appends continue cleanly.
//! - *Corruption*: a frame that fails its checksum but has more bytes after it, or a frame
//!   length that no append writes (zero, or above [`MAX_BATCH_BYTES`]). Records after it
//!   may have been acknowledged, so [`FileLog::open`] returns [`LogError::Corrupt`] and
//!   changes nothing; an operator must look at the file.
//!
//! A file has one writer: [`FileLog`] does not lock it, and two logs open on one file
//! would interleave their frames.

use crate::limits::MAX_BATCH_BYTES;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// The 8 bytes every log file starts with: the magic `LHLOG\0\0` and format version 1.
pub const FILE_HEADER: [u8; 8] = *b"LHLOG\0\0\x01";

/// The bytes before each record's payload: its length and its CRC-32, both `u32` LE.
pub const FRAME_HEADER_LEN: usize = 8;

/// `FILE_HEADER.len()` as a file offset.
const FILE_HEADER_BYTES: u64 = FILE_HEADER.len() as u64;
/// `FRAME_HEADER_LEN` as a file offset.
const FRAME_HEADER_BYTES: u64 = FRAME_HEADER_LEN as u64;
/// The read buffer for replay.
const READ_BUFFER: usize = 256 << 10;

/// A durable, append-only sequence of records, each one encoded batch.
///
/// Records are non-empty and at most [`MAX_BATCH_BYTES`] long (an encoded batch always
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

/// Checks a record against the limits every log enforces.
fn check_record(record: &[u8]) -> io::Result<()> {
    if record.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a log record must not be empty",
        ));
    }
    if record.len() > MAX_BATCH_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a log record of {} bytes exceeds the limit of {MAX_BATCH_BYTES} bytes",
                record.len()
            ),
        ));
    }
    Ok(())
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
        "log file is corrupt at byte offset {offset}: {reason}; \
         the file was left unchanged because records after it may have been acknowledged"
    )]
    Corrupt {
        /// The offset of the damaged frame's first byte.
        offset: u64,
        /// What is wrong with the frame.
        reason: &'static str,
    },
}

/// A damaged tail found by [`FileLog::open`]: the remains of an append that a crash
/// interrupted. It was never acknowledged; `open` cut it off the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TornTail {
    /// Where the damaged frame started; the file now ends here.
    pub offset: u64,
    /// How many bytes were cut off.
    pub dropped_bytes: u64,
    /// What was wrong with the frame.
    pub reason: &'static str,
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
        let file_len = file.metadata()?.len();
        if file_len == 0 {
            return FileLog::create(file, path);
        }
        let scan = scan(&file, file_len)?;
        let torn_tail = scan.torn.map(|(offset, reason)| TornTail {
            offset,
            dropped_bytes: file_len - offset,
            reason,
        });
        if torn_tail.is_some() {
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
        Ok((
            log,
            Replay {
                records: scan.records,
                torn_tail,
            },
        ))
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
        let len = u32::try_from(record.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "log record too long"))?;
        let mut frame = Vec::with_capacity(FRAME_HEADER_LEN + record.len());
        frame.extend_from_slice(&len.to_le_bytes());
        frame.extend_from_slice(&crc32fast::hash(record).to_le_bytes());
        frame.extend_from_slice(record);
        match self
            .file
            .write_all(&frame)
            .and_then(|()| self.file.sync_data())
        {
            Ok(()) => {
                self.len += FRAME_HEADER_BYTES + u64::from(len);
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

/// The result of reading a log file.
struct Scan {
    /// The whole records, in order.
    records: Vec<Vec<u8>>,
    /// The end of the last whole record.
    end: u64,
    /// The torn tail's offset (equal to `end`) and reason, if any.
    torn: Option<(u64, &'static str)>,
}

impl Scan {
    /// A scan that found a torn tail at `offset`, the end of the last whole record.
    fn torn(records: Vec<Vec<u8>>, offset: u64, reason: &'static str) -> Scan {
        Scan {
            records,
            end: offset,
            torn: Some((offset, reason)),
        }
    }
}

/// Reads the header and every frame of a non-empty file of `file_len` bytes.
fn scan(file: &File, file_len: u64) -> Result<Scan, LogError> {
    let mut reader = BufReader::with_capacity(READ_BUFFER, file);
    if file_len < FILE_HEADER_BYTES {
        return Err(LogError::BadHeader {
            reason: "the file is shorter than the 8-byte header",
        });
    }
    let mut header = [0u8; FILE_HEADER.len()];
    reader.read_exact(&mut header)?;
    if header[..7] != FILE_HEADER[..7] {
        return Err(LogError::BadHeader {
            reason: "wrong magic (expected \"LHLOG\\0\\0\")",
        });
    }
    if header[7] != FILE_HEADER[7] {
        return Err(LogError::BadHeader {
            reason: "unsupported format version (expected 1)",
        });
    }

    let mut records = Vec::new();
    let mut offset = FILE_HEADER_BYTES;
    loop {
        let remaining = file_len - offset;
        if remaining == 0 {
            return Ok(Scan {
                records,
                end: offset,
                torn: None,
            });
        }
        if remaining < FRAME_HEADER_BYTES {
            return Ok(Scan::torn(
                records,
                offset,
                "the last frame's header runs past the end of the file",
            ));
        }
        let mut frame_header = [0u8; FRAME_HEADER_LEN];
        reader.read_exact(&mut frame_header)?;
        let [l0, l1, l2, l3, c0, c1, c2, c3] = frame_header;
        let len = u32::from_le_bytes([l0, l1, l2, l3]);
        let crc = u32::from_le_bytes([c0, c1, c2, c3]);
        let len = match usize::try_from(len) {
            Ok(len) if (1..=MAX_BATCH_BYTES).contains(&len) => len,
            _ => {
                if frame_header == [0; FRAME_HEADER_LEN]
                    && rest_is_zero(&mut reader, remaining - FRAME_HEADER_BYTES)?
                {
                    return Ok(Scan::torn(
                        records,
                        offset,
                        "the file ends in zeros where a frame should start",
                    ));
                }
                return Err(LogError::Corrupt {
                    offset,
                    reason: if len == 0 {
                        "frame length is zero"
                    } else {
                        "frame length exceeds the largest batch"
                    },
                });
            }
        };
        let frame_len = FRAME_HEADER_BYTES + len as u64;
        if frame_len > remaining {
            return Ok(Scan::torn(
                records,
                offset,
                "the last record runs past the end of the file",
            ));
        }
        // `len` is at most MAX_BATCH_BYTES and the bytes are in the file.
        let mut payload = vec![0u8; len];
        reader.read_exact(&mut payload)?;
        if crc32fast::hash(&payload) != crc {
            if frame_len == remaining {
                return Ok(Scan::torn(
                    records,
                    offset,
                    "the last record's checksum does not match",
                ));
            }
            return Err(LogError::Corrupt {
                offset,
                reason: "record checksum does not match and more data follows it",
            });
        }
        records.push(payload);
        offset += frame_len;
    }
}

/// Whether the next `n` bytes of `reader` are all zero.
fn rest_is_zero(reader: &mut impl BufRead, mut n: u64) -> io::Result<bool> {
    while n > 0 {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let take = buf.len().min(usize::try_from(n).unwrap_or(usize::MAX));
        if buf[..take].iter().any(|&b| b != 0) {
            return Ok(false);
        }
        reader.consume(take);
        n -= take as u64;
    }
    Ok(true)
}
