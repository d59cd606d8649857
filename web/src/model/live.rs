//! A live run: the simulation, and the committed log it feeds into a [`Ledger`].
//!
//! The simulation records every batch it appends; a batch joins the ledger once it has
//! settled (committed, in order), and batches the log abandoned (a leader restart) are
//! left out, so the ledger holds exactly the committed log.

use super::ledger::Ledger;
use super::series::Series;
use leasehold::sim::{Action, Params, SimError, Simulation};
use leasehold::{Batch, BatchReport, Key, Op, Ticket};
use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

/// How much simulated time runs between two looks at the log (ms).
pub const CHUNK_MS: u64 = 1_000;

/// A running simulation and its committed log.
#[derive(Debug)]
pub struct Live {
    sim: Simulation,
    /// How many of the simulation's recorded batches were taken.
    cursor: usize,
    /// Appended, not yet settled.
    pending: VecDeque<(u64, Vec<u8>)>,
    abandoned: BTreeSet<u64>,
    series: Series,
}

impl Live {
    /// A run of `scenario` with `params`, recording its log.
    pub fn new(scenario: &str, params: Params) -> Result<Live, SimError> {
        Ok(Live::of(Simulation::new(scenario, params)?))
    }

    /// A run of `sim` (a fresh simulation, such as a chapter's); it records its log
    /// from here on.
    #[must_use]
    pub fn of(mut sim: Simulation) -> Live {
        sim.record();
        let series = Series::new(&sim);
        Live {
            sim,
            cursor: 0,
            pending: VecDeque::new(),
            abandoned: BTreeSet::new(),
            series,
        }
    }

    /// An empty ledger whose rows are this run's leases, in the simulation's order.
    #[must_use]
    pub fn ledger(&self) -> Ledger {
        let keys = (0..self.sim.lease_count()).filter_map(|i| self.sim.key(i).cloned());
        Ledger::new(keys, true)
    }

    /// The simulation.
    #[must_use]
    pub fn sim(&self) -> &Simulation {
        &self.sim
    }

    /// The simulation, to act on it directly (a chapter's step does); what it commits
    /// reaches the ledger at the next [`Live::sync`].
    pub fn sim_mut(&mut self) -> &mut Simulation {
        &mut self.sim
    }

    /// The charts' samples.
    #[must_use]
    pub fn series(&self) -> &Series {
        &self.series
    }

    /// Runs `ms` simulated milliseconds, feeding `ledger`, in chunks; stops early when
    /// `out_of_time` says so (checked between chunks) or an invariant breaks. Returns
    /// the simulated milliseconds actually run.
    pub fn run(
        &mut self,
        ms: u64,
        ledger: &mut Ledger,
        mut out_of_time: impl FnMut() -> bool,
    ) -> u64 {
        let start = self.sim.now();
        let end = start + Duration::from_millis(ms);
        while self.sim.now() < end && self.sim.violation().is_none() {
            let left = end.saturating_since(self.sim.now()).as_millis() as u64;
            self.sim.run_for(left.min(CHUNK_MS));
            self.sync(ledger);
            if out_of_time() {
                break;
            }
        }
        self.sim.now().saturating_since(start).as_millis() as u64
    }

    /// Runs until the next batch settles (at most ten simulated seconds).
    pub fn step(&mut self, ledger: &mut Ledger) -> bool {
        let settled = self.sim.step_batch(10_000);
        self.sync(ledger);
        settled
    }

    /// Takes newly recorded batches and applies the settled ones to `ledger`.
    pub fn sync(&mut self, ledger: &mut Ledger) {
        let recorded = self.sim.recording();
        // A batch may name leases by their places in the state it applies to, so it is
        // decoded only when it applies; until then its sequence number places it.
        for bytes in &recorded[self.cursor.min(recorded.len())..] {
            if let Ok(seq) = Batch::seq_of(bytes) {
                self.pending.push_back((seq, bytes.clone()));
            }
        }
        self.cursor = recorded.len();
        let mut settled = 0;
        for report in self.sim.recent_batches() {
            settled = settled.max(report.seq);
            if !report.committed {
                self.abandoned.insert(report.seq);
            }
        }
        while self.pending.front().is_some_and(|(seq, _)| *seq <= settled) {
            let (seq, bytes) = self.pending.pop_front().expect("front exists");
            if !self.abandoned.remove(&seq) {
                // The engine's own batches decode against the state they apply to.
                let _ = ledger.apply_bytes(&bytes);
            }
        }
        self.series.observe(&self.sim);
    }

    /// The report of batch `seq`, if it is among the latest settled.
    #[must_use]
    pub fn report(&self, seq: u64) -> Option<&BatchReport> {
        self.sim.recent_batches().find(|r| r.seq == seq)
    }

    /// Submits an operator's request now.
    pub fn operator(&mut self, op: Op) -> Ticket {
        self.sim.operator(op)
    }

