//! Benchmarks of leasehold: realistic workloads ([`workload`]), the figures the project
//! tracks ([`figures`], printed by the `report` binary) and the divan micro benchmarks
//! under `benches/`, and the on-disk store under a long load ([`compaction`], the
//! `compaction` binary).

pub mod compaction;
// Threads and a histogram crate built natively only (`apply` is also built for wasm32).
#[cfg(not(target_arch = "wasm32"))]
pub mod driver_cost;
pub mod durability;
pub mod engine_cost;
pub mod figures;
pub mod workload;

pub use leasehold;
