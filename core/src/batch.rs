//! Batches: the unit the log carries, one command holding many operations.

use crate::codec::{self, DecodeError, EncodeError};
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

    /// The batch in the log format: a versioned postcard envelope whose names are
    /// interned and front-coded, so a batch of similar keys costs few bytes per
    /// operation. Deterministic: the same batch always gives the same bytes.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        codec::encode_batch(self)
    }

    /// Decodes untrusted bytes. Never panics; allocates at most in proportion to
    /// `bytes.len()`, which is itself limited to [`crate::limits::MAX_BATCH_BYTES`].
    pub fn decode(bytes: &[u8]) -> Result<Batch, DecodeError> {
        codec::decode_batch(bytes)
    }
}
