//! The Raft log and vote of one node, kept in a [`leasehold::driver::Store`] directory.
//!
//! - Raft log index `i` is the store's record `i + 1` (Raft indexes start at 0, the
//!   store's records at 1); each record is one [`openraft::Entry`], postcard-encoded.
//!   [`RaftLogStorage::append`] writes each entry with one `write` and one fsync and
//!   reports it flushed only then.
//! - **Purging** up to an entry writes a store snapshot (a *mark*) covering its record
//!   whose bytes are the purged entry's log id (so a restart knows it), then lets the store
//!   delete the segments wholly behind it. Records of a partly purged segment stay on disk
//!   but are never read. An empty log may also start at any index (openraft's test suite
//!   does this): a mark without a purged log id covers the records before it.
//! - **The vote** is the file `raft-vote` in the same directory, replaced durably
//!   (temporary file, fsync, rename, directory fsync) before [`RaftLogStorage::save_vote`]
//!   returns.
//!
//! Any I/O failure is returned as an [`io::Error`], which stops the Raft node: nothing is
//! ever reported durable that is not.
//!
//! **Counted fsyncs.** Every fsync these writes cause is counted in [`LOG_FSYNCS`]
//! (exported as `leasehold_log_fsyncs_total`): one per appended entry, two per vote
//! saved (the file and its directory), two per truncation that cuts (the directory and
//! the cut segment), three per purge mark (the mark's file, its directory, and the
//! directory once obsolete segments are deleted). The fsyncs happen inside the core
//! store, so they are counted here, where they are caused; the two of a new segment
//! (once per segment, 16 MiB of log by default) are not counted.
//!
//! **Injected failures.** Once the switch of [`LogStore::fail_switch`] is set (the
//! fault-injection route `POST /debug/disk` sets it), every append, vote save,
//! truncation and purge fails with an I/O error "injected disk failure" without touching
//! the disk, as a failed disk would; reads still work.

use crate::durable_file::{self, invalid_data};
use crate::types::TypeConfig;
use leasehold::driver::{Log, Store, StoreOptions, write_snapshot};
use openraft::OptionalSend;
use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::type_config::alias::{EntryOf, LogIdOf, VoteOf};
use prometheus_client::metrics::counter::Counter;
use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

/// The name of the vote's file in the store directory.
const VOTE_FILE: &str = "raft-vote";

/// The fsyncs of the Raft log and vote of every [`LogStore`] of this process (a
/// `leaseholdd` process runs one node, so: of its node), counted where they are caused
/// (see the module docs). The metrics export it as `leasehold_log_fsyncs_total`.
pub static LOG_FSYNCS: LazyLock<Counter> = LazyLock::new(Counter::default);

/// Counts `n` fsyncs of the log or vote.
fn fsynced(n: u64) {
    LOG_FSYNCS.inc_by(n);
}

/// The Raft log storage of one node over a store directory. Cloning gives another handle
/// to the same log (the log reader is one).
#[derive(Debug, Clone)]
pub struct LogStore {
    inner: Arc<Mutex<Inner>>,
    /// Set: every write fails ([`LogStore::fail_switch`]).
    fail: Arc<AtomicBool>,
}

/// The open store and what is known about it.
#[derive(Debug)]
struct Inner {
    store: Store,
    dir: PathBuf,
    options: StoreOptions,
    vote: Option<VoteOf<TypeConfig>>,
    /// The first Raft index the store may hold (its records `1..=start` are behind a
    /// mark: purged, or before the log's first entry).
    start: u64,
    /// The last purged entry's log id.
    purged: Option<LogIdOf<TypeConfig>>,
    /// The last entry's log id (the purged one when the log holds none after it).
    last: Option<LogIdOf<TypeConfig>>,
}

impl LogStore {
    /// Opens (or creates) the log at `dir` with the store's default options.
    ///
    /// # Errors
    ///
    /// Any error opening the store ([`leasehold::driver::StoreError`], as an
    /// [`io::Error`]), or a vote, purge mark or last record that does not decode.
    pub fn open(dir: impl AsRef<Path>) -> io::Result<LogStore> {
        LogStore::open_with(dir, StoreOptions::default())
    }

