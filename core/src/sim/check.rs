//! The invariant checker: follows every committed event and stops the run at the first
//! break, naming the batch.

use crate::event::Event;
use crate::time::Time;

/// A broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The committed batch whose events broke it.
    pub batch: u64,
    /// The log time after that batch.
    pub at: Time,
    /// What broke, naming the lease.
    pub what: String,
}

/// What the checker believes about one lease.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    /// The holder's unit, if held.
    unit: Option<u8>,
    token: u64,
    expiry: Time,
    pins: u16,
}

/// Checks, on every batch: never two holders of one lease at one log time; no take-over
/// (expiry) before the grant's expiry, nor while pinned; tokens only grow.
#[derive(Debug, Clone, Default)]
pub struct Checker {
    leases: Vec<Seen>,
    max_token: u64,
}

impl Checker {
    /// A checker for `leases` leases, numbered from 0.
    #[must_use]
    pub fn new(leases: usize) -> Checker {
        Checker {
            leases: vec![Seen::default(); leases],
            max_token: 0,
        }
    }

    /// Reads what the checker believes about lease `lease` (to fetch it early).
    pub(crate) fn warm(&self, lease: usize) -> u64 {
        self.leases.get(lease).map_or(0, |s| s.token)
    }

    /// Checks one event of lease `lease` (holder unit `unit`), applied by batch `batch`
    /// at log time `now`.
    pub fn check(
        &mut self,
        batch: u64,
        now: Time,
        lease: usize,
        unit: Option<u8>,
        event: &Event,
    ) -> Result<(), Violation> {
        let fail = |what: String| {
            Err(Violation {
                batch,
                at: now,
                what,
            })
        };
        let Some(seen) = self.leases.get_mut(lease) else {
            return fail(format!("an event names unknown lease {}", event.key()));
        };
        match event {
            Event::Claimed {
                key,
                holder,
                token,
                expiry,
            } => {
                if let Some(u) = seen.unit {
                    return fail(format!("{key} granted to {holder} while unit {u} holds it"));
                }
                if *token <= self.max_token {
                    return fail(format!(
                        "{key} granted with token {token}, not above {}",
                        self.max_token
                    ));
                }
                self.max_token = *token;
                *seen = Seen {
                    unit,
                    token: *token,
                    expiry: *expiry,
                    pins: seen.pins,
                };
            }
            Event::Extended {
                key,
                holder,
                expiry,
                ..
            } => {
                if seen.unit.is_none() || seen.unit != unit {
                    return fail(format!("{key} extended by {holder}, who does not hold it"));
                }
                if *expiry < seen.expiry {
                    return fail(format!("{key} extension shortened the lease"));
                }
                seen.expiry = *expiry;
            }
            Event::Expired { key, holder, token } => {
                if seen.unit.is_none() || seen.token != *token {
                    return fail(format!("{key} expired from {holder}, who did not hold it"));
                }
                if seen.expiry >= now {
                    return fail(format!(
                        "{key} taken from {holder} at {now}, before its expiry {}",
                        seen.expiry
                    ));
                }
                if seen.pins > 0 {
                    return fail(format!("{key} expired while pinned"));
                }
                seen.unit = None;
            }
            Event::Revoked { .. } => seen.unit = None,
            Event::HandedOver { key, token, .. } => {
                if *token <= self.max_token {
                    return fail(format!(
                        "{key} handed over with token {token}, not above {}",
                        self.max_token
                    ));
                }
                self.max_token = *token;
                seen.unit = unit;
                seen.token = *token;
                seen.expiry = now;
            }
            Event::Pinned { .. } => seen.pins = seen.pins.saturating_add(1),
            Event::Unpinned { .. } => seen.pins = seen.pins.saturating_sub(1),
        }
        Ok(())
    }
}
