//! The checker's own small model of the leases, fed only with the events the state
//! machine emitted (independent of [`leasehold::Fsm`]'s internals): who holds each lease,
//! its token and expiry, and its pins. It catches events that contradict each other.

use super::ViolationKind;
use leasehold::{Event, Key, Time};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// Where an operation is: the position of its entry among the replayed ones and its
/// index in the batch.
pub(super) type OpRef = (usize, usize);

/// A grant in force, as the model sees it.
#[derive(Debug, Clone)]
struct Held {
    holder: Arc<str>,
    token: u64,
    expiry: Time,
    granted_by: OpRef,
}

/// One contradiction the model found.
#[derive(Debug, Clone)]
pub(super) struct Problem {
    /// What kind.
    pub kind: ViolationKind,
    /// What happened.
    pub message: String,
    /// The operation that granted the lease before, if it matters.
    pub prior: Option<OpRef>,
}

/// The model's state.
#[derive(Debug, Default)]
pub(super) struct Model {
    held: HashMap<Key, Held>,
    pins: HashMap<Key, BTreeSet<Arc<str>>>,
    last_token: HashMap<Key, (u64, OpRef)>,
    /// Every grant: `(key, holder, token)`.
    granted: HashSet<(Key, Arc<str>, u64)>,
    /// Where each grant `(key, token)` was made.
    grants: HashMap<(Key, u64), OpRef>,
    /// When and by what each grant `(key, token)` ended (expiry, revocation, handover).
    removed: HashMap<(Key, u64), (Time, OpRef)>,
}

impl Model {
    /// Whether `holder` was ever granted `key` with `token`.
    pub(super) fn was_granted(&self, key: &Key, holder: &str, token: u64) -> bool {
        self.granted
            .contains(&(key.clone(), Arc::from(holder), token))
    }

    /// Where grant `token` of `key` was made.
    pub(super) fn grant_of(&self, key: &Key, token: u64) -> Option<OpRef> {
        self.grants.get(&(key.clone(), token)).copied()
    }

    /// When (log time) and by what grant `token` of `key` ended, if it did.
    pub(super) fn removal_of(&self, key: &Key, token: u64) -> Option<(Time, OpRef)> {
        self.removed.get(&(key.clone(), token)).copied()
    }

    /// Takes one event of operation `at_op`, applied at log time `now`.
    pub(super) fn event(&mut self, now: Time, at_op: OpRef, event: &Event) -> Vec<Problem> {
        let mut problems = Vec::new();
        match event {
            Event::Claimed {
                key,
                holder,
                token,
                expiry,
            } => {
                if let Some(h) = self.held.get(key) {
                    let (kind, why) = if h.expiry >= now || self.pinned(key) {
                        (ViolationKind::TwoHolders, "still in force")
                    } else {
                        (
                            ViolationKind::EventMismatch,
                            "past its expiry but never expired",
                        )
                    };
                    problems.push(Problem {
                        kind,
                        message: format!(
                            "{key} granted to {holder} (token {token}) at log time {now} while \
                             {} holds it (token {}, expiry {}, {why})",
                            h.holder, h.token, h.expiry
                        ),
                        prior: Some(h.granted_by),
                    });
                }
                problems.extend(self.grant(key, holder, *token, *expiry, now, at_op));
            }
            Event::HandedOver {
                key,
                from,
                to,
                token,
                expiry,
            } => {
                match self.held.get(key) {
                    Some(h) if h.holder == *from => {
                        self.removed.insert((key.clone(), h.token), (now, at_op));
                    }
                    Some(h) => problems.push(Problem {
                        kind: ViolationKind::TwoHolders,
                        message: format!(
                            "{key} handed over from {from} to {to} (token {token}) at log time \
                             {now} while {} holds it (token {})",
                            h.holder, h.token
                        ),
                        prior: Some(h.granted_by),
                    }),
                    None => problems.push(Problem {
                        kind: ViolationKind::EventMismatch,
                        message: format!(
                            "{key} handed over from {from} to {to} (token {token}) at log time \
                             {now} while nobody holds it"
                        ),
                        prior: None,
                    }),
                }
                problems.extend(self.grant(key, to, *token, *expiry, now, at_op));
            }
            Event::Extended {
                key,
                holder,
                token,
                expiry,
            } => match self.held.get_mut(key) {
                Some(h) if h.holder == *holder && h.token == *token => {
                    if *expiry < h.expiry {
                        problems.push(Problem {
                            kind: ViolationKind::EventMismatch,
                            message: format!(
                                "{key} extension by {holder} shortened its expiry from {} to \
                                 {expiry}",
                                h.expiry
                            ),
                            prior: Some(h.granted_by),
                        });
                    }
                    h.expiry = h.expiry.max(*expiry);
                }
                other => problems.push(Problem {
                    kind: ViolationKind::EventMismatch,
                    message: format!(
                        "{key} extended for {holder} (token {token}) at log time {now} while {}",
                        describe(other.as_deref())
                    ),
                    prior: other.map(|h| h.granted_by),
                }),
            },
            Event::Revoked { key, holder, token } => {
                problems.extend(self.deposed(key, holder, *token, now, at_op, false));
            }
            Event::Expired { key, holder, token } => {
                problems.extend(self.deposed(key, holder, *token, now, at_op, true));
            }
            Event::Pinned { key, entity, .. } => {
                self.pins
                    .entry(key.clone())
                    .or_default()
                    .insert(entity.clone());
            }
            Event::Unpinned { key, entity, .. } => {
                if let Some(pins) = self.pins.get_mut(key) {
                    pins.remove(entity);
                    if pins.is_empty() {
                        self.pins.remove(key);
                    }
                }
            }
        }
        problems
    }

