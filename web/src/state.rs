//! The dashboard's state and the actions that change it (a Yew reducer).
//!
//! The run itself (simulation, ledger, timeline) lives behind an `Rc<RefCell<..>>`
//! that the reducer mutates; every action bumps `version`, which is what components
//! compare to know that the run changed. Everything else here is small view state.
//!
//! A guided chapter (`#/learn/N`, see [`crate::learn`]) replaces the run with the
//! chapter's simulation and keeps a [`Guide`]: while the story waits for a cue the run
//! plays by itself, 100 simulated ms at a time, and pauses when the cue is met;
//! operator actions wait for the "try it yourself" step. Back shows earlier narration
//! again without rewinding the simulation. Chapter 2 runs a second simulation beside
//! the main one, kept at the same simulated time.

use crate::learn::{self, Chapter, Forward, Guide, QUANTUM_MS};
use crate::model::link::RunSpec;
use crate::model::run::Run;
use crate::model::speed;
use crate::model::table::{Column, Sort};
use crate::page;
use leasehold::Key;
use leasehold::sim::{Simulation, Stats};
use std::cell::{Ref, RefCell};
use std::rc::Rc;
use yew::{Reducible, UseReducerDispatcher};

/// How long one tick lasts, wall-clock ms (the ticker's period).
pub const TICK_MS: f64 = 100.0;
/// The most wall-clock time a tick may spend running the simulation, ms; beyond it the
/// simulation falls behind the chosen speed rather than freezing the page.
pub const TICK_BUDGET_MS: f64 = 40.0;
/// The most wall-clock time a tick may spend running the simulation beside the main
/// one (chapter 2), ms; beyond it that one falls behind.
pub const BESIDE_BUDGET_MS: f64 = 20.0;

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
    /// The chapter being read (`#/learn/N`), if any.
    pub guide: Option<Guide>,
    /// A second simulation beside the main one, with other settings (chapter 2).
    beside: Option<Rc<RefCell<Simulation>>>,
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
    /// The URL's fragment changed: it links to this chapter (`#/learn/N`), or to none
    /// (the dashboard).
    Route(Option<usize>),
    /// Continue: the chapter's next step, or at its end the next chapter.
    Continue,
    /// Back: the chapter's previous step.
    Back,
    /// Leave the chapter for the dashboard (its run stays, paused).
    Leave,
    /// The → key: Continue in a chapter, else step one batch.
    Next,
    /// The ← key: Back in a chapter, else back one batch on the timeline.
    Previous,
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
        let mut state = State::with_run(run, notice);
        if let Some(n) = learn::linked(&page::hash()) {
            if let Err(e) = state.open_chapter(n) {
                state.notice = Some(e);
            }
        }
        state
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
            guide: None,
            beside: None,
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

    /// The totals of the main run and of the one beside it, when a chapter runs two
    /// side by side.
    #[must_use]
    pub fn side_by_side(&self) -> Option<[Stats; 2]> {
        let beside = self.beside.as_ref()?.borrow().stats();
        let main = self.run.borrow().live()?.sim().stats();
        Some([main, beside])
    }

    fn tick(&mut self) {
        let t0 = page::now_ms();
        let wall = self
            .last_tick
            .map_or(TICK_MS, |t| (t0 - t).clamp(0.0, 2.5 * TICK_MS));
        self.last_tick = Some(t0);
        let want = wall * self.speed + self.carry;
        let out_of_time = || page::now_ms() - t0 > TICK_BUDGET_MS;
        let mut run = self.run.borrow_mut();
        run.meter.borrow_mut().start(t0);
        let paced = self.guide.as_mut().filter(|g| g.plays());
        let more = if let Some(guide) = paced {
            // The story waits for a cue: whole quanta, looking for it after each, so
            // that it pauses at the same moment for every reader.
            let quantum = QUANTUM_MS as f64;
            let quanta = (want / quantum).floor();
            self.carry = want - quanta * quantum;
            let mut more = true;
            for _ in 0..quanta as u64 {
                more = run.advance(QUANTUM_MS, || false);
                if run.live().is_some_and(|l| guide.watch(l.sim())) {
                    self.playing = false;
                    break;
                }
                if !more || out_of_time() {
                    break;
                }
            }
            more
        } else {
            let ms = want.floor();
            self.carry = want - ms;
            run.advance(ms as u64, out_of_time)
        };
        drop(run);
        self.keep_beside_up();
        let run = self.run.borrow();
        run.meter.borrow_mut().simulated(page::now_ms() - t0);
        if !more {
            self.playing = false;
        }
    }

    /// Runs the simulation beside the main one up to the main one's time (within
    /// [`BESIDE_BUDGET_MS`]).
    fn keep_beside_up(&self) {
        let Some(beside) = &self.beside else {
            return;
        };
        let Some(now) = self.run.borrow().live().map(|l| l.sim().now()) else {
            return;
        };
        let t0 = page::now_ms();
        let mut sim = beside.borrow_mut();
        while sim.now() < now && sim.violation().is_none() {
            let left = now.saturating_since(sim.now()).as_millis() as u64;
            sim.run_for(left.min(4 * QUANTUM_MS));
            if page::now_ms() - t0 > BESIDE_BUDGET_MS {
                break;
            }
        }
    }

    /// Opens chapter `n` at its first step: the chapter's simulation (and the one
    /// beside it) replaces the run, at the chapter's speed.
    fn open_chapter(&mut self, n: usize) -> Result<(), String> {
        let chapter = Chapter::number(n).ok_or_else(|| {
            format!(
                "there is no chapter {n}: the chapters are 1 to {}",
                learn::CHAPTERS.len()
            )
        })?;
        let problem = |e: leasehold::sim::SimError| format!("chapter {n}: {e}");
        let sim = chapter.simulation(false).map_err(problem)?;
        let beside = match chapter.beside {
            Some(_) => Some(chapter.simulation(true).map_err(problem)?),
            None => None,
        };
        let mut run = Run::of_simulation(sim);
        let guide = run
            .sim_mut()
            .and_then(|sim| Guide::open(n, sim))
            .ok_or_else(|| format!("chapter {n} did not open"))?;
        run.set_narrated(!guide.hands_over());
        let mut s = State::with_run(run, None);
        s.version = self.version;
        s.speed = chapter.speed;
        s.playing = guide.plays();
        s.guide = Some(guide);
        s.beside = beside.map(|b| Rc::new(RefCell::new(b)));
        *self = s;
        Ok(())
    }

    /// Leaves the chapter: its run stays on the dashboard, paused, and the URL's query
    /// describes it (a link reproduces it).
    fn leave_chapter(&mut self) {
        if self.guide.take().is_none() {
            return;
        }
        self.beside = None;
        self.playing = false;
        let mut run = self.run.borrow_mut();
        run.set_narrated(false);
        page::set_query(&run.spec.to_query());
    }

    /// Continue: returns false when there was nothing to do.
    fn forward(&mut self) -> bool {
        let Some(guide) = self.guide.as_mut() else {
            return false;
        };
        let forward = match self.run.borrow_mut().sim_mut() {
            Some(sim) => guide.forward(sim),
            None => return false,
        };
        match forward {
            Forward::Wait => return false,
            Forward::Reread | Forward::Began => {
                self.playing = guide.plays();
                self.last_tick = None;
            }
            Forward::Finished(Some(n)) => {
                page::set_hash(&learn::link(n));
                if let Err(e) = self.open_chapter(n) {
                    self.notice = Some(e);
                }
            }
            Forward::Finished(None) => {
                page::set_hash("");
                self.leave_chapter();
            }
        }
        true
    }

    /// Follows the story after any action: pauses when the awaited cue is met, and
    /// gives the controls to the reader once the "try it yourself" step is reached.
    fn follow_story(&mut self) {
        let Some(guide) = self.guide.as_mut() else {
            return;
        };
        let mut run = self.run.borrow_mut();
        let plays = guide.awaited().is_some_and(learn::Cue::plays);
        if run.live().is_some_and(|l| guide.watch(l.sim())) && plays {
            self.playing = false;
        }
        run.set_narrated(!guide.hands_over());
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
        let action = match (action, self.guide.is_some()) {
            (Action::Next, true) => Action::Continue,
            (Action::Next, false) => Action::Step,
            (Action::Previous, true) => Action::Back,
            (Action::Previous, false) => Action::SeekBy(-1),
            (action, _) => action,
        };
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
                s.keep_beside_up();
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
                        if s.guide.is_some() {
                            page::set_hash("");
                        }
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
            Action::Load(up) => {
                let mut run = s.run.borrow_mut();
                run.load(up);
                // The same load on both sides.
                let active = run.live().map(|l| l.sim().active_leases());
                if let (Some(n), Some(beside)) = (active, &s.beside) {
                    beside.borrow_mut().set_active(n);
                }
            }
            Action::ToggleHelp => s.help = !s.help,
            Action::Dismiss => {
                s.help = false;
                s.open_batch = None;
                s.notice = None;
            }
            Action::Route(Some(n)) => {
                if s.guide.as_ref().is_some_and(|g| g.number() == n) {
                    return self;
                }
                if let Err(e) = s.open_chapter(n) {
                    s.notice = Some(e);
                }
            }
            Action::Route(None) => s.leave_chapter(),
            Action::Continue => {
                if !s.forward() {
                    return self;
                }
            }
            Action::Back => {
                if !s.guide.as_mut().is_some_and(Guide::back) {
                    return self;
                }
                s.playing = false;
            }
            Action::Leave => {
                if s.guide.is_some() {
                    page::set_hash("");
                }
                s.leave_chapter();
            }
            // Mapped to the actions above before the match.
            Action::Next | Action::Previous => return self,
        }
        s.follow_story();
        s.watch_for_break();
        Rc::new(s)
    }
}
