//! A service embedding the lease engine: three units of one application compete for
//! leadership and the leader renews its lease, a machine pins it for an upgrade, the
//! service shuts down, and a restart replays its store (a directory of log segments and
//! snapshots) to the same state.
//!
//! Run with `cargo run -p leasehold --features driver --example embed`.

use leasehold::driver::{Driver, RequestError};
use leasehold::{Config, Key, LEADERSHIP_NAMESPACE, LeaseError, Op};
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
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
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
