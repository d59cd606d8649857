//! The threaded runtime: every request answered exactly once under concurrent load, the
//! file replaying to the driver's final state, crash recovery at every byte of a torn
//! last record, shutdown answering what waits, release waiters, and a stopped driver.
#![cfg(feature = "driver")]

use leasehold::driver::{
    Driver, DriverError, Log, MemoryLog, PartialAppend, Pending, RequestError, Store, StoreOptions,
};
use leasehold::frame::{self, FILE_HEADER, FRAME_HEADER_LEN};
use leasehold::{
    Batch, Config, Fsm, Key, LEADERSHIP_NAMESPACE, LeaseError, Op, Outcome, SINGULAR_NAMESPACE,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Quick batches, no eager cuts.
fn config() -> Config {
    Config {
        batch_interval: ms(5),
        eager: false,
        ..Config::default()
    }
}

fn key(i: usize) -> Key {
    Key::new(
        LEADERSHIP_NAMESPACE,
        format!("model-{}", i % 5),
        format!("app-{i}"),
    )
}

/// The state a store's snapshot and records give, as a fresh replica computes it.
fn replay(dir: &Path) -> Fsm {
    let (_store, recovery) = Store::open(dir, StoreOptions::default()).unwrap();
    let mut fsm = recovery.snapshot.map_or_else(Fsm::new, |s| {
        Fsm::restore(leasehold::Snapshot::decode(&s.bytes).unwrap())
    });
    for record in &recovery.records {
        fsm.apply_encoded(record).unwrap();
    }
    fsm
}

/// The store's first segment (the whole log while nothing was compacted).
fn first_segment(dir: &Path) -> std::path::PathBuf {
    dir.join("seg-00000000000000000001.log")
}

fn encoded(fsm: &Fsm) -> Vec<u8> {
    fsm.snapshot().encode().unwrap()
}

/// One random request of thread `t`, on a shared set of 500 keys.
fn random_op(rng: &mut ChaCha8Rng, t: usize) -> Op {
    let k = key(rng.random_range(0..500));
    let holder = format!("t{t}/h{}", rng.random_range(0..4));
    let d = ms(rng.random_range(200..3_000));
    match rng.random_range(0..100) {
        0 => Op::claim(
            Key::new(SINGULAR_NAMESPACE, "controller", format!("job-{t}")),
            holder,
            d,
        ),
        1..40 => Op::claim(k, holder, d),
        40..70 => Op::extend(k, holder, d),
        70..80 => Op::revoke(k, holder),
        80..85 => Op::pin(k, format!("t{t}/pin")),
        85..90 => Op::Pin {
            key: k,
            entity: format!("t{t}/pin").into(),
            // On the driver's clock; tests start within seconds of the driver.
            until: Some(leasehold::Time::from_millis(rng.random_range(0..5_000))),
            reason: Some("upgrade".into()),
        },
        90..98 => Op::unpin(k, format!("t{t}/pin")),
        _ => Op::claim(k, "", d), // Rejected: empty holder.
    }
}

#[test]
fn every_request_answered_once_and_the_store_replays_to_the_final_state() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 10_000;
    const CHUNK: usize = 500;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    // Small segments and frequent snapshots: compaction runs all through the load.
    let options = StoreOptions {
        segment_bytes: 64 << 10,
        snapshot_every_records: 40,
        snapshot_every_bytes: u64::MAX,
    };
    let (driver, opened) = Driver::open_with(config(), &path, options).unwrap();
    assert_eq!(opened.torn_tail, None);
    let started = Instant::now();

    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let driver = driver.clone();
            thread::spawn(move || {
                let mut rng = ChaCha8Rng::seed_from_u64(t as u64);
                let mut tally: BTreeMap<&'static str, usize> = BTreeMap::new();
                let mut answered = 0;
                for _ in 0..PER_THREAD / CHUNK {
                    let pending: Vec<Pending> = (0..CHUNK)
                        .map(|_| driver.submit(random_op(&mut rng, t)))
                        .collect();
                    for p in pending {
                        let outcome = p
                            .wait_timeout(Duration::from_secs(20))
                            .expect("a request went unanswered for 20 s");
                        answered += 1;
                        *tally.entry(outcome.name()).or_default() += 1;
                    }
                }
                (answered, tally)
            })
        })
        .collect();
    let mut answered = 0;
    let mut tally: BTreeMap<&'static str, usize> = BTreeMap::new();
    for w in workers {
        let (n, t) = w.join().unwrap();
        answered += n;
        for (name, count) in t {
            *tally.entry(name).or_default() += count;
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(answered, THREADS * PER_THREAD);
    assert_eq!(tally.values().sum::<usize>(), THREADS * PER_THREAD);
    assert!(tally["ok"] > 10_000, "{tally:?}");
    assert!(tally["rejected"] > 0, "{tally:?}");

    // The engine counted the same answers.
    let m = driver.metrics().unwrap();
    let counted: u64 = m
        .lanes
        .iter()
        .map(|l| l.applied + l.shed + l.deadline_exceeded)
        .sum::<u64>()
        + m.aborted
        + m.rejected;
    assert_eq!(counted, (THREADS * PER_THREAD) as u64, "{tally:?}");
    eprintln!(
        "{} requests in {elapsed:?}: {tally:?}; {} batches, {} ops",
        THREADS * PER_THREAD,
        m.batches,
        m.batch_ops
    );

    let fsm = driver.shutdown().unwrap();
    assert!(!fsm.is_empty());
    assert_eq!(encoded(&replay(&path)), encoded(&fsm));
    // Compaction kept the log short: a snapshot or two and the segments after it.
    let files = std::fs::read_dir(&path).unwrap().count();
    assert!(files <= 6, "{files} files in the store");
    let (_, recovery) = Store::open(&path, options).unwrap();
    assert!(recovery.snapshot.is_some());
    assert!(
        recovery.records.len() < 100,
        "{} records after the snapshot",
        recovery.records.len()
    );
}

/// The byte offsets where each frame of a log file starts, and the file's end.
fn frame_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut at = FILE_HEADER.len();
    while at < bytes.len() {
        starts.push(at);
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += FRAME_HEADER_LEN + len;
    }
    assert_eq!(at, bytes.len());
    starts
}

