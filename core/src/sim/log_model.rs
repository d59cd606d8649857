//! The modelled log: commit latency and a throughput limit, one entry after another.

use super::params::{LogModel, Mode};
use crate::time::Time;
use std::collections::VecDeque;

/// Appended entries waiting to commit, in order.
#[derive(Debug, Clone)]
pub(crate) struct LogQueue {
    model: LogModel,
    mode: Mode,
    /// When the log finishes what it has, in microseconds.
    busy_until_us: u64,
    pending: VecDeque<(Time, u64)>,
}

impl LogQueue {
    pub fn new(model: LogModel, mode: Mode) -> LogQueue {
        LogQueue {
            model,
            mode,
            busy_until_us: 0,
            pending: VecDeque::new(),
        }
    }

    /// How many log entries a batch of `ops` operations costs: one, or one per
    /// operation in per-op mode.
    pub fn entries(&self, ops: usize) -> u64 {
        match self.mode {
            Mode::Batched => 1,
            Mode::PerOp => ops as u64,
        }
    }

    /// Appends batch `seq` at `now`; returns when it will commit.
    pub fn append(&mut self, now: Time, seq: u64, ops: usize, bytes: usize) -> Time {
        let per_sec = |count: u64, rate: u64| {
            count
                .saturating_mul(1_000_000)
                .checked_div(rate)
                .unwrap_or(0)
        };
        let service = per_sec(self.entries(ops), self.model.entries_per_sec)
            .max(per_sec(ops as u64, self.model.ops_per_sec))
            .max(per_sec(bytes as u64, self.model.bytes_per_sec));
        let start = self.busy_until_us.max(now.as_millis() * 1_000);
        self.busy_until_us = start + service;
        let done =
            Time::from_millis(self.busy_until_us.div_ceil(1_000) + self.model.commit_latency_ms);
        let at = self
            .pending
            .back()
            .map_or(done, |&(last, _)| done.max(last));
        self.pending.push_back((at, seq));
        at
    }

    /// When the next entry commits.
    pub fn next_commit(&self) -> Option<Time> {
        self.pending.front().map(|&(at, _)| at)
    }

    /// The next batch that has committed by `now`.
    pub fn pop_committed(&mut self, now: Time) -> Option<u64> {
        if self.pending.front().is_some_and(|&(at, _)| at <= now) {
            self.pending.pop_front().map(|(_, seq)| seq)
        } else {
            None
        }
    }

    /// Entries appended and not yet committed.
    pub fn backlog(&self) -> usize {
        self.pending.len()
    }

    /// Forgets everything pending (the leader restarted; those entries are abandoned).
    pub fn clear(&mut self) -> Vec<u64> {
        self.pending.drain(..).map(|(_, seq)| seq).collect()
    }
}
