//! The threaded runtime: a cloneable [`Driver`] handle over an [`Engine`] thread and a
//! log thread.
//!
//! ```text
//!  callers ──requests──▶ mailbox ──▶ engine thread ──appends──▶ log thread ──▶ Log (fsync)
//!     ▲                    ▲            │                           │
//!     └── answer slots ────┼────────────┘                           │
//!                          └────────── committed / abandoned ───────┘
//! ```
//!
//! The engine thread owns the [`Engine`] (replicated mode) and runs the crate's drain
//! loop: after every input it drains [`Engine::poll_output`] until [`Output::Timeout`],
//! then waits for the next request, the next log completion or that timeout, whichever
//! comes first. Requests and the log's reports arrive in one mailbox that the engine
//! thread empties each time it wakes: every request posted since it last looked, from
//! any number of threads, for one clock reading. It reads the clock
//! for the engine: [`Driver::now`], milliseconds since the driver started, is the
//! engine's local time. Each [`Output::Append`] goes to the log thread, which appends
//! it, together with any others waiting, with one fsync for all of them
//! ([`Log::append_all`]; [`Store`] fsyncs once per call), and only then reports each
//! committed (or abandoned when the append fails); up to [`Config::max_in_flight`]
//! batches are in the pipeline at once. A request's answer goes into a slot its
//! [`Pending`] waits on; the engine thread fills every answer of a batch before it wakes
//! the callers asleep on theirs.
//!
//! Every request gets exactly one answer. [`Driver::shutdown`] (or dropping the last
//! handle) stops taking requests, lets the batches already cut reach the log, answers
//! every request still queued `Shed`, joins both threads and returns the committed state.
//! After that every call answers [`RequestError::Stopped`] (or its documented
//! equivalent) at once.
//!
//! ```
//! use leasehold::driver::Driver;
//! use leasehold::{Config, Key, Op};
//! use std::time::Duration;
//!
//! let driver = Driver::in_memory(Config::default()).unwrap();
//! let key = Key::new("application-leadership", "model-uuid", "mysql");
//! let claim = Op::claim(key.clone(), "mysql/0", Duration::from_secs(60));
//! let token = driver.request(claim).unwrap();
//! assert!(token.is_some());
//! assert_eq!(driver.holder(&key).unwrap().as_deref(), Some("mysql/0"));
//! let fsm = driver.shutdown().unwrap();
//! assert_eq!(fsm.holder(&key), Some("mysql/0"));
//! ```

use super::compactor::{CompactReply, Compactor, Taken};
use super::log::{Log, MemoryLog};
use super::mailbox::{self, Inbox, Posts};
use super::replies::Replies;
use super::reply::{self, Reply, Wake};
use super::store::{Store, StoreError, StoreOptions};
use crate::codec::DecodeError;
use crate::config::{Config, ConfigError};
use crate::engine::{Engine, Output};
use crate::event::Event;
use crate::frame::TornTail;
use crate::fsm::{Fsm, LeaseInfo};
use crate::key::Key;
use crate::metrics::Metrics;
use crate::op::Op;
use crate::snapshot::Snapshot;
use crate::time::Time;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, select};
use rustc_hash::FxHashMap;
use std::fmt;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub use super::error::RequestError;
pub use super::reply::Pending;

/// The most batches the log thread writes together, with one fsync for all of them.
const MAX_GROUP: usize = 64;

/// Why a driver could not start, or did not stop cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// The engine settings are impossible.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store could not be opened, or failed (see [`Store::open`]).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A record of the log is not a batch this version can read. Nothing was started.
    #[error("log record {index} does not decode as a batch: {source}")]
    Decode {
        /// The record's number in the log, from 1.
        index: u64,
        /// Why it does not decode.
        source: DecodeError,
    },
    /// A thread could not be spawned.
    #[error("could not spawn the driver's {thread} thread: {source}")]
    Spawn {
        /// `engine` or `log`.
        thread: &'static str,
        /// The operating system's error.
        source: io::Error,
    },
    /// A driver thread panicked; the state it held is lost.
    #[error("the driver's {0} thread panicked")]
    Panicked(&'static str),
    /// The store's snapshot does not decode. Nothing was started.
    #[error("the store's snapshot does not decode: {0}")]
    Snapshot(DecodeError),
    /// The driver was already shut down (by this or another handle).
    #[error("the driver was already shut down")]
    Stopped,
    /// The driver keeps no store to compact ([`Driver::in_memory`], [`Driver::start`]).
    #[error("the driver keeps its log in memory: there is nothing to compact")]
    NoStore,
}

