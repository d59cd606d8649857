use super::*;
use crate::history::{Belief, FaultRecord, ReadRecord, RequestRecord};
use crate::types::BatchEntry;
use crate::wire::{Lease, Leases};
use leasehold::Key;
use std::time::Duration;

const SECS: Duration = Duration::from_secs(10);

fn key() -> Key {
    Key::new("jobs", "model", "db")
}

fn t(ms: u64) -> Time {
    Time::from_millis(ms)
}

fn tag(client: u64, request: u64, op: u32) -> Tag {
    Tag {
        client,
        request,
        op,
        rival: None,
    }
}

/// A log built entry by entry, with Raft indexes from 1.
#[derive(Default)]
struct Log(Vec<LoggedBatch>);

impl Log {
    fn batch(&mut self, epoch: u64, seq: u64, ops: Vec<Op>, tags: Vec<Tag>) -> &mut Log {
        let index = self.0.len() as u64 + 1;
        self.0.push(LoggedBatch {
            index,
            entry: BatchEntry {
                epoch,
                batch: Batch::new(seq, ops).encode().unwrap(),
                tags,
            },
        });
        self
    }

    fn fence(&mut self, epoch: u64) -> &mut Log {
        let index = self.0.len() as u64 + 1;
        self.0.push(LoggedBatch {
            index,
            entry: BatchEntry::fence(epoch),
        });
        self
    }
}

fn request(
    op: Op,
    sent_us: u64,
    received_us: u64,
    outcome: Result<Outcome, String>,
    names: Vec<(u64, u64)>,
) -> RequestRecord {
    RequestRecord {
        process: 1,
        op,
        sent_us,
        received_us,
        outcome,
        names,
    }
}

fn ok(token: u64) -> Result<Outcome, String> {
    Ok(Outcome::Applied(Ok(Some(token))))
}

fn read(sent_us: u64, global_time_ms: u64, leases: Vec<(&str, u64)>) -> ReadRecord {
    let k = key();
    ReadRecord {
        process: 2,
        sent_us,
        received_us: sent_us + 500,
        result: Ok(Leases {
            global_time_ms,
            leases: leases
                .into_iter()
                .map(|(holder, token)| Lease {
                    namespace: k.namespace.to_string(),
                    model: k.model.to_string(),
                    lease: k.lease.to_string(),
                    holder: holder.into(),
                    token,
                    expires_ms: global_time_ms + 10_000,
                    pinned_by: Vec::new(),
                })
                .collect(),
        }),
    }
}

fn belief(holder: &str, token: u64, elected_us: u64, deposed_us: Option<u64>) -> Belief {
    Belief {
        holder: holder.into(),
        key: key(),
        token,
        elected_us,
        deposed_us,
    }
}

/// A run: `a` claims (token 1), `b`'s claim rides along as a rival, `a` extends and
/// revokes, then `b` claims (token 2) under a new leader after a fence; a batch of the
/// old leader is fenced off with an aborted request in it.
fn clean() -> (History, Log) {
    let k = key();
    let mut log = Log::default();
    let rival = Tag {
        rival: Some("b".into()),
        ..tag(8, 1, 1)
    };
    log.batch(
        1,
        1,
        vec![Op::set_time(t(0), t(1000)), Op::claim(k.clone(), "a", SECS)],
        vec![tag(7, 1, 1), rival],
    )
    .batch(
        1,
        2,
        vec![
            Op::set_time(t(1000), t(2000)),
            Op::extend(k.clone(), "a", SECS),
        ],
        vec![tag(7, 2, 1)],
    )
    .batch(
        1,
        3,
        vec![Op::set_time(t(2000), t(3000)), Op::revoke(k.clone(), "a")],
        vec![tag(7, 3, 1)],
    )
    .fence(2)
    .batch(
        1,
        4,
        vec![
            Op::set_time(t(3000), t(3500)),
            Op::claim(k.clone(), "c", SECS),
        ],
        vec![tag(9, 1, 1)],
    )
    .batch(
        2,
        1,
        vec![
            Op::set_time(t(3000), t(4000)),
            Op::claim(k.clone(), "b", SECS),
        ],
        vec![tag(8, 3, 1)],
    );
    let held = Ok(Outcome::Applied(Err(LeaseError::Held {
        holder: "a".into(),
    })));
    let history = History {
        requests: vec![
            request(
                Op::claim(k.clone(), "a", SECS),
                0,
                1_100_000,
                ok(1),
                vec![(7, 1)],
            ),
            request(
                Op::claim(k.clone(), "b", SECS),
                0,
                1_100_000,
                held,
                vec![(8, 1)],
            ),
            request(
                Op::extend(k.clone(), "a", SECS),
                1_900_000,
                2_100_000,
                ok(1),
                vec![(7, 2)],
            ),
            request(
                Op::revoke(k.clone(), "a"),
                2_900_000,
                3_100_000,
                ok(1),
                vec![(7, 3)],
            ),
            request(
                Op::claim(k.clone(), "c", SECS),
                3_200_000,
                3_300_000,
                Ok(Outcome::Aborted),
                vec![(9, 1)],
            ),
            // Sent twice: the first name was never applied, the second was.
            request(
                Op::claim(k.clone(), "b", SECS),
                3_200_000,
                4_100_000,
                ok(2),
                vec![(8, 2), (8, 3)],
            ),
            // Never answered: either way is fine.
            request(
                Op::claim(k.clone(), "d", SECS),
                3_200_000,
                9_000_000,
                Err("the request's fate is unknown: timed out".into()),
                vec![(10, 1)],
            ),
            request(
                Op::claim(k.clone(), "d", SECS),
                3_200_000,
                3_200_100,
                Ok(Outcome::Shed),
                vec![(10, 2)],
            ),
        ],
        reads: vec![
            read(1_200_000, 1000, vec![("a", 1)]),
            read(3_150_000, 3000, vec![]),
            read(4_200_000, 4000, vec![("b", 2)]),
        ],
        beliefs: vec![
            belief("a", 1, 1_100_000, Some(3_000_000)),
            belief("b", 2, 4_100_000, None),
        ],
        faults: vec![FaultRecord {
            kind: "kill-leader".into(),
            start_us: 3_100_000,
            end_us: Some(3_900_000),
            detail: "node 1".into(),
        }],
    };
    (history, log)
}

