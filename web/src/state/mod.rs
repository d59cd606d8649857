//! The dashboard's state and the actions that change it: a Yew reducer, pure.
//!
//! # Design
//!
//! The run itself (the simulation or the replayed log, its ledger, the timeline, a
//! chapter's story) is not in the state: it is the [`Session`], owned by a hook
//! ([`use_session`]) outside the reducer, and never cloned. The state is small and cheap
//! to clone:
//!
//! - view state, one part per concern, each with its own actions and module:
//!   [`playback`] (play, pause, speed, step), [`timeline`] (seek, batch detail, export
//!   and import), [`table`] (selection, sort, filters, scroll), [`operator`] (what an
//!   operator does to the system) and [`chapter`] (the guided chapters);
//! - the [`Scene`]: the derived snapshot of what every view shows, as the session last
//!   drew it (every part behind an `Rc`, compared by value);
//! - the [`Requests`]: numbered [`Command`]s the reducer wants done to the run.
//!
//! [`State::reduce`] never runs the simulation, touches the URL or offers a download.
//! An action that changes the run queues a command; a hook performs the queued commands
//! on the session after the render ([`use_requests`]), and the ticker advances it while
//! playing ([`use_ticker`]); both hand the result back as [`Action::Updated`]: the new
//! scene, what the view should do about what happened ([`Outcome`]: pause at a story's
//! cue or at a broken invariant, start over after a new run, show a notice) and the
//! last command performed, which leaves the queue. An update that changes nothing
//! returns the same state, so nothing is drawn again. The URL follows the state in an
//! effect ([`use_url`]); downloads happen in the hook that performed the export. A tick
//! is thus one simulation step, one scene (a few hundred microseconds: only what is on
//! screen is copied) and one render.
//!
//! [`Session`]: crate::model::session::Session
//! [`use_session`]: fn@crate::hooks::use_session
//! [`use_requests`]: fn@crate::hooks::use_requests
//! [`use_ticker`]: fn@crate::hooks::use_ticker
//! [`use_url`]: fn@crate::hooks::use_url

pub mod chapter;
pub mod operator;
pub mod playback;
pub mod table;
pub mod timeline;

use crate::model::scene::{Lens, Scene};
use crate::model::session::{Command, Outcome, Update};
use chapter::ChapterAction;
use operator::{OperatorAction, Token};
use playback::{Playback, PlaybackAction};
use std::rc::Rc;
use table::{TableAction, TableView};
use timeline::{Timeline, TimelineAction};
use yew::{Reducible, UseReducerDispatcher};

/// Sends actions to the reducer (components take it from the context).
pub type Dispatch = UseReducerDispatcher<State>;

/// Commands for the run, numbered from 1, waiting to be performed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Requests {
    last: u64,
    pending: Vec<(u64, Command)>,
}

impl Requests {
    /// The number of the last command queued (0 before any).
    #[must_use]
    pub fn last(&self) -> u64 {
        self.last
    }

    /// The commands not yet performed, oldest first.
    #[must_use]
    pub fn pending(&self) -> &[(u64, Command)] {
        &self.pending
    }

    fn push(&mut self, command: Command) {
        self.last += 1;
        self.pending.push((self.last, command));
    }

    /// Forgets the commands up to `done`; returns whether there were any.
    fn performed(&mut self, done: u64) -> bool {
        let before = self.pending.len();
        self.pending.retain(|(id, _)| *id > done);
        self.pending.len() != before
    }
}

/// The dashboard's state.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// Playing, and how fast.
    pub playback: Playback,
    /// The lease table's and the event log's view.
    pub table: TableView,
    /// The open batch.
    pub timeline: Timeline,
    /// Whether the keyboard help shows.
    pub help: bool,
    /// A message for the operator (an error, a refused link parameter, the answer to
    /// an operator's request).
    pub notice: Option<String>,
    /// The operator token typed into the page (live clusters only; memory only).
    pub token: Option<Token>,
    /// What the views show.
    pub scene: Scene,
    requests: Requests,
}

/// What can happen to the dashboard.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Play, pause, speed, step.
    Playback(PlaybackAction),
    /// The timeline, a batch's detail, the log file.
    Timeline(TimelineAction),
    /// The lease table and the event log.
    Table(TableAction),
    /// An operator's action on the system.
    Operator(OperatorAction),
    /// A guided chapter.
    Chapter(ChapterAction),
    /// The → key: Continue in a chapter, else step one batch.
    Next,
    /// The ← key: Back in a chapter, else back one batch on the timeline.
    Previous,
    /// Show or hide the keyboard help.
    ToggleHelp,
    /// Close whatever is open (help, batch detail, notice).
    Dismiss,
    /// The run moved (a tick, or queued commands performed).
    Updated(Update),
    /// The operator typed a token (blank: none).
    Token(String),
    /// An operator's request to the cluster was answered (the line for the notice).
    Answered(String),
}

