//! A lease service's own log file: a segment of a `leaseholdd` node's Raft log
//! (`DATA/seg-*.log`), read without openraft. The framing is the one every leasehold
//! log uses ([`leasehold::frame`]); each record is one Raft entry, postcard-encoded,
//! which reads as plain values in this order (the service's `tests/log_layout.rs` pins
//! the same layout against openraft's own types):
//!
//! ```text
//! (term: u64, node_id: u64, index: u64)   the entry's log id
//! variant: u32                            0 blank, 1 normal, 2 membership
//! normal: (epoch: u64, batch: Vec<u8>, …) batch: the engine's encoded batch; empty:
//!                                         an epoch's fence
//! ```
//!
//! The batches are replayed as the service's state machine applies them: a fence
//! raises the epoch, and a batch of an older epoch after it is skipped (its leader
//! had lost the lease of the log). The last entries of a node's log may not be
//! committed yet; the file does not say.

/// What a segment holds, for the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceLog {
    /// The batches the state machine applies, in log order.
    pub batches: Vec<Vec<u8>>,
    /// The Raft index of each batch.
    pub indexes: Vec<u64>,
    /// Batches of an older epoch skipped after a newer epoch's fence.
    pub fenced_off: usize,
}

/// A Raft log id as plain numbers: (term, node id, index).
type LogId = (u64, u64, u64);

/// One entry's head: its log id, its kind and the rest of the record.
fn head(record: &[u8]) -> Option<(LogId, u32, &[u8])> {
    let (id, rest): (LogId, &[u8]) = postcard::take_from_bytes(record).ok()?;
    let (variant, rest): (u32, &[u8]) = postcard::take_from_bytes(rest).ok()?;
    (variant <= 2).then_some((id, variant, rest))
}

/// Reads `records` as a service's log segment: `Ok(None)` when they are not one (the
/// first does not read as a Raft entry), an error naming the record when one in the
/// middle does not read, or when the segment does not start the log.
///
/// # Errors
///
/// A message naming what is wrong.
pub fn read(records: &[Vec<u8>]) -> Result<Option<ServiceLog>, String> {
    // A driver's log (or an export) holds batches: its records decode as such.
    if records
        .first()
        .is_none_or(|r| leasehold::Batch::decode(r).is_ok())
    {
        return Ok(None);
    }
    let Some(((_, _, first), _, _)) = records.first().and_then(|r| head(r)) else {
        return Ok(None);
    };
    if first != 0 {
        return Err(format!(
            "this segment of a service's log starts at Raft index {first}: the batches before \
             it are in an earlier segment or were compacted into a snapshot, so it cannot be \
             replayed from an empty state; open the node's first segment \
             (seg-00000000000000000001.log) while it still holds the whole log"
        ));
    }
    let mut log = ServiceLog {
        batches: Vec::new(),
        indexes: Vec::new(),
        fenced_off: 0,
    };
    let mut fence = 0u64;
    for (i, record) in records.iter().enumerate() {
        let Some(((_, _, index), variant, rest)) = head(record) else {
            return Err(format!("record {i} is not a Raft entry"));
        };
        if index != first + i as u64 {
            return Err(format!(
                "record {i} holds Raft index {index}, not {}",
                first + i as u64
            ));
        }
        if variant != 1 {
            continue;
        }
        let Ok(((epoch, batch), _)) = postcard::take_from_bytes::<(u64, Vec<u8>)>(rest) else {
            return Err(format!(
                "record {i} (Raft index {index}) is not a batch entry"
            ));
        };
        if batch.is_empty() {
            fence = fence.max(epoch);
        } else if epoch < fence {
            log.fenced_off += 1;
        } else {
            log.batches.push(batch);
            log.indexes.push(index);
        }
    }
    Ok(Some(log))
}

#[cfg(test)]
mod tests {
    use super::*;
    use leasehold::{Batch, Key, Op};
    use std::time::Duration;

    /// An entry in the layout the service writes.
    fn entry(index: u64, variant: u32, normal: Option<(u64, Vec<u8>)>) -> Vec<u8> {
        let mut bytes = postcard::to_allocvec(&((1u64, 1u64, index), variant)).unwrap();
        if let Some((epoch, batch)) = normal {
            let no_tags: Vec<(u64, u64, u32, Option<String>)> = Vec::new();
            bytes.extend(postcard::to_allocvec(&(epoch, batch, no_tags)).unwrap());
        }
        bytes
    }

    fn batch(seq: u64, lease: &str) -> Vec<u8> {
        let op = Op::claim(Key::new("a", "m", lease), "h", Duration::from_secs(60));
        Batch::new(seq, vec![op]).encode().unwrap()
    }

    #[test]
    fn batches_come_out_in_order_and_a_fenced_off_one_is_skipped() {
        let membership = {
            let mut b = entry(0, 2, None);
            b.extend([1, 1, 1, 1, 0]);
            b
        };
        let records = vec![
            membership,
            entry(1, 0, None),
            entry(2, 1, Some((1, Vec::new()))),
            entry(3, 1, Some((1, batch(1, "x")))),
            entry(4, 1, Some((2, Vec::new()))),
            entry(5, 1, Some((1, batch(2, "late")))),
            entry(6, 1, Some((2, batch(3, "y")))),
        ];
        let log = read(&records).unwrap().unwrap();
        assert_eq!(log.indexes, [3, 6]);
        assert_eq!(log.fenced_off, 1);
        assert_eq!(Batch::decode(&log.batches[1]).unwrap().seq, 3);
    }

    #[test]
    fn a_driver_log_is_not_one_and_a_later_segment_or_a_bad_record_is_refused() {
        assert_eq!(read(&[batch(1, "x")]).unwrap(), None);
        assert_eq!(read(&[]).unwrap(), None);
        let later = read(&[entry(7, 0, None)]).unwrap_err();
        assert!(later.contains("starts at Raft index 7"), "{later}");
        let hole = read(&[entry(0, 0, None), entry(2, 0, None)]).unwrap_err();
        assert!(hole.contains("record 1 holds Raft index 2"), "{hole}");
        let bad = read(&[entry(0, 0, None), entry(1, 1, None)]).unwrap_err();
        assert!(
            bad.contains("record 1 (Raft index 1) is not a batch entry"),
            "{bad}"
        );
    }
}
