//! The exported log file: the committed batches, each as the log stores it (a postcard
//! envelope), framed so that a file holds a whole log.
//!
//! Layout: the 8-byte magic `LHLOG\0\0\x01`, then for every batch its length as a `u32`
//! little-endian followed by its bytes. Reading checks every length against what is left
//! and against the largest batch the codec accepts, so a corrupt file gives an error,
//! never a panic or a huge allocation.

use leasehold::limits::MAX_BATCH_BYTES;

/// The first bytes of every log file (the last byte is the framing version).
pub const MAGIC: &[u8; 8] = b"LHLOG\0\0\x01";

/// Why a file is not a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFileError {
    /// It does not start with [`MAGIC`].
    NotALog,
    /// A batch's length runs past the end of the file.
    Truncated {
        /// The batch, counting from 0.
        batch: usize,
    },
    /// A batch is larger than the codec accepts.
    TooLarge {
        /// The batch, counting from 0.
        batch: usize,
    },
}

impl std::fmt::Display for LogFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogFileError::NotALog => write!(f, "not a leasehold log (no LHLOG header)"),
            LogFileError::Truncated { batch } => write!(f, "batch {batch} is cut short"),
            LogFileError::TooLarge { batch } => write!(f, "batch {batch} is too large"),
        }
    }
}

/// The file holding `batches`.
#[must_use]
pub fn write(batches: &[Vec<u8>]) -> Vec<u8> {
    let size = MAGIC.len() + batches.iter().map(|b| 4 + b.len()).sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(MAGIC);
    for b in batches {
        let len = u32::try_from(b.len()).expect("a batch is far smaller than 4 GiB");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(b);
    }
    out
}

/// The batches of a file made by [`write`].
pub fn read(file: &[u8]) -> Result<Vec<Vec<u8>>, LogFileError> {
    let mut rest = file.strip_prefix(MAGIC).ok_or(LogFileError::NotALog)?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let batch = out.len();
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .ok_or(LogFileError::Truncated { batch })?;
        let len = u32::from_le_bytes(*len) as usize;
        if len > MAX_BATCH_BYTES {
            return Err(LogFileError::TooLarge { batch });
        }
        if tail.len() < len {
            return Err(LogFileError::Truncated { batch });
        }
        let (bytes, tail) = tail.split_at(len);
        out.push(bytes.to_vec());
        rest = tail;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let batches = vec![vec![1, 2, 3], vec![], vec![9; 300]];
        assert_eq!(read(&write(&batches)).unwrap(), batches);
        assert_eq!(read(&write(&[])).unwrap(), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn refuses_what_is_not_a_log() {
        assert_eq!(read(b"hello"), Err(LogFileError::NotALog));
        let mut file = write(&[vec![1, 2, 3]]);
        file.pop();
        assert_eq!(read(&file), Err(LogFileError::Truncated { batch: 0 }));
        let mut file = MAGIC.to_vec();
        file.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(read(&file), Err(LogFileError::TooLarge { batch: 0 }));
        file.truncate(MAGIC.len() + 2);
        assert_eq!(read(&file), Err(LogFileError::Truncated { batch: 0 }));
    }
}