/// What [`Driver::open`] found in its store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Opened {
    /// The records the snapshot it started from covers (0 without a snapshot).
    pub snapshot_covers: u64,
    /// The records replayed after the snapshot.
    pub replayed: usize,
    /// The torn tail cut off the last segment (an append a crash interrupted, never
    /// acknowledged), and that segment.
    pub torn_tail: Option<(std::path::PathBuf, TornTail)>,
    /// Whether an old single log file at the store's path was migrated.
    pub migrated: bool,
}

/// A read run on the engine thread.
type Inspect = Box<dyn FnOnce(&Engine) + Send>;

/// A message to the engine thread.
enum Request {
    /// A lease request and where to send its answer.
    Op {
        op: Op,
        priority: bool,
        reply: Reply,
    },
    /// Wake `reply` when `key` is released.
    Watch {
        key: Key,
        id: u64,
        reply: Sender<()>,
    },
    /// The watcher `id` of `key` gave up: drop its reply sender.
    Unwatch { key: Key, id: u64 },
    /// A read.
    Inspect(Inspect),
    /// Shut down.
    Stop,
}

/// What the log thread reports.
enum Done {
    Committed(u64),
    Abandoned(u64),
    /// The log thread ended (it panicked, if the engine thread did not end it).
    Gone,
}

/// A running driver's engine thread.
struct Running {
    engine: JoinHandle<Result<Fsm, DriverError>>,
}

/// What every handle shares; dropping the last one shuts the driver down.
struct Inner {
    posts: Posts<Request, Done>,
    start: Instant,
    running: Mutex<Option<Running>>,
    /// Requests for a snapshot now, when a compactor runs.
    compact: Option<Sender<CompactReply>>,
}

impl Inner {
    fn now(&self) -> Time {
        elapsed_ms(self.start)
    }

    /// Stops the threads once; later calls get [`DriverError::Stopped`].
    fn stop(&self) -> Result<Fsm, DriverError> {
        let running = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(running) = running else {
            return Err(DriverError::Stopped);
        };
        // The engine thread may be gone already (it panicked); joining tells.
        let _ = self.posts.post(Request::Stop);
        if running.engine.thread().id() == thread::current().id() {
            // The last handle was dropped on the engine thread itself (by a read's
            // closure): it stops on its own, and cannot join itself.
            return Err(DriverError::Stopped);
        }
        running
            .engine
            .join()
            .unwrap_or(Err(DriverError::Panicked("engine")))
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// A handle on a running lease engine: cloneable, `Send + Sync`, callable from any
/// thread. See the [module docs](self).
///
/// Dropping the last handle shuts the driver down as [`Driver::shutdown`] does,
/// discarding the final state.
#[derive(Clone)]
pub struct Driver {
    inner: Arc<Inner>,
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("now", &self.now())
            .field("stopped", &self.is_stopped())
            .finish()
    }
}

impl Driver {
    /// A driver over a [`MemoryLog`], starting from an empty state.
    ///
    /// # Errors
    ///
    /// [`DriverError::Config`] for impossible settings, [`DriverError::Spawn`] if a thread
    /// cannot be started.
    pub fn in_memory(config: Config) -> Result<Driver, DriverError> {
        Driver::start(config, MemoryLog::new(), Fsm::new(), 1)
    }

    /// A driver over the [`Store`] in the directory `dir` (created if missing) with the
    /// default [`StoreOptions`]. See [`Driver::open_with`].
    ///
    /// # Errors
    ///
    /// As [`Driver::open_with`].
    pub fn open(config: Config, dir: impl AsRef<Path>) -> Result<(Driver, Opened), DriverError> {
        Driver::open_with(config, dir, StoreOptions::default())
    }

