//! Where each outstanding request's answer goes.
//!
//! The engine numbers tickets densely from 1, so answers are routed through a queue
//! indexed by ticket; requests lost on the way (numbered from [`LOST`]) use a map.

use rustc_hash::FxHashMap;
use std::collections::VecDeque;

/// The first ticket number of requests that never reached the engine.
pub(crate) const LOST: u64 = 1 << 62;

/// Outstanding requests by ticket.
#[derive(Debug, Clone)]
pub(crate) struct Routes<R> {
    /// The ticket of `dense[0]`.
    base: u64,
    dense: VecDeque<Option<R>>,
    lost: FxHashMap<u64, R>,
}

impl<R> Default for Routes<R> {
    fn default() -> Self {
        Routes {
            base: 1,
            dense: VecDeque::new(),
            lost: FxHashMap::default(),
        }
    }
}

impl<R> Routes<R> {
    /// Remembers where ticket `t`'s answer goes.
    pub fn insert(&mut self, t: u64, route: R) {
        if t >= LOST || t < self.base {
            self.lost.insert(t, route);
            return;
        }
        let i = usize::try_from(t - self.base).unwrap_or(usize::MAX);
        if i >= self.dense.len() {
            self.dense.resize_with(i + 1, || None);
        }
        self.dense[i] = Some(route);
    }

    /// Where ticket `t`'s answer goes.
    pub fn get(&self, t: u64) -> Option<&R> {
        if t >= LOST || t < self.base {
            return self.lost.get(&t);
        }
        self.dense
            .get(usize::try_from(t - self.base).ok()?)?
            .as_ref()
    }

    /// Where ticket `t`'s answer goes, forgetting it.
    pub fn remove(&mut self, t: u64) -> Option<R> {
        if t >= LOST || t < self.base {
            return self.lost.remove(&t);
        }
        let i = usize::try_from(t - self.base).ok()?;
        let route = self.dense.get_mut(i)?.take();
        while self.dense.front().is_some_and(Option::is_none) {
            self.dense.pop_front();
            self.base += 1;
        }
        route
    }

    /// Starts numbering again from 1 (a new engine), keeping lost requests.
    pub fn restart(&mut self) {
        let lost = std::mem::take(&mut self.lost);
        *self = Routes {
            lost,
            ..Routes::default()
        };
    }
}
