//! `report`: measures the figures leasehold tracks and prints them as a table, or as one
//! JSON object with `--json`.
//!
//! ```text
//! cargo run --release -p leasehold-benches --bin report -- [--json] [--leases N]
//! ```
//!
//! Progress goes to stderr, the figures to stdout.

use clap::Parser;
use leasehold_benches::driver_cost::{DriverCost, DriverPlan, driver_cost};
use leasehold_benches::durability::{Durability, durability};
use leasehold_benches::engine_cost::{EngineCost, engine_cost};
use leasehold_benches::figures::{self, ApplySetup, ApplyVsHashMap, CodecPerOp, Plan, WireSize};
use serde::Serialize;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

/// Measures leasehold's wire size, state machine and codec costs.
#[derive(Debug, Parser)]
#[command(name = "report", version)]
struct Args {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Leases held by the state machine when measuring `apply`.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    leases: u64,
}

/// Everything the report measured.
#[derive(Debug, Serialize)]
struct Report {
    /// Whether this build has debug assertions on (figures are then meaningless).
    debug_build: bool,
    wire_size: WireSize,
    apply_vs_hashmap: ApplyVsHashMap,
    codec: CodecPerOp,
    engine: EngineCost,
    /// The engine end to end at `--leases` leases (1,000,000 by default).
    engine_large: EngineCost,
    durability: Durability,
    driver: DriverCost,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Ok(leases) = usize::try_from(args.leases) else {
        eprintln!("report: --leases {} does not fit in memory", args.leases);
        return ExitCode::FAILURE;
    };
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; run with --release for meaningful figures");
    }
    let started = Instant::now();

    progress("encoding batches of 1000 claims and 1000 extensions…");
    let wire_size = figures::wire_size();

    progress(&format!("building {leases} leases…"));
    let t = Instant::now();
    let mut setup = ApplySetup::build(leases);
    progress(&format!(
        "built in {:.1} s; measuring apply vs HashMap ({} runs)…",
        t.elapsed().as_secs_f64(),
        Plan::DEFAULT.runs
    ));
    let apply_vs_hashmap = setup.measure(Plan::DEFAULT);
    drop(setup);

    progress("measuring encode and decode of a 1000-extension batch…");
    let codec = figures::codec_per_op();
    progress(
        "measuring the engine end to end (submit, batch, encode, decode, apply, answer) over 100000 leases…",
    );
    let engine = engine_cost(100_000, Plan::DEFAULT);
    progress(&format!("the same over {leases} leases…"));
    let engine_large = engine_cost(leases, Plan::DEFAULT);
    progress(
        "writing a file log: 300 records with an fsync each, then 100 batches of 1000 operations…",
    );
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("report: cannot make a temporary directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let durability = match durability(dir.path(), 300, 100, 1_000) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("report: {e}");
            return ExitCode::FAILURE;
        }
    };
    let plan = DriverPlan::DEFAULT;
    progress(&format!(
        "measuring the driver end to end on a store (fsync per batch): {} leases, {} threads × {} in flight, {} rounds of {:.1} s…",
        plan.leases,
        plan.threads,
        plan.in_flight,
        plan.rounds,
        plan.round.as_secs_f64()
    ));
    let driver = match driver_cost(&dir.path().join("driver"), plan) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("report: {e}");
            return ExitCode::FAILURE;
        }
    };
    progress(&format!("done in {:.1} s", started.elapsed().as_secs_f64()));

    let report = Report {
        debug_build: cfg!(debug_assertions),
        wire_size,
        apply_vs_hashmap,
        codec,
        engine,
        engine_large,
        durability,
        driver,
    };
    let out = if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => json + "\n",
            Err(e) => {
                eprintln!("report: cannot write JSON: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        table(&report)
    };
    if std::io::stdout().write_all(out.as_bytes()).is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn progress(message: &str) {
    eprintln!("{message}");
}

fn table(r: &Report) -> String {
    let w = &r.wire_size;
    let a = &r.apply_vs_hashmap;
    let c = &r.codec;
    let d = &r.durability;
    let v = &r.driver;
    let rows = [
        (
            format!("wire size, batch of {} claims", w.ops),
            format!("{:.2} B/op", w.claim_bytes_per_op),
            format!("{} B", w.claim_batch_bytes),
        ),
        (
            format!("wire size, batch of {} extensions", w.ops),
            format!("{:.2} B/op", w.extend_bytes_per_op),
            format!("{} B, by place in the state", w.extend_batch_bytes),
        ),
        (
            format!("wire size, batch of {} extensions, named", w.ops),
            format!("{:.2} B/op", w.named_extend_bytes_per_op),
            format!("{} B, format version 1", w.named_extend_batch_bytes),
        ),
        (
            format!("Fsm::apply extend, {} leases", a.leases),
            format!("{:.1} ns/op", a.apply_ns_per_op),
            String::new(),
        ),
        (
            "HashMap<Key, u64, Fx> get_mut + update".to_owned(),
            format!("{:.1} ns/op", a.hashmap_ns_per_op),
            format!("apply is {:.2}x", a.ratio),
        ),
        (
            format!("encode, batch of {} extensions", c.ops),
            format!("{:.1} ns/op", c.encode_ns_per_op),
            format!("{} B", c.batch_bytes),
        ),
        (
            format!("decode, batch of {} extensions", c.ops),
            format!("{:.1} ns/op", c.decode_ns_per_op),
            String::new(),
        ),
        engine_row(&r.engine),
        engine_row(&r.engine_large),
        (
            "file log, fsync per operation".to_owned(),
            format!("{:.0} ops/s", d.per_op_ops_per_sec),
            format!("{} records", d.per_op_ops),
        ),
        (
            format!("file log, fsync per batch of {}", d.batch_ops),
            format!("{:.0} ops/s", d.batched_ops_per_sec),
            format!("{:.0}x per-operation fsync", d.ratio),
        ),
        (
            format!(
                "driver end to end, durable: {} threads × {} in flight, {} leases",
                v.threads, v.in_flight_per_thread, v.leases
            ),
            format!("{:.2} M req/s", v.requests_per_second / 1e6),
            format!(
                "p50 {:.2} ms, p99 {:.2} ms; {:.0} ops per fsynced batch",
                v.p50_ms, v.p99_ms, v.ops_per_batch
            ),
        ),
    ];
    let width = rows.iter().map(|(name, ..)| name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, value, note) in rows {
        let line = format!("{name:<width$}  {value:>12}  {note}");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if r.debug_build {
        out.push_str("(debug build: timings are not meaningful)\n");
    }
    out
}

fn engine_row(e: &EngineCost) -> (String, String, String) {
    (
        format!("engine end to end, {} leases", e.leases),
        format!("{:.1} ns/req", e.ns_per_request),
        format!(
            "{:.2} M req/s; {:.2}x HashMap ({:.1} ns)",
            e.requests_per_second / 1e6,
            e.ratio,
            e.hashmap_ns_per_op
        ),
    )
}
