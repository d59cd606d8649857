//! A JavaScript value read by serde: [`Value`], a deserializer over a `JsValue`;
//! [`ReadError`], its error; and [`kind_of`], the words for what kind of value one is.
//!
//! It reads what the API's fields hold (`null` and `undefined`, booleans, numbers,
//! strings, arrays and plain objects) and names anything else. It exists for the size of
//! the package: serde-wasm-bindgen's deserializer describes an unexpected number with
//! Rust's float formatting, about 10 KB gzipped of the `.wasm`; here JavaScript writes
//! the number (`Number.prototype.toString`), and serde's messages keep their words.

use js_sys::{Array, ArrayBuffer, Number, Object, Uint8Array};
use serde::de::value::{MapDeserializer, SeqDeserializer, StringDeserializer};
use serde::de::{self, Expected, IntoDeserializer, Unexpected, Visitor};
use std::fmt;
use wasm_bindgen::{JsCast, JsValue};

/// Why a value could not be read: serde's message, in JavaScript's words (`null or
/// undefined` for a missing value, `a whole number from 0 to 2^53 - 1` for a count).
#[derive(Debug)]
pub(crate) struct ReadError(pub(crate) String);

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReadError {}

impl de::Error for ReadError {
    fn custom<T: fmt::Display>(message: T) -> ReadError {
        ReadError(message.to_string())
    }

    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn Expected) -> ReadError {
        ReadError(format!(
            "invalid type: {}, expected {}",
            describe(unexpected),
            expectation(expected)
        ))
    }

    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn Expected) -> ReadError {
        ReadError(format!(
            "invalid value: {}, expected {}",
            describe(unexpected),
            expectation(expected)
        ))
    }
}

/// What serde was given, as serde words it, except for a number (written by JavaScript)
/// and a missing value (`null or undefined`, which serde calls the unit value).
fn describe(unexpected: Unexpected<'_>) -> String {
    match unexpected {
        Unexpected::Bool(b) => format!("boolean `{b}`"),
        Unexpected::Unsigned(n) => format!("integer `{n}`"),
        Unexpected::Signed(n) => format!("integer `{n}`"),
        Unexpected::Float(n) => format!("floating point `{}`", number_text(n)),
        Unexpected::Char(c) => format!("character `{c}`"),
        Unexpected::Str(s) => format!("string {s:?}"),
        Unexpected::Bytes(_) => "byte array".into(),
        Unexpected::Unit => "null or undefined".into(),
        Unexpected::Option => "Option value".into(),
        Unexpected::NewtypeStruct => "newtype struct".into(),
        Unexpected::Seq => "sequence".into(),
        Unexpected::Map => "map".into(),
        Unexpected::Enum => "enum".into(),
        Unexpected::UnitVariant => "unit variant".into(),
        Unexpected::NewtypeVariant => "newtype variant".into(),
        Unexpected::TupleVariant => "tuple variant".into(),
        Unexpected::StructVariant => "struct variant".into(),
        Unexpected::Other(other) => other.into(),
    }
}

/// What was expected; a Rust `u64` is, to JavaScript, a whole number in the safe range.
fn expectation(expected: &dyn Expected) -> String {
    let text = expected.to_string();
    if text == "u64" {
        "a whole number from 0 to 2^53 - 1".into()
    } else {
        text
    }
}

/// JavaScript's text of a number (`2.5`, `1e+300`, `NaN`).
pub(crate) fn number_text(n: f64) -> String {
    // Radix 10 is always in range, so this never fails.
    Number::from(n)
        .to_string_with_radix(10)
        .map(String::from)
        .unwrap_or_default()
}

/// What kind of value `value` is, for messages: `a string`, `null`, `an array`...
pub(crate) fn kind_of(value: &JsValue) -> String {
    if value.is_null() {
        "null".into()
    } else if Array::is_array(value) {
        "an array".into()
    } else if value.is_instance_of::<Uint8Array>() {
        "a Uint8Array".into()
    } else if value.is_instance_of::<ArrayBuffer>() {
        "an ArrayBuffer".into()
    } else {
        let t = value.js_typeof().as_string().unwrap_or_default();
        match t.as_str() {
            "undefined" => t,
            "object" => "an object".into(),
            _ => format!("a {t}"),
        }
    }
}

/// A JavaScript value being read.
pub(crate) struct Value(pub(crate) JsValue);

impl Value {
    /// `null` and `undefined` both stand for a missing value.
    fn is_nullish(&self) -> bool {
        self.0.is_null() || self.0.is_undefined()
    }

    /// The error of a value `visitor` does not take.
    fn refuse<'de, V: Visitor<'de>>(&self, visitor: V) -> Result<V::Value, ReadError> {
        let text;
        let unexpected = if self.is_nullish() {
            Unexpected::Unit
        } else if let Some(b) = self.0.as_bool() {
            Unexpected::Bool(b)
        } else if let Some(n) = self.0.as_f64() {
            Unexpected::Float(n)
        } else if let Some(s) = self.0.as_string() {
            text = s;
            Unexpected::Str(&text)
        } else {
            text = kind_of(&self.0);
            Unexpected::Other(&text)
        };
        Err(de::Error::invalid_type(unexpected, &visitor))
    }

    /// A plain object: not an array, bytes or other built-in that has entries of its
    /// own.
    fn is_plain_object(&self) -> bool {
        self.0.is_object()
            && !Array::is_array(&self.0)
            && !self.0.is_instance_of::<Uint8Array>()
            && !self.0.is_instance_of::<ArrayBuffer>()
    }
}

impl<'de> IntoDeserializer<'de, ReadError> for Value {
    type Deserializer = Value;

    fn into_deserializer(self) -> Value {
        self
    }
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = ReadError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ReadError> {
        if self.is_nullish() {
            visitor.visit_unit()
        } else if let Some(b) = self.0.as_bool() {
            visitor.visit_bool(b)
        } else if let Some(n) = self.0.as_f64() {
            if !Number::is_safe_integer(&self.0) {
                visitor.visit_f64(n)
            } else if n >= 0.0 {
                visitor.visit_u64(n as u64)
            } else {
                visitor.visit_i64(n as i64)
            }
        } else if let Some(s) = self.0.as_string() {
            visitor.visit_string(s)
        } else if let Some(array) = self.0.dyn_ref::<Array>() {
            visitor.visit_seq(SeqDeserializer::new(array.iter().map(Value)))
        } else if self.is_plain_object() {
            let entries = Object::entries(self.0.unchecked_ref());
            visitor.visit_map(MapDeserializer::new(entries.iter().map(|pair| {
                let pair: Array = pair.unchecked_into();
                (
                    pair.get(0).as_string().unwrap_or_default(),
                    Value(pair.get(1)),
                )
            })))
        } else {
            self.refuse(visitor)
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ReadError> {
        if self.is_nullish() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ReadError> {
        visitor.visit_newtype_struct(self)
    }

    /// An enum of unit variants, written as the variant's name.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ReadError> {
        match self.0.as_string() {
            Some(name) => visitor.visit_enum(StringDeserializer::new(name)),
            None => self.refuse(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}
