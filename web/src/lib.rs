//! The leasehold dashboard: the engine and the simulator running in the browser, with
//! every lease, pin, lane and batch on screen and controls to drive the system into the
//! situations that break real lease stores.
//!
//! - [`model`]: plain Rust, tested natively: the run, its committed log (a ledger fed
//!   batch by batch), the timeline, the table's order, the charts' samples.
//! - [`state`]: the Yew reducer: a [`state::State`] and its [`state::Action`]s.
//! - [`components`]: one function component per file; [`hooks`]: the ticker, the
//!   keyboard and the URL's fragment.
//! - [`learn`]: the guided chapters (`#/learn/N`): their stories, the cues their
//!   narration waits for, and a reader's place in one; plain Rust, walked natively.
//! - [`page`]: what the dashboard asks of the page (clock, URL, downloads).


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
