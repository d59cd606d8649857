//! The log format: versioned postcard envelopes for batches and snapshots.
//!
//! Every encoding starts with two bytes, a kind (`B` for a batch, `S` for a snapshot) and
//! the format version, followed by a postcard body. Names (namespaces, models, leases,
//! holders, entities, reasons) are stored once per envelope in a string table, each
//! front-coded against the previous one, and operations refer to them by index; so a
//! batch of a thousand claims in one model costs a few bytes per claim for its names.
//!
//! Version 2 adds what a batch may say to the state it applies to: an extension of a
//! lease that state holds may name the lease by its place in the state (a few bytes)
//! instead of by its names, and snapshots carry those places. Such a batch decodes only
//! against that state ([`Fsm::decode_batch`]); [`Batch::encode`] never writes one, so a
//! batch without references is still written, and read everywhere, as version 1.
//!
//! Decoding treats its input as untrusted: it checks the size limit before anything
//! else, never panics, allocates at most in proportion to the input's length, and
//! rejects trailing bytes.

use crate::batch::Batch;
use crate::error::LeaseError;
use crate::fsm::{Applied, Fsm, LeaseRef};
use crate::key::Key;
use crate::limits::{
    MAX_BATCH_BYTES, MAX_BATCH_OPS, MAX_DURATION_MS, MAX_NAME_BYTES, MAX_PLACES, MAX_REASON_BYTES,
    MAX_SNAPSHOT_BYTES,
};
use crate::op::Op;
use crate::pin::PinInfo;
use crate::snapshot::{Snapshot, SnapshotLease};
use crate::time::{Time, duration_millis};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The newest version of the log format, which this build writes when a batch refers to
/// its state, and for snapshots. It reads every version from 1 to this one.
pub const FORMAT_VERSION: u8 = 2;
/// The version of a batch that names every lease: what [`Batch::encode`] writes.
const SELF_CONTAINED: u8 = 1;
const BATCH_KIND: u8 = b'B';
const SNAPSHOT_KIND: u8 = b'S';

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended early.
    #[error("input is truncated")]
    Truncated,
    /// The input is larger than the limit for its kind.
    #[error("input is {actual} bytes, more than the limit of {limit}")]
    TooLarge {
        /// The input's length.
        actual: usize,
        /// The limit.
        limit: usize,
    },
    /// The first byte does not name the expected kind of envelope.
    #[error("expected a {expected} (kind byte {expected_byte:#04x}), found kind byte {found:#04x}")]
    WrongKind {
        /// What was expected, `batch` or `snapshot`.
        expected: &'static str,
        /// The kind byte expected.
        expected_byte: u8,
        /// The kind byte found.
        found: u8,
    },
    /// The format version is not one this build reads.
    #[error("format version {found} is not supported (this build reads versions 1 to {supported})")]
    UnsupportedVersion {
        /// The version found.
        found: u8,
        /// The newest version this build reads.
        supported: u8,
    },
    /// The batch names leases by their places in the state it applies to, and was
    /// decoded without a state.
    #[error(
        "the batch refers to leases by their place in the state it applies to; decode it against that state"
    )]
    NeedsState,
    /// A count or length exceeds a limit.
    #[error("{what} exceeds the limit of {limit}")]
    LimitExceeded {
        /// What exceeded it, e.g. `operations per batch`.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The bytes are not a valid envelope; the message says where.
    #[error("corrupt input: {0}")]
    Corrupt(&'static str),
    /// A whole envelope was decoded but bytes follow it.
    #[error("{0} trailing bytes after the envelope")]
    TrailingBytes(usize),
}

/// Why a batch or snapshot could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A count or length exceeds a limit, so the result could not be decoded.
    #[error("{what} exceeds the limit of {limit}")]
    LimitExceeded {
        /// What exceeded it.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
}

// ---- the wire structures -------------------------------------------------------------

#[derive(Serialize, Deserialize)]
struct WireStr<'a> {
    shared: u32,
    suffix: &'a str,
}

#[derive(Serialize, Deserialize, Clone, Copy)]
struct WireKey {
    namespace: u32,
    model: u32,
    lease: u32,
}

