//! The on-disk store (`leasehold::driver::Store`): segments, replay, torn-tail recovery
//! and refusal of corruption, snapshots and the deletion of the log behind them, crash
//! safety at every step of a compaction, the upgrade from the previous release's single
//! log file, and `MemoryLog`.
#![cfg(feature = "driver")]

use leasehold::driver::{
    Log, MemoryLog, Recovery, Store, StoreError, StoreOptions, StoredSnapshot, write_snapshot,
};
use leasehold::frame::{self, FRAME_HEADER_LEN, ScanError};
use leasehold::limits::MAX_BATCH_BYTES;
use leasehold::{Batch, Fsm, Key, Op, Snapshot, Time};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

// ---- helpers ------------------------------------------------------------------------

/// A real encoded batch whose size varies with `seq`.
fn batch(seq: u64) -> Vec<u8> {
    let minute = Duration::from_secs(60);
    let mut ops = Vec::new();
    for i in 0..(seq % 7 + 1) {
        let key = Key::new(
            "application-leadership",
            format!("model-{}", seq % 13),
            format!("app-{}", (seq + i) % 101),
        );
        match (seq + i) % 4 {
            0 => ops.push(Op::claim(key, format!("unit/{i}"), minute)),
            1 => ops.push(Op::extend(key, format!("unit/{i}"), minute)),
            2 => ops.push(Op::pin_until(
                key,
                "machine-7",
                Time::from_millis(seq * 1000),
                "series upgrade",
            )),
            _ => ops.push(Op::revoke(key, format!("unit/{i}"))),
        }
    }
    ops.push(Op::set_time(
        Time::from_millis(seq * 10),
        Time::from_millis(seq * 10 + 10),
    ));
    Batch::new(seq, ops).encode().expect("encodes")
}

/// Records 1..=n (record number `i` holds batch `i`).
fn batches(n: u64) -> Vec<Vec<u8>> {
    (1..=n).map(batch).collect()
}

/// The state after applying `records`.
fn replay(fsm: &mut Fsm, records: &[Vec<u8>]) {
    for record in records {
        fsm.apply_batch(&Batch::decode(record).expect("decodes"));
    }
}

/// The encoded snapshot of the state after `records`.
fn state_after(records: &[Vec<u8>]) -> Vec<u8> {
    let mut fsm = Fsm::new();
    replay(&mut fsm, records);
    fsm.snapshot().encode().unwrap()
}

fn options(segment_bytes: u64) -> StoreOptions {
    StoreOptions {
        segment_bytes,
        ..StoreOptions::default()
    }
}

/// Small segments: one to three records each.
fn small() -> StoreOptions {
    options(200)
}

fn open(path: &Path, options: StoreOptions) -> (Store, Recovery) {
    Store::open(path, options).unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

fn open_err(path: &Path, options: StoreOptions) -> StoreError {
    match Store::open(path, options) {
        Ok((_, recovery)) => panic!("expected an error, opened with {recovery:?}"),
        Err(e) => e,
    }
}

/// A temporary directory and the store's path inside it (not created yet).
fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    (dir, path)
}

/// Opens a new store at `path` and appends `records`.
fn fill(path: &Path, options: StoreOptions, records: &[Vec<u8>]) -> Store {
    let (mut store, recovery) = open(path, options);
    assert_eq!(recovery, Recovery::default());
    for record in records {
        store.append(record).expect("appends");
    }
    assert_eq!(store.last_record(), records.len() as u64);
    store
}

/// Every file in `dir` by name, with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            (name, fs::read(e.path()).unwrap())
        })
        .collect()
}

/// Replaces the contents of `dir` (created if needed) with `files`.
fn put_files(dir: &Path, files: &BTreeMap<String, Vec<u8>>) {
    if dir.exists() {
        fs::remove_dir_all(dir).unwrap();
    }
    fs::create_dir_all(dir).unwrap();
    for (name, bytes) in files {
        fs::write(dir.join(name), bytes).unwrap();
    }
}

fn segment_name(first: u64) -> String {
    format!("seg-{first:020}.log")
}

fn snapshot_name(covers: u64) -> String {
    format!("snap-{covers:020}.snap")
}

/// The segments in `dir`: `(first record, path)`, oldest first.
fn segments(dir: &Path) -> Vec<(u64, PathBuf)> {
    numbered(dir, "seg-", ".log")
}

/// The snapshots in `dir`: `(covers, path)`, oldest first.
fn snapshots(dir: &Path) -> Vec<(u64, PathBuf)> {
    numbered(dir, "snap-", ".snap")
}

fn numbered(dir: &Path, prefix: &str, suffix: &str) -> Vec<(u64, PathBuf)> {
    let mut out: Vec<(u64, PathBuf)> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name()?.to_str()?;
            let n = name
                .strip_prefix(prefix)?
                .strip_suffix(suffix)?
                .parse()
                .ok()?;
            Some((n, path))
        })
        .collect();
    out.sort();
    out
}

/// Where each frame of a segment holding `records` starts, and where the last one ends.
fn frame_starts(records: &[Vec<u8>]) -> (Vec<u64>, u64) {
    let mut starts = Vec::new();
    let mut at = frame::FILE_HEADER.len() as u64;
    for record in records {
        starts.push(at);
        at += (FRAME_HEADER_LEN + record.len()) as u64;
    }
    (starts, at)
}

/// The records segment `index` holds (segments numbered by their first record).
fn records_of<'a>(all: &'a [Vec<u8>], segments: &[(u64, PathBuf)], index: usize) -> &'a [Vec<u8>] {
    let first = segments[index].0 as usize;
    let end = segments
        .get(index + 1)
        .map_or(all.len(), |(next, _)| *next as usize - 1);
    &all[first - 1..end]
}

fn flip(path: &Path, at: u64, mask: u8) {
    let mut bytes = fs::read(path).unwrap();
    bytes[at as usize] ^= mask;
    fs::write(path, bytes).unwrap();
}

// ---- a new store, appends and replay ------------------------------------------------

#[test]
fn a_new_store_is_an_empty_directory() {
    let (_dir, path) = temp();
    let (store, recovery) = open(&path, StoreOptions::default());
    assert_eq!(recovery, Recovery::default());
    assert!(path.is_dir());
    assert!(
        files(&path).is_empty(),
        "no segment before the first append"
    );
    assert_eq!(store.dir(), path);
    assert_eq!(store.options(), StoreOptions::default());
    assert_eq!((store.last_record(), store.records()), (0, 0));
    assert_eq!(store.disk_bytes().unwrap(), 0);
    assert!(!store.is_poisoned());
    drop(store);

    // Opening again changes nothing.
    let (_, recovery) = open(&path, StoreOptions::default());
    assert_eq!(recovery, Recovery::default());
    assert!(files(&path).is_empty());
}

#[test]
fn the_default_options_are_as_documented() {
    let o = StoreOptions::default();
    assert_eq!(o.segment_bytes, 16 << 20);
    assert_eq!(o.snapshot_every_records, 10_000);
    assert_eq!(o.snapshot_every_bytes, 32 << 20);
}

#[test]
fn a_segment_is_a_version_2_log_file_named_by_its_first_record() {
    let (_dir, path) = temp();
    let records = batches(5);
    let store = fill(&path, StoreOptions::default(), &records);
    let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
    let expected = frame::file(refs).unwrap();
    assert_eq!(
        files(&path),
        BTreeMap::from([(segment_name(1), expected.clone())])
    );
    assert_eq!(store.disk_bytes().unwrap(), expected.len() as u64);
}

