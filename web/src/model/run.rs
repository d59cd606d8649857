//! What the dashboard shows: a live simulation or an imported log, the committed log
//! as a [`Ledger`] (the head), and optionally the ledger at an earlier batch (the
//! timeline's position).

use super::attached::{Attached, Disagreement, Inbound};
use super::ledger::{BatchSummary, Ledger, OpAnswer};
use super::link::RunSpec;
use super::live::Live;
use super::logfile;
use super::service_log;
use leasehold::sim::{Simulation, Violation};
use leasehold::{Batch, Key, Op, Time};
use std::time::Duration;

/// Where the log comes from.
#[derive(Debug)]
pub enum Source {
    /// A simulation running in the page.
    Live(Box<Live>),
    /// A log file, replayed.
    Imported {
        /// The file's name.
        name: String,
    },
    /// A running lease service, watched live.
    Attached(Box<Attached>),
}

/// An invariant break, from the simulation's checker or the ledger's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The batch that broke it.
    pub batch: u64,
    /// What broke, with the log time.
    pub what: String,
}

impl From<&Disagreement> for Break {
    fn from(d: &Disagreement) -> Break {
        Break {
            batch: d.batch,
            what: d.what.clone(),
        }
    }
}

impl From<&Violation> for Break {
    fn from(v: &Violation) -> Break {
        Break {
            batch: v.batch,
            what: format!("at {}: {}", v.at, v.what),
        }
    }
}

/// The dashboard's model.
#[derive(Debug)]
pub struct Run {
    /// The scenario and parameters (of the live run, or the last one before an import).
    pub spec: RunSpec,
    source: Source,
    head: Ledger,
    view: Option<Ledger>,
    narrated: bool,
}

impl Run {
    /// Starts a live run of `spec`.
    pub fn start(spec: RunSpec) -> Result<Run, String> {
        let live = Live::new(&spec.scenario, spec.params.clone()).map_err(|e| e.to_string())?;
        Ok(Run::of_live(spec, live))
    }

    /// A live run of `sim`, a fresh simulation (a chapter's); its spec is the
    /// simulation's scenario and parameters, so a link reproduces it.
    #[must_use]
    pub fn of_simulation(sim: Simulation) -> Run {
        let spec = RunSpec {
            scenario: sim.scenario().name.to_owned(),
            params: sim.params().clone(),
        };
        Run::of_live(spec, Live::of(sim))
    }

    fn of_live(spec: RunSpec, live: Live) -> Run {
        let head = live.ledger();
        Run {
            spec,
            source: Source::Live(Box::new(live)),
            head,
            view: None,
            narrated: false,
        }
    }

    /// Attaches to the lease service at `url` (any member): an empty ledger until the
    /// watch delivers the cluster's state; `spec` is kept for the scenario picker.
    #[must_use]
    pub fn attach(spec: RunSpec, url: &str) -> Run {
        Run {
            spec,
            source: Source::Attached(Box::new(Attached::new(url))),
            head: Ledger::new(std::iter::empty(), true).with_log_cap(super::attached::LOG_KEPT),
            view: None,
            narrated: false,
        }
    }

    /// Replays a log file named `name` (an export, the driver's own log, or a segment
    /// of a service node's Raft log: see [`service_log`]); keeps
    /// `spec` for the scenario picker. A torn last frame is left out: the second value
    /// says so. A file that is not a log, or is damaged before its end, is refused with
    /// a message naming the record and its offset.
    pub fn import(
        spec: RunSpec,
        name: String,
        file: &[u8],
    ) -> Result<(Run, Option<String>), String> {
        let file = logfile::read(file).map_err(|e| format!("{name}: {e}"))?;
        let torn = file.torn_notice().map(|t| format!("{name}: {t}"));
        let mut offsets = file.offsets;
        let records = match service_log::read(&file.records).map_err(|e| format!("{name}: {e}"))? {
            // A service's segment: its batches, at the offsets of their entries.
            Some(log) => {
                offsets = log
                    .indexes
                    .iter()
                    .map(|&i| offsets.get(i as usize).copied().unwrap_or_default())
                    .collect();
                log.batches
            }
            None => file.records,
        };
        let head = Ledger::import(records).map_err(|e| {
            let offset = offsets.get(e.record).copied().unwrap_or_default();
            format!(
                "{name}: record {} at byte offset {offset} is not a batch: {}",
                e.record, e.error
            )
        })?;
        let run = Run {
            spec,
            source: Source::Imported { name },
            head,
            view: None,
            narrated: false,
        };
        Ok((run, torn))
    }

