//! The log file: the committed batches, each as the log stores it (a postcard
//! envelope), in the one log framing of [`leasehold::frame`] — the same file the
//! driver's on-disk log writes, so a log written by a service that embeds the driver
//! opens here, and a file exported here opens in the driver.
//!
//! Reading keeps every whole record of a file whose last frame is torn (an append a
//! crash interrupted) and says so; a file that is not a leasehold log, or is damaged
//! before its end, is refused with a message that names the record and its offset.

use leasehold::frame::{self, FILE_HEADER, RecordError, ScanError, TornTail};

/// A log file, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// Every whole record (an encoded batch), oldest first.
    pub records: Vec<Vec<u8>>,
    /// Where each record's frame starts in the file (frames follow one another: a
    /// frame starts where the payload before it ends).
    pub offsets: Vec<u64>,
    /// The damaged last frame, left out, if there was one.
    pub torn: Option<TornTail>,
}

impl LogFile {
    /// The byte offset of record `i`'s frame in the file.
    #[must_use]
    pub fn offset(&self, i: usize) -> u64 {
        self.offsets
            .get(i)
            .copied()
            .unwrap_or(FILE_HEADER.len() as u64)
    }

    /// What the reader should know about a torn tail, if the file had one.
    #[must_use]
    pub fn torn_notice(&self) -> Option<String> {
        self.torn.map(|t| {
            format!(
                "torn tail: record {} at byte offset {} ({}; {} bytes) was left out; \
                 the {} whole records before it were imported",
                t.record, t.offset, t.reason, t.dropped_bytes, t.record
            )
        })
    }
}

/// The file holding `batches`, in order.
///
/// # Errors
///
/// [`RecordError`] for a batch no log may hold (empty, or larger than a batch may be).
pub fn write(batches: &[Vec<u8>]) -> Result<Vec<u8>, RecordError> {
    frame::file(batches.iter().map(Vec::as_slice))
}

/// The records of a log file.
///
/// # Errors
///
/// [`ScanError::BadHeader`] for a file that is not a leasehold log,
/// [`ScanError::Corrupt`] (naming the record and its offset) for one damaged before its
/// last frame.
pub fn read(file: &[u8]) -> Result<LogFile, ScanError> {
    let scan = frame::scan(file)?;
    // The records are slices of `file`: where one ends, the next frame starts.
    let end_of = |r: &[u8]| (r.as_ptr() as usize - file.as_ptr() as usize + r.len()) as u64;
    let offsets = std::iter::once(FILE_HEADER.len() as u64)
        .chain(scan.records.iter().map(|r| end_of(r)))
        .take(scan.records.len())
        .collect();
    Ok(LogFile {
        records: scan.records.into_iter().map(<[u8]>::to_vec).collect(),
        offsets,
        torn: scan.torn,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use leasehold::frame::FRAME_HEADER_LEN;

    /// Where record `i` of a file written now starts, the records before it being
    /// `before` bytes long.
    fn at(i: usize, before: usize) -> u64 {
        (FILE_HEADER.len() + i * FRAME_HEADER_LEN + before) as u64
    }

    #[test]
    fn round_trip() {
        let batches = vec![vec![1, 2, 3], vec![7], vec![9; 300]];
        let file = write(&batches).unwrap();
        assert!(file.starts_with(&FILE_HEADER));
        let read = read(&file).unwrap();
        assert_eq!(
            (read.records.as_slice(), read.torn),
            (batches.as_slice(), None)
        );
        assert_eq!(read.offsets, [at(0, 0), at(1, 3), at(2, 4)]);
        assert_eq!(read.offset(1), at(1, 3));
        assert_eq!(read.torn_notice(), None);
        assert_eq!(super::read(&write(&[]).unwrap()).unwrap().records.len(), 0);
        assert!(write(&[vec![]]).is_err(), "an empty record is no batch");
    }

    #[test]
    fn a_torn_tail_keeps_the_whole_records() {
        let file = write(&[vec![1, 2, 3], vec![4, 5, 6]]).unwrap();
        let read = read(&file[..file.len() - 1]).unwrap();
        assert_eq!(read.records, [vec![1, 2, 3]]);
        let notice = read.torn_notice().unwrap();
        let expected = format!("record 1 at byte offset {}", at(1, 3));
        assert!(notice.contains(&expected), "{notice}");
    }

    #[test]
    fn refuses_what_is_not_a_log_and_names_a_corrupt_record() {
        let e = read(b"hello").unwrap_err();
        assert!(e.to_string().starts_with("not a leasehold log"), "{e}");
        let mut file = write(&[vec![1, 2, 3], vec![4, 5, 6], vec![7]]).unwrap();
        // A byte of record 1's payload.
        let offset = at(1, 3);
        file[offset as usize + FRAME_HEADER_LEN] ^= 0xff;
        let e = read(&file).unwrap_err();
        assert!(
            matches!(e, ScanError::Corrupt { record: 1, offset: o, .. } if o == offset),
            "{e:?}"
        );
        let expected = format!("record 1 at byte offset {offset}");
        assert!(e.to_string().contains(&expected), "{e}");
    }
}
