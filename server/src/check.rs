//! The checker of a fault run (the Jepsen method): a recorded [`History`] judged against
//! the committed log it ran against.
//!
//! The log is replayed in order under the epoch fence ([`Fence`]) on a fresh
//! [`leasehold::Fsm`]; every applied operation keeps its log time, its result and its
//! events. Then:
//!
//! 1. **Lease safety from the log**, by a small model of its own fed only with the
//!    events ([`model`]): never two holders of one lease at once, no expiry before the
//!    holder's expiry (or while pinned), fencing tokens only grow per lease.
//! 2. **Answers against the log**, by the names requests were sent under: an applied
//!    answer is found (its last name) in an applied batch with the same result; an answer
//!    that says it did not apply is not found; no earlier name is ever found applied; no
//!    name is found applied twice or in two records. An acknowledged operation not found is **lost**.
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
#[cfg(test)]
mod tests;

use crate::fence::Fence;
use crate::history::{Belief, History, LoggedBatch, ReadRecord, RequestRecord};
use crate::types::{OpError, OpResult, Response, Tag};
use leasehold::{Batch, Event, Fsm, Key, LeaseError, Op, Outcome, Time};
use model::{Model, OpRef};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

/// What the checker found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Every violation, in the order found.
    pub violations: Vec<Violation>,
    /// How much was checked.
    pub checked: Counts,
}

/// How much of the history and the log the checker looked at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests checked against the log.
    pub requests: usize,
    /// Requests that could not be checked: sent before the log's first entry.
    pub unchecked: usize,
    /// Acknowledged operations (answered `Applied`) checked.
    pub acknowledged: usize,
    /// Acknowledged operations lost: answered `Applied` but not found in the log.
    pub lost: usize,
    /// Requests whose fate the client never learnt (unresolved), found applied.
    pub unresolved_applied: usize,
    /// Requests whose fate the client never learnt (unresolved), not found applied.
    pub unresolved_not_applied: usize,
    /// Reads checked.
    pub reads: usize,
    /// Beliefs checked.
    pub beliefs: usize,
    /// Log entries replayed.
    pub entries: usize,
    /// Fences among them.
    pub fences: usize,
    /// Batches applied.
    pub batches_applied: usize,
    /// Batches ignored (an older epoch than a fence before them).
    pub batches_ignored: usize,
    /// Batches that did not decode.
    pub batches_undecodable: usize,
    /// Operations applied.
    pub ops: usize,
    /// Events the applied operations caused.
    pub events: usize,
}

/// One violation of what the service promises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Its kind.
    pub kind: ViolationKind,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The history records and log entries around it, one readable line each.
    pub context: Vec<String>,
}

/// The kinds of [`Violation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ViolationKind {
    /// A lease granted while another holder's grant was in force.
    TwoHolders,
    /// A lease granted to another holder after the previous holder's expiry passed
    /// without the log ever expiring it.
    EarlyGrant,
    /// A lease expired before its expiry, or while pinned.
    EarlyExpiry,
    /// A lease granted with a fencing token not above its previous ones.
    TokenNotIncreasing,
    /// An event that contradicts the lease state before it (extending, revoking or
    /// expiring a grant nobody holds, shortening an expiry).
    EventMismatch,
    /// The replay disagrees with itself (the fence rule, or the state machine applying
    /// the same operations twice).
    ReplayDiverged,
    /// An acknowledged operation (answered `Applied`) not found in the log.
    Lost,
    /// An answer that differs from what the log says the operation did.
    WrongResult,
    /// A request answered as not applied (aborted, shed, deadline exceeded, rejected, a
    /// client error) found in an applied batch.
    FoundButNotApplied,
    /// A name other than a request's last found in an applied batch.
    StaleName,
    /// A name found in more than one applied batch, or twice in one.
    NameTwice,
    /// A name in more than one request record.
    DuplicateRecord,
    /// Two holders believed they led one lease at the same wall time.
    TwoLeaders,
    /// A belief in a token the log never granted to that holder for that lease.
    UngrantedBelief,
    /// A read that shows a lease older than an answer received before it was sent.
    StaleRead,
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ViolationKind::TwoHolders => "two-holders",
            ViolationKind::EarlyGrant => "early-grant",
            ViolationKind::EarlyExpiry => "early-expiry",
            ViolationKind::TokenNotIncreasing => "token-not-increasing",
            ViolationKind::EventMismatch => "event-mismatch",
            ViolationKind::ReplayDiverged => "replay-diverged",
            ViolationKind::Lost => "lost",
            ViolationKind::WrongResult => "wrong-result",
            ViolationKind::FoundButNotApplied => "found-but-not-applied",
            ViolationKind::StaleName => "stale-name",
            ViolationKind::NameTwice => "name-twice",
            ViolationKind::DuplicateRecord => "duplicate-record",
            ViolationKind::TwoLeaders => "two-leaders",
            ViolationKind::UngrantedBelief => "ungranted-belief",
            ViolationKind::StaleRead => "stale-read",
        };
        f.write_str(name)
    }
}

