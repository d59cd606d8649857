//! The log file framing: how a sequence of records (encoded batches) is laid out in a
//! file, shared by everything that writes or reads one (the driver's on-disk store, the
//! dashboard's export and import). This module only frames and scans bytes; the caller
//! does the file work.
//!
//! ```text
//! file   = header frame*
//! header = "LHLOG\0\0\x02"                        (8 bytes: magic and format version 2)
//! frame  = len:u32le crc:u32le hcrc:u32le payload (crc = CRC-32 of the payload,
//!                                                  hcrc = CRC-32 of len and crc)
//! ```
//!
//! A payload holds 1 to [`MAX_BATCH_BYTES`] bytes. A writer appends whole frames, so a
//! crash can damage only the last frame. [`scan`] tells the two kinds of damage apart:
//!
//! - A *torn tail*: the last frame's header runs past the end of the file, its payload
//!   runs past the end (by a length its header checksum vouches for), its payload's
//!   checksum fails with nothing after it, or the file ends in zeros where a frame should
//!   start (a file system may extend a file before writing its data). It is reported in
//!   [`Scan::torn`]; the records before it are whole.
//! - *Corruption*: a frame header that fails its own checksum (unless only zeros follow),
//!   or a payload that fails its checksum with more bytes after it. Records after it may
//!   have been acknowledged, so [`scan`] refuses the file with [`ScanError::Corrupt`],
//!   naming the record and its offset.
//!
//! The header checksum is what makes the two always distinguishable: without it, a
//! damaged length that points past the end of the file looks like a torn tail, and
//! cutting there would drop acknowledged records behind it.
//!
//! Version 1 files (`LHLOG\0\0\x01`, frames of `len crc payload` without the header
//! checksum), written by earlier releases, are still read, with the rules they had.
//!
//! Snapshot files use the same frames: [`snapshot_file`] holds one frame whose payload is
//! the log position the snapshot covers and the snapshot's bytes.
//!
//! ```
//! use leasehold::frame;
//!
//! let file = frame::file([&b"first"[..], b"second"]).unwrap();
//! let scan = frame::scan(&file).unwrap();
//! assert_eq!(scan.records, [&b"first"[..], b"second"]);
//! assert_eq!(scan.torn, None);
//!
//! // Cut in the middle of the last record: a torn tail, the first record is whole.
//! let scan = frame::scan(&file[..file.len() - 2]).unwrap();
//! assert_eq!(scan.records, [&b"first"[..]]);
//! assert_eq!(scan.torn.unwrap().record, 1);
//! ```

use crate::limits::{MAX_BATCH_BYTES, MAX_SNAPSHOT_BYTES};

/// The 8 bytes every log file written now starts with: the magic `LHLOG\0\0` and
/// format version 2 (frames with a header checksum).
pub const FILE_HEADER: [u8; 8] = *b"LHLOG\0\0\x02";

/// The header of version 1 files (frames without a header checksum): read, never written.
pub const FILE_HEADER_V1: [u8; 8] = *b"LHLOG\0\0\x01";

/// The bytes before each record's payload: its length, its CRC-32 and the CRC-32 of
/// those 8 bytes, all `u32` LE.
pub const FRAME_HEADER_LEN: usize = 12;

/// The frame header of version 1 files: length and CRC-32 of the payload.
const FRAME_HEADER_LEN_V1: usize = 8;

/// A record no log may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The record is empty.
    #[error("a log record must not be empty")]
    Empty,
    /// The record is longer than a frame of its kind may be ([`MAX_BATCH_BYTES`] for a
    /// log record, [`MAX_SNAPSHOT_BYTES`] and its 8-byte position for a snapshot).
    #[error("a record of {len} bytes exceeds the limit of {limit} bytes")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
}

/// Checks a record against the limits every log enforces: 1 to [`MAX_BATCH_BYTES`] bytes.
///
/// # Errors
///
/// [`RecordError`] naming what is wrong.
pub fn check_record(record: &[u8]) -> Result<(), RecordError> {
    check_len(record, MAX_BATCH_BYTES)
}

/// Checks that `record` holds 1 to `limit` bytes.
fn check_len(record: &[u8], limit: usize) -> Result<(), RecordError> {
    if record.is_empty() {
        return Err(RecordError::Empty);
    }
    if record.len() > limit {
        return Err(RecordError::TooLong {
            len: record.len(),
            limit,
        });
    }
    Ok(())
}

/// The largest snapshot frame: a snapshot and the 8-byte record count it covers.
const SNAPSHOT_FRAME_BYTES: usize = MAX_SNAPSHOT_BYTES + 8;

