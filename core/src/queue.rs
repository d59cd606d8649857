//! The bounded, laned request queue with coalescing.
//!
//! Requests wait in one of four [`Lane`]s. Repeated extensions of one lease by one holder
//! share one entry; claims of one lease share one entry (the first claimant's), the
//! others riding along as rivals answered from its result. Capacity counts every waiting
//! request of the extend, admin and claim lanes; the singular lane is never shed.

use crate::lane::Lane;
use crate::op::Op;
use crate::outcome::Ticket;
use crate::time::Time;
use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::Arc;

/// A request waiting for its answer.
#[derive(Debug, Clone)]
pub(crate) struct Waiter {
    pub ticket: Ticket,
    pub submitted: Time,
    /// For claims: the claimant, when it is not the entry's own holder (a rival).
    pub rival: Option<Arc<str>>,
}

/// The requests one entry answers: the first, and any that coalesced with it (kept
/// apart so the common single request needs no allocation).
#[derive(Debug, Clone)]
pub(crate) struct Waiters {
    first: Waiter,
    rest: Vec<Waiter>,
}

impl Waiters {
    fn one(first: Waiter) -> Waiters {
        Waiters {
            first,
            rest: Vec::new(),
        }
    }

    fn push(&mut self, w: Waiter) {
        self.rest.push(w);
    }

    /// How many requests.
    pub fn len(&self) -> usize {
        1 + self.rest.len()
    }

    /// The first request.
    pub fn first(&self) -> &Waiter {
        &self.first
    }

    /// Every request, the first first.
    pub fn iter(&self) -> impl Iterator<Item = &Waiter> {
        std::iter::once(&self.first).chain(&self.rest)
    }
}

impl IntoIterator for Waiters {
    type Item = Waiter;
    type IntoIter = std::iter::Chain<std::iter::Once<Waiter>, std::vec::IntoIter<Waiter>>;

    fn into_iter(self) -> Self::IntoIter {
        std::iter::once(self.first).chain(self.rest)
    }
}

/// One operation bound for the log, and every request it answers.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub op: Op,
    pub lane: Lane,
    pub deadline: Time,
    pub waiters: Waiters,
    /// The coalescing hash of extensions and claims.
    hash: u64,
}

impl Entry {
    /// The operation, its lane and its requests.
    pub fn into_parts(self) -> (Op, Lane, Waiters) {
        (self.op, self.lane, self.waiters)
    }
}

/// What became of a request offered to the queue.
#[derive(Debug)]
pub(crate) enum Offer {
    /// It waits (alone or coalesced with an earlier request).
    Queued,
    /// It waits; making room evicted this newer claim entry, whose requests are shed.
    QueuedEvicting(Entry),
    /// There is no room: it is shed.
    Full,
}

/// The four lanes, their coalescing indexes and the capacity count.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    slab: Vec<Option<Entry>>,
    free: Vec<u32>,
    lanes: [VecDeque<u32>; 4],
    /// Waiting requests per lane (entries plus coalesced riders).
    depth: [usize; 4],
    /// Entries that later requests can share: extensions by (key, holder), claims by key.
    shared: HashTable<u32>,
}

/// Which requests can share an entry: the same extension, or a claim of the same key.
fn coalescing_hash(op: &Op) -> Option<u64> {
    match op {
        Op::Extend { key, holder, .. } => Some(FxBuildHasher.hash_one((0u8, key, holder))),
        Op::Claim { key, .. } => Some(FxBuildHasher.hash_one((1u8, key))),
        _ => None,
    }
}

/// Whether `queued` is the entry `op` can share.
fn shares(queued: &Op, op: &Op) -> bool {
    match (queued, op) {
        (
            Op::Extend {
                key: k1,
                holder: h1,
                ..
            },
            Op::Extend {
                key: k2,
                holder: h2,
                ..
            },
        ) => k1 == k2 && h1 == h2,
        (Op::Claim { key: k1, .. }, Op::Claim { key: k2, .. }) => k1 == k2,
        _ => false,
    }
}

impl Queue {
    /// Waiting requests in `lane`.
    pub fn depth(&self, lane: Lane) -> usize {
        self.depth[lane.index()]
    }

    /// Waiting requests that count against the capacity (all lanes but singular).
    pub fn shared_depth(&self) -> usize {
        self.depth[1] + self.depth[2] + self.depth[3]
    }

    /// Operations waiting (entries, not requests): what the next batches will carry.
    pub fn entries(&self) -> usize {
        self.lanes.iter().map(VecDeque::len).sum()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.lanes.iter().all(VecDeque::is_empty)
    }

    /// The earliest deadline of any waiting entry (each lane is in deadline order).
    pub fn next_deadline(&self) -> Option<Time> {
        self.lanes
            .iter()
            .filter_map(|l| l.front())
            .filter_map(|&id| self.slab[id as usize].as_ref().map(|e| e.deadline))
            .min()
    }