    /// Opens (or creates) the log at `dir` with the given store options (only
    /// [`StoreOptions::segment_bytes`] matters here).
    ///
    /// # Errors
    ///
    /// As [`LogStore::open`].
    pub fn open_with(dir: impl AsRef<Path>, options: StoreOptions) -> io::Result<LogStore> {
        let dir = dir.as_ref().to_path_buf();
        let (store, recovery) = Store::open(&dir, options).map_err(io::Error::other)?;
        let (start, purged) = match &recovery.snapshot {
            Some(mark) => (
                mark.covers,
                postcard::from_bytes::<Option<LogIdOf<TypeConfig>>>(&mark.bytes)
                    .map_err(|e| invalid_data("the purge mark", e))?,
            ),
            None => (0, None),
        };
        let last = match recovery.records.last() {
            Some(record) => Some(decode_entry(record)?.log_id),
            None => purged,
        };
        let vote = match durable_file::read(&dir, VOTE_FILE)? {
            Some(bytes) => {
                Some(postcard::from_bytes(&bytes).map_err(|e| invalid_data("the vote", e))?)
            }
            None => None,
        };
        Ok(LogStore {
            inner: Arc::new(Mutex::new(Inner {
                store,
                dir,
                options,
                start,
                vote,
                purged,
                last,
            })),
            fail: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The entries with Raft indexes in `from..to` that the log still holds, with the
    /// first index it holds (above `from` when entries were purged).
    ///
    /// # Errors
    ///
    /// A read of the store failed or an entry did not decode.
    pub async fn held_entries(
        &self,
        from: u64,
        to: u64,
    ) -> io::Result<(u64, Vec<EntryOf<TypeConfig>>)> {
        self.blocking(move |inner| Ok((inner.first_held(), inner.entries(from, to)?)))
            .await
    }

    /// The switch that makes every later write of this log (appends, vote saves,
    /// truncations, purges) fail with an I/O error "injected disk failure", for fault
    /// injection. Shared by every handle of this log; off when opened.
    #[must_use]
    pub fn fail_switch(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.fail)
    }

    /// The injected failure, when the switch is set.
    fn check_disk(&self) -> io::Result<()> {
        if self.fail.load(Ordering::Acquire) {
            Err(io::Error::other("injected disk failure"))
        } else {
            Ok(())
        }
    }

    fn lock(&self) -> io::Result<MutexGuard<'_, Inner>> {
        self.inner
            .lock()
            .map_err(|_| io::Error::other("the log store's lock is poisoned"))
    }

    /// Runs `f` on the store in a blocking thread (the store does synchronous file I/O
    /// and fsyncs).
    async fn blocking<T, F>(&self, f: F) -> io::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Inner) -> io::Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut guard = inner
                .lock()
                .map_err(|_| io::Error::other("the log store's lock is poisoned"))?;
            f(&mut guard)
        })
        .await
        .map_err(io::Error::other)?
    }
}

impl Inner {
    /// The first Raft index the log holds, if it holds any.
    fn first_held(&self) -> u64 {
        self.purged.map_or(0, |p| p.index + 1).max(self.start)
    }

    /// One past the last Raft index the log holds (`first_held` or less when empty).
    fn end_held(&self) -> u64 {
        self.last.map_or(0, |l| l.index + 1)
    }

    /// The entries with Raft indexes in `from..to` that the log holds.
    fn entries(&self, from: u64, to: u64) -> io::Result<Vec<EntryOf<TypeConfig>>> {
        let (from, to) = (from.max(self.first_held()), to.min(self.end_held()));
        if from >= to {
            return Ok(Vec::new());
        }
        self.store
            .read(from + 1, to + 1)
            .map_err(io::Error::other)?
            .iter()
            .map(|record| decode_entry(record))
            .collect()
    }