/// Appends one frame (header and payload) holding `record` to `out`.
///
/// # Errors
///
/// [`RecordError`] if the record is empty or too long; nothing is appended then.
pub fn push_frame(out: &mut Vec<u8>, record: &[u8]) -> Result<(), RecordError> {
    check_record(record)?;
    push_checked(out, record);
    Ok(())
}

/// Appends the frame of a record whose length was checked (at most
/// [`SNAPSHOT_FRAME_BYTES`], far below 4 GiB).
fn push_checked(out: &mut Vec<u8>, record: &[u8]) {
    let len = u32::try_from(record.len()).unwrap_or(u32::MAX);
    let mut header = [0u8; FRAME_HEADER_LEN];
    header[..4].copy_from_slice(&len.to_le_bytes());
    header[4..8].copy_from_slice(&crc32fast::hash(record).to_le_bytes());
    let check = crc32fast::hash(&header[..8]);
    header[8..].copy_from_slice(&check.to_le_bytes());
    out.reserve(FRAME_HEADER_LEN + record.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(record);
}

/// A whole log file holding `records`, in order.
///
/// # Errors
///
/// [`RecordError`] for the first record that is empty or too long.
pub fn file<'a>(records: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>, RecordError> {
    let mut out = FILE_HEADER.to_vec();
    for record in records {
        push_frame(&mut out, record)?;
    }
    Ok(out)
}

/// A damaged last frame: the remains of an append that a crash interrupted, which was
/// never acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TornTail {
    /// The damaged record's number, counting from 0 (equal to the number of whole
    /// records before it).
    pub record: usize,
    /// Where the damaged frame starts: the end of the last whole record.
    pub offset: u64,
    /// How many bytes from there to the end of the file.
    pub dropped_bytes: u64,
    /// What is wrong with the frame.
    pub reason: &'static str,
}

/// Why bytes are not a readable log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// The bytes do not start with [`FILE_HEADER`]: not a leasehold log, or one of an
    /// unsupported format version.
    #[error("not a leasehold log: bad file header at offset 0: {reason}")]
    BadHeader {
        /// What is wrong with the header.
        reason: &'static str,
    },
    /// A record before the end is damaged. Records after it may have been acknowledged,
    /// so the log must not be cut there.
    #[error("record {record} at byte offset {offset} is corrupt: {reason}")]
    Corrupt {
        /// The damaged record's number, counting from 0.
        record: usize,
        /// The offset of the damaged frame's first byte.
        offset: u64,
        /// What is wrong with the frame.
        reason: &'static str,
    },
}

/// What [`scan`] found: the whole records, where they end, and a torn tail if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan<'a> {
    /// The file's format version (1 or 2). Appends go only to version 2 files.
    pub version: u8,
    /// Every whole record's payload, oldest first.
    pub records: Vec<&'a [u8]>,
    /// The end of the last whole record: where the file should be cut if it has a torn
    /// tail, and where the next frame goes.
    pub end: u64,
    /// The damaged last frame, if there is one.
    pub torn: Option<TornTail>,
}

/// Reads a whole log file held in memory, of either format version.
///
/// # Errors
///
/// [`ScanError::BadHeader`] if `bytes` do not start with [`FILE_HEADER`] or
/// [`FILE_HEADER_V1`] (an empty input included), [`ScanError::Corrupt`] if a record
/// before the last is damaged, or a frame header fails its checksum.
pub fn scan<'a>(bytes: &'a [u8]) -> Result<Scan<'a>, ScanError> {
    let Some((header, rest)) = bytes.split_first_chunk::<8>() else {
        return Err(ScanError::BadHeader {
            reason: "the file is shorter than the 8-byte header",
        });
    };
    if header[..7] != FILE_HEADER[..7] {
        return Err(ScanError::BadHeader {
            reason: "wrong magic (expected \"LHLOG\\0\\0\")",
        });
    }
    let version = header[7];
    if version != FILE_HEADER[7] && version != FILE_HEADER_V1[7] {
        return Err(ScanError::BadHeader {
            reason: "unsupported format version (expected 1 or 2)",
        });
    }
    let mut scan = Scan {
        version,
        records: Vec::new(),
        end: FILE_HEADER.len() as u64,
        torn: None,
    };
    let mut rest = rest;
    while !rest.is_empty() {
        match next_frame(rest, version == FILE_HEADER[7], MAX_BATCH_BYTES) {
            Frame::Whole { payload, len } => {
                scan.records.push(payload);
                scan.end += len as u64;
                rest = &rest[len..];
            }
            Frame::Torn(reason) => {
                scan.torn = Some(TornTail {
                    record: scan.records.len(),
                    offset: scan.end,
                    dropped_bytes: rest.len() as u64,
                    reason,
                });
                break;
            }
            Frame::Corrupt(reason) => {
                return Err(ScanError::Corrupt {
                    record: scan.records.len(),
                    offset: scan.end,
                    reason,
                });
            }
        }
    }
    Ok(scan)
}

