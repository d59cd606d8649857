//! The limits every operation and every encoded batch or snapshot must respect.
//!
//! They bound what a decoder may allocate for untrusted bytes.

/// The longest namespace, model, lease, holder or entity name, in bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// The longest pin reason, in bytes.
pub const MAX_REASON_BYTES: usize = 1024;
/// The most operations in one batch.
pub const MAX_BATCH_OPS: usize = 65_536;
/// The largest encoded batch, in bytes.
pub const MAX_BATCH_BYTES: usize = 16 << 20;
/// The largest encoded snapshot, in bytes.
pub const MAX_SNAPSHOT_BYTES: usize = 512 << 20;
/// The longest lease or pin duration, in milliseconds (about ten years).
pub const MAX_DURATION_MS: u64 = 10 * 366 * 24 * 3600 * 1000;
/// The most places a state numbers its held leases in (2^24, about 16.7 million): a
/// snapshot naming a higher place is refused, so restoring one allocates a bounded table
/// (80 bytes a place).
pub const MAX_PLACES: usize = 1 << 24;
