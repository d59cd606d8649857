//! The session: everything the dashboard runs, as opposed to how it is viewed. It owns
//! the [`Run`] (the simulation or the replayed log, its ledger and the timeline), the
//! chapter being read (its [`Guide`] and chapter 2's second simulation), the pace of
//! play, the lease table's cached order and the page's tick meter.
//!
//! The reducer ([`crate::state`]) never touches it: the reducer's state is view state
//! and the [`Scene`] (the derived snapshot) the session last drew. What the reducer
//! wants done to the run it queues as numbered [`Command`]s; a hook performs them here
//! ([`Session::perform`]) and the ticker advances the run ([`Session::tick`]); either
//! way the session answers with an [`Update`]: the new scene, what the view should do
//! about what happened ([`Outcome`]: pause at a cue or a break, start over after a new
//! run, a notice) and the last command performed. So the simulation is never cloned
//! and the reducer stays a pure function of its state and actions.
//!
//! Plain Rust with the clock passed in: the chapters are walked through it natively.

use super::attached::Inbound;
use super::link::RunSpec;
use super::meter::TickMeter;
use super::run::Run;
use super::scene::{ChapterScene, Cost, DetailScene, Lens, Scene, Sources};
use super::service::Call;
use super::table::TableOrder;
use crate::learn::{self, Chapter, Cue, Forward, Guide, QUANTUM_MS};
use leasehold::Key;
use leasehold::sim::{SimError, Simulation};
use std::rc::Rc;
use std::time::Duration;

/// How long one tick lasts, wall-clock ms (the ticker's period).
pub const TICK_MS: f64 = 100.0;
/// The most wall-clock time a tick may spend running the simulation, ms; beyond it the
/// simulation falls behind the chosen speed rather than freezing the page.
pub const TICK_BUDGET_MS: f64 = 40.0;
/// The most wall-clock time a tick may spend running the simulation beside the main
/// one (chapter 2), ms; beyond it that one falls behind.
pub const BESIDE_BUDGET_MS: f64 = 20.0;
/// How long the operator's "cut off" lasts, ms.
pub const PARTITION_MS: u64 = 10_000;
/// How long holders are cut off when the engine restarts, ms.
pub const ENGINE_RESTART_MS: u64 = 5_000;

/// Something to do to the run.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Run until the next batch (in the past: apply the next one).
    Step,
    /// Show the state after the first `n` batches.
    Seek(usize),
    /// Move the timeline by this many batches.
    SeekBy(i64),
    /// Back to the head of the log.
    ToHead,
    /// Offer the committed log as a file.
    Export,
    /// Replay a log file.
    Import {
        /// The file's name.
        name: String,
        /// Its bytes.
        bytes: Rc<[u8]>,
    },
    /// Start a new live run.
    Start(RunSpec),
    /// Pin a lease.
    Pin {
        /// The lease.
        key: Key,
        /// Who pins it.
        entity: String,
        /// Why (may be empty).
        reason: String,
        /// For how many seconds, if limited.
        seconds: Option<u64>,
    },
    /// Remove every pin of a lease.
    Unpin(Key),
    /// Revoke a lease from its holder.
    Revoke(Key),
    /// Hand a lease over to another unit that is up.
    HandOver(Key),
    /// Hand a lease over to a named holder (a live cluster's lease).
    HandOverTo {
        /// The lease.
        key: Key,
        /// The new holder.
        to: String,
    },
    /// Attach to the lease service at this URL (any member), live.
    Attach(String),
    /// Crash a lease's holder.
    Crash(Key),
    /// Restart a lease's crashed units.
    Restart(Key),
    /// Cut a lease's holder off the network for [`PARTITION_MS`].
    Partition(Key),
    /// Restart the engine's process (every holder reconnects at once).
    RestartEngine,
    /// Load up (`true`) or down.
    Load(bool),
    /// Open chapter `n` at its first step.
    Open(usize),
    /// The chapter's next step, or at its end the next chapter.
    Continue,
    /// The chapter's previous step.
    Back,
    /// Leave the chapter (its run stays, paused).
    Leave,
}

