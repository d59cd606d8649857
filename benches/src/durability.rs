//! Durability on a real file: an fsync per operation against an fsync per batch, in one
//! run, through the driver's [`Store`].

use crate::workload;
use leasehold::Batch;
use leasehold::driver::{Log, Store, StoreOptions};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// Operations per second with one fsync per operation and with one per batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Durability {
    /// Operations written one per record (one fsync each).
    pub per_op_ops: usize,
    /// Their rate.
    pub per_op_ops_per_sec: f64,
    /// Operations per batch record (what a 100 ms batch carries at 10,000 requests/s).
    pub batch_ops: usize,
    /// Batches written.
    pub batches: usize,
    /// Operations per second written in batches (one fsync per batch).
    pub batched_ops_per_sec: f64,
    /// `batched_ops_per_sec / per_op_ops_per_sec`.
    pub ratio: f64,
}

/// Writes `per_op` single-operation records, then `batches` records of `batch_ops`
/// operations, to fresh log files in `dir`, each record encoded and fsynced.
///
/// # Errors
///
/// When a log file cannot be created or written.
pub fn durability(
    dir: &Path,
    per_op: usize,
    batches: usize,
    batch_ops: usize,
) -> Result<Durability, String> {
    let ops = workload::extends(batch_ops.max(per_op));
    let per_op_secs = write(&dir.join("per-op.log"), per_op, |i| {
        vec![ops[i % ops.len()].clone()]
    })?;
    let batched_secs = write(&dir.join("batched.log"), batches, |_| {
        ops[..batch_ops].to_vec()
    })?;
    let per_op_rate = per_op as f64 / per_op_secs;
    let batched_rate = (batches * batch_ops) as f64 / batched_secs;
    Ok(Durability {
        per_op_ops: per_op,
        per_op_ops_per_sec: per_op_rate,
        batch_ops,
        batches,
        batched_ops_per_sec: batched_rate,
        ratio: batched_rate / per_op_rate,
    })
}

/// Appends `records` records made by `ops` to a new store at `path`; returns the
/// seconds taken (encoding included) and removes the store.
fn write(
    path: &Path,
    records: usize,
    ops: impl Fn(usize) -> Vec<leasehold::Op>,
) -> Result<f64, String> {
    let _ = std::fs::remove_dir_all(path);
    let (mut log, _) = Store::open(path, StoreOptions::default())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let started = Instant::now();
    for seq in 0..records {
        let bytes = Batch::new(seq as u64 + 1, ops(seq))
            .encode()
            .map_err(|e| e.to_string())?;
        log.append(&bytes)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let secs = started.elapsed().as_secs_f64();
    drop(log);
    let _ = std::fs::remove_dir_all(path);
    Ok(secs.max(1e-9))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durability_writes_both_ways_and_compares() {
        let dir = tempfile::tempdir().unwrap();
        let d = durability(dir.path(), 5, 2, 100).unwrap();
        assert_eq!((d.per_op_ops, d.batches, d.batch_ops), (5, 2, 100));
        assert!(d.per_op_ops_per_sec > 0.0 && d.batched_ops_per_sec > 0.0);
        assert!((d.ratio - d.batched_ops_per_sec / d.per_op_ops_per_sec).abs() < 1e-6);
        assert!(
            !dir.path().join("per-op.log").exists(),
            "the files are removed"
        );
    }
}