#[test]
fn many_records_round_trip_across_reopen() {
    let (_dir, path) = temp();
    let mut records = batches(1000);
    // A few records of other shapes, including a large one.
    records.push(vec![0xff; 1]);
    records.push((0..200_000u32).map(|i| (i % 251) as u8).collect());
    records.push(batch(9999));
    drop(fill(&path, StoreOptions::default(), &records));
    let before = files(&path);

    for _ in 0..2 {
        let (store, recovery) = open(&path, StoreOptions::default());
        assert_eq!(recovery.torn_tail, None);
        assert_eq!(recovery.snapshot, None);
        assert!(!recovery.migrated);
        assert_eq!(recovery.records, records);
        assert_eq!(store.records(), records.len());
        assert_eq!(store.last_record(), records.len() as u64);
        assert_eq!(files(&path), before, "a clean open changes nothing");
    }
    let (_, recovery) = open(&path, StoreOptions::default());
    for (i, record) in recovery.records.iter().take(1000).enumerate() {
        assert_eq!(Batch::decode(record).unwrap().seq, i as u64 + 1);
    }
}

#[test]
fn appends_continue_after_reopen() {
    for options in [StoreOptions::default(), small()] {
        let (_dir, path) = temp();
        let records = batches(30);
        drop(fill(&path, options, &records[..3]));
        for chunk in [&records[3..5], &records[5..30]] {
            let (mut store, recovery) = open(&path, options);
            let before = recovery.records.len();
            assert_eq!(store.records(), before);
            assert_eq!(store.last_record(), before as u64);
            for record in chunk {
                store.append(record).unwrap();
            }
            assert_eq!(store.records(), before + chunk.len());
        }
        let (store, recovery) = open(&path, options);
        assert_eq!(recovery.records, records);
        assert_eq!(recovery.torn_tail, None);
        assert_eq!(store.records(), 30);
    }
}

#[test]
fn segments_roll_past_segment_bytes_and_replay_in_order() {
    let (_dir, path) = temp();
    let records = batches(300);
    let options = options(200);
    let store = fill(&path, options, &records);
    let segs = segments(&path);
    assert!(segs.len() > 50, "{} segments", segs.len());
    assert_eq!(segs[0].0, 1);
    let mut all = Vec::new();
    for (i, (first, seg)) in segs.iter().enumerate() {
        let bytes = fs::read(seg).unwrap();
        let scan = frame::scan(&bytes).unwrap();
        assert_eq!(scan.version, 2);
        assert_eq!(scan.torn, None);
        assert!(!scan.records.is_empty());
        assert_eq!(*first as usize, all.len() + 1, "named by its first record");
        // A segment rolls once it holds `segment_bytes`: every one but the last reached
        // it, and none holds more than one frame past it.
        let last_frame = FRAME_HEADER_LEN + scan.records.last().unwrap().len();
        assert!(bytes.len() - last_frame < 200, "segment {i} rolled late");
        if i + 1 < segs.len() {
            assert!(bytes.len() >= 200, "segment {i} rolled early");
        }
        all.extend(scan.records.iter().map(|r| r.to_vec()));
    }
    assert_eq!(all, records);
    let total: u64 = segs
        .iter()
        .map(|(_, p)| fs::metadata(p).unwrap().len())
        .sum();
    assert_eq!(store.disk_bytes().unwrap(), total);
    drop(store);

    let (_, recovery) = open(&path, options);
    assert_eq!(recovery.records, records);
    // Opened with larger segments, the same store reads the same and appends continue.
    let (mut store, recovery) = open(&path, StoreOptions::default());
    assert_eq!(recovery.records, records);
    store.append(&batch(301)).unwrap();
    drop(store);
    assert_eq!(open(&path, options).1.records, batches(301));
}

#[test]
fn an_empty_last_segment_left_by_a_crash_after_rolling_is_appended_to() {
    let (dir, path) = temp();
    let records = batches(10);
    drop(fill(&path, small(), &records));
    let mut state = files(&path);
    // The crash came after the new segment was renamed into place, before its first
    // record was appended.
    state.insert(segment_name(11), frame::FILE_HEADER.to_vec());
    let work = dir.path().join("work");
    put_files(&work, &state);
    let (mut store, recovery) = open(&work, small());
    assert_eq!(recovery.records, records);
    assert_eq!(recovery.torn_tail, None);
    assert_eq!(store.last_record(), 10);
    store.append(&batch(11)).unwrap();
    drop(store);
    assert_eq!(
        frame::scan(&fs::read(work.join(segment_name(11))).unwrap())
            .unwrap()
            .records,
        [batch(11).as_slice()],
        "the record went into the empty segment"
    );
    assert_eq!(open(&work, small()).1.records, batches(11));
}

#[test]
fn a_failed_append_poisons_the_store_until_it_is_reopened() {
    let (dir, path) = temp();
    // Every append starts a new segment, so removing the directory makes the next fail.
    let (mut store, _) = open(&path, options(1));
    store.append(&batch(1)).unwrap();
    let saved = files(&path);
    fs::remove_dir_all(&path).unwrap();
    assert!(store.append(&batch(2)).is_err());
    assert!(store.is_poisoned());
    put_files(&path, &saved);
    let err = store.append(&batch(2)).unwrap_err();
    assert!(err.to_string().contains("reopen"), "{err}");
    assert_eq!(store.records(), 1);
    assert_eq!(files(&path), saved, "a poisoned store writes nothing");
    drop(store);
    let (mut store, recovery) = open(&path, options(1));
    assert_eq!(recovery.records, [batch(1)]);
    assert!(!store.is_poisoned());
    store.append(&batch(2)).unwrap();
    drop(store);
    assert_eq!(open(&path, options(1)).1.records, batches(2));
    drop(dir);
}

// ---- torn tails and corruption --------------------------------------------------------

#[test]
fn a_cut_at_every_offset_inside_the_last_record_is_a_torn_tail() {
    let (dir, path) = temp();
    let records = batches(12);
    drop(fill(&path, small(), &records));
    let segs = segments(&path);
    assert!(segs.len() > 2);
    let last_seg = segs.len() - 1;
    let (_, last_path) = &segs[last_seg];
    let name = last_path.file_name().unwrap().to_str().unwrap().to_owned();
    let in_last = records_of(&records, &segs, last_seg);
    let (starts, end) = frame_starts(in_last);
    let last = *starts.last().unwrap();
    let earlier = &records[..records.len() - 1];
    let saved = files(&path);
    let work = dir.path().join("work");

    // A cut exactly at the last record's start leaves whole records only.
    let mut state = saved.clone();
    state.get_mut(&name).unwrap().truncate(last as usize);
    put_files(&work, &state);
    let (_, recovery) = open(&work, small());
    assert_eq!(recovery.records, earlier);
    assert_eq!(recovery.torn_tail, None);

    for cut in last + 1..end {
        let mut state = saved.clone();
        state.get_mut(&name).unwrap().truncate(cut as usize);
        put_files(&work, &state);
        let (mut store, recovery) = open(&work, small());
        assert_eq!(recovery.records, earlier, "cut at {cut}");
        let (torn_path, torn) = recovery.torn_tail.expect("a torn tail is reported");
        assert_eq!(torn_path, work.join(&name));
        assert_eq!(torn.offset, last, "cut at {cut}");
        assert_eq!(torn.record, in_last.len() - 1, "cut at {cut}");
        assert_eq!(torn.dropped_bytes, cut - last, "cut at {cut}");
        assert!(!torn.reason.is_empty());
        assert_eq!(store.records(), earlier.len());
        assert_eq!(store.last_record(), earlier.len() as u64);
        // The segment is cut at the end of the last whole record; nothing else changes.
        let mut expected = saved.clone();
        expected.get_mut(&name).unwrap().truncate(last as usize);
        assert_eq!(files(&work), expected, "cut at {cut}");

        let extra = batch(100);
        store.append(&extra).unwrap();
        drop(store);
        let (store, recovery) = open(&work, small());
        assert_eq!(recovery.torn_tail, None, "cut at {cut}");
        assert_eq!(&recovery.records[..earlier.len()], earlier);
        assert_eq!(recovery.records[earlier.len()..], [extra]);
        assert_eq!(store.records(), records.len());
    }
}