impl State {
    /// The state of a session just opened: its scene and what opening it said.
    #[must_use]
    pub fn new(scene: Scene, opening: Outcome) -> State {
        let mut state = State {
            playback: Playback::default(),
            table: TableView::default(),
            timeline: Timeline::default(),
            help: false,
            notice: None,
            token: None,
            scene,
            requests: Requests::default(),
        };
        state.follow(opening);
        state
    }

    /// What the scene depends on: the lens the session draws through.
    #[must_use]
    pub fn lens(&self) -> Lens {
        Lens {
            selected: self.table.selected.clone(),
            sort: self.table.sort,
            filter: self.table.filter.clone(),
            scroll: self.table.scroll,
            event_filter: self.table.event_filter.clone(),
            open_batch: self.timeline.open_batch,
        }
    }

    /// The commands waiting for the run.
    #[must_use]
    pub fn requests(&self) -> &Requests {
        &self.requests
    }

    /// The chapter on screen, if any.
    #[must_use]
    pub fn chapter(&self) -> Option<usize> {
        self.scene.chapter.as_ref().map(|c| c.guide.number())
    }

    /// The URL query that reproduces the run on screen.
    #[must_use]
    pub fn link(&self) -> String {
        match &self.scene.cluster {
            Some(c) => crate::model::link::attach_query(&c.origin),
            None => self.scene.source.spec.to_query(),
        }
    }

    /// Queues `command`; returns whether there was one.
    fn request(&mut self, command: Option<Command>) -> bool {
        command.map(|c| self.requests.push(c)).is_some()
    }

    /// Does what the run asks after it moved.
    fn follow(&mut self, outcome: Outcome) {
        if let Some(fresh) = outcome.fresh {
            self.table = TableView::default();
            self.timeline = Timeline::default();
            self.help = false;
            self.notice = None;
            if let Some(speed) = fresh.speed {
                self.playback.speed = speed;
            }
        }
        if let Some(playing) = outcome.playing {
            self.playback.playing = playing;
        }
        if let Some(seq) = outcome.open_batch {
            self.timeline.open_batch = Some(seq);
        }
        if let Some(notice) = outcome.notice {
            self.notice = Some(notice);
        }
    }

