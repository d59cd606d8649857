//! The log file framing (`leasehold::frame`), on bytes alone: the version 2 layout and
//! its round trip, version 1 files still read, every rule that tells a torn tail from
//! corruption (checked exhaustively over every bit flip and every cut of a small
//! multi-record file), snapshot files, and decoders that never panic.

use leasehold::frame::{
    self, FILE_HEADER, FILE_HEADER_V1, FRAME_HEADER_LEN, RecordError, SNAPSHOT_HEADER, Scan,
    ScanError, TornTail,
};
use leasehold::limits::{MAX_BATCH_BYTES, MAX_SNAPSHOT_BYTES};
use leasehold::{Batch, Fsm, Key};

/// Records of varied sizes and contents (one byte, all zeros, patterned, real batch-like
/// sizes): a file of a few hundred bytes, so exhaustive damage is fast.
fn records() -> Vec<Vec<u8>> {
    vec![
        b"first record".to_vec(),
        vec![0x42],
        (0..57u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect(),
        vec![0; 9],
        (0..23u8).collect(),
        b"a record in the middle of the file, a little longer than most".to_vec(),
        vec![0xff; 3],
        (0..40u8).map(|i| 200 - i).collect(),
    ]
}

fn refs(records: &[Vec<u8>]) -> Vec<&[u8]> {
    records.iter().map(Vec::as_slice).collect()
}

/// Version 2 file of `records`.
fn v2_file(records: &[Vec<u8>]) -> Vec<u8> {
    frame::file(refs(records)).expect("records within bounds")
}

/// Version 1 file of `records`, built by hand: `LHLOG\0\0\x01`, then `len crc payload`.
fn v1_file(records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"LHLOG\0\0\x01".to_vec();
    for record in records {
        out.extend_from_slice(&u32::try_from(record.len()).unwrap().to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(record).to_le_bytes());
        out.extend_from_slice(record);
    }
    out
}

/// Where each frame starts, and where the last one ends, for frames of `header_len`.
fn frame_starts(records: &[Vec<u8>], header_len: usize) -> (Vec<u64>, u64) {
    let mut starts = Vec::new();
    let mut at = FILE_HEADER.len() as u64;
    for record in records {
        starts.push(at);
        at += (header_len + record.len()) as u64;
    }
    (starts, at)
}

/// The frame holding byte `at` (at or past the file header).
fn frame_holding(starts: &[u64], at: u64) -> usize {
    starts
        .iter()
        .rposition(|&s| s <= at)
        .expect("past the file header")
}

fn corrupt(result: Result<Scan<'_>, ScanError>) -> (usize, u64, &'static str) {
    match result {
        Err(ScanError::Corrupt {
            record,
            offset,
            reason,
        }) => (record, offset, reason),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// The record and offset of a refusal, without its reason.
trait Pair {
    fn pair(self) -> (usize, u64);
}

impl Pair for (usize, u64, &'static str) {
    fn pair(self) -> (usize, u64) {
        (self.0, self.1)
    }
}

fn torn(result: Result<Scan<'_>, ScanError>) -> (Vec<&[u8]>, TornTail) {
    match result {
        Ok(Scan {
            records,
            torn: Some(torn),
            end,
            ..
        }) => {
            assert_eq!(
                end, torn.offset,
                "the torn tail starts where whole records end"
            );
            (records, torn)
        }
        other => panic!("expected a torn tail, got {other:?}"),
    }
}

// ---- the layout and the round trip ----------------------------------------------

#[test]
fn the_file_header_and_frame_layout_are_as_documented() {
    assert_eq!(FILE_HEADER, *b"LHLOG\0\0\x02");
    assert_eq!(FILE_HEADER_V1, *b"LHLOG\0\0\x01");
    assert_eq!(FRAME_HEADER_LEN, 12);
    assert_eq!(SNAPSHOT_HEADER, *b"LHSNAP\0\x01");

    let file = frame::file([&b"abc"[..]]).unwrap();
    let mut expected = b"LHLOG\0\0\x02".to_vec();
    let mut header = 3u32.to_le_bytes().to_vec();
    header.extend_from_slice(&crc32fast::hash(b"abc").to_le_bytes());
    let check = crc32fast::hash(&header);
    expected.extend_from_slice(&header);
    expected.extend_from_slice(&check.to_le_bytes());
    expected.extend_from_slice(b"abc");
    assert_eq!(file, expected);

    // push_frame appends exactly one frame; file() is the header plus those frames.
    let mut out = FILE_HEADER.to_vec();
    frame::push_frame(&mut out, b"abc").unwrap();
    assert_eq!(out, file);
}

#[test]
fn records_round_trip() {
    let records = records();
    let file = v2_file(&records);
    let (_, end) = frame_starts(&records, FRAME_HEADER_LEN);
    assert_eq!(file.len() as u64, end);
    let scan = frame::scan(&file).unwrap();
    assert_eq!(scan.version, 2);
    assert_eq!(scan.records, refs(&records));
    assert_eq!(scan.end, end);
    assert_eq!(scan.torn, None);

    // A file of only the header is an empty log.
    let empty = frame::scan(&FILE_HEADER).unwrap();
    assert_eq!(
        (empty.version, empty.records.len(), empty.end, empty.torn),
        (2, 0, 8, None)
    );

    // Real encoded batches too.
    let batches: Vec<Vec<u8>> = (0..50u64)
        .map(|seq| {
            let key = Key::new("application-leadership", "m", format!("app-{seq}"));
            let op = leasehold::Op::claim(key, "unit/0", std::time::Duration::from_secs(60));
            Batch::new(seq, vec![op]).encode().unwrap()
        })
        .collect();
    let file = v2_file(&batches);
    let scan = frame::scan(&file).unwrap();
    for (seq, record) in scan.records.iter().enumerate() {
        assert_eq!(Batch::decode(record).unwrap().seq, seq as u64);
    }
}

#[test]
fn records_out_of_bounds_are_refused_and_nothing_is_appended() {
    let mut out = FILE_HEADER.to_vec();
    assert_eq!(frame::push_frame(&mut out, b""), Err(RecordError::Empty));
    let too_long = vec![1u8; MAX_BATCH_BYTES + 1];
    assert_eq!(
        frame::push_frame(&mut out, &too_long),
        Err(RecordError::TooLong {
            len: MAX_BATCH_BYTES + 1,
            limit: MAX_BATCH_BYTES,
        })
    );
    assert_eq!(out, FILE_HEADER);
    assert_eq!(
        frame::file([&b"ok"[..], b""]),
        Err(RecordError::Empty),
        "file() refuses the first bad record"
    );
    assert_eq!(frame::check_record(b"x"), Ok(()));

    // The largest record fits and reads back.
    let largest = vec![0x5a; MAX_BATCH_BYTES];
    frame::push_frame(&mut out, &largest).unwrap();
    frame::push_frame(&mut out, b"after").unwrap();
    let scan = frame::scan(&out).unwrap();
    assert_eq!(scan.records, [&largest[..], b"after"]);
    assert_eq!(scan.torn, None);
}

#[test]
fn version_1_files_are_still_read() {
    let records = records();
    let file = v1_file(&records);
    let (starts, end) = frame_starts(&records, 8);
    let scan = frame::scan(&file).unwrap();
    assert_eq!(scan.version, 1);
    assert_eq!(scan.records, refs(&records));
    assert_eq!((scan.end, scan.torn), (end, None));

    // Their torn-tail rules: a cut inside the last record, or its payload damaged.
    let last = *starts.last().unwrap();
    for cut in last + 1..end {
        let (whole, t) = torn(frame::scan(&file[..cut as usize]));
        assert_eq!(whole, refs(&records[..records.len() - 1]), "cut at {cut}");
        assert_eq!(
            (t.record, t.offset, t.dropped_bytes),
            (records.len() - 1, last, cut - last)
        );
    }
    let mut damaged = file.clone();
    damaged[end as usize - 1] ^= 1;
    let (whole, t) = torn(frame::scan(&damaged));
    assert_eq!(whole.len(), records.len() - 1);
    assert_eq!(t.offset, last);

    // A damaged middle payload or checksum is corruption.
    for at in [starts[2] + 4, starts[2] + 8, starts[3] - 1] {
        let mut damaged = file.clone();
        damaged[at as usize] ^= 0x10;
        assert_eq!(
            corrupt(frame::scan(&damaged)).pair(),
            (2, starts[2]),
            "flip at {at}"
        );
    }
}

#[test]
fn the_previous_releases_driver_log_is_read() {
    let file = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/v1-driver.log"
    ))
    .unwrap();
    assert_eq!(file.len(), 2450);
    assert_eq!(file[..8], FILE_HEADER_V1);
    let scan = frame::scan(&file).unwrap();
    assert_eq!(scan.version, 1);
    assert_eq!(scan.end, 2450);
    assert_eq!(scan.torn, None);
    assert!(!scan.records.is_empty());
    let mut fsm = Fsm::new();
    for (i, record) in scan.records.iter().enumerate() {
        let batch = Batch::decode(record).unwrap_or_else(|e| panic!("record {i}: {e}"));
        fsm.apply_batch(&batch);
    }
    assert_eq!(fsm.len(), 20);
}

#[test]
fn a_bad_file_header_is_refused() {
    let cases: [&[u8]; 8] = [
        b"",
        b"LHLOG\0\0",
        b"garbage that is not a log at all",
        b"LHLOG\0\0\x03",
        b"LHLOG\0\0\x00\0\0\0\0",
        b"lhlog\0\0\x02",
        b"\0\0\0\0\0\0\0\0",
        b"LHSNAP\0\x01",
    ];
    for contents in cases {
        match frame::scan(contents) {
            Err(err @ ScanError::BadHeader { .. }) => {
                let message = err.to_string();
                assert!(message.contains("offset 0"), "{message}");
            }
            other => panic!("{contents:?}: expected BadHeader, got {other:?}"),
        }
    }
}

// ---- torn tails and corruption: exhaustive ----------------------------------------

/// The key property: flipping any one bit after the file header gives either a refusal
/// naming the damaged frame's record and offset, or, only when the damaged frame is the
/// last one, a torn tail cut exactly at the end of the last whole record with every
/// record before it intact. Never a record missing or altered in the middle.
#[test]
fn every_bit_flip_is_refused_at_its_frame_or_cuts_only_the_last_record() {
    let records = records();
    let file = v2_file(&records);
    let (starts, end) = frame_starts(&records, FRAME_HEADER_LEN);
    let last = records.len() - 1;
    let mut refused = 0;
    let mut cut = 0;
    for at in FILE_HEADER.len() as u64..end {
        let k = frame_holding(&starts, at);
        for bit in 0..8 {
            let mut damaged = file.clone();
            damaged[at as usize] ^= 1 << bit;
            let context = format!("bit {bit} of byte {at} (record {k})");
            match frame::scan(&damaged) {
                Err(ScanError::Corrupt {
                    record,
                    offset,
                    reason,
                }) => {
                    assert_eq!((record, offset), (k, starts[k]), "{context}");
                    assert!(!reason.is_empty());
                    refused += 1;
                }
                Ok(scan) => {
                    assert_eq!(k, last, "{context}: a torn tail before the last frame");
                    let t = scan
                        .torn
                        .unwrap_or_else(|| panic!("{context}: read as whole"));
                    assert_eq!(scan.records, refs(&records[..k]), "{context}");
                    assert_eq!(scan.end, starts[k], "{context}");
                    assert_eq!(
                        (t.record, t.offset, t.dropped_bytes),
                        (k, starts[k], end - starts[k]),
                        "{context}"
                    );
                    // Only a payload flip can look like an interrupted append; a damaged
                    // frame header always fails its own checksum.
                    assert!(at >= starts[k] + FRAME_HEADER_LEN as u64, "{context}");
                    cut += 1;
                }
                Err(e) => panic!("{context}: {e}"),
            }
        }
    }
    // Exactly the last record's payload bits are read as a torn tail.
    assert_eq!(cut, 8 * records[last].len());
    assert_eq!(refused + cut, 8 * (file.len() - FILE_HEADER.len()));

    // And any flip in the file header is a bad header (no single flip turns version 2
    // into version 1).
    for at in 0..FILE_HEADER.len() {
        for bit in 0..8 {
            let mut damaged = file.clone();
            damaged[at] ^= 1 << bit;
            assert!(
                matches!(frame::scan(&damaged), Err(ScanError::BadHeader { .. })),
                "bit {bit} of header byte {at}"
            );
        }
    }
}

/// Version 1 framing has no header checksum: some single flips of a length field read
/// as a torn tail in the middle of the file and silently drop acknowledged records.
/// This is what version 2 fixes (the test above); it is kept to show the test above
/// would catch it.
#[test]
fn version_1_framing_can_mistake_a_damaged_length_for_a_torn_tail() {
    let records = records();
    let file = v1_file(&records);
    let (starts, _) = frame_starts(&records, 8);
    let mut silent_losses = 0;
    for &start in &starts[..records.len() - 1] {
        for at in start..start + 4 {
            for bit in 0..8 {
                let mut damaged = file.clone();
                damaged[at as usize] ^= 1 << bit;
                if let Ok(Scan { torn: Some(_), .. }) = frame::scan(&damaged) {
                    silent_losses += 1;
                }
            }
        }
    }
    assert!(silent_losses > 0);
}

#[test]
fn a_flipped_high_length_byte_of_a_middle_record_is_corruption() {
    let records = records();
    let (starts, _) = frame_starts(&records, FRAME_HEADER_LEN);
    let (starts_v1, _) = frame_starts(&records, 8);
    let middle = 3;
    for byte in 1..4 {
        for bit in 0..8 {
            let mut v2 = v2_file(&records);
            v2[(starts[middle] + byte) as usize] ^= 1 << bit;
            let (record, offset, reason) = corrupt(frame::scan(&v2));
            assert_eq!(
                (record, offset),
                (middle, starts[middle]),
                "byte {byte} bit {bit}"
            );
            assert!(reason.contains("header checksum"), "{reason}");

            // The old bug: in version 1 a length grown to within the largest batch
            // runs past the end and is taken for a torn tail.
            if byte == 2 {
                let mut v1 = v1_file(&records);
                v1[(starts_v1[middle] + byte) as usize] ^= 1 << bit;
                let (whole, t) = torn(frame::scan(&v1));
                assert_eq!((whole.len(), t.offset), (middle, starts_v1[middle]));
            }
        }
    }
}

#[test]
fn every_cut_is_a_bad_header_or_a_torn_tail_at_the_last_whole_record() {
    let records = records();
    for (version, file, header_len) in [
        (2, v2_file(&records), FRAME_HEADER_LEN),
        (1, v1_file(&records), 8),
    ] {
        let (starts, end) = frame_starts(&records, header_len);
        let ends: Vec<u64> = starts[1..].iter().copied().chain([end]).collect();
        for cut in 0..=end {
            let bytes = &file[..cut as usize];
            if cut < 8 {
                assert!(
                    matches!(frame::scan(bytes), Err(ScanError::BadHeader { .. })),
                    "v{version} cut at {cut}"
                );
                continue;
            }
            let scan = frame::scan(bytes).unwrap_or_else(|e| panic!("v{version} cut {cut}: {e}"));
            assert_eq!(scan.version, version);
            let whole = ends.iter().take_while(|&&e| e <= cut).count();
            let whole_end = if whole == 0 { 8 } else { ends[whole - 1] };
            assert_eq!(
                scan.records,
                refs(&records[..whole]),
                "v{version} cut at {cut}"
            );
            assert_eq!(scan.end, whole_end, "v{version} cut at {cut}");
            if cut == whole_end {
                assert_eq!(scan.torn, None, "v{version} cut at {cut}");
            } else {
                let t = scan
                    .torn
                    .unwrap_or_else(|| panic!("v{version} cut {cut}: no tail"));
                assert_eq!(
                    (t.record, t.offset, t.dropped_bytes),
                    (whole, whole_end, cut - whole_end),
                    "v{version} cut at {cut}"
                );
                assert!(!t.reason.is_empty());
            }
        }
    }
}

/// A frame header with a valid header checksum for `len` and `crc`.
fn checked_header(len: u32, crc: u32) -> Vec<u8> {
    let mut header = len.to_le_bytes().to_vec();
    header.extend_from_slice(&crc.to_le_bytes());
    let check = crc32fast::hash(&header);
    header.extend_from_slice(&check.to_le_bytes());
    header
}

#[test]
fn impossible_lengths_are_corruption_even_with_a_valid_header_checksum() {
    let records = records();
    let file = v2_file(&records);
    let (starts, end) = frame_starts(&records, FRAME_HEADER_LEN);
    let too_long = u32::try_from(MAX_BATCH_BYTES + 1).unwrap();
    for k in [1, records.len() - 1] {
        for (len, words) in [(0, "zero"), (too_long, "exceeds"), (u32::MAX, "exceeds")] {
            let mut damaged = file.clone();
            let at = starts[k] as usize;
            damaged[at..at + 12].copy_from_slice(&checked_header(len, 0));
            let (record, offset, reason) = corrupt(frame::scan(&damaged));
            assert_eq!((record, offset), (k, starts[k]), "length {len}");
            assert!(reason.contains(words), "{reason}");
        }
    }
    // A large but possible length on the last frame, vouched for by its header
    // checksum, runs past the end: an interrupted append.
    let last = *starts.last().unwrap() as usize;
    for len in [u32::try_from(MAX_BATCH_BYTES).unwrap(), 1 << 20, 100] {
        let mut damaged = file.clone();
        let crc = u32::from_le_bytes(damaged[last + 4..last + 8].try_into().unwrap());
        damaged[last..last + 12].copy_from_slice(&checked_header(len, crc));
        let (whole, t) = torn(frame::scan(&damaged));
        assert_eq!(whole, refs(&records[..records.len() - 1]));
        assert_eq!(
            (t.offset, t.dropped_bytes),
            (last as u64, end - last as u64)
        );
    }
}

#[test]
fn a_zero_filled_tail_is_torn_but_zeros_before_data_are_corruption() {
    let records = records();
    for (file, header_len) in [
        (v2_file(&records), FRAME_HEADER_LEN),
        (v1_file(&records), 8),
    ] {
        let (_, end) = frame_starts(&records, header_len);
        // A file system extended the file for an interrupted append but never wrote it.
        for zeros in [1, 7, 8, 11, 12, 13, 4096] {
            let mut padded = file.clone();
            padded.resize(file.len() + zeros, 0);
            let (whole, t) = torn(frame::scan(&padded));
            assert_eq!(whole, refs(&records), "{zeros} zeros");
            assert_eq!(
                (t.record, t.offset, t.dropped_bytes),
                (records.len(), end, zeros as u64)
            );
        }
        // Zeros where a frame should start, with data after them.
        for zeros in [1, 8, 12, 100] {
            let mut damaged = file.clone();
            damaged.resize(file.len() + zeros, 0);
            damaged.extend_from_slice(b"data after the zeros");
            let (record, offset, _) = corrupt(frame::scan(&damaged));
            assert_eq!(
                (record, offset),
                (records.len(), end),
                "{zeros} zeros then data"
            );
        }
        // A whole frame of zeros followed by a real frame.
        let mut damaged = file.clone();
        damaged.resize(file.len() + header_len + 5, 0);
        frame::push_frame(&mut damaged, b"later").unwrap();
        assert_eq!(corrupt(frame::scan(&damaged)).pair(), (records.len(), end));
    }

    // The last frame's header written, its payload not (zeros to its full length).
    let mut file = v2_file(&records[..3]);
    let at = file.len();
    frame::push_frame(&mut file, b"payload").unwrap();
    file[at + 12..].fill(0);
    let (whole, t) = torn(frame::scan(&file));
    assert_eq!((whole.len(), t.offset), (3, at as u64));
    // ... with more after it: corruption.
    file.push(1);
    assert_eq!(corrupt(frame::scan(&file)).pair(), (3, at as u64));
}

#[test]
fn corruption_messages_name_the_record_and_offset() {
    let records = records();
    let mut file = v2_file(&records);
    let (starts, _) = frame_starts(&records, FRAME_HEADER_LEN);
    file[starts[2] as usize + 20] ^= 4;
    let err = frame::scan(&file).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("record 2 "), "{message}");
    assert!(
        message.contains(&format!("offset {}", starts[2])),
        "{message}"
    );
    assert!(message.contains("checksum"), "{message}");
}

