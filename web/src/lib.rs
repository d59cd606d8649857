//! The leasehold dashboard: the engine and the simulator running in the browser, with
//! every lease, pin, lane and batch on screen and controls to drive the system into the
//! situations that break real lease stores. `ARCHITECTURE.md` at the top of the
//! repository places it among the other crates.
//!
//! The modules form a tower (each uses only those below it; `core/tests/tower.rs`
//! checks it), from the bottom:
//!
//! - [`page`]: what the dashboard asks of the page (clock, URL, downloads).
//! - [`learn`]: the guided chapters (`#/learn/N`): their stories, the cues their
//!   narration waits for, and a reader's place in one; plain Rust, walked natively.
//! - [`model`]: plain Rust, tested natively: the run, its committed log (a ledger fed
//!   batch by batch), the timeline, the table's order, the charts' samples, the log
//!   file; the [`model::session::Session`] that owns the run and performs commands on
//!   it; the [`model::scene::Scene`], the derived snapshot the views draw.
//! - [`state`]: the Yew reducer, pure: view state by concern, the scene, and the
//!   commands it queues for the session (see its docs for the design).
//! - [`hooks`]: the session's owner, the performing of queued commands, the ticker, the
//!   tick meter, the URL, the keyboard.
//! - [`components`]: one function component per file, each drawn from its part of the
//!   scene.

pub mod components;
pub mod hooks;
pub mod learn;
pub mod model;
pub mod page;
pub mod state;

/// Mounts the dashboard on the page's `<body>`.
#[cfg(target_arch = "wasm32")]
pub fn mount() {
    yew::Renderer::<components::app::App>::new().render();
}

/// The dashboard runs in a browser; natively there is nothing to show.
#[cfg(not(target_arch = "wasm32"))]
pub fn mount() {
    println!("the leasehold dashboard runs in a browser: ./scripts/serve.sh");
}