#[test]
fn a_torn_last_record_is_cut_off_at_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let minute = Duration::from_secs(60);
    let (driver, _) = Driver::open(config(), &store).unwrap();
    for i in 0..5 {
        driver
            .request(Op::claim(key(i), format!("unit/{i}"), minute))
            .unwrap();
    }
    let until = driver.now() + minute;
    driver
        .request(Op::pin_until(key(0), "machine-0", until, "upgrade"))
        .unwrap();
    driver.request(Op::revoke(key(1), "unit/1")).unwrap();
    driver.request(Op::claim(key(9), "unit/9", minute)).unwrap();
    let all = driver.shutdown().unwrap();

    let bytes = std::fs::read(first_segment(&store)).unwrap();
    let starts = frame_starts(&bytes);
    assert!(starts.len() >= 4, "{starts:?}");
    let last = *starts.last().unwrap();
    // The state every cut inside the last record must come back to.
    let mut expected = Fsm::new();
    for &s in &starts[..starts.len() - 1] {
        let len = u32::from_le_bytes(bytes[s..s + 4].try_into().unwrap()) as usize;
        let record = &bytes[s + FRAME_HEADER_LEN..s + FRAME_HEADER_LEN + len];
        expected.apply_encoded(record).unwrap();
    }
    let expected = encoded(&expected);
    assert_ne!(expected, encoded(&all), "the last record changes the state");

    // No idle time-only batch while a reopened driver is looked at.
    let quiet = Config {
        clock_interval: Duration::from_secs(600),
        ..config()
    };
    let cut_dir = dir.path().join("cut");
    std::fs::create_dir(&cut_dir).unwrap();
    let cut_path = first_segment(&cut_dir);
    for cut in last..bytes.len() {
        std::fs::write(&cut_path, &bytes[..cut]).unwrap();
        let (driver, opened) = Driver::open(quiet.clone(), &cut_dir).unwrap();
        let torn = opened.torn_tail.map(|(path, torn)| {
            assert_eq!(path, cut_path);
            torn
        });
        if cut == last {
            // The cut falls between records: a clean file.
            assert_eq!(torn, None);
        } else {
            let torn = torn.unwrap_or_else(|| panic!("no torn tail reported at {cut}"));
            assert_eq!(torn.offset, last as u64, "cut at {cut}");
            assert_eq!(torn.dropped_bytes, (cut - last) as u64, "cut at {cut}");
            if cut == last + FRAME_HEADER_LEN {
                // Only the frame header made it.
                assert!(torn.reason.contains("runs past"), "{}", torn.reason);
            }
        }
        assert_eq!(
            encoded(&Fsm::restore(driver.snapshot().unwrap())),
            expected,
            "cut at {cut}"
        );
        if cut + 1 < bytes.len() {
            driver.shutdown().unwrap();
            assert_eq!(std::fs::metadata(&cut_path).unwrap().len(), last as u64);
        } else {
            // The driver on the last cut still works, and what it writes survives.
            let token = driver
                .request(Op::claim(key(42), "unit/42", minute))
                .unwrap();
            assert!(token.is_some());
            driver.shutdown().unwrap();
            let (driver, opened) = Driver::open(quiet.clone(), &cut_dir).unwrap();
            assert_eq!(opened.torn_tail, None);
            assert_eq!(driver.holder(&key(42)).unwrap().as_deref(), Some("unit/42"));
        }
    }

    // Only the file header: an empty, clean log.
    std::fs::write(&cut_path, FILE_HEADER).unwrap();
    let (driver, opened) = Driver::open(quiet, &cut_dir).unwrap();
    assert_eq!(opened.torn_tail, None);
    assert_eq!(driver.snapshot().unwrap(), Fsm::new().snapshot());
}

