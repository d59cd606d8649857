//! The lease state machine: the meaning of the log.
//!
//! Applying the same operations to an empty [`Fsm`] always gives the same state, byte for
//! byte (see [`Fsm::snapshot`]), natively and in wasm.

use crate::batch::Batch;
use crate::error::{FieldError, LeaseError};
use crate::event::Event;
use crate::key::Key;
use crate::op::Op;
pub use crate::pin::PinInfo;
use crate::snapshot::{Snapshot, SnapshotLease};
use crate::time::Time;
use compact_str::CompactString;
use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;

/// What a pinned lease reports as its remaining time: it never expires while pinned.
pub const PINNED_REMAINING: Duration = Duration::from_secs(30);

/// The outcome of one applied operation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Applied {
    /// The fencing token of the lease the operation granted, extended, revoked or
    /// handed over; `None` for pins and time.
    pub token: Option<u64>,
    /// What changed.
    pub events: Vec<Event>,
}

/// One lease as a read returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeaseInfo {
    /// The lease.
    pub key: Key,
    /// Its holder.
    pub holder: Arc<str>,
    /// When it expires on the caller's clock: `expiry - G + local_now`, or
    /// `local_now + 30 s` while pinned.
    pub expiry: Time,
    /// The holder's fencing token.
    pub token: u64,
    /// The entities pinning it, sorted.
    pub pinned_by: Vec<String>,
    /// When the holder was granted the lease, in log time.
    pub acquired: Time,
}

/// A held lease as stored: 80 bytes, no heap for names up to 24 bytes.
#[derive(Debug, Clone)]
struct Record {
    group: u32,
    pinned: bool,
    lease: CompactString,
    holder: CompactString,
    acquired: Time,
    expiry: Time,
    token: u64,
}

/// A held lease named by its place in the state rather than by its names: what an
/// extension carries in a batch of format version 2 ([`Fsm::encode_batch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LeaseRef {
    /// The lease's place.
    pub(crate) slot: u32,
    /// The low byte of its fencing token: a reference to a place whose grant changed
    /// is refused rather than applied to another one.
    pub(crate) check: u8,
}

/// A `(namespace, model)` pair, interned.
#[derive(Debug, Clone)]
struct Group {
    namespace: Arc<str>,
    model: Arc<str>,
}

impl Group {
    /// Whether `key` belongs to this group; callers mostly share the very strings.
    fn is(&self, key: &Key) -> bool {
        (Arc::ptr_eq(&self.namespace, &key.namespace) || self.namespace == key.namespace)
            && (Arc::ptr_eq(&self.model, &key.model) || self.model == key.model)
    }
}

/// The lease state machine. See the crate documentation for a tour.
#[derive(Debug, Clone, Default)]
pub struct Fsm {
    global: Time,
    fence: u64,
    groups: Vec<Group>,
    group_index: HashTable<u32>,
    last_group: Option<u32>,
    /// Held leases by place. A lease keeps its place while held, and a claim takes the
    /// lowest free one, so places follow from the log alone: batches may name a lease by
    /// its place ([`LeaseRef`]) and snapshots carry the places.
    slots: Vec<Option<Record>>,
    free: BinaryHeap<Reverse<u32>>,
    index: HashTable<u32>,
    live: usize,
    /// Slots to look at when time passes each expiry. Entries may be stale; a lease is
    /// expired only if its own expiry has passed.
    expiries: BTreeMap<Time, Vec<u32>>,
    pins: BTreeMap<Key, Vec<PinInfo>>,
}

impl Fsm {
    /// An empty state at log time zero.
    #[must_use]
    pub fn new() -> Fsm {
        Fsm::default()
    }

    // ---- reads -------------------------------------------------------------------

    /// The log's global time G.
    #[must_use]
    pub fn global_time(&self) -> Time {
        self.global
    }

    /// The last fencing token issued (0 before the first grant).
    #[must_use]
    pub fn fence(&self) -> u64 {
        self.fence
    }