    /// Offers a request. `capacity` bounds the shared lanes: when they are full a claim
    /// is refused, and any other request evicts the newest queued claim entry (or is
    /// refused when there is none). Singular requests always get in.
    pub fn offer(
        &mut self,
        op: Op,
        lane: Lane,
        waiter: Waiter,
        deadline: Time,
        capacity: usize,
    ) -> Offer {
        let mut evicted = None;
        if lane != Lane::Singular && self.shared_depth() >= capacity {
            if lane == Lane::Claim {
                return Offer::Full;
            }
            match self.evict_newest_claim() {
                Some(e) => evicted = Some(e),
                None => return Offer::Full,
            }
        }
        let hash = coalescing_hash(&op);
        match hash.and_then(|h| self.coalesce_target(h, &op)) {
            Some(id) => self.ride(id, &op, waiter),
            None => self.push(Entry {
                op,
                lane,
                deadline,
                waiters: Waiters::one(waiter),
                hash: hash.unwrap_or(0),
            }),
        }
        match evicted {
            Some(e) => Offer::QueuedEvicting(e),
            None => Offer::Queued,
        }
    }

    /// The entry a new request can share, if any.
    fn coalesce_target(&self, hash: u64, op: &Op) -> Option<u32> {
        let slab = &self.slab;
        self.shared
            .find(hash, |&id| {
                slab[id as usize]
                    .as_ref()
                    .is_some_and(|e| shares(&e.op, op))
            })
            .copied()
    }

    /// Adds a request to an existing entry.
    fn ride(&mut self, id: u32, op: &Op, mut waiter: Waiter) {
        let entry = self.slab[id as usize]
            .as_mut()
            .expect("indexed entry is live");
        match (&mut entry.op, op) {
            (Op::Extend { duration, .. }, Op::Extend { duration: d, .. }) => {
                *duration = (*duration).max(*d);
            }
            (Op::Claim { holder, .. }, Op::Claim { holder: h, .. }) if holder != h => {
                waiter.rival = Some(h.clone());
            }
            _ => {}
        }
        entry.waiters.push(waiter);
        self.depth[entry.lane.index()] += 1;
    }

    fn push(&mut self, entry: Entry) {
        let lane = entry.lane;
        let shareable = matches!(entry.op, Op::Extend { .. } | Op::Claim { .. });
        let hash = entry.hash;
        self.depth[lane.index()] += entry.waiters.len();
        let id = match self.free.pop() {
            Some(id) => {
                self.slab[id as usize] = Some(entry);
                id
            }
            None => {
                self.slab.push(Some(entry));
                // The queue is bounded far below 2^32 entries.
                u32::try_from(self.slab.len() - 1).expect("queue slots fit in u32")
            }
        };
        if shareable {
            let slab = &self.slab;
            self.shared.insert_unique(hash, id, |&i| {
                slab[i as usize].as_ref().map_or(0, |e| e.hash)
            });
        }
        self.lanes[lane.index()].push_back(id);
    }

    /// Takes the entry out of the slab and the index.
    fn take(&mut self, id: u32) -> Entry {
        let entry = self.slab[id as usize].take().expect("queued entry is live");
        self.free.push(id);
        self.depth[entry.lane.index()] -= entry.waiters.len();
        if matches!(entry.op, Op::Extend { .. } | Op::Claim { .. }) {
            if let Ok(found) = self.shared.find_entry(entry.hash, |&i| i == id) {
                found.remove();
            }
        }
        entry
    }

    fn evict_newest_claim(&mut self) -> Option<Entry> {
        let id = self.lanes[Lane::Claim.index()].pop_back()?;
        Some(self.take(id))
    }

    /// Takes up to `max` entries in lane order: what the next batch carries.
    pub fn cut(&mut self, max: usize) -> Vec<Entry> {
        let entries = self.entries();
        if entries <= max {
            return self.take_all(entries);
        }
        let mut out = Vec::with_capacity(max);
        for lane in Lane::ALL {
            while out.len() < max {
                let Some(id) = self.lanes[lane.index()].pop_front() else {
                    break;
                };
                out.push(self.take(id));
            }
        }
        out
    }

    /// Takes every entry in lane order, emptying the coalescing index at once rather than
    /// entry by entry (a batch usually takes the whole queue).
    fn take_all(&mut self, entries: usize) -> Vec<Entry> {
        let mut out = Vec::with_capacity(entries);
        for lane in Lane::ALL {
            for id in self.lanes[lane.index()].drain(..) {
                let entry = self.slab[id as usize].take().expect("queued entry is live");
                self.free.push(id);
                out.push(entry);
            }
        }
        self.shared.clear();
        self.depth = [0; 4];
        out
    }

    /// Takes every entry whose deadline is at or before `now`.
    pub fn expire(&mut self, now: Time) -> Vec<Entry> {
        let mut out = Vec::new();
        for lane in Lane::ALL {
            while let Some(&id) = self.lanes[lane.index()].front() {
                if self.slab[id as usize]
                    .as_ref()
                    .is_none_or(|e| e.deadline > now)
                {
                    break;
                }
                self.lanes[lane.index()].pop_front();
                out.push(self.take(id));
            }
        }
        out
    }

    /// Takes everything (on shutdown).
    pub fn drain(&mut self) -> Vec<Entry> {
        self.cut(usize::MAX)
    }
}