#[derive(Serialize, Deserialize)]
enum WireOp {
    Claim {
        key: WireKey,
        holder: u32,
        ms: u64,
    },
    Extend {
        key: WireKey,
        holder: u32,
        ms: u64,
    },
    Revoke {
        key: WireKey,
        holder: u32,
    },
    Pin {
        key: WireKey,
        entity: u32,
        until: Option<u64>,
        reason: Option<u32>,
    },
    Unpin {
        key: WireKey,
        entity: u32,
    },
    SetTime {
        old: u64,
        new: u64,
    },
    Handover {
        key: WireKey,
        from: u32,
        to: u32,
        ms: u64,
    },
    /// Version 2: an extension of the lease at a place of the state, by its holder.
    ExtendRef {
        slot: u32,
        check: u8,
        ms: u64,
    },
}

#[derive(Serialize, Deserialize)]
struct WireBatch<'a> {
    seq: u64,
    #[serde(borrow)]
    strings: Vec<WireStr<'a>>,
    ops: Vec<WireOp>,
}

#[derive(Serialize, Deserialize)]
struct WireLease {
    key: WireKey,
    holder: u32,
    acquired: u64,
    expiry: u64,
    token: u64,
}

#[derive(Serialize, Deserialize)]
struct WirePin {
    entity: u32,
    until: Option<u64>,
    reason: Option<u32>,
}

#[derive(Serialize, Deserialize)]
struct WirePinSet {
    key: WireKey,
    pins: Vec<WirePin>,
}

#[derive(Serialize, Deserialize)]
struct WireSnapshot<'a> {
    global: u64,
    fence: u64,
    #[serde(borrow)]
    strings: Vec<WireStr<'a>>,
    leases: Vec<WireLease>,
    pins: Vec<WirePinSet>,
}

// ---- encoding ------------------------------------------------------------------------

/// Collects the distinct strings of an envelope in order of first use.
struct Interner<'a> {
    index: FxHashMap<&'a str, u32>,
    strings: Vec<&'a str>,
    /// The last namespace and model interned: consecutive operations mostly share them.
    last_group: [Option<(&'a str, u32)>; 2],
}

impl<'a> Interner<'a> {
    /// An interner expecting about `n` distinct strings.
    fn with_capacity(n: usize) -> Interner<'a> {
        Interner {
            index: FxHashMap::with_capacity_and_hasher(n, Default::default()),
            strings: Vec::with_capacity(n),
            last_group: [None; 2],
        }
    }

    fn name(&mut self, field: &'static str, s: &'a str) -> Result<u32, EncodeError> {
        if s.len() > MAX_NAME_BYTES {
            return Err(EncodeError::LimitExceeded {
                what: field,
                limit: MAX_NAME_BYTES,
            });
        }
        Ok(self.intern(s))
    }

    fn reason(&mut self, s: &'a str) -> Result<u32, EncodeError> {
        if s.len() > MAX_REASON_BYTES {
            return Err(EncodeError::LimitExceeded {
                what: "reason",
                limit: MAX_REASON_BYTES,
            });
        }
        Ok(self.intern(s))
    }

    fn intern(&mut self, s: &'a str) -> u32 {
        // A batch holds at most MAX_BATCH_OPS operations of a few names each.
        let next = u32::try_from(self.strings.len()).unwrap_or(u32::MAX);
        *self.index.entry(s).or_insert_with(|| {
            self.strings.push(s);
            next
        })
    }

    fn key(&mut self, k: &'a Key) -> Result<WireKey, EncodeError> {
        Ok(WireKey {
            namespace: self.group_part(0, "namespace", &k.namespace)?,
            model: self.group_part(1, "model", &k.model)?,
            lease: self.name("lease", &k.lease)?,
        })
    }

    /// A namespace (`part` 0) or model (1), skipping the lookup when it is the very
    /// string interned last time.
    fn group_part(
        &mut self,
        part: usize,
        field: &'static str,
        s: &'a str,
    ) -> Result<u32, EncodeError> {
        if let Some((last, i)) = self.last_group[part] {
            if std::ptr::eq(last, s) {
                return Ok(i);
            }
        }
        let i = self.name(field, s)?;
        self.last_group[part] = Some((s, i));
        Ok(i)
    }

    /// The table, each string front-coded against the one before it.
    fn front_coded(&self) -> Vec<WireStr<'a>> {
        let mut prev: &str = "";
        self.strings
            .iter()
            .map(|&s| {
                let mut shared = s
                    .bytes()
                    .zip(prev.bytes())
                    .take_while(|(a, b)| a == b)
                    .count();
                while !s.is_char_boundary(shared) {
                    shared -= 1;
                }
                prev = s;
                WireStr {
                    shared: u32::try_from(shared).unwrap_or(0),
                    suffix: &s[shared..],
                }
            })
            .collect()
    }
}

