//! The ledger: a lease state machine fed the committed log, batch by batch, keeping
//! what the dashboard shows about every lease, batch and event.
//!
//! The live view feeds it the simulation's committed batches; the timeline rebuilds one
//! from the first batches of the log; an imported log builds one from the file. The
//! same bytes always give the same ledger.

use leasehold::sim::{Checker, Violation};
use leasehold::{Batch, DecodeError, Event, Fsm, Key, LeaseError, PinInfo, Snapshot, Time};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// How many events the ledger keeps for the event log.
pub const EVENTS_KEPT: usize = 2_000;
/// How many recent batches keep every operation's answer for the batch detail view.
pub const ANSWERS_KEPT: usize = 128;

/// One lease as the table shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The lease.
    pub key: Key,
    /// Its holder, `None` while free.
    pub holder: Option<Arc<str>>,
    /// The holder's fencing token (the last one, while free).
    pub token: u64,
    /// Log time of the current grant.
    pub acquired: Time,
    /// Log time of the last grant or extension.
    pub renewed: Time,
    /// Log time at which it expires (unless pinned).
    pub expiry: Time,
    /// How many times it was granted (claims and handovers).
    pub transitions: u32,
    /// How many entities pin it.
    pub pins: u16,
}

impl Row {
    fn new(key: Key) -> Row {
        Row {
            key,
            holder: None,
            token: 0,
            acquired: Time::ZERO,
            renewed: Time::ZERO,
            expiry: Time::ZERO,
            transitions: 0,
            pins: 0,
        }
    }

    /// Whether the table lists it: held, or pinned while free.
    #[must_use]
    pub fn listed(&self) -> bool {
        self.holder.is_some() || self.pins > 0
    }
}

/// One committed batch, in brief.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSummary {
    /// Its sequence number.
    pub seq: u64,
    /// Operations it carried (including `set_time`).
    pub ops: u32,
    /// Its encoded size.
    pub bytes: u32,
    /// Log time after it applied.
    pub time: Time,
}

/// An event with the batch that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    /// Its number: events are numbered from 0 in log order.
    pub n: u64,
    /// The batch.
    pub seq: u64,
    /// Log time after the batch applied.
    pub at: Time,
    /// What happened.
    pub event: Event,
}

/// What one operation of a batch got: its token on success, or why it failed.
pub type OpAnswer = Result<Option<u64>, LeaseError>;

/// A record of a log that is not a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    /// The record's number, from 0.
    pub record: usize,
    /// Why it does not decode.
    pub error: DecodeError,
}

impl std::fmt::Display for BadRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record {} is not a batch: {}", self.record, self.error)
    }
}

/// The state machine and everything the dashboard shows about it.
#[derive(Debug, Clone)]
pub struct Ledger {
    fsm: Fsm,
    rows: Vec<Row>,
    index: HashMap<Key, u32>,
    /// The encoded batches, when this ledger is the head of a log (not a replay): all of
    /// them, or with a cap the latest (from summary `log_start` on).
    log: Option<Vec<Vec<u8>>>,
    log_cap: Option<usize>,
    log_start: usize,
    summaries: Vec<BatchSummary>,
    events: VecDeque<LoggedEvent>,
    event_count: u64,
    answers: VecDeque<(u64, Vec<OpAnswer>)>,
    checker: Checker,
    checked: usize,
    violations: u64,
    violation: Option<Violation>,
    /// Bumped whenever a lease joins or leaves the table.
    membership: u64,
    listed: usize,
}

impl Ledger {
    /// An empty ledger whose rows start with `keys`, in that order (more are added as
    /// the log names them). `keep_log` keeps the batches' bytes, for export and replay.
    #[must_use]
    pub fn new(keys: impl IntoIterator<Item = Key>, keep_log: bool) -> Ledger {
        let mut ledger = Ledger {
            fsm: Fsm::new(),
            rows: Vec::new(),
            index: HashMap::new(),
            log: keep_log.then(Vec::new),
            log_cap: None,
            log_start: 0,
            summaries: Vec::new(),
            events: VecDeque::new(),
            event_count: 0,
            answers: VecDeque::new(),
            checker: Checker::new(0),
            checked: 0,
            violations: 0,
            violation: None,
            membership: 0,
            listed: 0,
        };
        for key in keys {
            ledger.row_of(&key);
        }
        ledger.checked = ledger.rows.len();
        ledger.checker = Checker::new(ledger.checked);
        ledger
    }