    /// A driver over the [`Store`] in the directory `dir` (created if missing; an old
    /// single log file at that path is migrated into it). The state starts from the
    /// store's newest snapshot, every record after it is decoded and applied, and the
    /// engine resumes after the last one. A compactor thread follows the log and takes
    /// snapshots as `options` say ([`Driver::compact`] takes one at once).
    ///
    /// # Errors
    ///
    /// [`DriverError::Store`] when the store cannot be opened or is damaged,
    /// [`DriverError::Snapshot`] when its snapshot does not decode,
    /// [`DriverError::Decode`] naming the first record that is not a batch, and the
    /// errors of [`Driver::start`].
    pub fn open_with(
        config: Config,
        dir: impl AsRef<Path>,
        options: StoreOptions,
    ) -> Result<(Driver, Opened), DriverError> {
        config.validate()?;
        let (store, recovery) = Store::open(dir, options)?;
        let (mut fsm, covers) = match &recovery.snapshot {
            Some(s) => (
                Fsm::restore(Snapshot::decode(&s.bytes).map_err(DriverError::Snapshot)?),
                s.covers,
            ),
            None => (Fsm::new(), 0),
        };
        let mut last_seq = covers;
        let mut replayed_bytes = 0;
        for (index, record) in (covers + 1..).zip(&recovery.records) {
            // Refused operations are part of the log's meaning; every replica refuses them.
            let seq = fsm
                .replay_encoded(record)
                .map_err(|source| DriverError::Decode { index, source })?;
            last_seq = last_seq.max(seq);
            replayed_bytes += record.len() as u64;
        }
        let compactor = Compactor {
            fsm: fsm.clone(),
            applied: store.last_record(),
            dir: store.dir().to_path_buf(),
            options,
            since_records: recovery.records.len() as u64,
            since_bytes: replayed_bytes,
            covered: covers,
        };
        let opened = Opened {
            snapshot_covers: covers,
            replayed: recovery.records.len(),
            torn_tail: recovery.torn_tail,
            migrated: recovery.migrated,
        };
        drop(recovery.records);
        let driver = Driver::launch(
            config,
            store,
            fsm,
            last_seq.saturating_add(1),
            Some(compactor),
        )?;
        Ok((driver, opened))
    }

    /// A driver over any log, resuming from `fsm` (the state the log's records give) with
    /// `next_seq` as its next batch's number.
    ///
    /// # Errors
    ///
    /// [`DriverError::Config`] for impossible settings, [`DriverError::Spawn`] if a thread
    /// cannot be started.
    pub fn start(
        config: Config,
        log: impl Log + 'static,
        fsm: Fsm,
        next_seq: u64,
    ) -> Result<Driver, DriverError> {
        Driver::launch(config, log, fsm, next_seq, None)
    }

    /// Starts the threads: the engine's, the log's and, with a `compactor`, the
    /// compactor's (which the log thread feeds and joins).
    fn launch(
        config: Config,
        log: impl Log + 'static,
        fsm: Fsm,
        next_seq: u64,
        compactor: Option<Compactor>,
    ) -> Result<Driver, DriverError> {
        let start = Instant::now();
        let engine = Engine::with_state(config, fsm, next_seq, elapsed_ms(start))?;
        let (posts, inbox) = mailbox::mailbox();
        let (append_tx, append_rx) = crossbeam_channel::unbounded::<(u64, Vec<u8>)>();
        let (compact_tx, follower) = match compactor {
            Some(compactor) => {
                let (tx, follower) = Follower::spawn(compactor)?;
                (Some(tx), Some(follower))
            }
            None => (None, None),
        };
        let log_thread = thread::Builder::new()
            .name("leasehold-log".into())
            .spawn({
                let reports = Reports(posts.clone());
                move || log_loop(log, &append_rx, &reports, follower)
            })
            .map_err(|source| DriverError::Spawn {
                thread: "log",
                source,
            })?;
        let engine_loop = EngineLoop {
            engine,
            start,
            inbox,
            appends: Some(append_tx),
            replies: Replies::default(),
            wakes: Vec::new(),
            watchers: FxHashMap::default(),
            stopping: false,
        };
        let engine_thread = thread::Builder::new()
            .name("leasehold-engine".into())
            .spawn(move || engine_loop.run(log_thread))
            .map_err(|source| DriverError::Spawn {
                thread: "engine",
                source,
            })?;
        // If spawning the engine thread failed, `append_tx` was dropped with the closure
        // and the log thread ends by itself.
        Ok(Driver {
            inner: Arc::new(Inner {
                posts,
                start,
                running: Mutex::new(Some(Running {
                    engine: engine_thread,
                })),
                compact: compact_tx,
            }),
        })
    }