fn millis(d: Duration) -> u64 {
    duration_millis(d).unwrap_or(u64::MAX)
}

fn envelope<T: Serialize>(
    kind: u8,
    version: u8,
    body: &T,
    limit: usize,
) -> Result<Vec<u8>, EncodeError> {
    let out =
        postcard::to_extend(body, vec![kind, version]).map_err(|_| EncodeError::LimitExceeded {
            what: "encoded size",
            limit,
        })?;
    if out.len() > limit {
        return Err(EncodeError::LimitExceeded {
            what: "encoded size",
            limit,
        });
    }
    Ok(out)
}

/// Encodes `batch`; `place` says, for each operation in order, the place of the lease an
/// extension may refer to instead of naming it (version 2 when any does).
pub(crate) fn encode_batch<'b>(
    batch: &'b Batch,
    mut place: impl FnMut(&'b Op) -> Option<LeaseRef>,
) -> Result<Vec<u8>, EncodeError> {
    if batch.ops.len() > MAX_BATCH_OPS {
        return Err(EncodeError::LimitExceeded {
            what: "operations per batch",
            limit: MAX_BATCH_OPS,
        });
    }
    let mut names = Interner::with_capacity(2 * batch.ops.len() + 2);
    let mut ops = Vec::with_capacity(batch.ops.len());
    let mut version = SELF_CONTAINED;
    for op in &batch.ops {
        if let (Some(at), Op::Extend { duration, .. }) = (place(op), op) {
            version = FORMAT_VERSION;
            ops.push(WireOp::ExtendRef {
                slot: at.slot,
                check: at.check,
                ms: millis(*duration),
            });
            continue;
        }
        ops.push(match op {
            Op::Claim {
                key,
                holder,
                duration,
            } => WireOp::Claim {
                key: names.key(key)?,
                holder: names.name("holder", holder)?,
                ms: millis(*duration),
            },
            Op::Extend {
                key,
                holder,
                duration,
            } => WireOp::Extend {
                key: names.key(key)?,
                holder: names.name("holder", holder)?,
                ms: millis(*duration),
            },
            Op::Revoke { key, holder } => WireOp::Revoke {
                key: names.key(key)?,
                holder: names.name("holder", holder)?,
            },
            Op::Pin {
                key,
                entity,
                until,
                reason,
            } => WireOp::Pin {
                key: names.key(key)?,
                entity: names.name("entity", entity)?,
                until: until.map(Time::as_millis),
                reason: reason.as_deref().map(|r| names.reason(r)).transpose()?,
            },
            Op::Unpin { key, entity } => WireOp::Unpin {
                key: names.key(key)?,
                entity: names.name("entity", entity)?,
            },
            Op::SetTime { old, new } => WireOp::SetTime {
                old: old.as_millis(),
                new: new.as_millis(),
            },
            Op::Handover {
                key,
                from,
                to,
                duration,
            } => WireOp::Handover {
                key: names.key(key)?,
                from: names.name("from", from)?,
                to: names.name("to", to)?,
                ms: millis(*duration),
            },
        });
    }
    let wire = WireBatch {
        seq: batch.seq,
        strings: names.front_coded(),
        ops,
    };
    envelope(BATCH_KIND, version, &wire, MAX_BATCH_BYTES)
}