#[test]
fn a_damaged_last_record_payload_is_a_torn_tail() {
    let (dir, path) = temp();
    let records = batches(9);
    drop(fill(&path, small(), &records));
    let segs = segments(&path);
    let last_seg = segs.len() - 1;
    let name = segment_name(segs[last_seg].0);
    let (starts, end) = frame_starts(records_of(&records, &segs, last_seg));
    let last = *starts.last().unwrap();
    let saved = files(&path);
    let work = dir.path().join("work");
    for at in last + FRAME_HEADER_LEN as u64..end {
        put_files(&work, &saved);
        flip(&work.join(&name), at, 0x20);
        let (mut store, recovery) = open(&work, small());
        assert_eq!(recovery.records, records[..8], "flip at {at}");
        assert_eq!(recovery.torn_tail.unwrap().1.offset, last);
        store.append(&records[8]).unwrap();
        drop(store);
        assert_eq!(files(&work), saved, "re-appended, the store is as before");
    }
}

#[test]
fn a_zero_filled_tail_of_the_last_segment_is_cut() {
    let (dir, path) = temp();
    let records = batches(10);
    drop(fill(&path, small(), &records));
    let saved = files(&path);
    let last = segments(&path).pop().unwrap().0;
    let name = segment_name(last);
    let work = dir.path().join("work");
    // A file system extended the file for an interrupted append but never wrote it.
    for zeros in [1, 11, 12, 4096] {
        let mut state = saved.clone();
        state
            .get_mut(&name)
            .unwrap()
            .resize(saved[&name].len() + zeros, 0);
        put_files(&work, &state);
        let (mut store, recovery) = open(&work, small());
        assert_eq!(recovery.records, records);
        let (torn_path, torn) = recovery.torn_tail.unwrap();
        assert_eq!(torn_path, work.join(&name));
        assert_eq!(
            (torn.offset, torn.dropped_bytes),
            (saved[&name].len() as u64, zeros as u64)
        );
        assert_eq!(files(&work), saved, "{zeros} zeros cut off");
        store.append(&batch(11)).unwrap();
        drop(store);
        assert_eq!(open(&work, small()).1.records, batches(11));
    }
}