    fn pinned(&self, key: &Key) -> bool {
        self.pins.get(key).is_some_and(|p| !p.is_empty())
    }

    /// Records a grant of `key` to `holder`; a problem if its token does not grow.
    fn grant(
        &mut self,
        key: &Key,
        holder: &Arc<str>,
        token: u64,
        expiry: Time,
        now: Time,
        at_op: OpRef,
    ) -> Option<Problem> {
        let mut problem = None;
        match self.last_token.get(key) {
            Some(&(last, by)) if token <= last => {
                problem = Some(Problem {
                    kind: ViolationKind::TokenNotIncreasing,
                    message: format!(
                        "{key} granted to {holder} at log time {now} with token {token}, not \
                         above its previous token {last}"
                    ),
                    prior: Some(by),
                });
            }
            _ => {
                self.last_token.insert(key.clone(), (token, at_op));
            }
        }
        self.granted.insert((key.clone(), holder.clone(), token));
        self.grants.insert((key.clone(), token), at_op);
        self.held.insert(
            key.clone(),
            Held {
                holder: holder.clone(),
                token,
                expiry,
                granted_by: at_op,
            },
        );
        problem
    }

    /// Ends the grant of `key` to `holder` (an expiry when `expired`, else a revocation);
    /// a problem if the model has no such grant, or if it expired early.
    fn deposed(
        &mut self,
        key: &Key,
        holder: &Arc<str>,
        token: u64,
        now: Time,
        at_op: OpRef,
        expired: bool,
    ) -> Option<Problem> {
        let what = if expired { "expired" } else { "revoked" };
        let Some(h) = self.held.get(key) else {
            return Some(Problem {
                kind: ViolationKind::EventMismatch,
                message: format!(
                    "{key} {what} for {holder} (token {token}) at log time {now} while nobody \
                     holds it"
                ),
                prior: None,
            });
        };
        if h.holder != *holder || h.token != token {
            return Some(Problem {
                kind: ViolationKind::EventMismatch,
                message: format!(
                    "{key} {what} for {holder} (token {token}) at log time {now} while {}",
                    describe(Some(h))
                ),
                prior: Some(h.granted_by),
            });
        }
        let early = expired && (h.expiry >= now || self.pinned(key));
        let problem = early.then(|| Problem {
            kind: ViolationKind::EarlyExpiry,
            message: format!(
                "{key} of {holder} (token {token}) expired at log time {now}, before its expiry \
                 {}{}",
                h.expiry,
                if self.pinned(key) {
                    " and while pinned"
                } else {
                    ""
                }
            ),
            prior: Some(h.granted_by),
        });
        self.held.remove(key);
        self.removed.insert((key.clone(), token), (now, at_op));
        problem
    }
}

/// Who holds a lease, for a message.
fn describe(held: Option<&Held>) -> String {
    match held {
        Some(h) => format!(
            "{} holds it (token {}, expiry {})",
            h.holder, h.token, h.expiry
        ),
        None => "nobody holds it".into(),
    }
}