/// A new run replaced the one on screen: the view starts over.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fresh {
    /// The speed it plays at, if it has its own (a chapter's).
    pub speed: Option<f64>,
}

/// A file to offer for download.
#[derive(Debug, Clone, PartialEq)]
pub struct Download {
    /// Its name.
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// What the view should do about what happened to the run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    /// A new run: the view starts over (selection, sort, filters, open batch, notice).
    pub fresh: Option<Fresh>,
    /// Play (`true`) or pause (`false`): a story's cue was met or a step began, an
    /// invariant broke, a replayed log reached its end.
    pub playing: Option<bool>,
    /// Open this batch's detail (the batch that broke an invariant).
    pub open_batch: Option<u64>,
    /// A message for the operator.
    pub notice: Option<String>,
    /// A file to offer (an export); the hook offers it, the reducer never sees it.
    pub download: Option<Download>,
    /// Requests for the attached cluster (an operator's action); the hook sends them
    /// with the operator's token, the reducer never sees them.
    pub calls: Vec<Call>,
}

impl Outcome {
    /// This outcome followed by `later`: a fresh run forgets what came before it; else
    /// the later word wins.
    #[must_use]
    pub fn then(self, later: Outcome) -> Outcome {
        if later.fresh.is_some() {
            return later;
        }
        Outcome {
            fresh: self.fresh,
            playing: later.playing.or(self.playing),
            open_batch: later.open_batch.or(self.open_batch),
            notice: later.notice.or(self.notice),
            download: later.download.or(self.download),
            calls: [self.calls, later.calls].concat(),
        }
    }

    /// Whether there is nothing to do.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Outcome::default()
    }
}

/// What the session tells the reducer after it moved.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// What the views show now.
    pub scene: Scene,
    /// What the view should do about it.
    pub outcome: Outcome,
    /// The last command performed (commands are numbered from 1).
    pub done: u64,
}

/// A chapter being read.
#[derive(Debug)]
struct Reading {
    guide: Guide,
    /// A second simulation beside the main one, with other settings (chapter 2).
    beside: Option<Simulation>,
}

/// Everything the dashboard runs.
#[derive(Debug)]
pub struct Session {
    run: Run,
    reading: Option<Reading>,
    /// Simulated ms owed by earlier ticks (slow speeds move less than 1 ms per tick).
    carry: f64,
    /// Whether the break on screen was already acted on (paused, jumped to).
    break_seen: bool,
    /// The last command performed.
    done: u64,
    lens: Lens,
    order: TableOrder,
    /// The open batch's detail, with the run and the breaks it was built for.
    detail: Option<(u64, u64, Rc<DetailScene>)>,
    /// Bumped whenever the run is replaced.
    epoch: u64,
    meter: TickMeter,
    /// What opening the session had to say (a refused link, a chapter's pace).
    opening: Outcome,
}

impl Session {
    /// A session of `run`.
    #[must_use]
    pub fn of(run: Run) -> Session {
        Session {
            run,
            reading: None,
            carry: 0.0,
            break_seen: false,
            done: 0,
            lens: Lens::default(),
            order: TableOrder::default(),
            detail: None,
            epoch: 0,
            meter: TickMeter::default(),
            opening: Outcome::default(),
        }
    }

    /// The session a link opens: the query's scenario and parameters (`?scenario=…`),
    /// paused at zero, or the chapter its fragment links to (`#/learn/N`). What went
    /// wrong (a refused parameter, no such chapter) waits in [`Session::opening`].
    #[must_use]
    pub fn from_link(query: &str, fragment: &str) -> Session {
        let (spec, problems) = RunSpec::from_query(query);
        if let Some(url) = super::link::attach_of(query) {
            return Session::of(Run::attach(spec, &url));
        }
        let (run, notice) = match Run::start(spec) {
            Ok(run) => (run, None),
            Err(e) => (
                Run::start(RunSpec::default()).expect("the default run starts"),
                Some(e),
            ),
        };
        let mut session = Session::of(run);
        session.opening.notice =
            notice.or_else(|| (!problems.is_empty()).then(|| problems.join("; ")));
        if let Some(n) = learn::linked(fragment) {
            let opened = session.open_chapter(n);
            session.opening = std::mem::take(&mut session.opening).then(opened);
        }
        session
    }

