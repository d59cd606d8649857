//! The object shapes JavaScript sees, as serde types, and their conversions to and from
//! the core's types. `shapes.d.ts` describes the same shapes in TypeScript.

use crate::js::{self, Millis, Whole};
use js_sys::Error;
use leasehold::sim::{PARAM_NAMES, Params, Scenario};
use leasehold::{
    Answer, Config, Event, Key, LaneMetrics, LeaseError, LeaseInfo, Metrics, Op, Outcome, Time,
};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use std::sync::Arc;
use std::time::Duration;
use wasm_bindgen::JsValue;

// ---- operations ------------------------------------------------------------------------

/// A claim or an extension: `{namespace, model, lease, holder, durationMs}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Grant {
    namespace: String,
    model: String,
    lease: String,
    holder: String,
    duration_ms: Millis,
}

/// A revoke: `{namespace, model, lease, holder}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Release {
    namespace: String,
    model: String,
    lease: String,
    holder: String,
}

/// A pin: `{namespace, model, lease, entity, untilMs?, reason?}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Pin {
    namespace: String,
    model: String,
    lease: String,
    entity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    until_ms: Option<Millis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// An unpin: `{namespace, model, lease, entity}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Unpin {
    namespace: String,
    model: String,
    lease: String,
    entity: String,
}

/// A handover: `{namespace, model, lease, from, to, durationMs}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Handover {
    namespace: String,
    model: String,
    lease: String,
    from: String,
    to: String,
    duration_ms: Millis,
}

/// A time advance (written by engines only): `{oldMs, newMs}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SetTime {
    old_ms: Millis,
    new_ms: Millis,
}

/// One operation of a batch: its fields and `kind`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub(crate) enum OpShape {
    Claim(Grant),
    Extend(Grant),
    Revoke(Release),
    Pin(Pin),
    Unpin(Unpin),
    SetTime(SetTime),
    Handover(Handover),
}

/// The operation kinds, as `kind` spells them.
const OP_KINDS: &str = "claim, extend, revoke, pin, unpin, setTime, handover";

fn key(namespace: String, model: String, lease: String) -> Key {
    Key::new(namespace, model, lease)
}

