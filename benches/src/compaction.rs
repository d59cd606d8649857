//! The on-disk store under a long claimer-abuse load: how much disk it uses with
//! compaction, how long a restart takes, and whether a compaction running beside the
//! engine shows in its answer latency.
//!
//! The load is what the `claimer-abuse` scenario's holders write once elected: every one
//! of `leases` leases extended for 5 s every 4.5 s, through a real [`Driver`] over a
//! [`Store`](leasehold::driver::Store) in a temporary directory, fsync per batch. An hour
//! of it is `leases × 3600 / 4.5` extensions; they are submitted as fast as the driver
//! takes them (so an hour of log is written in minutes), in the engine's batches of up
//! to 1,000 operations.

use crate::workload;
use leasehold::driver::{Driver, Opened, Pending, StoreOptions};
use leasehold::{Config, Key, LeaseError, Op, Outcome};
use serde::Serialize;
use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long each extension keeps a lease (the scenario's claim duration).
const DURATION: Duration = Duration::from_secs(5);
/// How often each lease is renewed, in ms.
const RENEW_MS: u64 = 4_500;
/// Requests in flight at once while writing the hour.
const CHUNK: usize = 20_000;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Leases held and renewed.
    pub leases: usize,
    /// Simulated seconds of load to write.
    pub seconds: u64,
    /// Seconds of paced load in each half of the latency comparison.
    pub latency_seconds: u64,
    /// The store's settings.
    pub options: StoreOptions,
    /// How long the second half waits between compactions (0: back to back).
    pub compact_every: Duration,
}

/// What [`run`] measured.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// Leases held and renewed.
    pub leases: usize,
    /// Simulated seconds of claimer-abuse load written.
    pub simulated_seconds: u64,
    /// Extensions written.
    pub operations: u64,
    /// Bytes of batches appended to the log (what a log without compaction would hold).
    pub log_bytes_written: u64,
    /// Wall-clock seconds the writing took.
    pub write_seconds: f64,
    /// The most the store's directory held at any sample.
    pub disk_max_bytes: u64,
    /// What it held at the end.
    pub disk_final_bytes: u64,
    /// The size of the last snapshot file.
    pub snapshot_bytes: u64,
    /// Milliseconds from `Driver::open` to a running driver (median of 3).
    pub restart_ms: f64,
    /// Records the restart replayed after its snapshot.
    pub restart_replayed_records: usize,
    /// Records the snapshot it started from covers.
    pub restart_snapshot_covers: u64,
    /// Milliseconds to restart with the most log the policy lets pile up behind a
    /// snapshot ([`StoreOptions::snapshot_every_bytes`] of extensions), median of 3.
    pub restart_worst_ms: f64,
    /// Records that restart replayed.
    pub restart_worst_replayed_records: usize,
    /// Answer latency at the scenario's rate with no compaction: p50, ms.
    pub steady_p50_ms: u64,
    /// ... p99, ms.
    pub steady_p99_ms: u64,
    /// The share of its extensions that applied before their lease ran out.
    pub steady_in_time: f64,
    /// Answer latency at the same rate while compactions run back to back: p50, ms.
    pub compacting_p50_ms: u64,
    /// ... p99, ms.
    pub compacting_p99_ms: u64,
    /// The share of its extensions that applied before their lease ran out.
    pub compacting_in_time: f64,
    /// How long the second half waited between compactions, ms (0: back to back).
    pub compact_every_ms: u64,
    /// The furthest the load generator fell behind its schedule in the first half, ms
    /// (it runs in the same process, on the same cores).
    pub steady_lag_ms: u64,
    /// ... in the second half.
    pub compacting_lag_ms: u64,
    /// Compactions that wrote a new snapshot during the second half.
    pub compactions: u64,
    /// Their mean duration (snapshot encoded and written, log behind it deleted), ms.
    pub compaction_mean_ms: f64,
}

/// The bytes of every file in `dir`.
fn disk_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// The newest snapshot file's size.
fn snapshot_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".snap"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

/// Waits for every pending request; errors on the first that did not succeed.
fn settle(pending: impl IntoIterator<Item = Pending>) -> Result<(), String> {
    for p in pending {
        match p.wait() {
            Outcome::Applied(Ok(_)) => {}
            other => return Err(format!("a request failed: {other:?}")),
        }
    }
    Ok(())
}

fn config() -> Config {
    Config {
        queue_capacity: CHUNK * 2,
        ..Config::default()
    }
}