#[test]
fn a_record_that_does_not_decode_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    {
        let (mut log, _) = Store::open(&path, StoreOptions::default()).unwrap();
        let batch = Batch::new(1, vec![Op::claim(key(1), "unit/1", ms(1_000))]);
        log.append(&batch.encode().unwrap()).unwrap();
        log.append(b"not a batch").unwrap();
    }
    match Driver::open(config(), &path) {
        Err(e @ DriverError::Decode { index: 2, .. }) => {
            assert!(e.to_string().contains("log record 2 "), "{e}");
        }
        other => panic!("expected a decode error for record 2, got {other:?}"),
    }
}

/// A memory log that takes `delay` per append.
struct SlowLog {
    inner: MemoryLog,
    delay: Duration,
}

impl Log for SlowLog {
    fn append(&mut self, record: &[u8]) -> io::Result<()> {
        thread::sleep(self.delay);
        self.inner.append(record)
    }

    fn records(&self) -> usize {
        self.inner.records()
    }
}

/// Nothing is cut on its own: batches every 10 s.
fn slow_config() -> Config {
    Config {
        batch_interval: Duration::from_secs(10),
        clock_interval: Duration::from_secs(10),
        max_batch_ops: 5_000,
        claim_deadline: Duration::from_secs(30),
        extend_deadline: Duration::from_secs(30),
        admin_deadline: Duration::from_secs(30),
        ..config()
    }
}

#[test]
fn shutdown_answers_every_queued_request_shed() {
    let driver = Driver::in_memory(slow_config()).unwrap();
    let pending: Vec<Pending> = (0..3_000)
        .map(|i| match i % 3 {
            0 => driver.submit(Op::claim(key(i % 700), format!("unit/{i}"), ms(5_000))),
            1 => driver.submit(Op::extend(key(i % 700), "unit/1", ms(5_000))),
            _ => driver.submit(Op::pin(key(i % 700), "machine-1")),
        })
        .collect();
    let started = Instant::now();
    let fsm = driver.shutdown().unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(fsm.is_empty());
    for p in pending {
        assert_eq!(p.result(), Err(RequestError::Shed));
    }
}

