//! The durable logs: `FileLog`'s format, replay, torn-tail recovery and refusal of
//! corruption, and `MemoryLog`.
#![allow(unsafe_code)] // a counting global allocator measures what decoding allocates
#![cfg(feature = "driver")]

use leasehold::driver::{
    FILE_HEADER, FRAME_HEADER_LEN, FileLog, Log, LogError, MemoryLog, Replay, TornTail,
};
use leasehold::limits::MAX_BATCH_BYTES;
use leasehold::{Batch, Key, Op, Time};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Records the largest single allocation the current thread makes while tracking, so a
/// test can show that `open` never allocates what a corrupt length field claims.
struct TrackingAlloc;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // `try_with`: the thread-locals may be gone while a thread shuts down.
    let _ = TRACKING.try_with(|tracking| {
        if tracking.get() {
            let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
        }
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; the bookkeeping only
// touches const-initialised thread-locals without destructors, which never allocate.
unsafe impl GlobalAlloc for TrackingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: TrackingAlloc = TrackingAlloc;

/// Runs `f` and returns its result with the largest allocation it made on this thread.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    TRACKING.with(|t| t.set(true));
    let out = f();
    TRACKING.with(|t| t.set(false));
    (out, LARGEST.with(Cell::get))
}

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

fn batches(range: std::ops::Range<u64>) -> Vec<Vec<u8>> {
    range.map(batch).collect()
}

/// The offset of each record's frame, and the end of the last one.
fn frame_offsets(records: &[Vec<u8>]) -> (Vec<u64>, u64) {
    let mut offsets = Vec::new();
    let mut at = FILE_HEADER.len() as u64;
    for record in records {
        offsets.push(at);
        at += (FRAME_HEADER_LEN + record.len()) as u64;
    }
    (offsets, at)
}

fn open(path: &Path) -> (FileLog, Replay) {
    FileLog::open(path).expect("opens")
}

/// Writes `records` to a new log at `path` and returns the file's bytes.
fn write_log(path: &Path, records: &[Vec<u8>]) -> Vec<u8> {
    let (mut log, replay) = open(path);
    assert_eq!(replay, Replay::default());
    for record in records {
        log.append(record).expect("appends");
    }
    assert_eq!(log.records(), records.len());
    let bytes = fs::read(path).unwrap();
    assert_eq!(log.len_bytes(), bytes.len() as u64);
    assert_eq!(log.len_bytes(), frame_offsets(records).1);
    bytes
}

fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leases.log");
    (dir, path)
}

#[test]
fn a_new_log_has_only_the_header() {
    let (_dir, path) = temp();
    let (log, replay) = open(&path);
    assert_eq!(replay, Replay::default());
    assert_eq!(log.records(), 0);
    assert_eq!(log.len_bytes(), 8);
    assert_eq!(log.path(), path);
    assert_eq!(fs::read(&path).unwrap(), b"LHLOG\0\0\x01");
    assert_eq!(FILE_HEADER, *b"LHLOG\0\0\x01");
}

#[test]
fn the_frame_format_is_length_crc_payload() {
    let (_dir, path) = temp();
    let bytes = write_log(&path, &[b"abc".to_vec()]);
    let mut expected = FILE_HEADER.to_vec();
    expected.extend_from_slice(&3u32.to_le_bytes());
    expected.extend_from_slice(&crc32fast::hash(b"abc").to_le_bytes());
    expected.extend_from_slice(b"abc");
    assert_eq!(bytes, expected);
}

#[test]
fn many_records_round_trip_across_reopen() {
    let (_dir, path) = temp();
    let mut records = batches(0..3000);
    // A few records of other shapes, including a large one.
    records.push(vec![0xff; 1]);
    records.push((0..200_000u32).map(|i| (i % 251) as u8).collect());
    records.push(batch(9999));
    let bytes = write_log(&path, &records);

    for _ in 0..2 {
        let (log, replay) = open(&path);
        assert_eq!(replay.torn_tail, None);
        assert_eq!(replay.records, records);
        assert_eq!(log.records(), records.len());
        assert_eq!(log.len_bytes(), bytes.len() as u64);
        assert_eq!(
            fs::read(&path).unwrap(),
            bytes,
            "a clean open changes nothing"
        );
    }
    let (_, replay) = open(&path);
    for (seq, record) in replay.records.iter().take(3000).enumerate() {
        assert_eq!(Batch::decode(record).unwrap().seq, seq as u64);
    }
}

