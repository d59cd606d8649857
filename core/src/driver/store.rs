//! The on-disk store: the log in segment files, snapshots that let the log behind them
//! be deleted, and start-up that loads the newest snapshot and replays only what follows.
//!
//! # The data directory
//!
//! ```text
//! DIR/seg-00000000000000000001.log    segment: a log file (crate::frame) whose first
//! DIR/seg-00000000000000004097.log      record is the log's record number N (from 1)
//! DIR/snap-00000000000000004000.snap  snapshot covering records 1..=4000
//! ```
//!
//! - **Appends** go to the last segment, one frame per record, one `write` and one
//!   `fdatasync` per call ([`Log::append`] returns only then; [`Log::append_all`] writes
//!   the frames of all its records that belong in the segment at once, and syncs once
//!   for them). Past [`StoreOptions::segment_bytes`] the next record starts a new segment
//!   (written under a temporary name with its header, fsynced, renamed, and the
//!   directory fsynced).
//! - **Snapshots** ([`write_snapshot`]): the state machine's snapshot and the number of
//!   records it covers ([`frame::snapshot_file`]), written to a temporary file, fsynced,
//!   renamed, and the directory fsynced. Only then does [`Store::snapshot_taken`] delete
//!   the segments wholly behind it and the older snapshots.
//! - **Start-up** ([`Store::open`]) deletes leftover temporary files, loads the newest
//!   valid snapshot, deletes what it makes obsolete (a crash may have interrupted a
//!   deletion), and replays the segments after it. A torn tail of the last segment (an
//!   append a crash interrupted, never acknowledged) is cut off; a damaged record
//!   anywhere else, or a missing segment, refuses to open naming the file and offset. A
//!   damaged newest snapshot is passed over for an older one (or for none) only when the
//!   log behind that one still exists; otherwise the store refuses to open, naming it.
//! - **Upgrade**: a single log file written by earlier releases (`FileLog`, format
//!   version 1) at the store's path is migrated once: renamed aside, its records written
//!   as the first segment of a new directory, fsynced, and only then removed. A crash
//!   during the migration redoes it on the next open.
//!
//! - **For a replicated log**: [`Store::read`] reads records back by number and
//!   [`Store::truncate_after`] drops an uncommitted tail durably (later segments first,
//!   so a crash part way leaves a whole, shorter log).
//!
//! A directory has one writer: nothing locks it.

pub use super::error::StoreError;
use super::log::{Log, PartialAppend, check_record};
use crate::frame::{self, ScanError, TornTail};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// When segments roll and snapshots are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// Start a new segment once the current one holds this many bytes (16 MiB).
    pub segment_bytes: u64,
    /// Take a snapshot after this many records (batches) since the last one (10,000:
    /// about 17 minutes at 10 batches a second).
    pub snapshot_every_records: u64,
    /// Take a snapshot after this many bytes of log since the last one (32 MiB: a
    /// restart replays at most about this much).
    pub snapshot_every_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            segment_bytes: 16 << 20,
            snapshot_every_records: 10_000,
            snapshot_every_bytes: 32 << 20,
        }
    }
}

/// The newest valid snapshot a store holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSnapshot {
    /// How many records (from the first) it includes.
    pub covers: u64,
    /// The encoded [`Snapshot`](crate::Snapshot).
    pub bytes: Vec<u8>,
}

/// What [`Store::open`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// The snapshot the state starts from, if any (else the empty state).
    pub snapshot: Option<StoredSnapshot>,
    /// Every record after the snapshot, oldest first: record number
    /// `snapshot.covers + 1` first.
    pub records: Vec<Vec<u8>>,
    /// The torn tail cut off the last segment, and that segment, if there was one.
    pub torn_tail: Option<(PathBuf, TornTail)>,
    /// The old single log file migrated into this directory, if one was.
    pub migrated: bool,
}

/// One segment file.
#[derive(Debug, Clone)]
struct Segment {
    /// The record number of its first record.
    first: u64,
    path: PathBuf,
    /// Where each record's frame starts in the file (known for the segments kept open).
    offsets: Vec<u64>,
}

/// The log in segment files, with snapshots (see the [module docs](self)).
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    options: StoreOptions,
    /// Every segment, oldest first; the last one is open for appends.
    segments: Vec<Segment>,
    /// The last segment, open for appends, and its length.
    current: Option<(File, u64)>,
    /// The number the next record gets.
    next: u64,
    /// Records the store holds, counting those replayed.
    records: usize,
    poisoned: bool,
}

