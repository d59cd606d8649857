//! Batches: the unit the log carries, one command holding many operations.

use crate::op::Op;

/// A numbered group of operations, written to the log as one command.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Batch {
    /// The batch's sequence number in the log (the engine numbers them from 1).
    pub seq: u64,
    /// The operations, applied in order.
    pub ops: Vec<Op>,
}

impl Batch {
    /// A batch numbered `seq` holding `ops`.
    #[must_use]
    pub fn new(seq: u64, ops: Vec<Op>) -> Batch {
        Batch { seq, ops }
    }
}
