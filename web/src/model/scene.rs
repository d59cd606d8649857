//! The scene: the derived snapshot of what every view shows, built from a [`Run`] and
//! the view's [`Lens`] (selection, sort, filters, scroll, open batch).
//!
//! The reducer's state holds the scene; components draw from it and nothing else. It is
//! plain data, cheap to clone (every part behind an [`Rc`]) and compared by value, so a
//! view whose part did not change is not drawn again. Building one costs a few hundred
//! microseconds whatever the number of leases: only the rows on screen, the last
//! batches and events and the charts' window are copied.

use super::ledger::{BatchSummary, Ledger, LoggedEvent, OpAnswer};
use super::link::RunSpec;
use super::meter::TickMeter;
use super::run::{Break, Run, Source};
use super::series::{LogSample, Sample, log_samples};
use super::table::{Sort, TableOrder};
use crate::learn::Guide;
use leasehold::sim::Stats;
use leasehold::{BatchReport, Event, Key, Lane};
use std::rc::Rc;

/// Rows drawn at a time (the scroll area shows 20).
pub const DRAWN: usize = 24;
/// Rows drawn above the first visible one.
pub const OVERSCAN: usize = 2;
/// How many batches the batch list shows: as many as its 500 px hold, so it needs no
/// scroller of its own.
pub const BATCHES_SHOWN: usize = 22;
/// How many events the event log shows: as many as its 400 px hold (while holders
/// join, every one of them is new each tick).
pub const EVENTS_SHOWN: usize = 18;
/// How many seconds the charts show.
pub const CHART_SECONDS: usize = 120;
/// The most operations the batch detail lists.
pub const OPS_LISTED: usize = 400;

/// What the view looks at: the view state the scene depends on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lens {
    /// The selected lease.
    pub selected: Option<Key>,
    /// The lease table's sort.
    pub sort: Sort,
    /// The lease table's filter text.
    pub filter: String,
    /// The lease table's first visible row.
    pub scroll: usize,
    /// The event log's filter text.
    pub event_filter: String,
    /// The batch whose detail is open.
    pub open_batch: Option<u64>,
}

/// The page's own cost per tick (see [`TickMeter`]), ms.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Cost {
    /// The mean of the last ticks.
    pub mean: f64,
    /// Its simulation and ledger part.
    pub mean_sim: f64,
    /// The mean of every tick so far.
    pub overall: f64,
    /// How many ticks were measured.
    pub ticks: u64,
}

impl Cost {
    /// The figures of `meter`.
    #[must_use]
    pub fn of(meter: &TickMeter) -> Cost {
        Cost {
            mean: meter.mean(),
            mean_sim: meter.mean_sim(),
            overall: meter.overall(),
            ticks: meter.ticks(),
        }
    }
}

/// What the page shows: a simulation, a replayed log, or a live cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A simulation running in the page.
    Simulation,
    /// A log file, replayed.
    Replay,
    /// A running lease service, attached.
    Live,
}

impl Mode {
    /// `simulation`, `replay` or `live`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Mode::Simulation => "simulation",
            Mode::Replay => "replay",
            Mode::Live => "live",
        }
    }
}

/// What is running (the header).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceScene {
    /// What the page shows.
    pub mode: Mode,
    /// `ps45 · seed 3`, `x.lhlog · 120 batches`, or the cluster's URL.
    pub label: String,
    /// The scenario and parameters (of the live run, or the last one before an import).
    pub spec: RunSpec,
    /// How many batches the log holds.
    pub batches: usize,
}

/// The transport bar: time, load, what the operator may do, the page's cost.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockScene {
    /// The time shown, ms (simulated, or log time when replaying or in the past).
    pub time_ms: u64,
    /// Leases whose holders take part, and the scenario's leases.
    pub active: usize,
    /// The scenario's leases.
    pub leases: usize,
    /// Whether operator actions apply (live, at the head, not narrated).
    pub can_act: bool,
    /// Whether a chapter's narration holds the controls.
    pub narrated: bool,
    /// Whether the timeline shows an earlier moment.
    pub in_past: bool,
    /// The page's cost per tick.
    pub cost: Cost,
}