    // ---- reads -------------------------------------------------------------------

    /// The live simulation, if this is a live run.
    #[must_use]
    pub fn live(&self) -> Option<&Live> {
        match &self.source {
            Source::Live(l) => Some(l),
            Source::Imported { .. } | Source::Attached(_) => None,
        }
    }

    /// The live cluster, if attached to one.
    #[must_use]
    pub fn attached(&self) -> Option<&Attached> {
        match &self.source {
            Source::Attached(a) => Some(a),
            _ => None,
        }
    }

    /// The live cluster, to move.
    pub fn attached_mut(&mut self) -> Option<&mut Attached> {
        match &mut self.source {
            Source::Attached(a) => Some(a),
            _ => None,
        }
    }

    /// Takes what arrived from the attached cluster (nothing when not attached);
    /// returns what the operator should know.
    pub fn receive(&mut self, inbound: Inbound) -> Option<String> {
        match &mut self.source {
            Source::Attached(a) => a.receive(inbound, &mut self.head),
            _ => None,
        }
    }

    /// Where the log comes from.
    #[must_use]
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The ledger of the whole committed log.
    #[must_use]
    pub fn head(&self) -> &Ledger {
        &self.head
    }

    /// The ledger shown: at the timeline's position.
    #[must_use]
    pub fn shown(&self) -> &Ledger {
        self.view.as_ref().unwrap_or(&self.head)
    }

    /// Whether the timeline shows an earlier moment than the head of the log.
    #[must_use]
    pub fn in_past(&self) -> bool {
        self.view.is_some()
    }

    /// Whether operator actions apply: a live run shown at its head, whose controls no
    /// chapter's narration holds.
    #[must_use]
    pub fn can_act(&self) -> bool {
        (self.live().is_some() || self.attached().is_some())
            && self.view.is_none()
            && !self.narrated
    }

    /// Whether a chapter's narration holds the controls: operator actions and stepping
    /// wait until its "try it yourself" step, so that the story stays the same.
    #[must_use]
    pub fn narrated(&self) -> bool {
        self.narrated
    }

    /// Gives the controls to a chapter's narration (`true`) or back to the reader.
    pub fn set_narrated(&mut self, narrated: bool) {
        self.narrated = narrated;
    }

    /// The live simulation, to act on directly (a chapter's step does).
    pub fn sim_mut(&mut self) -> Option<&mut Simulation> {
        match &mut self.source {
            Source::Live(l) => Some(l.sim_mut()),
            Source::Imported { .. } | Source::Attached(_) => None,
        }
    }

    /// The time shown, in ms: the simulation's clock when live at the head, else the
    /// log time of the batch shown.
    #[must_use]
    pub fn time_ms(&self) -> u64 {
        match (self.live(), &self.view) {
            (Some(live), None) => live.sim().now().as_millis(),
            _ => self.shown().now().as_millis(),
        }
    }

    /// The first invariant break, if any.
    #[must_use]
    pub fn violation(&self) -> Option<Break> {
        let attached = self
            .attached()
            .and_then(Attached::first_disagreement)
            .map(Break::from);
        self.live()
            .and_then(|l| l.sim().violation())
            .or(self.head.violation())
            .map(Break::from)
            .or(attached)
    }

