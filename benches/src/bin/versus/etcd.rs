//! etcd's side (to be written).

use super::Binaries;
use super::row::Row;
use super::workload::Workload;

/// Runs `w` on an etcd cluster of `nodes`.
pub async fn run(w: &Workload, nodes: usize, bins: &Binaries) -> Result<Row, String> {
    let _ = (w, nodes, bins);
    Err("not yet".into())
}
