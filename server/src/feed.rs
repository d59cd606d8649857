//! The feed of committed batches, for watchers: every applied batch with its log index,
//! broadcast live and kept in a bounded ring of recent ones so that a watcher can resume
//! from a log index.
//!
//! The state machine publishes while it holds its state lock, and a watcher subscribes
//! under the same lock ([`crate::StateMachine::watch`]), so a watcher's starting state and
//! its first batch meet without a gap or an overlap.

use crate::fence::Committed;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::broadcast;

/// How many batches a watcher may fall behind the live feed before it is dropped (it
/// then resumes from the index it reached).
pub const LIVE_CAPACITY: usize = 1024;

/// How many operations the ring of recent batches keeps, at most.
pub const RECENT_OPS: usize = 200_000;

/// One committed batch and its log index.
#[derive(Debug)]
pub struct Item {
    /// The Raft log index of its entry.
    pub index: u64,
    /// What it did.
    pub committed: Committed,
}

/// The live broadcast and the ring of recent batches.
#[derive(Debug)]
pub(crate) struct Feed {
    live: broadcast::Sender<Arc<Item>>,
    recent: VecDeque<Arc<Item>>,
    recent_ops: usize,
}

impl Default for Feed {
    fn default() -> Feed {
        Feed {
            live: broadcast::Sender::new(LIVE_CAPACITY),
            recent: VecDeque::new(),
            recent_ops: 0,
        }
    }
}

impl Feed {
    /// Publishes one committed batch.
    pub(crate) fn publish(&mut self, item: Item) {
        let item = Arc::new(item);
        self.recent_ops += item.committed.batch.ops.len();
        self.recent.push_back(Arc::clone(&item));
        while self.recent_ops > RECENT_OPS && self.recent.len() > 1 {
            if let Some(old) = self.recent.pop_front() {
                self.recent_ops -= old.committed.batch.ops.len();
            }
        }
        // No receivers is fine: nobody watches.
        let _ = self.live.send(item);
    }

    /// A receiver of every batch published from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Item>> {
        self.live.subscribe()
    }

    /// The recent batches from log index `from` on, when the ring still reaches back
    /// to it (its oldest batch is at or before `from`, or nothing was applied since).
    pub(crate) fn since(&self, from: u64, applied: u64) -> Option<Vec<Arc<Item>>> {
        let reaches = from > applied || self.recent.front().is_some_and(|f| f.index <= from);
        reaches.then(|| {
            self.recent
                .iter()
                .filter(|i| i.index >= from)
                .cloned()
                .collect()
        })
    }
}