    /// What opening the session had to say; taken once.
    pub fn opening(&mut self) -> Outcome {
        std::mem::take(&mut self.opening)
    }

    /// The run.
    #[must_use]
    pub fn run(&self) -> &Run {
        &self.run
    }

    /// The chapter being read.
    #[must_use]
    pub fn guide(&self) -> Option<&Guide> {
        self.reading.as_ref().map(|r| &r.guide)
    }

    /// The last command performed.
    #[must_use]
    pub fn done(&self) -> u64 {
        self.done
    }

    /// The page's tick meter (see [`Session::tick`]).
    pub fn meter_mut(&mut self) -> &mut TickMeter {
        &mut self.meter
    }

    /// Looks through `lens` from now on (the ticker draws with the last lens given).
    pub fn look(&mut self, lens: Lens) {
        self.lens = lens;
    }

    /// The scene: what the views show now, through the last lens, at wall-clock
    /// `wall_ms`.
    pub fn scene(&mut self, wall_ms: f64) -> Scene {
        let violations = self.run.violations();
        let detail = self
            .detail
            .as_ref()
            .filter(|(epoch, seen, _)| *epoch == self.epoch && *seen == violations)
            .map(|(_, _, d)| d.clone());
        let chapter = self.reading.as_ref().map(|r| ChapterScene {
            guide: r.guide.clone(),
            side_by_side: r
                .beside
                .as_ref()
                .zip(self.run.live())
                .map(|(beside, main)| [main.sim().stats(), beside.stats()]),
        });
        let scene = Scene::draw(
            &self.run,
            Sources {
                lens: &self.lens,
                order: &mut self.order,
                detail,
                chapter,
                cost: Cost::of(&self.meter),
                wall_ms,
                epoch: self.epoch,
            },
        );
        // A batch in the log never changes: keep its detail.
        self.detail = scene
            .detail
            .clone()
            .filter(|d| d.found)
            .map(|d| (self.epoch, violations, d));
        scene
    }