/// Writes `plan.seconds` of load into a store in `dir`, restarts it, and compares answer
/// latency with and without compactions. Progress goes to stderr.
///
/// # Errors
///
/// A message when the store or a request fails.
pub fn run(dir: &Path, plan: Plan) -> Result<Figures, String> {
    let keys = workload::keys(plan.leases);
    let holders: Vec<Arc<str>> = (0..plan.leases).map(workload::holder).collect();
    let path = dir.join("store");
    let (driver, _) =
        Driver::open_with(config(), &path, plan.options).map_err(|e| e.to_string())?;
    hold_all(&driver, &keys, &holders)?;

    // The hour: every lease extended every 4.5 s, written as fast as it goes.
    let total = plan.leases as u64 * plan.seconds * 1_000 / RENEW_MS;
    let started = Instant::now();
    let mut last_note = Instant::now();
    let mut disk_max = 0;
    let mut done = 0u64;
    let mut next = 0usize;
    // At most one extension of a lease in flight at once, as a holder sends them (more
    // would coalesce into one operation and write less).
    let chunk = CHUNK.min(plan.leases);
    while done < total {
        let n = chunk.min(usize::try_from(total - done).unwrap_or(chunk));
        extend(&driver, &keys, &holders, n, &mut next)?;
        done += n as u64;
        disk_max = disk_max.max(disk_bytes(&path));
        if last_note.elapsed() >= Duration::from_secs(2) {
            last_note = Instant::now();
            eprint!(
                "\r  {:5.1}% of {} simulated s: {} extensions, disk {:.1} MB (max {:.1} MB)   ",
                done as f64 * 100.0 / total as f64,
                plan.seconds,
                done,
                disk_bytes(&path) as f64 / 1e6,
                disk_max as f64 / 1e6,
            );
            let _ = std::io::stderr().flush();
        }
    }
    eprintln!();
    let write_seconds = started.elapsed().as_secs_f64();
    let log_bytes_written = driver.metrics().map_err(|e| e.to_string())?.batch_bytes;
    driver.shutdown().map_err(|e| e.to_string())?;
    let disk_final_bytes = disk_bytes(&path);
    disk_max = disk_max.max(disk_final_bytes);

    let (restart_ms, opened) = restart(&path, plan.options)?;
    eprintln!("  restart where the hour ended: {restart_ms:.0} ms ({opened:?})");

    // The worst case: a snapshot now, then as much log as the policy lets pile up before
    // the next one, written with the policy off.
    let quiet = StoreOptions {
        snapshot_every_records: u64::MAX,
        snapshot_every_bytes: u64::MAX,
        ..plan.options
    };
    let (driver, _) = Driver::open_with(config(), &path, quiet).map_err(|e| e.to_string())?;
    driver.compact().map_err(|e| e.to_string())?;
    hold_all(&driver, &keys, &holders)?;
    let bytes_per_op = log_bytes_written / total.max(1);
    let worst_ops = plan.options.snapshot_every_bytes / bytes_per_op.max(1);
    let mut written = 0;
    while written < worst_ops {
        let n = chunk.min(usize::try_from(worst_ops - written).unwrap_or(chunk));
        extend(&driver, &keys, &holders, n, &mut next)?;
        written += n as u64;
    }
    driver.shutdown().map_err(|e| e.to_string())?;
    let (restart_worst_ms, worst) = restart(&path, quiet)?;
    eprintln!("  restart behind a full snapshot interval: {restart_worst_ms:.0} ms ({worst:?})");

    // Latency at the scenario's own rate, without and with compactions running.
    let (driver, _) = Driver::open_with(config(), &path, quiet).map_err(|e| e.to_string())?;
    // Leases that ran out while the store restarted are claimed again; the others are
    // extended (a claim by the holder is an extension).
    hold_all(&driver, &keys, &holders)?;
    let window = Duration::from_secs(plan.latency_seconds);
    // One round of renewals goes on across both halves, as a holder's would.
    let mut turn = 0;
    let steady = paced(&driver, &keys, &holders, window, &mut turn)?;
    let compacting = Arc::new(AtomicBool::new(true));
    let compactor = {
        let (driver, compacting) = (driver.clone(), compacting.clone());
        let every = plan.compact_every;
        thread::spawn(move || {
            // The duration of each compaction that wrote a new snapshot.
            let mut times = Vec::new();
            let mut last = 0;
            while compacting.load(Ordering::Relaxed) {
                let t = Instant::now();
                let covers = driver.compact().map_err(|e| e.to_string())?;
                if covers != last {
                    times.push(t.elapsed().as_secs_f64() * 1_000.0);
                    last = covers;
                }
                thread::sleep(every);
            }
            Ok::<_, String>(times)
        })
    };
    let compacting_window = paced(&driver, &keys, &holders, window, &mut turn)?;
    compacting.store(false, Ordering::Relaxed);
    let times = compactor
        .join()
        .map_err(|_| "the compacting thread panicked".to_string())??;
    driver.shutdown().map_err(|e| e.to_string())?;

    Ok(Figures {
        leases: plan.leases,
        simulated_seconds: plan.seconds,
        operations: total,
        log_bytes_written,
        write_seconds,
        disk_max_bytes: disk_max,
        disk_final_bytes,
        snapshot_bytes: snapshot_bytes(&path),
        restart_ms,
        restart_replayed_records: opened.replayed,
        restart_snapshot_covers: opened.snapshot_covers,
        restart_worst_ms,
        restart_worst_replayed_records: worst.replayed,
        steady_p50_ms: steady.p50_ms,
        steady_p99_ms: steady.p99_ms,
        steady_in_time: in_time(&steady),
        steady_lag_ms: steady.lag_ms,
        compacting_p50_ms: compacting_window.p50_ms,
        compacting_p99_ms: compacting_window.p99_ms,
        compacting_in_time: in_time(&compacting_window),
        compacting_lag_ms: compacting_window.lag_ms,
        compact_every_ms: u64::try_from(plan.compact_every.as_millis()).unwrap_or(u64::MAX),
        compactions: times.len() as u64,
        compaction_mean_ms: times.iter().sum::<f64>() / times.len().max(1) as f64,
    })
}