    /// A ledger of `batches`, replayed from the start; rows start with `keys`.
    pub fn replay(
        keys: impl IntoIterator<Item = Key>,
        batches: &[Vec<u8>],
        keep_log: bool,
    ) -> Result<Ledger, DecodeError> {
        let mut ledger = Ledger::new(keys, keep_log);
        for bytes in batches {
            ledger.apply_bytes(bytes)?;
        }
        Ok(ledger)
    }

    /// A ledger of a log read from a file: every key it names gets a row first (so the
    /// invariant checker follows them all), then the batches apply. A log written by
    /// the driver starts with its own batches (from seq 1, each opening with a
    /// `setTime`); they apply like any other.
    pub fn import(batches: Vec<Vec<u8>>) -> Result<Ledger, BadRecord> {
        // In order, each against the state it applies to: a driver's log names the
        // leases it extends by their places in that state.
        let mut state = Fsm::new();
        let mut decoded: Vec<Batch> = Vec::with_capacity(batches.len());
        for (record, b) in batches.iter().enumerate() {
            let batch = state
                .decode_batch(b)
                .map_err(|error| BadRecord { record, error })?;
            state.apply_batch(&batch);
            decoded.push(batch);
        }
        let mut seen = std::collections::BTreeSet::new();
        for op in decoded.iter().flat_map(|b| &b.ops) {
            if let Some(key) = op.key() {
                seen.insert(key.clone());
            }
        }
        let mut ledger = Ledger::new(seen, true);
        for batch in &decoded {
            ledger.apply(batch, self_contained(batch));
        }
        Ok(ledger)
    }

    /// Keeps the bytes of only the latest `cap` batches (at least; for the batch detail of
    /// a live cluster, whose log has no end): a page left open does not grow without
    /// bound. Such a ledger's [`Ledger::log`] is not a whole log.
    #[must_use]
    pub fn with_log_cap(mut self, cap: usize) -> Ledger {
        self.log_cap = Some(cap.max(1));
        self
    }

    /// A ledger that starts from a state machine's snapshot (a watch of a running
    /// service starts there): a row for every lease held or pinned, its holder, token,
    /// grant and expiry as the snapshot has them (renewals and transitions before it are
    /// not known). The invariant checker follows none of them: the log before the
    /// snapshot is not there to check.
    #[must_use]
    pub fn of_snapshot(snapshot: Snapshot, keep_log: bool) -> Ledger {
        let mut ledger = Ledger::new(std::iter::empty(), keep_log);
        ledger.fsm = Fsm::restore(snapshot);
        let now = ledger.fsm.global_time();
        let pinned: Vec<Key> = ledger.fsm.pins().keys().cloned().collect();
        for info in ledger.fsm.leases(now) {
            let i = ledger.row_of(&info.key);
            let row = &mut ledger.rows[i];
            row.holder = Some(info.holder.clone());
            row.token = info.token;
            row.acquired = info.acquired;
            row.renewed = info.acquired;
            row.expiry = info.expiry;
        }
        for key in pinned {
            let pins = ledger.fsm.pins().get(&key).map_or(0, Vec::len);
            let i = ledger.row_of(&key);
            ledger.rows[i].pins = u16::try_from(pins).unwrap_or(u16::MAX);
        }
        ledger.listed = ledger.rows.iter().filter(|r| r.listed()).count();
        ledger
    }

    /// Decodes one committed batch against the ledger's state (the one it applies to)
    /// and applies it; the log keeps it in the form that names every lease, so a batch
    /// shown or exported later decodes on its own.
    pub fn apply_bytes(&mut self, bytes: &[u8]) -> Result<(), DecodeError> {
        let batch = self.fsm.decode_batch(bytes)?;
        self.apply(&batch, self_contained(&batch));
        Ok(())
    }