/// The result of opening `dir` after damage, which must be a refusal naming `path`,
/// `record` and `offset`, with the directory unchanged.
fn assert_refused(dir: &Path, path: &Path, record: usize, offset: u64, context: &str) {
    let before = files(dir);
    let err = open_err(dir, small());
    match &err {
        StoreError::Corrupt {
            path: p,
            source:
                source @ ScanError::Corrupt {
                    record: r,
                    offset: o,
                    ..
                },
        } => {
            assert_eq!(p, path, "{context}");
            assert_eq!((*r, *o), (record, offset), "{context}: {source}");
        }
        other => panic!("{context}: expected Corrupt, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains(&format!("offset {offset}")), "{message}");
    assert_eq!(files(dir), before, "{context}: the store is unchanged");
}

#[test]
fn a_damaged_record_before_the_end_refuses_to_open_and_changes_nothing() {
    let (dir, path) = temp();
    let records = batches(20);
    drop(fill(&path, small(), &records));
    let segs = segments(&path);
    let last_seg = segs.len() - 1;
    let saved = files(&path);
    let work = dir.path().join("work");

    // A record that is not the last of its segment, in segments before the last.
    let mut checked = 0;
    for index in 0..last_seg {
        let in_seg = records_of(&records, &segs, index);
        if in_seg.len() < 2 {
            continue;
        }
        let (starts, _) = frame_starts(in_seg);
        let seg_path = work.join(segment_name(segs[index].0));
        for at in [
            starts[0],
            starts[0] + 3,
            starts[0] + 9,
            starts[0] + 12,
            starts[1] - 1,
        ] {
            put_files(&work, &saved);
            flip(&seg_path, at, 0x04);
            assert_refused(
                &work,
                &seg_path,
                0,
                starts[0],
                &format!("segment {index}, {at}"),
            );
            checked += 1;
        }
    }
    assert!(checked > 0);

    // In a segment before the last, even damage to its last record (which in the last
    // segment would look like an interrupted append) is corruption.
    for index in [0, 1, last_seg - 1] {
        let in_seg = records_of(&records, &segs, index);
        let (starts, end) = frame_starts(in_seg);
        let k = in_seg.len() - 1;
        let seg_path = work.join(segment_name(segs[index].0));
        for at in [starts[k] + 5, starts[k] + 13, end - 1] {
            put_files(&work, &saved);
            flip(&seg_path, at, 0x80);
            assert_refused(
                &work,
                &seg_path,
                k,
                starts[k],
                &format!("segment {index}, {at}"),
            );
        }
        // Cut inside its last record, or zeros appended.
        for cut in [starts[k] + 1, starts[k] + 12, end - 1] {
            put_files(&work, &saved);
            let bytes = &saved[&segment_name(segs[index].0)][..cut as usize];
            fs::write(&seg_path, bytes).unwrap();
            assert_refused(
                &work,
                &seg_path,
                k,
                starts[k],
                &format!("segment {index} cut {cut}"),
            );
        }
        put_files(&work, &saved);
        let mut bytes = saved[&segment_name(segs[index].0)].clone();
        bytes.extend_from_slice(&[0; 16]);
        fs::write(&seg_path, bytes).unwrap();
        assert_refused(
            &work,
            &seg_path,
            k + 1,
            end,
            &format!("segment {index} zeros"),
        );
    }
}

#[test]
fn a_damaged_middle_record_of_the_last_segment_refuses_to_open() {
    let (dir, path) = temp();
    let records = batches(8);
    drop(fill(&path, StoreOptions::default(), &records));
    let (starts, _) = frame_starts(&records);
    let saved = files(&path);
    let work = dir.path().join("work");
    let seg_path = work.join(segment_name(1));
    for k in [0, 3, 6] {
        let payload = starts[k] + FRAME_HEADER_LEN as u64;
        for at in [
            starts[k],
            starts[k] + 2,
            starts[k] + 7,
            starts[k] + 11,
            payload,
            starts[k + 1] - 1,
        ] {
            for mask in [0x01, 0x80] {
                put_files(&work, &saved);
                flip(&seg_path, at, mask);
                let context = format!("record {k}, byte {at} ^ {mask}");
                assert_refused(&work, &seg_path, k, starts[k], &context);
            }
        }
    }
}

#[test]
fn a_segment_that_is_not_a_log_file_refuses_to_open() {
    let (dir, path) = temp();
    drop(fill(&path, small(), &batches(10)));
    let segs = segments(&path);
    let saved = files(&path);
    let work = dir.path().join("work");
    for index in [0, segs.len() / 2, segs.len() - 1] {
        let name = segment_name(segs[index].0);
        for contents in [&b""[..], b"LHLOG\0", b"garbage garbage", b"LHLOG\0\0\x03"] {
            let mut state = saved.clone();
            state.insert(name.clone(), contents.to_vec());
            put_files(&work, &state);
            let err = open_err(&work, small());
            match &err {
                StoreError::Corrupt {
                    path,
                    source: ScanError::BadHeader { .. },
                } => assert_eq!(path, &work.join(&name)),
                other => panic!("segment {index} {contents:?}: {other:?}"),
            }
            assert!(err.to_string().contains(&name), "{err}");
            assert_eq!(files(&work), state);
        }
    }
}

#[test]
fn a_missing_segment_is_a_gap() {
    let (dir, path) = temp();
    let records = batches(20);
    drop(fill(&path, small(), &records));
    let segs = segments(&path);
    let saved = files(&path);
    let work = dir.path().join("work");
    for index in [0, 1, segs.len() / 2, segs.len() - 2] {
        let mut state = saved.clone();
        state.remove(&segment_name(segs[index].0));
        put_files(&work, &state);
        let err = open_err(&work, small());
        match &err {
            StoreError::Gap {
                path,
                expected,
                found,
            } => {
                assert_eq!(path, &work.join(segment_name(segs[index + 1].0)));
                assert_eq!((*expected, *found), (segs[index].0, segs[index + 1].0));
            }
            other => panic!("segment {index} missing: {other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains(&segment_name(segs[index + 1].0)),
            "{message}"
        );
        assert!(
            message.contains(&format!("expected record {}", segs[index].0)),
            "{message}"
        );
        assert_eq!(files(&work), state, "the store is unchanged");
    }
}

#[test]
fn records_out_of_bounds_are_refused_and_not_written() {
    let (_dir, path) = temp();
    let (mut store, _) = open(&path, StoreOptions::default());
    let mut memory_log = MemoryLog::new();
    let too_long = vec![1u8; MAX_BATCH_BYTES + 1];
    for log in [&mut store as &mut dyn Log, &mut memory_log] {
        for record in [&[][..], &too_long[..]] {
            let err = log.append(record).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        }
        assert_eq!(log.records(), 0);
        log.append(&[7]).unwrap();
        assert_eq!(log.records(), 1);
    }
    assert!(!store.is_poisoned());
    assert_eq!(
        files(&path),
        BTreeMap::from([(segment_name(1), frame::file([&[7u8][..]]).unwrap())])
    );
    assert_eq!(memory_log.entries(), &[vec![7u8]]);
}

#[test]
fn the_largest_record_fits() {
    let (_dir, path) = temp();
    let record = vec![0x5a; MAX_BATCH_BYTES];
    drop(fill(&path, small(), &[record.clone(), batch(2)]));
    let (_, recovery) = open(&path, small());
    assert_eq!(recovery.records, vec![record, batch(2)]);
    assert_eq!(
        segments(&path).len(),
        2,
        "the large record filled its segment"
    );
}

#[test]
fn memory_log_keeps_records_in_order() {
    let mut log = MemoryLog::new();
    let records = batches(49);
    for record in &records {
        log.append(record).unwrap();
    }
    assert_eq!(log.records(), 49);
    assert_eq!(log.entries(), records.as_slice());
    // It has no snapshots: being told of one changes nothing.
    log.snapshot_taken(40).unwrap();
    assert_eq!(log.records(), 49);
    assert_eq!(log.clone().into_entries(), records);
    assert_eq!(log, {
        let mut again = MemoryLog::new();
        for record in &records {
            again.append(record).unwrap();
        }
        again
    });
}

#[test]
fn boxed_logs_are_logs() {
    let (_dir, path) = temp();
    let records = batches(20);
    let mut logs: Vec<Box<dyn Log>> =
        vec![Box::new(MemoryLog::new()), Box::new(open(&path, small()).0)];
    for log in &mut logs {
        for record in &records {
            log.append(record).unwrap();
        }
        assert_eq!(log.records(), 20);
    }
    fn needs_log(log: &mut impl Log) -> usize {
        log.records()
    }
    assert_eq!(needs_log(&mut logs[0]), 20);
    // `snapshot_taken` reaches the store through the box.
    let before = segments(&path).len();
    write_snapshot(&path, 15, &state_after(&records[..15])).unwrap();
    logs[1].snapshot_taken(15).unwrap();
    assert!(segments(&path).len() < before);
    drop(logs);
    let (_, recovery) = open(&path, small());
    assert_eq!(recovery.snapshot.unwrap().covers, 15);
    assert_eq!(recovery.records, records[15..]);
}

#[test]
fn a_store_moves_to_another_thread() {
    let (_dir, path) = temp();
    let (mut store, _) = open(&path, small());
    let store = std::thread::spawn(move || {
        store.append(&batch(3)).unwrap();
        store
    })
    .join()
    .unwrap();
    assert_eq!(store.records(), 1);
    drop(store);
    assert_eq!(open(&path, small()).1.records, vec![batch(3)]);
}

// ---- snapshots ------------------------------------------------------------------------

/// Which segments a snapshot covering `covers` makes obsolete: those whose records all
/// lie at or before it, never the last.
fn obsolete(segs: &[(u64, PathBuf)], covers: u64) -> Vec<PathBuf> {
    segs.windows(2)
        .take_while(|pair| pair[1].0 - 1 <= covers)
        .map(|pair| pair[0].1.clone())
        .collect()
}

#[test]
fn snapshots_delete_the_log_behind_them_and_reopen_starts_there() {
    let (_dir, path) = temp();
    let records = batches(60);
    let mut store = fill(&path, small(), &records);

    let segs = segments(&path);
    let gone = obsolete(&segs, 30);
    assert!(gone.len() > 3);
    let snap30 = write_snapshot(&path, 30, &state_after(&records[..30])).unwrap();
    assert_eq!(snap30, path.join(snapshot_name(30)));
    assert_eq!(segments(&path), segs, "writing a snapshot deletes nothing");
    store.snapshot_taken(30).unwrap();
    let left = segments(&path);
    assert_eq!(left.len(), segs.len() - gone.len());
    assert!(gone.iter().all(|p| !p.exists()));
    // The segment holding record 31 is kept.
    assert!(left[0].0 <= 31, "{:?}", left[0]);
    assert!(left.len() == 1 || left[1].0 > 31);

    write_snapshot(&path, 50, &state_after(&records[..50])).unwrap();
    store.snapshot_taken(50).unwrap();
    assert_eq!(snapshots(&path), [(50, path.join(snapshot_name(50)))]);
    assert!(segments(&path)[0].0 <= 51);
    assert_eq!(store.last_record(), 60);
    drop(store);

    let (mut store, recovery) = open(&path, small());
    assert_eq!(
        recovery.snapshot,
        Some(StoredSnapshot {
            covers: 50,
            bytes: state_after(&records[..50]),
        })
    );
    assert_eq!(recovery.records, records[50..]);
    assert_eq!(recovery.torn_tail, None);
    assert_eq!(store.last_record(), 60);
    // The state from the snapshot and the records after it is the state of the log.
    let snapshot = Snapshot::decode(&recovery.snapshot.unwrap().bytes).unwrap();
    let mut fsm = Fsm::restore(snapshot);
    replay(&mut fsm, &recovery.records);
    assert_eq!(fsm.snapshot().encode().unwrap(), state_after(&records));

    store.append(&batch(61)).unwrap();
    assert_eq!(store.last_record(), 61);
    drop(store);
    let (_, recovery) = open(&path, small());
    assert_eq!(recovery.snapshot.unwrap().covers, 50);
    assert_eq!(recovery.records, batches(61)[50..]);
}

#[test]
fn snapshot_taken_never_deletes_the_current_segment() {
    let records = batches(60);
    let (_dir, path) = temp();
    drop(fill(&path, small(), &records));
    let last_first = segments(&path).pop().unwrap().0;
    // A snapshot up to the end of the segment before the last, and one covering every
    // record (the last segment's too).
    for covers in [last_first - 1, 60] {
        let (_dir, path) = temp();
        let mut store = fill(&path, small(), &records);
        let last = segments(&path).pop().unwrap();
        write_snapshot(&path, covers, &state_after(&records[..covers as usize])).unwrap();
        store.snapshot_taken(covers).unwrap();
        assert_eq!(segments(&path), [last], "covers {covers}");
        store.append(&batch(61)).unwrap();
        drop(store);
        let (_, recovery) = open(&path, small());
        assert_eq!(recovery.snapshot.unwrap().covers, covers);
        assert_eq!(recovery.records, batches(61)[covers as usize..]);
    }
}

/// `write_snapshot` takes the temporary name `NAME.tmp`; `snapshot_taken`, run by the
/// log thread while the compactor thread may be writing the next snapshot, must leave
/// such a file alone (only `open`, with no writer running, deletes leftovers).
#[test]
fn snapshot_taken_leaves_a_snapshot_being_written_alone() {
    let (_dir, path) = temp();
    let records = batches(40);
    let mut store = fill(&path, small(), &records);
    write_snapshot(&path, 20, &state_after(&records[..20])).unwrap();
    let in_progress = path.join(format!("{}.tmp", snapshot_name(40)));
    let partial = frame::snapshot_file(40, &state_after(&records)).unwrap();
    fs::write(&in_progress, &partial[..partial.len() / 2]).unwrap();
    store.snapshot_taken(20).unwrap();
    assert!(
        in_progress.exists(),
        "snapshot_taken deleted the compactor's snapshot in progress"
    );
}

/// The same through the runtime: `Driver::compact` from two threads while records are
/// appended. The compactor writes a snapshot while the log thread deletes the log
/// behind the previous one; every compaction must succeed.
#[test]
fn concurrent_compactions_while_appending_all_succeed() {
    use leasehold::driver::Driver;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let (_dir, path) = temp();
    let options = StoreOptions {
        segment_bytes: 300,
        snapshot_every_records: u64::MAX,
        snapshot_every_bytes: u64::MAX,
    };
    let config = leasehold::Config {
        batch_interval: Duration::from_millis(1),
        ..leasehold::Config::default()
    };
    let (driver, _) = Driver::open_with(config, &path, options).unwrap();
    let compacted = AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    let writing = AtomicBool::new(true);
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..4u64)
            .map(|t| {
                let driver = &driver;
                s.spawn(move || {
                    for i in 0..1000u64 {
                        let key = Key::new(
                            "application-leadership",
                            "m",
                            format!("app-{}", (i + t * 7) % 50),
                        );
                        let _ = driver.request(Op::claim(
                            key,
                            format!("u/{t}"),
                            Duration::from_secs(60),
                        ));
                    }
                })
            })
            .collect();
        for _ in 0..2 {
            let (driver, compacted, failures, writing) = (&driver, &compacted, &failures, &writing);
            s.spawn(move || {
                while writing.load(Ordering::Relaxed) {
                    match driver.compact() {
                        Ok(_) => {
                            compacted.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => failures.lock().unwrap().push(e.to_string()),
                    }
                }
            });
        }
        for writer in writers {
            writer.join().unwrap();
        }
        writing.store(false, Ordering::Relaxed);
    });
    let fsm = driver.shutdown().unwrap();
    // Whatever happened, the store reopens to the same state.
    let (_, recovery) = open(&path, options);
    let snapshot = recovery.snapshot.expect("a snapshot was taken");
    let mut reopened = Fsm::restore(Snapshot::decode(&snapshot.bytes).unwrap());
    replay(&mut reopened, &recovery.records);
    assert_eq!(reopened.snapshot(), fsm.snapshot());
    let failures = failures.into_inner().unwrap();
    assert!(compacted.load(Ordering::Relaxed) > 0);
    assert!(
        failures.is_empty(),
        "{} of {} compactions failed, first: {}",
        failures.len(),
        failures.len() + compacted.load(Ordering::Relaxed),
        failures[0]
    );
}

#[test]
fn a_snapshot_of_a_state_larger_than_a_batch_can_be_written() {
    let (_dir, path) = temp();
    let records = batches(3);
    let mut store = fill(&path, small(), &records);
    let big = vec![0x11u8; MAX_BATCH_BYTES + 1];
    let written = write_snapshot(&path, 3, &big);
    assert!(written.is_ok(), "{}", written.unwrap_err());
    store.snapshot_taken(3).unwrap();
    drop(store);
    let (_, recovery) = open(&path, small());
    assert_eq!(recovery.snapshot.unwrap().bytes, big);
}

#[test]
fn disk_bytes_stay_bounded_when_snapshots_are_taken_regularly() {
    let (_dir, path) = temp();
    let options = options(4096);
    let (mut store, _) = open(&path, options);
    let mut fsm = Fsm::new();
    let mut appended = 0u64;
    let mut most_segments = 0;
    let mut most_bytes = 0;
    for n in 1..=2000u64 {
        let record = batch(n);
        store.append(&record).unwrap();
        appended += record.len() as u64;
        fsm.apply_batch(&Batch::decode(&record).unwrap());
        if n % 200 == 0 {
            write_snapshot(&path, n, &fsm.snapshot().encode().unwrap()).unwrap();
            store.snapshot_taken(n).unwrap();
            assert_eq!(snapshots(&path).len(), 1);
            assert!(segments(&path).len() <= 2, "after the snapshot at {n}");
        }
        if n % 20 == 0 {
            most_segments = most_segments.max(segments(&path).len());
            let bytes = store.disk_bytes().unwrap();
            let on_disk: u64 = files(&path).values().map(|b| b.len() as u64).sum();
            assert_eq!(bytes, on_disk);
            most_bytes = most_bytes.max(bytes);
        }
    }
    // 200 records of about 100 bytes are about 5 segments of 4 KiB.
    assert!(most_segments <= 8, "{most_segments} segments at once");
    assert!(
        most_bytes < appended / 4,
        "{most_bytes} bytes on disk for {appended} appended"
    );
    drop(store);
    let (_, recovery) = open(&path, options);
    assert_eq!(recovery.snapshot.unwrap().covers, 2000);
    assert!(recovery.records.is_empty());
}

// ---- crash safety at every step of a compaction ----------------------------------------

/// A store of 60 records in small segments, with a snapshot covering 20 taken (the log
/// behind it deleted) and a snapshot covering 50 written but not yet acted on: the
/// state a crash right after `write_snapshot` leaves.
struct Compaction {
    _dir: tempfile::TempDir,
    work: PathBuf,
    records: Vec<Vec<u8>>,
    /// The files after `write_snapshot(50)`, before any deletion.
    written: BTreeMap<String, Vec<u8>>,
    /// What `snapshot_taken(50)` deletes, in the order it deletes them.
    deletions: Vec<String>,
    /// The files after `snapshot_taken(50)`.
    taken: BTreeMap<String, Vec<u8>>,
}

fn compaction() -> Compaction {
    let (dir, path) = temp();
    let records = batches(60);
    let mut store = fill(&path, small(), &records);
    write_snapshot(&path, 20, &state_after(&records[..20])).unwrap();
    store.snapshot_taken(20).unwrap();
    let segs = segments(&path);
    assert!(segs[0].0 > 1, "the log behind the first snapshot is gone");
    write_snapshot(&path, 50, &state_after(&records[..50])).unwrap();
    let written = files(&path);
    let name = |p: &PathBuf| p.file_name().unwrap().to_str().unwrap().to_owned();
    let mut deletions: Vec<String> = obsolete(&segs, 50).iter().map(name).collect();
    assert!(deletions.len() > 3);
    deletions.push(snapshot_name(20));
    store.snapshot_taken(50).unwrap();
    drop(store);
    let taken = files(&path);
    let mut expected = written.clone();
    for gone in &deletions {
        expected.remove(gone);
    }
    assert_eq!(taken, expected, "snapshot_taken deletes exactly these");
    let work = dir.path().join("work");
    Compaction {
        _dir: dir,
        work,
        records,
        written,
        deletions,
        taken,
    }
}

#[test]
fn a_leftover_temporary_snapshot_is_deleted_and_ignored() {
    let (dir, path) = temp();
    let records = batches(12);
    let mut store = fill(&path, small(), &records);
    write_snapshot(&path, 5, &state_after(&records[..5])).unwrap();
    store.snapshot_taken(5).unwrap();
    drop(store);
    let taken = files(&path);
    let work = dir.path().join("work");
    // The bytes `write_snapshot(dir, 12, ..)` writes under the temporary name, cut at
    // every length (the whole file too: the crash came before the rename).
    let full = frame::snapshot_file(12, &state_after(&records)).unwrap();
    let tmp = format!("{}.tmp", snapshot_name(12));
    for len in 0..=full.len() {
        let mut state = taken.clone();
        state.insert(tmp.clone(), full[..len].to_vec());
        put_files(&work, &state);
        let (_, recovery) = open(&work, small());
        assert_eq!(recovery.snapshot.unwrap().covers, 5, "{len} bytes");
        assert_eq!(recovery.records, records[5..], "{len} bytes");
        assert_eq!(
            files(&work),
            taken,
            "{len} bytes: the temporary file is gone"
        );
    }
    // So is a segment's, left by a crash while rolling.
    let mut state = taken.clone();
    state.insert(
        format!("{}.tmp", segment_name(13)),
        frame::FILE_HEADER.to_vec(),
    );
    put_files(&work, &state);
    let (mut store, recovery) = open(&work, small());
    assert_eq!(recovery.records, records[5..]);
    assert_eq!(files(&work), taken);
    store.append(&batch(13)).unwrap();
    drop(store);
    assert_eq!(open(&work, small()).1.records, batches(13)[5..]);
}

#[test]
fn a_snapshot_written_before_any_deletion_is_finished_at_open() {
    let c = compaction();
    put_files(&c.work, &c.written);
    let (_, recovery) = open(&c.work, small());
    assert_eq!(recovery.snapshot.unwrap().covers, 50);
    assert_eq!(recovery.records, c.records[50..]);
    assert_eq!(
        files(&c.work),
        c.taken,
        "open deleted what the snapshot made obsolete"
    );
}

#[test]
fn every_prefix_of_the_deletions_is_finished_at_open() {
    let c = compaction();
    for done in 0..=c.deletions.len() {
        let mut state = c.written.clone();
        for gone in &c.deletions[..done] {
            state.remove(gone);
        }
        put_files(&c.work, &state);
        let (mut store, recovery) = open(&c.work, small());
        assert_eq!(recovery.snapshot.unwrap().covers, 50, "{done} deleted");
        assert_eq!(recovery.records, c.records[50..], "{done} deleted");
        assert_eq!(files(&c.work), c.taken, "{done} deleted");
        store.append(&batch(61)).unwrap();
        drop(store);
        assert_eq!(open(&c.work, small()).1.records, batches(61)[50..]);
    }
}

/// Ways of damaging a snapshot file: a byte flipped, or a cut, at every offset of its
/// headers and the start of its payload, and at a stride through the rest (every offset
/// of the file is covered by `read_snapshot_file`'s own tests, tests/frame.rs).
fn damaged_versions(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let offsets: Vec<usize> = (0..40)
        .chain((40..bytes.len()).step_by(61))
        .chain([bytes.len() - 1])
        .collect();
    let mut out = Vec::new();
    for &at in &offsets {
        let mut damaged = bytes.to_vec();
        damaged[at] ^= 0x01;
        out.push((format!("byte {at} flipped"), damaged));
        out.push((format!("cut to {at}"), bytes[..at].to_vec()));
    }
    out
}

#[test]
fn a_damaged_newest_snapshot_falls_back_to_an_older_state_whose_log_exists() {
    let c = compaction();
    let newest = snapshot_name(50);
    // With the older snapshot (covering 20) and its log, and with no snapshot and the
    // whole log from record 1.
    let (_dir, path) = temp();
    drop(fill(&path, small(), &c.records));
    write_snapshot(&path, 50, &state_after(&c.records[..50])).unwrap();
    let from_one = files(&path);
    for (base, older) in [(&c.written, Some(20)), (&from_one, None)] {
        for (what, damaged) in damaged_versions(&base[&newest]) {
            let mut state = base.clone();
            state.insert(newest.clone(), damaged);
            put_files(&c.work, &state);
            let (_, recovery) = open(&c.work, small());
            let covers = recovery.snapshot.as_ref().map(|s| s.covers);
            assert_eq!(covers, older, "{what}");
            let from = older.unwrap_or(0) as usize;
            assert_eq!(recovery.records, c.records[from..], "{what}");
            if let Some(s) = &recovery.snapshot {
                assert_eq!(s.bytes, state_after(&c.records[..from]));
            }
            // Nothing the fallback state needs was deleted.
            for (name, bytes) in &state {
                if name.starts_with("seg-") {
                    assert_eq!(
                        fs::read(c.work.join(name)).ok().as_ref(),
                        Some(bytes),
                        "{what}"
                    );
                }
            }
        }
    }

    // After the fallback the store works on: appends, a newer snapshot, and the damaged
    // one is gone with the rest behind the new one.
    let mut state = c.written.clone();
    state.get_mut(&newest).unwrap()[20] ^= 0x40;
    put_files(&c.work, &state);
    let (mut store, _) = open(&c.work, small());
    let more = batches(70);
    for record in &more[60..] {
        store.append(record).unwrap();
    }
    write_snapshot(&c.work, 65, &state_after(&more[..65])).unwrap();
    store.snapshot_taken(65).unwrap();
    drop(store);
    assert_eq!(snapshots(&c.work), [(65, c.work.join(snapshot_name(65)))]);
    let (_, recovery) = open(&c.work, small());
    assert_eq!(recovery.snapshot.unwrap().covers, 65);
    assert_eq!(recovery.records, more[65..]);
}

/// Opening must refuse with `StoreError::Snapshot` naming `snapshot` and an offset, and
/// change nothing.
fn assert_snapshot_refused(dir: &Path, snapshot: &Path, offset: Option<u64>, context: &str) {
    let before = files(dir);
    let err = open_err(dir, small());
    match &err {
        StoreError::Snapshot {
            path,
            offset: o,
            reason,
        } => {
            assert_eq!(path, snapshot, "{context}");
            if let Some(offset) = offset {
                assert_eq!(*o, offset, "{context}: {reason}");
            }
            assert!(!reason.is_empty());
            let message = err.to_string();
            assert!(
                message.contains(&snapshot.display().to_string()),
                "{message}"
            );
            assert!(message.contains(&format!("offset {o}")), "{message}");
        }
        other => panic!("{context}: expected a damaged snapshot, got {other:?}"),
    }
    assert_eq!(files(dir), before, "{context}: the store is unchanged");
}

#[test]
fn a_damaged_newest_snapshot_whose_log_is_gone_refuses_to_open() {
    let c = compaction();
    let newest = snapshot_name(50);
    let snapshot = c.work.join(&newest);
    for (what, damaged) in damaged_versions(&c.taken[&newest]) {
        let mut state = c.taken.clone();
        state.insert(newest.clone(), damaged.clone());
        put_files(&c.work, &state);
        // Damage inside the 8-byte header is at offset 0; any other at the frame's.
        let offset = if damaged.len() >= 8 && damaged[..8] == frame::SNAPSHOT_HEADER {
            8
        } else {
            0
        };
        assert_snapshot_refused(&c.work, &snapshot, Some(offset), &what);
    }

    // A crash part way through the deletions: the older snapshot is still there but the
    // segment holding its next record is gone.
    let mut state = c.written.clone();
    state.remove(&c.deletions[0]);
    state.get_mut(&newest).unwrap()[30] ^= 0x02;
    put_files(&c.work, &state);
    assert_snapshot_refused(&c.work, &snapshot, Some(8), "older snapshot's log gone");

    // A snapshot whose name disagrees with what it says it covers.
    let mut state = c.taken.clone();
    let bytes = state.remove(&newest).unwrap();
    state.insert(snapshot_name(55), bytes);
    put_files(&c.work, &state);
    assert_snapshot_refused(&c.work, &c.work.join(snapshot_name(55)), None, "renamed");
}

#[test]
fn a_missing_segment_after_the_snapshot_is_a_gap() {
    let c = compaction();
    let segs: Vec<String> = c
        .taken
        .keys()
        .filter(|n| n.starts_with("seg-"))
        .cloned()
        .collect();
    assert!(segs.len() >= 2);
    for index in [0, 1] {
        let mut state = c.taken.clone();
        state.remove(&segs[index]);
        put_files(&c.work, &state);
        let err = open_err(&c.work, small());
        assert!(
            matches!(&err, StoreError::Gap { path, .. } if *path == c.work.join(&segs[index + 1])),
            "segment {index} missing: {err:?}"
        );
        assert_eq!(files(&c.work), state);
    }
}

// ---- the upgrade from the previous release's single log file ----------------------------

fn fixture() -> Vec<u8> {
    fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/v1-driver.log"
    ))
    .unwrap()
}