const SEGMENT_PREFIX: &str = "seg-";
const SEGMENT_SUFFIX: &str = ".log";
const SNAPSHOT_PREFIX: &str = "snap-";
const SNAPSHOT_SUFFIX: &str = ".snap";
const TEMP_SUFFIX: &str = ".tmp";
/// The frame header of version 1 files (only a migrated store's history has them).
const FRAME_HEADER_LEN_V1: usize = 8;
/// The suffix the old single file gets while it is migrated.
const MIGRATING_SUFFIX: &str = ".v1-migrating";

fn segment_name(first: u64) -> String {
    format!("{SEGMENT_PREFIX}{first:020}{SEGMENT_SUFFIX}")
}

fn snapshot_name(covers: u64) -> String {
    format!("{SNAPSHOT_PREFIX}{covers:020}{SNAPSHOT_SUFFIX}")
}

/// The number in a file name `{prefix}{number}{suffix}`.
fn number_in(name: &str, prefix: &str, suffix: &str) -> Option<u64> {
    name.strip_prefix(prefix)?
        .strip_suffix(suffix)?
        .parse()
        .ok()
}

/// Makes `dir`'s entries durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io(dir))
}

/// Directories cannot be opened and synced here; the entries' durability is the file
/// system's.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), StoreError> {
    Ok(())
}

/// The directory holding `path` (`.` for a bare name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, StoreError> {
    fs::read(path).map_err(StoreError::io(path))
}

fn remove(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StoreError::io(path)(e)),
        _ => Ok(()),
    }
}

