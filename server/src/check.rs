//! The checker of a fault run (the Jepsen method): a recorded [`History`] judged against
//! the committed log it ran against.
//!
//! The log is replayed in order under the epoch fence ([`Fence`]) on a fresh
//! [`leasehold::Fsm`]; every applied operation keeps its log time, its result and its
//! events. Then:
//!
//! 1. **Lease safety from the log**, by a small model of its own fed only with the
//!    events (`model`): never two holders of one lease at once, no expiry before the
//!    holder's expiry (or while pinned), fencing tokens only grow per lease.
//! 2. **Answers against the log**, by the names requests were sent under: an applied
//!    answer is found (its last name) in an applied batch with the same result; an answer
//!    that says it did not apply is not found; no earlier name is ever found applied; no
//!    name is found applied twice or in two records. An acknowledged operation not found
//!    is **lost**.
//! 3. **Beliefs**: no two holders believe they lead one lease at the same wall time; each
//!    belief's token was granted to that holder for that lease.
//! 4. **Linearizable reads**: a read never shows a lease older than an answer received
//!    before the read was sent.
//!
//! When the log is incomplete (`first_index > 0`: entries before it were purged behind a
//! snapshot) the replay starts from an empty state, so its tokens and results are not
//! the service's: only presence is checked then, for requests sent after the log's
//! first entry (earlier ones are counted as unchecked), and reads only against tokens.
//! Reads are taken to be of every lease (unfiltered).

mod model;
mod observe;
mod report;
#[cfg(test)]
mod tests;
mod text;

pub use report::{Counts, Report, Violation, ViolationKind};

use crate::fence::Fence;
use crate::history::{History, LoggedBatch};
use crate::types::{OpError, OpResult, Response, Tag};
use leasehold::{Batch, Event, Fsm, LeaseError, Op, Outcome, Time};
use model::{Model, OpRef};
use std::collections::HashMap;
use text::{name_text, outcome_text};

/// One applied operation of the replay.
#[derive(Debug, Clone)]
struct AppliedOp {
    op: Op,
    /// The log time it applied at.
    time: Time,
    result: OpResult,
    events: Vec<Event>,
}

/// What became of one log entry in the replay.
#[derive(Debug, Clone)]
enum Fate {
    Fence(u64),
    Applied(Vec<AppliedOp>),
    Ignored(Vec<Op>),
    Undecodable(String),
}

/// One replayed log entry.
#[derive(Debug, Clone)]
struct Replayed {
    index: u64,
    epoch: u64,
    seq: Option<u64>,
    tags: Vec<Tag>,
    fate: Fate,
}

/// Where a name was found: the position of its entry in the replay and its tag.
#[derive(Debug, Clone, Copy)]
struct Found {
    entry: usize,
    tag: usize,
}

/// The checker's working state.
struct Checker<'a> {
    history: &'a History,
    complete: bool,
    log: Vec<Replayed>,
    model: Model,
    /// Every name in the log, where it was found (applied and ignored batches).
    names: HashMap<(u64, u64), Vec<Found>>,
    report: Report,
}

/// Checks `history` against `log`, the committed batch entries from Raft index
/// `first_index` on (0: the complete log).
#[must_use]
pub fn check(history: &History, first_index: u64, log: &[LoggedBatch]) -> Report {
    let mut checker = Checker {
        history,
        complete: first_index == 0,
        log: Vec::with_capacity(log.len()),
        model: Model::default(),
        names: HashMap::new(),
        report: Report::default(),
    };
    checker.replay(log);
    checker.requests();
    checker.beliefs();
    checker.reads();
    checker.report
}

