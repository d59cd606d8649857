//! The dashboard's model, in plain Rust (no browser): the live run and its committed
//! log, the timeline, the lease table's order, the charts' samples, links and log
//! files, a live cluster attached to (what its watch, status and metrics sent, read);
//! the session that owns the run and the scene the views draw from it.
//! Everything here is tested natively.

pub mod attached;
pub mod cluster;
pub mod ledger;
pub mod link;
pub mod live;
pub mod logfile;
pub mod meter;
pub mod run;
pub mod scene;
pub mod series;
pub mod service;
pub mod service_log;
pub mod session;
pub mod speed;
pub mod table;