    /// How many leases are held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no lease is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Every held lease, sorted by key, with expiries on the caller's clock `local_now`.
    #[must_use]
    pub fn leases(&self, local_now: Time) -> Vec<LeaseInfo> {
        let mut out: Vec<LeaseInfo> = self
            .slots
            .iter()
            .flatten()
            .map(|r| self.info(r, local_now))
            .collect();
        out.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        out
    }

    /// The held leases of one `(namespace, model)` group, sorted by key.
    #[must_use]
    pub fn group(&self, namespace: &str, model: &str, local_now: Time) -> Vec<LeaseInfo> {
        let Some(gid) = self.find_group(namespace, model) else {
            return Vec::new();
        };
        let mut out: Vec<LeaseInfo> = self
            .slots
            .iter()
            .flatten()
            .filter(|r| r.group == gid)
            .map(|r| self.info(r, local_now))
            .collect();
        out.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        out
    }

    /// One lease, if held.
    #[must_use]
    pub fn lease(&self, key: &Key, local_now: Time) -> Option<LeaseInfo> {
        let slot = self.find(key)?;
        self.slots[slot as usize]
            .as_ref()
            .map(|r| self.info(r, local_now))
    }

    /// The holder of `key`, if held. Cheaper than [`Fsm::lease`].
    #[must_use]
    pub fn holder(&self, key: &Key) -> Option<&str> {
        let slot = self.find(key)?;
        self.slots[slot as usize]
            .as_ref()
            .map(|r| r.holder.as_str())
    }

    /// Every pinned key (held or not) with the entities pinning it.
    #[must_use]
    pub fn pinned(&self) -> BTreeMap<Key, Vec<String>> {
        self.pins
            .iter()
            .map(|(k, pins)| {
                (
                    k.clone(),
                    pins.iter().map(|p| p.entity.to_string()).collect(),
                )
            })
            .collect()
    }

    /// Every pinned key with its pins' deadlines and reasons.
    #[must_use]
    pub fn pins(&self) -> &BTreeMap<Key, Vec<PinInfo>> {
        &self.pins
    }

