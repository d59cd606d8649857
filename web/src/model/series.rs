//! The charts' data: one sample per simulated second, taken from the simulation's
//! running totals (the difference from the previous sample).

use super::ledger::Ledger;
use leasehold::sim::Simulation;
use leasehold::{Event, Metrics};
use std::collections::VecDeque;

/// How many samples (simulated seconds) the charts keep.
pub const SAMPLES_KEPT: usize = 300;

/// What happened during one simulated second.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// The end of the second, simulated seconds since the start.
    pub t: f64,
    /// Requests submitted.
    pub requests: f64,
    /// Claims and extensions that succeeded.
    pub successes: f64,
    /// Mean operations per batch cut.
    pub batch_size: f64,
    /// Median request-to-answer latency of the answers in this second, ms.
    pub p50_ms: f64,
    /// 99th percentile latency of the answers in this second, ms.
    pub p99_ms: f64,
    /// Requests shed (all lanes).
    pub shed: f64,
    /// Leases that changed holder.
    pub leader_changes: f64,
}

/// The running totals a sample is the difference of.
#[derive(Debug, Clone)]
struct Totals {
    requests: u64,
    successes: u64,
    leader_changes: u64,
    metrics: Metrics,
}

impl Totals {
    fn of(sim: &Simulation) -> Totals {
        let s = sim.stats();
        Totals {
            requests: s.requests,
            successes: s.extend_ok + s.claims_ok,
            leader_changes: s.leader_changes,
            metrics: sim.engine().metrics(),
        }
    }
}

/// The samples of a run, newest last.
#[derive(Debug, Clone)]
pub struct Series {
    samples: VecDeque<Sample>,
    last: Totals,
    next_ms: u64,
}

impl Series {
    /// Samples of `sim`, from its current totals on.
    #[must_use]
    pub fn new(sim: &Simulation) -> Series {
        Series {
            samples: VecDeque::new(),
            last: Totals::of(sim),
            next_ms: (sim.now().as_millis() / 1_000 + 1) * 1_000,
        }
    }

    /// Takes a sample if `sim` has passed the end of the current second.
    pub fn observe(&mut self, sim: &Simulation) {
        let now = sim.now().as_millis();
        if now < self.next_ms {
            return;
        }
        let cur = Totals::of(sim);
        // Per second, even when more than one second passed since the last sample.
        let secs = ((now - self.next_ms) / 1_000 + 1) as f64;
        let per = |a: u64, b: u64| a.saturating_sub(b) as f64 / secs;
        let (m, l) = (&cur.metrics, &self.last.metrics);
        let batches = m.batches.saturating_sub(l.batches);
        let ops = m.batch_ops.saturating_sub(l.batch_ops);
        let shed = |m: &Metrics| m.lanes.iter().map(|lane| lane.shed).sum::<u64>();
        let (p50, p99) = m.latency_ms.since(&l.latency_ms).map_or((0, 0), |recent| {
            (recent.quantile(0.5), recent.quantile(0.99))
        });
        let sample = Sample {
            t: now as f64 / 1_000.0,
            requests: per(cur.requests, self.last.requests),
            successes: per(cur.successes, self.last.successes),
            batch_size: if batches == 0 {
                0.0
            } else {
                ops as f64 / batches as f64
            },
            p50_ms: p50 as f64,
            p99_ms: p99 as f64,
            shed: per(shed(m), shed(l)),
            leader_changes: per(cur.leader_changes, self.last.leader_changes),
        };
        if self.samples.len() == SAMPLES_KEPT {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
        self.last = cur;
        self.next_ms = (now / 1_000 + 1) * 1_000;
    }

    /// The samples, oldest first.
    pub fn samples(&self) -> impl ExactSizeIterator<Item = &Sample> + Clone {
        self.samples.iter()
    }

    /// How many samples there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether there is no sample yet.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

/// What one second of a log shows, without the requests behind it (a replayed log).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LogSample {
    /// The end of the second, log seconds.
    pub t: f64,
    /// Operations committed.
    pub ops: f64,
    /// Batches committed.
    pub batches: f64,
    /// Mean operations per batch.
    pub batch_size: f64,
    /// Holders deposed (expired, revoked, handed over).
    pub deposed: f64,
}

/// The last `seconds` log seconds of `ledger`, one sample per second.
#[must_use]
pub fn log_samples(ledger: &Ledger, seconds: u64) -> Vec<LogSample> {
    let end = ledger.now().as_millis() / 1_000 + 1;
    let start = end.saturating_sub(seconds);
    let mut out: Vec<LogSample> = (start..end)
        .map(|s| LogSample {
            t: (s + 1) as f64,
            ..LogSample::default()
        })
        .collect();
    let slot = |ms: u64| (ms / 1_000).checked_sub(start).map(|i| i as usize);
    for b in ledger.summaries().iter().rev() {
        let Some(i) = slot(b.time.as_millis()) else {
            break;
        };
        if let Some(s) = out.get_mut(i) {
            s.ops += f64::from(b.ops);
            s.batches += 1.0;
        }
    }
    for e in ledger.events().rev() {
        let Some(i) = slot(e.at.as_millis()) else {
            break;
        };
        let deposed = matches!(
            e.event,
            Event::Expired { .. } | Event::Revoked { .. } | Event::HandedOver { .. }
        );
        if let (true, Some(s)) = (deposed, out.get_mut(i)) {
            s.deposed += 1.0;
        }
    }
    for s in &mut out {
        s.batch_size = if s.batches > 0.0 {
            s.ops / s.batches
        } else {
            0.0
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use leasehold::sim::Scenario;

    #[test]
    fn one_sample_per_simulated_second() {
        let mut params = Scenario::named("ps45").unwrap().params;
        params.leases = 30;
        let mut sim = Simulation::new("ps45", params).unwrap();
        let mut series = Series::new(&sim);
        for _ in 0..25 {
            sim.run_for(400);
            series.observe(&sim);
        }
        assert_eq!(series.len(), 10);
        let total: f64 = series.samples().map(|s| s.successes).sum();
        assert!(total >= 20.0, "most leases were claimed: {total}");
        assert!(series.samples().any(|s| s.batch_size >= 1.0));
    }

    #[test]
    fn a_log_gives_operations_batches_and_depositions_per_second() {
        use leasehold::{Batch, Key, Op, Time};
        use std::time::Duration;
        let key = Key::new("application-leadership", "m", "a");
        let log = [
            Batch::new(
                1,
                vec![Op::claim(key.clone(), "a/0", Duration::from_secs(1))],
            ),
            Batch::new(2, vec![Op::set_time(Time::ZERO, Time::from_millis(2_500))]),
        ];
        let bytes: Vec<Vec<u8>> = log.iter().map(|b| b.encode().unwrap()).collect();
        let ledger = Ledger::replay([key], &bytes, false).unwrap();
        let samples = log_samples(&ledger, 60);
        assert_eq!(samples.len(), 3);
        assert_eq!((samples[0].ops, samples[0].batches), (1.0, 1.0));
        assert_eq!((samples[2].ops, samples[2].deposed), (1.0, 1.0));
        assert_eq!(
            samples[1],
            LogSample {
                t: 2.0,
                ..LogSample::default()
            }
        );
    }
}
