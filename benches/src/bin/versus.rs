//! `versus`: leasehold and etcd side by side: the same lease workloads, on the same
//! machine, on loopback, one cluster at a time, a single node and three nodes each,
//! fsync on (both systems' defaults).
//!
//! ```text
//! ./scripts/versus.sh [--smoke] [--systems leasehold,etcd] [--nodes 1,3] \
//!     [--workloads grant,renew-10k,renew-60k,claimer-abuse,election,overload] \
//!     [--json FILE] [--svg docs/versus.svg]
//! ```
//!
//! (`scripts/versus.sh` fetches Debian's etcd into `.tools/etcd` and `protoc` first, and
//! builds `leaseholdd`; this binary is behind the `versus` feature, whose etcd client
//! needs `protoc` to build.)
//!
//! The workloads (`versus/workload.rs`), identical for both:
//!
//! - `grant`: new leases with an owner key, as many as possible (etcd: `LeaseGrant`,
//!   then a transaction that puts the key with the lease if it is absent, as its
//!   election recipe does; leasehold: `claim`), the same number of requests in flight.
//! - `renew-10k`, `renew-60k`: that many held leases, each renewed every 4.5 s with a
//!   5 s lease (etcd: keep-alives on streams; leasehold: `extend`).
//! - `claimer-abuse`: 60,000 leases × 3 contenders, 5 s leases renewed every 4.5 s by
//!   their holders, the other contenders retrying their claims.
//! - `election`: 2,184 applications × 3 units electing a leader (etcd's
//!   `concurrency.Election` recipe; leasehold: `claim` and the client's `track`); then
//!   SIGKILL of the cluster's leader (three nodes): leadership changes and the time until
//!   every application has a leader again.
//! - `overload`: `renew-10k` while a grant load steps up past what the system takes.
//!
//! **Not like for like**, and said in every report: etcd's keep-alives do not go
//! through its Raft log (a keep-alive is answered by the leader from memory), while
//! every leasehold extension is a durable log entry; etcd resets every lease's TTL when
//! its leader changes, leasehold never does.
//!
//! Progress goes to stderr; the table to stdout; `--json FILE` writes one JSON object
//! per run (a line each); `--svg FILE` draws the figures. Every run is bounded in time;
//! the servers are killed when a run ends, fails or panics.

#[path = "versus/chart.rs"]
mod chart;
#[path = "versus/etcd.rs"]
mod etcd;
#[path = "versus/lh.rs"]
mod lh;
#[path = "cluster/nodes.rs"]
mod nodes;
#[path = "versus/row.rs"]
mod row;
#[path = "cluster/stats.rs"]
mod stats;
#[path = "versus/usage.rs"]
mod usage;
#[path = "versus/workload.rs"]
mod workload;

use clap::Parser;
use row::Row;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use workload::Workload;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// leasehold and etcd, side by side.
#[derive(Debug, Clone, Parser)]
#[command(name = "versus", version)]
struct Args {
    /// The systems, comma-separated: leasehold, etcd.
    #[arg(long, default_value = "leasehold,etcd")]
    systems: String,
    /// Cluster sizes, comma-separated.
    #[arg(long, default_value = "1,3")]
    nodes: String,
    /// Workloads, comma-separated (default: all).
    #[arg(
        long,
        default_value = "grant,renew-10k,renew-60k,claimer-abuse,election,overload"
    )]
    workloads: String,
    /// Every workload scaled down to seconds (the test command's run).
    #[arg(long)]
    smoke: bool,
    /// The `leaseholdd` binary (default: the one next to this executable).
    #[arg(long)]
    leaseholdd: Option<PathBuf>,
    /// The `etcd` binary (default: `$LEASEHOLD_ETCD`, else `.tools/etcd/usr/bin/etcd`).
    #[arg(long)]
    etcd: Option<PathBuf>,
    /// Write one JSON object per run to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Draw the figures into this SVG file.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Also report the runs of an earlier `--json` file (repeat for each): the table,
    /// the JSON and the chart then hold those rows first, then this run's.
    #[arg(long = "with")]
    with: Vec<PathBuf>,
}