impl Report {
    /// Whether no violation was found.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }

    /// How many violations of `kind` were found.
    #[must_use]
    pub fn count(&self, kind: ViolationKind) -> usize {
        self.violations.iter().filter(|v| v.kind == kind).count()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.checked;
        writeln!(
            f,
            "{} violation(s); checked {} requests ({} unchecked), {} acknowledged operations \
             ({} lost), {} unresolved (applied {}, not {}), {} reads, {} beliefs; log: {} \
             entries ({} fences, {} batches applied, {} ignored, {} undecodable), {} ops, {} \
             events",
            self.violations.len(),
            c.requests,
            c.unchecked,
            c.acknowledged,
            c.lost,
            c.unresolved_applied + c.unresolved_not_applied,
            c.unresolved_applied,
            c.unresolved_not_applied,
            c.reads,
            c.beliefs,
            c.entries,
            c.fences,
            c.batches_applied,
            c.batches_ignored,
            c.batches_undecodable,
            c.ops,
            c.events,
        )?;
        for v in &self.violations {
            writeln!(f, "[{}] {}", v.kind, v.message)?;
            for line in &v.context {
                writeln!(f, "    {line}")?;
            }
        }
        Ok(())
    }
}

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

    // ---- readable lines -------------------------------------------------------------

    fn entry_head(&self, pos: usize) -> String {
        let r = &self.log[pos];
        let seq = r.seq.map_or_else(|| "-".to_owned(), |s| s.to_string());
        format!("log #{} epoch {} seq {seq}", r.index, r.epoch)
    }

    /// One operation of the log, with its result and events.
    fn op_line(&self, (pos, i): OpRef) -> String {
        let head = self.entry_head(pos);
        match &self.log[pos].fate {
            Fate::Applied(ops) => match ops.get(i) {
                Some(o) => {
                    let events: Vec<String> = o.events.iter().map(event_text).collect();
                    format!(
                        "{head} op {i} @ log {}: {} → {}{}",
                        o.time,
                        o.op,
                        result_text(&o.result),
                        if events.is_empty() {
                            String::new()
                        } else {
                            format!(" [{}]", events.join("; "))
                        }
                    )
                }
                None => format!("{head} op {i}: no such operation"),
            },
            Fate::Ignored(ops) => match ops.get(i) {
                Some(op) => format!("{head} op {i}: {op} (batch ignored: fenced off)"),
                None => format!("{head} op {i}: (batch ignored: fenced off)"),
            },
            Fate::Fence(e) => format!("{head}: fence of epoch {e}"),
            Fate::Undecodable(why) => format!("{head}: undecodable batch ({why})"),
        }
    }

    fn request_line(&self, i: usize) -> String {
        let r = &self.history.requests[i];
        request_text(i, r)
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
            Some(rival) => rival_outcome(&applied.op, &applied.result, rival),
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
        op.key() == logged.op.key() && (rival || op.kind() == logged.op.kind())
    }

    /// A name found in the log: its tag and the operation it points at.
    fn tag_line(&self, f: Found) -> String {
        let r = &self.log[f.entry];
        let Some(tag) = r.tags.get(f.tag) else {
            return self.entry_head(f.entry);
        };
        let rival = tag
            .rival
            .as_ref()
            .map_or_else(String::new, |h| format!(" rival {h}"));
        format!(
            "name ({}, {}){rival} at {}",
            tag.client,
            tag.request,
            self.op_line((f.entry, tag.op as usize))
        )
    }

    // ---- beliefs --------------------------------------------------------------------

    fn beliefs(&mut self) {
        let history = self.history;
        let end = history_end(history);
        let mut by_key: BTreeMap<&Key, Vec<usize>> = BTreeMap::new();
        for (i, b) in history.beliefs.iter().enumerate() {
            by_key.entry(&b.key).or_default().push(i);
            self.report.checked.beliefs += 1;
            if self.complete && !self.model.was_granted(&b.key, &b.holder, b.token) {
                let mut context = vec![belief_text(i, b)];
                if let Some(at) = self.model.grant_of(&b.key, b.token) {
                    context.push(self.op_line(at));
                }
                self.violation(
                    ViolationKind::UngrantedBelief,
                    format!(
                        "{} believed it led {} with token {}, which the log never granted it",
                        b.holder, b.key, b.token
                    ),
                    context,
                );
            }
        }
        for beliefs in by_key.values() {
            let mut sorted = beliefs.clone();
            sorted.sort_by_key(|&i| history.beliefs[i].elected_us);
            for (n, &i) in sorted.iter().enumerate() {
                let a = &history.beliefs[i];
                let a_end = a.deposed_us.unwrap_or(end);
                for &j in &sorted[n + 1..] {
                    let b = &history.beliefs[j];
                    if b.elected_us >= a_end {
                        break;
                    }
                    if a.holder == b.holder {
                        continue;
                    }
                    let b_end = b.deposed_us.unwrap_or(end);
                    let mut context = vec![belief_text(i, a), belief_text(j, b)];
                    for x in [a, b] {
                        if let Some(at) = self.model.grant_of(&x.key, x.token) {
                            context.push(self.op_line(at));
                        }
                    }
                    self.violation(
                        ViolationKind::TwoLeaders,
                        format!(
                            "{} and {} both believed they led {} from {} to {}",
                            a.holder,
                            b.holder,
                            a.key,
                            us(b.elected_us),
                            us(a_end.min(b_end))
                        ),
                        context,
                    );
                }
            }
        }
    }

    // ---- reads ----------------------------------------------------------------------

    fn reads(&mut self) {
        let history = self.history;
        // Acknowledged grants (+) and revocations (−) by the time their answer arrived.
        let mut acks: Vec<(u64, usize, Key, u64, bool)> = Vec::new();
        for (i, r) in history.requests.iter().enumerate() {
            let Ok(Outcome::Applied(Ok(Some(token)))) = r.outcome else {
                continue;
            };
            let (Some(key), gone) = (r.op.key(), matches!(r.op, Op::Revoke { .. })) else {
                continue;
            };
            if matches!(
                r.op,
                Op::Claim { .. } | Op::Extend { .. } | Op::Handover { .. } | Op::Revoke { .. }
            ) {
                acks.push((r.received_us, i, key.clone(), token, gone));
            }
        }
        acks.sort_by_key(|a| (a.0, a.1));
        let mut reads: Vec<usize> = (0..history.reads.len()).collect();
        reads.sort_by_key(|&i| history.reads[i].sent_us);
        // Per lease, the newest acknowledged state: (token, revoked, request).
        let mut newest: BTreeMap<Key, (u64, bool, usize)> = BTreeMap::new();
        let mut next = 0;
        for i in reads {
            let read = &history.reads[i];
            while next < acks.len() && acks[next].0 < read.sent_us {
                let (_, req, key, token, gone) = &acks[next];
                let slot = newest.entry(key.clone()).or_insert((*token, *gone, *req));
                if (*token, *gone) > (slot.0, slot.1) {
                    *slot = (*token, *gone, *req);
                }
                next += 1;
            }
            let Ok(leases) = &read.result else {
                continue;
            };
            self.report.checked.reads += 1;
            let shown: HashMap<Key, (&str, u64)> = leases
                .leases
                .iter()
                .map(|l| {
                    (
                        Key::new(l.namespace.as_str(), l.model.as_str(), l.lease.as_str()),
                        (l.holder.as_str(), l.token),
                    )
                })
                .collect();
            let global = Time::from_millis(leases.global_time_ms);
            for (key, &(token, gone, req)) in &newest {
                let seen = shown.get(key).map(|s| s.1);
                let stale = match (gone, seen) {
                    (true, Some(t)) => t <= token,
                    (true, None) => false,
                    (false, Some(t)) => t < token,
                    (false, None) => {
                        self.complete
                            && self
                                .model
                                .removal_of(key, token)
                                .is_none_or(|(at, _)| at > global)
                    }
                };
                if stale {
                    let mut context = vec![read_text(i, read, key), self.request_line(req)];
                    if let Some(at) = self.model.grant_of(key, token) {
                        context.push(self.op_line(at));
                    }
                    if let Some((_, at)) = self.model.removal_of(key, token) {
                        context.push(self.op_line(at));
                    }
                    let shows =
                        seen.map_or_else(|| "it absent".to_owned(), |t| format!("token {t}"));
                    self.violation(
                        ViolationKind::StaleRead,
                        format!(
                            "read #{i} sent at {} shows {key} with {shows}, older than request \
                             #{req}'s answer ({} token {token}) received before it",
                            us(read.sent_us),
                            if gone { "revoked" } else { "holding" },
                        ),
                        context,
                    );
                }
            }
        }
    }
}