/// The timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineScene {
    /// Batches applied in the ledger shown.
    pub pos: usize,
    /// Batches in the log.
    pub end: usize,
    /// The last batch shown.
    pub seq: Option<u64>,
    /// Log time shown, ms.
    pub log_ms: u64,
    /// Whether it shows an earlier moment than the head.
    pub in_past: bool,
}

/// The invariant monitor.
#[derive(Debug, Clone, PartialEq)]
pub struct InvariantScene {
    /// Breaks seen.
    pub violations: u64,
    /// Batches checked.
    pub checked: usize,
    /// The first break and the timeline position just after its batch.
    pub broken: Option<(Break, usize)>,
}

/// One pin, for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinView {
    /// Who pinned it.
    pub entity: String,
    /// Why, if said.
    pub reason: Option<String>,
    /// Log time (ms) after which it lapses, if any.
    pub until: Option<u64>,
}

/// One lease, for display (log times in ms).
#[derive(Debug, Clone, PartialEq)]
pub struct LeaseRowView {
    /// The lease.
    pub key: Key,
    /// Its holder (empty while free).
    pub holder: String,
    /// Whether the holder's process is down (crashed or partitioned).
    pub holder_down: bool,
    /// Fencing token.
    pub token: u64,
    /// When granted.
    pub acquired: u64,
    /// When last renewed.
    pub renewed: u64,
    /// When it expires.
    pub expiry: u64,
    /// Its pins.
    pub pins: Vec<PinView>,
    /// Grants so far.
    pub transitions: u32,
}

/// The lease table: the rows on screen of the filtered, sorted list.
#[derive(Debug, Clone, PartialEq)]
pub struct TableScene {
    /// Rows listed (after the filter).
    pub total: usize,
    /// Leases held.
    pub held: usize,
    /// Log time shown, ms.
    pub now: u64,
    /// The display position of the first row drawn.
    pub first: usize,
    /// The rows drawn.
    pub rows: Vec<LeaseRowView>,
}

/// The selected lease, for the lease actions.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectedScene {
    /// The lease.
    pub key: Key,
    /// Its holder at the head of the log.
    pub holder: Option<String>,
    /// Whether anything pins it.
    pub pinned: bool,
}

/// One lane of the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneScene {
    /// The lane.
    pub lane: Lane,
    /// Requests waiting.
    pub depth: usize,
    /// Shed so far.
    pub shed: u64,
    /// Answered `DeadlineExceeded` so far.
    pub deadline: u64,
}

/// The engine's queue (live runs only).
#[derive(Debug, Clone, PartialEq)]
pub struct QueueScene {
    /// Every lane, in [`Lane::ALL`] order.
    pub lanes: Vec<LaneScene>,
    /// The shared lanes' capacity.
    pub capacity: usize,
    /// The singular lane's gauge scale: a batch's operations.
    pub max_batch_ops: usize,
    /// Batches in flight, and the most there may be.
    pub in_flight: (usize, usize),
    /// Requests answered by sharing another's operation.
    pub coalesced: u64,
    /// Whether the timeline shows an earlier moment (the queue is always now).
    pub in_past: bool,
    /// A live cluster's leader: its answers so far by outcome (its metrics have no
    /// per-lane counters, capacity or batches in flight).
    pub answers: Option<std::collections::BTreeMap<String, u64>>,
}

/// One batch in the batch list.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchItem {
    /// Its summary.
    pub summary: BatchSummary,
    /// Requests it answered and the longest wait, ms (live runs, recent batches).
    pub report: Option<(usize, u64)>,
}

/// The last batches.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchesScene {
    /// Newest first.
    pub items: Vec<BatchItem>,
    /// The batch that broke an invariant, if any.
    pub broken: Option<u64>,
}

/// One node of the attached cluster, for the cluster panel.
pub use super::cluster::NodeView;