fn millis(d: Duration) -> Millis {
    Millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn text(s: &Arc<str>) -> String {
    s.to_string()
}

impl OpShape {
    /// Reads `{kind, ...fields}`.
    pub(crate) fn read(value: &JsValue, context: &str) -> Result<OpShape, Error> {
        let (kind, fields): (Vec<_>, Vec<_>) = js::entries(value, context, "an operation")?
            .into_iter()
            .partition(|(k, _)| k == "kind");
        let Some((_, kind)) = kind.into_iter().next() else {
            return Err(Error::new(&format!(
                "{context}: missing field `kind` (one of {OP_KINDS})"
            )));
        };
        let read = |fields| -> Result<OpShape, Error> {
            Ok(match kind.as_string().as_deref() {
                Some("claim") => OpShape::Claim(js::from_entries(fields, context)?),
                Some("extend") => OpShape::Extend(js::from_entries(fields, context)?),
                Some("revoke") => OpShape::Revoke(js::from_entries(fields, context)?),
                Some("pin") => OpShape::Pin(js::from_entries(fields, context)?),
                Some("unpin") => OpShape::Unpin(js::from_entries(fields, context)?),
                Some("setTime") => OpShape::SetTime(js::from_entries(fields, context)?),
                Some("handover") => OpShape::Handover(js::from_entries(fields, context)?),
                _ => {
                    return Err(Error::new(&format!(
                        "{context}: `kind` must be one of {OP_KINDS}, got {}",
                        describe(&kind)
                    )));
                }
            })
        };
        read(fields)
    }

    /// The core's operation.
    pub(crate) fn into_op(self) -> Op {
        let ms = |m: Millis| Duration::from_millis(m.0);
        match self {
            OpShape::Claim(g) => Op::claim(
                key(g.namespace, g.model, g.lease),
                g.holder,
                ms(g.duration_ms),
            ),
            OpShape::Extend(g) => Op::extend(
                key(g.namespace, g.model, g.lease),
                g.holder,
                ms(g.duration_ms),
            ),
            OpShape::Revoke(r) => Op::revoke(key(r.namespace, r.model, r.lease), r.holder),
            OpShape::Pin(p) => Op::Pin {
                key: key(p.namespace, p.model, p.lease),
                entity: Arc::from(p.entity),
                until: p.until_ms.map(|m| Time::from_millis(m.0)),
                reason: p.reason.map(Arc::from),
            },
            OpShape::Unpin(u) => Op::unpin(key(u.namespace, u.model, u.lease), u.entity),
            OpShape::SetTime(t) => {
                Op::set_time(Time::from_millis(t.old_ms.0), Time::from_millis(t.new_ms.0))
            }
            OpShape::Handover(h) => Op::handover(
                key(h.namespace, h.model, h.lease),
                h.from,
                h.to,
                ms(h.duration_ms),
            ),
        }
    }

    /// The shape of a core operation.
    pub(crate) fn from_op(op: &Op) -> OpShape {
        let parts = |k: &Key| (text(&k.namespace), text(&k.model), text(&k.lease));
        match op {
            Op::Claim {
                key,
                holder,
                duration,
            }
            | Op::Extend {
                key,
                holder,
                duration,
            } => {
                let (namespace, model, lease) = parts(key);
                let grant = Grant {
                    namespace,
                    model,
                    lease,
                    holder: text(holder),
                    duration_ms: millis(*duration),
                };
                if matches!(op, Op::Claim { .. }) {
                    OpShape::Claim(grant)
                } else {
                    OpShape::Extend(grant)
                }
            }
            Op::Revoke { key, holder } => {
                let (namespace, model, lease) = parts(key);
                OpShape::Revoke(Release {
                    namespace,
                    model,
                    lease,
                    holder: text(holder),
                })
            }
            Op::Pin {
                key,
                entity,
                until,
                reason,
            } => {
                let (namespace, model, lease) = parts(key);
                OpShape::Pin(Pin {
                    namespace,
                    model,
                    lease,
                    entity: text(entity),
                    until_ms: until.map(|t| Millis(t.as_millis())),
                    reason: reason.as_ref().map(text),
                })
            }
            Op::Unpin { key, entity } => {
                let (namespace, model, lease) = parts(key);
                OpShape::Unpin(Unpin {
                    namespace,
                    model,
                    lease,
                    entity: text(entity),
                })
            }
            Op::SetTime { old, new } => OpShape::SetTime(SetTime {
                old_ms: Millis(old.as_millis()),
                new_ms: Millis(new.as_millis()),
            }),
            Op::Handover {
                key,
                from,
                to,
                duration,
            } => {
                let (namespace, model, lease) = parts(key);
                OpShape::Handover(Handover {
                    namespace,
                    model,
                    lease,
                    from: text(from),
                    to: text(to),
                    duration_ms: millis(*duration),
                })
            }
        }
    }
}

/// A value for a message: `"text"` for strings, the kind of anything else.
fn describe(value: &JsValue) -> String {
    match value.as_string() {
        Some(s) => format!("{s:?}"),
        None => js::kind_of(value),
    }
}

/// A batch: `{seq, ops}`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BatchShape {
    /// Its sequence number.
    pub(crate) seq: u64,
    /// Its operations.
    pub(crate) ops: Vec<OpShape>,
}

