//! What crosses the boundary besides the core's own serde form (`leasehold::form`): the
//! reading of operations with errors that name the field, batches, the options of
//! `new Engine` and `new Simulation`, the `kind` of an output, the time left on a lease,
//! times beyond 2^53 ms, and the engine's metrics. `shapes.d.ts` describes every shape in
//! TypeScript.

use crate::js;
use crate::value::{kind_of, number_text};
use js_sys::{Array, Error, Object, Uint8Array};
use leasehold::sim::{PARAM_NAMES, Params, Scenario};
use leasehold::{Answer, Append, Batch, Config, Event, Lane, LeaseInfo, Metrics, Op, Time};
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

/// The largest integer a JavaScript number holds exactly (2^53 - 1).
const MAX_SAFE: u64 = (1 << 53) - 1;

// ---- operations and batches ------------------------------------------------------------

/// Reads an operation, with the core's form, from an object's fields (`kind` among them).
/// The core reads the fields one by one, so a refused value is named by its field.
pub(crate) fn read_op(fields: &[(String, JsValue)], context: &str) -> Result<Op, Error> {
    js::from_entries(fields, context)
}

/// Reads a batch, `{seq, ops: [...]}`.
pub(crate) fn read_batch(value: &JsValue, context: &str) -> Result<Batch, Error> {
    let mut seq = None;
    let mut ops = None;
    for (name, value) in js::entries(value, context, "the batch")? {
        match name.as_str() {
            "seq" => seq = Some(js::value_from_js::<u64>(value, context, "seq")?),
            "ops" if Array::is_array(&value) => ops = Some(Array::from(&value)),
            "ops" => {
                return Err(Error::new(&format!(
                    "{context}: `ops` must be an array, got {}",
                    kind_of(&value)
                )));
            }
            _ => {
                return Err(Error::new(&format!(
                    "{context}: unknown field `{name}`, expected `seq` or `ops`"
                )));
            }
        }
    }
    let missing = |field| Error::new(&format!("{context}: missing field `{field}`"));
    let seq = seq.ok_or_else(|| missing("seq"))?;
    let ops = ops.ok_or_else(|| missing("ops"))?;
    let ops = ops
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let context = format!("{context}: ops[{i}]");
            read_op(&js::entries(&op, &context, "an operation")?, &context)
        })
        .collect::<Result<Vec<Op>, Error>>()?;
    Ok(Batch::new(seq, ops))
}

/// A batch as JavaScript sees it: `{seq, ops}`, each operation in the core's form.
#[derive(Serialize)]
pub(crate) struct BatchShape<'a> {
    /// Its sequence number.
    pub(crate) seq: u64,
    /// Its operations.
    pub(crate) ops: &'a [Op],
}

// ---- engine options --------------------------------------------------------------------

/// Reads the options of `new Engine(options)` and `Engine.restore(bytes, options)`: the
/// core's `Config` form, and `nowMs`, the caller's clock at the start (0). `undefined` or
/// `null` means all defaults. The settings are not yet checked.
pub(crate) fn engine_options(value: &JsValue, context: &str) -> Result<(Config, Time), Error> {
    // A page reads the batches with `decodeBatch`, which has no state: unless asked to,
    // the engine names every lease rather than refer to places in its state.
    let named = Config {
        refer_to_state: false,
        ..Config::default()
    };
    if value.is_undefined() || value.is_null() {
        return Ok((named, Time::ZERO));
    }
    let mut config = js::entries(value, context, "options")?;
    let now = match js::take(&mut config, "nowMs") {
        Some(v) if !v.is_undefined() && !v.is_null() => js::value_from_js(v, context, "nowMs")?,
        _ => Time::ZERO,
    };
    let refer = config.iter().any(|(k, _)| k == "referToState");
    let mut config: Config = js::from_entries(&config, context)?;
    if !refer {
        config.refer_to_state = named.refer_to_state;
    }
    Ok((config, now))
}

// ---- outputs ---------------------------------------------------------------------------

/// What `advance` returns: the core's answers and events, and the batches cut.
pub(crate) enum OutputShape {
    /// A request's definitive answer.
    Answer(Answer),
    /// A batch was cut (and, in a single-node engine, committed).
    Batch(Append),
    /// A lease changed; its expiry (if any) on the caller's clock.
    Event(Event),
}

impl OutputShape {
    /// As JavaScript: `{kind: "answer", ...}` and `{kind: "event", ...}` with the core's
    /// form of an answer or an event, `{kind: "batch", seq, ops, bytes}`.
    pub(crate) fn into_js(self, context: &str) -> Result<JsValue, Error> {
        let out = Object::new();
        let (kind, fields) = match self {
            OutputShape::Answer(a) => ("answer", js::to_js(&a, context)?),
            OutputShape::Event(e) => {
                let expiry = e.expiry();
                let fields = js::to_js(&e.map_expiry(clamped), context)?;
                if let Some(expiry) = expiry {
                    js::set(fields.unchecked_ref(), "expiresMs", &number(expiry));
                }
                ("event", fields)
            }
            OutputShape::Batch(a) => {
                let fields = Object::new();
                // Sequence numbers and counts stay far below 2^53: exact as numbers.
                js::set(&fields, "seq", &JsValue::from_f64(a.seq as f64));
                js::set(&fields, "ops", &JsValue::from_f64(a.ops as f64));
                js::set(&fields, "bytes", &Uint8Array::from(&a.bytes[..]));
                ("batch", fields.into())
            }
        };
        js::set(&out, "kind", &JsValue::from_str(kind));
        Ok(Object::assign(&out, fields.unchecked_ref()).into())
    }
}

