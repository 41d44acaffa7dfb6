//! A small owned span model: the shape the redactor works on natively (tests, benches, hosts
//! that hold whole spans). The component glue does not build it per span: it reads the batch in
//! place and uses it only for arrays and maps that arrive as JSON text. It keeps only what
//! redaction reads or edits (names, status message, attributes of the span, its events, links
//! and resource) and mirrors OTLP's `AnyValue` for attribute values.

/// Attributes in wire order; keys may repeat, as they can on the wire.
pub type Attributes = Vec<(String, Value)>;

/// An attribute value, as OTLP's `AnyValue`.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A UTF-8 string.
    Str(String),
    /// A signed 64-bit integer.
    Int(i64),
    /// A double.
    Double(f64),
    /// A boolean.
    Bool(bool),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A list of values, possibly nested.
    Array(Vec<Value>),
    /// A nested key/value list.
    KvList(Attributes),
}

impl Value {
    /// The string, when this is a [`Value::Str`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(text) => Some(text),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::Str(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::Str(text)
    }
}

impl From<i64> for Value {
    fn from(number: i64) -> Self {
        Value::Int(number)
    }
}

impl From<f64> for Value {
    fn from(number: f64) -> Self {
        Value::Double(number)
    }
}

impl From<bool> for Value {
    fn from(flag: bool) -> Self {
        Value::Bool(flag)
    }
}

/// A span event (e.g. an exception with its message and stack trace in attributes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Event {
    /// The event name; not redacted (event names are fixed by instrumentation).
    pub name: String,
    /// The event attributes.
    pub attributes: Attributes,
}

/// A link to another span; only its attributes can carry user data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Link {
    /// The link attributes.
    pub attributes: Attributes,
}

/// A span with its resource, as far as redaction is concerned.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Span {
    /// The span name; value patterns apply (`GET /users/jane@example.com`).
    pub name: String,
    /// The status message; value patterns apply (error texts quote inputs).
    pub status_message: String,
    /// The span attributes.
    pub attributes: Attributes,
    /// The span events.
    pub events: Vec<Event>,
    /// The span links.
    pub links: Vec<Link>,
    /// The attributes of the resource that produced the span.
    pub resource_attributes: Attributes,
}

/// The first value under `key`, if any.
pub fn attribute<'a>(attributes: &'a Attributes, key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|(candidate, _)| candidate == key)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_and_lookup() {
        let attributes: Attributes = vec![
            ("a".into(), "x".into()),
            ("b".into(), 1i64.into()),
            ("c".into(), 1.5f64.into()),
            ("d".into(), true.into()),
        ];
        assert_eq!(
            attribute(&attributes, "a").and_then(Value::as_str),
            Some("x")
        );
        assert_eq!(attribute(&attributes, "b"), Some(&Value::Int(1)));
        assert_eq!(attribute(&attributes, "d").and_then(Value::as_str), None);
        assert_eq!(attribute(&attributes, "missing"), None);
    }
}