// ---- snapshot files ---------------------------------------------------------------

fn snapshot_bytes() -> Vec<u8> {
    (0..90u8)
        .map(|i| i.wrapping_mul(13).wrapping_add(7))
        .collect()
}

#[test]
fn snapshot_files_round_trip() {
    let snapshot = snapshot_bytes();
    for covers in [0, 1, 4000, u64::MAX] {
        let file = frame::snapshot_file(covers, &snapshot).unwrap();
        assert_eq!(file[..8], SNAPSHOT_HEADER);
        assert_eq!(file.len(), 8 + FRAME_HEADER_LEN + 8 + snapshot.len());
        assert_eq!(
            frame::read_snapshot_file(&file),
            Ok((covers, &snapshot[..]))
        );
    }
    // A real encoded state.
    let mut fsm = Fsm::new();
    let key = Key::new("application-leadership", "m", "app-0");
    fsm.apply(&leasehold::Op::claim(
        key,
        "unit/0",
        std::time::Duration::from_secs(5),
    ))
    .unwrap();
    let encoded = fsm.snapshot().encode().unwrap();
    let file = frame::snapshot_file(7, &encoded).unwrap();
    let (covers, read) = frame::read_snapshot_file(&file).unwrap();
    assert_eq!(covers, 7);
    let restored = Fsm::restore(leasehold::Snapshot::decode(read).unwrap());
    assert_eq!(restored.snapshot(), fsm.snapshot());
}