    /// The driver's clock, the engine's local time: milliseconds since the driver
    /// started. [`LeaseInfo::expiry`] is on this clock.
    #[must_use]
    pub fn now(&self) -> Time {
        self.inner.now()
    }

    /// Whether the driver has shut down.
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        self.inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }

    // ---- requests ----------------------------------------------------------------

    /// Submits a request without waiting for its answer. Its lane follows from the key
    /// and the operation; a `Pin`'s `until` is on the driver's clock ([`Driver::now`]).
    pub fn submit(&self, op: Op) -> Pending {
        self.send_op(op, false)
    }

    /// Submits a request in the singular (priority) lane whatever its key: it is cut
    /// into a batch at once and never shed.
    pub fn submit_priority(&self, op: Op) -> Pending {
        self.send_op(op, true)
    }

    fn send_op(&self, op: Op, priority: bool) -> Pending {
        let (reply, pending) = reply::slot();
        // If the engine thread is gone the request (and `reply`) is dropped, and the
        // Pending learns that the driver stopped.
        let _ = self.inner.posts.post(Request::Op {
            op,
            priority,
            reply,
        });
        pending
    }

    /// Submits `op` and blocks until the log decides it: the fencing token of a claim,
    /// an extension or a handover on success. Build the operation with [`Op`]'s
    /// constructors (`Op::claim`, `Op::extend`, `Op::revoke`, `Op::pin_until`, ...); a
    /// pin's `until` is on the driver's clock ([`Driver::now`]).
    ///
    /// # Errors
    ///
    /// [`RequestError::Lease`] when the state machine refuses it (for a claim,
    /// [`LeaseError::Held`](crate::LeaseError::Held) names the holder),
    /// [`RequestError::Rejected`] naming a malformed field, and the other
    /// [`RequestError`]s.
    ///
    /// ```
    /// use leasehold::driver::{Driver, RequestError};
    /// use leasehold::{Config, Key, LeaseError, Op};
    /// use std::time::Duration;
    ///
    /// let driver = Driver::in_memory(Config::default()).unwrap();
    /// let key = Key::new("application-leadership", "model", "mysql");
    /// let minute = Duration::from_secs(60);
    /// let token = driver.request(Op::claim(key.clone(), "mysql/0", minute)).unwrap();
    /// assert!(token.is_some());
    /// assert_eq!(
    ///     driver.request(Op::claim(key.clone(), "mysql/1", minute)),
    ///     Err(RequestError::Lease(LeaseError::Held { holder: "mysql/0".into() }))
    /// );
    /// driver.shutdown().unwrap();
    /// ```
    pub fn request(&self, op: Op) -> Result<Option<u64>, RequestError> {
        self.submit(op).result()
    }

    /// Blocks until `key` is released: true at once if nobody holds it, true when its
    /// lease expires, is revoked or is handed over, false when `timeout` passes first or
    /// the driver has shut down (or shuts down while waiting).
    #[must_use]
    pub fn wait_until_released(&self, key: &Key, timeout: Duration) -> bool {
        let (reply, rx) = crossbeam_channel::bounded(1);
        let id = next_watch_id();
        let watch = Request::Watch {
            key: key.clone(),
            id,
            reply,
        };
        if self.inner.posts.post(watch).is_err() {
            return false;
        }
        match rx.recv_timeout(timeout) {
            Ok(()) => true,
            Err(RecvTimeoutError::Disconnected) => false,
            Err(RecvTimeoutError::Timeout) => {
                // The engine thread answers the watch before it takes the unwatch, which
                // drops the reply sender: the release may have raced the timeout (or the
                // key was free all along), and this tells.
                let _ = self.inner.posts.post(Request::Unwatch {
                    key: key.clone(),
                    id,
                });
                rx.recv().is_ok()
            }
        }
    }

    // ---- reads -------------------------------------------------------------------

