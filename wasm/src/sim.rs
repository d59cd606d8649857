//! `Simulation`: the deterministic simulator for JavaScript.

use crate::js;
use crate::shapes::{self, ScenarioShape, apply_overrides};
use crate::value::kind_of;
use js_sys::Error;
use leasehold::Time;
use leasehold::sim::{SCENARIOS, Scenario, SimError};
use std::cell::{RefCell, RefMut};
use wasm_bindgen::prelude::*;

/// A seeded, deterministic run of a scenario: many lease holders, one engine and a
/// modelled log, in simulated time.
#[wasm_bindgen]
pub struct Simulation {
    // Borrowed only after input is read; see `Engine`.
    inner: RefCell<leasehold::sim::Simulation>,
}

#[wasm_bindgen]
impl Simulation {
    /// A run of the preset named `scenario` (see `scenarios()`), with any of its
    /// parameters overridden by camelCase name (`seed`, `leases`, `durationMs`,
    /// `commitLatencyMs`, `mode`, ...). An unknown scenario or parameter, or an
    /// impossible value, throws an `Error` that names it.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "SimulationOptions")] options: JsValue,
    ) -> Result<Simulation, Error> {
        const CONTEXT: &str = "new Simulation";
        let mut overrides = js::entries(&options, CONTEXT, "options")?;
        let Some(name) = js::take(&mut overrides, "scenario") else {
            return Err(Error::new(&format!(
                "{CONTEXT}: missing field `scenario` (one of {})",
                shapes::list(SCENARIOS)
            )));
        };
        let Some(name) = name.as_string() else {
            return Err(Error::new(&format!(
                "{CONTEXT}: `scenario` must be a string, got {}",
                kind_of(&name)
            )));
        };
        let Some(preset) = Scenario::named(&name) else {
            return Err(js::js_error(CONTEXT, SimError::UnknownScenario(name)));
        };
        let mut params = preset.params;
        apply_overrides(&mut params, &overrides, CONTEXT)?;
        let sim =
            leasehold::sim::Simulation::new(&name, params).map_err(|e| js::js_error(CONTEXT, e))?;
        Ok(Simulation {
            inner: RefCell::new(sim),
        })
    }

    /// Runs `ms` more simulated milliseconds (or until an invariant breaks).
    pub fn run(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] ms: JsValue,
    ) -> Result<(), Error> {
        const CONTEXT: &str = "run";
        let ms: Time = js::value_from_js(ms, CONTEXT, "ms")?;
        self.state(CONTEXT)?.run_for(ms.as_millis());
        Ok(())
    }

    /// The held leases, sorted by key, with expiries in simulated time.
    #[wasm_bindgen(unchecked_return_type = "Lease[]")]
    pub fn leases(&self) -> Result<JsValue, Error> {
        const CONTEXT: &str = "leases";
        let sim = self.state(CONTEXT)?;
        shapes::leases(sim.engine().leases(), sim.now(), CONTEXT)
    }

    /// The totals so far: the load test's fields, in camelCase.
    #[wasm_bindgen(unchecked_return_type = "SimulationStats")]
    pub fn stats(&self) -> Result<JsValue, Error> {
        const CONTEXT: &str = "stats";
        let stats = self.state(CONTEXT)?.stats();
        Ok(js::camel_keys(&js::to_js(&stats, CONTEXT)?))
    }

    /// The scenario presets with their parameters (the same as `scenarios()`).
    #[wasm_bindgen(js_name = scenarios, unchecked_return_type = "ScenarioInfo[]")]
    pub fn presets() -> Result<JsValue, Error> {
        scenarios()
    }
}

impl Simulation {
    fn state(&self, context: &str) -> Result<RefMut<'_, leasehold::sim::Simulation>, Error> {
        self.inner.try_borrow_mut().map_err(|_| {
            Error::new(&format!(
                "{context}: the simulation is busy (called from a callback?)"
            ))
        })
    }
}

/// The scenario presets, each with its name, description and parameters (the values a
/// `new Simulation({scenario})` starts from).
#[wasm_bindgen(unchecked_return_type = "ScenarioInfo[]")]
pub fn scenarios() -> Result<JsValue, Error> {
    let presets: Vec<ScenarioShape> = SCENARIOS
        .iter()
        .filter_map(|name| Scenario::named(name))
        .map(ScenarioShape::of)
        .collect();
    js::to_js(&presets, "scenarios")
}