#[test]
fn appends_continue_after_reopen() {
    let (_dir, path) = temp();
    let records = batches(1..10);
    write_log(&path, &records[..3]);
    for chunk in [&records[3..5], &records[5..9]] {
        let (mut log, replay) = open(&path);
        let before = replay.records.len();
        assert_eq!(log.records(), before);
        for record in chunk {
            log.append(record).unwrap();
        }
        assert_eq!(log.records(), before + chunk.len());
        assert_eq!(log.len_bytes(), fs::metadata(&path).unwrap().len());
    }
    let (log, replay) = open(&path);
    assert_eq!(replay.records, records);
    assert_eq!(replay.torn_tail, None);
    assert_eq!(log.records(), 9);
}

#[test]
fn a_cut_at_every_offset_inside_the_last_record_is_a_torn_tail() {
    let (dir, path) = temp();
    let records = batches(1..6);
    let bytes = write_log(&path, &records);
    let (offsets, end) = frame_offsets(&records);
    let last = *offsets.last().unwrap();
    let earlier = &records[..records.len() - 1];
    let extra = batch(100);
    let cut_path = dir.path().join("cut.log");

    // A cut exactly at the last record's start leaves whole records only.
    fs::write(&cut_path, &bytes[..last as usize]).unwrap();
    let (_, replay) = open(&cut_path);
    assert_eq!(replay.records, earlier);
    assert_eq!(replay.torn_tail, None);

    for cut in last + 1..end {
        fs::write(&cut_path, &bytes[..cut as usize]).unwrap();
        let (mut log, replay) = open(&cut_path);
        assert_eq!(replay.records, earlier, "cut at {cut}");
        let torn = replay.torn_tail.expect("a torn tail is reported");
        assert_eq!(torn.offset, last, "cut at {cut}");
        assert_eq!(torn.dropped_bytes, cut - last, "cut at {cut}");
        assert!(!torn.reason.is_empty());
        assert_eq!(log.records(), earlier.len());
        assert_eq!(log.len_bytes(), last);
        assert_eq!(fs::read(&cut_path).unwrap(), &bytes[..last as usize]);

        log.append(&extra).unwrap();
        drop(log);
        let (log, replay) = open(&cut_path);
        assert_eq!(replay.torn_tail, None, "cut at {cut}");
        assert_eq!(replay.records.len(), records.len());
        assert_eq!(&replay.records[..earlier.len()], earlier);
        assert_eq!(replay.records.last(), Some(&extra));
        assert_eq!(log.records(), records.len());
    }
}

#[test]
fn a_cut_inside_the_file_header_is_a_bad_header() {
    let (dir, path) = temp();
    let bytes = write_log(&path, &batches(1..3));
    let cut_path = dir.path().join("cut.log");
    for cut in 1..FILE_HEADER.len() {
        fs::write(&cut_path, &bytes[..cut]).unwrap();
        let err = FileLog::open(&cut_path).unwrap_err();
        assert!(
            matches!(err, LogError::BadHeader { .. }),
            "cut at {cut}: {err}"
        );
        assert_eq!(fs::read(&cut_path).unwrap(), &bytes[..cut]);
    }
    // Exactly the header: an empty log.
    fs::write(&cut_path, &bytes[..FILE_HEADER.len()]).unwrap();
    let (_, replay) = open(&cut_path);
    assert_eq!(replay, Replay::default());
}

/// Flips one bit at `at` of the file at `path`, returning the file's new bytes.
fn flip(path: &Path, at: u64) -> Vec<u8> {
    let mut bytes = fs::read(path).unwrap();
    bytes[at as usize] ^= 0x20;
    fs::write(path, &bytes).unwrap();
    bytes
}

#[test]
fn a_damaged_last_record_is_a_torn_tail() {
    let (dir, path) = temp();
    let records = batches(1..8);
    let bytes = write_log(&path, &records);
    let (offsets, end) = frame_offsets(&records);
    let last = *offsets.last().unwrap();
    let copy = dir.path().join("copy.log");
    // Every payload byte, and every byte of the stored checksum.
    let positions = (last + FRAME_HEADER_LEN as u64..end).chain(last + 4..last + 8);
    for at in positions {
        fs::write(&copy, &bytes).unwrap();
        flip(&copy, at);
        let (mut log, replay) = open(&copy);
        assert_eq!(
            replay.records,
            &records[..records.len() - 1],
            "flip at {at}"
        );
        assert_eq!(
            replay.torn_tail,
            Some(TornTail {
                record: records.len() - 1,
                offset: last,
                dropped_bytes: end - last,
                reason: replay.torn_tail.unwrap().reason,
            })
        );
        assert_eq!(fs::read(&copy).unwrap(), &bytes[..last as usize]);
        log.append(&records[records.len() - 1]).unwrap();
        drop(log);
        let (_, replay) = open(&copy);
        assert_eq!(replay.records, records);
        assert_eq!(fs::read(&copy).unwrap(), bytes);
    }
}