fn encode_snapshot(snapshot: &Snapshot) -> Result<Vec<u8>, EncodeError> {
    let mut names = Interner::with_capacity(2 * snapshot.leases().len() + 2);
    let mut leases = Vec::with_capacity(snapshot.leases().len());
    let mut places = Vec::with_capacity(snapshot.leases().len());
    for l in snapshot.leases() {
        if l.slot as usize >= MAX_PLACES {
            return Err(EncodeError::LimitExceeded {
                what: "places of leases",
                limit: MAX_PLACES,
            });
        }
        places.push(l.slot);
        leases.push(WireLease {
            key: names.key(&l.key)?,
            holder: names.name("holder", &l.holder)?,
            acquired: l.acquired.as_millis(),
            expiry: l.expiry.as_millis(),
            token: l.token,
        });
    }
    let mut pins = Vec::with_capacity(snapshot.pins().len());
    for (key, set) in snapshot.pins() {
        let key = names.key(key)?;
        let mut wire = Vec::with_capacity(set.len());
        for p in set {
            wire.push(WirePin {
                entity: names.name("entity", &p.entity)?,
                until: p.until.map(Time::as_millis),
                reason: p.reason.as_deref().map(|r| names.reason(r)).transpose()?,
            });
        }
        pins.push(WirePinSet { key, pins: wire });
    }
    let wire = WireSnapshot {
        global: snapshot.global_time().as_millis(),
        fence: snapshot.fence(),
        strings: names.front_coded(),
        leases,
        pins,
    };
    envelope(
        SNAPSHOT_KIND,
        FORMAT_VERSION,
        &(wire, places),
        MAX_SNAPSHOT_BYTES,
    )
}

// ---- decoding ------------------------------------------------------------------------

/// Checks the header and the size; returns the version and the body.
fn open<'a>(
    bytes: &'a [u8],
    kind: u8,
    expected: &'static str,
    limit: usize,
) -> Result<(u8, &'a [u8]), DecodeError> {
    if bytes.len() > limit {
        return Err(DecodeError::TooLarge {
            actual: bytes.len(),
            limit,
        });
    }
    let [found, version, body @ ..] = bytes else {
        return Err(DecodeError::Truncated);
    };
    if *found != kind {
        return Err(DecodeError::WrongKind {
            expected,
            expected_byte: kind,
            found: *found,
        });
    }
    if !(1..=FORMAT_VERSION).contains(version) {
        return Err(DecodeError::UnsupportedVersion {
            found: *version,
            supported: FORMAT_VERSION,
        });
    }
    Ok((*version, body))
}

/// Decodes a whole body, rejecting trailing bytes.
fn body<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, DecodeError> {
    let (value, rest) = postcard::take_from_bytes::<T>(body).map_err(|e| match e {
        postcard::Error::DeserializeUnexpectedEnd => DecodeError::Truncated,
        postcard::Error::DeserializeBadVarint => DecodeError::Corrupt("bad varint"),
        postcard::Error::DeserializeBadUtf8 => DecodeError::Corrupt("a string is not UTF-8"),
        postcard::Error::DeserializeBadEnum => DecodeError::Corrupt("unknown operation kind"),
        postcard::Error::DeserializeBadOption => DecodeError::Corrupt("bad optional field"),
        _ => DecodeError::Corrupt("malformed body"),
    })?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes(rest.len()));
    }
    Ok(value)
}

/// The decoded string table.
struct Table(Vec<Arc<str>>);

