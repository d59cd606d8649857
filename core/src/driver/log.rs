//! Durable logs: where the runtime writes each encoded batch before acknowledging it.
//!
//! A [`Log`] holds records, each one encoded [`Batch`](crate::Batch). When
//! [`Log::append`] returns `Ok`, the record is durable. [`MemoryLog`] keeps records in
//! memory; [`Store`](super::Store) keeps them in segment files with snapshots.

use super::error::StoreError;
use crate::frame;
use std::io;

/// A durable, append-only sequence of records, each one encoded batch.
///
/// Records are non-empty and at most [`MAX_BATCH_BYTES`](crate::limits::MAX_BATCH_BYTES) long (an encoded batch always
/// is); `append` refuses others with [`io::ErrorKind::InvalidInput`] and appends nothing.
pub trait Log: Send {
    /// Appends one record (the bytes of [`Batch::encode`](crate::Batch::encode)). When
    /// this returns `Ok`, the record is durable and will be replayed after a restart.
    /// When it returns `Err`, the record may or may not have been stored, and the log may
    /// refuse further appends (see [`Store::is_poisoned`](super::Store::is_poisoned)).
    fn append(&mut self, record: &[u8]) -> io::Result<()>;

    /// Appends `records` in order, as [`Log::append`] would one after the other; a log
    /// may make them durable together ([`Store`](super::Store) writes them at once and
    /// fsyncs once). When this returns `Ok`, every one of them is durable.
    ///
    /// # Errors
    ///
    /// [`PartialAppend`]: how many of the first records are durable (each of the others
    /// may or may not have been stored, as after a failed [`Log::append`]), and why the
    /// next failed.
    fn append_all(&mut self, records: &[&[u8]]) -> Result<(), PartialAppend> {
        for (durable, record) in records.iter().enumerate() {
            self.append(record)
                .map_err(|error| PartialAppend { durable, error })?;
        }
        Ok(())
    }

    /// How many records the log holds, counting those replayed when it was opened.
    fn records(&self) -> usize;

    /// A snapshot covering the first `covers` records is durable: the log may delete
    /// what lies wholly behind it. Logs without snapshots ignore it.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when deleting fails (the records stay, and nothing is lost).
    fn snapshot_taken(&mut self, covers: u64) -> Result<(), StoreError> {
        let _ = covers;
        Ok(())
    }
}

impl<L: Log + ?Sized> Log for Box<L> {
    fn append(&mut self, record: &[u8]) -> io::Result<()> {
        (**self).append(record)
    }

    fn append_all(&mut self, records: &[&[u8]]) -> Result<(), PartialAppend> {
        (**self).append_all(records)
    }

    fn records(&self) -> usize {
        (**self).records()
    }

    fn snapshot_taken(&mut self, covers: u64) -> Result<(), StoreError> {
        (**self).snapshot_taken(covers)
    }
}

/// How far a [`Log::append_all`] got before it failed.
#[derive(Debug)]
pub struct PartialAppend {
    /// How many of the first records are durable.
    pub durable: usize,
    /// Why the next one failed.
    pub error: io::Error,
}

/// Checks a record against the limits every log enforces ([`frame::check_record`]).
pub(super) fn check_record(record: &[u8]) -> io::Result<()> {
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