    /// How many invariant breaks were seen.
    #[must_use]
    pub fn violations(&self) -> u64 {
        let sim = self
            .live()
            .map_or(0, |l| u64::from(l.sim().violation().is_some()));
        let attached = self.attached().map_or(0, Attached::disagreements);
        sim.max(self.head.violations()) + attached
    }

    /// The answers of batch `seq`'s operations, replaying the log if they were not
    /// kept.
    #[must_use]
    pub fn answers(&self, seq: u64) -> Option<Vec<OpAnswer>> {
        if let Some(a) = self.shown().answers(seq).or(self.head.answers(seq)) {
            return Some(a.to_vec());
        }
        // A live cluster's ledger starts from a state, and keeps only its latest
        // batches: it cannot be replayed from the first batch.
        if self.attached().is_some() {
            return None;
        }
        let i = self.head.summaries().iter().position(|s| s.seq == seq)?;
        let mut ledger = Ledger::replay(std::iter::empty(), &self.head.log()[..i], false).ok()?;
        ledger.apply_bytes(&self.head.log()[i]).ok()?;
        ledger.answers(seq).map(<[OpAnswer]>::to_vec)
    }

    /// The decoded batch `seq`.
    #[must_use]
    pub fn batch(&self, seq: u64) -> Option<Batch> {
        Batch::decode(self.head.batch_bytes(seq)?).ok()
    }

    /// The log as a file, for export: [`leasehold::frame`]'s framing, as the driver
    /// writes its log.
    pub fn export(&self) -> Result<Vec<u8>, String> {
        if self.attached().is_some() {
            return Err(
                "the dashboard saw this cluster's log from the middle: open a \
                        node's own log file (its data directory's seg-*.log) instead"
                    .to_owned(),
            );
        }
        logfile::write(self.head.log()).map_err(|e| format!("the log cannot be exported: {e}"))
    }

    /// A file name for the export.
    #[must_use]
    pub fn export_name(&self) -> String {
        let base = match &self.source {
            Source::Live(_) => format!("{}-seed{}", self.spec.scenario, self.spec.params.seed),
            Source::Imported { name } => name.trim_end_matches(".lhlog").to_owned(),
            Source::Attached(_) => "cluster".to_owned(),
        };
        format!("leasehold-{base}-{}.lhlog", self.head.batches())
    }

    // ---- driving -----------------------------------------------------------------

    /// Advances `ms` of simulated (or, in the past, log) time; `out_of_time` is asked
    /// between chunks whether the tick's budget is spent. Returns false when there is
    /// nothing more to play (an imported log at its end, or a break).
    pub fn advance(&mut self, ms: u64, out_of_time: impl FnMut() -> bool) -> bool {
        if let Some(view) = &self.view {
            let target = view.now() + Duration::from_millis(ms);
            self.replay_until(|s| s.time <= target);
            return self.view.is_some() || self.live().is_some();
        }
        match &mut self.source {
            Source::Live(live) => {
                live.run(ms, &mut self.head, out_of_time);
                live.sim().violation().is_none()
            }
            Source::Imported { .. } => false,
            // The cluster moves by itself: what it sends arrives through `receive`.
            Source::Attached(_) => true,
        }
    }

    /// Runs until the next batch: in the past, applies the next one; live, runs until
    /// one settles (unless a chapter's narration holds the controls).
    pub fn step(&mut self) {
        if self.view.is_some() {
            let next = self.position() + 1;
            self.seek(next);
            return;
        }
        if self.narrated {
            return;
        }
        if let Source::Live(live) = &mut self.source {
            live.step(&mut self.head);
        }
    }

    /// The timeline's position: batches applied in the ledger shown.
    #[must_use]
    pub fn position(&self) -> usize {
        self.shown().batches()
    }