/// Writes `bytes` as `dir/name` durably: a temporary file (`name.tmp`, which the next
/// [`Store::open`] of `dir` deletes if a crash left it), fsynced, renamed over any old
/// `dir/name`, and the directory fsynced. When it returns `Ok`, a crash leaves the whole
/// new file; before, the whole old one. For small files kept beside a store's segments
/// (a replicated log's vote, say).
///
/// # Errors
///
/// [`StoreError::Io`] naming the file when the file system fails.
pub fn write_durably(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, StoreError> {
    let path = dir.join(name);
    let temp = dir.join(format!("{name}{TEMP_SUFFIX}"));
    let mut file = File::create(&temp).map_err(StoreError::io(&temp))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(StoreError::io(&temp))?;
    drop(file);
    fs::rename(&temp, &path).map_err(StoreError::io(&path))?;
    sync_dir(dir)?;
    Ok(path)
}

/// Writes a snapshot covering the first `covers` records into the store at `dir`,
/// durably (temporary file, fsync, rename, directory fsync). The store deletes what it
/// makes obsolete when told ([`Store::snapshot_taken`]) or at its next open.
///
/// # Errors
///
/// [`StoreError::Io`] if the file system fails; nothing is left under the snapshot's
/// name then.
pub fn write_snapshot(dir: &Path, covers: u64, snapshot: &[u8]) -> Result<PathBuf, StoreError> {
    let bytes = frame::snapshot_file(covers, snapshot).map_err(|e| StoreError::Io {
        path: dir.join(snapshot_name(covers)),
        source: io::Error::new(io::ErrorKind::InvalidInput, e),
    })?;
    write_durably(dir, &snapshot_name(covers), &bytes)
}

/// What the directory holds, by kind.
#[derive(Default)]
struct Listing {
    segments: Vec<Segment>,
    /// `(covers, path)`, newest first.
    snapshots: Vec<(u64, PathBuf)>,
    /// Temporary files: an interrupted segment creation or snapshot (never acknowledged),
    /// or, while a store is open, a snapshot being written.
    temps: Vec<PathBuf>,
}

fn list(dir: &Path) -> Result<Listing, StoreError> {
    let mut listing = Listing::default();
    for entry in fs::read_dir(dir).map_err(StoreError::io(dir))? {
        let entry = entry.map_err(StoreError::io(dir))?;
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.ends_with(TEMP_SUFFIX) {
            listing.temps.push(path);
        } else if let Some(first) = number_in(name, SEGMENT_PREFIX, SEGMENT_SUFFIX) {
            listing.segments.push(Segment {
                first,
                path,
                offsets: Vec::new(),
            });
        } else if let Some(covers) = number_in(name, SNAPSHOT_PREFIX, SNAPSHOT_SUFFIX) {
            listing.snapshots.push((covers, path));
        }
    }
    listing.segments.sort_by_key(|s| s.first);
    listing.snapshots.sort_by_key(|s| std::cmp::Reverse(s.0));
    Ok(listing)
}

/// Reads and checks the snapshot at `path`, which should cover `covers` records.
fn load_snapshot(
    path: &Path,
    covers: u64,
) -> Result<Result<StoredSnapshot, StoreError>, StoreError> {
    let bytes = read(path)?;
    let damaged = |offset, reason: String| {
        Ok(Err(StoreError::Snapshot {
            path: path.to_path_buf(),
            offset,
            reason,
        }))
    };
    match frame::read_snapshot_file(&bytes) {
        Ok((found, snapshot)) if found == covers => Ok(Ok(StoredSnapshot {
            covers,
            bytes: snapshot.to_vec(),
        })),
        Ok((found, _)) => damaged(
            frame::SNAPSHOT_HEADER.len() as u64,
            format!("it says it covers {found} records, its name says {covers}"),
        ),
        Err(ScanError::Corrupt { offset, reason, .. }) => damaged(offset, reason.to_string()),
        Err(e) => damaged(0, e.to_string()),
    }
}

impl Store {
    /// Opens (or creates) the store at `dir`, migrating an old single log file found at
    /// that path, and returns what it holds (see the [module docs](self)).
    ///
    /// # Errors
    ///
    /// [`StoreError::Corrupt`] for a damaged record before the end of the log,
    /// [`StoreError::Snapshot`] for a damaged snapshot whose log is gone,
    /// [`StoreError::Gap`] for a missing segment, [`StoreError::Io`] if the file system
    /// fails. Nothing is changed in those cases.
    pub fn open(
        dir: impl AsRef<Path>,
        options: StoreOptions,
    ) -> Result<(Store, Recovery), StoreError> {
        let dir = dir.as_ref();
        let (migrated, migrated_torn) = migrate_single_file(dir)?;
        if !dir.exists() {
            fs::create_dir_all(dir).map_err(StoreError::io(dir))?;
            sync_dir(parent_of(dir))?;
        }
        let listing = list(dir)?;

        // The newest snapshot whose log (after it) is whole; a damaged newer one is
        // passed over only in favour of an older state whose log still exists.
        let log_from = listing.segments.first().map(|s| s.first);
        let mut first_damage = None;
        let mut chosen = None;
        for (covers, path) in &listing.snapshots {
            match load_snapshot(path, *covers)? {
                Ok(snapshot) => {
                    chosen = Some(snapshot);
                    break;
                }
                Err(e) => {
                    first_damage.get_or_insert(e);
                }
            }
        }
        if let Some(damage) = first_damage {
            let start = chosen.as_ref().map_or(0, |s| s.covers) + 1;
            if log_from.is_none_or(|first| first > start) {
                return Err(damage);
            }
        }
        let covers = chosen.as_ref().map_or(0, |s| s.covers);

        // Segments wholly behind the snapshot are obsolete: a segment's records end where
        // the next one's begin.
        let segments = listing.segments;
        let keep_from = segments
            .iter()
            .rposition(|s| s.first <= covers + 1)
            .unwrap_or(0);
        let (obsolete, kept) = segments.split_at(keep_from);
        if let Some(first) = kept.first().filter(|s| s.first > covers + 1) {
            return Err(StoreError::Gap {
                path: first.path.clone(),
                expected: covers + 1,
                found: first.first,
            });
        }
        let mut expected = kept.first().map_or(covers + 1, |s| s.first);

        let mut records = Vec::new();
        let mut torn_tail = None;
        let mut current = None;
        let mut opened = Vec::with_capacity(kept.len());
        for (i, segment) in kept.iter().enumerate() {
            if segment.first != expected {
                return Err(StoreError::Gap {
                    path: segment.path.clone(),
                    expected,
                    found: segment.first,
                });
            }
            let bytes = read(&segment.path)?;
            let scan = frame::scan(&bytes).map_err(|source| StoreError::Corrupt {
                path: segment.path.clone(),
                source,
            })?;
            let last = i + 1 == kept.len();
            if let Some(torn) = scan.torn {
                if !last {
                    // A later segment exists, so this one was complete: damage, not a crash.
                    return Err(StoreError::Corrupt {
                        path: segment.path.clone(),
                        source: ScanError::Corrupt {
                            record: torn.record,
                            offset: torn.offset,
                            reason: torn.reason,
                        },
                    });
                }
                torn_tail = Some((segment.path.clone(), torn));
            }
            let header = if scan.version == frame::FILE_HEADER[7] {
                frame::FRAME_HEADER_LEN
            } else {
                FRAME_HEADER_LEN_V1
            };
            let mut offset = frame::FILE_HEADER.len() as u64;
            let mut offsets = Vec::with_capacity(scan.records.len());
            for (n, record) in (segment.first..).zip(&scan.records) {
                offsets.push(offset);
                offset += (header + record.len()) as u64;
                if n > covers {
                    records.push(record.to_vec());
                }
            }
            opened.push(Segment {
                offsets,
                ..segment.clone()
            });
            expected = segment.first + scan.records.len() as u64;
            if last {
                current = Some((scan.version, scan.end));
            }
        }

        // Only now that everything checked out: change the directory.
        for temp in &listing.temps {
            remove(temp)?;
        }
        for segment in obsolete {
            remove(&segment.path)?;
        }
        for (older, path) in &listing.snapshots {
            if *older < covers {
                remove(path)?;
            }
        }
        // The log may end before the snapshot does only if records were lost after it was
        // taken; then appends start a new segment after the snapshot.
        let next = expected.max(covers + 1);
        let mut store = Store {
            dir: dir.to_path_buf(),
            options,
            segments: opened,
            current: None,
            next,
            records: usize::try_from(next - 1).unwrap_or(usize::MAX),
            poisoned: false,
        };
        let current = current.filter(|_| expected == next);
        if let (Some(segment), Some((version, end))) = (kept.last(), current) {
            let file = OpenOptions::new()
                .read(true)
                .append(true)
                .open(&segment.path)
                .map_err(StoreError::io(&segment.path))?;
            if torn_tail.is_some() {
                file.set_len(end)
                    .and_then(|()| file.sync_all())
                    .map_err(StoreError::io(&segment.path))?;
            }
            // Appends go only to a current-format segment; an old one is left as it is.
            if version == frame::FILE_HEADER[7] {
                store.current = Some((file, end));
            }
        }
        sync_dir(dir)?;
        let recovery = Recovery {
            snapshot: chosen,
            records,
            torn_tail: torn_tail.or(migrated_torn),
            migrated,
        };
        Ok((store, recovery))
    }

    /// The store's directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options it was opened with.
    #[must_use]
    pub fn options(&self) -> StoreOptions {
        self.options
    }

    /// The number of the last record appended (0 for an empty log).
    #[must_use]
    pub fn last_record(&self) -> u64 {
        self.next - 1
    }

    /// The bytes of every segment and snapshot file in the directory.
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] if the directory cannot be read.
    pub fn disk_bytes(&self) -> Result<u64, StoreError> {
        let mut total = 0;
        for entry in fs::read_dir(&self.dir).map_err(StoreError::io(&self.dir))? {
            let entry = entry.map_err(StoreError::io(&self.dir))?;
            total += entry
                .metadata()
                .map_err(StoreError::io(&entry.path()))?
                .len();
        }
        Ok(total)
    }

    /// Whether an append failed, after which the store refuses further appends: a
    /// failed write or fsync leaves the file in an unknown state. Reopening recovers.
    #[must_use]
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// After a snapshot covering the first `covers` records is durable
    /// ([`write_snapshot`]): deletes the segments wholly behind it (never the one being
    /// appended to) and the older snapshots, then fsyncs the directory.
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] if a deletion fails; the next open finishes the job.
    pub fn snapshot_taken(&mut self, covers: u64) -> Result<(), StoreError> {
        // Segment i holds records up to segments[i + 1].first - 1.
        let behind = self
            .segments
            .windows(2)
            .take_while(|pair| pair[1].first - 1 <= covers)
            .count();
        for segment in self.segments.drain(..behind) {
            remove(&segment.path)?;
        }
        for (older, path) in list(&self.dir)?.snapshots {
            if older < covers {
                remove(&path)?;
            }
        }
        sync_dir(&self.dir)
    }

    /// The number of the first record the store still holds (the records before it are
    /// behind a snapshot), or the next record's number when it holds none.
    #[must_use]
    pub fn first_record(&self) -> u64 {
        self.segments.first().map_or(self.next, |s| s.first)
    }

    /// The records numbered `from..to` that the store holds, read back from the segments
    /// (each segment involved is read whole: a replica catching up reads many records at
    /// once).
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] if a segment cannot be read, [`StoreError::Corrupt`] if what is
    /// read back is not the frame that was written, and [`StoreError::Gap`] naming the
    /// first record asked for that the store does not hold.
    pub fn read(&self, from: u64, to: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out = Vec::new();
        let mut n = from;
        for segment in &self.segments {
            let end = segment.first + segment.offsets.len() as u64;
            if n >= end || n >= to {
                continue;
            }
            if n < segment.first {
                break;
            }
            let bytes = read(&segment.path)?;
            let corrupt = |source| StoreError::Corrupt {
                path: segment.path.clone(),
                source,
            };
            let scan = frame::scan(&bytes).map_err(corrupt)?;
            while n < end.min(to) {
                let i = usize::try_from(n - segment.first).unwrap_or(usize::MAX);
                let record = scan.records.get(i).ok_or_else(|| {
                    corrupt(ScanError::Corrupt {
                        record: i,
                        offset: segment.offsets[i],
                        reason: "a record written earlier is missing",
                    })
                })?;
                out.push(record.to_vec());
                n += 1;
            }
        }
        if n < to.min(self.next) {
            return Err(StoreError::Gap {
                path: self.dir.clone(),
                expected: n,
                found: self.first_record(),
            });
        }
        Ok(out)
    }

    /// Deletes every record after record `last`, durably (the segments after it are
    /// deleted newest first, then the one holding it is cut after it and fsynced), so
    /// the next append is record `last + 1`. A crash part way leaves a shorter log that
    /// is still whole. For a replicated log, whose uncommitted tail a new leader may
    /// replace; committed records are never truncated.
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] if the file system fails; the store is poisoned then and must
    /// be reopened.
    pub fn truncate_after(&mut self, last: u64) -> Result<(), StoreError> {
        if last + 1 >= self.next {
            return Ok(());
        }
        self.poisoned = true; // until the directory is in a known state again
        while let Some(segment) = self.segments.last() {
            if segment.first <= last {
                break;
            }
            remove(&segment.path)?;
            self.segments.pop();
            self.current = None;
        }
        sync_dir(&self.dir)?;
        if let Some(segment) = self.segments.last_mut() {
            let keep = usize::try_from(last + 1 - segment.first).unwrap_or(usize::MAX);
            if let Some(&cut) = segment.offsets.get(keep) {
                let file = OpenOptions::new()
                    .read(true)
                    .append(true)
                    .open(&segment.path)
                    .map_err(StoreError::io(&segment.path))?;
                file.set_len(cut)
                    .and_then(|()| file.sync_all())
                    .map_err(StoreError::io(&segment.path))?;
                segment.offsets.truncate(keep);
                self.current = Some((file, cut));
            } else if self.current.is_none() {
                // `last` ends this (whole, fsynced) segment: appends go on after it.
                let file = OpenOptions::new()
                    .append(true)
                    .open(&segment.path)
                    .map_err(StoreError::io(&segment.path))?;
                let end = file
                    .metadata()
                    .map_err(StoreError::io(&segment.path))?
                    .len();
                self.current = Some((file, end));
            }
        }
        self.next = last + 1;
        self.records = usize::try_from(last).unwrap_or(usize::MAX);
        self.poisoned = false;
        Ok(())
    }

    /// Starts a new segment whose first record is `self.next`.
    fn roll(&mut self) -> Result<(), StoreError> {
        let name = segment_name(self.next);
        let path = write_durably(&self.dir, &name, &frame::FILE_HEADER)?;
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(StoreError::io(&path))?;
        self.segments.push(Segment {
            first: self.next,
            path,
            offsets: Vec::new(),
        });
        self.current = Some((file, frame::FILE_HEADER.len() as u64));
        Ok(())
    }
}