#[test]
fn shutdown_lets_in_flight_batches_reach_the_log() {
    let log = SlowLog {
        inner: MemoryLog::new(),
        delay: ms(100),
    };
    let driver = Driver::start(slow_config(), log, Fsm::new(), 1).unwrap();
    // Singular requests are cut at once: four batches fill the in-flight window...
    let singular: Vec<Pending> = (0..4)
        .map(|i| {
            let key = Key::new(SINGULAR_NAMESPACE, "controller", format!("job-{i}"));
            driver.submit(Op::claim(key, "controller/0", ms(60_000)))
        })
        .collect();
    // ...and these wait in the queue.
    let queued: Vec<Pending> = (0..100)
        .map(|i| driver.submit(Op::claim(key(i), "unit/0", ms(60_000))))
        .collect();
    let fsm = driver.shutdown().unwrap();
    for p in singular {
        assert!(matches!(p.result(), Ok(Some(_))));
    }
    for p in queued {
        assert_eq!(p.wait(), Outcome::Shed);
    }
    assert_eq!(fsm.len(), 4);
}

#[test]
fn dropping_the_last_handle_shuts_down_and_answers() {
    let driver = Driver::in_memory(slow_config()).unwrap();
    let other = driver.clone();
    let pending = driver.submit(Op::claim(key(1), "unit/1", ms(1_000)));
    drop(driver);
    assert!(!other.is_stopped());
    drop(other);
    assert_eq!(pending.result(), Err(RequestError::Shed));
}

