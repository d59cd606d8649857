//! The guided chapters: following a link to one, Continue, Back, leaving.

use crate::model::session::Command;

/// What the reader of a chapter does.
#[derive(Debug, Clone, PartialEq)]
pub enum ChapterAction {
    /// The URL's fragment changed: it links to this chapter (`#/learn/N`), or to none
    /// (the dashboard).
    Route(Option<usize>),
    /// Continue: the chapter's next step, or at its end the next chapter.
    Continue,
    /// Back: the chapter's previous step.
    Back,
    /// Leave the chapter for the dashboard (its run stays, paused).
    Leave,
}

impl ChapterAction {
    /// What the run must do, with `open` the chapter on screen.
    #[must_use]
    pub fn command(self, open: Option<usize>) -> Option<Command> {
        match self {
            ChapterAction::Route(n) if n == open => None,
            ChapterAction::Route(Some(n)) => Some(Command::Open(n)),
            ChapterAction::Route(None) | ChapterAction::Leave => open.map(|_| Command::Leave),
            ChapterAction::Continue => open.map(|_| Command::Continue),
            ChapterAction::Back => open.map(|_| Command::Back),
        }
    }
}