    /// Performs `commands` (numbered; those already performed are skipped) and draws
    /// the scene at wall-clock `clock()`.
    pub fn perform<'a>(
        &mut self,
        commands: impl IntoIterator<Item = &'a (u64, Command)>,
        clock: &dyn Fn() -> f64,
    ) -> Update {
        let mut outcome = Outcome::default();
        for (id, command) in commands {
            if *id <= self.done {
                continue;
            }
            self.done = *id;
            let done = self.command(command.clone(), clock);
            outcome = outcome.then(done);
        }
        Update {
            scene: self.scene(clock()),
            outcome,
            done: self.done,
        }
    }

    /// Takes what arrived from the attached cluster and draws the scene at wall-clock
    /// `clock()`; measured by the tick meter as a tick of a live cluster.
    pub fn receive(&mut self, inbound: Vec<Inbound>, clock: &dyn Fn() -> f64) -> Update {
        let t0 = clock();
        self.meter.start(t0);
        let mut out = Outcome::default();
        for item in inbound {
            if let Some(notice) = self.run.receive(item) {
                out.notice = Some(notice);
            }
        }
        if let Some(a) = self.run.attached_mut() {
            a.tick(t0);
        }
        self.meter.simulated(clock() - t0);
        let out = self.follow(out);
        Update {
            scene: self.scene(clock()),
            outcome: out,
            done: self.done,
        }
    }

    /// Where the attached cluster's next watch goes: its WebSocket URL, the node's
    /// base URL and how long to wait first (ms); `None` when not attached.
    pub fn next_watch(&mut self) -> Option<(String, String, u64)> {
        self.run
            .attached_mut()
            .map(super::attached::Attached::next_watch)
    }

    /// Advances the run by `wanted_ms` of simulated time (within [`TICK_BUDGET_MS`] of
    /// wall-clock time) and draws the scene. The tick meter starts measuring; the page
    /// finishes the measurement once the tick is drawn.
    pub fn tick(&mut self, wanted_ms: f64, clock: &dyn Fn() -> f64) -> Update {
        let t0 = clock();
        self.meter.start(t0);
        let outcome = self.advance(wanted_ms, clock);
        self.meter.simulated(clock() - t0);
        Update {
            scene: self.scene(clock()),
            outcome,
            done: self.done,
        }
    }

    // ---- moving ------------------------------------------------------------------

    fn command(&mut self, command: Command, clock: &dyn Fn() -> f64) -> Outcome {
        let mut out = Outcome::default();
        let run = &mut self.run;
        match command {
            Command::Step => {
                run.step();
                self.keep_beside_up(clock);
            }
            Command::Seek(n) => run.seek(n),
            Command::SeekBy(d) => {
                let n = i64::try_from(run.position())
                    .unwrap_or(i64::MAX)
                    .saturating_add(d);
                run.seek(usize::try_from(n).unwrap_or(0));
            }
            Command::ToHead => {
                let end = run.head().batches();
                run.seek(end);
            }
            Command::Export => match run.export() {
                Ok(bytes) => {
                    out.download = Some(Download {
                        name: run.export_name(),
                        bytes,
                    });
                }
                Err(e) => out.notice = Some(e),
            },
            Command::Import { name, bytes } => {
                out = match Run::import(run.spec.clone(), name, &bytes) {
                    Ok((imported, torn)) => {
                        let mut fresh = self.replace(imported, None, None);
                        fresh.notice = torn;
                        fresh
                    }
                    Err(e) => Outcome {
                        notice: Some(e),
                        ..Outcome::default()
                    },
                };
            }
            Command::Start(spec) => {
                out = match Run::start(spec) {
                    Ok(started) => self.replace(started, None, None),
                    Err(e) => Outcome {
                        notice: Some(e),
                        ..Outcome::default()
                    },
                };
            }
            Command::Pin { .. }
            | Command::Unpin(_)
            | Command::Revoke(_)
            | Command::HandOverTo { .. }
                if run.attached().is_some() =>
            {
                out.calls = calls(run, &command);
            }
            Command::HandOverTo { key, .. } => run.hand_over(&key),
            Command::Attach(url) => {
                let attached = Run::attach(run.spec.clone(), &url);
                out = self.replace(attached, None, None);
            }
            Command::Pin {
                key,
                entity,
                reason,
                seconds,
            } => run.pin(&key, &entity, &reason, seconds),
            Command::Unpin(key) => run.unpin(&key),
            Command::Revoke(key) => run.revoke(&key),
            Command::HandOver(key) => run.hand_over(&key),
            Command::Crash(key) => run.crash(&key),
            Command::Restart(key) => run.restart(&key),
            Command::Partition(key) => run.partition(&key, PARTITION_MS),
            Command::RestartEngine => run.restart_engine(ENGINE_RESTART_MS),
            Command::Load(up) => {
                run.load(up);
                // The same load on both sides.
                let active = run.live().map(|l| l.sim().active_leases());
                let beside = self.reading.as_mut().and_then(|r| r.beside.as_mut());
                if let (Some(n), Some(beside)) = (active, beside) {
                    beside.set_active(n);
                }
            }
            Command::Open(n) => out = self.open_chapter(n),
            Command::Continue => out = self.forward(),
            Command::Back => {
                if self.reading.as_mut().is_some_and(|r| r.guide.back()) {
                    out.playing = Some(false);
                }
            }
            Command::Leave => out = self.leave_chapter(),
        }
        self.follow(out)
    }

    fn advance(&mut self, wanted_ms: f64, clock: &dyn Fn() -> f64) -> Outcome {
        let t0 = clock();
        let want = wanted_ms + self.carry;
        let out_of_time = || clock() - t0 > TICK_BUDGET_MS;
        let mut out = Outcome::default();
        let paced = self.reading.as_mut().filter(|r| r.guide.plays());
        let more = if let Some(reading) = paced {
            // The story waits for a cue: whole quanta, looking for it after each, so
            // that it pauses at the same moment for every reader.
            let quantum = QUANTUM_MS as f64;
            let quanta = (want / quantum).floor();
            self.carry = want - quanta * quantum;
            let mut more = true;
            for _ in 0..quanta as u64 {
                more = self.run.advance(QUANTUM_MS, || false);
                if self
                    .run
                    .live()
                    .is_some_and(|l| reading.guide.watch(l.sim()))
                {
                    out.playing = Some(false);
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
            self.run.advance(ms as u64, out_of_time)
        };
        self.keep_beside_up(clock);
        if !more {
            out.playing = Some(false);
        }
        self.follow(out)
    }

    /// Runs the simulation beside the main one up to the main one's time (within
    /// [`BESIDE_BUDGET_MS`]).
    fn keep_beside_up(&mut self, clock: &dyn Fn() -> f64) {
        let Some(sim) = self.reading.as_mut().and_then(|r| r.beside.as_mut()) else {
            return;
        };
        let Some(now) = self.run.live().map(|l| l.sim().now()) else {
            return;
        };
        let t0 = clock();
        while sim.now() < now && sim.violation().is_none() {
            let left = now.saturating_since(sim.now()).as_millis() as u64;
            sim.run_for(left.min(4 * QUANTUM_MS));
            if clock() - t0 > BESIDE_BUDGET_MS {
                break;
            }
        }
    }

    /// After anything moved: follows the story (pauses when the awaited cue is met,
    /// gives the controls to the reader at the "try it yourself" step) and pauses at the
    /// first invariant break, showing its batch.
    fn follow(&mut self, mut out: Outcome) -> Outcome {
        if let Some(reading) = self.reading.as_mut() {
            let guide = &mut reading.guide;
            let plays = guide.awaited().is_some_and(Cue::plays);
            if self.run.live().is_some_and(|l| guide.watch(l.sim())) && plays {
                out.playing = Some(false);
            }
            self.run.set_narrated(!guide.hands_over());
        }
        let broken = self.run.violation().filter(|_| !self.break_seen);
        if let Some(b) = broken {
            self.break_seen = true;
            out.playing = Some(false);
            out.open_batch = Some(b.batch);
            let at = self
                .run
                .head()
                .summaries()
                .iter()
                .position(|s| s.seq == b.batch);
            if let Some(i) = at {
                self.run.seek(i + 1);
            }
        }
        out
    }

    /// Replaces the run (and the chapter): the view starts over, paused unless told.
    fn replace(&mut self, run: Run, reading: Option<Reading>, speed: Option<f64>) -> Outcome {
        let playing = reading.as_ref().is_some_and(|r| r.guide.plays());
        self.run = run;
        self.reading = reading;
        self.carry = 0.0;
        self.break_seen = false;
        self.order = TableOrder::default();
        self.detail = None;
        self.lens = Lens::default();
        self.epoch += 1;
        Outcome {
            fresh: Some(Fresh { speed }),
            playing: Some(playing),
            ..Outcome::default()
        }
    }

    // ---- chapters ----------------------------------------------------------------

    /// Opens chapter `n` at its first step: the chapter's simulation (and the one
    /// beside it) replaces the run, at the chapter's speed.
    fn open_chapter(&mut self, n: usize) -> Outcome {
        match Session::chapter(n) {
            Ok((run, reading, speed)) => self.replace(run, Some(reading), Some(speed)),
            Err(e) => Outcome {
                notice: Some(e),
                ..Outcome::default()
            },
        }
    }

    fn chapter(n: usize) -> Result<(Run, Reading, f64), String> {
        let chapter = Chapter::number(n).ok_or_else(|| {
            format!(
                "there is no chapter {n}: the chapters are 1 to {}",
                learn::CHAPTERS.len()
            )
        })?;
        let problem = |e: SimError| format!("chapter {n}: {e}");
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
        Ok((run, Reading { guide, beside }, chapter.speed))
    }

    /// Leaves the chapter: its run stays on the dashboard, paused.
    fn leave_chapter(&mut self) -> Outcome {
        if self.reading.take().is_none() {
            return Outcome::default();
        }
        self.run.set_narrated(false);
        Outcome {
            playing: Some(false),
            ..Outcome::default()
        }
    }

    /// Continue: the next step, or the next chapter, or back to the dashboard.
    fn forward(&mut self) -> Outcome {
        let (Some(reading), Some(sim)) = (self.reading.as_mut(), self.run.sim_mut()) else {
            return Outcome::default();
        };
        match reading.guide.forward(sim) {
            Forward::Wait => Outcome::default(),
            Forward::Reread | Forward::Began => Outcome {
                playing: Some(reading.guide.plays()),
                ..Outcome::default()
            },
            Forward::Finished(Some(n)) => self.open_chapter(n),
            Forward::Finished(None) => self.leave_chapter(),
        }
    }
}

/// The requests that do an operator's `command` on the attached cluster (none
/// when not attached, or for what only a simulation can do).
fn calls(run: &Run, command: &Command) -> Vec<Call> {
    use Command as C;
    let holder = |key: &Key| run.head().row(key)?.holder.as_deref().map(str::to_owned);
    if run.attached().is_none() {
        return Vec::new();
    }
    let now = run.head().now();
    match command {
        C::Pin {
            key,
            entity,
            reason,
            seconds,
        } => {
            let until = seconds.map(|s| now + Duration::from_secs(s.max(1)));
            vec![Call::pin(key, entity, reason, until)]
        }
        C::Unpin(key) => run
            .head()
            .pins(key)
            .iter()
            .map(|p| Call::unpin(key, &p.entity))
            .collect(),
        C::Revoke(key) => holder(key)
            .map(|h| Call::revoke(key, &h))
            .into_iter()
            .collect(),
        C::HandOverTo { key, to } => holder(key)
            .map(|h| Call::handover(key, &h, to))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attach_link_opens_a_live_cluster_whose_operator_actions_become_requests() {
        use super::super::attached::Inbound;
        use leasehold::{Batch, Fsm, Op};
        let mut session = Session::from_link("?attach=http://127.0.0.1:7401", "");
        let update = session.receive(Vec::new(), &clock);
        assert_eq!(update.scene.source.mode, super::super::scene::Mode::Live);
        let cluster = update.scene.cluster.clone().unwrap();
        assert_eq!(
            (cluster.origin.as_str(), cluster.link),
            ("http://127.0.0.1:7401", "connecting")
        );
        // The watch delivers a state and a batch.
        let node = "http://127.0.0.1:7401".to_owned();
        let mut fsm = Fsm::new();
        let key = Key::new("app", "m", "db");
        fsm.apply_batch(&Batch::new(
            1,
            vec![Op::claim(key.clone(), "db/0", Duration::from_secs(60))],
        ));
        let start = r#"{"kind":"snapshot","index":3,"globalTimeMs":0,"leases":[],"state":true}"#;
        let update = session.receive(
            vec![
                Inbound::Opened(node.clone()),
                Inbound::Text(node.clone(), start.to_owned()),
                Inbound::Binary(node, fsm.snapshot().encode().unwrap()),
            ],
            &clock,
        );
        assert_eq!(update.scene.table.total, 1);
        assert_eq!(update.scene.cluster.unwrap().link, "open");
        // An operator's pin is a request for the cluster, not a change to the page.
        let pin = Command::Pin {
            key: key.clone(),
            entity: "machine-0".into(),
            reason: "upgrade".into(),
            seconds: Some(60),
        };
        let update = session.perform(&[(1, pin)], &clock);
        assert_eq!(update.outcome.calls.len(), 1);
        assert_eq!(update.outcome.calls[0].path, "/v1/pin");
        assert_eq!(update.outcome.calls[0].body["untilMs"], 60_000);
        let revoke = session.perform(&[(2, Command::Revoke(key.clone()))], &clock);
        assert_eq!(revoke.outcome.calls[0].body["holder"], "db/0");
        // Exporting a log seen from the middle is refused with a reason.
        let export = session.perform(&[(3, Command::Export)], &clock);
        assert!(export.outcome.notice.unwrap().contains("from the middle"));
        // A new simulation detaches.
        let spec = RunSpec::default();
        let update = session.perform(&[(4, Command::Start(spec))], &clock);
        assert!(update.scene.cluster.is_none());
        assert!(session.next_watch().is_none());
    }

    fn clock() -> f64 {
        0.0
    }

    fn perform(session: &mut Session, id: u64, command: Command) -> Update {
        session.perform(&[(id, command)], &clock)
    }

    #[test]
    fn a_link_opens_its_run_or_its_chapter_and_says_what_it_refused() {
        let mut s = Session::from_link("?scenario=fencing-race&seed=3&units=0", "");
        let preset = RunSpec::preset("fencing-race").unwrap().params;
        let params = &s.run().spec.params;
        assert_eq!(
            (params.seed, params.units),
            (3, preset.units),
            "the preset, with the seed"
        );
        let opening = s.opening();
        assert!(opening.notice.unwrap().contains("units"));
        assert!(s.opening().is_empty(), "said once");
        let mut s = Session::from_link("", "#/learn/1");
        assert_eq!(s.guide().map(Guide::number), Some(1));
        let opening = s.opening();
        assert_eq!(opening.fresh, Some(Fresh { speed: Some(10.0) }));
        assert_eq!(
            opening.playing,
            Some(true),
            "the first step waits for a cue"
        );
        let mut s = Session::from_link("", "#/learn/9");
        assert!(s.guide().is_none());
        assert!(s.opening().notice.unwrap().contains("no chapter 9"));
    }

    #[test]
    fn commands_are_performed_once_in_order() {
        let mut s = Session::from_link("?scenario=ps45&seed=3&leases=20", "");
        let update = s.tick(15_000.0, &clock);
        assert!(update.outcome.is_empty());
        assert!(
            s.meter_mut().measuring(),
            "the page finishes the tick's measure"
        );
        let end = update.scene.timeline.end;
        assert!(end > 20);
        let commands = [(1, Command::Seek(5)), (2, Command::SeekBy(-2))];
        let update = s.perform(&commands, &clock);
        assert_eq!((update.done, update.scene.timeline.pos), (2, 3));
        // Performed already: nothing happens again.
        let update = s.perform(&commands, &clock);
        assert_eq!(update.scene.timeline.pos, 3);
        let update = perform(&mut s, 3, Command::ToHead);
        assert_eq!(update.scene.timeline.pos, end);
        assert!(!update.scene.timeline.in_past);
        // Export, then import: a replay of the same log, and the view starts over.
        let update = perform(&mut s, 4, Command::Export);
        let file = update.outcome.download.unwrap();
        assert!(file.name.ends_with(".lhlog"));
        let bytes: Rc<[u8]> = file.bytes.into();
        let name = "x.lhlog".to_owned();
        let update = perform(&mut s, 5, Command::Import { name, bytes });
        assert_eq!(update.outcome.fresh, Some(Fresh { speed: None }));
        assert!(update.scene.source.mode != super::super::scene::Mode::Simulation);
        assert_eq!(update.scene.timeline.end, end);
        // Playing a replay to its end pauses.
        perform(&mut s, 6, Command::Seek(1));
        let update = s.tick(1_000_000.0, &clock);
        assert_eq!(update.outcome.playing, Some(false));
        let bad = Command::Import {
            name: "bad".into(),
            bytes: Rc::from(&b"hello"[..]),
        };
        let update = perform(&mut s, 7, bad);
        assert!(
            update
                .outcome
                .notice
                .unwrap()
                .contains("not a leasehold log")
        );
        assert!(update.outcome.fresh.is_none());
    }

    #[test]
    fn operator_commands_reach_the_log() {
        let mut s = Session::from_link("?scenario=ps45&seed=3&leases=20", "");
        s.tick(15_000.0, &clock);
        let key = s.run().head().rows()[0].key.clone();
        let token = s.run().head().rows()[0].token;
        perform(&mut s, 1, Command::HandOver(key.clone()));
        s.tick(500.0, &clock);
        assert!(s.run().head().row(&key).unwrap().token > token);
        let pin = Command::Pin {
            key: key.clone(),
            entity: "machine-7".into(),
            reason: "upgrade".into(),
            seconds: Some(30),
        };
        perform(&mut s, 2, pin);
        s.tick(500.0, &clock);
        let pins = s.run().head().pins(&key);
        assert_eq!(pins[0].entity.as_ref(), "machine-7");
        perform(&mut s, 3, Command::Load(false));
        assert_eq!(s.run().live().unwrap().sim().active_leases(), 10);
    }

    /// Walks chapter `n` as the dashboard does: ticks of 100 ms × the chapter's speed
    /// while the story plays, Continue as soon as it may.
    fn walk(n: usize) -> Session {
        let mut s = Session::from_link("", &learn::link(n));
        let mut playing = s.opening().playing.unwrap_or(false);
        let mut id = 0;
        let speed = Chapter::number(n).unwrap().speed;
        loop {
            let guide = s.guide().unwrap().clone();
            if guide.hands_over() {
                assert!(s.run().can_act(), "the controls are the reader's");
                return s;
            }
            if guide.can_continue() {
                id += 1;
                let update = perform(&mut s, id, Command::Continue);
                playing = update.outcome.playing.unwrap_or(playing);
                continue;
            }
            assert!(
                playing,
                "chapter {n}: the story waits for a cue, so it plays"
            );
            assert!(!s.run().can_act(), "the story holds the controls");
            let update = s.tick(TICK_MS * speed, &clock);
            playing = update.outcome.playing.unwrap_or(playing);
            assert!(
                s.run().time_ms() < 30 * 60_000,
                "chapter {n} never reached its cue"
            );
        }
    }

    #[test]
    fn every_chapter_is_walked_through_the_session() {
        for n in 1..=learn::CHAPTERS.len() {
            let s = walk(n);
            assert_eq!(s.run().violations(), 0, "chapter {n}");
        }
    }

    #[test]
    fn chapter_two_keeps_the_store_beside_it_at_the_same_time() {
        let mut s = walk(2);
        let scene = s.scene(0.0);
        let [main, beside] = scene.chapter.unwrap().side_by_side.clone().unwrap();
        assert_eq!(
            (main.mode.as_str(), beside.mode.as_str()),
            ("batched", "per-op")
        );
        assert_eq!(main.sim_seconds, beside.sim_seconds);
        assert!(beside.entries_per_second > 20.0 * main.entries_per_second);
        // The load moves on both sides.
        perform(&mut s, 100, Command::Load(false));
        let beside = s.reading.as_ref().unwrap().beside.as_ref().unwrap();
        assert_eq!(beside.active_leases(), 1_500);
    }

    #[test]
    fn the_end_of_a_chapter_opens_the_next_and_the_last_returns_to_the_dashboard() {
        let mut s = walk(5);
        let update = perform(&mut s, 100, Command::Continue);
        assert_eq!(update.outcome.fresh, Some(Fresh { speed: Some(10.0) }));
        assert_eq!(update.scene.chapter.unwrap().guide.number(), 6);
        let mut s = walk(6);
        let update = perform(&mut s, 100, Command::Continue);
        assert!(update.scene.chapter.is_none());
        assert_eq!(update.outcome.playing, Some(false));
        assert!(
            update.scene.clock.can_act
                && update.scene.source.mode == super::super::scene::Mode::Simulation
        );
        // Back shows the previous step and pauses; leave keeps the run.
        let mut s = Session::from_link("", "#/learn/1");
        assert_eq!(
            perform(&mut s, 1, Command::Back).outcome,
            Outcome::default()
        );
        let update = perform(&mut s, 2, Command::Leave);
        assert_eq!(update.outcome.playing, Some(false));
        assert!(update.scene.chapter.is_none() && update.scene.clock.can_act);
        assert_eq!(update.scene.source.spec.params.seed, 11);
    }
}
