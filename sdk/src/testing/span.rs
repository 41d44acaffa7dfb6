//! Spans as tests write them: whole, owned, with builder methods.

use crate::bindings::types::{SpanKind, StatusCode};
use crate::edits::AttributeValue;

/// An attribute value of a test span.
#[derive(Clone, Debug, PartialEq)]
pub enum TestValue {
    Str(String),
    Int(i64),
    Double(f64),
    Bool(bool),
    /// A non-scalar value (array, map, bytes) as JSON text, as the host sends it.
    Json(String),
}

impl TestValue {
    pub(crate) fn is_string(&self) -> bool {
        matches!(self, TestValue::Str(_))
    }
}

impl From<&str> for TestValue {
    fn from(text: &str) -> Self {
        TestValue::Str(text.to_owned())
    }
}

impl From<String> for TestValue {
    fn from(text: String) -> Self {
        TestValue::Str(text)
    }
}

impl From<i64> for TestValue {
    fn from(number: i64) -> Self {
        TestValue::Int(number)
    }
}

impl From<f64> for TestValue {
    fn from(number: f64) -> Self {
        TestValue::Double(number)
    }
}

impl From<bool> for TestValue {
    fn from(flag: bool) -> Self {
        TestValue::Bool(flag)
    }
}

impl From<AttributeValue> for TestValue {
    fn from(value: AttributeValue) -> Self {
        match value {
            AttributeValue::Str(text) => TestValue::Str(text),
            AttributeValue::Int(number) => TestValue::Int(number),
            AttributeValue::Double(number) => TestValue::Double(number),
            AttributeValue::Boolean(flag) => TestValue::Bool(flag),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TestEvent {
    pub name: String,
    pub attributes: Vec<(String, TestValue)>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TestLink {
    pub attributes: Vec<(String, TestValue)>,
}

/// A span with everything a plugin could ask for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TestSpan {
    pub trace_id: u128,
    pub span_id: u64,
    /// 0 for a root span.
    pub parent_span_id: u64,
    pub service_name: String,
    pub name: String,
    pub kind: SpanKind,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub status: StatusCode,
    pub status_message: String,
    pub attributes: Vec<(String, TestValue)>,
    pub resource_attributes: Vec<(String, TestValue)>,
    pub events: Vec<TestEvent>,
    pub links: Vec<TestLink>,
}

fn owned_pairs<K: Into<String>, V: Into<TestValue>>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> Vec<(String, TestValue)> {
    pairs
        .into_iter()
        .map(|(key, value)| (key.into(), value.into()))
        .collect()
}

impl TestSpan {
    pub fn new(trace_id: u128, span_id: u64) -> Self {
        TestSpan {
            trace_id,
            span_id,
            ..TestSpan::default()
        }
    }

    pub fn service(mut self, service_name: &str) -> Self {
        self.service_name = service_name.to_owned();
        self
    }

    pub fn named(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }

    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = kind;
        self
    }

    pub fn times(mut self, start_unix_nanos: u64, end_unix_nanos: u64) -> Self {
        self.start_unix_nanos = start_unix_nanos;
        self.end_unix_nanos = end_unix_nanos;
        self
    }

    pub fn status(mut self, status: StatusCode, message: &str) -> Self {
        self.status = status;
        self.status_message = message.to_owned();
        self
    }

    pub fn parent(mut self, parent_span_id: u64) -> Self {
        self.parent_span_id = parent_span_id;
        self
    }

    pub fn attr(mut self, key: impl Into<String>, value: impl Into<TestValue>) -> Self {
        self.attributes.push((key.into(), value.into()));
        self
    }

    pub fn resource_attr(mut self, key: impl Into<String>, value: impl Into<TestValue>) -> Self {
        self.resource_attributes.push((key.into(), value.into()));
        self
    }

    /// Adds an event; `attributes` is any list of (key, value) pairs, e.g.
    /// `[("k", TestValue::from(1))]` or `Vec::<(String, TestValue)>::new()`.
    pub fn event<K: Into<String>, V: Into<TestValue>>(
        mut self,
        name: &str,
        attributes: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.events.push(TestEvent {
            name: name.to_owned(),
            attributes: owned_pairs(attributes),
        });
        self
    }

    pub fn link<K: Into<String>, V: Into<TestValue>>(
        mut self,
        attributes: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.links.push(TestLink {
            attributes: owned_pairs(attributes),
        });
        self
    }

    /// A deterministic stand-in for the host's encoded size (the host sends the span's
    /// protobuf size; tests only need it stable and growing with the content).
    pub fn estimated_size(&self) -> u32 {
        fn value_size(value: &TestValue) -> usize {
            match value {
                TestValue::Str(text) | TestValue::Json(text) => text.len() + 2,
                TestValue::Int(_) | TestValue::Double(_) => 9,
                TestValue::Bool(_) => 2,
            }
        }
        fn attributes_size(attributes: &[(String, TestValue)]) -> usize {
            attributes
                .iter()
                .map(|(key, value)| key.len() + value_size(value) + 4)
                .sum()
        }
        let fixed = 16 + 8 + 8 + 2 + 8 + 8 + 2 + 8;
        let events: usize = self
            .events
            .iter()
            .map(|event| 12 + event.name.len() + attributes_size(&event.attributes))
            .sum();
        let links: usize = self
            .links
            .iter()
            .map(|link| 28 + attributes_size(&link.attributes))
            .sum();
        let total = fixed
            + self.name.len()
            + self.status_message.len()
            + attributes_size(&self.attributes)
            + events
            + links;
        u32::try_from(total).unwrap_or(u32::MAX)
    }
}