    /// Applies one committed batch (its decoded form and its bytes).
    pub fn apply(&mut self, batch: &Batch, bytes: Vec<u8>) {
        let results = self.fsm.apply_batch(batch);
        let at = self.fsm.global_time();
        let seq = batch.seq;
        let mut answers = Vec::with_capacity(results.len());
        for result in results {
            match result {
                Ok(applied) => {
                    answers.push(Ok(applied.token));
                    for event in applied.events {
                        self.on_event(seq, at, event);
                    }
                }
                Err(e) => answers.push(Err(e)),
            }
        }
        if self.answers.len() == ANSWERS_KEPT {
            self.answers.pop_front();
        }
        self.answers.push_back((seq, answers));
        self.summaries.push(BatchSummary {
            seq,
            ops: u32::try_from(batch.ops.len()).unwrap_or(u32::MAX),
            bytes: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
            time: at,
        });
        if let Some(log) = self.log.as_mut() {
            log.push(bytes);
            // Bounded: drop the oldest half-cap at once (amortised), keeping at least
            // the cap.
            if let Some(cap) = self.log_cap
                && log.len() >= cap + cap / 2
            {
                let drop = log.len() - cap;
                log.drain(..drop);
                self.log_start += drop;
            }
        }
    }

    fn on_event(&mut self, seq: u64, at: Time, event: Event) {
        let i = self.row_of(event.key());
        if i < self.checked {
            let unit = event
                .holder()
                .and_then(|h| h.rsplit_once('/'))
                .and_then(|(_, u)| u.parse().ok());
            if let Err(v) = self.checker.check(seq, at, i, unit, &event) {
                self.violations += 1;
                self.violation.get_or_insert(v);
            }
        }
        let pins = self.fsm.pins().get(event.key()).map_or(0, Vec::len);
        let row = &mut self.rows[i];
        let was_listed = row.listed();
        match &event {
            Event::Claimed {
                holder,
                token,
                expiry,
                ..
            } => {
                row.holder = Some(holder.clone());
                row.token = *token;
                row.acquired = at;
                row.renewed = at;
                row.expiry = *expiry;
                row.transitions += 1;
            }
            Event::Extended { expiry, .. } => {
                row.renewed = at;
                row.expiry = *expiry;
                return;
            }
            Event::Expired { .. } | Event::Revoked { .. } => row.holder = None,
            Event::HandedOver {
                to, token, expiry, ..
            } => {
                row.holder = Some(to.clone());
                row.token = *token;
                row.acquired = at;
                row.renewed = at;
                row.expiry = *expiry;
                row.transitions += 1;
            }
            Event::Pinned { .. } | Event::Unpinned { .. } => {
                row.pins = u16::try_from(pins).unwrap_or(u16::MAX);
            }
        }
        if row.listed() != was_listed {
            self.membership += 1;
            if row.listed() {
                self.listed += 1;
            } else {
                self.listed -= 1;
            }
        }
        if self.events.len() == EVENTS_KEPT {
            self.events.pop_front();
        }
        self.events.push_back(LoggedEvent {
            n: self.event_count,
            seq,
            at,
            event,
        });
        self.event_count += 1;
    }

    fn row_of(&mut self, key: &Key) -> usize {
        if let Some(&i) = self.index.get(key) {
            return i as usize;
        }
        let i = self.rows.len();
        self.rows.push(Row::new(key.clone()));
        self.index
            .insert(key.clone(), u32::try_from(i).unwrap_or(u32::MAX));
        self.membership += 1;
        i
    }

    // ---- reads -------------------------------------------------------------------

    /// The state machine.
    #[must_use]
    pub fn fsm(&self) -> &Fsm {
        &self.fsm
    }

    /// Log time.
    #[must_use]
    pub fn now(&self) -> Time {
        self.fsm.global_time()
    }

    /// Every lease the log has named, in the order first seen.
    #[must_use]
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The row of `key`, if the log named it.
    #[must_use]
    pub fn row(&self, key: &Key) -> Option<&Row> {
        self.index.get(key).map(|&i| &self.rows[i as usize])
    }

    /// The pins of `key`.
    #[must_use]
    pub fn pins(&self, key: &Key) -> &[PinInfo] {
        self.fsm.pins().get(key).map_or(&[], Vec::as_slice)
    }

    /// How many leases the table lists (held, or pinned while free).
    #[must_use]
    pub fn listed(&self) -> usize {
        self.listed
    }

    /// How many events (extensions aside) were applied.
    #[must_use]
    pub fn event_count(&self) -> u64 {
        self.event_count
    }

