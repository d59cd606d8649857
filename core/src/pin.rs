//! Pins: what keeps a lease from expiring, and on whose behalf.

use crate::time::Time;
use std::sync::Arc;

/// One pin on a lease, as [`Fsm::pins`](crate::Fsm::pins) returns it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PinInfo {
    /// Who pinned the lease.
    pub entity: Arc<str>,
    /// The log time after which the pin lapses, if any.
    pub until: Option<Time>,
    /// Why it was pinned, if said.
    pub reason: Option<Arc<str>>,
}
