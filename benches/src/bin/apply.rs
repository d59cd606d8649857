//! `apply`: the state machine's apply benchmark on its own, to compare native code with
//! the same code compiled to WebAssembly (`wasm32-wasip1`, run by Node's WASI; see
//! `scripts/bench-wasm.sh`). Prints one JSON object.
//!
//! ```text
//! apply [LEASES]        (default 1000000)
//! ```

use leasehold_benches::figures::{ApplySetup, Plan};
use std::process::ExitCode;

fn main() -> ExitCode {
    let leases = match std::env::args().nth(1).map(|a| a.parse::<usize>()) {
        None => 1_000_000,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("apply: the argument is a number of leases (at least 1)");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("apply: building {leases} leases…");
    let mut setup = ApplySetup::build(leases);
    eprintln!("apply: measuring…");
    let f = setup.measure(Plan::DEFAULT);
    match serde_json::to_string(&f) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("apply: {e}");
            ExitCode::FAILURE
        }
    }
}
