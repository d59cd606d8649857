//! `Engine`: a single-node lease engine for JavaScript.

use crate::js;
use crate::shapes::{self, OutputShape};
use js_sys::Error;
use leasehold::{Fsm, Lane, Output, Snapshot, Time};
use std::cell::{RefCell, RefMut};
use wasm_bindgen::prelude::*;

/// A single-node lease engine: it batches requests and commits its own batches.
///
/// Requests return a ticket; `advance(nowMs)` runs the engine up to the caller's
/// clock and returns what happened since the last call: the answers (by ticket), the
/// batches cut and the lease events. Time is always the caller's, in milliseconds
/// (`performance.now()` will do); the engine never reads a clock.
#[wasm_bindgen]
pub struct Engine {
    // Methods take `&self` and borrow the state only after their input is read, so a
    // JavaScript exception thrown while reading input (a getter that throws) cannot
    // leave the engine borrowed.
    inner: RefCell<Inner>,
}

struct Inner {
    engine: leasehold::Engine,
    /// Outputs not yet returned by `advance`.
    pending: Vec<OutputShape>,
}

impl Inner {
    /// Drains the engine's outputs into `pending` (the drain rule of the core).
    fn drain(&mut self) {
        loop {
            match self.engine.poll_output() {
                Output::Timeout(_) => break,
                Output::Append(a) => self.pending.push(OutputShape::Batch(a)),
                Output::Answer(a) => self.pending.push(OutputShape::Answer(a)),
                Output::Event(e) => {
                    let e = e.map_expiry(|t| self.engine.local_of(t));
                    self.pending.push(OutputShape::Event(e));
                }
                Output::Settled(_) => {}
            }
        }
    }

    /// Runs the engine's timeouts up to `now`. While requests wait, each timeout runs at
    /// its own time, so batches are cut when they are due; once nothing waits, the engine
    /// jumps to `now` (one time-only batch instead of one per idle second).
    fn run_until(&mut self, now: Time) {
        self.drain();
        loop {
            let due = self.engine.next_timeout();
            if due > now {
                break;
            }
            let idle = Lane::ALL
                .into_iter()
                .all(|lane| self.engine.queue_depth(lane) == 0);
            self.engine.handle_timeout(if idle { now } else { due });
            self.drain();
        }
    }
}

/// The caller's clock, read from a JavaScript number.
fn now_arg(value: JsValue, context: &str) -> Result<Time, Error> {
    js::value_from_js(value, context, "nowMs")
}