/// Extends the next `n` leases in turn (from `next`) at once, and waits for the answers.
fn extend(
    driver: &Driver,
    keys: &[Key],
    holders: &[Arc<str>],
    n: usize,
    next: &mut usize,
) -> Result<(), String> {
    let pending: Vec<Pending> = (0..n)
        .map(|_| {
            let i = *next;
            *next = (i + 1) % keys.len();
            driver.submit(Op::extend(keys[i].clone(), holders[i].clone(), DURATION))
        })
        .collect();
    settle(pending)
}

/// Opens the store at `path` to a running driver three times; the median time in ms
/// and what the last open found.
fn restart(path: &Path, options: StoreOptions) -> Result<(f64, Opened), String> {
    let mut times = Vec::new();
    let mut opened = Opened::default();
    for _ in 0..3 {
        let t = Instant::now();
        let (driver, o) = Driver::open_with(config(), path, options).map_err(|e| e.to_string())?;
        times.push(t.elapsed().as_secs_f64() * 1_000.0);
        opened = o;
        driver.shutdown().map_err(|e| e.to_string())?;
    }
    times.sort_by(f64::total_cmp);
    Ok((times[1], opened))
}

/// Claims every lease for its holder, `CHUNK` requests at a time. A claim by the holder
/// is an extension; one whose lease ran out while it waited (the batch's time advance
/// comes first) is answered `Invalid`, and claimed again.
fn hold_all(driver: &Driver, keys: &[Key], holders: &[Arc<str>]) -> Result<(), String> {
    let mut todo: Vec<usize> = (0..keys.len()).collect();
    for _attempt in 0..3 {
        let mut again = Vec::new();
        for chunk in todo.chunks(CHUNK) {
            let pending: Vec<(usize, Pending)> = chunk
                .iter()
                .map(|&i| {
                    let claim = Op::claim(keys[i].clone(), holders[i].clone(), DURATION);
                    (i, driver.submit(claim))
                })
                .collect();
            for (i, p) in pending {
                match p.wait() {
                    Outcome::Applied(Ok(_)) => {}
                    Outcome::Applied(Err(LeaseError::Invalid)) => again.push(i),
                    other => return Err(format!("a claim failed: {other:?}")),
                }
            }
        }
        if again.is_empty() {
            return Ok(());
        }
        todo = again;
    }
    Err(format!("{} leases could not be claimed", todo.len()))
}

/// The share of a window's extensions that were in time.
fn in_time(w: &Window) -> f64 {
    1.0 - w.missed as f64 / w.extensions.max(1) as f64
}

