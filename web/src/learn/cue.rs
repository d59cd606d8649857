//! What a step does when it begins, and what its narration waits for.

use leasehold::Event;
use leasehold::sim::{Action, Simulation};

/// What happens to the simulation when a step begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// Nothing.
    None,
    /// The leader of lease `n` crashes.
    CrashLeader(usize),
    /// The leader of lease `n` freezes for this many milliseconds.
    PauseLeader(usize, u64),
}

impl Act {
    /// Does it to `sim`.
    pub fn perform(self, sim: &mut Simulation) {
        match self {
            Act::None => {}
            Act::CrashLeader(lease) => {
                if let Some(unit) = sim.leader_unit(lease) {
                    sim.crash(lease, unit);
                }
            }
            Act::PauseLeader(lease, ms) => sim.inject(Action::PauseLeader(lease, ms)),
        }
    }
}

/// What a step's narration waits for before Continue is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    /// Nothing: the reader continues when ready.
    Read,
    /// Simulated time reaches this many milliseconds.
    At(u64),
    /// An event of this kind (`claimed`, `expired`, `pinned`, ...) about lease `n`
    /// (any lease with `None`) since the step began.
    Event(&'static str, Option<usize>),
    /// Lease `n` has a holder other than the one it had when the step began.
    NewLeader(usize),
    /// A statistic (`stale_writes_refused`, `claims_shed`, `coalesced`) grows by at
    /// least this much after the step began.
    Stat(&'static str, u64),
    /// "Try it yourself": the controls are the reader's; Continue is always offered.
    TryIt,
}

/// What was true when a step began, for cues that compare with it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mark {
    /// Simulated time, ms.
    pub at: u64,
    /// The holder of the cue's lease, if it names one.
    pub holder: Option<String>,
    /// The cue's statistic, if it names one.
    pub stat: u64,
}

impl Cue {
    /// What to remember about `sim` as the step begins.
    #[must_use]
    pub fn mark(self, sim: &Simulation) -> Mark {
        let holder = match self {
            Cue::NewLeader(lease) => holder_of(sim, lease),
            _ => None,
        };
        let stat = match self {
            Cue::Stat(name, _) => stat(sim, name),
            _ => 0,
        };
        Mark {
            at: sim.now().as_millis(),
            holder,
            stat,
        }
    }

    /// Whether the narration may go on.
    #[must_use]
    pub fn met(self, sim: &Simulation, mark: &Mark) -> bool {
        match self {
            Cue::Read | Cue::TryIt => true,
            Cue::At(ms) => sim.now().as_millis() >= ms,
            Cue::Event(kind, lease) => sim.recent_events().any(|(t, e)| {
                t.as_millis() >= mark.at
                    && e.kind() == kind
                    && lease.is_none_or(|l| is_lease(sim, e, l))
            }),
            Cue::NewLeader(lease) => {
                holder_of(sim, lease).is_some_and(|h| Some(&h) != mark.holder.as_ref())
            }
            Cue::Stat(name, at_least) => stat(sim, name).saturating_sub(mark.stat) >= at_least,
        }
    }

    /// What the narration waits for, in a few words ("the lease to expire").
    #[must_use]
    pub fn waiting_for(self) -> String {
        let what = match self {
            Cue::Read => "you to read on",
            Cue::TryIt => "you to try it",
            Cue::At(ms) => return format!("the clock to reach {}", clock(ms)),
            Cue::Event("claimed", _) => "a unit to be elected",
            Cue::Event("expired", _) => "the lease to expire",
            Cue::Event("pinned", _) => "the operator to pin the leases",
            Cue::Event("unpinned", _) => "the pins to be lifted",
            Cue::Event(kind, _) => return format!("an event: {kind}"),
            Cue::NewLeader(_) => "a new leader to be elected",
            Cue::Stat("claims_shed", _) => "a claim to be shed",
            Cue::Stat("stale_writes_refused", _) => "a stale write to be refused",
            Cue::Stat("coalesced", n) => return format!("{n} claims to coalesce"),
            Cue::Stat(name, n) => return format!("{name} to reach {n}"),
        };
        what.to_owned()
    }

    /// Whether the simulation plays while the cue is awaited (a reader-paced step
    /// leaves it paused).
    #[must_use]
    pub fn plays(self) -> bool {
        !matches!(self, Cue::Read | Cue::TryIt)
    }
}

/// The value of a statistic a cue can wait for.
fn stat(sim: &Simulation, name: &str) -> u64 {
    let s = sim.stats();
    match name {
        "stale_writes_refused" => s.stale_writes_refused,
        "claims_shed" => s.claims_shed,
        "coalesced" => s.coalesced,
        _ => 0,
    }
}

fn holder_of(sim: &Simulation, lease: usize) -> Option<String> {
    let key = sim.key(lease)?;
    sim.engine().fsm().holder(key).map(str::to_owned)
}

fn is_lease(sim: &Simulation, e: &Event, lease: usize) -> bool {
    sim.lease_of(e.key()) == Some(lease)
}

/// `40 s`, `5 min 05 s`.
fn clock(ms: u64) -> String {
    let s = ms / 1000;
    if s < 60 {
        format!("{s} s")
    } else {
        format!("{} min {:02} s", s / 60, s % 60)
    }
}
