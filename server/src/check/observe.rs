//! What the holders observed: their beliefs (two leaders at once, ungranted tokens) and
//! their reads (linearizability).

use super::text::{belief_text, read_text, us};
use super::{Checker, ViolationKind};
use crate::history::History;
use leasehold::{Key, Op, Outcome, Time};
use std::collections::{BTreeMap, HashMap};

/// Overlaps of two beliefs shorter than this are not counted: the harness records a
/// tracker's change when it reads it, so an `Elected` and a `Deposed` decided together
/// (after a stalled moment) may be recorded a few microseconds out of order. A real
/// second leader overlaps by its lease's time, seconds.
pub const BELIEF_JITTER_US: u64 = 5_000;

impl Checker<'_> {
    // ---- beliefs --------------------------------------------------------------------

    pub(super) fn beliefs(&mut self) {
        let history = self.history;
        let end = history_end(history);
        let mut by_key: BTreeMap<&Key, Vec<usize>> = BTreeMap::new();
        for (i, b) in history.beliefs.iter().enumerate() {
            by_key.entry(&b.key).or_default().push(i);
            self.report.checked.beliefs += 1;
            if self.complete && !self.model.was_granted(&b.key, &b.holder, b.token) {
                let mut context = vec![belief_text(i, b)];
                if let Some(at) = self.model.grant_of(&b.key, b.token) {
                    context.push(self.op_line(at));
                }
                self.violation(
                    ViolationKind::UngrantedBelief,
                    format!(
                        "{} believed it led {} with token {}, which the log never granted it",
                        b.holder, b.key, b.token
                    ),
                    context,
                );
            }
        }
        for beliefs in by_key.values() {
            let mut sorted = beliefs.clone();
            sorted.sort_by_key(|&i| history.beliefs[i].elected_us);
            for (n, &i) in sorted.iter().enumerate() {
                let a = &history.beliefs[i];
                let a_end = a.deposed_us.unwrap_or(end);
                for &j in &sorted[n + 1..] {
                    let b = &history.beliefs[j];
                    if b.elected_us.saturating_add(BELIEF_JITTER_US) >= a_end {
                        break;
                    }
                    if a.holder == b.holder {
                        continue;
                    }
                    let b_end = b.deposed_us.unwrap_or(end);
                    let mut context = vec![belief_text(i, a), belief_text(j, b)];
                    for x in [a, b] {
                        if let Some(at) = self.model.grant_of(&x.key, x.token) {
                            context.push(self.op_line(at));
                        }
                    }
                    self.violation(
                        ViolationKind::TwoLeaders,
                        format!(
                            "{} and {} both believed they led {} from {} to {}",
                            a.holder,
                            b.holder,
                            a.key,
                            us(b.elected_us),
                            us(a_end.min(b_end))
                        ),
                        context,
                    );
                }
            }
        }
    }

    // ---- reads ----------------------------------------------------------------------

    pub(super) fn reads(&mut self) {
        let history = self.history;
        // Acknowledged grants (+) and revocations (−) by the time their answer arrived.
        let mut acks: Vec<(u64, usize, Key, u64, bool)> = Vec::new();
        for (i, r) in history.requests.iter().enumerate() {
            let Ok(Outcome::Applied(Ok(Some(token)))) = r.outcome else {
                continue;
            };
            let (Some(key), gone) = (r.op.key(), matches!(r.op, Op::Revoke { .. })) else {
                continue;
            };
            if matches!(
                r.op,
                Op::Claim { .. } | Op::Extend { .. } | Op::Handover { .. } | Op::Revoke { .. }
            ) {
                acks.push((r.received_us, i, key.clone(), token, gone));
            }
        }
        acks.sort_by_key(|a| (a.0, a.1));
        let mut reads: Vec<usize> = (0..history.reads.len()).collect();
        reads.sort_by_key(|&i| history.reads[i].sent_us);
        // Per lease, the newest acknowledged state: (token, revoked, request).
        let mut newest: BTreeMap<Key, (u64, bool, usize)> = BTreeMap::new();
        let mut next = 0;
        for i in reads {
            let read = &history.reads[i];
            while next < acks.len() && acks[next].0 < read.sent_us {
                let (_, req, key, token, gone) = &acks[next];
                let slot = newest.entry(key.clone()).or_insert((*token, *gone, *req));
                if (*token, *gone) > (slot.0, slot.1) {
                    *slot = (*token, *gone, *req);
                }
                next += 1;
            }
            let Ok(leases) = &read.result else {
                continue;
            };
            self.report.checked.reads += 1;
            let shown: HashMap<Key, (&str, u64)> = leases
                .leases
                .iter()
                .map(|l| {
                    (
                        Key::new(l.namespace.as_str(), l.model.as_str(), l.lease.as_str()),
                        (l.holder.as_str(), l.token),
                    )
                })
                .collect();
            let global = Time::from_millis(leases.global_time_ms);
            for (key, &(token, gone, req)) in &newest {
                let seen = shown.get(key).map(|s| s.1);
                let stale = match (gone, seen) {
                    (true, Some(t)) => t <= token,
                    (true, None) => false,
                    (false, Some(t)) => t < token,
                    (false, None) => {
                        self.complete
                            && self
                                .model
                                .removal_of(key, token)
                                .is_none_or(|(at, _)| at > global)
                    }
                };
                if stale {
                    let mut context = vec![read_text(i, read, key), self.request_line(req)];
                    if let Some(at) = self.model.grant_of(key, token) {
                        context.push(self.op_line(at));
                    }
                    if let Some((_, at)) = self.model.removal_of(key, token) {
                        context.push(self.op_line(at));
                    }
                    let shows =
                        seen.map_or_else(|| "it absent".to_owned(), |t| format!("token {t}"));
                    self.violation(
                        ViolationKind::StaleRead,
                        format!(
                            "read #{i} sent at {} shows {key} with {shows}, older than request \
                             #{req}'s answer ({} token {token}) received before it",
                            us(read.sent_us),
                            if gone { "revoked" } else { "holding" },
                        ),
                        context,
                    );
                }
            }
        }
    }
}

/// The latest time the history mentions: the end of beliefs still held.
fn history_end(h: &History) -> u64 {
    let requests = h.requests.iter().map(|r| r.received_us.max(r.sent_us));
    let reads = h.reads.iter().map(|r| r.received_us.max(r.sent_us));
    let beliefs = h
        .beliefs
        .iter()
        .map(|b| b.deposed_us.unwrap_or(b.elected_us).max(b.elected_us));
    let faults = h
        .faults
        .iter()
        .map(|f| f.end_us.unwrap_or(f.start_us).max(f.start_us));
    requests
        .chain(reads)
        .chain(beliefs)
        .chain(faults)
        .max()
        .unwrap_or(0)
        .saturating_add(1)
}
