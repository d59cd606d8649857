//! The epoch fence and the table of recent batch outcomes, kept by the state machine on
//! every replica alike (deterministic: only the log's entries move them).
//!
//! - A **fence** is an entry with an empty batch ([`BatchEntry::fence`]) carrying a new
//!   leader's epoch. Once a fence for epoch `E` is applied, a batch of an epoch below `E`
//!   is **ignored**: not applied, and recorded as ignored.
//! - The **outcome table** keeps the fate of the last [`TABLE_CAPACITY`] batches by
//!   `(epoch, seq)`: applied (with its per-operation results) or ignored. A deposed
//!   leader reads it, once a later epoch's fence is applied, to learn what became of the
//!   batches it had in flight. The oldest `(epoch, seq)` is evicted first.

use crate::types::{BatchEntry, OpError, OpResult, Response};
use leasehold::{Batch, Event, Fsm};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many batch outcomes the table keeps.
pub const TABLE_CAPACITY: usize = 4096;

/// What became of one batch that reached the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BatchOutcome {
    /// Applied: one result per operation, in order.
    Applied(Vec<OpResult>),
    /// Ignored: its epoch was below a fence applied before it.
    Ignored,
}

/// The highest fence applied and the recent batch outcomes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fence {
    epoch: u64,
    outcomes: BTreeMap<(u64, u64), BatchOutcome>,
    /// The highest batch number seen in each recent epoch (the newest
    /// [`EPOCHS_KEPT`]), so that a leader that leads the same epoch again (after a
    /// restart, openraft may restore its leadership of the same term) goes on numbering
    /// after it and `(epoch, seq)` stays unique.
    seqs: BTreeMap<u64, u64>,
}

/// How many epochs' highest batch numbers the fence keeps.
pub const EPOCHS_KEPT: usize = 1024;

impl Fence {
    /// The highest epoch fenced so far (0 before any fence).
    #[must_use]
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// What became of batch `seq` of `epoch`, if it reached the log and is still in the
    /// table.
    #[must_use]
    pub fn outcome(&self, epoch: u64, seq: u64) -> Option<&BatchOutcome> {
        self.outcomes.get(&(epoch, seq))
    }

    /// The highest batch number of `epoch` that reached the log (applied or ignored), if
    /// any is known.
    #[must_use]
    pub fn highest_seq(&self, epoch: u64) -> Option<u64> {
        self.seqs.get(&epoch).copied()
    }

    /// How many outcomes the table holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.outcomes.len()
    }

    /// Whether the table is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
    }

    /// Applies one entry to `fsm` under the fence; the same on every replica. Returns
    /// the entry's response and, for an applied batch, what it did ([`Committed`]).
    pub(crate) fn apply(
        &mut self,
        fsm: &mut Fsm,
        entry: &BatchEntry,
    ) -> (Response, Option<Committed>) {
        if entry.is_fence() {
            self.epoch = self.epoch.max(entry.epoch);
            return (Response::Fenced(self.epoch), None);
        }
        let batch = match Batch::decode(&entry.batch) {
            Ok(batch) => batch,
            Err(e) => return (Response::Undecodable(e.to_string()), None),
        };
        let seq = batch.seq;
        let (outcome, response, committed) = if entry.epoch < self.epoch {
            (BatchOutcome::Ignored, Response::Ignored, None)
        } else {
            let mut events = Vec::new();
            let results: Vec<OpResult> = fsm
                .apply_batch(&batch)
                .into_iter()
                .map(|r| match r {
                    Ok(applied) => {
                        events.extend(applied.events);
                        Ok(applied.token)
                    }
                    Err(e) => Err(OpError::from(&e)),
                })
                .collect();
            let committed = Committed {
                epoch: entry.epoch,
                batch,
                results: results.clone(),
                events,
            };
            (
                BatchOutcome::Applied(results.clone()),
                Response::Applied(results),
                Some(committed),
            )
        };
        self.outcomes.insert((entry.epoch, seq), outcome);
        while self.outcomes.len() > TABLE_CAPACITY {
            self.outcomes.pop_first();
        }
        let highest = self.seqs.entry(entry.epoch).or_insert(seq);
        *highest = (*highest).max(seq);
        while self.seqs.len() > EPOCHS_KEPT {
            self.seqs.pop_first();
        }
        (response, committed)
    }
}

