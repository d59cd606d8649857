//! `loadtest`: runs simulator scenarios, batched and one entry per operation, and prints
//! what happened as a table for people or, with `--json`, one JSON object per scenario
//! and mode (one per line).
//!
//! ```text
//! cargo run --release -p leasehold-benches --bin loadtest -- --scenario NAME \
//!     [--mode batched|per-op|both] [--seconds N] [--seed N] [--json] [--set NAME=VALUE]...
//! ```
//!
//! `NAME` is a scenario (`ps45`, `claimer-abuse`, `staged-overload`, `restart-herd`,
//! `series-upgrade`, `fencing-race`, `million`), a comma-separated list, or `all`.
//! Progress goes to stderr on runs longer than a few seconds. The exit status is 1 when
//! any run broke an invariant.
//!
//! Besides the simulator's totals each run reports `speed` (simulated seconds per wall
//! second over the whole run, building the holders included), `steady_speed` (the same
//! over the run's second half), `peak_rss_bytes` (the process's peak resident memory so
//! far; unavailable off Linux) and `state_bytes_per_lease` (the lease state machine's
//! heap bytes per held lease, from a counting allocator).

use clap::Parser;
use leasehold::sim::{Mode, SCENARIOS, Scenario, Simulation, Stats};
use serde::Serialize;
use std::alloc::{GlobalAlloc, Layout};
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

// The allocator under `Counting`: mimalloc natively (the simulator of `million` allocates
// and frees tens of megabytes per batch; the system allocator hands them back to the
// kernel and faults them in again). mimalloc is C code and a native-only dependency, so a
// wasm32 build keeps Rust's own allocator.
#[cfg(not(target_arch = "wasm32"))]
use mimalloc::MiMalloc as Inner;
#[cfg(target_arch = "wasm32")]
use std::alloc::System as Inner;