#[test]
fn a_damaged_middle_record_is_corruption_and_changes_nothing() {
    let (dir, path) = temp();
    let records = batches(1..8);
    let bytes = write_log(&path, &records);
    let (offsets, _) = frame_offsets(&records);
    let copy = dir.path().join("copy.log");
    for index in [0, 3, records.len() - 2] {
        let start = offsets[index];
        let frame_end = start + (FRAME_HEADER_LEN + records[index].len()) as u64;
        // The payload's first, middle and last bytes and a checksum byte.
        let mid = start + FRAME_HEADER_LEN as u64 + records[index].len() as u64 / 2;
        for at in [start + 8, mid, frame_end - 1, start + 5] {
            fs::write(&copy, &bytes).unwrap();
            let damaged = flip(&copy, at);
            match FileLog::open(&copy) {
                Err(LogError::Corrupt {
                    record,
                    offset,
                    reason,
                }) => {
                    assert_eq!((record, offset), (index, start), "flip at {at}");
                    assert!(!reason.is_empty());
                }
                other => panic!("flip at {at}: expected Corrupt, got {other:?}"),
            }
            assert_eq!(fs::read(&copy).unwrap(), damaged, "the file is unchanged");
        }
    }
}

#[test]
fn corruption_messages_say_where() {
    let (_dir, path) = temp();
    let records = batches(1..4);
    write_log(&path, &records);
    let (offsets, _) = frame_offsets(&records);
    flip(&path, offsets[1] + 9);
    let err = FileLog::open(&path).unwrap_err();
    let message = err.to_string();
    assert!(message.contains(&offsets[1].to_string()), "{message}");
    assert!(message.contains("record 1 "), "{message}");
    assert!(message.contains("checksum"), "{message}");
}

/// Overwrites the length field of the frame at `offset`.
fn set_length(path: &Path, offset: u64, len: u32) -> Vec<u8> {
    let mut bytes = fs::read(path).unwrap();
    bytes[offset as usize..offset as usize + 4].copy_from_slice(&len.to_le_bytes());
    fs::write(path, &bytes).unwrap();
    bytes
}

#[test]
fn impossible_lengths_are_corruption_and_never_allocated() {
    let (dir, path) = temp();
    let records = batches(1..6);
    let bytes = write_log(&path, &records);
    let (offsets, _) = frame_offsets(&records);
    let copy = dir.path().join("copy.log");
    let too_long = u32::try_from(MAX_BATCH_BYTES + 1).unwrap();
    for index in [1, records.len() - 1] {
        for len in [u32::MAX, too_long, 0] {
            fs::write(&copy, &bytes).unwrap();
            let damaged = set_length(&copy, offsets[index], len);
            let (result, largest) = largest_allocation(|| FileLog::open(&copy));
            match result {
                Err(LogError::Corrupt {
                    record,
                    offset,
                    reason,
                }) => {
                    assert_eq!(record, index, "length {len} in record {index}");
                    assert_eq!(offset, offsets[index], "length {len} in record {index}");
                    assert!(reason.contains("length"), "{reason}");
                }
                other => panic!("length {len}: expected Corrupt, got {other:?}"),
            }
            assert!(largest < 1 << 20, "open allocated {largest} bytes at once");
            assert_eq!(fs::read(&copy).unwrap(), damaged, "the file is unchanged");
        }
    }
}

#[test]
fn a_large_length_running_past_the_end_is_a_torn_tail_without_allocating_it() {
    let (dir, path) = temp();
    let records = batches(1..6);
    let bytes = write_log(&path, &records);
    let (offsets, _) = frame_offsets(&records);
    let last = *offsets.last().unwrap();
    let copy = dir.path().join("copy.log");
    let max = u32::try_from(MAX_BATCH_BYTES).unwrap();
    for len in [max, max / 2, 1 << 20] {
        fs::write(&copy, &bytes).unwrap();
        set_length(&copy, last, len);
        let ((log, replay), largest) = largest_allocation(|| open(&copy));
        assert_eq!(replay.records, &records[..records.len() - 1]);
        assert_eq!(replay.torn_tail.unwrap().offset, last);
        assert_eq!(log.len_bytes(), last);
        assert!(largest < 1 << 20, "open allocated {largest} bytes at once");
    }
}