#[test]
fn an_empty_snapshot_reads_back_empty() {
    let file = frame::snapshot_file(5, b"").unwrap();
    assert_eq!(file.len(), 8 + FRAME_HEADER_LEN + 8);
    assert_eq!(frame::read_snapshot_file(&file), Ok((5, &b""[..])));
}

/// `MAX_SNAPSHOT_BYTES` allows encoded snapshots far larger than a batch; the snapshot
/// file must be able to hold one, or a large state can never be snapshotted.
#[test]
fn a_snapshot_larger_than_a_batch_can_be_framed() {
    const { assert!(MAX_SNAPSHOT_BYTES > MAX_BATCH_BYTES) };
    let snapshot = vec![0x33u8; MAX_BATCH_BYTES + 1];
    let file = frame::snapshot_file(9, &snapshot).unwrap_or_else(|e| {
        panic!(
            "a {}-byte snapshot could not be framed: {e}",
            snapshot.len()
        )
    });
    assert_eq!(frame::read_snapshot_file(&file), Ok((9, &snapshot[..])));
    // A log frame still may not be that large.
    let mut log = FILE_HEADER.to_vec();
    assert!(frame::push_frame(&mut log, &snapshot).is_err());

    // A snapshot frame claiming more than the limit, with a valid header checksum, is
    // refused without reading on.
    let limit = u32::try_from(MAX_SNAPSHOT_BYTES + 8).unwrap();
    for (len, refused) in [(limit + 1, true), (u32::MAX, true), (limit, false)] {
        let mut file = SNAPSHOT_HEADER.to_vec();
        file.extend_from_slice(&checked_header(len, 0));
        file.extend_from_slice(&[1; 64]);
        let err = frame::read_snapshot_file(&file).unwrap_err();
        assert!(matches!(err, ScanError::Corrupt { offset: 8, .. }), "{err}");
        assert_eq!(
            err.to_string().contains("exceeds"),
            refused,
            "length {len}: {err}"
        );
    }
}