impl BatchShape {
    /// Reads `{seq, ops: [...]}`.
    pub(crate) fn read(value: &JsValue, context: &str) -> Result<leasehold::Batch, Error> {
        let mut seq = None;
        let mut ops = None;
        for (name, value) in js::entries(value, context, "the batch")? {
            match name.as_str() {
                "seq" => seq = Some(js::value_from_js::<Whole>(value, context, "seq")?.0),
                "ops" if js_sys::Array::is_array(&value) => ops = Some(js_sys::Array::from(&value)),
                "ops" => {
                    return Err(Error::new(&format!(
                        "{context}: `ops` must be an array, got {}",
                        js::kind_of(&value)
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
            .map(|(i, op)| Ok(OpShape::read(&op, &format!("{context}: ops[{i}]"))?.into_op()))
            .collect::<Result<Vec<Op>, Error>>()?;
        Ok(leasehold::Batch::new(seq, ops))
    }

    /// The shape of a core batch.
    pub(crate) fn of(batch: &leasehold::Batch) -> BatchShape {
        BatchShape {
            seq: batch.seq,
            ops: batch.ops.iter().map(OpShape::from_op).collect(),
        }
    }
}

// ---- engine options --------------------------------------------------------------------

/// The options of `new Engine(options)` and `Engine.restore(bytes, options)`: the engine
/// `Config` in camelCase, durations in ms, and the caller's clock at the start.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct EngineOptions {
    batch_interval_ms: Option<Millis>,
    clock_interval_ms: Option<Millis>,
    max_batch_ops: Option<Whole>,
    max_in_flight: Option<Whole>,
    queue_capacity: Option<Whole>,
    claim_deadline_ms: Option<Millis>,
    extend_deadline_ms: Option<Millis>,
    admin_deadline_ms: Option<Millis>,
    singular_deadline_ms: Option<Millis>,
    eager: Option<bool>,
    report_extensions: Option<bool>,
    now_ms: Option<Millis>,
}

impl EngineOptions {
    /// Reads the options; `undefined` or `null` means all defaults.
    pub(crate) fn read(value: &JsValue, context: &str) -> Result<EngineOptions, Error> {
        if value.is_undefined() || value.is_null() {
            Ok(EngineOptions::default())
        } else {
            js::from_js(value, context, "options")
        }
    }

    /// The engine settings: the defaults with the given fields replaced (not yet checked).
    pub(crate) fn config(&self) -> Config {
        let d = Config::default();
        let ms = |v: Option<Millis>, default: Duration| {
            v.map_or(default, |m| Duration::from_millis(m.0))
        };
        Config {
            batch_interval: ms(self.batch_interval_ms, d.batch_interval),
            clock_interval: ms(self.clock_interval_ms, d.clock_interval),
            max_batch_ops: self.max_batch_ops.map_or(d.max_batch_ops, Whole::size),
            max_in_flight: self.max_in_flight.map_or(d.max_in_flight, Whole::size),
            queue_capacity: self.queue_capacity.map_or(d.queue_capacity, Whole::size),
            claim_deadline: ms(self.claim_deadline_ms, d.claim_deadline),
            extend_deadline: ms(self.extend_deadline_ms, d.extend_deadline),
            admin_deadline: ms(self.admin_deadline_ms, d.admin_deadline),
            singular_deadline: ms(self.singular_deadline_ms, d.singular_deadline),
            eager: self.eager.unwrap_or(d.eager),
            report_extensions: self.report_extensions.unwrap_or(d.report_extensions),
        }
    }

    /// The caller's clock when the engine starts (0 unless given).
    pub(crate) fn now(&self) -> Time {
        Time::from_millis(self.now_ms.map_or(0, |m| m.0))
    }
}

// ---- outputs ---------------------------------------------------------------------------

/// Bytes, which become a `Uint8Array`.
#[derive(Debug, Clone)]
pub(crate) struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

/// What `advance` returns: answers, cut batches and lease events.
#[derive(Debug, Clone, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub(crate) enum OutputShape {
    /// A request's definitive answer.
    Answer {
        ticket: u64,
        ok: bool,
        reached_log: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        token: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        holder: Option<Arc<str>>,
    },
    /// A batch was cut (and, in a single-node engine, committed).
    Batch { seq: u64, ops: usize, bytes: Bytes },
    /// A lease changed.
    Event {
        event: &'static str,
        namespace: Arc<str>,
        model: Arc<str>,
        lease: Arc<str>,
        holder: Option<Arc<str>>,
        token: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        entity: Option<Arc<str>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        lapsed: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        from: Option<Arc<str>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        expires_ms: Option<f64>,
    },
}

impl OutputShape {
    /// An answer.
    pub(crate) fn answer(a: Answer) -> OutputShape {
        let outcome = a.outcome;
        let ok = outcome.is_ok();
        let (token, message, holder) = match &outcome {
            Outcome::Applied(Ok(token)) => (*token, None, None),
            Outcome::Applied(Err(e @ LeaseError::Held { holder })) => {
                (None, Some(e.to_string()), Some(holder.clone()))
            }
            Outcome::Applied(Err(e)) => (None, Some(e.to_string()), None),
            Outcome::Rejected(e) => (None, Some(js::js_names(&e.to_string())), None),
            _ => (None, None, None),
        };
        OutputShape::Answer {
            ticket: a.ticket.0,
            ok,
            reached_log: outcome.reached_log(),
            token,
            error: (!ok).then(|| outcome.name()),
            message,
            holder,
        }
    }

    /// A cut batch.
    pub(crate) fn batch(seq: u64, ops: usize, bytes: Vec<u8>) -> OutputShape {
        OutputShape::Batch {
            seq,
            ops,
            bytes: Bytes(bytes),
        }
    }

    /// An event; `local` turns a log time into the caller's clock.
    pub(crate) fn event(e: &Event, local: impl Fn(Time) -> Time) -> OutputShape {
        let key = e.key();
        let (entity, lapsed, from, expiry) = match e {
            Event::Claimed { expiry, .. } | Event::Extended { expiry, .. } => {
                (None, None, None, Some(number(local(*expiry).as_millis())))
            }
            Event::Pinned { entity, .. } => (Some(entity.clone()), None, None, None),
            Event::Unpinned { entity, lapsed, .. } => {
                (Some(entity.clone()), Some(*lapsed), None, None)
            }
            Event::HandedOver { from, .. } => (None, None, Some(from.clone()), None),
            Event::Expired { .. } | Event::Revoked { .. } => (None, None, None, None),
        };
        OutputShape::Event {
            event: e.kind(),
            namespace: key.namespace.clone(),
            model: key.model.clone(),
            lease: key.lease.clone(),
            holder: e.holder().cloned(),
            token: e.token(),
            entity,
            lapsed,
            from,
            expires_ms: expiry,
        }
    }
}

/// A time as a JavaScript number: exact up to 2^53 ms (285,000 years), rounded beyond
/// (reachable only from a crafted snapshot), rather than an error.
#[allow(clippy::cast_precision_loss)]
fn number(ms: u64) -> f64 {
    ms as f64
}

/// One held lease.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LeaseShape {
    namespace: Arc<str>,
    model: Arc<str>,
    lease: Arc<str>,
    holder: Arc<str>,
    expires_ms: f64,
    remaining_ms: f64,
    token: u64,
    pinned_by: Vec<String>,
}

impl LeaseShape {
    /// A lease as the core reads it (expiry on the caller's clock), seen at `now`.
    pub(crate) fn of(l: LeaseInfo, now: Time) -> LeaseShape {
        LeaseShape {
            namespace: l.key.namespace,
            model: l.key.model,
            lease: l.key.lease,
            holder: l.holder,
            expires_ms: number(l.expiry.as_millis()),
            remaining_ms: number(l.expiry.as_millis().saturating_sub(now.as_millis())),
            token: l.token,
            pinned_by: l.pinned_by,
        }
    }
}

/// The counters of one lane.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct LaneShape {
    name: &'static str,
    depth: usize,
    accepted: u64,
    shed: u64,
    deadline_exceeded: u64,
    applied: u64,
}

/// The engine's running totals.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MetricsShape {
    lanes: Vec<LaneShape>,
    batches: u64,
    batch_ops: u64,
    batch_bytes: u64,
    committed: u64,
    abandoned: u64,
    aborted: u64,
    rejected: u64,
    coalesced: u64,
    leadership_changes: u64,
    p50_latency_ms: u64,
    p99_latency_ms: u64,
}

impl MetricsShape {
    /// The shape of the core's metrics.
    pub(crate) fn of(m: &Metrics) -> MetricsShape {
        let lane = |(lane, l): (leasehold::Lane, &LaneMetrics)| LaneShape {
            name: lane.name(),
            depth: l.depth,
            accepted: l.accepted,
            shed: l.shed,
            deadline_exceeded: l.deadline_exceeded,
            applied: l.applied,
        };
        MetricsShape {
            lanes: leasehold::Lane::ALL
                .into_iter()
                .zip(&m.lanes)
                .map(lane)
                .collect(),
            batches: m.batches,
            batch_ops: m.batch_ops,
            batch_bytes: m.batch_bytes,
            committed: m.committed,
            abandoned: m.abandoned,
            aborted: m.aborted,
            rejected: m.rejected,
            coalesced: m.coalesced,
            leadership_changes: m.leadership_changes,
            p50_latency_ms: m.latency_percentile(0.5),
            p99_latency_ms: m.latency_percentile(0.99),
        }
    }
}

// ---- the simulator ---------------------------------------------------------------------

/// A scenario preset: `{name, description, params}`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ScenarioShape {
    name: &'static str,
    description: &'static str,
    params: ParamsShape,
}

