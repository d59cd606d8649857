//! The boundary: plain JavaScript objects into Rust shapes and back (serde), and core
//! errors into JavaScript `Error`s.
//!
//! Reading never trusts its input: an object's own fields are listed first (so an
//! unknown field is an error), the field being read is tracked (so a wrong type names
//! it), and numbers of milliseconds are checked to be finite, not negative and exactly
//! representable.

use js_sys::{Array, ArrayBuffer, Error, Object, Reflect, Uint8Array};
use leasehold::sim::PARAM_NAMES;
use serde::de::{self, DeserializeOwned, IntoDeserializer, Unexpected, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::cell::Cell;
use std::fmt;
use wasm_bindgen::{JsCast, JsValue};

/// The largest integer a JavaScript number holds exactly (2^53 - 1).
const MAX_SAFE: u64 = (1 << 53) - 1;

/// How Rust shapes become JavaScript values: plain objects for maps, `null` for missing
/// values, numbers for integers, `Uint8Array` for bytes.
const SERIALIZER: serde_wasm_bindgen::Serializer = serde_wasm_bindgen::Serializer::new()
    .serialize_missing_as_null(true)
    .serialize_maps_as_objects(true);

// ---- errors ----------------------------------------------------------------------------

/// Turns a core error (or any failure) into a JavaScript `Error`. The message starts with
/// the call that failed and spells the core's field names as JavaScript does
/// (`batch_interval` becomes `batchIntervalMs`, `duration` becomes `durationMs`).
pub(crate) fn js_error(context: &str, error: impl fmt::Display) -> Error {
    Error::new(&format!("{context}: {}", js_names(&error.to_string())))
}

/// Rewrites the core's field names in `text` as JavaScript spells them: a name in
/// backticks, or a bare snake-case name, that the core uses for a setting, a simulation
/// parameter or an operation field. Other words (and names a caller chose) are kept.
pub(crate) fn js_names(text: &str) -> String {
    let is_word = |c: &char| c.is_ascii_alphanumeric() || *c == '_';
    let mut out = String::with_capacity(text.len() + 8);
    let mut word = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if !is_word(&c) {
            out.push(c);
            continue;
        }
        word.push(c);
        if chars.peek().is_some_and(is_word) {
            continue;
        }
        let quoted = out.ends_with('`') && chars.peek() == Some(&'`');
        match js_name(&word) {
            Some(name) if quoted || word.contains('_') => out.push_str(&name),
            _ => out.push_str(&word),
        }
        word.clear();
    }
    out
}

/// The JavaScript name of a core field, if `core` is one.
fn js_name(core: &str) -> Option<String> {
    const MILLIS: &[&str] = &[
        "batch_interval",
        "clock_interval",
        "claim_deadline",
        "extend_deadline",
        "admin_deadline",
        "singular_deadline",
        "duration",
        "until",
        "old",
        "new",
    ];
    const OTHERS: &[&str] = &[
        "max_batch_ops",
        "max_in_flight",
        "queue_capacity",
        "report_extensions",
    ];
    if MILLIS.contains(&core) {
        Some(camel(core) + "Ms")
    } else if OTHERS.contains(&core) || PARAM_NAMES.contains(&core) {
        Some(camel(core))
    } else {
        None
    }
}

/// `snake_case` → `camelCase`.
pub(crate) fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `camelCase` → `snake_case`.
pub(crate) fn snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// What kind of value `value` is, for messages: `a string`, `null`, `an array`...
pub(crate) fn kind_of(value: &JsValue) -> String {
    if value.is_null() {
        "null".into()
    } else if Array::is_array(value) {
        "an array".into()
    } else {
        let t = value.js_typeof().as_string().unwrap_or_default();
        match t.as_str() {
            "undefined" => t,
            "object" => "an object".into(),
            _ => format!("a {t}"),
        }
    }
}

// ---- reading ---------------------------------------------------------------------------

/// The own fields of a plain object, in order. Anything else (a string, an array,
/// `null`...) is an error naming `what`.
pub(crate) fn entries(
    value: &JsValue,
    context: &str,
    what: &str,
) -> Result<Vec<(String, JsValue)>, Error> {
    if !value.is_object() || Array::is_array(value) || value.is_instance_of::<Uint8Array>() {
        return Err(Error::new(&format!(
            "{context}: {what} must be an object, got {}",
            kind_of(value)
        )));
    }
    Ok(Object::entries(value.unchecked_ref())
        .iter()
        .map(|pair| {
            let pair: Array = pair.unchecked_into();
            (pair.get(0).as_string().unwrap_or_default(), pair.get(1))
        })
        .collect())
}

/// Reads a plain object into `T`: an unknown field, a missing one or a wrong type is an
/// error that names the field.
pub(crate) fn from_js<T: DeserializeOwned>(
    value: &JsValue,
    context: &str,
    what: &str,
) -> Result<T, Error> {
    from_entries(entries(value, context, what)?, context)
}