/// What the bytes at a frame's start hold.
enum Frame<'a> {
    /// A whole frame: its payload and its length with the header.
    Whole { payload: &'a [u8], len: usize },
    /// The remains of an interrupted append: nothing whole follows.
    Torn(&'static str),
    /// Damage with more data after it.
    Corrupt(&'static str),
}

/// Reads the frame at the start of `rest` (not empty); `checked` for version 2 frames.
fn next_frame(rest: &[u8], checked: bool, limit: usize) -> Frame<'_> {
    let header_len = if checked {
        FRAME_HEADER_LEN
    } else {
        FRAME_HEADER_LEN_V1
    };
    if rest.iter().all(|&b| b == 0) {
        return Frame::Torn("the file ends in zeros where a frame should start");
    }
    if rest.len() < header_len {
        return Frame::Torn("the last frame's header runs past the end of the file");
    }
    let word = |i: usize| u32::from_le_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]);
    if checked && crc32fast::hash(&rest[..8]) != word(8) {
        return Frame::Corrupt("frame header checksum does not match");
    }
    let len = word(0) as usize;
    if !(1..=limit).contains(&len) {
        return Frame::Corrupt(if len == 0 {
            "frame length is zero"
        } else {
            "frame length exceeds the largest batch"
        });
    }
    let Some(payload) = rest.get(header_len..header_len + len) else {
        return Frame::Torn("the last record runs past the end of the file");
    };
    if crc32fast::hash(payload) != word(4) {
        return if rest.len() == header_len + len {
            Frame::Torn("the last record's checksum does not match")
        } else {
            Frame::Corrupt("record checksum does not match and more data follows it")
        };
    }
    Frame::Whole {
        payload,
        len: header_len + len,
    }
}

/// The 8 bytes every snapshot file starts with: the magic `LHSNAP\0` and version 1.
pub const SNAPSHOT_HEADER: [u8; 8] = *b"LHSNAP\0\x01";

/// A snapshot file: [`SNAPSHOT_HEADER`], then one frame whose payload is `covers` (the
/// number of log records the snapshot includes, `u64` LE) followed by `snapshot`.
///
/// # Errors
///
/// [`RecordError`] if the snapshot is larger than [`MAX_SNAPSHOT_BYTES`].
pub fn snapshot_file(covers: u64, snapshot: &[u8]) -> Result<Vec<u8>, RecordError> {
    let mut payload = Vec::with_capacity(8 + snapshot.len());
    payload.extend_from_slice(&covers.to_le_bytes());
    payload.extend_from_slice(snapshot);
    check_len(&payload, SNAPSHOT_FRAME_BYTES)?;
    let mut out = SNAPSHOT_HEADER.to_vec();
    push_checked(&mut out, &payload);
    Ok(out)
}

/// Reads a snapshot file made by [`snapshot_file`]: the records it covers and the
/// snapshot's bytes.
///
/// # Errors
///
/// [`ScanError::BadHeader`] for a file that is not a snapshot, [`ScanError::Corrupt`]
/// (record 0 at its offset) for one whose frame is damaged, cut short or followed by
/// anything.
pub fn read_snapshot_file(bytes: &[u8]) -> Result<(u64, &[u8]), ScanError> {
    let Some(rest) = bytes.strip_prefix(&SNAPSHOT_HEADER) else {
        return Err(ScanError::BadHeader {
            reason: "not a snapshot file (expected \"LHSNAP\\0\\x01\")",
        });
    };
    let corrupt = |reason| ScanError::Corrupt {
        record: 0,
        offset: SNAPSHOT_HEADER.len() as u64,
        reason,
    };
    if rest.is_empty() {
        return Err(corrupt("the snapshot file holds no frame"));
    }
    match next_frame(rest, true, SNAPSHOT_FRAME_BYTES) {
        Frame::Whole { payload, len } if len == rest.len() && payload.len() >= 8 => {
            let (covers, snapshot) = payload.split_at(8);
            let covers = u64::from_le_bytes(covers.try_into().unwrap_or_default());
            Ok((covers, snapshot))
        }
        Frame::Whole { payload, .. } if payload.len() < 8 => {
            Err(corrupt("the snapshot frame is too short"))
        }
        Frame::Whole { .. } => Err(corrupt("bytes follow the snapshot's frame")),
        Frame::Torn(reason) | Frame::Corrupt(reason) => Err(corrupt(reason)),
    }
}