impl Table {
    fn decode(wire: &[WireStr<'_>]) -> Result<Table, DecodeError> {
        let mut out: Vec<Arc<str>> = Vec::with_capacity(wire.len());
        let mut buf = String::new();
        for w in wire {
            let shared = w.shared as usize;
            if shared > buf.len() || !buf.is_char_boundary(shared) {
                return Err(DecodeError::Corrupt("string table prefix is out of range"));
            }
            if shared + w.suffix.len() > MAX_REASON_BYTES {
                return Err(DecodeError::LimitExceeded {
                    what: "string length",
                    limit: MAX_REASON_BYTES,
                });
            }
            buf.truncate(shared);
            buf.push_str(w.suffix);
            out.push(Arc::from(buf.as_str()));
        }
        Ok(Table(out))
    }

    fn get(&self, i: u32) -> Result<&Arc<str>, DecodeError> {
        self.0
            .get(i as usize)
            .ok_or(DecodeError::Corrupt("string index is out of range"))
    }

    fn name(&self, i: u32) -> Result<Arc<str>, DecodeError> {
        let s = self.get(i)?;
        if s.len() > MAX_NAME_BYTES {
            return Err(DecodeError::LimitExceeded {
                what: "name length",
                limit: MAX_NAME_BYTES,
            });
        }
        Ok(s.clone())
    }

    fn key(&self, k: WireKey) -> Result<Key, DecodeError> {
        Ok(Key {
            namespace: self.name(k.namespace)?,
            model: self.name(k.model)?,
            lease: self.name(k.lease)?,
        })
    }
}

fn duration(ms: u64) -> Result<Duration, DecodeError> {
    if ms > MAX_DURATION_MS {
        return Err(DecodeError::Corrupt("duration is longer than ten years"));
    }
    Ok(Duration::from_millis(ms))
}

/// Decodes a batch; references to places resolve against `state`, the state the batch
/// applies to.
fn decode_batch(bytes: &[u8], state: Option<&Fsm>) -> Result<Batch, DecodeError> {
    let (seq, steps) = decode_steps(bytes, state, true)?;
    let ops = steps
        .into_iter()
        .map(|step| match step {
            Step::Named(op) => Ok(op),
            Step::Place {
                duration,
                names: Some((key, holder)),
                ..
            } => Ok(Op::Extend {
                key,
                holder,
                duration,
            }),
            // Every place's names were asked for.
            Step::Place { names: None, .. } => Err(UNHELD),
        })
        .collect::<Result<_, _>>()?;
    Ok(Batch { seq, ops })
}

const UNHELD: DecodeError =
    DecodeError::Corrupt("an extension refers to a place holding no such lease");

/// One operation of a batch a replica follows without keeping results: a named
/// operation, or an extension at a place with the grant it held before the batch.
enum Step {
    Named(Op),
    Place {
        at: LeaseRef,
        token: u64,
        duration: Duration,
        /// The lease's and holder's names, kept only when a claim or handover earlier in
        /// the batch could have given the place to another grant.
        names: Option<(Key, Arc<str>)>,
    },
}

/// Decodes a batch's operations: each named one as an [`Op`], each reference to a place
/// checked against `state` (the state before the batch) with the grant's token, and its
/// names resolved when `names` asks for them all or a claim or handover comes before it in
/// the batch.
fn decode_steps(
    bytes: &[u8],
    state: Option<&Fsm>,
    names: bool,
) -> Result<(u64, Vec<Step>), DecodeError> {
    let (version, b) = open(bytes, BATCH_KIND, "batch", MAX_BATCH_BYTES)?;
    let wire: WireBatch<'_> = body(b)?;
    if wire.ops.len() > MAX_BATCH_OPS {
        return Err(DecodeError::LimitExceeded {
            what: "operations per batch",
            limit: MAX_BATCH_OPS,
        });
    }
    let t = Table::decode(&wire.strings)?;
    let first_grant = wire
        .ops
        .iter()
        .position(|op| matches!(op, WireOp::Claim { .. } | WireOp::Handover { .. }))
        .unwrap_or(usize::MAX);
    let mut ops = Vec::with_capacity(wire.ops.len());
    for (i, op) in wire.ops.into_iter().enumerate() {
        if let WireOp::ExtendRef { slot, check, ms } = op {
            if version == SELF_CONTAINED {
                return Err(DecodeError::Corrupt(
                    "a version-1 batch refers to a lease by its place",
                ));
            }
            let state = state.ok_or(DecodeError::NeedsState)?;
            let at = LeaseRef { slot, check };
            ops.push(Step::Place {
                at,
                token: state.token_at(at).ok_or(UNHELD)?,
                duration: duration(ms)?,
                names: if names || i > first_grant {
                    Some(state.resolve(at).ok_or(UNHELD)?)
                } else {
                    None
                },
            });
            continue;
        }
        ops.push(Step::Named(match op {
            WireOp::Claim { key, holder, ms } => Op::Claim {
                key: t.key(key)?,
                holder: t.name(holder)?,
                duration: duration(ms)?,
            },
            WireOp::Extend { key, holder, ms } => Op::Extend {
                key: t.key(key)?,
                holder: t.name(holder)?,
                duration: duration(ms)?,
            },
            WireOp::Revoke { key, holder } => Op::Revoke {
                key: t.key(key)?,
                holder: t.name(holder)?,
            },
            WireOp::Pin {
                key,
                entity,
                until,
                reason,
            } => Op::Pin {
                key: t.key(key)?,
                entity: t.name(entity)?,
                until: until.map(Time::from_millis),
                reason: reason.map(|r| t.get(r).cloned()).transpose()?,
            },
            WireOp::Unpin { key, entity } => Op::Unpin {
                key: t.key(key)?,
                entity: t.name(entity)?,
            },
            WireOp::SetTime { old, new } => Op::SetTime {
                old: Time::from_millis(old),
                new: Time::from_millis(new),
            },
            WireOp::Handover { key, from, to, ms } => Op::Handover {
                key: t.key(key)?,
                from: t.name(from)?,
                to: t.name(to)?,
                duration: duration(ms)?,
            },
            // Taken above; never reached.
            WireOp::ExtendRef { .. } => return Err(UNHELD),
        }));
    }
    Ok((wire.seq, ops))
}

fn decode_snapshot(bytes: &[u8]) -> Result<Snapshot, DecodeError> {
    let (version, b) = open(bytes, SNAPSHOT_KIND, "snapshot", MAX_SNAPSHOT_BYTES)?;
    let (wire, places): (WireSnapshot<'_>, Vec<u32>) = if version == SELF_CONTAINED {
        let wire: WireSnapshot<'_> = body(b)?;
        // Version 1 has no places: the leases take them in key order.
        let places = (0u32..).take(wire.leases.len()).collect();
        (wire, places)
    } else {
        body(b)?
    };
    if places.len() != wire.leases.len() {
        return Err(DecodeError::Corrupt(
            "a snapshot has not one place for every lease",
        ));
    }
    // One bit a place up to the highest named (at most 2 MiB, the limit's worth).
    let highest = places.iter().max().map_or(0, |&p| p as usize + 1);
    let mut taken = vec![0u64; highest.min(MAX_PLACES).div_ceil(64)];
    let mut distinct = |p: u32| {
        let (word, bit) = (p as usize / 64, 1u64 << (p % 64));
        let fresh = taken.get(word).is_some_and(|w| w & bit == 0);
        if fresh {
            taken[word] |= bit;
        }
        fresh
    };
    if highest > MAX_PLACES || !places.iter().all(|&p| distinct(p)) {
        return Err(DecodeError::Corrupt(
            "a snapshot's places are out of range or not distinct",
        ));
    }
    let t = Table::decode(&wire.strings)?;
    let global = Time::from_millis(wire.global);
    let mut leases: Vec<SnapshotLease> = Vec::with_capacity(wire.leases.len());
    for (l, slot) in wire.leases.into_iter().zip(places) {
        let lease = SnapshotLease {
            slot,
            key: t.key(l.key)?,
            holder: t.name(l.holder)?,
            acquired: Time::from_millis(l.acquired),
            expiry: Time::from_millis(l.expiry),
            token: l.token,
        };
        if leases.last().is_some_and(|prev| prev.key >= lease.key) {
            return Err(DecodeError::Corrupt(
                "snapshot leases are not in strictly ascending key order",
            ));
        }
        if lease.token == 0 || lease.token > wire.fence {
            return Err(DecodeError::Corrupt(
                "a lease's token is beyond the fencing counter",
            ));
        }
        if lease.acquired > global {
            return Err(DecodeError::Corrupt(
                "a lease was acquired after the snapshot's time",
            ));
        }
        if [
            &lease.key.namespace,
            &lease.key.model,
            &lease.key.lease,
            &lease.holder,
        ]
        .iter()
        .any(|s| s.is_empty())
        {
            return Err(DecodeError::Corrupt("a lease has an empty name"));
        }
        leases.push(lease);
    }
    let mut pins = BTreeMap::new();
    let mut last_key: Option<Key> = None;
    for set in wire.pins {
        let key = t.key(set.key)?;
        if last_key.as_ref().is_some_and(|k| *k >= key) {
            return Err(DecodeError::Corrupt(
                "snapshot pins are not in strictly ascending key order",
            ));
        }
        if set.pins.is_empty() {
            return Err(DecodeError::Corrupt("a pin set is empty"));
        }
        let mut infos: Vec<PinInfo> = Vec::with_capacity(set.pins.len());
        for p in set.pins {
            let info = PinInfo {
                entity: t.name(p.entity)?,
                until: p.until.map(Time::from_millis),
                reason: p.reason.map(|r| t.get(r).cloned()).transpose()?,
            };
            if infos.last().is_some_and(|prev| prev.entity >= info.entity) || info.entity.is_empty()
            {
                return Err(DecodeError::Corrupt(
                    "pin entities are empty or not in ascending order",
                ));
            }
            infos.push(info);
        }
        last_key = Some(key.clone());
        pins.insert(key, infos);
    }
    Ok(Snapshot::from_parts(global, wire.fence, leases, pins))
}

impl Batch {
    /// The batch in the log format: a versioned postcard envelope whose names are
    /// interned and front-coded, so a batch of similar keys costs few bytes per
    /// operation. Deterministic: the same batch always gives the same bytes.
    ///
    /// Every lease is named (format version 1), so the bytes decode on their own; see
    /// [`Fsm::encode_batch`] for the smaller form that refers to the state.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        encode_batch(self, |_| None)
    }