    /// A counter that changes whenever a lease joins or leaves the table.
    #[must_use]
    pub fn membership(&self) -> u64 {
        self.membership
    }

    /// How many batches applied.
    #[must_use]
    pub fn batches(&self) -> usize {
        self.summaries.len()
    }

    /// Every applied batch, in brief, in log order.
    #[must_use]
    pub fn summaries(&self) -> &[BatchSummary] {
        &self.summaries
    }

    /// The encoded batches, if this ledger keeps them.
    #[must_use]
    pub fn log(&self) -> &[Vec<u8>] {
        self.log.as_deref().unwrap_or(&[])
    }

    /// The bytes of batch number `seq`, if kept.
    #[must_use]
    pub fn batch_bytes(&self, seq: u64) -> Option<&[u8]> {
        let i = self.summaries.binary_search_by_key(&seq, |s| s.seq).ok()?;
        self.log
            .as_ref()?
            .get(i.checked_sub(self.log_start)?)
            .map(Vec::as_slice)
    }

    /// The answers of batch `seq`'s operations, if it is among the latest.
    #[must_use]
    pub fn answers(&self, seq: u64) -> Option<&[OpAnswer]> {
        self.answers
            .iter()
            .rev()
            .find(|(s, _)| *s == seq)
            .map(|(_, a)| a.as_slice())
    }

    /// The latest events (extensions aside), oldest first.
    pub fn events(&self) -> impl DoubleEndedIterator<Item = &LoggedEvent> {
        self.events.iter()
    }

    /// How many invariant breaks the ledger's own checker saw.
    #[must_use]
    pub fn violations(&self) -> u64 {
        self.violations
    }

    /// The first break the ledger's checker saw.
    #[must_use]
    pub fn violation(&self) -> Option<&Violation> {
        self.violation.as_ref()
    }
}