    fn append(&mut self, entry: &EntryOf<TypeConfig>) -> io::Result<()> {
        let empty = self.end_held() <= self.first_held();
        if empty && entry.index() > self.store.last_record() {
            // An empty log may start anywhere: the records before it are marked as behind.
            self.mark(entry.index())?;
        }
        let next = self.store.last_record();
        if entry.index() != next {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "entry {} does not follow the log, whose next index is {next}",
                    entry.index()
                ),
            ));
        }
        let bytes = postcard::to_allocvec(entry).map_err(io::Error::other)?;
        self.store.append(&bytes)?;
        fsynced(1);
        self.last = Some(entry.log_id);
        Ok(())
    }

    fn truncate_after(&mut self, last: Option<LogIdOf<TypeConfig>>) -> io::Result<()> {
        // Records up to `start` hold no entries, so cutting below it empties the log.
        let keep = last.map_or(0, |l| l.index + 1).max(self.start);
        if keep >= self.store.last_record() {
            return Ok(());
        }
        self.store.truncate_after(keep).map_err(io::Error::other)?;
        fsynced(2);
        self.last = match last {
            Some(l) if l.index >= self.start => Some(l),
            _ => self.purged,
        };
        Ok(())
    }

    fn purge(&mut self, upto: LogIdOf<TypeConfig>) -> io::Result<()> {
        if self.purged.is_some_and(|p| p.index >= upto.index) {
            return Ok(());
        }
        self.purged = Some(upto);
        self.mark(upto.index + 1)?;
        if self.last.is_none_or(|l| l.index < upto.index) {
            self.last = Some(upto);
        }
        Ok(())
    }

    /// Durably marks the records before Raft index `start` (records `1..=start`) as
    /// holding no entries, recording the purged log id with the mark, and lets the store
    /// delete the segments wholly behind it.
    fn mark(&mut self, start: u64) -> io::Result<()> {
        let covers = start.max(self.start);
        let mark = postcard::to_allocvec(&self.purged).map_err(io::Error::other)?;
        write_snapshot(&self.dir, covers, &mark).map_err(io::Error::other)?;
        fsynced(2);
        if covers > self.store.last_record() {
            // Marked past the end (a log starting later, or a purge after installing a
            // snapshot): reopen, so the next append is the record after the mark.
            let (store, _) = Store::open(&self.dir, self.options).map_err(io::Error::other)?;
            self.store = store;
        } else {
            self.store
                .snapshot_taken(covers)
                .map_err(io::Error::other)?;
        }
        fsynced(1);
        self.start = covers;
        Ok(())
    }
}

fn decode_entry(record: &[u8]) -> io::Result<EntryOf<TypeConfig>> {
    postcard::from_bytes(record).map_err(|e| invalid_data("a log record", e))
}

/// The Raft indexes `range` names, as `from..to`.
fn index_range(range: &impl RangeBounds<u64>) -> (u64, u64) {
    let from = match range.start_bound() {
        Bound::Included(&n) => n,
        Bound::Excluded(&n) => n.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let to = match range.end_bound() {
        Bound::Included(&n) => n.saturating_add(1),
        Bound::Excluded(&n) => n,
        Bound::Unbounded => u64::MAX,
    };
    (from, to)
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<EntryOf<TypeConfig>>, io::Error> {
        let (from, to) = index_range(&range);
        self.blocking(move |inner| inner.entries(from, to)).await
    }

    async fn read_vote(&mut self) -> Result<Option<VoteOf<TypeConfig>>, io::Error> {
        Ok(self.lock()?.vote)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        let inner = self.lock()?;
        Ok(LogState {
            last_purged_log_id: inner.purged,
            last_log_id: inner.last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &VoteOf<TypeConfig>) -> Result<(), io::Error> {
        self.check_disk()?;
        let vote = *vote;
        self.blocking(move |inner| {
            let bytes = postcard::to_allocvec(&vote).map_err(io::Error::other)?;
            durable_file::write(&inner.dir, VOTE_FILE, &bytes)?;
            fsynced(2);
            inner.vote = Some(vote);
            Ok(())
        })
        .await
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: IOFlushed<TypeConfig>,
    ) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = EntryOf<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<_> = entries.into_iter().collect();
        let written = match self.check_disk() {
            Ok(()) => {
                self.blocking(move |inner| entries.iter().try_for_each(|e| inner.append(e)))
                    .await
            }
            Err(e) => Err(e),
        };
        match &written {
            Ok(()) => callback.io_completed(Ok(())),
            Err(e) => callback.io_completed(Err(io::Error::new(e.kind(), e.to_string()))),
        }
        written
    }

    async fn truncate_after(
        &mut self,
        last_log_id: Option<LogIdOf<TypeConfig>>,
    ) -> Result<(), io::Error> {
        self.check_disk()?;
        self.blocking(move |inner| inner.truncate_after(last_log_id))
            .await
    }

    async fn purge(&mut self, log_id: LogIdOf<TypeConfig>) -> Result<(), io::Error> {
        self.check_disk()?;
        self.blocking(move |inner| inner.purge(log_id)).await
    }
}