    /// Decodes untrusted bytes. Never panics; allocates at most in proportion to
    /// `bytes.len()`, which is itself limited to [`crate::limits::MAX_BATCH_BYTES`].
    /// A batch that refers to its state's leases by place is refused with
    /// [`DecodeError::NeedsState`]: decode it with [`Fsm::decode_batch`].
    pub fn decode(bytes: &[u8]) -> Result<Batch, DecodeError> {
        decode_batch(bytes, None)
    }

    /// The sequence number of an encoded batch, read without decoding the rest (it leads
    /// the body in every version), so a batch that refers to a state can be placed in
    /// order before that state is at hand.
    pub fn seq_of(bytes: &[u8]) -> Result<u64, DecodeError> {
        let (_, b) = open(bytes, BATCH_KIND, "batch", MAX_BATCH_BYTES)?;
        postcard::take_from_bytes::<u64>(b)
            .map(|(seq, _)| seq)
            .map_err(|_| DecodeError::Truncated)
    }
}

/// Encodes `batch` to apply after the state `fsm`, naming by place each extension that
/// nothing can move before it applies: `fsm` holds the lease by that holder, it cannot
/// expire by `until` nor by any time an earlier `set_time` of the batch sets, `settled`
/// says no batch in flight before this one revokes, hands over or unpins it, and no
/// earlier operation of this one does. `placed` hears each operation's place, in order
/// (`None` when it is named).
pub(crate) fn encode_against(
    fsm: &Fsm,
    batch: &Batch,
    mut until: Time,
    settled: impl Fn(&Key) -> bool,
    mut placed: impl FnMut(Option<LeaseRef>),
) -> Result<Vec<u8>, EncodeError> {
    // Revokes, handovers and unpins are few: a list is enough.
    let mut touched: Vec<&Key> = Vec::new();
    encode_batch(batch, |op| {
        let place = match op {
            Op::SetTime { new, .. } => {
                until = until.max(*new);
                None
            }
            Op::Extend { key, holder, .. } if settled(key) && !touched.contains(&key) => {
                fsm.lease_ref(key, holder, until)
            }
            op => {
                touched.extend(op.unsettles());
                None
            }
        };
        placed(place);
        place
    })
}

