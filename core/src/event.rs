//! Events: what applying an operation changed, so clients can tell holders they were
//! elected or deposed.

use crate::key::Key;
use crate::time::Time;
use std::sync::Arc;

/// A change to a lease, produced by applying an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `holder` was granted the lease (elected).
    Claimed {
        /// The lease.
        key: Key,
        /// The new holder.
        holder: Arc<str>,
        /// Its fencing token.
        token: u64,
        /// When the grant expires, in log time.
        expiry: Time,
    },
    /// `holder` kept its lease.
    Extended {
        /// The lease.
        key: Key,
        /// The holder.
        holder: Arc<str>,
        /// Its fencing token (unchanged by extensions).
        token: u64,
        /// The new expiry, in log time.
        expiry: Time,
    },
    /// Time passed the lease's expiry and nobody pinned it (deposed).
    Expired {
        /// The lease.
        key: Key,
        /// The former holder.
        holder: Arc<str>,
        /// The former holder's token.
        token: u64,
    },
    /// The holder gave the lease up (deposed).
    Revoked {
        /// The lease.
        key: Key,
        /// The former holder.
        holder: Arc<str>,
        /// The former holder's token.
        token: u64,
    },
    /// `entity` pinned the lease.
    Pinned {
        /// The lease.
        key: Key,
        /// Who pinned it.
        entity: Arc<str>,
        /// The holder at that moment, if any.
        holder: Option<Arc<str>>,
        /// The holder's token, if any.
        token: Option<u64>,
    },
    /// `entity`'s pin was removed, by an unpin or because its deadline passed.
    Unpinned {
        /// The lease.
        key: Key,
        /// Whose pin it was.
        entity: Arc<str>,
        /// True when the pin's deadline passed (nobody unpinned it).
        lapsed: bool,
        /// The holder at that moment, if any.
        holder: Option<Arc<str>>,
        /// The holder's token, if any.
        token: Option<u64>,
    },
    /// The lease moved from `from` (deposed) to `to` (elected).
    HandedOver {
        /// The lease.
        key: Key,
        /// The former holder.
        from: Arc<str>,
        /// The new holder.
        to: Arc<str>,
        /// The new holder's fencing token.
        token: u64,
        /// When the new holder's grant expires, in log time.
        expiry: Time,
    },
}

impl Event {
    /// The lease the event is about.
    #[must_use]
    pub fn key(&self) -> &Key {
        match self {
            Event::Claimed { key, .. }
            | Event::Extended { key, .. }
            | Event::Expired { key, .. }
            | Event::Revoked { key, .. }
            | Event::Pinned { key, .. }
            | Event::Unpinned { key, .. }
            | Event::HandedOver { key, .. } => key,
        }
    }

    /// The holder the event concerns: the new holder of a grant or handover, the former
    /// holder of an expiry or revocation, the current holder (if any) of a pin change.
    #[must_use]
    pub fn holder(&self) -> Option<&Arc<str>> {
        match self {
            Event::Claimed { holder, .. }
            | Event::Extended { holder, .. }
            | Event::Expired { holder, .. }
            | Event::Revoked { holder, .. } => Some(holder),
            Event::Pinned { holder, .. } | Event::Unpinned { holder, .. } => holder.as_ref(),
            Event::HandedOver { to, .. } => Some(to),
        }
    }

    /// The fencing token the event concerns, if a lease is involved.
    #[must_use]
    pub fn token(&self) -> Option<u64> {
        match self {
            Event::Claimed { token, .. }
            | Event::Extended { token, .. }
            | Event::Expired { token, .. }
            | Event::Revoked { token, .. }
            | Event::HandedOver { token, .. } => Some(*token),
            Event::Pinned { token, .. } | Event::Unpinned { token, .. } => *token,
        }
    }

    /// The expiry a grant, an extension or a handover set, if the event is one.
    #[must_use]
    pub fn expiry(&self) -> Option<Time> {
        match self {
            Event::Claimed { expiry, .. }
            | Event::Extended { expiry, .. }
            | Event::HandedOver { expiry, .. } => Some(*expiry),
            _ => None,
        }
    }

    /// The same event with its expiry (if it has one) mapped by `f`, e.g. from log time
    /// to a caller's clock.
    #[must_use]
    pub fn map_expiry(mut self, f: impl FnOnce(Time) -> Time) -> Event {
        if let Event::Claimed { expiry, .. }
        | Event::Extended { expiry, .. }
        | Event::HandedOver { expiry, .. } = &mut self
        {
            *expiry = f(*expiry);
        }
        self
    }

    /// The event's name (`claimed`, `extended`, `expired`, `revoked`, `pinned`,
    /// `unpinned`, `handed-over`).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Claimed { .. } => "claimed",
            Event::Extended { .. } => "extended",
            Event::Expired { .. } => "expired",
            Event::Revoked { .. } => "revoked",
            Event::Pinned { .. } => "pinned",
            Event::Unpinned { .. } => "unpinned",
            Event::HandedOver { .. } => "handed-over",
        }
    }
}