    /// Runs `read` on the engine thread, between inputs, and returns what it returns.
    /// The engine's committed state is [`Engine::fsm`]; its local clock is
    /// [`Driver::now`]'s. Keep `read` short: the engine waits for it. If `read` panics,
    /// the panic resumes on the calling thread and the driver carries on.
    ///
    /// # Errors
    ///
    /// [`RequestError::Stopped`] when the driver has shut down.
    pub fn inspect<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Engine) -> T + Send + 'static,
    ) -> Result<T, RequestError> {
        let (reply, rx) = crossbeam_channel::bounded(1);
        let request = Request::Inspect(Box::new(move |engine: &Engine| {
            // `read` sees the engine only by shared reference, so a panic in it leaves
            // the engine as it was; the panic goes back to the caller.
            let _ = reply.send(panic::catch_unwind(AssertUnwindSafe(|| read(engine))));
        }));
        self.inner
            .posts
            .post(request)
            .map_err(|_| RequestError::Stopped)?;
        match rx.recv() {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(payload)) => panic::resume_unwind(payload),
            Err(_) => Err(RequestError::Stopped),
        }
    }

    /// Every held lease in the committed state, sorted by key, with expiries on the
    /// driver's clock ([`Driver::now`]).
    ///
    /// # Errors
    ///
    /// [`RequestError::Stopped`] when the driver has shut down.
    pub fn leases(&self) -> Result<Vec<LeaseInfo>, RequestError> {
        self.inspect(Engine::leases)
    }

    /// The committed holder of `key`, if held.
    ///
    /// # Errors
    ///
    /// [`RequestError::Stopped`] when the driver has shut down.
    pub fn holder(&self, key: &Key) -> Result<Option<Arc<str>>, RequestError> {
        let key = key.clone();
        self.inspect(move |engine| engine.fsm().holder(&key).map(Arc::from))
    }

    /// The engine's running totals.
    ///
    /// # Errors
    ///
    /// [`RequestError::Stopped`] when the driver has shut down.
    pub fn metrics(&self) -> Result<Metrics, RequestError> {
        self.inspect(Engine::metrics)
    }

    /// The committed state as a snapshot.
    ///
    /// # Errors
    ///
    /// [`RequestError::Stopped`] when the driver has shut down.
    pub fn snapshot(&self) -> Result<Snapshot, RequestError> {
        self.inspect(|engine| engine.fsm().snapshot())
    }

    /// Takes a snapshot of the state now and deletes the log behind it, without pausing
    /// the engine (the compactor thread keeps its own replica of the state; see
    /// [`Store`]). Returns how many records the snapshot covers.
    ///
    /// # Errors
    ///
    /// [`DriverError::NoStore`] for a driver without a store, [`DriverError::Store`]
    /// if writing the snapshot or deleting the log fails, [`DriverError::Stopped`] after
    /// shutdown.
    pub fn compact(&self) -> Result<u64, DriverError> {
        let requests = self.inner.compact.as_ref().ok_or(DriverError::NoStore)?;
        let (reply, rx) = crossbeam_channel::bounded(1);
        requests.send(reply).map_err(|_| DriverError::Stopped)?;
        match rx.recv() {
            Ok(result) => Ok(result?),
            Err(_) => Err(DriverError::Stopped),
        }
    }

    // ---- stopping ----------------------------------------------------------------

    /// Shuts the driver down for every handle: stops taking requests, lets the batches
    /// already cut reach the log, answers every request still queued `Shed`, joins both
    /// threads and returns the committed state. Later calls on any handle answer
    /// [`RequestError::Stopped`].
    ///
    /// # Errors
    ///
    /// [`DriverError::Stopped`] if the driver was already shut down,
    /// [`DriverError::Panicked`] if a driver thread panicked.
    pub fn shutdown(self) -> Result<Fsm, DriverError> {
        self.inner.stop()
    }
}

/// A process-wide source of watcher ids.
fn next_watch_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Milliseconds since `start`.
fn elapsed_ms(start: Instant) -> Time {
    Time::from_millis(u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX))
}

/// The log thread: appends each batch and reports how it went, in order.
/// The log thread's link to the compactor thread.
struct Follower {
    /// Every durable record, in order.
    records: Sender<Vec<u8>>,
    /// Snapshots the compactor wrote.
    taken: Receiver<Taken>,
    thread: JoinHandle<()>,
}