impl Store {
    /// Appends the longest run of `records` that belongs in one segment (at least the
    /// first record, starting a new segment first when the last one is full) with a
    /// single `write_all`, then `sync_data`. Returns how many it appended.
    fn append_run(&mut self, records: &[&[u8]]) -> io::Result<usize> {
        if self.poisoned {
            return Err(io::Error::other(
                "an earlier append to this store failed; reopen the store to recover",
            ));
        }
        let full = self
            .current
            .as_ref()
            .is_none_or(|(_, len)| *len >= self.options.segment_bytes);
        if full {
            self.roll().map_err(|e| {
                self.poisoned = true;
                io::Error::other(e)
            })?;
        }
        let Some((file, len)) = self.current.as_mut() else {
            return Err(io::Error::other("no segment is open"));
        };
        let mut frames = Vec::new();
        let mut offsets = Vec::with_capacity(records.len());
        for record in records {
            let end = *len + frames.len() as u64;
            let checked = check_record(record).and_then(|()| {
                frame::push_frame(&mut frames, record)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
            });
            match checked {
                Ok(()) => offsets.push(end),
                // The records before it are appended; the next run reports it.
                Err(_) if !offsets.is_empty() => break,
                Err(e) => return Err(e),
            }
            // The segment is full now: the next record starts another.
            if *len + frames.len() as u64 >= self.options.segment_bytes {
                break;
            }
        }
        match file.write_all(&frames).and_then(|()| file.sync_data()) {
            Ok(()) => {
                if let Some(segment) = self.segments.last_mut() {
                    segment.offsets.extend_from_slice(&offsets);
                }
                *len += frames.len() as u64;
                self.next += offsets.len() as u64;
                self.records += offsets.len();
                Ok(offsets.len())
            }
            Err(e) => {
                self.poisoned = true;
                Err(e)
            }
        }
    }
}