impl ScenarioShape {
    /// The shape of a preset.
    pub(crate) fn of(s: &Scenario) -> ScenarioShape {
        ScenarioShape {
            name: s.name,
            description: s.description,
            params: ParamsShape(s.params.values()),
        }
    }
}

/// Parameters by camelCase name, as numbers, strings (`mode`) and booleans (`eager`).
#[derive(Debug, Clone)]
struct ParamsShape(Vec<(&'static str, String)>);

impl Serialize for ParamsShape {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            let key = js::camel(name);
            if let Ok(n) = value.parse::<u64>() {
                map.serialize_entry(&key, &n)?;
            } else if let Ok(b) = value.parse::<bool>() {
                map.serialize_entry(&key, &b)?;
            } else {
                map.serialize_entry(&key, value)?;
            }
        }
        map.end()
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
        let name = js::snake(key);
        if js::camel(&name) != *key || !PARAM_NAMES.contains(&name.as_str()) {
            let known: Vec<String> = PARAM_NAMES.iter().map(|n| js::camel(n)).collect();
            return Err(Error::new(&format!(
                "{context}: unknown parameter `{key}` (known: scenario, {})",
                known.join(", ")
            )));
        }
        let text = if let Some(b) = value.as_bool() {
            b.to_string()
        } else if let Some(n) = value.as_f64() {
            n.to_string()
        } else if let Some(s) = value.as_string() {
            s
        } else {
            return Err(Error::new(&format!(
                "{context}: `{key}` must be a number, a string or a boolean, got {}",
                js::kind_of(value)
            )));
        };
        settings.push((name, text));
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
