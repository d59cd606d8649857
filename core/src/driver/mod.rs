//! The native driver: the threaded runtime's building blocks (feature `driver`).
//!
//! This module does I/O, so it is off by default and absent from WebAssembly builds. It
//! holds the durable logs a runtime appends each encoded [`Batch`](crate::Batch) to
//! before acknowledging it:
//!
//! - [`MemoryLog`]: records kept in memory, for tests and for embedders that do not need
//!   durability.
//! - [`FileLog`]: an append-only file of checksummed records, fsynced on every append and
//!   replayed on open, with a torn tail (an append a crash interrupted) detected, reported
//!   and cut off, and corruption in the middle refused rather than "repaired".
//!
//! and the runtime over them ([`runtime`]): [`Driver`], a cloneable handle any thread can
//! call, over an engine thread that batches requests and a log thread that appends them.

pub mod log;
pub mod runtime;

pub use log::{FILE_HEADER, FRAME_HEADER_LEN, FileLog, Log, LogError, MemoryLog, Replay, TornTail};
pub use runtime::{Driver, DriverError, Pending, RequestError};