impl Log for Store {
    /// Appends one frame to the last segment with a single `write_all`, then
    /// `sync_data`; starts a new segment first when the last one is full.
    fn append(&mut self, record: &[u8]) -> io::Result<()> {
        self.append_run(&[record]).map(|_| ())
    }

    /// Appends the frames of every record that belongs in the last segment with a
    /// single `write_all`, then one `sync_data` for all of them; the rest likewise in
    /// the segments that follow.
    fn append_all(&mut self, records: &[&[u8]]) -> Result<(), PartialAppend> {
        let mut durable = 0;
        while durable < records.len() {
            match self.append_run(&records[durable..]) {
                Ok(n) => durable += n,
                Err(error) => return Err(PartialAppend { durable, error }),
            }
        }
        Ok(())
    }

    fn records(&self) -> usize {
        self.records
    }

    fn snapshot_taken(&mut self, covers: u64) -> Result<(), StoreError> {
        Store::snapshot_taken(self, covers)
    }
}

/// If `path` is an old single log file (or an interrupted migration of one is found),
/// turns it into a store directory at `path`: the file is checked, renamed aside, its
/// whole records become the first segment, everything is fsynced, then the old file is
/// removed. Returns whether it migrated, and the old file's torn tail (left out) if it
/// had one.
fn migrate_single_file(path: &Path) -> Result<(bool, Option<(PathBuf, TornTail)>), StoreError> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(MIGRATING_SUFFIX);
    let aside = PathBuf::from(aside);
    let parent = parent_of(path);
    let source = if path.is_file() {
        path
    } else if aside.is_file() {
        aside.as_path()
    } else {
        return Ok((false, None));
    };
    let mut bytes = read(source)?;
    if bytes.is_empty() {
        bytes = frame::FILE_HEADER.to_vec();
    }
    // Checked before anything changes: a damaged old file is refused as it is.
    let scan = frame::scan(&bytes).map_err(|e| StoreError::Corrupt {
        path: source.to_path_buf(),
        source: e,
    })?;
    let segment = frame::file(scan.records.iter().copied()).map_err(|e| StoreError::Io {
        path: source.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidData, e),
    })?;
    if source == path {
        fs::rename(path, &aside).map_err(StoreError::io(path))?;
        sync_dir(parent)?;
    } else if path.is_dir() {
        // A migration was interrupted after the rename: start it again.
        fs::remove_dir_all(path).map_err(StoreError::io(path))?;
    }
    fs::create_dir(path).map_err(StoreError::io(path))?;
    sync_dir(parent)?;
    write_durably(path, &segment_name(1), &segment)?;
    remove(&aside)?;
    sync_dir(parent)?;
    Ok((true, scan.torn.map(|torn| (path.to_path_buf(), torn))))
}
