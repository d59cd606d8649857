//! The JavaScript API of leasehold. The bindings arrive with the JS API issue; for now the
//! crate re-exports the core so the workspace layout is in place.

pub use leasehold;