#[test]
fn a_zero_filled_tail_is_torn_but_zeros_before_data_are_corruption() {
    let (dir, path) = temp();
    let records = batches(1..4);
    let bytes = write_log(&path, &records);
    let (_, end) = frame_offsets(&records);
    let copy = dir.path().join("copy.log");

    // A file system extended the file for an interrupted append but never wrote it.
    for zeros in [1, 7, 8, 9, 4096] {
        let mut padded = bytes.clone();
        padded.resize(bytes.len() + zeros, 0);
        fs::write(&copy, &padded).unwrap();
        let (_, replay) = open(&copy);
        assert_eq!(replay.records, records);
        let torn = replay.torn_tail.expect("torn");
        assert_eq!((torn.offset, torn.dropped_bytes), (end, zeros as u64));
        assert_eq!(fs::read(&copy).unwrap(), bytes);
    }

    // A zeroed frame header with data after it is not an interrupted append's.
    let mut damaged = bytes.clone();
    damaged.extend_from_slice(&[0; 8]);
    damaged.extend_from_slice(b"data");
    fs::write(&copy, &damaged).unwrap();
    assert!(matches!(
        FileLog::open(&copy),
        Err(LogError::Corrupt { offset, .. }) if offset == end
    ));
    assert_eq!(fs::read(&copy).unwrap(), damaged);
}

#[test]
fn a_foreign_file_is_a_bad_header_and_is_not_touched() {
    let (dir, _path) = temp();
    let cases: [&[u8]; 5] = [
        b"garbage that is not a log at all",
        b"LHLOG\0\0\x02",         // a future version
        b"LHLOG\0\0\x02\0\0\0\0", // with more after it
        b"lhlog\0\0\x01",
        b"\0\0\0\0\0\0\0\0",
    ];
    for (i, contents) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("foreign-{i}.log"));
        fs::write(&path, contents).unwrap();
        match FileLog::open(&path) {
            Err(err @ LogError::BadHeader { .. }) => {
                assert!(err.to_string().contains("header"), "{err}");
            }
            other => panic!("{contents:?}: expected BadHeader, got {other:?}"),
        }
        assert_eq!(fs::read(&path).unwrap(), contents);
    }
}

#[test]
fn an_empty_file_is_a_new_log() {
    let (_dir, path) = temp();
    fs::write(&path, b"").unwrap();
    let (mut log, replay) = open(&path);
    assert_eq!(replay, Replay::default());
    assert_eq!(fs::read(&path).unwrap(), FILE_HEADER);
    log.append(&batch(1)).unwrap();
    drop(log);
    let (_, replay) = open(&path);
    assert_eq!(replay.records, vec![batch(1)]);
}

#[test]
fn records_out_of_bounds_are_refused_and_not_written() {
    let (_dir, path) = temp();
    let (mut file_log, _) = open(&path);
    let mut memory_log = MemoryLog::new();
    let too_long = vec![1u8; MAX_BATCH_BYTES + 1];
    for log in [&mut file_log as &mut dyn Log, &mut memory_log] {
        for record in [&[][..], &too_long[..]] {
            let err = log.append(record).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        }
        assert_eq!(log.records(), 0);
        log.append(&[7]).unwrap();
        assert_eq!(log.records(), 1);
    }
    assert!(!file_log.is_poisoned());
    assert_eq!(fs::read(&path).unwrap().len(), 8 + 8 + 1);
    assert_eq!(memory_log.entries(), &[vec![7u8]]);
}

#[test]
fn the_largest_record_fits() {
    let (_dir, path) = temp();
    let record = vec![0x5a; MAX_BATCH_BYTES];
    write_log(&path, &[record.clone(), batch(2)]);
    let (_, replay) = open(&path);
    assert_eq!(replay.records, vec![record, batch(2)]);
}

#[test]
fn memory_log_keeps_records_in_order() {
    let mut log = MemoryLog::new();
    let records = batches(1..50);
    for record in &records {
        log.append(record).unwrap();
    }
    assert_eq!(log.records(), 49);
    assert_eq!(log.entries(), records.as_slice());
    assert_eq!(log.into_entries(), records);
}

#[test]
fn boxed_logs_are_logs() {
    let (_dir, path) = temp();
    let mut logs: Vec<Box<dyn Log>> = vec![Box::new(MemoryLog::new()), Box::new(open(&path).0)];
    for log in &mut logs {
        log.append(&batch(1)).unwrap();
        assert_eq!(log.records(), 1);
    }
    fn needs_log(log: &mut impl Log) -> usize {
        log.records()
    }
    assert_eq!(needs_log(&mut logs[0]), 1);
    drop(logs);
    assert_eq!(open(&path).1.records, vec![batch(1)]);
}

#[test]
fn a_log_moves_to_another_thread() {
    let (_dir, path) = temp();
    let (mut log, _) = open(&path);
    std::thread::spawn(move || log.append(&batch(3)).unwrap())
        .join()
        .unwrap();
    assert_eq!(open(&path).1.records, vec![batch(3)]);
}