/// What a rival claimant of `op` is answered: who holds the lease after it (`invalid`
/// if that is the claimant itself), as [`crate::resolve`] derives it.
fn rival_outcome(op: &Op, result: &OpResult, rival: &str) -> Outcome {
    let holder = match (op, result) {
        (_, Err(OpError::Held(h))) => Some(h.as_str()),
        (Op::Claim { holder, .. }, _) => Some(&**holder),
        _ => None,
    };
    Outcome::Applied(Err(match holder {
        Some(h) if h != rival => LeaseError::Held {
            holder: Arc::from(h),
        },
        _ => LeaseError::Invalid,
    }))
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

/// The latest time the history mentions: the end of beliefs still held.
fn history_end(h: &History) -> u64 {
    let requests = h.requests.iter().map(|r| r.received_us.max(r.sent_us));
    let reads = h.reads.iter().map(|r| r.received_us.max(r.sent_us));
    let beliefs = h
        .beliefs
        .iter()
        .map(|b| b.deposed_us.unwrap_or(b.elected_us).max(b.elected_us));
    let faults = h
        .faults
        .iter()
        .map(|f| f.end_us.unwrap_or(f.start_us).max(f.start_us));
    requests
        .chain(reads)
        .chain(beliefs)
        .chain(faults)
        .max()
        .unwrap_or(0)
        .saturating_add(1)
}

/// A request's name `(client, number)`.
fn name_text((client, number): (u64, u64)) -> String {
    format!("({client}, {number})")
}

/// Microseconds of the run as milliseconds.
fn us(t: u64) -> String {
    format!("{}.{:03}ms", t / 1000, t % 1000)
}

fn result_text(r: &OpResult) -> String {
    match r {
        Ok(Some(t)) => format!("ok token {t}"),
        Ok(None) => "ok".into(),
        Err(OpError::Held(h)) => format!("held by {h}"),
        Err(OpError::Invalid) => "invalid".into(),
        Err(OpError::OutOfSync(e, a)) => format!("out-of-sync (expected {e} ms, log at {a} ms)"),
        Err(OpError::NotValid(f, p)) => format!("not-valid ({f} {p})"),
    }
}

fn outcome_text(o: &Result<Outcome, String>) -> String {
    match o {
        Ok(Outcome::Applied(Ok(Some(t)))) => format!("ok token {t}"),
        Ok(Outcome::Applied(Ok(None))) => "ok".into(),
        Ok(Outcome::Applied(Err(e))) => {
            format!("{} ({e})", Outcome::Applied(Err(e.clone())).name())
        }
        Ok(Outcome::Rejected(e)) => format!("rejected ({e})"),
        Ok(other) => other.name().into(),
        Err(e) => format!("client error ({e})"),
    }
}

fn event_text(e: &Event) -> String {
    let holder = e.holder().map_or_else(String::new, |h| format!(" {h}"));
    let token = e
        .token()
        .map_or_else(String::new, |t| format!(" token {t}"));
    let expiry = e
        .expiry()
        .map_or_else(String::new, |t| format!(" until {t}"));
    format!("{} {}{holder}{token}{expiry}", e.kind(), e.key())
}

fn request_text(i: usize, r: &RequestRecord) -> String {
    let names: Vec<String> = r.names.iter().copied().map(name_text).collect();
    format!(
        "request #{i} p{} {} sent {} received {} → {} names [{}]",
        r.process,
        r.op,
        us(r.sent_us),
        us(r.received_us),
        outcome_text(&r.outcome),
        names.join(", ")
    )
}

fn read_text(i: usize, r: &ReadRecord, key: &Key) -> String {
    let shows = match &r.result {
        Ok(l) => {
            let lease = l.leases.iter().find(|x| {
                *x.namespace == *key.namespace && *x.model == *key.model && *x.lease == *key.lease
            });
            let lease = lease.map_or_else(
                || format!("{key} absent"),
                |x| {
                    format!(
                        "{key} held by {} token {} until {} ms",
                        x.holder, x.token, x.expires_ms
                    )
                },
            );
            format!(
                "log time {} ms, {} leases, {lease}",
                l.global_time_ms,
                l.leases.len()
            )
        }
        Err(e) => format!("client error ({e})"),
    };
    format!(
        "read #{i} p{} sent {} received {} → {shows}",
        r.process,
        us(r.sent_us),
        us(r.received_us)
    )
}

fn belief_text(i: usize, b: &Belief) -> String {
    format!(
        "belief #{i} {} leads {} token {} from {} to {}",
        b.holder,
        b.key,
        b.token,
        us(b.elected_us),
        b.deposed_us.map_or_else(|| "the end".to_owned(), us)
    )
}