    /// Shows the state after the first `pos` batches (the head when `pos` reaches it).
    pub fn seek(&mut self, pos: usize) {
        let end = self.head.batches();
        // A live cluster's ledger starts from a state, not from the first batch: it
        // has no past to replay.
        if pos >= end || self.attached().is_some() {
            self.view = None;
            return;
        }
        let reusable = self.view.as_ref().is_some_and(|v| v.batches() <= pos);
        if !reusable {
            let keys = self.head.rows().iter().map(|r| r.key.clone());
            self.view = Some(Ledger::new(keys, false));
        }
        let mut left = pos - self.position();
        self.replay_until(|_| {
            let go = left > 0;
            left = left.saturating_sub(1);
            go
        });
    }

    /// Applies batches to the view while `more` says so; drops the view at the head.
    fn replay_until(&mut self, mut more: impl FnMut(&BatchSummary) -> bool) {
        let Some(view) = self.view.as_mut() else {
            return;
        };
        let log = self.head.log();
        let summaries = self.head.summaries();
        while let Some(s) = summaries.get(view.batches()) {
            if !more(s) {
                break;
            }
            if view.apply_bytes(&log[view.batches()]).is_err() {
                break;
            }
        }
        if view.batches() >= summaries.len() {
            self.view = None;
        }
    }

    // ---- operator actions (live, at the head) ---------------------------------------

    fn live_mut(&mut self) -> Option<&mut Live> {
        if self.view.is_some() || self.narrated {
            return None;
        }
        match &mut self.source {
            Source::Live(l) => Some(l),
            Source::Imported { .. } | Source::Attached(_) => None,
        }
    }

    /// Pins `key` for `entity`, for `seconds` from now if given.
    pub fn pin(&mut self, key: &Key, entity: &str, reason: &str, seconds: Option<u64>) {
        let now = self.head.now();
        let Some(live) = self.live_mut() else { return };
        let op = match (seconds, reason.trim()) {
            (None, "") => Op::pin(key.clone(), entity),
            (s, reason) => {
                let until = s.map_or(Time::MAX, |s| now + Duration::from_secs(s.max(1)));
                let reason = if reason.is_empty() { "pinned" } else { reason };
                Op::pin_until(key.clone(), entity, until, reason)
            }
        };
        live.operator(op);
    }

    /// Removes every pin of `key`.
    pub fn unpin(&mut self, key: &Key) {
        let entities: Vec<String> = self
            .head
            .pins(key)
            .iter()
            .map(|p| p.entity.to_string())
            .collect();
        let Some(live) = self.live_mut() else { return };
        for e in entities {
            live.operator(Op::unpin(key.clone(), e));
        }
    }

    /// Revokes `key` from its holder.
    pub fn revoke(&mut self, key: &Key) {
        let Some(holder) = self.holder(key) else {
            return;
        };
        if let Some(live) = self.live_mut() {
            live.operator(Op::revoke(key.clone(), holder));
        }
    }

    /// Hands `key` over to another unit that is up.
    pub fn hand_over(&mut self, key: &Key) {
        let Some(holder) = self.holder(key) else {
            return;
        };
        let Some(live) = self.live_mut() else { return };
        let Some(to) = live.successor(key, &holder) else {
            return;
        };
        let d = Duration::from_millis(live.sim().params().duration_ms);
        live.operator(Op::handover(key.clone(), holder, to, d));
    }

    /// Crashes the holder of `key`.
    pub fn crash(&mut self, key: &Key) {
        let Some(holder) = self.holder(key) else {
            return;
        };
        if let Some(live) = self.live_mut() {
            live.crash(key, &holder);
        }
    }

    /// Cuts the holder of `key` off the network for `ms`.
    pub fn partition(&mut self, key: &Key, ms: u64) {
        let Some(holder) = self.holder(key) else {
            return;
        };
        if let Some(live) = self.live_mut() {
            live.partition(key, &holder, ms);
        }
    }

    /// Restarts the engine's process; holders are cut off for `ms`, then reconnect.
    pub fn restart_engine(&mut self, ms: u64) {
        if let Some(live) = self.live_mut() {
            live.restart_engine(ms);
        }
    }

