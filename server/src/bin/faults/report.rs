//! The run's report: what was injected, what was checked, what went wrong.

use crate::schedule::KINDS;
use leasehold::{Op, Outcome};
use leasehold_server::check;
use leasehold_server::history::{History, LoggedBatch};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Everything the report says.
#[derive(Debug, Default)]
pub struct Report {
    /// The seed.
    pub seed: u64,
    /// How long the faults ran, in s.
    pub seconds: f64,
    /// Fault hooks the nodes lacked (their kinds could not fire).
    pub missing_hooks: Vec<String>,
    /// Faults injected, by kind.
    pub faults: BTreeMap<String, usize>,
    /// Kinds that never fired.
    pub never_fired: Vec<String>,
    /// Requests sent.
    pub requests: usize,
    /// Reads sent.
    pub reads: usize,
    /// Beliefs recorded.
    pub beliefs: usize,
    /// What the checker checked.
    pub checked: check::Counts,
    /// Batch entries read from the log.
    pub log_entries: usize,
    /// The first index the log held.
    pub first_index: u64,
    /// The leader's commit index at the end.
    pub commit_index: u64,
    /// How many violations the checker found.
    pub violations: usize,
    /// Violations by kind.
    pub violation_kinds: BTreeMap<String, usize>,
    /// The checker's output.
    pub checker_output: String,
    /// The longest time without a leader a majority agreed on, in ms.
    pub longest_without_leader_ms: u64,
    /// Renewals answered other than ok, by answer.
    pub failed_renewals: BTreeMap<String, usize>,
    /// Of them, those sent during a fault or within 3 s after it.
    pub failed_renewals_in_faults: usize,
    /// Renewals sent.
    pub renewals: usize,
    /// Requests by answer.
    pub answers: BTreeMap<String, usize>,
    /// Requests answered neither ok nor by the lease state (shed, aborted, deadline
    /// exceeded, rejected, a client error), one line each with the fault around it.
    pub unusual: Vec<String>,
    /// The faults, one line each.
    pub fault_lines: Vec<String>,
    /// Problems of the harness or the server that are not violations.
    pub problems: Vec<String>,
}

fn answer(outcome: &Result<Outcome, String>) -> String {
    match outcome {
        Ok(o) => o.name().to_owned(),
        Err(e) => format!("error: {}", e.split(':').next().unwrap_or(e)),
    }
}