#[test]
fn wait_until_released_wakes_on_revoke_and_times_out() {
    let driver = Driver::in_memory(config()).unwrap();
    let k = key(1);
    // Free: at once.
    assert!(driver.wait_until_released(&k, Duration::ZERO));
    driver
        .request(Op::claim(k.clone(), "unit/0", Duration::from_secs(60)))
        .unwrap();
    // Held: times out.
    let started = Instant::now();
    assert!(!driver.wait_until_released(&k, ms(100)));
    assert!(started.elapsed() >= ms(100));

    let revoker = {
        let driver = driver.clone();
        let k = k.clone();
        thread::spawn(move || {
            thread::sleep(ms(150));
            driver.request(Op::revoke(k.clone(), "unit/0")).unwrap();
        })
    };
    let started = Instant::now();
    assert!(driver.wait_until_released(&k, Duration::from_secs(10)));
    let waited = started.elapsed();
    assert!(waited >= ms(140), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    revoker.join().unwrap();
    assert_eq!(driver.holder(&k).unwrap(), None);

    // A handover releases the old holder; an expiry does too.
    driver
        .request(Op::claim(k.clone(), "unit/1", Duration::from_secs(60)))
        .unwrap();
    let waiter = {
        let driver = driver.clone();
        let k = k.clone();
        thread::spawn(move || driver.wait_until_released(&k, Duration::from_secs(10)))
    };
    thread::sleep(ms(50));
    driver
        .request(Op::handover(
            k.clone(),
            "unit/1",
            "unit/2",
            Duration::from_secs(60),
        ))
        .unwrap();
    assert!(waiter.join().unwrap());

    let short = key(2);
    driver
        .request(Op::claim(short.clone(), "unit/3", ms(200)))
        .unwrap();
    assert!(driver.wait_until_released(&short, Duration::from_secs(5)));

    // A waiter is told false when the driver stops under it.
    let waiter = {
        let driver = driver.clone();
        let k = k.clone();
        thread::spawn(move || driver.wait_until_released(&k, Duration::from_secs(30)))
    };
    thread::sleep(ms(50));
    let started = Instant::now();
    driver.shutdown().unwrap();
    assert!(!waiter.join().unwrap());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn calls_after_shutdown_answer_stopped() {
    let driver = Driver::in_memory(config()).unwrap();
    let other = driver.clone();
    let k = key(1);
    other
        .request(Op::claim(k.clone(), "unit/0", ms(60_000)))
        .unwrap();
    let fsm = driver.shutdown().unwrap();
    assert_eq!(fsm.holder(&k), Some("unit/0"));

    assert!(other.is_stopped());
    let d = ms(1_000);
    assert_eq!(
        other.request(Op::claim(k.clone(), "unit/1", d)),
        Err(RequestError::Stopped)
    );
    assert_eq!(
        other.request(Op::extend(k.clone(), "unit/0", d)),
        Err(RequestError::Stopped)
    );
    assert_eq!(
        other.request(Op::revoke(k.clone(), "unit/0")),
        Err(RequestError::Stopped)
    );
    assert_eq!(
        other.request(Op::pin_until(k.clone(), "m", other.now() + d, "why")),
        Err(RequestError::Stopped)
    );
    assert_eq!(
        other.request(Op::unpin(k.clone(), "m")),
        Err(RequestError::Stopped)
    );
    assert_eq!(
        other.request(Op::handover(k.clone(), "unit/0", "unit/1", d)),
        Err(RequestError::Stopped)
    );
    assert_eq!(
        other.submit(Op::claim(k.clone(), "unit/1", d)).result(),
        Err(RequestError::Stopped)
    );
    assert_eq!(
        other.submit(Op::claim(k.clone(), "unit/1", d)).wait(),
        Outcome::Shed
    );
    assert!(!other.wait_until_released(&k, Duration::from_secs(10)));
    assert!(matches!(other.leases(), Err(RequestError::Stopped)));
    assert!(matches!(other.metrics(), Err(RequestError::Stopped)));
    assert!(matches!(other.snapshot(), Err(RequestError::Stopped)));
    assert!(matches!(other.holder(&k), Err(RequestError::Stopped)));
    assert!(matches!(other.shutdown(), Err(DriverError::Stopped)));
}

#[test]
fn blocking_helpers_map_outcomes() {
    let driver = Driver::in_memory(config()).unwrap();
    let k = key(1);
    let d = Duration::from_secs(60);
    let token = driver
        .request(Op::claim(k.clone(), "unit/0", d))
        .unwrap()
        .unwrap();
    assert_eq!(
        driver.request(Op::claim(k.clone(), "unit/1", d)),
        Err(RequestError::Lease(LeaseError::Held {
            holder: Arc::from("unit/0")
        }))
    );
    assert_eq!(
        driver.request(Op::extend(k.clone(), "unit/0", d)),
        Ok(Some(token))
    );
    assert_eq!(
        driver.request(Op::extend(k.clone(), "unit/1", d)),
        Err(RequestError::Lease(LeaseError::Invalid))
    );
    assert!(matches!(
        driver.request(Op::claim(k.clone(), "", d)),
        Err(RequestError::Rejected(e)) if e.field == "holder"
    ));
    driver
        .request(Op::Pin {
            key: k.clone(),
            entity: "machine-0".into(),
            until: None,
            reason: Some("upgrade".into()),
        })
        .unwrap();
    let leases = driver.leases().unwrap();
    assert_eq!(leases.len(), 1);
    assert_eq!(leases[0].pinned_by, ["machine-0"]);
    driver.request(Op::unpin(k.clone(), "machine-0")).unwrap();
    let next = driver
        .request(Op::handover(k.clone(), "unit/0", "unit/1", d))
        .unwrap()
        .unwrap();
    assert!(next > token);
    assert!(driver.metrics().unwrap().batches >= 1);
    let fsm = driver.shutdown().unwrap();
    assert_eq!(fsm.holder(&k), Some("unit/1"));
}

/// A memory log whose appends fail while `failing` is set.
struct FlakyLog {
    inner: MemoryLog,
    failing: Arc<std::sync::atomic::AtomicBool>,
}

impl Log for FlakyLog {
    fn append(&mut self, record: &[u8]) -> io::Result<()> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(io::Error::other("disk on fire"));
        }
        self.inner.append(record)
    }

    fn records(&self) -> usize {
        self.inner.records()
    }
}

#[test]
fn a_failed_append_answers_aborted_and_the_driver_carries_on() {
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let log = FlakyLog {
        inner: MemoryLog::new(),
        failing: Arc::clone(&failing),
    };
    let driver = Driver::start(config(), log, Fsm::new(), 1).unwrap();
    let d = ms(60_000);
    assert_eq!(
        driver.request(Op::claim(key(1), "unit/1", d)),
        Err(RequestError::Aborted)
    );
    assert_eq!(driver.holder(&key(1)).unwrap(), None);
    failing.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(
        driver
            .request(Op::claim(key(1), "unit/1", d))
            .unwrap()
            .is_some()
    );
    let m = driver.metrics().unwrap();
    assert!(m.abandoned >= 1 && m.aborted >= 1);
    assert_eq!(driver.shutdown().unwrap().holder(&key(1)), Some("unit/1"));
}