#[test]
fn a_clean_history_has_no_violations() {
    let (history, log) = clean();
    let report = check(&history, 0, &log.0);
    assert!(report.is_clean(), "{report}");
    let c = report.checked;
    assert_eq!(c.requests, 8);
    assert_eq!(c.acknowledged, 5);
    assert_eq!((c.lost, c.unchecked), (0, 0));
    assert_eq!((c.unresolved_applied, c.unresolved_not_applied), (0, 1));
    assert_eq!((c.reads, c.beliefs), (3, 2));
    assert_eq!((c.entries, c.fences), (6, 1));
    assert_eq!((c.batches_applied, c.batches_ignored), (4, 1));
    assert_eq!(c.ops, 8);
    assert!(report.to_string().starts_with("0 violation(s)"), "{report}");
}

#[test]
fn an_acknowledged_request_missing_from_the_log_is_lost() {
    let (mut history, log) = clean();
    history.requests.push(request(
        Op::extend(key(), "b", SECS),
        4_100_000,
        4_200_000,
        ok(2),
        vec![(8, 9)],
    ));
    let report = check(&history, 0, &log.0);
    assert_eq!(report.count(ViolationKind::Lost), 1, "{report}");
    assert_eq!(report.violations.len(), 1, "{report}");
    assert_eq!(report.checked.lost, 1);
    let text = report.to_string();
    assert!(text.contains("[lost] request #8"), "{text}");
    assert!(text.contains("extend jobs/model/db by b"), "{text}");
}

#[test]
fn an_aborted_request_found_applied_is_caught() {
    let (mut history, log) = clean();
    history.requests[0].outcome = Ok(Outcome::Aborted);
    let report = check(&history, 0, &log.0);
    assert_eq!(
        report.count(ViolationKind::FoundButNotApplied),
        1,
        "{report}"
    );
    let v = &report.violations[0];
    assert!(
        v.context.iter().any(|l| l.starts_with("request #0")),
        "{v:?}"
    );
    assert!(
        v.context
            .iter()
            .any(|l| l.contains("log #1 epoch 1 seq 1 op 1")),
        "{v:?}"
    );
}

#[test]
fn a_wrong_token_or_error_is_caught() {
    let (mut history, log) = clean();
    history.requests[2].outcome = ok(5);
    history.requests[1].outcome = Ok(Outcome::Applied(Err(LeaseError::Invalid)));
    let report = check(&history, 0, &log.0);
    assert_eq!(report.count(ViolationKind::WrongResult), 2, "{report}");
}

#[test]
fn a_name_found_twice_or_an_earlier_name_found_is_caught() {
    let (history, mut log) = clean();
    log.batch(
        2,
        2,
        vec![Op::set_time(t(4000), t(5000)), Op::extend(key(), "b", SECS)],
        vec![tag(8, 3, 1), tag(8, 2, 1)],
    );
    let report = check(&history, 0, &log.0);
    assert_eq!(report.count(ViolationKind::NameTwice), 1, "{report}");
    assert_eq!(report.count(ViolationKind::StaleName), 1, "{report}");
}

