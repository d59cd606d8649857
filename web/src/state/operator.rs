//! What an operator does to the system: act on the selected lease (pin, unpin, revoke,
//! hand over, crash, restart or cut off its holder), restart the engine, change the
//! load, start a scenario.

use crate::model::link::RunSpec;
use crate::model::session::Command;
use leasehold::Key;

/// An operator's action.
#[derive(Debug, Clone, PartialEq)]
pub enum OperatorAction {
    /// Pin the selected lease.
    Pin {
        /// Who pins it (blank: `operator`).
        entity: String,
        /// Why.
        reason: String,
        /// For how many seconds, if limited.
        seconds: Option<u64>,
    },
    /// Remove every pin of the selected lease.
    Unpin,
    /// Revoke the selected lease.
    Revoke,
    /// Hand the selected lease over to another unit.
    HandOver,
    /// Crash the selected lease's holder.
    Crash,
    /// Restart the selected lease's crashed units.
    Restart,
    /// Cut the selected lease's holder off the network for ten seconds.
    Partition,
    /// Restart the engine's process (every holder reconnects at once).
    RestartEngine,
    /// Load up (`true`) or down.
    Load(bool),
    /// Start a new live run.
    Start(RunSpec),
}

impl OperatorAction {
    /// What the run must do, with `selected` the selected lease (actions on a lease do
    /// nothing without one).
    #[must_use]
    pub fn command(self, selected: Option<&Key>) -> Option<Command> {
        let key = || selected.cloned();
        Some(match self {
            OperatorAction::Pin {
                entity,
                reason,
                seconds,
            } => {
                let entity = match entity.trim() {
                    "" => "operator".to_owned(),
                    e => e.to_owned(),
                };
                Command::Pin {
                    key: key()?,
                    entity,
                    reason,
                    seconds,
                }
            }
            OperatorAction::Unpin => Command::Unpin(key()?),
            OperatorAction::Revoke => Command::Revoke(key()?),
            OperatorAction::HandOver => Command::HandOver(key()?),
            OperatorAction::Crash => Command::Crash(key()?),
            OperatorAction::Restart => Command::Restart(key()?),
            OperatorAction::Partition => Command::Partition(key()?),
            OperatorAction::RestartEngine => Command::RestartEngine,
            OperatorAction::Load(up) => Command::Load(up),
            OperatorAction::Start(spec) => Command::Start(spec),
        })
    }
}
