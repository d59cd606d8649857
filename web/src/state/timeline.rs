//! The timeline and the log: any earlier moment by batch, a batch's detail, the log's
//! export and import.

use crate::model::session::Command;
use std::rc::Rc;

/// What the timeline shows besides the run's position (which the run keeps).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Timeline {
    /// The batch whose detail is open.
    pub open_batch: Option<u64>,
}

/// What the timeline, the batch list and the log buttons do.
#[derive(Debug, Clone, PartialEq)]
pub enum TimelineAction {
    /// Show the state after the first `n` batches.
    Seek(usize),
    /// Move the timeline by this many batches.
    SeekBy(i64),
    /// Back to the head of the log.
    ToHead,
    /// Open (or close, with `None`) a batch's detail.
    OpenBatch(Option<u64>),
    /// Download the committed log.
    Export,
    /// Replay a log file.
    Import {
        /// The file's name.
        name: String,
        /// Its bytes.
        bytes: Rc<[u8]>,
    },
}

impl TimelineAction {
    /// Whether it pauses the run (moving back in time does).
    #[must_use]
    pub fn pauses(&self) -> bool {
        matches!(self, TimelineAction::Seek(_) | TimelineAction::SeekBy(_))
    }
}

impl Timeline {
    /// Applies `action`; returns what the run must do.
    pub fn reduce(&mut self, action: TimelineAction) -> Option<Command> {
        Some(match action {
            TimelineAction::Seek(n) => Command::Seek(n),
            TimelineAction::SeekBy(d) => Command::SeekBy(d),
            TimelineAction::ToHead => Command::ToHead,
            TimelineAction::OpenBatch(b) => {
                self.open_batch = b;
                return None;
            }
            TimelineAction::Export => Command::Export,
            TimelineAction::Import { name, bytes } => Command::Import { name, bytes },
        })
    }
}