#[test]
fn a_name_in_two_records_is_caught() {
    let (mut history, log) = clean();
    history.requests[4].names.push((7, 1));
    let report = check(&history, 0, &log.0);
    assert_eq!(report.count(ViolationKind::DuplicateRecord), 1, "{report}");
}

#[test]
fn overlapping_beliefs_are_caught() {
    let (mut history, log) = clean();
    history.beliefs[0].deposed_us = Some(4_500_000);
    let report = check(&history, 0, &log.0);
    assert_eq!(report.count(ViolationKind::TwoLeaders), 1, "{report}");
    assert_eq!(report.violations.len(), 1, "{report}");
    // A belief in a token the log never granted.
    history.beliefs[0].deposed_us = Some(3_000_000);
    history.beliefs[1].token = 1;
    let report = check(&history, 0, &log.0);
    assert_eq!(report.count(ViolationKind::UngrantedBelief), 1, "{report}");
}

#[test]
fn a_stale_read_is_caught() {
    let (mut history, log) = clean();
    // After a's claim was acknowledged, a read shows the lease free at log time 1000.
    history.reads.push(read(1_150_000, 1000, vec![]));
    // After the revocation was acknowledged, a read still shows a's grant.
    history.reads.push(read(3_150_000, 2000, vec![("a", 1)]));
    let report = check(&history, 0, &log.0);
    assert_eq!(report.count(ViolationKind::StaleRead), 2, "{report}");
    assert_eq!(report.violations.len(), 2, "{report}");
    // Absent is fine once the log removed the grant by the read's log time (the
    // revocation at 3 s, before its answer arrived).
    let (mut history, log) = clean();
    history.reads.push(read(2_950_000, 3000, vec![]));
    assert!(check(&history, 0, &log.0).is_clean());
}

#[test]
fn the_model_catches_a_token_going_down_and_two_holders() {
    let k = key();
    let mut model = Model::default();
    let claimed = |holder: &str, token| Event::Claimed {
        key: k.clone(),
        holder: holder.into(),
        token,
        expiry: t(10_000),
    };
    assert!(model.event(t(0), (0, 0), &claimed("a", 5)).is_empty());
    let revoked = Event::Revoked {
        key: k.clone(),
        holder: "a".into(),
        token: 5,
    };
    assert!(model.event(t(1), (0, 1), &revoked).is_empty());
    let p = model.event(t(2), (0, 2), &claimed("b", 3));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].kind, ViolationKind::TokenNotIncreasing);
    assert_eq!(p[0].prior, Some((0, 0)));
    // b holds it until 10 s: a grant to c at 5 s is a second holder.
    let p = model.event(t(5_000), (0, 3), &claimed("c", 6));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].kind, ViolationKind::TwoHolders);
    // c's grant expiring before its expiry.
    let expired = Event::Expired {
        key: k.clone(),
        holder: "c".into(),
        token: 6,
    };
    let p = model.event(t(6_000), (0, 4), &expired);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].kind, ViolationKind::EarlyExpiry);
}

#[test]
fn an_incomplete_log_leaves_earlier_requests_unchecked() {
    let (history, log) = clean();
    // The log from index 3 on (the revocation): the claim and extension were purged.
    let tail: Vec<LoggedBatch> = log.0[2..].to_vec();
    let report = check(&history, 3, &tail);
    assert_eq!(report.count(ViolationKind::Lost), 0, "{report}");
    assert_eq!(report.checked.unchecked, 3, "{report}");
    // Time goes out of sync on a fresh state machine, but nothing is a violation.
    assert!(report.is_clean(), "{report}");
}

#[test]
fn an_incomplete_log_still_catches_a_refused_request_found_applied() {
    let (mut history, log) = clean();
    history.requests[3].outcome = Ok(Outcome::Shed);
    let tail: Vec<LoggedBatch> = log.0[2..].to_vec();
    let report = check(&history, 3, &tail);
    assert_eq!(
        report.count(ViolationKind::FoundButNotApplied),
        1,
        "{report}"
    );
    assert_eq!(report.violations.len(), 1, "{report}");
}

#[test]
fn a_request_answered_by_an_ignored_batch_only_is_lost() {
    let (mut history, log) = clean();
    // The fenced-off batch carried (9, 1): answering it `ok` is a lost acknowledgement.
    history.requests[4].outcome = ok(3);
    let report = check(&history, 0, &log.0);
    assert_eq!(report.count(ViolationKind::Lost), 1, "{report}");
    let v = &report.violations[0];
    assert!(
        v.context.iter().any(|l| l.contains("batch ignored")),
        "{v:?}"
    );
}