fn fixture_records() -> Vec<Vec<u8>> {
    let bytes = fixture();
    let scan = frame::scan(&bytes).unwrap();
    assert_eq!((scan.version, scan.torn), (1, None));
    scan.records.iter().map(|r| r.to_vec()).collect()
}

fn migrating(path: &Path) -> PathBuf {
    let mut aside = path.as_os_str().to_owned();
    aside.push(".v1-migrating");
    PathBuf::from(aside)
}

/// The store at `path` holds exactly the fixture's records as one v2 segment.
fn assert_migrated(path: &Path, recovery: &Recovery) {
    let records = fixture_records();
    assert!(recovery.migrated);
    assert_eq!(recovery.records, records);
    assert_eq!(recovery.snapshot, None);
    assert_eq!(recovery.torn_tail, None);
    assert!(path.is_dir());
    let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
    assert_eq!(
        files(path),
        BTreeMap::from([(segment_name(1), frame::file(refs).unwrap())])
    );
    assert!(!migrating(path).exists());
    let parent: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(parent.len(), 1, "nothing else is left beside the store");
}

#[test]
fn the_previous_releases_log_file_is_migrated_once() {
    let bytes = fixture();
    assert_eq!(bytes.len(), 2450);
    assert_eq!(bytes[..8], *b"LHLOG\0\0\x01");
    let (_dir, path) = temp();
    fs::write(&path, &bytes).unwrap();
    let (mut store, recovery) = open(&path, StoreOptions::default());
    assert_migrated(&path, &recovery);
    let records = fixture_records();
    assert_eq!(store.last_record(), records.len() as u64);

    // The records are the previous release's batches: 20 leases, app-1 held by app-1/1,
    // machine-7 pinning app-0, 5, 10 and 15.
    let mut fsm = Fsm::new();
    replay(&mut fsm, &recovery.records);
    assert_eq!(fsm.len(), 20);
    let leases = fsm.leases(fsm.global_time());
    let app1 = leases
        .iter()
        .find(|l| &*l.key.lease == "app-1")
        .expect("app-1 is held");
    assert_eq!(&*app1.holder, "app-1/1");
    let mut pinned: Vec<String> = fsm
        .pinned()
        .into_iter()
        .filter(|(_, entities)| entities.iter().any(|e| e == "machine-7"))
        .map(|(key, _)| key.lease.to_string())
        .collect();
    pinned.sort();
    assert_eq!(pinned, ["app-0", "app-10", "app-15", "app-5"]);

    // Appends continue in the migrated segment; reopening does not migrate again.
    store.append(&batch(1000)).unwrap();
    drop(store);
    let (_, recovery) = open(&path, StoreOptions::default());
    assert!(!recovery.migrated);
    let mut expected = records.clone();
    expected.push(batch(1000));
    assert_eq!(recovery.records, expected);
    assert_eq!(segments(&path).len(), 1);
}

