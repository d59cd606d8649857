//! What the checker reports: the violations found and how much was checked.

use std::fmt;

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
    /// A lease expired (its holder deposed) before its expiry, or while pinned, so that
    /// a grant after it could come before the previous holder's expiry.
    EarlyExpiry,
    /// A lease granted with a fencing token not above its previous ones.
    TokenNotIncreasing,
    /// An event that contradicts the lease state before it (extending, revoking or
    /// expiring a grant nobody holds, shortening an expiry, granting a lease whose
    /// previous grant passed its expiry but never expired).
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
