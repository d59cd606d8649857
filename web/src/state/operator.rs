//! What an operator does to the system: act on the selected lease (pin, unpin, revoke,
//! hand over, crash, restart or cut off its holder), restart the engine, change the
//! load, start a scenario.

use crate::model::link::RunSpec;
use crate::model::session::Command;
use leasehold::Key;

/// The operator token typed into the page: kept in memory only (never in the URL,
/// storage or logs; its `Debug` does not show it), sent only as the `Authorization`
/// header of an operator's request.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// The token typed, if anything was.
    #[must_use]
    pub fn typed(text: &str) -> Option<Token> {
        let t = text.trim();
        (!t.is_empty()).then(|| Token(t.to_owned()))
    }

    /// The `Authorization` header's value.
    #[must_use]
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

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
    /// Hand the selected lease over to this holder (a live cluster's lease).
    HandOverTo(String),
    /// Attach to the lease service at this URL (any member).
    Attach(String),
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
            OperatorAction::HandOverTo(to) => {
                let to = to.trim();
                if to.is_empty() {
                    return None;
                }
                Command::HandOverTo {
                    key: key()?,
                    to: to.to_owned(),
                }
            }
            OperatorAction::Attach(url) => {
                let url = url.trim();
                if url.is_empty() {
                    return None;
                }
                Command::Attach(url.to_owned())
            }
            OperatorAction::Crash => Command::Crash(key()?),
            OperatorAction::Restart => Command::Restart(key()?),
            OperatorAction::Partition => Command::Partition(key()?),
            OperatorAction::RestartEngine => Command::RestartEngine,
            OperatorAction::Load(up) => Command::Load(up),
            OperatorAction::Start(spec) => Command::Start(spec),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_shows_and_blank_is_none() {
        let t = Token::typed(" s3cret ").unwrap();
        assert_eq!(t.bearer(), "Bearer s3cret");
        assert!(!format!("{t:?}").contains("s3cret"));
        assert_eq!(Token::typed("  "), None);
    }

    #[test]
    fn blank_attach_and_handover_do_nothing() {
        let key = Key::new("a", "m", "l");
        assert_eq!(OperatorAction::Attach(" ".into()).command(None), None);
        assert_eq!(
            OperatorAction::Attach(" h:1 ".into()).command(None),
            Some(Command::Attach("h:1".into()))
        );
        assert_eq!(
            OperatorAction::HandOverTo(String::new()).command(Some(&key)),
            None
        );
        assert_eq!(
            OperatorAction::HandOverTo("b".into()).command(Some(&key)),
            Some(Command::HandOverTo {
                key,
                to: "b".into()
            })
        );
    }
}