/// The attached cluster (the cluster panel).
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterScene {
    /// Which attachment this is (a new one restarts the connections).
    pub epoch: u64,
    /// The URL the dashboard was pointed at.
    pub origin: String,
    /// Every node, by id.
    pub nodes: Vec<NodeView>,
    /// The leader.
    pub leader: Option<u64>,
    /// The watch link: `connecting`, `open` or `lost`.
    pub link: &'static str,
    /// The node watched (its base URL) and its id, if known.
    pub watched: (String, Option<u64>),
    /// Why the link was lost, while it is.
    pub lost_reason: Option<String>,
    /// Watches lost since attaching.
    pub reconnects: u64,
    /// Why the last ones were lost, oldest first.
    pub losses: Vec<String>,
    /// What the watch delivered.
    pub feed: super::attached::FeedCount,
    /// The last thing that went wrong with what arrived.
    pub problem: Option<String>,
}

/// The charts' samples.
#[derive(Debug, Clone, PartialEq)]
pub enum ChartsScene {
    /// A live cluster's: committed operations and batches, answers, latency, per
    /// wall-clock second.
    Cluster(Vec<super::attached::ClusterSample>),
    /// A live run's: requests, latency, shedding.
    Live(Vec<Sample>),
    /// A replayed log's: only what the log shows.
    Log(Vec<LogSample>),
}

/// One operation of a batch and its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct OpLine {
    /// The operation ([`leasehold::Op`]'s `Display`).
    pub text: String,
    /// Its kind ([`leasehold::Op::kind`]).
    pub kind: &'static str,
    /// The answer, if known.
    pub answer: Option<OpAnswer>,
}

/// One batch, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct DetailScene {
    /// The batch.
    pub seq: u64,
    /// Whether it is in the log (the rest is empty if not).
    pub found: bool,
    /// Its operations (at most [`OPS_LISTED`]).
    pub ops: Vec<OpLine>,
    /// How many operations it holds.
    pub total_ops: usize,
    /// Its encoded size.
    pub bytes: usize,
    /// The engine's report (live runs, recent batches).
    pub report: Option<BatchReport>,
    /// The invariant it broke, if it did.
    pub broken: Option<String>,
}

impl DetailScene {
    /// The detail of batch `seq` of `run`.
    #[must_use]
    pub fn of(run: &Run, seq: u64) -> DetailScene {
        let Some(batch) = run.batch(seq) else {
            return DetailScene {
                seq,
                found: false,
                ops: Vec::new(),
                total_ops: 0,
                bytes: 0,
                report: None,
                broken: None,
            };
        };
        let answers = run.answers(seq).unwrap_or_default();
        let ops = batch
            .ops
            .iter()
            .enumerate()
            .take(OPS_LISTED)
            .map(|(i, op)| OpLine {
                text: op.to_string(),
                kind: op.kind(),
                answer: answers.get(i).cloned(),
            })
            .collect();
        DetailScene {
            seq,
            found: true,
            ops,
            total_ops: batch.ops.len(),
            bytes: run.head().batch_bytes(seq).map_or(0, <[u8]>::len),
            report: run.live().and_then(|l| l.report(seq)).cloned(),
            broken: run.violation().filter(|b| b.batch == seq).map(|b| b.what),
        }
    }
}

/// A guided chapter on screen.
#[derive(Debug, Clone, PartialEq)]
pub struct ChapterScene {
    /// The reader's place in it.
    pub guide: Guide,
    /// The totals of the main run and of the one beside it (chapter 2).
    pub side_by_side: Option<[Stats; 2]>,
}

/// Everything the views show.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// What is running.
    pub source: Rc<SourceScene>,
    /// The transport bar.
    pub clock: Rc<ClockScene>,
    /// The timeline.
    pub timeline: Rc<TimelineScene>,
    /// The invariant monitor.
    pub invariants: Rc<InvariantScene>,
    /// The lease table.
    pub table: Rc<TableScene>,
    /// The selected lease.
    pub selected: Option<Rc<SelectedScene>>,
    /// The queue (live runs).
    pub queue: Option<Rc<QueueScene>>,
    /// The batch list.
    pub batches: Rc<BatchesScene>,
    /// The charts.
    pub charts: Rc<ChartsScene>,
    /// The event log.
    pub events: Rc<Vec<LoggedEvent>>,
    /// The open batch's detail.
    pub detail: Option<Rc<DetailScene>>,
    /// The chapter being read.
    pub chapter: Option<Rc<ChapterScene>>,
    /// The attached cluster.
    pub cluster: Option<Rc<ClusterScene>>,
}