/// What one applied batch did, for watchers: its operations, their results and the
/// events they caused.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The epoch of the leader that formed it.
    pub epoch: u64,
    /// The batch.
    pub batch: Batch,
    /// One result per operation.
    pub results: Vec<OpResult>,
    /// The events, in order.
    pub events: Vec<Event>,
}

/// The epoch of the leader of `term` that is node `id`: `term << 16 | id`. Ordered as
/// openraft orders leader ids (term, then node), so two leaders of one term (possible
/// with openraft's default "advanced" leader ids) never share an epoch.
#[must_use]
pub fn epoch_of(term: u64, id: u16) -> u64 {
    (term << 16) | u64::from(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use leasehold::{Key, Op};
    use std::time::Duration;

    fn claim(epoch: u64, seq: u64, n: u64) -> BatchEntry {
        let key = Key::new("jobs", "worker", format!("lease-{n}"));
        let ops = vec![Op::claim(key, "holder", Duration::from_secs(60))];
        BatchEntry {
            epoch,
            batch: Batch::new(seq, ops).encode().unwrap(),
            tags: Vec::new(),
        }
    }

    #[test]
    fn a_fence_ignores_earlier_epochs_and_the_table_records_both() {
        let (mut fence, mut fsm) = (Fence::default(), Fsm::new());
        assert!(matches!(
            fence.apply(&mut fsm, &claim(1, 1, 1)).0,
            Response::Applied(_)
        ));
        assert_eq!(
            fence.apply(&mut fsm, &BatchEntry::fence(2)).0,
            Response::Fenced(2)
        );
        let before = fsm.snapshot().encode().unwrap();
        assert_eq!(fence.apply(&mut fsm, &claim(1, 2, 2)).0, Response::Ignored);
        assert_eq!(
            fsm.snapshot().encode().unwrap(),
            before,
            "an ignored batch applied"
        );
        // A stale fence does not lower the epoch.
        assert_eq!(
            fence.apply(&mut fsm, &BatchEntry::fence(1)).0,
            Response::Fenced(2)
        );
        assert!(matches!(
            fence.apply(&mut fsm, &claim(2, 1, 3)).0,
            Response::Applied(_)
        ));
        assert!(matches!(fence.outcome(1, 1), Some(BatchOutcome::Applied(r)) if r.len() == 1));
        assert_eq!(fence.outcome(1, 2), Some(&BatchOutcome::Ignored));
        assert!(matches!(
            fence.outcome(2, 1),
            Some(BatchOutcome::Applied(_))
        ));
        assert_eq!(fence.outcome(1, 3), None);
    }

    #[test]
    fn the_highest_batch_number_of_each_epoch_is_kept() {
        let (mut fence, mut fsm) = (Fence::default(), Fsm::new());
        assert_eq!(fence.highest_seq(3), None);
        for seq in [1, 2, 7, 4] {
            let _ = fence.apply(&mut fsm, &claim(3, seq, seq));
        }
        let _ = fence.apply(&mut fsm, &BatchEntry::fence(5));
        let _ = fence.apply(&mut fsm, &claim(3, 9, 9));
        assert_eq!(fence.highest_seq(3), Some(9), "ignored batches count too");
        assert_eq!(fence.highest_seq(5), None);
    }

    #[test]
    fn the_table_keeps_the_newest_outcomes() {
        let (mut fence, mut fsm) = (Fence::default(), Fsm::new());
        let total = u64::try_from(TABLE_CAPACITY).unwrap() + 10;
        for seq in 1..=total {
            let _ = fence.apply(&mut fsm, &claim(1, seq, seq));
        }
        assert_eq!(fence.len(), TABLE_CAPACITY);
        assert_eq!(fence.outcome(1, 10), None);
        assert!(fence.outcome(1, 11).is_some());
        assert!(fence.outcome(1, total).is_some());
    }
}