    /// Takes the run's update; returns whether anything changed.
    fn updated(&mut self, update: Update) -> bool {
        let Update {
            scene,
            mut outcome,
            done,
        } = update;
        // Offered (sent) by the hook that performed the export (the calls); nothing for
        // the view.
        outcome.download = None;
        outcome.calls.clear();
        let performed = self.requests.performed(done);
        let changed = performed || scene != self.scene || !outcome.is_empty();
        self.scene = scene;
        self.follow(outcome);
        changed
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<State> {
        let in_chapter = self.chapter();
        let action = match (action, in_chapter.is_some()) {
            (Action::Next, true) => Action::Chapter(ChapterAction::Continue),
            (Action::Next, false) => Action::Playback(PlaybackAction::Step),
            (Action::Previous, true) => Action::Chapter(ChapterAction::Back),
            (Action::Previous, false) => Action::Timeline(TimelineAction::SeekBy(-1)),
            (action, _) => action,
        };
        let mut s = (*self).clone();
        let changed = match action {
            Action::Playback(a) => {
                let command = s.playback.reduce(a);
                s.request(command);
                true
            }
            Action::Timeline(a) => {
                if a.pauses() {
                    s.playback.playing = false;
                }
                let command = s.timeline.reduce(a);
                s.request(command);
                true
            }
            Action::Table(a) => s.table.reduce(a),
            Action::Operator(a) => {
                let command = a.command(s.table.selected.as_ref());
                s.request(command)
            }
            Action::Chapter(a) => s.request(a.command(in_chapter)),
            Action::ToggleHelp => {
                s.help = !s.help;
                true
            }
            Action::Dismiss => {
                s.help = false;
                s.timeline.open_batch = None;
                s.notice = None;
                true
            }
            Action::Updated(update) => s.updated(update),
            Action::Token(text) => {
                s.token = Token::typed(&text);
                true
            }
            Action::Answered(line) => {
                s.notice = Some(line);
                true
            }
            // Mapped to the actions above before the match.
            Action::Next | Action::Previous => false,
        };
        if changed && s != *self {
            Rc::new(s)
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::session::{Fresh, Session};
    use crate::model::table::Column;

    fn clock() -> f64 {
        0.0
    }

    fn opened(query: &str, fragment: &str) -> (Session, Rc<State>) {
        let mut session = Session::from_link(query, fragment);
        let opening = session.opening();
        let state = State::new(session.scene(0.0), opening);
        (session, Rc::new(state))
    }

    /// What the hooks do: perform the queued commands and hand the update back.
    fn settle(session: &mut Session, state: Rc<State>) -> Rc<State> {
        session.look(state.lens());
        let update = session.perform(state.requests().pending(), &clock);
        state.reduce(Action::Updated(update))
    }

    #[test]
    fn view_actions_change_only_the_view_and_queue_nothing() {
        let (_, s) = opened("?scenario=ps45&seed=3&leases=20", "");
        let s = s.reduce(Action::Table(TableAction::SortBy(Column::Expiry)));
        let s = s.reduce(Action::Table(TableAction::Filter("app".into())));
        let s = s.reduce(Action::ToggleHelp);
        assert_eq!(s.table.sort.column, Column::Expiry);
        assert_eq!(s.lens().filter, "app");
        assert!(s.help && s.requests().pending().is_empty());
        // Nothing changed: the same state, not drawn again.
        let same = s.clone().reduce(Action::Table(TableAction::Scroll(0)));
        assert!(Rc::ptr_eq(&same, &s));
        let s = s.reduce(Action::Dismiss);
        assert!(!s.help);
    }

    #[test]
    fn run_actions_queue_commands_that_the_session_performs() {
        let (mut session, s) = opened("?scenario=ps45&seed=3&leases=20", "");
        let s = s.reduce(Action::Playback(PlaybackAction::TogglePlay));
        assert!(s.playback.playing);
        let update = session.tick(15_000.0, &clock);
        let s = s.reduce(Action::Updated(update));
        let end = s.scene.timeline.end;
        // → steps: paused, one command queued.
        let s = s.reduce(Action::Next);
        assert!(!s.playback.playing);
        assert_eq!(s.requests().pending(), [(1, Command::Step)]);
        let s = settle(&mut session, s);
        assert!(s.requests().pending().is_empty());
        assert!(s.scene.timeline.end > end);
        // ← goes back one batch; nothing acts on a lease without a selection.
        let s = s.reduce(Action::Previous);
        assert_eq!(s.requests().pending(), [(2, Command::SeekBy(-1))]);
        let s = settle(&mut session, s);
        assert!(s.scene.timeline.in_past);
        let s = s.reduce(Action::Operator(OperatorAction::Revoke));
        assert!(s.requests().pending().is_empty());
        let key = s.scene.table.rows[0].key.clone();
        let s = s.reduce(Action::Table(TableAction::Select(key.clone())));
        let pin = OperatorAction::Pin {
            entity: " ".into(),
            reason: String::new(),
            seconds: None,
        };
        let s = s.reduce(Action::Operator(pin));
        let Command::Pin { entity, .. } = &s.requests().pending()[0].1 else {
            panic!("{:?}", s.requests());
        };
        assert_eq!(entity, "operator");
        // A new run starts the view over.
        let start = Action::Operator(OperatorAction::Start(s.scene.source.spec.clone()));
        let s = settle(&mut session, s.reduce(start));
        assert!(s.table.selected.is_none() && !s.scene.timeline.in_past);
        assert_eq!(s.scene.timeline.end, 0);
    }

    #[test]
    fn a_chapter_sets_the_pace_and_the_keys_follow_its_story() {
        let (mut session, s) = opened("", "#/learn/1");
        assert_eq!(s.chapter(), Some(1));
        assert_eq!((s.playback.playing, s.playback.speed), (true, 10.0));
        // Routing to the chapter on screen does nothing.
        let same = s
            .clone()
            .reduce(Action::Chapter(ChapterAction::Route(Some(1))));
        assert!(Rc::ptr_eq(&same, &s));
        let s = s.reduce(Action::Next);
        assert_eq!(s.requests().pending(), [(1, Command::Continue)]);
        let s = settle(&mut session, s);
        let s = s.reduce(Action::Chapter(ChapterAction::Route(None)));
        let s = settle(&mut session, s);
        assert_eq!(s.chapter(), None);
        assert!(!s.playback.playing);
        assert!(
            s.link().starts_with("?scenario=ps45&seed=11"),
            "{}",
            s.link()
        );
        let s = s.reduce(Action::Chapter(ChapterAction::Route(Some(9))));
        let s = settle(&mut session, s);
        assert!(s.notice.as_deref().unwrap().contains("no chapter 9"));
        let s = settle(
            &mut session,
            s.reduce(Action::Chapter(ChapterAction::Route(Some(2)))),
        );
        assert_eq!((s.chapter(), s.notice.as_deref()), (Some(2), None));
        assert_eq!(s.playback.speed, 2.0);
    }

    #[test]
    fn an_update_that_changes_nothing_is_not_drawn() {
        let (mut session, s) = opened("?scenario=ps45&seed=3&leases=20", "");
        let update = session.perform(&[], &clock);
        assert!(Rc::ptr_eq(&s.clone().reduce(Action::Updated(update)), &s));
        let fresh = Outcome {
            fresh: Some(Fresh { speed: Some(3.0) }),
            notice: Some("torn".into()),
            ..Outcome::default()
        };
        let mut state = (*s).clone();
        state.table.filter = "x".into();
        state.follow(fresh);
        assert_eq!(
            (state.table.filter.as_str(), state.playback.speed),
            ("", 3.0)
        );
        assert_eq!(state.notice.as_deref(), Some("torn"));
    }
}