/// A batch in the form that names every lease ([`Batch::encode`]): what a ledger's log
/// keeps, whatever form the batch arrived in.
fn self_contained(batch: &Batch) -> Vec<u8> {
    // A decoded batch is within every limit, so it encodes again.
    batch.encode().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use leasehold::Op;
    use std::time::Duration;

    fn key(l: &str) -> Key {
        Key::new("application-leadership", "m", l)
    }

    fn batch(seq: u64, ops: Vec<Op>) -> Vec<u8> {
        Batch::new(seq, ops).encode().unwrap()
    }

    #[test]
    fn rows_follow_grants_extensions_expiries_and_pins() {
        let minute = Duration::from_secs(60);
        let log = vec![
            batch(1, vec![Op::claim(key("a"), "a/0", minute)]),
            batch(
                2,
                vec![
                    Op::set_time(Time::ZERO, Time::from_millis(1_000)),
                    Op::extend(key("a"), "a/0", minute),
                    Op::claim(key("b"), "b/1", minute),
                    Op::pin_until(key("b"), "machine-0", Time::from_millis(90_000), "upgrade"),
                ],
            ),
            batch(
                3,
                vec![Op::set_time(
                    Time::from_millis(1_000),
                    Time::from_millis(61_001),
                )],
            ),
        ];
        let ledger = Ledger::replay([key("a"), key("b")], &log, true).unwrap();
        let a = ledger.row(&key("a")).unwrap();
        assert_eq!(a.holder, None, "a expired at 61 s");
        assert_eq!(a.renewed, Time::from_millis(1_000));
        let b = ledger.row(&key("b")).unwrap();
        assert_eq!(b.holder.as_deref(), Some("b/1"), "b is pinned");
        assert_eq!((b.pins, b.transitions, b.token), (1, 1, 2));
        assert_eq!(ledger.listed(), 1);
        assert_eq!(ledger.batches(), 3);
        assert_eq!(ledger.batch_bytes(2), Some(log[1].as_slice()));
        assert_eq!(ledger.answers(2).unwrap().len(), 4);
        let kinds: Vec<&str> = ledger.events().map(|e| e.event.kind()).collect();
        assert_eq!(kinds, ["claimed", "claimed", "pinned", "expired"]);
        assert_eq!(ledger.violations(), 0);
        assert_eq!(ledger.pins(&key("b"))[0].reason.as_deref(), Some("upgrade"));
    }

    #[test]
    fn an_import_reaches_the_same_rows_as_the_live_ledger() {
        let minute = Duration::from_secs(60);
        let log = vec![
            batch(1, vec![Op::claim(key("b"), "b/0", minute)]),
            batch(2, vec![Op::claim(key("a"), "a/2", minute)]),
        ];
        let live = Ledger::replay([key("a"), key("b"), key("c")], &log, true).unwrap();
        let imported = Ledger::import(live.log().to_vec()).unwrap();
        for row in live.rows().iter().filter(|r| r.listed()) {
            assert_eq!(imported.row(&row.key), Some(row));
        }
        assert_eq!(imported.listed(), live.listed());
        assert_eq!(
            imported.fsm().snapshot().encode().unwrap(),
            live.fsm().snapshot().encode().unwrap()
        );
    }

    #[test]
    fn a_ledger_from_a_snapshot_goes_on_like_the_one_that_saw_the_whole_log() {
        let minute = Duration::from_secs(60);
        let log = vec![
            batch(1, vec![Op::claim(key("a"), "a/0", minute)]),
            batch(
                2,
                vec![
                    Op::claim(key("b"), "b/1", minute),
                    Op::pin_until(key("c"), "machine-0", Time::from_millis(90_000), "upgrade"),
                ],
            ),
        ];
        let whole = Ledger::replay([], &log, false).unwrap();
        let mut from = Ledger::of_snapshot(whole.fsm().snapshot(), true);
        assert_eq!(from.listed(), 3, "a and b held, c pinned while free");
        assert_eq!(from.row(&key("b")).unwrap().token, 2);
        assert_eq!(from.pins(&key("c")).len(), 1);
        let next = batch(
            3,
            vec![
                Op::claim(key("a"), "a/9", minute),
                Op::claim(key("d"), "d/0", minute),
            ],
        );
        let mut whole = whole;
        whole.apply_bytes(&next).unwrap();
        from.apply_bytes(&next).unwrap();
        assert_eq!(from.answers(3), whole.answers(3));
        assert_eq!(
            from.row(&key("d")).unwrap().token,
            whole.row(&key("d")).unwrap().token
        );
        assert_eq!(from.listed(), whole.listed());
        assert_eq!(from.log().len(), 1, "only what it saw");
    }

    #[test]
    fn a_capped_log_keeps_the_latest_batches_only() {
        let mut ledger = Ledger::new([], true).with_log_cap(4);
        for seq in 1..=20 {
            ledger
                .apply_bytes(&batch(
                    seq,
                    vec![Op::set_time(Time::ZERO, Time::from_millis(seq))],
                ))
                .unwrap();
        }
        assert!(
            (4..6).contains(&ledger.log().len()),
            "{}",
            ledger.log().len()
        );
        assert!(ledger.batch_bytes(20).is_some() && ledger.batch_bytes(17).is_some());
        assert_eq!(ledger.batch_bytes(1), None);
        assert_eq!(ledger.batches(), 20, "every batch is still counted");
    }

    #[test]
    fn a_corrupt_batch_is_refused() {
        let good = Batch::new(1, vec![Op::set_time(Time::ZERO, Time::from_millis(1))]);
        let e = Ledger::import(vec![good.encode().unwrap(), vec![0xff, 1, 2]]).unwrap_err();
        assert_eq!(e.record, 1);
        assert!(e.to_string().starts_with("record 1 is not a batch"), "{e}");
    }

    #[test]
    fn a_handover_moves_the_expiry_to_the_new_holder() {
        let minute = Duration::from_secs(60);
        let log = vec![
            batch(1, vec![Op::claim(key("a"), "a/0", minute)]),
            batch(
                2,
                vec![
                    Op::set_time(Time::ZERO, Time::from_millis(5_000)),
                    Op::handover(key("a"), "a/0", "a/1", Duration::from_secs(30)),
                ],
            ),
        ];
        let ledger = Ledger::replay([key("a")], &log, false).unwrap();
        let a = ledger.row(&key("a")).unwrap();
        assert_eq!(a.holder.as_deref(), Some("a/1"));
        assert_eq!(a.expiry, Time::from_millis(35_000));
        assert_eq!((a.acquired, a.transitions), (Time::from_millis(5_000), 2));
    }
}