#[test]
fn a_panicking_read_panics_its_caller_and_the_driver_carries_on() {
    let driver = Driver::in_memory(config()).unwrap();
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        driver.inspect(|_engine| -> usize { panic!("a read that panics") })
    }));
    assert!(read.is_err());
    assert!(
        driver
            .request(Op::claim(key(1), "unit/1", ms(60_000)))
            .unwrap()
            .is_some()
    );
    let depth = driver
        .inspect(|engine| engine.queue_depth(leasehold::Lane::Claim))
        .unwrap();
    assert_eq!(depth, 0);
    driver.shutdown().unwrap();
}

// Handles can be shared and sent between threads; so can pending answers.
const _: () = {
    const fn shared<T: Send + Sync + Clone + 'static>() {}
    const fn sendable<T: Send + 'static>() {}
    shared::<Driver>();
    sendable::<Pending>();
    sendable::<DriverError>();
    shared::<RequestError>();
};

/// The same, as a test that shows up in the list.
#[test]
fn handles_are_send_sync_clone() {
    fn shared<T: Send + Sync + Clone + 'static>() {}
    fn sendable<T: Send + 'static>() {}
    shared::<Driver>();
    sendable::<Pending>();
    sendable::<DriverError>();
    shared::<RequestError>();
}

#[test]
fn compact_snapshots_the_state_and_a_reopen_starts_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let options = StoreOptions {
        segment_bytes: 256,
        // Only on demand here.
        snapshot_every_records: u64::MAX,
        snapshot_every_bytes: u64::MAX,
    };
    let minute = Duration::from_secs(60);
    let (driver, _) = Driver::open_with(config(), &path, options).unwrap();
    for i in 0..30 {
        driver
            .request(Op::claim(key(i), format!("unit/{i}"), minute))
            .unwrap();
    }
    let segments = |p: &Path| {
        std::fs::read_dir(p)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("seg-")
            })
            .count()
    };
    assert!(segments(&path) > 5, "small segments roll");
    let covers = driver.compact().unwrap();
    assert!(
        covers >= 30,
        "the snapshot covers every claim's batch: {covers}"
    );
    assert!(segments(&path) <= 2, "the log behind the snapshot is gone");
    for i in 30..40 {
        driver
            .request(Op::claim(key(i), format!("unit/{i}"), minute))
            .unwrap();
    }
    let before = driver.shutdown().unwrap();

    let (driver, opened) = Driver::open_with(config(), &path, options).unwrap();
    assert_eq!(opened.snapshot_covers, covers);
    assert!(opened.replayed >= 10 && opened.replayed < 40, "{opened:?}");
    assert_eq!(
        encoded(&Fsm::restore(driver.snapshot().unwrap())),
        encoded(&before)
    );
    // Compacting twice in a row with nothing new is harmless.
    let again = driver.compact().unwrap();
    assert_eq!(driver.compact().unwrap(), again);
    driver.shutdown().unwrap();
    assert_eq!(encoded(&replay(&path)), encoded(&before));
}

#[test]
fn a_driver_without_a_store_has_nothing_to_compact() {
    let driver = Driver::in_memory(config()).unwrap();
    assert!(matches!(driver.compact(), Err(DriverError::NoStore)));
    driver.shutdown().unwrap();
}

#[test]
fn a_log_file_of_the_previous_release_is_migrated_and_replays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leases.log");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1-driver.log");
    let old = std::fs::read(&fixture).unwrap();
    std::fs::copy(&fixture, &path).unwrap();
    let mut expected = Fsm::new();
    for record in frame::scan(&old).unwrap().records {
        expected.apply_encoded(record).unwrap();
    }
    assert_eq!(expected.leases(leasehold::Time::ZERO).len(), 20);

    let (driver, opened) = Driver::open(config(), &path).unwrap();
    assert!(opened.migrated);
    assert!(path.is_dir(), "the store replaced the file");
    assert_eq!(
        encoded(&Fsm::restore(driver.snapshot().unwrap())),
        encoded(&expected)
    );
    assert_eq!(
        driver
            .holder(&Key::new(LEADERSHIP_NAMESPACE, "model-uuid", "app-1"))
            .unwrap()
            .as_deref(),
        Some("app-1/1")
    );
    driver.shutdown().unwrap();
    let (driver, opened) = Driver::open(config(), &path).unwrap();
    assert!(!opened.migrated, "migrated once");
    driver.shutdown().unwrap();
}