/// Reads the fields of an object (see [`entries`]) into `T`. An error while reading a
/// field's value is prefixed with the field's name.
pub(crate) fn from_entries<T: DeserializeOwned>(
    entries: Vec<(String, JsValue)>,
    context: &str,
) -> Result<T, Error> {
    // The map deserializer takes one field at a time: the last one taken is the one
    // being read; none once all are taken (a missing field).
    let current: Cell<Option<String>> = Cell::new(None);
    let mut fields = entries.into_iter();
    let fields = std::iter::from_fn(|| {
        let next = fields.next();
        current.set(next.as_ref().map(|(k, _)| k.clone()));
        next.map(|(k, v)| (k, Field(v)))
    });
    T::deserialize(de::value::MapDeserializer::new(fields)).map_err(|e| {
        let message = serde_message(e);
        match current.take().as_deref() {
            Some(field) if !message.starts_with("unknown field") => {
                Error::new(&format!("{context}: `{field}`: {message}"))
            }
            _ => Error::new(&format!("{context}: {message}")),
        }
    })
}

/// Reads one value (not an object's fields) into `T`, naming it `name` on error.
pub(crate) fn value_from_js<T: DeserializeOwned>(
    value: JsValue,
    context: &str,
    name: &str,
) -> Result<T, Error> {
    if value.is_undefined() {
        return Err(Error::new(&format!("{context}: `{name}` is missing")));
    }
    T::deserialize(serde_wasm_bindgen::Deserializer::from(value))
        .map_err(|e| Error::new(&format!("{context}: `{name}`: {}", serde_message(e))))
}

/// The bytes of a `Uint8Array` (or `ArrayBuffer`).
pub(crate) fn bytes(value: &JsValue, context: &str, name: &str) -> Result<Vec<u8>, Error> {
    if let Some(array) = value.dyn_ref::<Uint8Array>() {
        Ok(array.to_vec())
    } else if let Some(buffer) = value.dyn_ref::<ArrayBuffer>() {
        Ok(Uint8Array::new(buffer).to_vec())
    } else {
        Err(Error::new(&format!(
            "{context}: `{name}` must be a Uint8Array, got {}",
            kind_of(value)
        )))
    }
}

/// The message of a serde error raised at the boundary, in JavaScript's words.
fn serde_message(e: serde_wasm_bindgen::Error) -> String {
    let value = JsValue::from(e);
    match value.dyn_ref::<Error>() {
        Some(error) => String::from(error.message()).replace("unit value", "null or undefined"),
        None => format!("{value:?}"),
    }
}

/// One field's value, read by serde-wasm-bindgen.
struct Field(JsValue);

impl<'de> IntoDeserializer<'de, serde_wasm_bindgen::Error> for Field {
    type Deserializer = serde_wasm_bindgen::Deserializer;

    fn into_deserializer(self) -> serde_wasm_bindgen::Deserializer {
        serde_wasm_bindgen::Deserializer::from(self.0)
    }
}

/// A number of milliseconds: finite, not negative, at most 2^53 - 1; a fraction is
/// dropped (`performance.now()` gives fractions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub(crate) struct Millis(pub u64);

/// A whole number from 0 to 2^53 - 1 (a count, a sequence number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub(crate) struct Whole(pub u64);

impl Whole {
    /// As a `usize`, saturating (a count larger than memory means "no limit").
    pub(crate) fn size(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
        d.deserialize_f64(Number { whole: false }).map(Millis)
    }
}

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Whole, D::Error> {
        d.deserialize_f64(Number { whole: true }).map(Whole)
    }
}

/// Reads a JavaScript number into a `u64`.
struct Number {
    whole: bool,
}

impl Visitor<'_> for Number {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.whole {
            f.write_str("a whole number from 0 to 2^53 - 1")
        } else {
            f.write_str("a number of milliseconds from 0 to 2^53 - 1")
        }
    }

    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        let fits = v.is_finite() && v >= 0.0 && v <= MAX_SAFE as f64;
        if fits && (!self.whole || v.fract() == 0.0) {
            Ok(v as u64)
        } else {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        if v <= MAX_SAFE {
            Ok(v)
        } else {
            Err(E::invalid_value(Unexpected::Unsigned(v), &self))
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v)
            .ok()
            .filter(|&v| v <= MAX_SAFE)
            .ok_or_else(|| E::invalid_value(Unexpected::Signed(v), &self))
    }
}

// ---- writing ---------------------------------------------------------------------------

/// A Rust shape as a plain JavaScript value.
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T, context: &str) -> Result<JsValue, Error> {
    value
        .serialize(&SERIALIZER)
        .map_err(|e| Error::new(&format!("{context}: {}", serde_message(e))))
}

/// A copy of a plain object with its keys in camelCase (for shapes the core serializes
/// in snake case).
pub(crate) fn camel_keys(value: &JsValue) -> JsValue {
    let Some(object) = value.dyn_ref::<Object>() else {
        return value.clone();
    };
    let out = Object::new();
    for pair in Object::entries(object).iter() {
        let pair: Array = pair.unchecked_into();
        let key = camel(&pair.get(0).as_string().unwrap_or_default());
        // Setting a data property on a fresh plain object cannot fail.
        let _ = Reflect::set(&out, &JsValue::from(key), &pair.get(1));
    }
    out.into()
}
