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
    /// A statistic reaches a value: `stale_writes_refused`, `claims_shed`, `coalesced`.
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
}

impl Cue {
    /// What to remember about `sim` as the step begins.
    #[must_use]
    pub fn mark(self, sim: &Simulation) -> Mark {
        let holder = match self {
            Cue::NewLeader(lease) => holder_of(sim, lease),
            _ => None,
        };
        Mark {
            at: sim.now().as_millis(),
            holder,
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
            Cue::Stat(name, at_least) => {
                let s = sim.stats();
                let value = match name {
                    "stale_writes_refused" => s.stale_writes_refused,
                    "claims_shed" => s.claims_shed,
                    "coalesced" => s.coalesced,
                    _ => 0,
                };
                value >= at_least
            }
        }
    }

    /// Whether the simulation plays while the cue is awaited (a reader-paced step
    /// leaves it paused).
    #[must_use]
    pub fn plays(self) -> bool {
        !matches!(self, Cue::Read | Cue::TryIt)
    }
}

fn holder_of(sim: &Simulation, lease: usize) -> Option<String> {
    let key = sim.key(lease)?;
    sim.engine().fsm().holder(key).map(str::to_owned)
}

fn is_lease(sim: &Simulation, e: &Event, lease: usize) -> bool {
    sim.lease_of(e.key()) == Some(lease)
}
