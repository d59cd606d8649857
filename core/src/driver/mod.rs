//! The native driver: the threaded runtime's building blocks (feature `driver`).
//!
//! This module does I/O, so it is off by default and absent from WebAssembly builds. It
//! holds the durable logs a runtime appends each encoded [`Batch`](crate::Batch) to
//! before acknowledging it:
//!
//! - [`MemoryLog`]: records kept in memory, for tests and for embedders that do not need
//!   durability.
//! - [`Store`]: the log in segment files of checksummed records ([`crate::frame`]),
//!   fsynced on every append, with snapshots that let the log behind them be deleted; on
//!   open it loads the newest snapshot and replays what follows, cuts a torn tail (an
//!   append a crash interrupted) and refuses corruption rather than "repairing" it.
//!
//! and the runtime over them ([`runtime`]): [`Driver`], a cloneable handle any thread can
//! call, over an engine thread that batches requests, a log thread that appends them and,
//! with a store, a compactor thread that keeps a replica of the state and writes the
//! snapshots ([`Driver::compact`]).

mod compactor;
mod error;
pub mod log;
mod mailbox;
mod replies;
mod reply;
pub mod runtime;
pub mod store;

pub use log::{Log, MemoryLog, PartialAppend};
pub use runtime::{Driver, DriverError, Opened, Pending, RequestError};
pub use store::{
    Recovery, Store, StoreError, StoreOptions, StoredSnapshot, write_durably, write_snapshot,
};