/// What the scene is drawn from besides the run: the view's lens, the table's cached
/// order, the open batch's detail (cached: a batch never changes), the chapter, the
/// page's cost and the wall clock (a sort by a changing column is redone every second).
#[derive(Debug)]
pub struct Sources<'a> {
    /// The view's lens.
    pub lens: &'a Lens,
    /// The lease table's order, refreshed here.
    pub order: &'a mut TableOrder,
    /// The open batch's detail, if it was built already.
    pub detail: Option<Rc<DetailScene>>,
    /// The chapter being read.
    pub chapter: Option<ChapterScene>,
    /// The page's cost.
    pub cost: Cost,
    /// Wall-clock ms.
    pub wall_ms: f64,
    /// Which run this is (bumped whenever the run is replaced).
    pub epoch: u64,
}

impl Scene {
    /// The scene of `run` seen through `from`.
    #[must_use]
    pub fn draw(run: &Run, from: Sources<'_>) -> Scene {
        let shown = run.shown();
        let detail = from.lens.open_batch.map(|seq| {
            from.detail
                .filter(|d| d.seq == seq)
                .unwrap_or_else(|| Rc::new(DetailScene::of(run, seq)))
        });
        Scene {
            source: Rc::new(source(run)),
            clock: Rc::new(clock(run, from.cost)),
            timeline: Rc::new(TimelineScene {
                pos: run.position(),
                end: run.head().batches(),
                seq: shown.summaries().last().map(|s| s.seq),
                log_ms: shown.now().as_millis(),
                in_past: run.in_past(),
            }),
            invariants: Rc::new(invariants(run)),
            table: Rc::new(table(run, from.lens, from.order, from.wall_ms)),
            selected: from.lens.selected.as_ref().map(|key| {
                Rc::new(SelectedScene {
                    key: key.clone(),
                    holder: run
                        .head()
                        .row(key)
                        .and_then(|r| r.holder.as_deref().map(str::to_owned)),
                    pinned: !run.head().pins(key).is_empty(),
                })
            }),
            queue: queue(run).map(Rc::new),
            batches: Rc::new(batches(run)),
            charts: Rc::new(charts(run)),
            events: Rc::new(events(shown, from.lens.event_filter.trim())),
            detail,
            chapter: from.chapter.map(Rc::new),
            cluster: cluster(run, from.epoch).map(Rc::new),
        }
    }
}

fn source(run: &Run) -> SourceScene {
    let (mode, label) = match run.source() {
        Source::Live(_) => (
            Mode::Simulation,
            format!("{} · seed {}", run.spec.scenario, run.spec.params.seed),
        ),
        Source::Imported { name } => (
            Mode::Replay,
            format!("{name} · {} batches", run.head().batches()),
        ),
        Source::Attached(a) => (Mode::Live, a.cluster().origin().to_owned()),
    };
    SourceScene {
        mode,
        label,
        spec: run.spec.clone(),
        batches: run.head().batches(),
    }
}

fn clock(run: &Run, cost: Cost) -> ClockScene {
    let (active, leases) = run.live().map_or((0, 0), |l| {
        (l.sim().active_leases(), l.sim().params().leases)
    });
    ClockScene {
        time_ms: run.time_ms(),
        active,
        leases,
        can_act: run.can_act(),
        narrated: run.narrated(),
        in_past: run.in_past(),
        cost,
    }
}

fn invariants(run: &Run) -> InvariantScene {
    let checked = run.head().batches();
    InvariantScene {
        violations: run.violations(),
        checked,
        broken: run.violation().map(|b| {
            let pos = run
                .head()
                .summaries()
                .iter()
                .position(|s| s.seq == b.batch)
                .map_or(checked, |i| i + 1);
            (b, pos)
        }),
    }
}