/// What a paced window measured.
struct Window {
    p50_ms: u64,
    p99_ms: u64,
    /// Extensions answered `Invalid`: the lease had run out before the extension applied
    /// (it came more than the 0.5 s of slack late). The lease is claimed again.
    missed: u64,
    extensions: u64,
    /// The furthest the submitting loop fell behind its schedule, ms.
    lag_ms: u64,
}

/// Submits extensions at the scenario's rate (every lease every 4.5 s, going on from
/// lease `next`) for `window`;
/// returns the answer latency's p50 and p99 over it, as the engine measures it, and how
/// many extensions came too late.
fn paced(
    driver: &Driver,
    keys: &[Key],
    holders: &[Arc<str>],
    window: Duration,
    next: &mut usize,
) -> Result<Window, String> {
    const TICK: Duration = Duration::from_millis(10);
    let per_tick = (keys.len() as u64 * 10 / RENEW_MS).max(1) as usize;
    let before = driver.metrics().map_err(|e| e.to_string())?.latency_ms;
    let started = Instant::now();
    let mut pending: VecDeque<(usize, Pending)> = VecDeque::new();
    let mut reclaims = Vec::new();
    let mut tick = started;
    let (mut missed, mut extensions) = (0, 0);
    let mut lag = Duration::ZERO;
    let mut check = |(i, p): (usize, Pending), reclaims: &mut Vec<Pending>| match p.wait() {
        Outcome::Applied(Ok(_)) => Ok(()),
        Outcome::Applied(Err(LeaseError::Invalid)) => {
            missed += 1;
            reclaims.push(driver.submit(Op::claim(keys[i].clone(), holders[i].clone(), DURATION)));
            Ok(())
        }
        other => Err(format!("an extension failed: {other:?}")),
    };
    while started.elapsed() < window {
        lag = lag.max(Instant::now().saturating_duration_since(tick));
        for _ in 0..per_tick {
            let i = *next;
            let extend = Op::extend(keys[i].clone(), holders[i].clone(), DURATION);
            pending.push_back((i, driver.submit(extend)));
            extensions += 1;
            *next = (i + 1) % keys.len();
        }
        // Settle what is old enough to have been answered, keeping memory flat.
        while pending.len() > per_tick * 100 {
            if let Some(p) = pending.pop_front() {
                check(p, &mut reclaims)?;
            }
        }
        tick += TICK;
        thread::sleep(tick.saturating_duration_since(Instant::now()));
    }
    for p in pending {
        check(p, &mut reclaims)?;
    }
    // The leases claimed again are held again (or the next window reclaims them).
    for p in reclaims {
        let _ = p.wait();
    }
    let after = driver.metrics().map_err(|e| e.to_string())?.latency_ms;
    let latency = after
        .since(&before)
        .ok_or("the latency distribution went backwards")?;
    Ok(Window {
        p50_ms: latency.quantile(0.5),
        p99_ms: latency.quantile(0.99),
        missed,
        extensions,
        lag_ms: u64::try_from(lag.as_millis()).unwrap_or(u64::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_run_stays_compact_and_restarts_to_its_state() {
        let dir = tempfile::tempdir().unwrap();
        let plan = Plan {
            leases: 500,
            // Long enough that the log written (extensions by place, about 7 bytes each)
            // is several times what the store keeps.
            seconds: 240,
            latency_seconds: 1,
            options: StoreOptions {
                segment_bytes: 8 << 10,
                snapshot_every_records: 1_000_000,
                snapshot_every_bytes: 16 << 10,
            },
            compact_every: Duration::ZERO,
        };
        let f = run(dir.path(), plan).unwrap();
        assert_eq!(f.operations, 500 * 240 * 1_000 / RENEW_MS);
        // The log written is far more than the store keeps: a snapshot (about 9 KB at
        // 500 leases) and at most about 16 KiB of segments behind it.
        assert!(f.log_bytes_written > 2 * f.disk_final_bytes, "{f:?}");
        assert!(f.disk_max_bytes < 64 << 10, "{f:?}");
        assert!(f.restart_snapshot_covers > 0, "{f:?}");
        assert!(f.restart_worst_replayed_records > 0, "{f:?}");
        assert!(f.compactions > 0, "{f:?}");
        assert!(f.steady_p99_ms > 0 && f.compacting_p99_ms > 0, "{f:?}");
        // Every lease is renewed in time across both halves (4.5 s of a 5 s lease).
        assert!(
            f.steady_in_time > 0.99 && f.compacting_in_time > 0.99,
            "{f:?}"
        );
    }
}
