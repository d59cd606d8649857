//! Lanes: the four queues a request can wait in, in the order a batch takes them.

use crate::op::Op;

/// Where a request waits. A batch takes singular first, then extend, admin and claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lane {
    /// Requests on singular workers' leases (or marked priority): cut at once, never shed.
    Singular,
    /// Extensions of held leases: shed only when no claim is left to evict.
    Extend,
    /// Revokes, pins, unpins and handovers.
    Admin,
    /// Claims of free leases: the first to be shed.
    Claim,
}

impl Lane {
    /// Every lane, in the order a batch takes them.
    pub const ALL: [Lane; 4] = [Lane::Singular, Lane::Extend, Lane::Admin, Lane::Claim];

    /// The lane a request travels in.
    #[must_use]
    pub fn of(op: &Op, priority: bool) -> Lane {
        if priority || op.key().is_some_and(crate::Key::is_singular) {
            return Lane::Singular;
        }
        match op {
            Op::Extend { .. } => Lane::Extend,
            Op::Claim { .. } => Lane::Claim,
            _ => Lane::Admin,
        }
    }

    /// The lane's name: `singular`, `extend`, `admin` or `claim`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Lane::Singular => "singular",
            Lane::Extend => "extend",
            Lane::Admin => "admin",
            Lane::Claim => "claim",
        }
    }

    /// The lane's position in [`Lane::ALL`].
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }
}