/// The rows of a `--json` file.
fn read_rows(path: &std::path::Path) -> Result<Vec<Row>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| format!("{} line {}: {e}", path.display(), i + 1))
        })
        .collect()
}

/// Where the binaries are.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `leaseholdd`.
    pub leaseholdd: PathBuf,
    /// `etcd`.
    pub etcd: PathBuf,
}

fn binaries(args: &Args) -> Binaries {
    let next_to_me = |name: &str| {
        std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(|d| d.join(name)))
            .unwrap_or_else(|| PathBuf::from(name))
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    Binaries {
        leaseholdd: args
            .leaseholdd
            .clone()
            .unwrap_or_else(|| next_to_me("leaseholdd")),
        etcd: args
            .etcd
            .clone()
            .or_else(|| std::env::var_os("LEASEHOLD_ETCD").map(PathBuf::from))
            .unwrap_or_else(|| root.join(".tools/etcd/usr/bin/etcd")),
    }
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

fn main() -> ExitCode {
    let args = Args::parse();
    let bins = binaries(&args);
    let mut workloads = Vec::new();
    for name in list(&args.workloads) {
        match Workload::named(&name) {
            Some(w) => workloads.push(if args.smoke { w.smoke() } else { w }),
            None => {
                eprintln!(
                    "versus: no workload `{name}` (grant, renew-10k, renew-60k, claimer-abuse, election, overload)"
                );
                return ExitCode::from(2);
            }
        }
    }
    let mut sizes = Vec::new();
    for n in list(&args.nodes) {
        match n.parse::<usize>() {
            Ok(n @ (1 | 3)) => sizes.push(n),
            _ => {
                eprintln!("versus: --nodes takes 1 and 3, not `{n}`");
                return ExitCode::from(2);
            }
        }
    }
    let systems = list(&args.systems);
    if let Some(s) = systems
        .iter()
        .find(|s| !matches!(s.as_str(), "leasehold" | "etcd"))
    {
        eprintln!("versus: no system `{s}` (leasehold, etcd)");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("versus: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut earlier: Vec<Row> = Vec::new();
    for path in &args.with {
        match read_rows(path) {
            Ok(r) => earlier.extend(r),
            Err(e) => {
                eprintln!("versus: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let mut rows: Vec<Row> = Vec::new();
    let mut failed = false;
    let total = workloads.len() * sizes.len() * systems.len();
    for w in &workloads {
        for &n in &sizes {
            for system in &systems {
                eprintln!(
                    "versus: [{}/{total}] {system}, {} node{}, {}",
                    rows.len() + 1,
                    n,
                    if n == 1 { "" } else { "s" },
                    w.name
                );
                let result = match system.as_str() {
                    "etcd" => runtime.block_on(etcd::run(w, n, &bins)),
                    _ => runtime.block_on(lh::run(w, n, &bins)),
                };
                match result {
                    Ok(row) => {
                        eprintln!("versus:   {:.0} ops/s", row.ops_per_sec);
                        rows.push(row);
                    }
                    Err(e) => {
                        eprintln!("versus: {system}, {n} nodes, {}: {e}", w.name);
                        failed = true;
                    }
                }
            }
        }
    }
    let mut rows: Vec<Row> = earlier.into_iter().chain(rows).collect();
    // Workload by workload (in the presets' order), one size, then the other; leasehold
    // before etcd.
    let order: Vec<&str> = Workload::all().iter().map(|w| w.name).collect();
    rows.sort_by_key(|r| {
        let w = order
            .iter()
            .position(|n| *n == r.workload)
            .unwrap_or(order.len());
        (w, r.nodes, r.system != "leasehold")
    });
    print!("{}", chart::table(&rows));
    if let Some(path) = &args.json {
        let mut out = String::new();
        for r in &rows {
            out.push_str(&serde_json::to_string(r).unwrap_or_default());
            out.push('\n');
        }
        if let Err(e) = std::fs::write(path, out) {
            eprintln!("versus: {}: {e}", path.display());
            failed = true;
        }
    }
    if let Some(path) = &args.svg {
        if let Err(e) = std::fs::write(path, chart::svg(&rows)) {
            eprintln!("versus: {}: {e}", path.display());
            failed = true;
        }
    }
    let _ = std::io::stdout().flush();
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