/// The files of a directory a crashed migration left at the store's path, if any.
type PartialDir = Option<Vec<(String, Vec<u8>)>>;

#[test]
fn an_interrupted_migration_is_redone() {
    let bytes = fixture();
    let records = fixture_records();
    let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
    let segment = frame::file(refs).unwrap();
    // What the directory at the path held when the crash came.
    let partial: [(&str, PartialDir); 6] = [
        ("renamed aside, no directory yet", None),
        ("an empty directory", Some(vec![])),
        (
            "a partly written temporary segment",
            Some(vec![(
                format!("{}.tmp", segment_name(1)),
                segment[..100].to_vec(),
            )]),
        ),
        (
            "a whole temporary segment",
            Some(vec![(format!("{}.tmp", segment_name(1)), segment.clone())]),
        ),
        (
            "a cut segment",
            Some(vec![(
                segment_name(1),
                segment[..segment.len() - 7].to_vec(),
            )]),
        ),
        (
            "the whole segment",
            Some(vec![(segment_name(1), segment.clone())]),
        ),
    ];
    for (what, dir_files) in partial {
        let (_dir, path) = temp();
        fs::write(migrating(&path), &bytes).unwrap();
        if let Some(dir_files) = dir_files {
            fs::create_dir(&path).unwrap();
            for (name, contents) in dir_files {
                fs::write(path.join(name), contents).unwrap();
            }
        }
        let (_, recovery) =
            Store::open(&path, StoreOptions::default()).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_migrated(&path, &recovery);
        let (_, recovery) = open(&path, StoreOptions::default());
        assert!(!recovery.migrated, "{what}");
        assert_eq!(recovery.records, records, "{what}");
    }
}