/// A memory log whose appends each wait for a permit, and which records how many
/// records each call carried.
struct GatedLog {
    inner: MemoryLog,
    permits: std::sync::mpsc::Receiver<()>,
    groups: Arc<std::sync::Mutex<Vec<usize>>>,
}

impl Log for GatedLog {
    fn append(&mut self, record: &[u8]) -> io::Result<()> {
        self.append_all(&[record]).map_err(|partial| partial.error)
    }

    fn append_all(&mut self, records: &[&[u8]]) -> Result<(), PartialAppend> {
        let closed = |durable| PartialAppend {
            durable,
            error: io::Error::other("no more permits"),
        };
        self.permits.recv().map_err(|_| closed(0))?;
        self.groups.lock().unwrap().push(records.len());
        for (durable, record) in records.iter().enumerate() {
            self.inner
                .append(record)
                .map_err(|error| PartialAppend { durable, error })?;
        }
        Ok(())
    }

    fn records(&self) -> usize {
        self.inner.records()
    }
}

#[test]
fn answers_wait_for_their_batch_to_be_durable_and_waiting_batches_share_an_append() {
    let (permit, permits) = std::sync::mpsc::channel();
    let groups = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = GatedLog {
        inner: MemoryLog::new(),
        permits,
        groups: Arc::clone(&groups),
    };
    let driver = Driver::start(slow_config(), log, Fsm::new(), 1).unwrap();
    // Singular requests are cut at once, a batch each, and the log holds the first.
    let mut pending: Vec<Pending> = (0..4)
        .map(|i| {
            let key = Key::new(SINGULAR_NAMESPACE, "controller", format!("job-{i}"));
            driver.submit(Op::claim(key, "controller/0", ms(60_000)))
        })
        .collect();
    // Nothing is answered before the log says it is durable.
    for _ in 0..4 {
        let p = pending.remove(0);
        pending.push(p.wait_timeout(ms(50)).expect_err("not durable yet"));
    }
    for _ in 0..4 {
        permit.send(()).unwrap();
    }
    for p in pending {
        assert!(matches!(p.result(), Ok(Some(_))));
    }
    // The batches cut while the first append waited went to the log together.
    let groups = groups.lock().unwrap().clone();
    assert_eq!(groups.iter().sum::<usize>(), 4, "{groups:?}");
    assert!(groups.len() <= 2, "{groups:?}");
    assert_eq!(driver.shutdown().unwrap().len(), 4);
}

#[test]
fn a_store_appends_records_together_across_segments_and_says_how_many_are_durable() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        segment_bytes: 100,
        ..StoreOptions::default()
    };
    let (mut store, _) = Store::open(dir.path(), options).unwrap();
    let mut expected: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 20 + usize::from(i)]).collect();
    let records: Vec<&[u8]> = expected.iter().map(Vec::as_slice).collect();
    store.append_all(&records).unwrap();
    assert_eq!(store.records(), 10);
    let segments = std::fs::read_dir(dir.path()).unwrap().count();
    assert!(segments >= 4, "{segments} files");

    // An empty record is refused: those before it are durable, nothing after it is
    // appended, and the store goes on.
    let partial = store
        .append_all(&[b"eleven", b"", b"thirteen"])
        .unwrap_err();
    assert_eq!(partial.durable, 1);
    assert_eq!(partial.error.kind(), io::ErrorKind::InvalidInput);
    store.append(b"twelve").unwrap();
    expected.extend([b"eleven".to_vec(), b"twelve".to_vec()]);
    assert_eq!(store.read(1, 13).unwrap(), expected);

    // Each record's place is known: the log can be cut after any of them.
    store.truncate_after(7).unwrap();
    assert_eq!(store.read(1, 8).unwrap(), expected[..7]);
    drop(store);
    let (_, recovery) = Store::open(dir.path(), options).unwrap();
    assert_eq!(recovery.records, expected[..7]);
}