#[test]
fn every_byte_change_and_every_cut_of_a_snapshot_file_is_refused() {
    let snapshot = snapshot_bytes();
    let file = frame::snapshot_file(4000, &snapshot).unwrap();
    for at in 0..file.len() {
        for mask in 1..=255u8 {
            let mut damaged = file.clone();
            damaged[at] ^= mask;
            match frame::read_snapshot_file(&damaged) {
                Err(ScanError::BadHeader { .. }) => assert!(at < 8, "byte {at} ^ {mask}"),
                Err(ScanError::Corrupt { record, offset, .. }) => {
                    assert!(at >= 8, "byte {at} ^ {mask}");
                    assert_eq!((record, offset), (0, 8), "byte {at} ^ {mask}");
                }
                Ok(read) => panic!("byte {at} ^ {mask}: read {read:?}"),
                Err(e) => panic!("byte {at} ^ {mask}: {e}"),
            }
        }
    }
    for cut in 0..file.len() {
        let err = frame::read_snapshot_file(&file[..cut]).expect_err("a cut snapshot");
        if cut < 8 {
            assert!(
                matches!(err, ScanError::BadHeader { .. }),
                "cut at {cut}: {err}"
            );
        } else {
            assert!(
                matches!(err, ScanError::Corrupt { offset: 8, .. }),
                "cut at {cut}: {err}"
            );
        }
    }
    // Anything after the frame.
    for extra in [&[0u8][..], b"x", &[0; 12]] {
        let mut longer = file.clone();
        longer.extend_from_slice(extra);
        assert!(
            frame::read_snapshot_file(&longer).is_err(),
            "{extra:?} appended"
        );
    }
    // A log file is not a snapshot, and a snapshot is not a log.
    assert!(matches!(
        frame::read_snapshot_file(&v2_file(&records())),
        Err(ScanError::BadHeader { .. })
    ));
    assert!(matches!(
        frame::scan(&file),
        Err(ScanError::BadHeader { .. })
    ));
}