/// Counts live heap bytes, to measure the lease state's memory, over `Inner`.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to `Inner` and only counts sizes.
#[allow(unsafe_code)] // a global allocator is an unsafe trait
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract.
        unsafe { Inner.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: the caller upholds `dealloc`'s contract.
        unsafe { Inner.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Relaxed);
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: the caller upholds `realloc`'s contract.
        unsafe { Inner.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs leasehold's simulator scenarios and reports what broke.
#[derive(Debug, Parser)]
#[command(name = "loadtest", version)]
struct Args {
    /// The scenario: a name, a comma-separated list, or `all`.
    #[arg(long)]
    scenario: String,
    /// Batched, one entry per operation, or both.
    #[arg(long, default_value = "batched", value_parser = ["batched", "per-op", "both"])]
    mode: String,
    /// Simulated seconds (default: the scenario's own length).
    #[arg(long)]
    seconds: Option<u64>,
    /// The PRNG seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object per scenario and mode instead of a table.
    #[arg(long)]
    json: bool,
    /// Override a scenario parameter, e.g. `--set leases=1000`.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
}

/// One run's results: the simulator's totals plus what only a process can measure.
#[derive(Debug, Serialize)]
struct Row {
    #[serde(flatten)]
    stats: Stats,
    wall_seconds: f64,
    /// Peak resident memory of the whole process so far (Linux `VmHWM`), bytes; `null`
    /// where the system does not say (the table prints `unavailable`).
    peak_rss_bytes: Option<u64>,
    /// Heap bytes of the lease state machine per held lease (when at least half the
    /// scenario's leases are held at the end, so the figure is not skewed by capacity
    /// left over from a peak).
    state_bytes_per_lease: Option<f64>,
    /// Simulated seconds per wall-clock second, over the whole run (setup included).
    speed: f64,
    /// Simulated seconds per wall-clock second over the second half of the run (the
    /// steady state, after every holder joined).
    steady_speed: f64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadtest: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let names: Vec<&str> = if args.scenario == "all" {
        SCENARIOS.to_vec()
    } else {
        args.scenario.split(',').map(str::trim).collect()
    };
    let modes: &[Mode] = match args.mode.as_str() {
        "batched" => &[Mode::Batched],
        "per-op" => &[Mode::PerOp],
        _ => &[Mode::Batched, Mode::PerOp],
    };
    let mut rows = Vec::new();
    for name in names {
        for &mode in modes {
            let row = run_one(name, mode, args)?;
            if args.json {
                let line = serde_json::to_string(&row).map_err(|e| e.to_string())?;
                println!("{line}");
            }
            rows.push(row);
        }
    }
    if !args.json {
        print_table(&rows);
    }
    let broken: Vec<&str> = rows
        .iter()
        .filter(|r| r.stats.invariant_violations > 0)
        .map(|r| r.stats.scenario.as_str())
        .collect();
    if broken.is_empty() {
        Ok(())
    } else {
        Err(format!("invariants broken in {}", broken.join(", ")))
    }
}

fn run_one(name: &str, mode: Mode, args: &Args) -> Result<Row, String> {
    let preset = Scenario::named(name).ok_or_else(|| {
        format!(
            "unknown scenario `{name}` (known: {})",
            SCENARIOS.join(", ")
        )
    })?;
    let mut params = preset.params.clone();
    params.mode = mode;
    params.seed = args.seed;
    if let Some(s) = args.seconds {
        params.seconds = s;
    }
    for kv in &args.set {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("--set {kv}: expected NAME=VALUE"))?;
        params.set(k.trim(), v.trim()).map_err(|e| e.to_string())?;
    }
    let seconds = params.seconds;
    eprintln!(
        "{name} ({}): building {} holders…",
        mode.name(),
        (params.leases + params.singular) * params.units
    );
    let started = Instant::now();
    let mut sim = Simulation::new(name, params).map_err(|e| e.to_string())?;
    let mut last_report = Instant::now();
    let mut half = (started, 0.0);
    for s in 0..seconds {
        if s == seconds / 2 {
            half = (Instant::now(), sim.stats().sim_seconds);
        }
        sim.run_for(1_000);
        if sim.violation().is_some() {
            break;
        }
        if last_report.elapsed().as_secs_f64() >= 2.0 {
            let st = sim.stats();
            eprintln!(
                "{name} ({}): {}/{seconds} s simulated, {:.1} s wall, {} requests, {} log entries, {} leader changes",
                mode.name(),
                s + 1,
                started.elapsed().as_secs_f64(),
                st.requests,
                st.log_entries,
                st.leader_changes
            );
            last_report = Instant::now();
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let stats = sim.stats();
    let half_wall = half.0.elapsed().as_secs_f64();
    let steady_speed = if half_wall > 0.0 {
        (stats.sim_seconds - half.1) / half_wall
    } else {
        0.0
    };
    let state_bytes_per_lease = state_bytes_per_lease(&sim);
    Ok(Row {
        speed: if wall > 0.0 {
            stats.sim_seconds / wall
        } else {
            0.0
        },
        steady_speed,
        stats,
        wall_seconds: wall,
        peak_rss_bytes: peak_rss_bytes(),
        state_bytes_per_lease,
    })
}

/// The heap bytes of a copy of the state machine, per held lease.
fn state_bytes_per_lease(sim: &Simulation) -> Option<f64> {
    let held = sim.engine().fsm().len();
    if held == 0 || held < sim.lease_count() / 2 {
        return None;
    }
    let before = LIVE.load(Relaxed);
    let copy = sim.engine().fsm().clone();
    let bytes = LIVE.load(Relaxed).saturating_sub(before);
    drop(copy);
    Some(bytes as f64 / held as f64)
}

/// The process's peak resident set (`VmHWM` in `/proc/self/status`), where the system
/// has one (Linux).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kb * 1024)
}

fn print_table(rows: &[Row]) {
    let mut out = String::new();
    let header = [
        "scenario",
        "mode",
        "leases",
        "sim s",
        "wall s",
        "entries/s",
        "B/op",
        "ext ok %",
        "shed",
        "deadline",
        "singular ok",
        "leader chg",
        "spurious",
        "p50 ms",
        "p99 ms",
        "violations",
        "speed",
        "steady",
        "peak RSS",
        "state B/lease",
    ];
    let mut table: Vec<Vec<String>> = vec![header.iter().map(|s| (*s).to_owned()).collect()];
    for r in rows {
        let s = &r.stats;
        table.push(vec![
            s.scenario.clone(),
            s.mode.clone(),
            s.leases.to_string(),
            format!("{:.0}", s.sim_seconds),
            format!("{:.1}", r.wall_seconds),
            format!("{:.1}", s.entries_per_second),
            format!("{:.1}", s.bytes_per_op),
            format!("{:.3}", s.extend_success() * 100.0),
            s.claims_shed.to_string(),
            s.deadline_exceeded.to_string(),
            format!("{}/{}", s.singular_ok, s.singular_ok + s.singular_failed),
            s.leader_changes.to_string(),
            s.spurious_leader_changes.to_string(),
            s.p50_latency_ms.to_string(),
            s.p99_latency_ms.to_string(),
            s.invariant_violations.to_string(),
            format!("{:.2}x", r.speed),
            format!("{:.2}x", r.steady_speed),
            r.peak_rss_bytes.map_or_else(
                || "unavailable".to_owned(),
                |b| format!("{:.2} GB", b as f64 / 1e9),
            ),
            r.state_bytes_per_lease
                .map_or_else(|| "-".to_owned(), |b| format!("{b:.1}")),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| table.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    for row in &table {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:>w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    for r in rows {
        if let Some(v) = &r.stats.violation {
            out.push_str(&format!(
                "{} ({}): INVARIANT BROKEN: {v}\n",
                r.stats.scenario, r.stats.mode
            ));
        }
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
}