fn table(run: &Run, lens: &Lens, order: &mut TableOrder, wall_ms: f64) -> TableScene {
    let ledger = run.shown();
    order.refresh(ledger, lens.sort, &lens.filter, wall_ms);
    let total = order.len();
    let first = lens.scroll.saturating_sub(OVERSCAN).min(total);
    let rows = order
        .window(first, DRAWN)
        .iter()
        .map(|&i| row_view(run, ledger, &ledger.rows()[i as usize]))
        .collect();
    TableScene {
        total,
        held: ledger.fsm().len(),
        now: ledger.now().as_millis(),
        first,
        rows,
    }
}

fn row_view(run: &Run, ledger: &Ledger, row: &super::ledger::Row) -> LeaseRowView {
    let holder = row.holder.as_deref().unwrap_or("").to_owned();
    let holder_down = !holder.is_empty()
        && !run.in_past()
        && run.live().is_some_and(|l| {
            l.unit_of(&row.key, &holder)
                .is_some_and(|(lease, unit)| !l.sim().holder_up(lease, unit))
        });
    LeaseRowView {
        key: row.key.clone(),
        holder,
        holder_down,
        token: row.token,
        acquired: row.acquired.as_millis(),
        renewed: row.renewed.as_millis(),
        expiry: row.expiry.as_millis(),
        pins: ledger
            .pins(&row.key)
            .iter()
            .map(|p| PinView {
                entity: p.entity.to_string(),
                reason: p.reason.as_deref().map(str::to_owned),
                until: p.until.map(|t| t.as_millis()),
            })
            .collect(),
        transitions: row.transitions,
    }
}

fn cluster(run: &Run, epoch: u64) -> Option<ClusterScene> {
    let a = run.attached()?;
    let c = a.cluster();
    let link = c.link();
    Some(ClusterScene {
        epoch,
        origin: c.origin().to_owned(),
        nodes: c.nodes().cloned().collect(),
        leader: c.leader(),
        link: link.name(),
        watched: (link.url().to_owned(), c.id_of(link.url())),
        lost_reason: match link {
            super::cluster::Link::Lost { reason, .. } => Some(reason.clone()),
            _ => None,
        },
        reconnects: c.reconnects(),
        losses: c.losses().map(str::to_owned).collect(),
        feed: a.feed().clone(),
        problem: a.problem().map(str::to_owned),
    })
}

/// The leader's queue, from its metrics: depths only (capacity and counters per lane
/// are the engine's own, not in the metrics).
fn cluster_queue(run: &Run) -> Option<QueueScene> {
    let a = run.attached()?;
    let m = a.metrics()?;
    Some(QueueScene {
        lanes: Lane::ALL
            .into_iter()
            .map(|lane| LaneScene {
                lane,
                depth: usize::try_from(a.depth(lane)).unwrap_or(usize::MAX),
                shed: 0,
                deadline: 0,
            })
            .collect(),
        capacity: leasehold::Config::default().queue_capacity,
        max_batch_ops: leasehold::Config::default().max_batch_ops,
        in_flight: (0, 0),
        coalesced: 0,
        in_past: false,
        answers: Some(m.answers.clone()),
    })
}

fn queue(run: &Run) -> Option<QueueScene> {
    if run.attached().is_some() {
        return cluster_queue(run);
    }
    let engine = run.live()?.sim().engine();
    let config = engine.config();
    let metrics = engine.metrics();
    Some(QueueScene {
        lanes: Lane::ALL
            .into_iter()
            .map(|lane| {
                let m = metrics.lane(lane);
                LaneScene {
                    lane,
                    depth: engine.queue_depth(lane),
                    shed: m.shed,
                    deadline: m.deadline_exceeded,
                }
            })
            .collect(),
        capacity: config.queue_capacity,
        max_batch_ops: config.max_batch_ops,
        in_flight: (engine.in_flight(), config.max_in_flight),
        coalesced: metrics.coalesced,
        in_past: run.in_past(),
        answers: None,
    })
}

