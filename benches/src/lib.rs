//! Benchmarks and the load test of leasehold; they arrive with the simulator issue.

pub use leasehold;
