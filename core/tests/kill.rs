//! SIGKILL under load: a child process claims leases through a `Driver` over a store that
//! rolls segments and takes snapshots all the time, printing each acknowledgement; the
//! parent kills it at a random moment (mid-append, mid-snapshot, mid-deletion), reopens
//! the store and checks that every acknowledged claim is there, with its holder and
//! token. Then it lets a new child go on from that state, and kills it again.
#![cfg(all(feature = "driver", unix))]

use leasehold::driver::{Driver, StoreOptions};
use leasehold::{Config, Key, LEADERSHIP_NAMESPACE, Op};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Set in the child's environment: the store's directory.
const CHILD_ENV: &str = "LEASEHOLD_KILL_CHILD_DIR";
const KILLS: u64 = 12;
const THREADS: usize = 4;

fn options() -> StoreOptions {
    StoreOptions {
        segment_bytes: 8 << 10,
        snapshot_every_records: 25,
        snapshot_every_bytes: u64::MAX,
    }
}

fn config() -> Config {
    Config {
        batch_interval: Duration::from_millis(2),
        ..Config::default()
    }
}

fn key(name: &str) -> Key {
    Key::new(LEADERSHIP_NAMESPACE, "model", name)
}

/// The child: claims fresh leases from a few threads until killed, printing
/// `ack NAME HOLDER TOKEN` after each claim is acknowledged (applied and durable).
fn child(dir: &Path) {
    let (driver, _) = Driver::open_with(config(), dir, options()).expect("open the store");
    let run = std::process::id();
    let out = std::sync::Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (driver, out) = (driver.clone(), out.clone());
            thread::spawn(move || {
                for n in 0.. {
                    let name = format!("p{run}-t{t}-n{n}");
                    let holder = format!("{name}/0");
                    let claim = Op::claim(key(&name), holder.clone(), Duration::from_secs(3_600));
                    let Ok(Some(token)) = driver.request(claim) else {
                        panic!("claim of a fresh lease failed");
                    };
                    let mut out = out.lock().unwrap();
                    writeln!(out, "ack {name} {holder} {token}").unwrap();
                    out.flush().unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
}

#[test]
fn every_acknowledged_claim_survives_sigkill_during_compaction() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut acked: BTreeMap<String, (String, u64)> = BTreeMap::new();
    for kill in 0..KILLS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "every_acknowledged_claim_survives_sigkill_during_compaction",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &store)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Read acknowledgements on a thread, so the kill lands while the child writes.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait for the child to get going, then for a random while.
        let first = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the child acknowledges");
        let until = Instant::now() + Duration::from_millis(rng.random_range(50..600));
        let mut lines = vec![first];
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(_) => break,
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        for line in &lines {
            let parts: Vec<&str> = line.split(' ').collect();
            if let ["ack", name, holder, token] = parts[..] {
                acked.insert(name.into(), (holder.into(), token.parse().unwrap()));
            }
        }

        // Every acknowledged claim is in the reopened state, with its holder and token.
        let (driver, opened) = Driver::open_with(config(), &store, options()).unwrap();
        let fsm = leasehold::Fsm::restore(driver.snapshot().unwrap());
        driver.shutdown().unwrap();
        for (name, (holder, token)) in &acked {
            let lease = fsm.lease(&key(name), leasehold::Time::ZERO);
            let lease = lease.unwrap_or_else(|| panic!("kill {kill}: acknowledged {name} is lost"));
            assert_eq!(
                (&*lease.holder, lease.token),
                (holder.as_str(), *token),
                "kill {kill}"
            );
        }
        assert!(
            opened.snapshot_covers > 0 || kill == 0,
            "snapshots are taken all along: {opened:?}"
        );
    }
    assert!(acked.len() > 100, "{} claims acknowledged", acked.len());
    eprintln!(
        "{KILLS} kills, {} acknowledged claims, none lost",
        acked.len()
    );
}