impl Checker<'_> {
    fn violation(&mut self, kind: ViolationKind, message: String, context: Vec<String>) {
        self.report.violations.push(Violation {
            kind,
            message,
            context,
        });
    }

    // ---- the replay ----------------------------------------------------------------

    fn replay(&mut self, log: &[LoggedBatch]) {
        let (mut fence, mut fsm, mut shadow) = (Fence::default(), Fsm::new(), Fsm::new());
        let mut fenced = 0u64;
        for logged in log {
            let entry = &logged.entry;
            let pos = self.log.len();
            self.report.checked.entries += 1;
            let (response, committed) = fence.apply(&mut fsm, entry);
            let decoded = Batch::decode(&entry.batch).ok();
            let fate = match (response, committed) {
                (Response::Fenced(_), _) => {
                    self.report.checked.fences += 1;
                    fenced = fenced.max(entry.epoch);
                    Fate::Fence(entry.epoch)
                }
                (Response::Undecodable(why), _) => {
                    self.report.checked.batches_undecodable += 1;
                    Fate::Undecodable(why)
                }
                (Response::Applied(_), Some(committed)) => {
                    self.report.checked.batches_applied += 1;
                    if entry.epoch < fenced {
                        self.violation(
                            ViolationKind::ReplayDiverged,
                            format!(
                                "log index {}: a batch of epoch {} applied after the fence of \
                                 epoch {fenced}",
                                logged.index, entry.epoch
                            ),
                            Vec::new(),
                        );
                    }
                    let mut ops = Vec::with_capacity(committed.batch.ops.len());
                    let mut events = Vec::new();
                    for op in &committed.batch.ops {
                        let (result, evs) = match shadow.apply(op) {
                            Ok(applied) => (Ok(applied.token), applied.events),
                            Err(e) => (Err(OpError::from(&e)), Vec::new()),
                        };
                        events.extend(evs.iter().cloned());
                        ops.push(AppliedOp {
                            op: op.clone(),
                            time: shadow.global_time(),
                            result,
                            events: evs,
                        });
                    }
                    let results: Vec<OpResult> = ops.iter().map(|o| o.result.clone()).collect();
                    if results != committed.results || events != committed.events {
                        self.violation(
                            ViolationKind::ReplayDiverged,
                            format!(
                                "log index {}: applying the batch twice gave different results \
                                 or events",
                                logged.index
                            ),
                            Vec::new(),
                        );
                    }
                    Fate::Applied(ops)
                }
                (Response::Ignored, _) => {
                    self.report.checked.batches_ignored += 1;
                    if entry.epoch >= fenced {
                        self.violation(
                            ViolationKind::ReplayDiverged,
                            format!(
                                "log index {}: a batch of epoch {} ignored though the highest \
                                 fence is {fenced}",
                                logged.index, entry.epoch
                            ),
                            Vec::new(),
                        );
                    }
                    Fate::Ignored(decoded.as_ref().map(|b| b.ops.clone()).unwrap_or_default())
                }
                (other, _) => Fate::Undecodable(format!("unexpected response {other:?}")),
            };
            for (i, tag) in entry.tags.iter().enumerate() {
                self.names
                    .entry((tag.client, tag.request))
                    .or_default()
                    .push(Found { entry: pos, tag: i });
            }
            self.log.push(Replayed {
                index: logged.index,
                epoch: entry.epoch,
                seq: decoded.map(|b| b.seq),
                tags: entry.tags.clone(),
                fate,
            });
            self.model_entry(pos);
        }
    }

    /// Feeds the events of entry `pos` to the model.
    fn model_entry(&mut self, pos: usize) {
        let Fate::Applied(ops) = &self.log[pos].fate else {
            return;
        };
        let mut problems = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            self.report.checked.ops += 1;
            for event in &op.events {
                self.report.checked.events += 1;
                for p in self.model.event(op.time, (pos, i), event) {
                    problems.push((p, (pos, i)));
                }
            }
        }
        for (p, at) in problems {
            let mut context = Vec::new();
            if let Some(prior) = p.prior {
                context.push(self.op_line(prior));
            }
            context.push(self.op_line(at));
            self.violation(p.kind, p.message, context);
        }
    }

    // ---- answers against the log --------------------------------------------------

    fn requests(&mut self) {
        let history = self.history;
        // Names unique across records.
        let mut owner: HashMap<(u64, u64), usize> = HashMap::new();
        for (i, r) in history.requests.iter().enumerate() {
            for name in &r.names {
                if let Some(&j) = owner.get(name) {
                    if j != i {
                        let context = vec![self.request_line(j), self.request_line(i)];
                        self.violation(
                            ViolationKind::DuplicateRecord,
                            format!(
                                "name {} belongs to requests #{j} and #{i}",
                                name_text(*name)
                            ),
                            context,
                        );
                    }
                } else {
                    owner.insert(*name, i);
                }
            }
        }
        // No name applies twice, whoever sent it.
        let mut names: Vec<(&(u64, u64), &Vec<Found>)> = self.names.iter().collect();
        names.sort_by_key(|(name, _)| **name);
        let mut twice = Vec::new();
        for (name, finds) in names {
            let applied: Vec<Found> = finds
                .iter()
                .copied()
                .filter(|f| matches!(self.log[f.entry].fate, Fate::Applied(_)))
                .collect();
            if applied.len() > 1 {
                let mut context: Vec<String> = owner
                    .get(name)
                    .map(|&i| self.request_line(i))
                    .into_iter()
                    .collect();
                context.extend(applied.iter().map(|f| self.tag_line(*f)));
                twice.push((
                    format!(
                        "name {} found in {} applied places",
                        name_text(*name),
                        applied.len()
                    ),
                    context,
                ));
            }
        }
        for (message, context) in twice {
            self.violation(ViolationKind::NameTwice, message, context);
        }
        // The log's first entry, in wall time: every request found in it was received
        // after it was committed, so a request sent after the earliest of those answers
        // cannot sit in the purged part of the log.
        let horizon = if self.complete {
            0
        } else {
            history
                .requests
                .iter()
                .filter(|r| matches!(r.outcome, Ok(Outcome::Applied(_))))
                .filter(|r| {
                    r.names
                        .iter()
                        .any(|n| self.applied_finds(*n).next().is_some())
                })
                .map(|r| r.received_us)
                .min()
                .unwrap_or(u64::MAX)
        };
        for i in 0..history.requests.len() {
            self.request(i, horizon);
        }
    }

    /// Where `name` was found in applied batches.
    fn applied_finds(&self, name: (u64, u64)) -> impl Iterator<Item = Found> + '_ {
        self.names
            .get(&name)
            .into_iter()
            .flatten()
            .copied()
            .filter(|f| matches!(self.log[f.entry].fate, Fate::Applied(_)))
    }

    /// The outcome the log gives a tag found in an applied batch, and its operation.
    fn found_outcome(&self, found: Found) -> Option<(OpRef, Outcome)> {
        let r = &self.log[found.entry];
        let tag = r.tags.get(found.tag)?;
        let Fate::Applied(ops) = &r.fate else {
            return None;
        };
        let i = tag.op as usize;
        let applied = ops.get(i)?;
        let outcome = match &tag.rival {
            Some(rival) => crate::resolve::rival_outcome(&applied.op, &applied.result, rival),
            None => Outcome::Applied(
                applied
                    .result
                    .as_ref()
                    .map(|t| *t)
                    .map_err(OpError::to_lease_error),
            ),
        };
        Some(((found.entry, i), outcome))
    }

    fn request(&mut self, i: usize, horizon: u64) {
        let r = &self.history.requests[i];
        let last = r.names.last().copied();
        // Earlier names never apply; no name applies twice.
        for (n, name) in r.names.iter().enumerate() {
            let finds: Vec<Found> = self.applied_finds(*name).collect();
            let is_last = n + 1 == r.names.len();
            if !is_last && !finds.is_empty() {
                let mut context = vec![self.request_line(i)];
                context.extend(finds.iter().map(|f| self.tag_line(*f)));
                self.violation(
                    ViolationKind::StaleName,
                    format!(
                        "request #{i}: name {} (not its last) found applied",
                        name_text(*name)
                    ),
                    context,
                );
            }
        }
        let found: Option<Found> = last.and_then(|n| self.applied_finds(n).next());
        let unknown = match &r.outcome {
            Err(e) => {
                let e = e.to_ascii_lowercase();
                e.contains("unresolved") || e.contains("fate is unknown")
            }
            Ok(_) => false,
        };
        if unknown {
            if found.is_some() {
                self.report.checked.unresolved_applied += 1;
            } else {
                self.report.checked.unresolved_not_applied += 1;
            }
            self.report.checked.requests += 1;
            return;
        }
        let applied_answer = matches!(r.outcome, Ok(Outcome::Applied(_)));
        match (applied_answer, found) {
            (true, Some(f)) => {
                self.report.checked.requests += 1;
                self.report.checked.acknowledged += 1;
                if !self.complete {
                    return; // The replay's tokens and results are not the service's.
                }
                let Some((at, expected)) = self.found_outcome(f) else {
                    return;
                };
                let same_op = self.same_op(&r.op, at, f);
                let answer = r.outcome.as_ref().ok();
                if !same_op || !answer.is_some_and(|a| same_outcome(a, &expected)) {
                    let context = vec![self.request_line(i), self.tag_line(f)];
                    let message = if same_op {
                        format!(
                            "request #{i} answered {} but the log gives {}",
                            outcome_text(&r.outcome),
                            outcome_text(&Ok(expected))
                        )
                    } else {
                        format!("request #{i} ({}) found at a different operation", r.op)
                    };
                    self.violation(ViolationKind::WrongResult, message, context);
                }
            }
            (true, None) => {
                if r.sent_us < horizon {
                    self.report.checked.unchecked += 1;
                    return;
                }
                self.report.checked.requests += 1;
                self.report.checked.acknowledged += 1;
                self.report.checked.lost += 1;
                let mut context = vec![self.request_line(i)];
                for name in &r.names {
                    for f in self.names.get(name).into_iter().flatten() {
                        context.push(self.tag_line(*f));
                    }
                }
                self.violation(
                    ViolationKind::Lost,
                    format!(
                        "request #{i} answered {} but its last name {} is in no applied \
                         batch",
                        outcome_text(&r.outcome),
                        last.map_or_else(|| "(none)".to_owned(), name_text)
                    ),
                    context,
                );
            }
            (false, Some(f)) => {
                self.report.checked.requests += 1;
                let context = vec![self.request_line(i), self.tag_line(f)];
                self.violation(
                    ViolationKind::FoundButNotApplied,
                    format!(
                        "request #{i} answered {} but was applied",
                        outcome_text(&r.outcome)
                    ),
                    context,
                );
            }
            (false, None) => {
                if r.sent_us < horizon {
                    self.report.checked.unchecked += 1;
                } else {
                    self.report.checked.requests += 1;
                }
            }
        }
    }

    /// Whether the log's operation `at` is the request's `op` (same kind and lease; a
    /// rival's is the other holder's claim of the same lease).
    fn same_op(&self, op: &Op, at: OpRef, found: Found) -> bool {
        let Fate::Applied(ops) = &self.log[at.0].fate else {
            return false;
        };
        let Some(logged) = ops.get(at.1) else {
            return false;
        };
        let rival = self.log[found.entry]
            .tags
            .get(found.tag)
            .is_some_and(|t| t.rival.is_some());
        op.key() == logged.op.key()
            && (rival || op.kind() == logged.op.kind() || renewal(op, &logged.op))
    }
}

/// Whether `logged` is the extension the engine writes for `op`, a claim by the lease's
/// current holder (the engine renews rather than refuse it).
fn renewal(op: &Op, logged: &Op) -> bool {
    matches!(
        (op, logged),
        (Op::Claim { holder: a, duration: d, .. }, Op::Extend { holder: b, duration: e, .. })
            if a == b && d == e
    )
}

/// Whether an answer says what the log says (field errors by field only: the wire keeps
/// no problem text).
fn same_outcome(answer: &Outcome, log: &Outcome) -> bool {
    match (answer, log) {
        (Outcome::Applied(Ok(a)), Outcome::Applied(Ok(b))) => a == b,
        (Outcome::Applied(Err(a)), Outcome::Applied(Err(b))) => match (a, b) {
            (LeaseError::Held { holder: a }, LeaseError::Held { holder: b }) => a == b,
            (LeaseError::NotValid(a), LeaseError::NotValid(b)) => a.field == b.field,
            (a, b) => a == b,
        },
        _ => false,
    }
}