impl Fsm {
    /// Encodes `batch` to apply to exactly this state: an extension of a lease this
    /// state holds, by its holder, that nothing earlier in the batch revokes, hands
    /// over, unpins or lets expire, names the lease by its place (about 6 bytes instead of
    /// its names; format version 2). The bytes decode only against this state
    /// ([`Fsm::decode_batch`]); without such extensions they are [`Batch::encode`]'s.
    pub fn encode_batch(&self, batch: &Batch) -> Result<Vec<u8>, EncodeError> {
        encode_against(self, batch, self.global_time(), |_| true, |_| {})
    }

    /// Decodes untrusted bytes of a batch that applies to this state, resolving the
    /// leases it names by place (format version 2) against it; any other batch decodes as
    /// with [`Batch::decode`]. A reference to a place that holds no such lease is
    /// refused as corrupt. Never panics; allocates at most in proportion to
    /// `bytes.len()`.
    pub fn decode_batch(&self, bytes: &[u8]) -> Result<Batch, DecodeError> {
        decode_batch(bytes, Some(self))
    }

    /// Decodes a batch against this state ([`Fsm::decode_batch`]) and applies it
    /// ([`Fsm::apply_batch`]): how a replica follows the log. A batch that does not decode
    /// changes nothing.
    pub fn apply_encoded(
        &mut self,
        bytes: &[u8],
    ) -> Result<Vec<Result<Applied, LeaseError>>, DecodeError> {
        let batch = self.decode_batch(bytes)?;
        Ok(self.apply_batch(&batch))
    }