impl Follower {
    /// Spawns the compactor; returns where to ask it for a snapshot, and the log
    /// thread's side.
    fn spawn(compactor: Compactor) -> Result<(Sender<CompactReply>, Follower), DriverError> {
        let (records_tx, records_rx) = crossbeam_channel::unbounded();
        let (requests_tx, requests_rx) = crossbeam_channel::unbounded();
        let (taken_tx, taken_rx) = crossbeam_channel::unbounded();
        let thread = thread::Builder::new()
            .name("leasehold-compactor".into())
            .spawn(move || compactor.run(&records_rx, &requests_rx, &taken_tx))
            .map_err(|source| DriverError::Spawn {
                thread: "compactor",
                source,
            })?;
        let follower = Follower {
            records: records_tx,
            taken: taken_rx,
            thread,
        };
        Ok((requests_tx, follower))
    }
}

/// The log thread's side of the engine thread's mailbox. Dropped when the log thread
/// ends, also by a panic, it reports [`Done::Gone`].
struct Reports(Posts<Request, Done>);

impl Drop for Reports {
    fn drop(&mut self) {
        self.0.report(Done::Gone);
    }
}

/// The log thread: appends the batches waiting (up to [`MAX_GROUP`]) together, with one
/// fsync for all of them ([`Log::append_all`]), reports each committed (or abandoned
/// when the append fails), hands durable records to the compactor, and deletes the log
/// behind the snapshots it takes.
fn log_loop(
    mut log: impl Log,
    appends: &Receiver<(u64, Vec<u8>)>,
    reports: &Reports,
    follower: Option<Follower>,
) {
    let never = crossbeam_channel::never();
    let taken = follower.as_ref().map_or(&never, |f| &f.taken);
    let mut group = Vec::with_capacity(MAX_GROUP);
    loop {
        select! {
            recv(appends) -> append => {
                let Ok(append) = append else { break };
                group.push(append);
                while group.len() < MAX_GROUP {
                    match appends.try_recv() {
                        Ok(append) => group.push(append),
                        Err(_) => break,
                    }
                }
                let records: Vec<&[u8]> = group.iter().map(|(_, bytes)| bytes.as_slice()).collect();
                let durable = match log.append_all(&records) {
                    Ok(()) => group.len(),
                    Err(partial) => partial.durable,
                };
                drop(records);
                for (i, (seq, bytes)) in group.drain(..).enumerate() {
                    if i < durable {
                        if let Some(f) = &follower {
                            let _ = f.records.send(bytes);
                        }
                        reports.0.report(Done::Committed(seq));
                    } else {
                        reports.0.report(Done::Abandoned(seq));
                    }
                }
            },
            recv(taken) -> snapshot => {
                if let Ok(Taken { covers, reply }) = snapshot {
                    let deleted = log.snapshot_taken(covers);
                    if let Some(reply) = reply {
                        let _ = reply.send(deleted.map(|()| covers));
                    }
                }
            },
        }
    }
    if let Some(f) = follower {
        drop(f.records);
        let _ = f.thread.join();
    }
}

/// The engine thread's state.
struct EngineLoop {
    engine: Engine,
    start: Instant,
    inbox: Inbox<Request, Done>,
    /// `None` once the log thread is gone.
    appends: Option<Sender<(u64, Vec<u8>)>>,
    replies: Replies,
    /// Callers whose answers [`EngineLoop::drain`] filled and who are asleep on them,
    /// woken once it has filled every answer.
    wakes: Vec<Wake>,
    watchers: FxHashMap<Key, Vec<(u64, Sender<()>)>>,
    /// No more requests: finish the in-flight batches, then shut down.
    stopping: bool,
}

impl EngineLoop {
    fn now(&self) -> Time {
        elapsed_ms(self.start)
    }