    /// Restarts the crashed units of `key`.
    pub fn restart(&mut self, key: &Key) {
        if let Some(live) = self.live_mut() {
            live.restart(key);
        }
    }

    /// Load up (`up`: twice the active leases, at most the scenario's) or down (half).
    pub fn load(&mut self, up: bool) {
        let Some(live) = self.live_mut() else { return };
        let active = live.sim().active_leases();
        let max = live.sim().params().leases;
        let n = if up {
            (active * 2).clamp(1, max)
        } else {
            active / 2
        };
        live.set_active(n);
    }

    fn holder(&self, key: &Key) -> Option<String> {
        self.head.row(key)?.holder.as_deref().map(str::to_owned)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A run of ps45 with 20 leases, 15 simulated seconds in.
    pub(crate) fn run() -> Run {
        let (spec, _) = RunSpec::from_query("?scenario=ps45&seed=3&leases=20");
        let mut run = Run::start(spec).unwrap();
        run.advance(15_000, || false);
        run
    }

    #[test]
    fn the_timeline_rewinds_and_plays_forward_to_the_head() {
        let mut run = run();
        let end = run.position();
        assert!(end > 20, "{end} batches");
        run.seek(10);
        assert!(run.in_past());
        assert_eq!(run.position(), 10);
        assert!(!run.can_act());
        run.step();
        assert_eq!(run.position(), 11);
        run.seek(5);
        assert_eq!(run.position(), 5);
        let at = run.shown().now();
        run.advance(1_000, || false);
        assert!(run.shown().now() <= at + Duration::from_millis(1_000));
        assert!(run.position() > 5);
        run.advance(60_000, || false);
        assert!(!run.in_past(), "caught up with the head");
        assert_eq!(run.position(), end);
    }

    #[test]
    fn a_live_clusters_old_batches_are_let_go_without_a_fault() {
        use super::super::attached::{Inbound, LOG_KEPT};
        use leasehold::{Batch, Fsm};
        let mut run = Run::attach(RunSpec::default(), "127.0.0.1:7401");
        let node = "http://127.0.0.1:7401".to_owned();
        let start = r#"{"kind":"snapshot","index":1,"globalTimeMs":0,"leases":[],"state":true}"#;
        run.receive(Inbound::Text(node.clone(), start.into()));
        run.receive(Inbound::Binary(
            node.clone(),
            Fsm::new().snapshot().encode().unwrap(),
        ));
        let count = LOG_KEPT as u64 * 2;
        for seq in 1..=count {
            let ms = Time::from_millis(seq);
            let batch = Batch::new(seq, vec![Op::set_time(Time::from_millis(seq - 1), ms)]);
            let results: Vec<Result<Option<u64>, String>> = vec![Ok(None)];
            let frame = postcard::to_allocvec(&(seq + 1, 1u64, batch.encode().unwrap(), results));
            run.receive(Inbound::Binary(node.clone(), frame.unwrap()));
        }
        assert_eq!(run.head().batches() as u64, count);
        assert!(run.batch(count).is_some() && run.answers(count).is_some());
        assert_eq!(run.batch(1), None, "its bytes were let go");
        assert_eq!(run.answers(1), None);
        assert!(run.export().is_err());
        run.seek(3);
        assert!(!run.in_past(), "a live cluster has no past to replay");
        assert_eq!(run.violations(), 0);
    }

    #[test]
    fn export_and_import_give_the_same_state() {
        let run = run();
        let file = run.export().unwrap();
        let (imported, torn) = Run::import(run.spec.clone(), "x.lhlog".into(), &file).unwrap();
        assert_eq!(torn, None);
        let listed = |r: &Run| {
            r.shown()
                .rows()
                .iter()
                .filter(|r| r.listed())
                .map(|r| (r.key.clone(), r.holder.clone(), r.token))
                .collect::<std::collections::BTreeSet<_>>()
        };
        assert_eq!(listed(&imported), listed(&run));
        assert_eq!(imported.time_ms(), run.head().now().as_millis());
        let bad = Run::import(run.spec.clone(), "bad".into(), b"nope").unwrap_err();
        assert!(bad.starts_with("bad: not a leasehold log"), "{bad}");
    }

    #[test]
    fn an_import_keeps_the_whole_records_of_a_torn_file_and_names_a_corrupt_one() {
        let run = run();
        let file = run.export().unwrap();
        let batches = run.head().batches();
        let (torn, notice) =
            Run::import(run.spec.clone(), "t.lhlog".into(), &file[..file.len() - 3]).unwrap();
        assert_eq!(torn.head().batches(), batches - 1);
        let notice = notice.unwrap();
        assert!(notice.starts_with("t.lhlog: torn tail: record"), "{notice}");
        // A damaged record in the middle: refused, naming it and its offset.
        let mut bad = file.clone();
        let offset = logfile::read(&file).unwrap().offset(1);
        bad[offset as usize + leasehold::frame::FRAME_HEADER_LEN] ^= 0xff;
        let e = Run::import(run.spec.clone(), "c.lhlog".into(), &bad).unwrap_err();
        assert!(
            e.contains(&format!("record 1 at byte offset {offset}")),
            "{e}"
        );
        // A whole frame whose bytes are no batch: named too.
        let mut records = run.head().log().to_vec();
        records[2] = vec![0xff; 5];
        let file = logfile::write(&records).unwrap();
        let e = Run::import(run.spec.clone(), "d.lhlog".into(), &file).unwrap_err();
        let at = logfile::read(&file).unwrap().offset(2);
        assert!(
            e.contains(&format!("record 2 at byte offset {at} is not a batch")),
            "{e}"
        );
    }

    #[test]
    fn operator_actions_reach_the_log() {
        let mut run = run();
        let held = |run: &Run, i: usize| {
            let row = &run.head().rows()[i];
            (row.key.clone(), row.holder.clone().unwrap(), row.token)
        };
        // Hand over: another unit holds it, with a new token.
        let (key, holder, token) = held(&run, 0);
        run.hand_over(&key);
        run.advance(500, || false);
        let (_, now, new_token) = held(&run, 0);
        assert_ne!(now, holder);
        assert!(new_token > token);
        // Revoke: deposed (an event says so).
        let (key, holder, _) = held(&run, 1);
        run.revoke(&key);
        run.advance(500, || false);
        assert!(run.head().events().any(|e| matches!(&e.event,
            leasehold::Event::Revoked { key: k, holder: h, .. } if *k == key && *h == holder)));
        // Crash and restart: the unit is down, then up.
        let (key, holder, _) = held(&run, 2);
        run.crash(&key);
        let live = run.live().unwrap();
        let (lease, unit) = live.unit_of(&key, &holder).unwrap();
        assert!(!live.sim().holder_up(lease, unit));
        run.restart(&key);
        assert!(run.live().unwrap().sim().holder_up(lease, unit));
        // Partition: the holder is cut off for a while.
        let (key, holder, _) = held(&run, 3);
        run.partition(&key, 10_000);
        let live = run.live().unwrap();
        let (lease, unit) = live.unit_of(&key, &holder).unwrap();
        assert!(!live.sim().holder_up(lease, unit));
        run.advance(10_500, || false);
        assert!(run.live().unwrap().sim().holder_up(lease, unit));
        // The engine restarts: the log goes on, the ledger still matches the engine.
        run.restart_engine(2_000);
        run.advance(8_000, || false);
        let engine = run.live().unwrap().sim().engine().fsm().snapshot();
        assert_eq!(run.head().fsm().snapshot(), engine);
        // Load down and up.
        run.load(false);
        assert_eq!(run.live().unwrap().sim().active_leases(), 10);
        run.load(true);
        assert_eq!(run.live().unwrap().sim().active_leases(), 20);
        // Nothing acts in the past.
        run.seek(1);
        let before = run.head().batches();
        run.revoke(&key);
        run.seek(usize::MAX);
        run.advance(2_000, || false);
        assert!(run.head().batches() > before);
        assert!(!run.head().events().any(|e| matches!(&e.event,
            leasehold::Event::Revoked { key: k, .. } if *k == key)));
    }

    /// A log as the driver writes it: its engine's batches (from seq 1, with its own
    /// `setTime`s), framed by [`leasehold::frame`].
    fn driver_log() -> Vec<u8> {
        use leasehold::{Config, Engine, LEADERSHIP_NAMESPACE, Output};
        let key = |l: &str| Key::new(LEADERSHIP_NAMESPACE, "model-1", l);
        let lease = Duration::from_millis(600);
        let mut engine = Engine::new(Config::default(), Time::ZERO).unwrap();
        let mut records = Vec::new();
        for step in 0..40 {
            let now = Time::from_millis(step * 100);
            match step {
                0 => {
                    let _ = engine.handle_request(now, Op::claim(key("mysql"), "mysql/0", lease));
                    let _ = engine.handle_request(now, Op::claim(key("mysql"), "mysql/1", lease));
                    let _ = engine.handle_request(now, Op::claim(key("db"), "db/0", lease));
                }
                3 => {
                    let until = now + Duration::from_secs(60);
                    let pin = Op::pin_until(key("db"), "machine-7", until, "series upgrade");
                    let _ = engine.handle_request(now, pin);
                }
                4 => {
                    let _ = engine.handle_request(now, Op::revoke(key("mysql"), "mysql/0"));
                }
                _ => {}
            }
            engine.handle_timeout(now);
            loop {
                match engine.poll_output() {
                    Output::Append(append) => {
                        records.push(append.bytes);
                        engine.handle_committed(now, append.seq).unwrap();
                    }
                    Output::Timeout(_) => break,
                    _ => {}
                }
            }
        }
        logfile::write(&records).unwrap()
    }

    #[test]
    fn a_log_the_driver_wrote_replays() {
        let file = driver_log();
        let spec = RunSpec::default();
        let (run, torn) = Run::import(spec, "leases.log".into(), &file).unwrap();
        assert_eq!(torn, None);
        let head = run.head();
        assert_eq!(
            head.summaries()[0].seq,
            1,
            "the driver's batches start at 1"
        );
        let first = run.batch(1).unwrap();
        assert!(first.ops.iter().any(|op| op.kind() == "claim"));
        assert!(
            head.batches() >= 4,
            "its clock writes time-only batches too"
        );
        assert!(head.now() >= Time::from_millis(3_000), "{}", head.now());
        // db outlives its 600 ms: pinned. mysql was revoked.
        let listed: Vec<_> = head.rows().iter().filter(|r| r.listed()).collect();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].key.lease.as_ref(), "db");
        assert_eq!(
            (listed[0].holder.as_deref(), listed[0].pins),
            (Some("db/0"), 1)
        );
        let kinds: Vec<&str> = head.events().map(|e| e.event.kind()).collect();
        assert!(
            kinds.starts_with(&["claimed", "claimed", "pinned"]),
            "{kinds:?}"
        );
        assert!(kinds.contains(&"revoked"), "{kinds:?}");
        assert_eq!(head.violations(), 0);
        // Every batch's operations get their answers.
        for s in head.summaries() {
            let ops = run.batch(s.seq).unwrap().ops.len();
            assert_eq!(run.answers(s.seq).unwrap().len(), ops);
        }
    }

    #[test]
    fn batch_details_have_an_answer_per_operation() {
        let run = run();
        let first = run.head().summaries()[0].seq;
        let batch = run.batch(first).unwrap();
        let answers = run.answers(first).unwrap();
        assert_eq!(answers.len(), batch.ops.len());
    }
}
