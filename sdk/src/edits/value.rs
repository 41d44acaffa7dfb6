//! Values an edit writes: anything that encodes as a value kind and the 8 bytes of a
//! record's value field (a string goes into the answer's string buffer).

use spangate_plugin_abi::{push_string, value_kind};

use crate::batch::Value;

/// An attribute value an edit writes, owned (for values built at run time; edits also
/// take `&str`, numbers, `bool` and batch [`Value`]s directly).
#[derive(Clone, Debug, PartialEq)]
pub enum AttributeValue {
    Str(String),
    Int(i64),
    Double(f64),
    Boolean(bool),
}

/// A value an edit can write. Implemented for [`AttributeValue`], `&str`, `String`,
/// `i64`, `i32`, `u32`, `f64`, `bool` and batch [`Value`]s (JSON text is written as a
/// string: edits cannot write non-scalar values).
pub trait EditValue {
    /// The value kind and the record's value field; a string is appended to `strings`.
    #[doc(hidden)]
    fn encode(self, strings: &mut Vec<u8>) -> (u8, u64);
}

fn text(strings: &mut Vec<u8>, text: &str) -> (u8, u64) {
    (
        value_kind::STR,
        push_string(strings, text.as_bytes()).to_u64(),
    )
}

impl EditValue for &str {
    fn encode(self, strings: &mut Vec<u8>) -> (u8, u64) {
        text(strings, self)
    }
}

impl EditValue for String {
    fn encode(self, strings: &mut Vec<u8>) -> (u8, u64) {
        text(strings, &self)
    }
}

impl EditValue for &String {
    fn encode(self, strings: &mut Vec<u8>) -> (u8, u64) {
        text(strings, self)
    }
}

impl EditValue for i64 {
    fn encode(self, _: &mut Vec<u8>) -> (u8, u64) {
        (value_kind::INT, self as u64)
    }
}

impl EditValue for i32 {
    fn encode(self, strings: &mut Vec<u8>) -> (u8, u64) {
        i64::from(self).encode(strings)
    }
}

impl EditValue for u32 {
    fn encode(self, strings: &mut Vec<u8>) -> (u8, u64) {
        i64::from(self).encode(strings)
    }
}

impl EditValue for f64 {
    fn encode(self, _: &mut Vec<u8>) -> (u8, u64) {
        (value_kind::DOUBLE, self.to_bits())
    }
}

impl EditValue for bool {
    fn encode(self, _: &mut Vec<u8>) -> (u8, u64) {
        (value_kind::BOOL, u64::from(self))
    }
}

impl EditValue for &AttributeValue {
    fn encode(self, strings: &mut Vec<u8>) -> (u8, u64) {
        match self {
            AttributeValue::Str(value) => text(strings, value),
            AttributeValue::Int(number) => number.encode(strings),
            AttributeValue::Double(number) => number.encode(strings),
            AttributeValue::Boolean(flag) => flag.encode(strings),
        }
    }
}

impl EditValue for AttributeValue {
    fn encode(self, strings: &mut Vec<u8>) -> (u8, u64) {
        (&self).encode(strings)
    }
}

impl EditValue for Value<'_> {
    fn encode(self, strings: &mut Vec<u8>) -> (u8, u64) {
        match self {
            Value::Str(value) | Value::Json(value) => text(strings, value),
            Value::Int(number) => number.encode(strings),
            Value::Double(number) => number.encode(strings),
            Value::Bool(flag) => flag.encode(strings),
        }
    }
}