#[test]
fn a_corrupt_old_file_is_refused_without_being_moved() {
    let bytes = fixture();
    let scan_bytes = fixture();
    let scan = frame::scan(&scan_bytes).unwrap();
    // The third record's frame: damage its payload (more records follow it).
    let mut offset = 8usize;
    for record in &scan.records[..2] {
        offset += 8 + record.len();
    }
    let mut damaged = bytes.clone();
    damaged[offset + 10] ^= 0x08;
    for (what, contents, aside) in [
        ("the old file", damaged.clone(), false),
        ("an interrupted migration", damaged.clone(), true),
    ] {
        let (_dir, path) = temp();
        let source = if aside {
            migrating(&path)
        } else {
            path.clone()
        };
        fs::write(&source, &contents).unwrap();
        let err = open_err(&path, StoreOptions::default());
        match &err {
            StoreError::Corrupt {
                path: p,
                source:
                    ScanError::Corrupt {
                        record, offset: o, ..
                    },
            } => {
                assert_eq!(p, &source, "{what}");
                assert_eq!((*record, *o), (2, offset as u64), "{what}");
            }
            other => panic!("{what}: {other:?}"),
        }
        assert!(
            err.to_string().contains(&format!("offset {offset}")),
            "{err}"
        );
        assert_eq!(fs::read(&source).unwrap(), contents, "{what}: not changed");
        assert_eq!(
            fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1,
            "{what}"
        );
    }
}

