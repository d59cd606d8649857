//! `compaction`: the driver's store under an hour of claimer-abuse load: disk used with
//! compaction, restart time, and answer latency while compactions run.
//!
//! ```text
//! cargo run --release -p leasehold-benches --bin compaction -- \
//!     [--leases 60000] [--seconds 3600] [--latency-seconds 10] [--compact-every-ms 1000] [--json]
//! ```
//!
//! Writes into a temporary directory (removed afterwards); progress goes to stderr, the
//! figures to stdout.

use clap::Parser;
use leasehold::driver::StoreOptions;
use leasehold_benches::compaction::{Plan, run};
use std::process::ExitCode;

/// Measures the on-disk store under a long claimer-abuse load.
#[derive(Debug, Parser)]
#[command(name = "compaction", version)]
struct Args {
    /// Leases held, each renewed every 4.5 s.
    #[arg(long, default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(1..))]
    leases: u64,
    /// Simulated seconds of load to write.
    #[arg(long, default_value_t = 3_600, value_parser = clap::value_parser!(u64).range(1..))]
    seconds: u64,
    /// Seconds of paced load with and without compactions, for the latency comparison.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    latency_seconds: u64,
    /// Milliseconds between compactions in the latency comparison's second half (0: back
    /// to back, so one is always running).
    #[arg(long, default_value_t = 1_000)]
    compact_every_ms: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let plan = Plan {
        leases: usize::try_from(args.leases).unwrap_or(usize::MAX),
        seconds: args.seconds,
        latency_seconds: args.latency_seconds,
        options: StoreOptions::default(),
        compact_every: std::time::Duration::from_millis(args.compact_every_ms),
    };
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("compaction: cannot make a temporary directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "compaction: {} leases, {} simulated seconds of claimer-abuse load, in {}",
        plan.leases,
        plan.seconds,
        dir.path().display()
    );
    let f = match run(dir.path(), plan) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("compaction: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.json {
        match serde_json::to_string(&f) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("compaction: {e}");
                return ExitCode::FAILURE;
            }
        }
        return ExitCode::SUCCESS;
    }
    let mb = |b: u64| b as f64 / 1e6;
    println!("leases                      {}", f.leases);
    println!("simulated seconds           {}", f.simulated_seconds);
    println!("extensions written          {}", f.operations);
    println!(
        "log written (no compaction) {:.1} MB in {:.0} s",
        mb(f.log_bytes_written),
        f.write_seconds
    );
    println!(
        "disk used, most / at end    {:.1} MB / {:.1} MB",
        mb(f.disk_max_bytes),
        mb(f.disk_final_bytes)
    );
    println!("snapshot file               {:.2} MB", mb(f.snapshot_bytes));
    println!(
        "restart                     {:.0} ms (snapshot of {} records, {} replayed)",
        f.restart_ms, f.restart_snapshot_covers, f.restart_replayed_records
    );
    println!(
        "answer latency, steady      p50 {} ms, p99 {} ms; extensions in time {:.4} %; load {} ms late at most",
        f.steady_p50_ms,
        f.steady_p99_ms,
        f.steady_in_time * 100.0,
        f.steady_lag_ms
    );
    println!(
        "answer latency, compacting  p50 {} ms, p99 {} ms; extensions in time {:.4} %; load {} ms late at most ({} compactions, one every {} ms, {:.0} ms each)",
        f.compacting_p50_ms,
        f.compacting_p99_ms,
        f.compacting_in_time * 100.0,
        f.compacting_lag_ms,
        f.compactions,
        f.compact_every_ms,
        f.compaction_mean_ms
    );
    ExitCode::SUCCESS
}
