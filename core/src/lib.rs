//! # leasehold
//!
//! A batching lease engine. Services use leases to elect one leader per application and
//! to run jobs on exactly one machine. This crate holds the deterministic core: the lease
//! state machine that gives the log its meaning and the compact log format. It does no
//! I/O, reads no clock, spawns no thread and touches no JavaScript, so it runs natively
//! and in WebAssembly alike. `ARCHITECTURE.md` at the top of the repository maps the
//! modules, the invariants each keeps and the path a request takes.
//!
//! ## Features
//!
//! - `driver`: the native threaded runtime and the on-disk log (`driver`); does I/O.
//! - `sim`: the deterministic simulator (`sim`), with a seedable PRNG.
//! - `serde`: the one serde form of the public types (`form`): camelCase, milliseconds
//!   as integers; what the JavaScript API, the dashboard and the service speak.
//!
//! With none of them the crate compiles no PRNG, no histogram crate and no I/O.
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
//!
//! ## The engine and its drain rule
//!
//! The [`Engine`] batches requests: it never reads a clock and never touches the log
//! itself. Every input carries the caller's `now`: a request
//! ([`Engine::handle_request`]), a timeout ([`Engine::handle_timeout`]), or the log's
//! notice that a batch committed ([`Engine::handle_committed`]) or was abandoned
//! ([`Engine::handle_abandoned`]).
//!
//! **The drain rule: after every input, call [`Engine::poll_output`] until it returns
//! [`Output::Timeout`]; then wait until that time or the next input, whichever comes
//! first.** The outputs before it are batches to append, answers, lease events and
//! reports of settled batches. This is the whole loop:
//!
//! ```
//! use leasehold::{Config, Engine, Key, Op, Outcome, Output, Time};
//! use std::time::Duration;
//!
//! let mut engine = Engine::new(Config::default(), Time::ZERO).unwrap();
//! let key = Key::new("application-leadership", "model-uuid", "mysql");
//! let mut now = Time::ZERO;
//! let ticket = engine.handle_request(now, Op::claim(key.clone(), "mysql/0", Duration::from_secs(60)));
//!
//! let mut log: Vec<(u64, Vec<u8>)> = Vec::new(); // stands in for a replicated log
//! let mut answer = None;
//! loop {
//!     // Drain.
//!     let wake = loop {
//!         match engine.poll_output() {
//!             Output::Append(batch) => log.push((batch.seq, batch.bytes)),
//!             Output::Answer(a) if a.ticket == ticket => answer = Some(a.outcome),
//!             Output::Answer(_) | Output::Event(_) | Output::Settled(_) => {}
//!             Output::Timeout(at) => break at,
//!         }
//!     };
//!     if answer.is_some() {
//!         break;
//!     }
//!     // The log commits what was appended; otherwise wait for the timeout.
//!     if let Some((seq, _bytes)) = log.pop() {
//!         engine.handle_committed(now, seq).unwrap();
//!     } else {
//!         now = wake;
//!         engine.handle_timeout(now);
//!     }
//! }
//! assert_eq!(now, Time::from_millis(100), "claims ride the next 100 ms batch");
//! assert!(matches!(answer, Some(Outcome::Applied(Ok(Some(_))))));
//! ```
//!
//! [`Engine::single_node`] makes an engine that commits its own batches as it cuts them
//! (tests, simulations, the browser): the same loop without the log.

pub mod batch;
pub mod codec;
pub mod config;
#[cfg(feature = "driver")]
pub mod driver;
pub mod engine;
pub mod error;
pub mod event;
#[cfg(feature = "serde")]
pub mod form;
pub mod frame;
pub mod fsm;
pub mod key;
pub mod lane;
pub mod limits;
pub mod metrics;
pub mod op;
pub mod outcome;
pub mod pin;
mod queue;
#[cfg(feature = "sim")]
pub mod sim;
pub mod snapshot;
pub mod time;
pub mod tracker;

pub use batch::Batch;
pub use codec::{DecodeError, EncodeError, FORMAT_VERSION};
pub use config::{Config, ConfigError};
pub use engine::{Append, BatchReport, Engine, EngineError, Output, Placement};
pub use error::{FieldError, LeaseError};
pub use event::Event;
pub use fsm::{Applied, Fsm, LeaseInfo};
pub use key::{Key, LEADERSHIP_NAMESPACE, SINGULAR_NAMESPACE};
pub use lane::Lane;
pub use metrics::{LaneMetrics, Metrics};
pub use op::Op;
pub use outcome::{Answer, Outcome, Ticket};
pub use pin::PinInfo;
pub use snapshot::{Snapshot, SnapshotLease};
pub use time::Time;
pub use tracker::{RequestId, Tracker, TrackerConfig, TrackerOutput};
