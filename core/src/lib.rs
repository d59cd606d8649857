//! # leasehold
//!
//! A batching lease engine. Services use leases to elect one leader per application and
//! to run jobs on exactly one machine. This crate holds the deterministic core: the lease
//! state machine that gives the log its meaning and the compact log format. It does no
//! I/O, reads no clock, spawns no thread and touches no JavaScript, so it runs natively
//! and in WebAssembly alike.
//!
//! ## A tour
//!
//! The state machine ([`Fsm`]) applies [`Op`]s. Time is the log's own: it advances only
//! through [`Op::set_time`], and a lease expires when log time passes its expiry.
//!
//! ```
//! use leasehold::{Batch, Event, Fsm, Key, LeaseError, Op, Time};
//! use std::time::Duration;
//!
//! let mut fsm = Fsm::new();
//! let key = Key::new("application-leadership", "model-uuid", "mysql");
//! let minute = Duration::from_secs(60);
//!
//! // mysql/0 claims leadership and gets a fencing token.
//! let granted = fsm.apply(&Op::claim(key.clone(), "mysql/0", minute)).unwrap();
//! let token = granted.token.unwrap();
//!
//! // A rival is told who holds it.
//! let rival = fsm.apply(&Op::claim(key.clone(), "mysql/1", minute));
//! assert_eq!(rival, Err(LeaseError::Held { holder: "mysql/0".into() }));
//!
//! // Many operations travel as one batch, one log entry, a few bytes each.
//! let batch = Batch::new(1, vec![
//!     Op::extend(key.clone(), "mysql/0", minute),
//!     Op::pin_until(key.clone(), "machine-7", Time::from_millis(90_000), "series upgrade"),
//!     Op::set_time(Time::ZERO, Time::from_millis(61_000)),
//! ]);
//! let bytes = batch.encode().unwrap();
//! let decoded = Batch::decode(&bytes).unwrap();
//! assert_eq!(decoded, batch);
//! let results = fsm.apply_batch(&decoded);
//! assert!(results.iter().all(Result::is_ok));
//!
//! // Past its expiry but pinned: still held.
//! assert_eq!(fsm.holder(&key), Some("mysql/0"));
//!
//! // The pin lapses at its deadline, and the lease expires (the holder is deposed).
//! let later = fsm.apply(&Op::set_time(Time::from_millis(61_000), Time::from_millis(90_001)));
//! let events = later.unwrap().events;
//! assert!(matches!(events.last(), Some(Event::Expired { token: t, .. }) if *t == token));
//! assert_eq!(fsm.holder(&key), None);
//!
//! // A snapshot reproduces the state byte for byte.
//! let snap = fsm.snapshot().encode().unwrap();
//! let restored = Fsm::restore(leasehold::Snapshot::decode(&snap).unwrap());
//! assert_eq!(restored.snapshot().encode().unwrap(), snap);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod batch;
pub mod codec;
#[cfg(feature = "driver")]
pub mod driver;
pub mod error;
pub mod event;
pub mod fsm;
pub mod key;
pub mod limits;
pub mod op;
pub mod snapshot;
pub mod time;

pub use batch::Batch;
pub use codec::{DecodeError, EncodeError, FORMAT_VERSION};
pub use error::{FieldError, LeaseError};
pub use event::Event;
pub use fsm::{Applied, Fsm, LeaseInfo, PinInfo};
pub use key::{Key, LEADERSHIP_NAMESPACE, SINGULAR_NAMESPACE};
pub use op::Op;
pub use snapshot::{Snapshot, SnapshotLease};
pub use time::Time;