/// A time as a JavaScript number: exact up to 2^53 ms (285,000 years), rounded beyond
/// (an extreme clock, a crafted snapshot) rather than an error. The core's form writes
/// whole numbers, which fail beyond 2^53 - 1: a time is written there clamped
/// ([`clamped`]), then set to this.
fn number(t: Time) -> JsValue {
    JsValue::from_f64(t.as_millis() as f64)
}

/// `t`, at most 2^53 - 1 ms: what the core's form can write as a JavaScript number.
fn clamped(t: Time) -> Time {
    t.min(Time::from_millis(MAX_SAFE))
}

/// `leases` (held, with expiries on the reader's clock) seen at `now`: each in the core's
/// form, and `remainingMs`, the time left.
pub(crate) fn leases(leases: Vec<LeaseInfo>, now: Time, context: &str) -> Result<JsValue, Error> {
    let out = Array::new();
    for mut info in leases {
        let expiry = info.expiry;
        info.expiry = clamped(expiry);
        let lease: Object = js::to_js(&info, context)?.unchecked_into();
        let left = Time::from_millis(expiry.as_millis().saturating_sub(now.as_millis()));
        js::set(&lease, "expiresMs", &number(expiry));
        js::set(&lease, "remainingMs", &number(left));
        out.push(&lease);
    }
    Ok(out.into())
}

/// The engine's running totals: `{lanes: [{name, depth, ...}], batches, ...}`.
pub(crate) fn metrics(m: &Metrics) -> JsValue {
    // Counts, far below 2^53: exact as JavaScript numbers.
    let set_counts = |object: &Object, counts: &[(&str, u64)]| {
        for (name, n) in counts {
            js::set(object, name, &JsValue::from_f64(*n as f64));
        }
    };
    let lanes = Array::new();
    for (lane, l) in Lane::ALL.into_iter().zip(&m.lanes) {
        let shape = Object::new();
        js::set(&shape, "name", &JsValue::from_str(lane.name()));
        let counts = [
            ("depth", l.depth as u64),
            ("accepted", l.accepted),
            ("shed", l.shed),
            ("deadlineExceeded", l.deadline_exceeded),
            ("applied", l.applied),
        ];
        set_counts(&shape, &counts);
        lanes.push(&shape);
    }
    let out = Object::new();
    js::set(&out, "lanes", &lanes);
    let counts = [
        ("batches", m.batches),
        ("batchOps", m.batch_ops),
        ("batchBytes", m.batch_bytes),
        ("committed", m.committed),
        ("abandoned", m.abandoned),
        ("aborted", m.aborted),
        ("rejected", m.rejected),
        ("coalesced", m.coalesced),
        ("leadershipChanges", m.leadership_changes),
        ("p50LatencyMs", m.latency_percentile(0.5)),
        ("p99LatencyMs", m.latency_percentile(0.99)),
    ];
    set_counts(&out, &counts);
    out.into()
}

// ---- the simulator ---------------------------------------------------------------------

/// A scenario preset: `{name, description, params}`, the parameters in the core's form.
#[derive(Serialize)]
pub(crate) struct ScenarioShape {
    name: &'static str,
    description: &'static str,
    params: Params,
}

impl ScenarioShape {
    /// The shape of a preset.
    pub(crate) fn of(s: Scenario) -> ScenarioShape {
        ScenarioShape {
            name: s.name,
            description: s.description,
            params: s.params,
        }
    }
}

/// Applies the overrides of `new Simulation({scenario, ...overrides})` to `params`. Each
/// value is handed to [`Params::set`] as text; every override is applied before any is
/// judged, so their order does not matter.
pub(crate) fn apply_overrides(
    params: &mut Params,
    overrides: &[(String, JsValue)],
    context: &str,
) -> Result<(), Error> {
    let mut settings = Vec::with_capacity(overrides.len());
    for (key, value) in overrides {
        if !PARAM_NAMES.contains(&key.as_str()) {
            return Err(Error::new(&format!(
                "{context}: unknown parameter `{key}` (known: scenario, {})",
                list(PARAM_NAMES)
            )));
        }
        let text = if let Some(b) = value.as_bool() {
            b.to_string()
        } else if let Some(n) = value.as_f64() {
            number_text(n)
        } else if let Some(s) = value.as_string() {
            s
        } else {
            return Err(Error::new(&format!(
                "{context}: `{key}` must be a number, a string or a boolean, got {}",
                kind_of(value)
            )));
        };
        settings.push((key, text));
    }
    // A first pass sets every value; the second reports what is still wrong.
    for (name, text) in &settings {
        let _ = params.set(name, text);
    }
    for (name, text) in &settings {
        params
            .set(name, text)
            .map_err(|e| js::js_error(context, e))?;
    }
    Ok(())
}

/// Names for a message: `a, b, c` (written out: `join`'s generic code would cost the
/// package half a kilobyte).
pub(crate) fn list(names: &[&str]) -> String {
    let mut list = String::new();
    for name in names {
        if !list.is_empty() {
            list.push_str(", ");
        }
        list.push_str(name);
    }
    list
}