fn batches(run: &Run) -> BatchesScene {
    let live = run.live();
    BatchesScene {
        items: run
            .shown()
            .summaries()
            .iter()
            .rev()
            .take(BATCHES_SHOWN)
            .map(|s| BatchItem {
                summary: *s,
                report: live.and_then(|l| l.report(s.seq)).map(|r| {
                    let wait = u64::try_from(r.max_wait.as_millis()).unwrap_or(u64::MAX);
                    (r.requests, wait)
                }),
            })
            .collect(),
        broken: run.violation().map(|b| b.batch),
    }
}

fn charts(run: &Run) -> ChartsScene {
    if let Some(a) = run.attached() {
        let skip = a.samples().len().saturating_sub(CHART_SECONDS);
        return ChartsScene::Cluster(a.samples().skip(skip).copied().collect());
    }
    match run.live() {
        Some(live) => {
            let s = live.series().samples();
            let skip = s.len().saturating_sub(CHART_SECONDS);
            ChartsScene::Live(s.skip(skip).copied().collect())
        }
        None => ChartsScene::Log(log_samples(run.shown(), CHART_SECONDS as u64)),
    }
}

/// Whether an event matches the event log's filter: a part of its lease, key, holder or
/// (for pins) entity.
#[must_use]
pub fn event_matches(e: &Event, filter: &str) -> bool {
    filter.is_empty()
        || e.key().lease.contains(filter)
        || e.key().to_string().contains(filter)
        || e.holder().is_some_and(|h| h.contains(filter))
        || matches!(e, Event::HandedOver { from, .. } if from.contains(filter))
        || matches!(e, Event::Pinned { entity, .. } | Event::Unpinned { entity, .. } if entity.contains(filter))
}

fn events(ledger: &Ledger, filter: &str) -> Vec<LoggedEvent> {
    ledger
        .events()
        .rev()
        .filter(|e| event_matches(&e.event, filter))
        .take(EVENTS_SHOWN)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::run::tests::run;

    fn draw(run: &Run, lens: &Lens, order: &mut TableOrder) -> Scene {
        Scene::draw(
            run,
            Sources {
                lens,
                order,
                detail: None,
                chapter: None,
                cost: Cost::default(),
                wall_ms: 0.0,
                epoch: 0,
            },
        )
    }

    #[test]
    fn the_scene_shows_the_rows_on_screen_and_the_latest_batches() {
        let run = run();
        let mut order = TableOrder::default();
        let lens = Lens::default();
        let scene = draw(&run, &lens, &mut order);
        assert_eq!(scene.table.total, 23, "20 leases and 3 singular ones");
        assert_eq!(scene.table.rows.len(), 23);
        assert_eq!(scene.batches.items.len(), BATCHES_SHOWN);
        assert!(scene.batches.items.iter().all(|b| b.report.is_some()));
        assert!(scene.queue.is_some() && scene.source.mode == Mode::Simulation);
        assert_eq!(scene.timeline.end, run.head().batches());
        assert!(scene.detail.is_none() && scene.selected.is_none());
        // The same run seen again: an equal scene (the views are not drawn again).
        assert_eq!(draw(&run, &lens, &mut order), scene);
        // Scrolled, filtered, a batch open.
        let seq = scene.batches.items[0].summary.seq;
        let key = scene.table.rows[0].key.clone();
        let lens = Lens {
            scroll: 10,
            open_batch: Some(seq),
            selected: Some(key.clone()),
            event_filter: key.lease.to_string(),
            ..Lens::default()
        };
        let scene = draw(&run, &lens, &mut order);
        assert_eq!(scene.table.first, 10 - OVERSCAN);
        assert_eq!(scene.table.rows.len(), 23 - (10 - OVERSCAN));
        let detail = scene.detail.unwrap();
        assert!(detail.found && detail.total_ops >= 1);
        assert_eq!(detail.ops.len(), detail.total_ops.min(OPS_LISTED));
        assert!(detail.ops.iter().all(|o| o.answer.is_some()));
        for op in &detail.ops {
            assert!(op.text.starts_with(op.kind), "{} is a {}", op.text, op.kind);
        }
        assert_eq!(scene.selected.unwrap().key, key);
        assert!(!scene.events.is_empty());
        assert!(scene.events.iter().all(|e| e.event.key() == &key));
    }
}
