//! Lease keys and the names inside them.

use core::fmt;
use std::sync::Arc;

/// The namespace whose leases belong to singular workers (the control plane's own jobs).
///
/// Requests on keys in this namespace travel in the engine's priority lane.
pub const SINGULAR_NAMESPACE: &str = "singular-controller";

/// The namespace of application-leadership leases.
pub const LEADERSHIP_NAMESPACE: &str = "application-leadership";

/// Names a lease: a namespace (`application-leadership`, `singular-controller`), a model
/// (the group the lease belongs to, often a UUID) and the lease itself (an application).
///
/// The parts are reference-counted, so cloning a key is cheap.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// The kind of lease, e.g. `application-leadership`.
    pub namespace: Arc<str>,
    /// The group of leases, e.g. a model UUID.
    pub model: Arc<str>,
    /// The lease within the group, e.g. an application name.
    pub lease: Arc<str>,
}

impl Key {
    /// A key from its three parts.
    pub fn new(
        namespace: impl Into<Arc<str>>,
        model: impl Into<Arc<str>>,
        lease: impl Into<Arc<str>>,
    ) -> Key {
        Key {
            namespace: namespace.into(),
            model: model.into(),
            lease: lease.into(),
        }
    }

    /// Whether this key belongs to a singular worker (the priority lane).
    #[must_use]
    pub fn is_singular(&self) -> bool {
        &*self.namespace == SINGULAR_NAMESPACE
    }
}

impl fmt::Display for Key {
    /// `namespace/model/lease`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.namespace, self.model, self.lease)
    }
}
