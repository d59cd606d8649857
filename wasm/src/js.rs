//! The boundary: plain JavaScript objects into Rust shapes and back (serde), and core
//! errors into JavaScript `Error`s.
//!
//! Reading never trusts its input: an object's own fields are listed first (so an
//! unknown field is an error) and the field being read is tracked (so a wrong type names
//! it). What a field may hold is the core's serde form (`leasehold::form`): numbers of
//! milliseconds, for one, must be finite, not negative and exactly representable.

use crate::value::{ReadError, Value, kind_of};
use js_sys::{Array, ArrayBuffer, Error, Object, Reflect, Uint8Array};
use serde::Serialize;
use serde::de::{self, DeserializeOwned};
use std::cell::Cell;
use std::fmt;
use wasm_bindgen::{JsCast, JsValue};

/// How Rust shapes become JavaScript values: plain objects for maps, `null` for missing
/// values, numbers for integers, `Uint8Array` for bytes.
const SERIALIZER: serde_wasm_bindgen::Serializer = serde_wasm_bindgen::Serializer::new()
    .serialize_missing_as_null(true)
    .serialize_maps_as_objects(true);

// ---- errors ----------------------------------------------------------------------------

/// Turns a core error (or any failure) into a JavaScript `Error` whose message starts
/// with the call that failed. The core already names fields as JavaScript spells them.
pub(crate) fn js_error(context: &str, error: impl fmt::Display) -> Error {
    Error::new(&format!("{context}: {error}"))
}

/// The error of reading `field` (if known): `{context}: `{field}`: {message}`, without
/// the field where the message names it already (an unknown or duplicate field).
pub(crate) fn field_error(context: &str, field: Option<&str>, message: &str) -> Error {
    match field {
        Some(field)
            if !message.starts_with("unknown field") && !message.starts_with("duplicate field") =>
        {
            Error::new(&format!("{context}: `{field}`: {message}"))
        }
        _ => Error::new(&format!("{context}: {message}")),
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

/// Takes the field `name` out of an object's fields, if it is there.
pub(crate) fn take(entries: &mut Vec<(String, JsValue)>, name: &str) -> Option<JsValue> {
    let i = entries.iter().position(|(k, _)| k == name)?;
    Some(entries.remove(i).1)
}

/// Reads the fields of an object (see [`entries`]) into `T`. An error while reading a
/// field's value is prefixed with the field's name.
pub(crate) fn from_entries<T: DeserializeOwned>(
    entries: &[(String, JsValue)],
    context: &str,
) -> Result<T, Error> {
    read(entries).map_err(|(field, message)| field_error(context, field.as_deref(), &message))
}

/// Reads the fields of an object into `T`. The error is the message and the field being
/// read, none once all were taken: a missing field, or a value judged only after every
/// field was taken in (a type that buffers them: an internally tagged enum).
pub(crate) fn read<T: DeserializeOwned>(
    entries: &[(String, JsValue)],
) -> Result<T, (Option<String>, String)> {
    if let Some(e) = entries
        .iter()
        .find_map(|(k, v)| Some((Some(k.clone()), foreign(v)?)))
    {
        return Err(e);
    }
    // The map deserializer takes one field at a time: the last one taken is the one
    // being read.
    let current: Cell<Option<&str>> = Cell::new(None);
    let mut fields = entries.iter();
    let fields = std::iter::from_fn(|| {
        let next = fields.next();
        current.set(next.map(|(k, _)| k.as_str()));
        next.map(|(k, v)| (k.as_str(), Value(v.clone())))
    });
    T::deserialize(de::value::MapDeserializer::<_, ReadError>::new(fields))
        .map_err(|e| (current.take().map(str::to_owned), e.0))
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
    if let Some(message) = foreign(&value) {
        return Err(Error::new(&format!("{context}: `{name}`: {message}")));
    }
    T::deserialize(Value(value)).map_err(|e| Error::new(&format!("{context}: `{name}`: {e}")))
}

/// The error for a value that no field of the API takes but a form that buffers its
/// fields (an internally tagged enum) would read as something else: a BigInt, or bytes.
/// Fields hold numbers and strings, as their TypeScript types say.
fn foreign(value: &JsValue) -> Option<String> {
    let foreign = value.is_bigint()
        || value.is_instance_of::<Uint8Array>()
        || value.is_instance_of::<ArrayBuffer>();
    foreign.then(|| format!("invalid type: {}", kind_of(value)))
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

/// The message of an error of serde-wasm-bindgen's serializer.
fn serde_message(e: serde_wasm_bindgen::Error) -> String {
    let value = JsValue::from(e);
    match value.dyn_ref::<Error>() {
        Some(error) => error.message().into(),
        None => format!("{value:?}"),
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
        let key = leasehold::sim::camel(&pair.get(0).as_string().unwrap_or_default());
        set(&out, &key, &pair.get(1));
    }
    out.into()
}

/// Sets a field of a plain object the boundary made.
pub(crate) fn set(object: &Object, name: &str, value: &JsValue) {
    // Setting a data property on a plain object of our own cannot fail.
    let _ = Reflect::set(object, &JsValue::from_str(name), value);
}