#[test]
fn a_snapshot_frame_too_short_to_say_what_it_covers_is_refused() {
    for len in 1..8 {
        let mut file = SNAPSHOT_HEADER.to_vec();
        frame::push_frame(&mut file, &vec![1; len]).unwrap();
        let err = frame::read_snapshot_file(&file).unwrap_err();
        assert!(
            matches!(err, ScanError::Corrupt { offset: 8, .. }),
            "{len}: {err}"
        );
        assert!(err.to_string().contains("short"), "{err}");
    }
    // Two frames: the second is not allowed.
    let mut file = frame::snapshot_file(3, b"snap").unwrap();
    frame::push_frame(&mut file, &[0; 8]).unwrap();
    assert!(frame::read_snapshot_file(&file).is_err());
}

#[test]
fn snapshot_errors_name_the_offset() {
    let mut file = frame::snapshot_file(12, &snapshot_bytes()).unwrap();
    let header = frame::read_snapshot_file(b"LHLOG\0\0\x02").unwrap_err();
    assert!(header.to_string().contains("offset 0"), "{header}");
    file[40] ^= 1;
    let err = frame::read_snapshot_file(&file).unwrap_err();
    assert!(err.to_string().contains("offset 8"), "{err}");
}

// ---- decoders never panic -----------------------------------------------------------

