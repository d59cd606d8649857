//! The dashboard's state and the actions that change it (a Yew reducer).
//!
//! The run itself (simulation, ledger, timeline) lives behind an `Rc<RefCell<..>>`
//! that the reducer mutates; every action bumps `version`, which is what components
//! compare to know that the run changed. Everything else here is small view state.

use crate::model::link::RunSpec;
use crate::model::run::Run;
use crate::model::speed;
use crate::model::table::{Column, Sort};
use crate::page;
use leasehold::Key;
use std::cell::{Ref, RefCell};
use std::rc::Rc;
use yew::{Reducible, UseReducerDispatcher};

/// How long one tick lasts, wall-clock ms (the ticker's period).
pub const TICK_MS: f64 = 100.0;
/// The most wall-clock time a tick may spend running the simulation, ms; beyond it the
/// simulation falls behind the chosen speed rather than freezing the page.
pub const TICK_BUDGET_MS: f64 = 40.0;

/// The run, as components receive it: compared by identity and a stamp. The stamp is
/// the state's version (the component draws again after every action), or a digest of
/// just what the component shows (it draws again only when that changed).
#[derive(Clone)]
pub struct RunRef {
    run: Rc<RefCell<Run>>,
    version: u64,
}

impl PartialEq for RunRef {
    fn eq(&self, other: &RunRef) -> bool {
        Rc::ptr_eq(&self.run, &other.run) && self.version == other.version
    }
}

impl RunRef {
    /// Reads the run.
    #[must_use]
    pub fn borrow(&self) -> Ref<'_, Run> {
        self.run.borrow()
    }
}

/// Sends actions to the reducer (components take it from the context).
pub type Dispatch = UseReducerDispatcher<State>;

/// The dashboard's state.
#[derive(Clone)]
pub struct State {
    run: Rc<RefCell<Run>>,
    /// Bumped by every action.
    pub version: u64,
    /// Whether the ticker runs.
    pub playing: bool,
    /// Simulated time per wall-clock time.
    pub speed: f64,
    /// The lease the lease actions apply to.
    pub selected: Option<Key>,
    /// The lease table's sort.
    pub sort: Sort,
    /// The lease table's filter text.
    pub filter: String,
    /// The first row on screen.
    pub scroll: usize,
    /// The event log's filter text (lease or holder).
    pub event_filter: String,
    /// The batch whose detail is open.
    pub open_batch: Option<u64>,
    /// Whether the keyboard help shows.
    pub help: bool,
    /// A message for the operator (an error, a refused link parameter).
    pub notice: Option<String>,
    /// Wall-clock time of the previous tick.
    last_tick: Option<f64>,
    /// Simulated ms owed by earlier ticks (slow speeds move less than 1 ms per tick).
    carry: f64,
    /// Whether the break on screen was already acted on (paused, jumped to).
    break_seen: bool,
}

/// What can happen to the dashboard.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The ticker fired: advance by the wall time since the last tick × speed.
    Tick,
    /// Play or pause.
    TogglePlay,
    /// Pause.
    Pause,
    /// Run until the next batch.
    Step,
    /// Set the speed.
    SetSpeed(f64),
    /// Twice as fast (`true`) or half as fast.
    Notch(bool),
    /// Start a new live run.
    Start(RunSpec),
    /// Replay a log file.
    Import {
        /// The file's name.
        name: String,
        /// Its bytes.
        bytes: Vec<u8>,
    },
    /// Download the committed log.
    Export,
    /// Show the state after the first `n` batches.
    Seek(usize),
    /// Move the timeline by this many batches.
    SeekBy(i64),
    /// Back to the head of the log.
    ToHead,
    /// Select a lease.
    Select(Key),
    /// Sort by a column (again: the other way).
    SortBy(Column),
    /// Filter the lease table.
    Filter(String),
    /// The lease table scrolled to this row.
    Scroll(usize),
    /// Filter the event log.
    EventFilter(String),
    /// Open (or close, with `None`) a batch's detail.
    OpenBatch(Option<u64>),
    /// Pin the selected lease.
    Pin {
        /// Who pins it.
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
    /// Show or hide the keyboard help.
    ToggleHelp,
    /// Close whatever is open (help, batch detail, notice).
    Dismiss,
}

impl State {
    /// The state for the page's URL: its scenario and parameters, paused at zero.
    #[must_use]
    pub fn from_url() -> State {
        let (spec, problems) = RunSpec::from_query(&page::query());
        let (run, notice) = match Run::start(spec.clone()) {
            Ok(run) => (run, None),
            Err(e) => (
                Run::start(RunSpec::default()).expect("the default run starts"),
                Some(e),
            ),
        };
        let notice = notice.or_else(|| (!problems.is_empty()).then(|| problems.join("; ")));
        State::with_run(run, notice)
    }

    fn with_run(run: Run, notice: Option<String>) -> State {
        State {
            run: Rc::new(RefCell::new(run)),
            version: 0,
            playing: false,
            speed: 1.0,
            selected: None,
            sort: Sort::default(),
            filter: String::new(),
            scroll: 0,
            event_filter: String::new(),
            open_batch: None,
            help: false,
            notice,
            last_tick: None,
            carry: 0.0,
            break_seen: false,
        }
    }