    fn run(mut self, log_thread: JoinHandle<()>) -> Result<Fsm, DriverError> {
        // What the mailbox hands over, kept to reuse the lists' memory.
        let mut requests = Vec::new();
        let mut reports = Vec::new();
        loop {
            let wake = self.drain();
            if self.stopping && (self.engine.in_flight() == 0 || self.appends.is_none()) {
                break;
            }
            // While stopping, no timeout: only the log's reports.
            let timeout = if self.stopping {
                None
            } else {
                let wake_at = self.start + Duration::from_millis(wake.as_millis());
                let timeout = wake_at.saturating_duration_since(Instant::now());
                if timeout.is_zero() {
                    self.engine.handle_timeout(self.now());
                    continue;
                }
                Some(timeout)
            };
            self.inbox.take(&mut requests, &mut reports, timeout);
            if requests.is_empty() && reports.is_empty() {
                if !self.stopping {
                    self.engine.handle_timeout(self.now());
                }
                continue;
            }
            for done in reports.drain(..) {
                self.settle(done);
            }
            // One clock reading for every request taken together.
            let now = self.now();
            let mut taken = requests.drain(..);
            for request in taken.by_ref() {
                self.take(request, now);
                if self.stopping {
                    break;
                }
            }
            // Requests after a stop are refused, as those posted later are.
            drop(taken);
        }
        // Answer everything still waiting: queued requests `Shed`, and (only if the log
        // thread died) unsettled batches `Aborted`.
        let now = self.now();
        self.engine.shutdown(now);
        self.drain();
        let fsm = self.engine.fsm().clone();
        // Closing the inbox refuses later requests (and discards any posted since the
        // stop); dropping the watchers tells those still waiting that the driver stopped.
        self.inbox.close();
        drop(self.replies);
        drop(self.watchers);
        // The log thread ends when its inbox closes.
        drop(self.appends.take());
        log_thread
            .join()
            .map_err(|_| DriverError::Panicked("log"))?;
        Ok(fsm)
    }

    fn take(&mut self, request: Request, now: Time) {
        match request {
            Request::Op {
                op,
                priority,
                reply,
            } => {
                let ticket = if priority {
                    self.engine.handle_priority_request(now, op)
                } else {
                    self.engine.handle_request(now, op)
                };
                self.replies.insert(ticket, reply);
            }
            Request::Watch { key, id, reply } => {
                if self.engine.fsm().holder(&key).is_none() {
                    let _ = reply.send(());
                } else {
                    self.watchers.entry(key).or_default().push((id, reply));
                }
            }
            Request::Unwatch { key, id } => {
                if let Some(list) = self.watchers.get_mut(&key) {
                    list.retain(|(i, _)| *i != id);
                    if list.is_empty() {
                        self.watchers.remove(&key);
                    }
                }
            }
            Request::Inspect(read) => read(&self.engine),
            Request::Stop => {
                // Requests posted after this one are refused: the inbox is closed and
                // those already in it are dropped, so their callers learn it stopped.
                self.stopping = true;
                self.inbox.close();
            }
        }
    }

    fn settle(&mut self, done: Done) {
        let now = self.now();
        // An unknown batch cannot happen: the log thread reports each append once.
        let _ = match done {
            Done::Committed(seq) => self.engine.handle_committed(now, seq),
            Done::Abandoned(seq) => self.engine.handle_abandoned(now, seq),
            Done::Gone => {
                self.log_gone();
                Ok(())
            }
        };
    }

    /// The log thread ended (it panicked): nothing more can be appended. Every batch in
    /// flight is answered `Aborted` by the shutdown that follows.
    fn log_gone(&mut self) {
        self.appends = None;
        self.stopping = true;
    }

    /// Drains the engine's outputs until its next timeout, which it returns, then wakes
    /// the callers asleep on the answers.
    fn drain(&mut self) -> Time {
        loop {
            match self.engine.poll_output() {
                Output::Timeout(at) => {
                    for wake in self.wakes.drain(..) {
                        wake.wake();
                    }
                    return at;
                }
                Output::Append(append) => {
                    let sent = self
                        .appends
                        .as_ref()
                        .is_some_and(|tx| tx.send((append.seq, append.bytes)).is_ok());
                    if !sent {
                        // The log thread is gone: the batch stays in flight and the
                        // shutdown that follows answers its requests `Aborted`.
                        self.log_gone();
                    }
                }
                Output::Answer(answer) => {
                    if let Some(reply) = self.replies.remove(answer.ticket) {
                        self.wakes.extend(reply.send(answer.outcome));
                    }
                }
                Output::Event(event) => self.wake_watchers(&event),
                Output::Settled(_) => {}
            }
        }
    }

    fn wake_watchers(&mut self, event: &Event) {
        if let Event::Expired { key, .. }
        | Event::Revoked { key, .. }
        | Event::HandedOver { key, .. } = event
        {
            if let Some(list) = self.watchers.remove(key) {
                for (_, reply) in list {
                    let _ = reply.send(());
                }
            }
        }
    }
}