#[cfg(not(target_arch = "wasm32"))]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// A change to a file: flip bits, overwrite, cut, zero-fill or insert.
    #[derive(Debug, Clone)]
    enum Mutation {
        Xor(usize, u8),
        Set(usize, u8),
        Cut(usize),
        Zero(usize, usize),
        Insert(usize, Vec<u8>),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (any::<usize>(), 1..=255u8).prop_map(|(at, m)| Mutation::Xor(at, m)),
            (any::<usize>(), any::<u8>()).prop_map(|(at, v)| Mutation::Set(at, v)),
            any::<usize>().prop_map(Mutation::Cut),
            (any::<usize>(), 1..40usize).prop_map(|(at, n)| Mutation::Zero(at, n)),
            (
                any::<usize>(),
                proptest::collection::vec(any::<u8>(), 1..20)
            )
                .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        ]
    }

    fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
        let len = bytes.len().max(1);
        match mutation {
            Mutation::Xor(at, m) => {
                if let Some(b) = bytes.get_mut(at % len) {
                    *b ^= m;
                }
            }
            Mutation::Set(at, v) => {
                if let Some(b) = bytes.get_mut(at % len) {
                    *b = *v;
                }
            }
            Mutation::Cut(at) => bytes.truncate(at % len),
            Mutation::Zero(at, n) => {
                let start = (at % len).min(bytes.len());
                let end = (start + n).min(bytes.len());
                bytes[start..end].fill(0);
            }
            Mutation::Insert(at, extra) => {
                let at = (at % len).min(bytes.len());
                bytes.splice(at..at, extra.iter().copied());
            }
        }
    }

    fn any_records() -> impl Strategy<Value = Vec<Vec<u8>>> {
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..64), 0..8)
    }

    /// What a successful scan must satisfy whatever the input.
    fn check_scan(bytes: &[u8], scan: &Scan<'_>) {
        assert!(scan.version == 1 || scan.version == 2);
        assert!(scan.end as usize <= bytes.len());
        match scan.torn {
            None => assert_eq!(scan.end as usize, bytes.len()),
            Some(t) => {
                assert_eq!(t.offset, scan.end);
                assert_eq!(t.record, scan.records.len());
                assert_eq!(t.offset + t.dropped_bytes, bytes.len() as u64);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn scan_never_panics_on_random_bytes(
            header in prop_oneof![Just(FILE_HEADER.to_vec()), Just(FILE_HEADER_V1.to_vec()),
                                  proptest::collection::vec(any::<u8>(), 0..10)],
            body in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let mut bytes = header;
            bytes.extend_from_slice(&body);
            if let Ok(scan) = frame::scan(&bytes) {
                check_scan(&bytes, &scan);
            }
            let _ = frame::read_snapshot_file(&bytes);
        }

        /// Damage to a real file never panics, and what is read is always a prefix of
        /// what was written (checksums do not let altered records through).
        #[test]
        fn scan_of_a_damaged_file_reads_a_prefix_or_refuses(
            records in any_records(),
            v1 in any::<bool>(),
            mutations in proptest::collection::vec(mutation(), 1..4),
        ) {
            let mut bytes = if v1 { v1_file(&records) } else { v2_file(&records) };
            for m in &mutations {
                apply(&mut bytes, m);
            }
            if let Ok(scan) = frame::scan(&bytes) {
                check_scan(&bytes, &scan);
                prop_assert!(scan.records.len() <= records.len());
                prop_assert_eq!(&scan.records, &refs(&records[..scan.records.len()]));
            }
        }

        #[test]
        fn a_damaged_snapshot_file_is_refused_or_read_unchanged(
            covers in any::<u64>(),
            snapshot in proptest::collection::vec(any::<u8>(), 0..200),
            mutations in proptest::collection::vec(mutation(), 0..4),
        ) {
            let file = frame::snapshot_file(covers, &snapshot).unwrap();
            let mut bytes = file.clone();
            for m in &mutations {
                apply(&mut bytes, m);
            }
            match frame::read_snapshot_file(&bytes) {
                Ok(read) => prop_assert_eq!(read, (covers, &snapshot[..])),
                Err(_) => prop_assert_ne!(bytes, file),
            }
        }
    }
}