    /// The run, for components that draw again after every action.
    #[must_use]
    pub fn run(&self) -> RunRef {
        RunRef {
            run: self.run.clone(),
            version: self.version,
        }
    }

    /// The run, for a component that draws again only when `stamp` changes (a digest
    /// of what it shows, see [`stamp`]).
    #[must_use]
    pub fn run_at(&self, stamp: u64) -> RunRef {
        RunRef {
            run: self.run.clone(),
            version: stamp,
        }
    }

    fn tick(&mut self) {
        let t0 = page::now_ms();
        let wall = self
            .last_tick
            .map_or(TICK_MS, |t| (t0 - t).clamp(0.0, 2.5 * TICK_MS));
        self.last_tick = Some(t0);
        let want = wall * self.speed + self.carry;
        let ms = want.floor();
        self.carry = want - ms;
        let mut run = self.run.borrow_mut();
        run.meter.borrow_mut().start(t0);
        let more = run.advance(ms as u64, || page::now_ms() - t0 > TICK_BUDGET_MS);
        run.meter.borrow_mut().simulated(page::now_ms() - t0);
        if !more {
            self.playing = false;
        }
    }

    /// Pauses at the first invariant break and shows its batch.
    fn watch_for_break(&mut self) {
        if self.break_seen {
            return;
        }
        let mut run = self.run.borrow_mut();
        let Some(b) = run.violation() else {
            return;
        };
        self.break_seen = true;
        self.playing = false;
        self.open_batch = Some(b.batch);
        if let Some(i) = run.head().summaries().iter().position(|s| s.seq == b.batch) {
            run.seek(i + 1);
        }
    }

    fn act_on_selected(&mut self, f: impl FnOnce(&mut Run, &Key)) {
        if let Some(key) = self.selected.clone() {
            f(&mut self.run.borrow_mut(), &key);
        }
    }
}

/// A digest of the values a view depends on.
#[must_use]
pub fn stamp(parts: &[u64]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<State> {
        let mut s = (*self).clone();
        s.version += 1;
        match action {
            Action::Tick => {
                if s.playing {
                    s.tick();
                } else {
                    return self;
                }
            }
            Action::TogglePlay => {
                s.playing = !s.playing;
                s.last_tick = None;
            }
            Action::Pause => s.playing = false,
            Action::Step => {
                s.playing = false;
                s.run.borrow_mut().step();
            }
            Action::SetSpeed(v) => s.speed = v.clamp(speed::MIN, speed::MAX),
            Action::Notch(up) => s.speed = speed::notch(s.speed, up),
            Action::Start(spec) => {
                let query = spec.to_query();
                match Run::start(spec) {
                    Ok(run) => {
                        page::set_query(&query);
                        let speed = s.speed;
                        s = State::with_run(run, None);
                        s.version = self.version + 1;
                        s.speed = speed;
                    }
                    Err(e) => s.notice = Some(e),
                }
            }
            Action::Import { name, bytes } => {
                let spec = s.run.borrow().spec.clone();
                match Run::import(spec, name, &bytes) {
                    Ok(run) => {
                        let speed = s.speed;
                        s = State::with_run(run, None);
                        s.version = self.version + 1;
                        s.speed = speed;
                    }
                    Err(e) => s.notice = Some(e),
                }
            }
            Action::Export => {
                let run = s.run.borrow();
                page::download(&run.export_name(), &run.export());
            }
            Action::Seek(n) => {
                s.playing = false;
                s.run.borrow_mut().seek(n);
            }
            Action::SeekBy(d) => {
                s.playing = false;
                let mut run = s.run.borrow_mut();
                let n = run.position() as i64 + d;
                run.seek(n.max(0) as usize);
            }
            Action::ToHead => {
                let mut run = s.run.borrow_mut();
                let end = run.head().batches();
                run.seek(end);
            }
            Action::Select(key) => s.selected = Some(key),
            Action::SortBy(c) => s.sort = s.sort.clicked(c),
            Action::Filter(f) => {
                s.filter = f;
                s.scroll = 0;
            }
            Action::Scroll(row) => {
                if row == s.scroll {
                    return self;
                }
                s.scroll = row;
            }
            Action::EventFilter(f) => s.event_filter = f,
            Action::OpenBatch(b) => s.open_batch = b,
            Action::Pin {
                entity,
                reason,
                seconds,
            } => {
                let entity = if entity.trim().is_empty() {
                    "operator".to_owned()
                } else {
                    entity.trim().to_owned()
                };
                s.act_on_selected(|run, key| run.pin(key, &entity, &reason, seconds));
            }
            Action::Unpin => s.act_on_selected(Run::unpin),
            Action::Revoke => s.act_on_selected(Run::revoke),
            Action::HandOver => s.act_on_selected(Run::hand_over),
            Action::Crash => s.act_on_selected(Run::crash),
            Action::Restart => s.act_on_selected(Run::restart),
            Action::Partition => s.act_on_selected(|run, key| run.partition(key, 10_000)),
            Action::RestartEngine => s.run.borrow_mut().restart_engine(5_000),
            Action::Load(up) => s.run.borrow_mut().load(up),
            Action::ToggleHelp => s.help = !s.help,
            Action::Dismiss => {
                s.help = false;
                s.open_batch = None;
                s.notice = None;
            }
        }
        s.watch_for_break();
        Rc::new(s)
    }
}
