//! Attributes of one owner (a span, resource, event or link), read row by row.

use super::columns::AttributeTable;
use crate::bindings::types::AttributeValue;

/// An attribute value as sent: strings borrow the batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Str(&'a str),
    Int(i64),
    Double(f64),
    Bool(bool),
    /// A non-scalar value (array, map, bytes) as JSON text; sent only to plugins that
    /// select `AttributeSelection::All` (or name the key).
    Json(&'a str),
}

impl<'a> Value<'a> {
    /// The string of a `Str` value (not of `Json`).
    pub fn as_str(&self) -> Option<&'a str> {
        match *self {
            Value::Str(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(number) => Some(number),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Double(number) => Some(number),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(flag) => Some(flag),
            _ => None,
        }
    }

    /// The value as an edit carries it; JSON text becomes a string (edits cannot write
    /// non-scalar values).
    pub fn to_attribute_value(&self) -> AttributeValue {
        match *self {
            Value::Str(text) | Value::Json(text) => AttributeValue::Str(text.to_owned()),
            Value::Int(number) => AttributeValue::Int(number),
            Value::Double(number) => AttributeValue::Double(number),
            Value::Bool(flag) => AttributeValue::Boolean(flag),
        }
    }
}

/// One attribute row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Attribute<'a> {
    /// Global row index in its attribute columns: what attribute edits address.
    pub row: u32,
    pub key: &'a str,
    pub value: Value<'a>,
}

/// The attributes of one owner, in row order.
#[derive(Clone, Debug)]
pub struct Attributes<'a> {
    table: AttributeTable<'a>,
    next: u32,
    end: u32,
}

pub(crate) fn owner_attributes(table: AttributeTable<'_>, owner: usize) -> Attributes<'_> {
    let (next, end) = table.rows_of(owner);
    Attributes { table, next, end }
}

impl<'a> Attributes<'a> {
    pub(crate) fn empty(table: AttributeTable<'a>) -> Self {
        Self {
            table,
            next: 0,
            end: 0,
        }
    }

    /// The value of the first remaining attribute named `key`.
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        (self.next..self.end)
            .find(|&row| self.table.key(row as usize) == key)
            .map(|row| self.table.value(row as usize))
    }

    /// The string value of `key`, if it is a `Str`.
    pub fn get_str(&self, key: &str) -> Option<&'a str> {
        self.get(key).and_then(|value| value.as_str())
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Attribute<'a>;

    #[inline]
    fn next(&mut self) -> Option<Attribute<'a>> {
        if self.next >= self.end {
            return None;
        }
        let row = self.next;
        self.next += 1;
        Some(Attribute {
            row,
            key: self.table.key(row as usize),
            value: self.table.value(row as usize),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.end - self.next) as usize;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Attributes<'_> {}
