//! # leasehold-wasm
//!
//! The JavaScript API of leasehold: a thin wasm-bindgen wrapper over the core, with
//! TypeScript types for every object shape.
//!
//! ```js
//! import { Engine, decodeBatch } from "leasehold_wasm.js";
//!
//! const engine = new Engine({ batchIntervalMs: 100 });
//! const key = { namespace: "application-leadership", model: "m", lease: "mysql" };
//! const ticket = engine.claim({ ...key, holder: "mysql/0", durationMs: 60_000 }, 0);
//! for (const out of engine.advance(100)) {
//!   if (out.kind === "answer" && out.ticket === ticket) console.log(out.ok, out.token);
//!   if (out.kind === "batch") console.log(decodeBatch(out.bytes).ops);
//! }
//! ```
//!
//! - [`Engine`]: a single-node engine. Requests (`claim`, `extend`, `revoke`, `pin`,
//!   `unpin`, `handover`) return tickets; `advance(nowMs)` returns answers, batches and
//!   events as plain objects; `leases`, `metrics`, `snapshot` and `Engine.restore` read
//!   and move the state.
//! - [`encode_batch`] / [`decode_batch`] (`encodeBatch` / `decodeBatch`): the log format.
//! - [`Simulation`] and [`scenarios`]: the deterministic simulator and its presets.
//!
//! Values cross the boundary as plain objects (serde), in camelCase, times and durations
//! in milliseconds. Bad input (a wrong type, a missing or unknown field, a negative
//! duration, garbage bytes) throws a JavaScript `Error` whose message names the call and
//! the field; nothing traps the module, and an engine stays usable after a throw.
//! `ARCHITECTURE.md` at the top of the repository places this crate among the others.

mod codec;
mod engine;
mod js;
mod shapes;
mod sim;
mod value;

pub use codec::{decode_batch, encode_batch};
pub use engine::Engine;
pub use sim::{Simulation, scenarios};

use wasm_bindgen::prelude::*;

/// The TypeScript shapes of every object the API takes or returns.
#[wasm_bindgen(typescript_custom_section)]
const TS_SHAPES: &str = include_str!("shapes.d.ts");

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use leasehold::sim::camel;
    use leasehold::sim::{PARAM_NAMES, SCENARIOS, Stats};

    /// The TypeScript shapes (the section the package's `.d.ts` gets).
    const TS_SHAPES: &str = include_str!("shapes.d.ts");

    /// The body of `export interface {name} ... { ... }` in the TypeScript shapes.
    fn interface(name: &str) -> &'static str {
        let start = TS_SHAPES
            .find(&format!("export interface {name} "))
            .unwrap_or_else(|| panic!("no interface {name}"));
        let body = &TS_SHAPES[start..];
        &body[..body.find("\n}").unwrap_or(body.len())]
    }

    #[test]
    fn typescript_lists_every_simulation_field() {
        let params = interface("SimulationParams");
        for name in PARAM_NAMES {
            assert!(params.contains(&format!(" {name}: ")), "{name}");
        }
        // The simulator's totals are written in snake case and renamed at the boundary.
        assert_eq!(camel("p99_latency_ms"), "p99LatencyMs");
        let stats = interface("SimulationStats");
        let json = serde_json::to_value(Stats::default()).unwrap();
        let fields = json.as_object().unwrap();
        for name in fields.keys() {
            assert!(stats.contains(&format!(" {}: ", camel(name))), "{name}");
        }
        let declared = stats.lines().filter(|line| {
            line.trim_start()
                .split_once(": ")
                .is_some_and(|(k, _)| !k.is_empty() && k.chars().all(char::is_alphanumeric))
        });
        assert_eq!(declared.count(), fields.len());
        for name in SCENARIOS {
            assert!(TS_SHAPES.contains(&format!("\"{name}\"")), "{name}");
        }
    }
}
