//! The log file framing: how a sequence of records (encoded batches) is laid out in a
//! file, shared by everything that writes or reads one (the driver's on-disk log, the
//! dashboard's export and import). This module only frames and scans bytes; the caller
//! does the file work.
//!
//! ```text
//! file   = header frame*
//! header = "LHLOG\0\0\x01"                  (8 bytes: magic and format version 1)
//! frame  = len:u32le crc:u32le payload      (crc = CRC-32 of the payload)
//! ```
//!
//! A payload holds 1 to [`MAX_BATCH_BYTES`] bytes. A writer appends whole frames, so a
//! crash can damage only the last frame. [`scan`] tells the two kinds of damage apart:
//!
//! - A *torn tail*: the last frame runs past the end of the file, the last frame's
//!   checksum fails, or the file ends in zeros where a frame should start (a file system
//!   may extend a file before writing its data). It is reported in [`Scan::torn`]; the
//!   records before it are whole.
//! - *Corruption*: a frame that fails its checksum but has more bytes after it, or a frame
//!   length that no writer writes (zero, or above [`MAX_BATCH_BYTES`]). Records after it
//!   may have been acknowledged, so [`scan`] refuses the file with
//!   [`ScanError::Corrupt`], naming the record and its offset.
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

use crate::limits::MAX_BATCH_BYTES;

/// The 8 bytes every log file starts with: the magic `LHLOG\0\0` and format version 1.
pub const FILE_HEADER: [u8; 8] = *b"LHLOG\0\0\x01";

/// The bytes before each record's payload: its length and its CRC-32, both `u32` LE.
pub const FRAME_HEADER_LEN: usize = 8;

/// A record no log may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The record is empty.
    #[error("a log record must not be empty")]
    Empty,
    /// The record is longer than the largest batch.
    #[error("a log record of {len} bytes exceeds the limit of {MAX_BATCH_BYTES} bytes")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
}

/// Checks a record against the limits every log enforces: 1 to [`MAX_BATCH_BYTES`] bytes.
///
/// # Errors
///
/// [`RecordError`] naming what is wrong.
pub fn check_record(record: &[u8]) -> Result<(), RecordError> {
    if record.is_empty() {
        return Err(RecordError::Empty);
    }
    if record.len() > MAX_BATCH_BYTES {
        return Err(RecordError::TooLong { len: record.len() });
    }
    Ok(())
}

/// Appends one frame (header and payload) holding `record` to `out`.
///
/// # Errors
///
/// [`RecordError`] if the record is empty or too long; nothing is appended then.
pub fn push_frame(out: &mut Vec<u8>, record: &[u8]) -> Result<(), RecordError> {
    check_record(record)?;
    // `check_record` bounds the length far below 4 GiB.
    let len =
        u32::try_from(record.len()).map_err(|_| RecordError::TooLong { len: record.len() })?;
    out.reserve(FRAME_HEADER_LEN + record.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(record).to_le_bytes());
    out.extend_from_slice(record);
    Ok(())
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
    /// Every whole record's payload, oldest first.
    pub records: Vec<&'a [u8]>,
    /// The end of the last whole record: where the file should be cut if it has a torn
    /// tail, and where the next frame goes.
    pub end: u64,
    /// The damaged last frame, if there is one.
    pub torn: Option<TornTail>,
}

/// Reads a whole log file held in memory.
///
/// # Errors
///
/// [`ScanError::BadHeader`] if `bytes` do not start with [`FILE_HEADER`] (an empty input
/// included), [`ScanError::Corrupt`] if a record before the last is damaged.
pub fn scan<'a>(bytes: &'a [u8]) -> Result<Scan<'a>, ScanError> {
    let Some((header, mut rest)) = bytes.split_first_chunk::<8>() else {
        return Err(ScanError::BadHeader {
            reason: "the file is shorter than the 8-byte header",
        });
    };
    if header[..7] != FILE_HEADER[..7] {
        return Err(ScanError::BadHeader {
            reason: "wrong magic (expected \"LHLOG\\0\\0\")",
        });
    }
    if header[7] != FILE_HEADER[7] {
        return Err(ScanError::BadHeader {
            reason: "unsupported format version (expected 1)",
        });
    }
    let mut records = Vec::new();
    let mut offset = FILE_HEADER.len() as u64;
    let torn = |records: Vec<&'a [u8]>, offset: u64, rest: &[u8], reason| Scan {
        torn: Some(TornTail {
            record: records.len(),
            offset,
            dropped_bytes: rest.len() as u64,
            reason,
        }),
        records,
        end: offset,
    };
    loop {
        if rest.is_empty() {
            return Ok(Scan {
                records,
                end: offset,
                torn: None,
            });
        }
        let Some((frame_header, after)) = rest.split_first_chunk::<FRAME_HEADER_LEN>() else {
            return Ok(torn(
                records,
                offset,
                rest,
                "the last frame's header runs past the end of the file",
            ));
        };
        let [l0, l1, l2, l3, c0, c1, c2, c3] = *frame_header;
        let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
        let crc = u32::from_le_bytes([c0, c1, c2, c3]);
        if !(1..=MAX_BATCH_BYTES).contains(&len) {
            if rest.iter().all(|&b| b == 0) {
                return Ok(torn(
                    records,
                    offset,
                    rest,
                    "the file ends in zeros where a frame should start",
                ));
            }
            return Err(ScanError::Corrupt {
                record: records.len(),
                offset,
                reason: if len == 0 {
                    "frame length is zero"
                } else {
                    "frame length exceeds the largest batch"
                },
            });
        }
        if after.len() < len {
            return Ok(torn(
                records,
                offset,
                rest,
                "the last record runs past the end of the file",
            ));
        }
        let (payload, after) = after.split_at(len);
        if crc32fast::hash(payload) != crc {
            if after.is_empty() {
                return Ok(torn(
                    records,
                    offset,
                    rest,
                    "the last record's checksum does not match",
                ));
            }
            return Err(ScanError::Corrupt {
                record: records.len(),
                offset,
                reason: "record checksum does not match and more data follows it",
            });
        }
        records.push(payload);
        offset += (FRAME_HEADER_LEN + len) as u64;
        rest = after;
    }
}
