//! The fault harness end to end: a 60 s run of `faults` (seed 1) against real
//! `leaseholdd` processes finds no violation, loses no acknowledged operation, and fires
//! every fault kind.

use serde_json::Value;
use std::process::Command;

/// Every fault kind the harness knows.
const KINDS: [&str; 11] = [
    "kill-leader",
    "kill-follower",
    "kill-two",
    "pause-leader",
    "partition-leader",
    "partition-follower",
    "partition-one-way",
    "clock-forward",
    "clock-backward",
    "disk-fail",
    "kill-all",
];

#[test]
fn a_sixty_second_fault_run_is_clean_and_fires_every_kind() {
    let out = Command::new(env!("CARGO_BIN_EXE_faults"))
        .args(["--seconds", "60", "--seed", "1", "--json"])
        .args(["--leaseholdd", env!("CARGO_BIN_EXE_leaseholdd")])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stdout:\n{stdout}\nstderr:\n{stderr}"));
    let pretty = serde_json::to_string_pretty(&report).unwrap();
    assert_eq!(report["violations"], 0, "{pretty}");
    assert_eq!(report["acknowledgedLost"], 0, "{pretty}");
    assert_eq!(
        report["kindsNeverFired"],
        Value::Array(Vec::new()),
        "{pretty}"
    );
    for kind in KINDS {
        assert!(
            report["faultsByKind"][kind].as_u64().unwrap_or(0) >= 1,
            "{kind} never fired: {pretty}"
        );
    }
    assert!(
        report["operationsChecked"]["acknowledged"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "{pretty}"
    );
    assert_eq!(out.status.code(), Some(0), "{pretty}\nstderr:\n{stderr}");
}