    /// Decodes a batch against this state and applies it as a replica that keeps no
    /// results (a compactor, a restart replaying its log): the state
    /// [`Fsm::apply_encoded`] reaches, without building an operation or an event for an
    /// extension at a place. Returns the batch's sequence number; a batch that does not
    /// decode changes nothing.
    pub fn replay_encoded(&mut self, bytes: &[u8]) -> Result<u64, DecodeError> {
        let (seq, steps) = decode_steps(bytes, Some(&*self), false)?;
        let mut events = Vec::new();
        for step in steps {
            // Refused operations are part of the log's meaning; every replica refuses them.
            let _ = match step {
                Step::Named(op) => self.apply_into(&op, &mut events),
                // The same grant holds the place: extending it there is extending it by
                // its names.
                Step::Place {
                    at,
                    token,
                    duration,
                    ..
                } if self.token_at(at) == Some(token) => self.extend_at(at, duration, None),
                // Moved by a claim or handover earlier in the batch: by its names.
                Step::Place {
                    duration,
                    names: Some((key, holder)),
                    ..
                } => self.apply_into(
                    &Op::Extend {
                        key,
                        holder,
                        duration,
                    },
                    &mut events,
                ),
                // Gone, and nothing in the batch before it grants anything: not held.
                Step::Place { .. } => Err(LeaseError::Invalid),
            };
            events.clear();
        }
        Ok(seq)
    }
}

impl Snapshot {
    /// The snapshot in the log format (deterministic).
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        encode_snapshot(self)
    }

    /// Decodes untrusted bytes, checking that they describe a consistent state (sorted,
    /// unique keys; tokens no greater than the fencing counter). Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Snapshot, DecodeError> {
        decode_snapshot(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Time;

    fn key(lease: &str) -> Key {
        Key::new("application-leadership", "model", lease)
    }

    /// A batch only a hostile writer makes (the engine names a lease an earlier operation
    /// of the batch touches): `a` revoked, claimed again by its holder (the same place, a
    /// new grant), then extended by its old place; `b` revoked, then extended by its
    /// place. Read by names, the first extends the new grant and the second is refused;
    /// a replica that keeps no results must reach the same state.
    #[test]
    fn a_replica_without_results_agrees_with_the_names_when_a_place_changes_hands() {
        let minute = Duration::from_secs(60);
        let mut fsm = Fsm::new();
        fsm.apply(&Op::claim(key("a"), "a/0", minute)).unwrap();
        fsm.apply(&Op::claim(key("b"), "b/0", minute)).unwrap();
        let a = fsm.lease_ref(&key("a"), "a/0", Time::ZERO).unwrap();
        let b = fsm.lease_ref(&key("b"), "b/0", Time::ZERO).unwrap();
        let batch = Batch::new(
            1,
            vec![
                Op::revoke(key("a"), "a/0"),
                Op::claim(key("a"), "a/0", minute),
                Op::extend(key("a"), "a/0", 2 * minute),
                Op::revoke(key("b"), "b/0"),
                Op::extend(key("b"), "b/0", minute),
            ],
        );
        let bytes = encode_batch(&batch, |op| match op {
            Op::Extend { key: k, .. } if *k == key("a") => Some(a),
            Op::Extend { key: k, .. } if *k == key("b") => Some(b),
            _ => None,
        })
        .unwrap();
        assert_eq!(fsm.decode_batch(&bytes).unwrap(), batch);
        let mut named = fsm.clone();
        let results = named.apply_encoded(&bytes).unwrap();
        assert!(results[2].is_ok(), "{results:?}");
        assert_eq!(results[4], Err(LeaseError::Invalid));
        let mut quiet = fsm.clone();
        assert_eq!(quiet.replay_encoded(&bytes), Ok(1));
        assert_eq!(quiet.snapshot(), named.snapshot());
        assert_eq!(
            quiet.lease(&key("a"), Time::ZERO).unwrap().expiry,
            Time::from_millis(120_000)
        );
    }
}
