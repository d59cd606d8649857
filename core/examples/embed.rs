//! A service embedding the lease engine: three units of one application compete for
//! leadership and the leader renews its lease, a machine pins it for an upgrade, the
//! service shuts down, and a restart replays its store (a directory of log segments and
//! snapshots) to the same state.
//!
//! Run with `cargo run -p leasehold --features driver --example embed`. With
//! `-- --keep PATH` it also leaves its log at `PATH`, as one log file (the records of
//! every segment, in order, in [`leasehold::frame`]'s framing) that the dashboard's
//! import replays.

use leasehold::driver::{Driver, RequestError};
use leasehold::{Config, Key, LEADERSHIP_NAMESPACE, LeaseError, Op, frame};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

const LEASE: Duration = Duration::from_millis(600);

/// One unit: claim leadership, renew at half the lease while leading, then step down;
/// when another unit leads, wait for the lease to be released and claim again.
fn unit(driver: &Driver, key: &Key, name: &str) {
    for _attempt in 0..5 {
        match driver.request(Op::claim(key.clone(), name, LEASE)) {
            Ok(token) => {
                println!("{name}: elected (token {})", token.unwrap_or(0));
                // Lead for a while, renewing, then step down.
                for _ in 0..3 {
                    thread::sleep(LEASE / 2);
                    if let Err(e) = driver.request(Op::extend(key.clone(), name, LEASE)) {
                        println!("{name}: lost the lease while renewing: {e}");
                        break;
                    }
                }
                println!("{name}: stepping down");
                let _ = driver.request(Op::revoke(key.clone(), name));
                return;
            }
            Err(RequestError::Lease(LeaseError::Held { holder })) => {
                println!("{name}: {holder} leads; waiting for release");
                let released = driver.wait_until_released(key, Duration::from_secs(5));
                if !released {
                    println!("{name}: still held after 5 s");
                }
            }
            Err(e) => println!("{name}: claim failed: {e}"),
        }
    }
}

/// The path given with `--keep PATH`, if any.
fn keep_path() -> Result<Option<PathBuf>, String> {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next(), args.next()) {
        (None, _, _) => Ok(None),
        (Some("--keep"), Some(path), None) => Ok(Some(PathBuf::from(path))),
        _ => Err("usage: embed [--keep PATH]".into()),
    }
}

/// Writes the log of the store in `dir` to `to` as one log file: the records of its
/// segments (`*.log`, named by their first record, so in order by name).
fn keep_log(dir: &Path, to: &Path) -> Result<usize, Box<dyn std::error::Error>> {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    segments.retain(|p| p.extension().is_some_and(|e| e == "log"));
    segments.sort();
    let bytes: Vec<Vec<u8>> = segments
        .iter()
        .map(std::fs::read)
        .collect::<Result<_, _>>()?;
    let mut records = Vec::new();
    for (segment, bytes) in segments.iter().zip(&bytes) {
        let scan = frame::scan(bytes).map_err(|e| format!("{}: {e}", segment.display()))?;
        records.extend(scan.records);
    }
    std::fs::write(to, frame::file(records.iter().copied())?)?;
    Ok(records.len())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keep = keep_path()?;
    let dir = std::env::temp_dir().join(format!("leasehold-embed-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("store");
    let config = Config {
        batch_interval: Duration::from_millis(20),
        ..Config::default()
    };

    let (driver, opened) = Driver::open(config.clone(), &path)?;
    println!("opened {} ({opened:?})", path.display());
    let key = Key::new(LEADERSHIP_NAMESPACE, "model-1", "mysql");

    let units: Vec<_> = ["mysql/0", "mysql/1", "mysql/2"]
        .into_iter()
        .map(|name| {
            let (driver, key) = (driver.clone(), key.clone());
            thread::spawn(move || unit(&driver, &key, name))
        })
        .collect();

    // An operator pins another application's lease for an upgrade, with a deadline.
    let db = Key::new(LEADERSHIP_NAMESPACE, "model-1", "postgresql");
    driver.request(Op::claim(db.clone(), "postgresql/0", LEASE))?;
    let until = driver.now() + Duration::from_secs(60);
    driver.request(Op::pin_until(db, "machine-7", until, "series upgrade"))?;
    println!("machine-7 pinned postgresql: its lease outlives its 600 ms");

    for u in units {
        u.join().expect("a unit panicked");
    }
    for lease in driver.leases()? {
        println!(
            "  {} held by {} pinned by {:?}",
            lease.key, lease.holder, lease.pinned_by
        );
    }
    let m = driver.metrics()?;
    println!(
        "{} batches ({} ops, {} bytes), {} leadership changes, p99 latency {} ms",
        m.batches,
        m.batch_ops,
        m.batch_bytes,
        m.leadership_changes,
        m.latency_percentile(0.99)
    );

    let before = driver.shutdown()?;
    println!("shut down with {} lease(s) held", before.len());

    // A restart replays the store to the same state.
    let (driver, opened) = Driver::open(config, &path)?;
    let after = driver.snapshot()?;
    println!(
        "reopened: {opened:?}, {} lease(s), same state: {}",
        after.leases().len(),
        after == before.snapshot()
    );
    driver.shutdown()?;
    if let Some(to) = keep {
        let records = keep_log(&path, &to)?;
        println!("kept the log ({records} batches) at {}", to.display());
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
