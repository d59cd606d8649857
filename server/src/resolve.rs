//! Finding named requests in the log: the definitive fate of requests whose answers were
//! lost with a connection or a leader.
//!
//! A request that names itself (a client and a number, [`Origin`]) is recorded in its
//! batch's entry ([`Tag`]). Once every batch of the epoch it was sent to is decided (a
//! later epoch's fence is applied, or the leader of that epoch has settled it), the log
//! says what became of it: found in a batch that applied, it gets that operation's result
//! (a rival claimant gets who holds the lease after it, as the engine answers); found in
//! an ignored batch, or not found at all, it never applied: `aborted`.

use crate::fence::{BatchOutcome, Fence};
use crate::leader::Origin;
use crate::types::{OpResult, Tag, TypeConfig};
use leasehold::{Batch, LeaseError, Op, Outcome};
use openraft::EntryPayload;
use openraft::type_config::alias::EntryOf;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The outcomes of `requests` of `client`, sent to the leader of `epoch`, from `entries`
/// (every entry since before the first of them was sent, up to at least the point where
/// every batch of `epoch` is decided) and the outcome `table`.
///
/// # Errors
///
/// When a batch holding one of them is no longer in the table (it is too old to tell).
pub fn find(
    entries: &[EntryOf<TypeConfig>],
    table: &Fence,
    epoch: u64,
    client: u64,
    requests: &[u64],
) -> Result<BTreeMap<u64, Outcome>, String> {
    let mut found: BTreeMap<u64, Outcome> =
        requests.iter().map(|r| (*r, Outcome::Aborted)).collect();
    for entry in entries {
        let EntryPayload::Normal(normal) = &entry.payload else {
            continue;
        };
        if normal.epoch != epoch || normal.is_fence() {
            continue;
        }
        let mine: Vec<&Tag> = normal
            .tags
            .iter()
            .filter(|t| t.client == client && found.contains_key(&t.request))
            .collect();
        if mine.is_empty() {
            continue;
        }
        let Ok(batch) = Batch::decode(&normal.batch) else {
            // Undecodable batches never apply: their requests stay aborted.
            continue;
        };
        let results = match table.outcome(epoch, batch.seq) {
            Some(BatchOutcome::Applied(results)) => results,
            Some(BatchOutcome::Ignored) => continue,
            None => {
                return Err(format!(
                    "batch {} of epoch {epoch} (log index {}) is no longer in the outcome table",
                    batch.seq, entry.log_id.index
                ));
            }
        };
        for tag in mine {
            let i = tag.op as usize;
            let (Some(op), Some(result)) = (batch.ops.get(i), results.get(i)) else {
                continue;
            };
            let outcome = match &tag.rival {
                Some(rival) => rival_outcome(op, result, rival),
                None => Outcome::Applied(
                    result
                        .as_ref()
                        .map(|t| *t)
                        .map_err(crate::types::OpError::to_lease_error),
                ),
            };
            found.insert(tag.request, outcome);
        }
    }
    Ok(found)
}

/// What a rival claimant of `op` is answered: who holds the lease after it (`invalid`
/// if that is the claimant itself), as [`leasehold::Engine`] answers it.
pub(crate) fn rival_outcome(op: &Op, result: &OpResult, rival: &str) -> Outcome {
    let holder = match (op, result) {
        (_, Err(crate::types::OpError::Held(h))) => Some(h.as_str()),
        (Op::Claim { holder, .. }, _) => Some(&**holder),
        _ => None,
    };
    Outcome::Applied(Err(match holder {
        Some(h) if h != rival => LeaseError::Held {
            holder: Arc::from(h),
        },
        _ => LeaseError::Invalid,
    }))
}

/// The origins of `requests` of `client`.
#[must_use]
pub fn origins(client: u64, requests: &[u64]) -> Vec<Origin> {
    requests.iter().map(|r| (client, *r)).collect()
}