#[wasm_bindgen]
impl Engine {
    /// A new engine. `options` takes the engine settings in camelCase
    /// (`batchIntervalMs`, `maxBatchOps`, `queueCapacity`, ...) and `nowMs`, the caller's
    /// clock at the start (0). An unknown field or an impossible value throws an `Error`
    /// that names it.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "EngineOptions")] options: JsValue,
    ) -> Result<Engine, Error> {
        const CONTEXT: &str = "new Engine";
        let (config, now) = shapes::engine_options(&options, CONTEXT)?;
        let engine =
            leasehold::Engine::single_node(config, now).map_err(|e| js::js_error(CONTEXT, e))?;
        Ok(Engine::wrap(engine))
    }

    /// An engine resuming from a snapshot taken by `snapshot()`. `options` as for
    /// the constructor; `nowMs` is the caller's clock that the snapshot's log time maps
    /// to. Garbage or truncated bytes throw an `Error` saying what is wrong.
    pub fn restore(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EngineOptions")] options: JsValue,
    ) -> Result<Engine, Error> {
        const CONTEXT: &str = "Engine.restore";
        let bytes = js::bytes(&bytes, CONTEXT, "bytes")?;
        let (config, now) = shapes::engine_options(&options, CONTEXT)?;
        let snapshot = Snapshot::decode(&bytes)
            .map_err(|e| js::js_error("Engine.restore: bad snapshot", e))?;
        let engine = leasehold::Engine::with_state(config, Fsm::restore(snapshot), 1, now)
            .map_err(|e| js::js_error(CONTEXT, e))?;
        Ok(Engine::wrap(engine.into_single_node()))
    }

    /// Asks for a free lease for `holder` for `durationMs`; returns the request's ticket.
    pub fn claim(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ClaimRequest")] request: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> Result<f64, Error> {
        self.submit("claim", &request, now_ms)
    }

    /// Keeps a held lease for at least `durationMs` more; returns the request's ticket.
    pub fn extend(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ExtendRequest")] request: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> Result<f64, Error> {
        self.submit("extend", &request, now_ms)
    }

    /// Gives a held lease up (its pins stay); returns the request's ticket.
    pub fn revoke(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RevokeRequest")] request: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> Result<f64, Error> {
        self.submit("revoke", &request, now_ms)
    }

    /// Keeps a lease (held or not) from expiring on behalf of `entity`, until unpinned
    /// or `untilMs` (on the caller's clock); returns the request's ticket.
    pub fn pin(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PinRequest")] request: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> Result<f64, Error> {
        self.submit("pin", &request, now_ms)
    }

    /// Removes `entity`'s pin; returns the request's ticket.
    pub fn unpin(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UnpinRequest")] request: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> Result<f64, Error> {
        self.submit("unpin", &request, now_ms)
    }

    /// Moves a held lease from `from` to `to` at once, with a new fencing token; returns
    /// the request's ticket.
    pub fn handover(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HandoverRequest")] request: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> Result<f64, Error> {
        self.submit("handover", &request, now_ms)
    }

    /// Runs the engine up to `nowMs` and returns every output since the last call: answers
    /// (`kind: "answer"`), batches cut (`"batch"`) and lease events (`"event"`), in order.
    #[wasm_bindgen(unchecked_return_type = "Output[]")]
    pub fn advance(
        &self,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> Result<JsValue, Error> {
        const CONTEXT: &str = "advance";
        let now = now_arg(now_ms, CONTEXT)?;
        let mut inner = self.state(CONTEXT)?;
        inner.run_until(now);
        // Taken before converting, so that outputs that cannot be converted (a token
        // beyond 2^53 from a crafted snapshot) are reported once, not forever.
        let outputs = std::mem::take(&mut inner.pending);
        let out = js_sys::Array::new();
        for output in outputs {
            out.push(&output.into_js(CONTEXT)?);
        }
        Ok(out.into())
    }

    /// The held leases, sorted by key, with expiries on the caller's clock and the time
    /// left at `nowMs`.
    #[wasm_bindgen(unchecked_return_type = "Lease[]")]
    pub fn leases(
        &self,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> Result<JsValue, Error> {
        const CONTEXT: &str = "leases";
        let now = now_arg(now_ms, CONTEXT)?;
        let inner = self.state(CONTEXT)?;
        shapes::leases(inner.engine.leases(), now, CONTEXT)
    }

    /// The running totals: per lane, batches, outcomes, latency percentiles.
    #[wasm_bindgen(unchecked_return_type = "Metrics")]
    pub fn metrics(&self) -> Result<JsValue, Error> {
        const CONTEXT: &str = "metrics";
        let inner = self.state(CONTEXT)?;
        Ok(shapes::metrics(&inner.engine.metrics()))
    }

    /// The committed state in the log format, for `Engine.restore`.
    #[wasm_bindgen(unchecked_return_type = "Uint8Array")]
    pub fn snapshot(&self) -> Result<Vec<u8>, Error> {
        const CONTEXT: &str = "snapshot";
        let inner = self.state(CONTEXT)?;
        inner
            .engine
            .fsm()
            .snapshot()
            .encode()
            .map_err(|e| js::js_error(CONTEXT, e))
    }
}

impl Engine {
    fn wrap(engine: leasehold::Engine) -> Engine {
        Engine {
            inner: RefCell::new(Inner {
                engine,
                pending: Vec::new(),
            }),
        }
    }

    fn state(&self, context: &str) -> Result<RefMut<'_, Inner>, Error> {
        self.inner.try_borrow_mut().map_err(|_| {
            Error::new(&format!(
                "{context}: the engine is busy (called from a callback?)"
            ))
        })
    }

    /// Reads a request for the operation `kind` (the method's name) with the core's form,
    /// checks it with the core's rules and submits it.
    fn submit(&self, kind: &str, request: &JsValue, now_ms: JsValue) -> Result<f64, Error> {
        let request = js::entries(request, kind, "the request")?;
        if request.iter().any(|(k, _)| k == "kind") {
            return Err(Error::new(&format!("{kind}: unknown field `kind`")));
        }
        let mut fields = vec![("kind".to_owned(), JsValue::from_str(kind))];
        fields.extend(request);
        let op = shapes::read_op(&fields, kind)?;
        let now = now_arg(now_ms, kind)?;
        op.validate().map_err(|e| js::js_error(kind, e))?;
        let mut inner = self.state(kind)?;
        let ticket = inner.engine.handle_request(now, op);
        inner.drain();
        // Tickets count requests: far below 2^53, exact as a JavaScript number.
        Ok(ticket.0 as f64)
    }
}