    /// The whole state, in canonical order, ready to encode.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        let mut leases: Vec<SnapshotLease> = (0u32..)
            .zip(&self.slots)
            .filter_map(|(slot, r)| Some((slot, r.as_ref()?)))
            .map(|(slot, r)| SnapshotLease {
                slot,
                key: self.key_of(r),
                holder: Arc::from(r.holder.as_str()),
                acquired: r.acquired,
                expiry: r.expiry,
                token: r.token,
            })
            .collect();
        leases.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        Snapshot::from_parts(self.global, self.fence, leases, self.pins.clone())
    }

    /// The state a snapshot describes.
    #[must_use]
    pub fn restore(snapshot: Snapshot) -> Fsm {
        let (global, fence, leases, pins) = snapshot.into_parts();
        let mut fsm = Fsm {
            global,
            fence,
            pins,
            ..Fsm::default()
        };
        // Every lease goes back to its own place; the places between are free.
        let places = leases
            .iter()
            .map(|l| l.slot as usize + 1)
            .max()
            .unwrap_or(0);
        fsm.slots.resize(places, None);
        fsm.free = (0u32..).take(places).map(Reverse).collect();
        for l in leases {
            let pinned = fsm.pins.contains_key(&l.key);
            fsm.insert_at(&l, pinned);
        }
        fsm.free
            .retain(|&Reverse(s)| fsm.slots[s as usize].is_none());
        fsm
    }

    // ---- applying ----------------------------------------------------------------

    /// Applies every operation of a batch in order; each gets its own result, so a
    /// batch with invalid operations still applies its valid ones.
    pub fn apply_batch(&mut self, batch: &Batch) -> Vec<Result<Applied, LeaseError>> {
        batch.ops.iter().map(|op| self.apply(op)).collect()
    }

    /// Applies one operation.
    pub fn apply(&mut self, op: &Op) -> Result<Applied, LeaseError> {
        let mut events = Vec::new();
        let token = self.apply_into(op, &mut events)?;
        Ok(Applied { token, events })
    }

    /// Applies one operation, appending its events to `events` (a buffer the caller
    /// reuses), and returns the fencing token [`Applied::token`] would carry. The same
    /// as [`Fsm::apply`] without an allocation per operation.
    pub fn apply_into(
        &mut self,
        op: &Op,
        events: &mut Vec<Event>,
    ) -> Result<Option<u64>, LeaseError> {
        op.validate()?;
        match op {
            Op::Claim {
                key,
                holder,
                duration,
            } => self.claim(key, holder, *duration, events),
            Op::Extend {
                key,
                holder,
                duration,
            } => self.extend(key, holder, *duration, events),
            Op::Revoke { key, holder } => self.revoke(key, holder, events),
            Op::Pin {
                key,
                entity,
                until,
                reason,
            } => self.pin(key, entity, *until, reason, events),
            Op::Unpin { key, entity } => {
                self.unpin(key, entity, events);
                Ok(None)
            }
            Op::SetTime { old, new } => self.set_time(*old, *new, events),
            Op::Handover {
                key,
                from,
                to,
                duration,
            } => self.handover(key, from, to, *duration, events),
        }
    }

    /// The place of `key` if `holder` holds it and it cannot expire before log time
    /// `until` (the latest time the batches before the reference's apply move to): what
    /// an extension of it may carry instead of the names.
    pub(crate) fn lease_ref(&self, key: &Key, holder: &str, until: Time) -> Option<LeaseRef> {
        let slot = self.find(key)?;
        let r = self.slots[slot as usize].as_ref()?;
        (r.holder == holder && r.expiry >= until).then_some(LeaseRef {
            slot,
            check: r.token as u8,
        })
    }

    /// The grant a reference names, if this state holds it.
    fn held_at(&self, at: LeaseRef) -> Option<&Record> {
        self.slots
            .get(at.slot as usize)?
            .as_ref()
            .filter(|r| r.token as u8 == at.check)
    }

    /// The token of the grant a reference names, if this state holds it.
    pub(crate) fn token_at(&self, at: LeaseRef) -> Option<u64> {
        self.held_at(at).map(|r| r.token)
    }

    /// The lease and holder a reference names, if this state holds that grant.
    pub(crate) fn resolve(&self, at: LeaseRef) -> Option<(Key, Arc<str>)> {
        self.held_at(at)
            .map(|r| (self.key_of(r), Arc::from(r.holder.as_str())))
    }

    /// Extends the lease at a place resolved when the batch was cut: the same as an
    /// [`Op::Extend`] of its key by its holder, without looking the key up. Reports
    /// `Extended` into `events` when given.
    pub(crate) fn extend_at(
        &mut self,
        at: LeaseRef,
        d: Duration,
        events: Option<&mut Vec<Event>>,
    ) -> Result<Option<u64>, LeaseError> {
        let new_expiry = self.expiry_after(d)?;
        if self.held_at(at).is_none() {
            return Err(LeaseError::Invalid);
        }
        let (token, expiry) = self.lengthen(at.slot, new_expiry);
        if let Some(events) = events {
            let r = self.slots[at.slot as usize]
                .as_ref()
                .expect("the place was just extended");
            events.push(Event::Extended {
                key: self.key_of(r),
                holder: Arc::from(r.holder.as_str()),
                token,
                expiry,
            });
        }
        Ok(Some(token))
    }

    /// Moves the expiry of the lease at `slot` to `new_expiry` if that is later; returns
    /// its token and expiry.
    fn lengthen(&mut self, slot: u32, new_expiry: Time) -> (u64, Time) {
        let r = self.slots[slot as usize]
            .as_mut()
            .expect("lengthened slot is live");
        if new_expiry > r.expiry {
            r.expiry = new_expiry;
            self.expiries.entry(new_expiry).or_default().push(slot);
        }
        (r.token, r.expiry)
    }

    fn claim(
        &mut self,
        key: &Key,
        holder: &Arc<str>,
        d: Duration,
        events: &mut Vec<Event>,
    ) -> Result<Option<u64>, LeaseError> {
        if let Some(slot) = self.find(key) {
            let r = self.slots[slot as usize]
                .as_ref()
                .expect("indexed slot is live");
            return if r.holder == **holder {
                Err(LeaseError::Invalid)
            } else {
                Err(LeaseError::Held {
                    holder: Arc::from(r.holder.as_str()),
                })
            };
        }
        let expiry = self.expiry_after(d)?;
        let token = self.next_token();
        let pinned = !self.pins.is_empty() && self.pins.contains_key(key);
        self.insert(key, holder, self.global, expiry, token, pinned);
        events.push(Event::Claimed {
            key: key.clone(),
            holder: holder.clone(),
            token,
            expiry,
        });
        Ok(Some(token))
    }

    fn extend(
        &mut self,
        key: &Key,
        holder: &Arc<str>,
        d: Duration,
        events: &mut Vec<Event>,
    ) -> Result<Option<u64>, LeaseError> {
        let new_expiry = self.expiry_after(d)?;
        let slot = self.find_held_by(key, holder)?;
        let (token, expiry) = self.lengthen(slot, new_expiry);
        events.push(Event::Extended {
            key: key.clone(),
            holder: holder.clone(),
            token,
            expiry,
        });
        Ok(Some(token))
    }

    fn revoke(
        &mut self,
        key: &Key,
        holder: &Arc<str>,
        events: &mut Vec<Event>,
    ) -> Result<Option<u64>, LeaseError> {
        let slot = self.find_held_by(key, holder)?;
        let r = self.remove(slot);
        events.push(Event::Revoked {
            key: key.clone(),
            holder: holder.clone(),
            token: r.token,
        });
        Ok(Some(r.token))
    }

    fn pin(
        &mut self,
        key: &Key,
        entity: &Arc<str>,
        until: Option<Time>,
        reason: &Option<Arc<str>>,
        events: &mut Vec<Event>,
    ) -> Result<Option<u64>, LeaseError> {
        if until.is_some_and(|u| u <= self.global) {
            return Err(FieldError::new("untilMs", "is not after the log's current time").into());
        }
        let pins = self.pins.entry(key.clone()).or_default();
        let pin = PinInfo {
            entity: entity.clone(),
            until,
            reason: reason.clone(),
        };
        match pins.binary_search_by(|p| p.entity.cmp(entity)) {
            Ok(i) => pins[i] = pin,
            Err(i) => pins.insert(i, pin),
        }
        let (holder, token) = match self.find(key) {
            Some(slot) => {
                let r = self.slots[slot as usize]
                    .as_mut()
                    .expect("indexed slot is live");
                r.pinned = true;
                (Some(Arc::from(r.holder.as_str())), Some(r.token))
            }
            None => (None, None),
        };
        events.push(Event::Pinned {
            key: key.clone(),
            entity: entity.clone(),
            holder,
            token,
        });
        Ok(None)
    }

    fn unpin(&mut self, key: &Key, entity: &Arc<str>, events: &mut Vec<Event>) {
        let Some(pins) = self.pins.get_mut(key) else {
            return;
        };
        let Ok(i) = pins.binary_search_by(|p| p.entity.cmp(entity)) else {
            return;
        };
        pins.remove(i);
        let event = self.unpinned_event(key, entity.clone(), false);
        events.push(event);
    }

    /// The event of a removed pin; unmarks the lease when its last pin went.
    fn unpinned_event(&mut self, key: &Key, entity: Arc<str>, lapsed: bool) -> Event {
        let last = self.pins.get(key).is_none_or(Vec::is_empty);
        if last {
            self.pins.remove(key);
        }
        let (holder, token) = match self.find(key) {
            Some(slot) => {
                let r = self.slots[slot as usize]
                    .as_mut()
                    .expect("indexed slot is live");
                if last {
                    r.pinned = false;
                    // Look at it again at its expiry, which may already have passed.
                    self.expiries.entry(r.expiry).or_default().push(slot);
                }
                (Some(Arc::from(r.holder.as_str())), Some(r.token))
            }
            None => (None, None),
        };
        Event::Unpinned {
            key: key.clone(),
            entity,
            lapsed,
            holder,
            token,
        }
    }

    fn set_time(
        &mut self,
        old: Time,
        new: Time,
        events: &mut Vec<Event>,
    ) -> Result<Option<u64>, LeaseError> {
        if old != self.global {
            return Err(LeaseError::OutOfSync {
                expected: old,
                actual: self.global,
            });
        }
        self.global = new;
        self.lapse_pins(new, events);
        let mut expired = Vec::new();
        while let Some(entry) = self.expiries.first_entry() {
            if *entry.key() >= new {
                break;
            }
            for slot in entry.remove() {
                let due = self.slots[slot as usize]
                    .as_ref()
                    .is_some_and(|r| r.expiry < new && !r.pinned);
                if due {
                    let r = self.remove(slot);
                    expired.push(Event::Expired {
                        key: self.key_of(&r),
                        holder: Arc::from(r.holder.as_str()),
                        token: r.token,
                    });
                }
            }
        }
        expired.sort_unstable_by(|a, b| a.key().cmp(b.key()));
        events.extend(expired);
        Ok(None)
    }

    /// Removes every pin whose deadline is before `now`.
    fn lapse_pins(&mut self, now: Time, events: &mut Vec<Event>) {
        let mut lapsed = Vec::new();
        for (key, pins) in &mut self.pins {
            pins.retain(|p| {
                let keep = p.until.is_none_or(|u| u >= now);
                if !keep {
                    lapsed.push((key.clone(), p.entity.clone()));
                }
                keep
            });
        }
        for (key, entity) in lapsed {
            let event = self.unpinned_event(&key, entity, true);
            events.push(event);
        }
    }

    fn handover(
        &mut self,
        key: &Key,
        from: &Arc<str>,
        to: &Arc<str>,
        d: Duration,
        events: &mut Vec<Event>,
    ) -> Result<Option<u64>, LeaseError> {
        let expiry = self.expiry_after(d)?;
        let slot = self.find_held_by(key, from)?;
        let token = self.next_token();
        let global = self.global;
        let r = self.slots[slot as usize]
            .as_mut()
            .expect("indexed slot is live");
        r.holder = CompactString::from(&**to);
        r.token = token;
        r.acquired = global;
        r.expiry = expiry;
        self.expiries.entry(expiry).or_default().push(slot);
        events.push(Event::HandedOver {
            key: key.clone(),
            from: from.clone(),
            to: to.clone(),
            token,
            expiry,
        });
        Ok(Some(token))
    }

    // ---- storage -----------------------------------------------------------------

    fn next_token(&mut self) -> u64 {
        self.fence += 1;
        self.fence
    }

    fn expiry_after(&self, d: Duration) -> Result<Time, LeaseError> {
        self.global
            .checked_add(d)
            .ok_or_else(|| FieldError::new("durationMs", "runs past the end of log time").into())
    }

    fn info(&self, r: &Record, local_now: Time) -> LeaseInfo {
        let key = self.key_of(r);
        let (expiry, pinned_by) = if r.pinned {
            let by = self
                .pins
                .get(&key)
                .map(|p| p.iter().map(|p| p.entity.to_string()).collect())
                .unwrap_or_default();
            (local_now + PINNED_REMAINING, by)
        } else {
            (
                local_now + r.expiry.saturating_since(self.global),
                Vec::new(),
            )
        };
        LeaseInfo {
            key,
            holder: Arc::from(r.holder.as_str()),
            expiry,
            token: r.token,
            pinned_by,
            acquired: r.acquired,
        }
    }

    fn key_of(&self, r: &Record) -> Key {
        let g = &self.groups[r.group as usize];
        Key {
            namespace: g.namespace.clone(),
            model: g.model.clone(),
            lease: Arc::from(r.lease.as_str()),
        }
    }

    fn find_group(&self, namespace: &str, model: &str) -> Option<u32> {
        let hash = FxBuildHasher.hash_one((namespace, model));
        self.group_index
            .find(hash, |&g| {
                let g = &self.groups[g as usize];
                *g.namespace == *namespace && *g.model == *model
            })
            .copied()
    }

    /// The group of `key`, interned on first use.
    fn group_of(&mut self, key: &Key) -> u32 {
        if let Some(g) = self.last_group {
            if self.groups[g as usize].is(key) {
                return g;
            }
        }
        let gid = match self.find_group(&key.namespace, &key.model) {
            Some(g) => g,
            None => {
                let gid = u32::try_from(self.groups.len()).expect("fewer than 2^32 groups");
                self.groups.push(Group {
                    namespace: key.namespace.clone(),
                    model: key.model.clone(),
                });
                let (groups, hasher) = (&self.groups, &FxBuildHasher);
                let hash = hasher.hash_one((&*key.namespace, &*key.model));
                self.group_index.insert_unique(hash, gid, |&g| {
                    let g = &groups[g as usize];
                    hasher.hash_one((&*g.namespace, &*g.model))
                });
                gid
            }
        };
        self.last_group = Some(gid);
        gid
    }

    fn slot_hash(&self, group: u32, lease: &str) -> u64 {
        FxBuildHasher.hash_one((group, lease))
    }

    fn find(&self, key: &Key) -> Option<u32> {
        let gid = match self.last_group {
            Some(g) if self.groups[g as usize].is(key) => g,
            _ => self.find_group(&key.namespace, &key.model)?,
        };
        let hash = self.slot_hash(gid, &key.lease);
        self.index
            .find(hash, |&s| {
                self.slots[s as usize]
                    .as_ref()
                    .is_some_and(|r| r.group == gid && *r.lease == *key.lease)
            })
            .copied()
    }

    fn find_held_by(&mut self, key: &Key, holder: &str) -> Result<u32, LeaseError> {
        match self.find(key) {
            Some(slot)
                if self.slots[slot as usize]
                    .as_ref()
                    .is_some_and(|r| r.holder == holder) =>
            {
                Ok(slot)
            }
            _ => Err(LeaseError::Invalid),
        }
    }

    fn insert(
        &mut self,
        key: &Key,
        holder: &str,
        acquired: Time,
        expiry: Time,
        token: u64,
        pinned: bool,
    ) {
        let group = self.group_of(key);
        let record = Record {
            group,
            pinned,
            lease: CompactString::from(&*key.lease),
            holder: CompactString::from(holder),
            acquired,
            expiry,
            token,
        };
        let slot = match self.free.pop() {
            Some(Reverse(s)) => {
                self.slots[s as usize] = Some(record);
                s
            }
            None => {
                self.slots.push(Some(record));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 leases")
            }
        };
        self.index_slot(slot, group, &key.lease, expiry);
    }

    /// Puts a restored lease at its place (which [`Fsm::restore`] made and keeps free).
    fn insert_at(&mut self, l: &SnapshotLease, pinned: bool) {
        let group = self.group_of(&l.key);
        self.slots[l.slot as usize] = Some(Record {
            group,
            pinned,
            lease: CompactString::from(&*l.key.lease),
            holder: CompactString::from(&*l.holder),
            acquired: l.acquired,
            expiry: l.expiry,
            token: l.token,
        });
        self.index_slot(l.slot, group, &l.key.lease, l.expiry);
    }

    fn index_slot(&mut self, slot: u32, group: u32, lease: &str, expiry: Time) {
        let hash = self.slot_hash(group, lease);
        let (slots, hasher) = (&self.slots, &FxBuildHasher);
        self.index.insert_unique(hash, slot, |&s| {
            let r = slots[s as usize].as_ref().expect("indexed slot is live");
            hasher.hash_one((r.group, r.lease.as_str()))
        });
        self.expiries.entry(expiry).or_default().push(slot);
        self.live += 1;
    }

    fn remove(&mut self, slot: u32) -> Record {
        let r = self.slots[slot as usize]
            .take()
            .expect("removed slot is live");
        let hash = self.slot_hash(r.group, &r.lease);
        if let Ok(entry) = self.index.find_entry(hash, |&s| s == slot) {
            entry.remove();
        }
        self.free.push(Reverse(slot));
        self.live -= 1;
        r
    }
}