impl Report {
    /// Fills in what the history and the log say.
    pub fn tally(
        &mut self,
        history: &History,
        first_index: u64,
        log: &[LoggedBatch],
        checked: &check::Report,
    ) {
        self.violations = checked.violations.len();
        for v in &checked.violations {
            *self.violation_kinds.entry(v.kind.to_string()).or_default() += 1;
        }
        self.checker_output = checked.to_string();
        let converted = checked
            .violations
            .iter()
            .filter(|v| {
                v.kind == check::ViolationKind::WrongResult
                    && v.message.contains("(claim ")
                    && v.message.contains("found at a different operation")
                    && v.context.iter().any(|c| c.contains(": extend "))
            })
            .count();
        if converted > 0 {
            self.problems.push(format!(
                "{converted} of the wrong-result violations are claims by the lease's current holder, \
                 which the engine logs as extensions (leasehold::Engine's prepare); the checker's \
                 same_op expects the claim itself"
            ));
        }
        self.checked = checked.checked;
        self.log_entries = log.len();
        for f in &history.faults {
            *self.faults.entry(f.kind.clone()).or_default() += 1;
            self.fault_lines.push(format!(
                "{:>7.1}s..{:>7.1}s {:<18} {}",
                f.start_us as f64 / 1e6,
                f.end_us.unwrap_or(f.start_us) as f64 / 1e6,
                f.kind,
                f.detail
            ));
        }
        self.never_fired = KINDS
            .iter()
            .map(|k| k.name().to_owned())
            .filter(|k| !self.faults.contains_key(k))
            .collect();
        self.requests = history.requests.len();
        self.reads = history.reads.len();
        self.beliefs = history.beliefs.len();
        self.first_index = first_index;
        let mut seen: BTreeMap<(u64, u64), Vec<u64>> = BTreeMap::new();
        for b in log.iter().filter(|b| !b.entry.is_fence()) {
            if let Ok(batch) = leasehold::Batch::decode(&b.entry.batch) {
                seen.entry((b.entry.epoch, batch.seq))
                    .or_default()
                    .push(b.index);
            }
        }
        let shared: Vec<String> = seen
            .iter()
            .filter(|(_, at)| at.len() > 1)
            .map(|((epoch, seq), at)| format!("epoch {epoch} seq {seq} at log {at:?}"))
            .collect();
        if !shared.is_empty() {
            self.problems.push(format!(
                "{} batch numbers appear more than once in the committed log (the outcome table \
                 is keyed by them): {}",
                shared.len(),
                shared
                    .iter()
                    .take(10)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        for r in &history.requests {
            *self.answers.entry(answer(&r.outcome)).or_default() += 1;
            if !matches!(r.outcome, Ok(Outcome::Applied(_))) {
                let near: Vec<&str> = history
                    .faults
                    .iter()
                    .filter(|f| {
                        r.sent_us <= f.end_us.unwrap_or(u64::MAX).saturating_add(3_000_000)
                            && r.received_us >= f.start_us
                    })
                    .map(|f| f.kind.as_str())
                    .collect();
                self.unusual.push(format!(
                    "{:.3}s..{:.3}s {} {}: {} (faults: {})",
                    r.sent_us as f64 / 1e6,
                    r.received_us as f64 / 1e6,
                    r.op.kind(),
                    r.op.key().map(ToString::to_string).unwrap_or_default(),
                    answer(&r.outcome),
                    if near.is_empty() {
                        "none".to_owned()
                    } else {
                        near.join(", ")
                    }
                ));
            }
            if matches!(r.op, Op::Extend { .. }) {
                self.renewals += 1;
                if !matches!(r.outcome, Ok(Outcome::Applied(Ok(_)))) {
                    *self.failed_renewals.entry(answer(&r.outcome)).or_default() += 1;
                    let in_fault = history.faults.iter().any(|f| {
                        r.sent_us <= f.end_us.unwrap_or(u64::MAX).saturating_add(3_000_000)
                            && r.received_us >= f.start_us
                    });
                    if in_fault {
                        self.failed_renewals_in_faults += 1;
                    }
                }
            }
        }
    }

    /// The report as JSON.
    pub fn json(&self) -> Value {
        json!({
            "seed": self.seed,
            "seconds": self.seconds,
            "missingHooks": self.missing_hooks,
            "faultsByKind": self.faults,
            "kindsNeverFired": self.never_fired,
            "faults": self.fault_lines,
            "recorded": {
                "requests": self.requests,
                "reads": self.reads,
                "beliefs": self.beliefs,
            },
            "operationsChecked": {
                "requests": self.checked.requests,
                "unchecked": self.checked.unchecked,
                "acknowledged": self.checked.acknowledged,
                "reads": self.checked.reads,
                "beliefs": self.checked.beliefs,
                "logEntries": self.checked.entries,
                "batchesApplied": self.checked.batches_applied,
                "batchesIgnored": self.checked.batches_ignored,
                "ops": self.checked.ops,
                "firstIndex": self.first_index,
                "commitIndex": self.commit_index,
            },
            "answers": self.answers,
            "violations": self.violations,
            "violationsByKind": self.violation_kinds,
            "checkerOutput": self.checker_output,
            "acknowledgedLost": self.checked.lost,
            "longestWithoutLeaderMs": self.longest_without_leader_ms,
            "renewals": self.renewals,
            "failedRenewals": self.failed_renewals,
            "failedRenewalsDuringFaults": self.failed_renewals_in_faults,
            "unusualAnswers": self.unusual,
            "problems": self.problems,
            "pass": self.pass(),
        })
    }

    /// Whether the run passed: no violations, no lost acknowledgement, every kind fired.
    pub fn pass(&self) -> bool {
        self.violations == 0 && self.checked.lost == 0 && self.never_fired.is_empty()
    }

    /// The report as text.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "fault run: seed {}, {:.1} s of faults",
            self.seed, self.seconds
        );
        if !self.missing_hooks.is_empty() {
            let _ = writeln!(s, "leaseholdd lacks: {}", self.missing_hooks.join(", "));
        }
        let total: usize = self.faults.values().sum();
        let _ = writeln!(s, "faults injected: {total}");
        for (kind, n) in &self.faults {
            let _ = writeln!(s, "  {kind:<18} {n}");
        }
        let never = if self.never_fired.is_empty() {
            "none".to_owned()
        } else {
            self.never_fired.join(", ")
        };
        let _ = writeln!(s, "kinds never fired: {never}");
        for line in &self.fault_lines {
            let _ = writeln!(s, "  {line}");
        }
        let c = &self.checked;
        let _ = writeln!(
            s,
            "recorded: {} requests, {} reads, {} leadership beliefs; log indices {}..={} ({} batch entries)",
            self.requests,
            self.reads,
            self.beliefs,
            self.first_index,
            self.commit_index,
            self.log_entries
        );
        let _ = writeln!(
            s,
            "operations checked: {} requests ({} unchecked), {} acknowledged, {} reads, {} beliefs, {} ops in {} applied batches",
            c.requests, c.unchecked, c.acknowledged, c.reads, c.beliefs, c.ops, c.batches_applied
        );
        let answers: Vec<String> = self
            .answers
            .iter()
            .map(|(a, n)| format!("{a} {n}"))
            .collect();
        let _ = writeln!(s, "answers: {}", answers.join(", "));
        let _ = writeln!(s, "violations: {}", self.violations);
        // Every violation's line; the records around it for the first few only.
        let mut shown = 0;
        let mut hidden = 0;
        for line in self.checker_output.lines() {
            if line.starts_with('[') {
                shown += 1;
            }
            if shown <= 8 || !line.starts_with(' ') {
                let _ = writeln!(s, "  {line}");
            } else {
                hidden += 1;
            }
        }
        if hidden > 0 {
            let _ = writeln!(
                s,
                "  ({hidden} lines of context left out; --json has them all)"
            );
        }
        let _ = writeln!(s, "acknowledged operations lost: {}", c.lost);
        let _ = writeln!(
            s,
            "longest time without a leader: {} ms",
            self.longest_without_leader_ms
        );
        let failed: usize = self.failed_renewals.values().sum();
        let by: Vec<String> = self
            .failed_renewals
            .iter()
            .map(|(a, n)| format!("{a} {n}"))
            .collect();
        let _ = writeln!(
            s,
            "renewals failed: {failed} of {} ({} during or within 3 s of a fault){}{}",
            self.renewals,
            self.failed_renewals_in_faults,
            if by.is_empty() { "" } else { ": " },
            by.join(", ")
        );
        for p in &self.problems {
            let _ = writeln!(s, "problem: {p}");
        }
        let _ = writeln!(s, "result: {}", if self.pass() { "PASS" } else { "FAIL" });
        s
    }
}
