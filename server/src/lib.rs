//! The replicated log of the leasehold service: leasehold's lease state machine
//! ([`leasehold::Fsm`]) behind an [openraft] log kept in leasehold's on-disk
//! segment store ([`leasehold::driver::Store`]).
//!
//! - [`clock`]: the node's time source (skewable, for fault injection).
//! - [`types`]: the Raft type configuration: one log entry per engine batch.
//! - [`log_store`]: the Raft log and vote over a store directory.
//! - [`state_machine`]: applies committed batches to the [`leasehold::Fsm`] and keeps its
//!   snapshots.
//! - [`fence`]: the epoch fence and the table of recent batch outcomes.
//! - [`feed`]: committed batches for watchers, live and recent.
//! - [`history`]: a recorded run and its committed log, for the fault harness's checker.
//! - [`resolve`]: a named request's fate, read from the log.
//! - [`check`]: the checker of a fault run: a recorded history judged against the log.
//! - [`metrics`]: the node's Prometheus metrics.
//! - [`service`]: what every interface of a node calls: forwarding, reads, membership.
//! - [`node`]: a node of the service: the Raft node and, while it leads, the engine.
//! - [`network`]: the Raft RPCs between nodes, over one WebSocket per pair of nodes.
//! - [`wire`]: the shapes of the interfaces and the binary stream's frames.
//! - [`api`]: the HTTP interfaces of a node (JSON, stream, watch, metrics, Raft, the
//!   built dashboard).
//! - [`client`]: the Rust client (the binary stream, watch, and the tracker over the network).
//! - [`daemon`]: running one node (what `leaseholdd` does).
//! - [`testing`]: an in-process network for clusters in tests.

#![deny(missing_docs)]

pub mod api;
pub mod check;
pub mod client;
pub mod clock;
pub mod daemon;
mod durable_file;
pub mod feed;
pub mod fence;
pub mod history;
mod leader;
pub mod log_store;
pub mod metrics;
pub mod network;
pub mod node;
pub mod resolve;
pub mod service;
pub mod state_machine;
pub mod testing;
pub mod types;
pub mod wire;

pub use fence::{BatchOutcome, Fence};
pub use leader::Origin;
pub use log_store::LogStore;
pub use node::{Node, RequestError};
pub use state_machine::StateMachine;
pub use types::{BatchEntry, OpResult, Raft, Response, TypeConfig};
