//! The page's own cost: wall-clock milliseconds the main thread spends per tick
//! (advancing the simulation, feeding the ledger and drawing), as a rolling mean.

use std::collections::VecDeque;

/// How many ticks the rolling mean covers.
pub const WINDOW: usize = 50;

/// Tick costs, newest last.
#[derive(Debug, Clone, Default)]
pub struct TickMeter {
    recent: VecDeque<f64>,
    /// Of each recent tick: the part spent running the simulation and the ledger.
    recent_sim: VecDeque<f64>,
    sim_ms: f64,
    total: f64,
    ticks: u64,
    /// When the tick being drawn started, if one is.
    started: Option<f64>,
}

impl TickMeter {
    /// A tick started at wall-clock `ms`.
    pub fn start(&mut self, ms: f64) {
        self.started = Some(ms);
    }

    /// The simulation (and ledger) part of the tick being measured took `ms`.
    pub fn simulated(&mut self, ms: f64) {
        self.sim_ms = ms;
    }

    /// Whether a tick is being measured (started, not finished).
    #[must_use]
    pub fn measuring(&self) -> bool {
        self.started.is_some()
    }

    /// The tick that started last finished (drawn) at wall-clock `ms`.
    pub fn finish(&mut self, ms: f64) {
        let Some(start) = self.started.take() else {
            return;
        };
        let cost = (ms - start).max(0.0);
        if self.recent.len() == WINDOW {
            self.recent.pop_front();
            self.recent_sim.pop_front();
        }
        self.recent.push_back(cost);
        self.recent_sim
            .push_back(std::mem::take(&mut self.sim_ms).min(cost));
        self.total += cost;
        self.ticks += 1;
    }

    /// The mean cost of the last [`WINDOW`] ticks, ms.
    #[must_use]
    pub fn mean(&self) -> f64 {
        if self.recent.is_empty() {
            0.0
        } else {
            self.recent.iter().sum::<f64>() / self.recent.len() as f64
        }
    }

    /// The mean simulation part of the last [`WINDOW`] ticks, ms (the rest is drawing).
    #[must_use]
    pub fn mean_sim(&self) -> f64 {
        if self.recent_sim.is_empty() {
            0.0
        } else {
            self.recent_sim.iter().sum::<f64>() / self.recent_sim.len() as f64
        }
    }

    /// The mean cost of every tick so far, ms.
    #[must_use]
    pub fn overall(&self) -> f64 {
        if self.ticks == 0 {
            0.0
        } else {
            self.total / self.ticks as f64
        }
    }

    /// How many ticks were measured.
    #[must_use]
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// The costliest tick of the window, ms.
    #[must_use]
    pub fn worst(&self) -> f64 {
        self.recent.iter().copied().fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_and_overall_means() {
        let mut m = TickMeter::default();
        m.finish(5.0);
        assert_eq!(m.ticks(), 0, "no tick had started");
        for i in 0..(WINDOW + 10) {
            m.start(100.0 * i as f64);
            m.finish(100.0 * i as f64 + if i < 10 { 10.0 } else { 2.0 });
        }
        assert_eq!(m.mean(), 2.0);
        assert!(m.overall() > 2.0);
        assert_eq!(m.worst(), 2.0);
        m.start(0.0);
        m.simulated(1.5);
        m.finish(3.0);
        assert!(m.mean_sim() > 0.0 && m.mean_sim() < m.mean());
    }
}
