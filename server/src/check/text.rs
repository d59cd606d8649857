//! Readable lines of the history and the log, for violations' context.

use super::model::OpRef;
use super::{Checker, Fate, Found};
use crate::history::{Belief, ReadRecord, RequestRecord};
use crate::types::{OpError, OpResult};
use leasehold::{Event, Key, Outcome};

impl Checker<'_> {
    // ---- readable lines -------------------------------------------------------------

    pub(super) fn entry_head(&self, pos: usize) -> String {
        let r = &self.log[pos];
        let seq = r.seq.map_or_else(|| "-".to_owned(), |s| s.to_string());
        format!("log #{} epoch {} seq {seq}", r.index, r.epoch)
    }

    /// One operation of the log, with its result and events.
    pub(super) fn op_line(&self, (pos, i): OpRef) -> String {
        let head = self.entry_head(pos);
        match &self.log[pos].fate {
            Fate::Applied(ops) => match ops.get(i) {
                Some(o) => {
                    let events: Vec<String> = o.events.iter().map(event_text).collect();
                    format!(
                        "{head} op {i} @ log {}: {} → {}{}",
                        o.time,
                        o.op,
                        result_text(&o.result),
                        if events.is_empty() {
                            String::new()
                        } else {
                            format!(" [{}]", events.join("; "))
                        }
                    )
                }
                None => format!("{head} op {i}: no such operation"),
            },
            Fate::Ignored(ops) => match ops.get(i) {
                Some(op) => format!("{head} op {i}: {op} (batch ignored: fenced off)"),
                None => format!("{head} op {i}: (batch ignored: fenced off)"),
            },
            Fate::Fence(e) => format!("{head}: fence of epoch {e}"),
            Fate::Undecodable(why) => format!("{head}: undecodable batch ({why})"),
        }
    }

    pub(super) fn request_line(&self, i: usize) -> String {
        let r = &self.history.requests[i];
        request_text(i, r)
    }

    /// A name found in the log: its tag and the operation it points at.
    pub(super) fn tag_line(&self, f: Found) -> String {
        let r = &self.log[f.entry];
        let Some(tag) = r.tags.get(f.tag) else {
            return self.entry_head(f.entry);
        };
        let rival = tag
            .rival
            .as_ref()
            .map_or_else(String::new, |h| format!(" rival {h}"));
        format!(
            "name ({}, {}){rival} at {}",
            tag.client,
            tag.request,
            self.op_line((f.entry, tag.op as usize))
        )
    }
}

/// A request's name `(client, number)`.
pub(super) fn name_text((client, number): (u64, u64)) -> String {
    format!("({client}, {number})")
}

/// Microseconds of the run as milliseconds.
pub(super) fn us(t: u64) -> String {
    format!("{}.{:03}ms", t / 1000, t % 1000)
}

pub(super) fn result_text(r: &OpResult) -> String {
    match r {
        Ok(Some(t)) => format!("ok token {t}"),
        Ok(None) => "ok".into(),
        Err(OpError::Held(h)) => format!("held by {h}"),
        Err(OpError::Invalid) => "invalid".into(),
        Err(OpError::OutOfSync(e, a)) => format!("out-of-sync (expected {e} ms, log at {a} ms)"),
        Err(OpError::NotValid(f, p)) => format!("not-valid ({f} {p})"),
    }
}

pub(super) fn outcome_text(o: &Result<Outcome, String>) -> String {
    match o {
        Ok(Outcome::Applied(Ok(Some(t)))) => format!("ok token {t}"),
        Ok(Outcome::Applied(Ok(None))) => "ok".into(),
        Ok(Outcome::Applied(Err(e))) => {
            format!("{} ({e})", Outcome::Applied(Err(e.clone())).name())
        }
        Ok(Outcome::Rejected(e)) => format!("rejected ({e})"),
        Ok(other) => other.name().into(),
        Err(e) => format!("client error ({e})"),
    }
}

pub(super) fn event_text(e: &Event) -> String {
    let holder = e.holder().map_or_else(String::new, |h| format!(" {h}"));
    let token = e
        .token()
        .map_or_else(String::new, |t| format!(" token {t}"));
    let expiry = e
        .expiry()
        .map_or_else(String::new, |t| format!(" until {t}"));
    format!("{} {}{holder}{token}{expiry}", e.kind(), e.key())
}

pub(super) fn request_text(i: usize, r: &RequestRecord) -> String {
    let names: Vec<String> = r.names.iter().copied().map(name_text).collect();
    format!(
        "request #{i} p{} {} sent {} received {} → {} names [{}]",
        r.process,
        r.op,
        us(r.sent_us),
        us(r.received_us),
        outcome_text(&r.outcome),
        names.join(", ")
    )
}

pub(super) fn read_text(i: usize, r: &ReadRecord, key: &Key) -> String {
    let shows = match &r.result {
        Ok(l) => {
            let lease = l.leases.iter().find(|x| {
                *x.namespace == *key.namespace && *x.model == *key.model && *x.lease == *key.lease
            });
            let lease = lease.map_or_else(
                || format!("{key} absent"),
                |x| {
                    format!(
                        "{key} held by {} token {} until {} ms",
                        x.holder, x.token, x.expires_ms
                    )
                },
            );
            format!(
                "log time {} ms, {} leases, {lease}",
                l.global_time_ms,
                l.leases.len()
            )
        }
        Err(e) => format!("client error ({e})"),
    };
    format!(
        "read #{i} p{} sent {} received {} → {shows}",
        r.process,
        us(r.sent_us),
        us(r.received_us)
    )
}

pub(super) fn belief_text(i: usize, b: &Belief) -> String {
    format!(
        "belief #{i} {} leads {} token {} from {} to {}",
        b.holder,
        b.key,
        b.token,
        us(b.elected_us),
        b.deposed_us.map_or_else(|| "the end".to_owned(), us)
    )
}