    /// The lease index and unit of `holder`, a holder of `key` in this run.
    #[must_use]
    pub fn unit_of(&self, key: &Key, holder: &str) -> Option<(usize, usize)> {
        let lease = self.sim.lease_of(key)?;
        let unit: usize = holder.rsplit_once('/')?.1.parse().ok()?;
        (unit < self.sim.params().units).then_some((lease, unit))
    }

    /// Crashes `holder` of `key`.
    pub fn crash(&mut self, key: &Key, holder: &str) -> bool {
        let Some((lease, unit)) = self.unit_of(key, holder) else {
            return false;
        };
        self.sim.crash(lease, unit);
        true
    }

    /// Cuts `holder` of `key` off the network for `ms`: its requests and answers are lost.
    pub fn partition(&mut self, key: &Key, holder: &str, ms: u64) -> bool {
        let Some((lease, unit)) = self.unit_of(key, holder) else {
            return false;
        };
        let h = self.sim.holder_index(lease, unit);
        self.sim.inject(Action::Partition(h, ms));
        true
    }

    /// Restarts the engine's process: queued and in-flight requests are answered, every
    /// holder loses contact for `ms` and reconnects at once.
    pub fn restart_engine(&mut self, ms: u64) {
        self.sim.inject(Action::LeaderRestart(ms));
    }

    /// Restarts every crashed unit of `key`; returns how many.
    pub fn restart(&mut self, key: &Key) -> usize {
        let Some(lease) = self.sim.lease_of(key) else {
            return 0;
        };
        let down: Vec<usize> = (0..self.sim.params().units)
            .filter(|&u| !self.sim.holder_up(lease, u))
            .collect();
        for &u in &down {
            self.sim.restart(lease, u);
        }
        down.len()
    }

    /// The name of another unit of `key` that is up, to hand the lease over to.
    #[must_use]
    pub fn successor(&self, key: &Key, holder: &str) -> Option<String> {
        let (lease, unit) = self.unit_of(key, holder)?;
        let units = self.sim.params().units;
        let (name, _) = holder.rsplit_once('/')?;
        (1..units)
            .map(|d| (unit + d) % units)
            .find(|&u| self.sim.holder_up(lease, u))
            .map(|u| format!("{name}/{u}"))
    }

    /// Changes the load: the number of leases whose holders take part.
    pub fn set_active(&mut self, n: usize) {
        self.sim.set_active(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leasehold::sim::Scenario;

    fn small(scenario: &str, leases: usize) -> Live {
        let mut params = Scenario::named(scenario).unwrap().params;
        params.leases = leases;
        Live::new(scenario, params).unwrap()
    }

    #[test]
    fn the_ledger_follows_the_engine() {
        let mut live = small("ps45", 40);
        let mut ledger = live.ledger();
        live.run(45_000, &mut ledger, || false);
        let engine = live.sim().engine().fsm();
        // Every batch the ledger has applied, the engine has too: compare after a settle.
        assert_eq!(ledger.fsm().global_time(), engine.global_time());
        assert_eq!(
            ledger.fsm().snapshot().encode().unwrap(),
            engine.snapshot().encode().unwrap()
        );
        assert_eq!(ledger.listed(), 43);
        for row in ledger.rows() {
            let info = engine.lease(&row.key, engine.global_time()).unwrap();
            assert_eq!(row.holder.as_deref(), Some(&*info.holder));
            assert_eq!(row.token, info.token);
            assert_eq!(row.acquired, info.acquired);
        }
        assert_eq!(ledger.violations(), 0);
    }

    #[test]
    fn abandoned_batches_stay_out_of_the_ledger() {
        let mut live = small("restart-herd", 60);
        let mut ledger = live.ledger();
        live.run(80_000, &mut ledger, || false);
        let engine = live.sim().engine().fsm();
        assert_eq!(
            ledger.fsm().snapshot().encode().unwrap(),
            engine.snapshot().encode().unwrap()
        );
        assert_eq!(ledger.violations(), 0);
        // The exported log replays to the same state.
        let replayed = Ledger::import(ledger.log().to_vec()).unwrap();
        assert_eq!(
            replayed.fsm().snapshot().encode().unwrap(),
            engine.snapshot().encode().unwrap()
        );
    }

    #[test]
    fn a_pinned_lease_outlives_its_crashed_holder() {
        let mut live = small("ps45", 10);
        let mut ledger = live.ledger();
        live.run(20_000, &mut ledger, || false);
        let row = ledger.rows()[0].clone();
        let holder = row.holder.clone().unwrap();
        live.operator(Op::pin(row.key.clone(), "operator"));
        assert!(live.crash(&row.key, &holder));
        live.run(120_000, &mut ledger, || false);
        let now = ledger.row(&row.key).unwrap();
        assert_eq!((now.holder.as_ref(), now.token), (Some(&holder), row.token));
        live.operator(Op::unpin(row.key.clone(), "operator"));
        live.run(90_000, &mut ledger, || false);
        let after = ledger.row(&row.key).unwrap();
        assert_ne!(
            after.token, row.token,
            "expired and claimed by another unit"
        );
        assert_ne!(after.holder.as_ref(), Some(&holder));
    }
}
