//! An attribute list with unique keys, built from Jaeger tags: a later tag with the same
//! key replaces the value in place (as the OpenTelemetry Collector's attribute map does),
//! and the special tags of the mapping are looked up and removed by key.

use std::collections::HashMap;

use super::model::{Tag, TagValue};
use crate::model::{AnyValue, KeyValue, any_value::Value};

#[derive(Debug, Default)]
pub(super) struct Attributes {
    list: Vec<KeyValue>,
    index: HashMap<String, usize>,
}

impl Attributes {
    pub(super) fn from_tags(tags: &[Tag]) -> Attributes {
        let mut attributes = Attributes::default();
        attributes.put_tags(tags);
        attributes
    }

    pub(super) fn put_tags(&mut self, tags: &[Tag]) {
        for tag in tags {
            self.put(&tag.key, value_of(&tag.value));
        }
    }

    /// Sets `key`, in place if it is there, at the end otherwise.
    pub(super) fn put(&mut self, key: &str, value: Value) {
        let value = Some(AnyValue { value: Some(value) });
        match self.index.get(key) {
            Some(&position) => self.list[position].value = value,
            None => {
                self.index.insert(key.to_owned(), self.list.len());
                self.list.push(KeyValue {
                    key: key.to_owned(),
                    value,
                    ..KeyValue::default()
                });
            }
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<&Value> {
        let position = *self.index.get(key)?;
        self.list[position]
            .value
            .as_ref()
            .and_then(|value| value.value.as_ref())
    }

    pub(super) fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// Removes `key`, keeping the order of the others; returns its value.
    pub(super) fn remove(&mut self, key: &str) -> Option<Value> {
        let position = self.index.remove(key)?;
        let removed = self.list.remove(position);
        for slot in self.index.values_mut() {
            if *slot > position {
                *slot -= 1;
            }
        }
        removed.value.and_then(|value| value.value)
    }

    /// The string value of `key`; "" when it holds another type (as the Collector reads it).
    pub(super) fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).map(as_str)
    }

    pub(super) fn into_list(self) -> Vec<KeyValue> {
        self.list
    }
}

/// A value read as a string: its text when it is one, "" otherwise.
pub(super) fn as_str(value: &Value) -> &str {
    match value {
        Value::StringValue(text) => text,
        _ => "",
    }
}

/// A tag's value as an OTLP value: each Jaeger type as its OTLP type, binary as bytes.
fn value_of(value: &TagValue) -> Value {
    match value {
        TagValue::String(text) => Value::StringValue(text.clone()),
        TagValue::Bool(flag) => Value::BoolValue(*flag),
        TagValue::Int64(number) => Value::IntValue(*number),
        TagValue::Float64(number) => Value::DoubleValue(*number),
        TagValue::Binary(bytes) => Value::BytesValue(bytes.clone()),
        TagValue::Unknown(number) => {
            Value::StringValue(format!("<Unknown Jaeger TagType \"{number}\">"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(key: &str, value: TagValue) -> Tag {
        Tag {
            key: key.to_owned(),
            value,
        }
    }

    #[test]
    fn a_repeated_key_keeps_its_place_and_the_last_value() {
        let mut attributes = Attributes::from_tags(&[
            tag("a", TagValue::Int64(1)),
            tag("b", TagValue::Bool(true)),
            tag("a", TagValue::String("x".into())),
            tag("c", TagValue::Binary(vec![1, 2])),
        ]);
        assert_eq!(attributes.get_str("a"), Some("x"));
        assert_eq!(attributes.get_str("b"), Some(""));
        assert_eq!(attributes.remove("b"), Some(Value::BoolValue(true)));
        assert!(!attributes.contains("b"));
        assert_eq!(attributes.get("c"), Some(&Value::BytesValue(vec![1, 2])));
        attributes.put("d", Value::DoubleValue(0.5));
        let keys: Vec<_> = attributes
            .into_list()
            .into_iter()
            .map(|kv| kv.key)
            .collect();
        assert_eq!(keys, ["a", "c", "d"]);
    }

    #[test]
    fn an_unknown_type_is_named_in_a_string() {
        let attributes = Attributes::from_tags(&[tag("k", TagValue::Unknown(9))]);
        assert_eq!(
            attributes.get_str("k"),
            Some("<Unknown Jaeger TagType \"9\">")
        );
    }
}