#[test]
fn an_old_file_with_a_torn_tail_migrates_its_whole_records() {
    let bytes = fixture();
    let records = fixture_records();
    let (_dir, path) = temp();
    fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
    let (_, recovery) = open(&path, StoreOptions::default());
    assert!(recovery.migrated);
    assert_eq!(recovery.records, records[..records.len() - 1]);
    let (at, torn) = recovery
        .torn_tail
        .expect("the old file's torn tail is reported");
    assert_eq!(at, path);
    assert_eq!(torn.record, records.len() - 1);
    assert_eq!(segments(&path).len(), 1);
    assert!(!migrating(&path).exists());
}

#[test]
fn an_empty_old_file_migrates_to_an_empty_store() {
    let (_dir, path) = temp();
    fs::write(&path, b"").unwrap();
    let (mut store, recovery) = open(&path, StoreOptions::default());
    assert!(recovery.migrated);
    assert!(recovery.records.is_empty());
    assert!(path.is_dir());
    store.append(&batch(1)).unwrap();
    drop(store);
    assert_eq!(open(&path, StoreOptions::default()).1.records, [batch(1)]);
}

#[test]
fn a_foreign_file_at_the_path_is_refused_and_left_alone() {
    let (_dir, path) = temp();
    let contents = b"not a leasehold log at all";
    fs::write(&path, contents).unwrap();
    let err = open_err(&path, StoreOptions::default());
    assert!(
        matches!(&err, StoreError::Corrupt { path: p, source: ScanError::BadHeader { .. } } if *p == path),
        "{err:?}"
    );
    assert_eq!(fs::read(&path).unwrap(), contents);
    assert!(!migrating(&path).exists());
}

#[test]
fn records_are_read_back_by_number_across_segments_and_reopens() {
    let (_dir, path) = temp();
    let records = batches(60);
    let store = fill(&path, small(), &records);
    assert!(segments(&path).len() > 10);
    assert_eq!(store.first_record(), 1);
    for (from, to) in [(1, 61), (1, 2), (17, 43), (60, 61), (5, 5), (58, 99)] {
        let want = &records[(from - 1) as usize..(to.min(61) - 1) as usize];
        assert_eq!(store.read(from, to).unwrap(), want, "{from}..{to}");
    }
    drop(store);
    let (mut store, _) = open(&path, small());
    assert_eq!(store.read(30, 40).unwrap(), &records[29..39]);
    // After a snapshot, the records behind it are gone: asking for them is a gap.
    store.snapshot_taken(40).unwrap();
    assert!(store.first_record() > 1 && store.first_record() <= 41);
    assert_eq!(store.read(41, 61).unwrap(), &records[40..]);
    assert!(matches!(
        store.read(1, 61),
        Err(StoreError::Gap { expected: 1, .. })
    ));
}

#[test]
fn truncate_after_drops_the_tail_across_segments_and_appends_go_on() {
    for last in [0, 1, 7, 22, 39, 40] {
        let (_dir, path) = temp();
        let records = batches(40);
        let mut store = fill(&path, small(), &records);
        store.truncate_after(last).unwrap();
        assert_eq!(store.last_record(), last, "truncate after {last}");
        assert_eq!(store.read(1, 100).unwrap(), &records[..last as usize]);
        // New records follow, numbered on from `last`.
        let fresh: Vec<Vec<u8>> = (100..105).map(batch).collect();
        for r in &fresh {
            store.append(r).unwrap();
        }
        let mut want = records[..last as usize].to_vec();
        want.extend(fresh.iter().cloned());
        assert_eq!(store.read(1, 100).unwrap(), want);
        drop(store);
        let (store, recovery) = open(&path, small());
        assert_eq!(
            recovery.records, want,
            "reopen after truncating after {last}"
        );
        assert_eq!(recovery.torn_tail, None);
        assert_eq!(store.last_record(), last + 5);
    }
}

#[test]
fn a_crash_part_way_through_a_truncation_leaves_a_whole_shorter_log() {
    // Truncation deletes the later segments newest first, then cuts the one holding the
    // last record kept: every state in between is a whole log, only longer.
    let (_dir, path) = temp();
    let records = batches(40);
    drop(fill(&path, small(), &records));
    let segs = segments(&path);
    for deleted in 0..segs.len() {
        let copy = path.with_extension(format!("crash{deleted}"));
        fs::create_dir(&copy).unwrap();
        for (_, seg) in &segs[..segs.len() - deleted] {
            fs::copy(seg, copy.join(seg.file_name().unwrap())).unwrap();
        }
        let (_, recovery) = open(&copy, small());
        let held = segs
            .get(segs.len() - deleted)
            .map_or(40, |(first, _)| first - 1);
        assert_eq!(
            recovery.records,
            &records[..held as usize],
            "{deleted} deleted"
        );
    }
}

#[test]
fn truncating_after_the_end_changes_nothing() {
    let (_dir, path) = temp();
    let records = batches(10);
    let mut store = fill(&path, small(), &records);
    let before = files(&path);
    store.truncate_after(10).unwrap();
    store.truncate_after(99).unwrap();
    assert_eq!(files(&path), before);
    assert_eq!(store.last_record(), 10);
}
