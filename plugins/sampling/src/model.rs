//! What the sampling logic reads of a span: the [`SpanLike`] trait, and [`Span`], an owned span
//! implementing it (for native callers and tests).
//!
//! Policies only ever read a span through [`SpanLike`], so the component glue implements it
//! directly on the SDK's borrowed batch view and nothing is copied per span. Only what a sampling
//! policy can look at is here: no events, links or scope.

/// A W3C trace id (16 bytes). Its rightmost 7 bytes are the randomness consistent sampling uses.
pub type TraceId = [u8; 16];

/// A span id (8 bytes).
pub type SpanId = [u8; 8];

/// An attribute value, reduced to the scalar kinds policies can match on.
///
/// Arrays, maps and bytes from OTLP are not represented: no policy matches them, so the glue may
/// skip them (or stringify them into `Str` if a future policy needs them).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Double(f64),
    Bool(bool),
}

impl Value {
    /// The borrowed form policies match on.
    pub fn as_value_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Str(text) => ValueRef::Str(text),
            Value::Int(int) => ValueRef::Int(*int),
            Value::Double(double) => ValueRef::Double(*double),
            Value::Bool(flag) => ValueRef::Bool(*flag),
        }
    }

    /// The value as a number, for numeric range matching; strings and booleans are not numbers.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_value_ref().as_f64()
    }

    /// The value as text, for string and regex matching; only `Str` values are text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(text) => Some(text),
            _ => None,
        }
    }
}

/// A borrowed attribute value, as policies match it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Str(&'a str),
    Int(i64),
    Double(f64),
    Bool(bool),
}

impl<'a> ValueRef<'a> {
    /// The value as a number, for numeric range matching; strings and booleans are not numbers.
    pub fn as_f64(self) -> Option<f64> {
        match self {
            ValueRef::Int(int) => Some(int as f64),
            ValueRef::Double(double) => Some(double),
            ValueRef::Str(_) | ValueRef::Bool(_) => None,
        }
    }

    /// The value as text, for string and regex matching; only `Str` values are text.
    pub fn as_str(self) -> Option<&'a str> {
        match self {
            ValueRef::Str(text) => Some(text),
            _ => None,
        }
    }
}

/// Read access to one span, all a tail policy looks at. Implemented by [`Span`] and, in the
/// component, by the SDK's span view.
pub trait SpanLike {
    fn status(&self) -> StatusCode;
    /// Start time, unix epoch nanoseconds.
    fn start_unix_nanos(&self) -> u64;
    /// End time, unix epoch nanoseconds.
    fn end_unix_nanos(&self) -> u64;
    /// The span attribute named `key`, if any (first occurrence). Values policies cannot match
    /// (arrays, maps, bytes) may be reported as absent.
    fn attribute(&self, key: &str) -> Option<ValueRef<'_>>;
    /// The resource attribute named `key`, if any.
    fn resource_attribute(&self, key: &str) -> Option<ValueRef<'_>>;
}

/// OTLP span kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SpanKind {
    #[default]
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

/// OTLP status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum StatusCode {
    #[default]
    Unset,
    Ok,
    Error,
}

/// One span as the sampler sees it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Span {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// `None` for a root span.
    pub parent_span_id: Option<SpanId>,
    pub name: String,
    pub kind: SpanKind,
    pub status: StatusCode,
    /// Start time, unix epoch nanoseconds (as in OTLP).
    pub start_unix_nanos: u64,
    /// End time, unix epoch nanoseconds (as in OTLP).
    pub end_unix_nanos: u64,
    pub attributes: Vec<(String, Value)>,
    /// The attributes of the resource that emitted the span (e.g. `service.name`).
    pub resource_attributes: Vec<(String, Value)>,
}

impl SpanLike for Span {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn start_unix_nanos(&self) -> u64 {
        self.start_unix_nanos
    }

    fn end_unix_nanos(&self) -> u64 {
        self.end_unix_nanos
    }

    /// First occurrence, as OTLP keys are unique.
    fn attribute(&self, key: &str) -> Option<ValueRef<'_>> {
        lookup(&self.attributes, key).map(Value::as_value_ref)
    }

    fn resource_attribute(&self, key: &str) -> Option<ValueRef<'_>> {
        lookup(&self.resource_attributes, key).map(Value::as_value_ref)
    }
}

fn lookup<'a>(attributes: &'a [(String, Value)], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value)
}

/// A borrowed whole trace (all spans held for one trace id), what tail policies evaluate.
#[derive(Debug)]
pub struct TraceView<'a, S = Span> {
    pub trace_id: TraceId,
    pub spans: &'a [S],
}

impl<S> Clone for TraceView<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for TraceView<'_, S> {}

impl<S: SpanLike> TraceView<'_, S> {
    /// Trace duration: latest end minus earliest start, 0 for an empty trace or inverted times.
    ///
    /// Measured across spans rather than from the root span, because the root may not have
    /// arrived (or may never arrive) within `decision_wait`.
    pub fn duration_nanos(&self) -> u64 {
        let earliest_start = self.spans.iter().map(SpanLike::start_unix_nanos).min();
        let latest_end = self.spans.iter().map(SpanLike::end_unix_nanos).max();
        match (earliest_start, latest_end) {
            (Some(start), Some(end)) => end.saturating_sub(start),
            _ => 0,
        }
    }

    /// Whether any span has status `ERROR`.
    pub fn has_error(&self) -> bool {
        self.spans
            .iter()
            .any(|span| span.status() == StatusCode::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: u64, end: u64) -> Span {
        Span {
            start_unix_nanos: start,
            end_unix_nanos: end,
            ..Span::default()
        }
    }

    #[test]
    fn duration_spans_earliest_start_to_latest_end() {
        let spans = [span(100, 150), span(90, 120), span(130, 400)];
        let trace = TraceView {
            trace_id: [0; 16],
            spans: &spans,
        };
        assert_eq!(trace.duration_nanos(), 310);
    }

    #[test]
    fn duration_of_empty_or_inverted_is_zero() {
        assert_eq!(
            TraceView::<Span> {
                trace_id: [0; 16],
                spans: &[]
            }
            .duration_nanos(),
            0
        );
        let spans = [span(500, 100)];
        assert_eq!(
            TraceView {
                trace_id: [0; 16],
                spans: &spans
            }
            .duration_nanos(),
            0
        );
    }

    #[test]
    fn value_views() {
        assert_eq!(Value::Int(3).as_f64(), Some(3.0));
        assert_eq!(Value::Str("3".into()).as_f64(), None);
        assert_eq!(Value::Str("x".into()).as_str(), Some("x"));
        assert_eq!(Value::Bool(true).as_str(), None);
        assert_eq!(Value::Double(2.5).as_value_ref(), ValueRef::Double(2.5));
        assert_eq!(ValueRef::Bool(true).as_f64(), None);
    }

    #[test]
    fn span_like_reads_the_first_occurrence() {
        let span = Span {
            attributes: vec![("k".into(), Value::Int(1)), ("k".into(), Value::Int(2))],
            resource_attributes: vec![("service.name".into(), Value::Str("api".into()))],
            ..Span::default()
        };
        assert_eq!(span.attribute("k"), Some(ValueRef::Int(1)));
        assert_eq!(span.attribute("service.name"), None);
        assert_eq!(
            span.resource_attribute("service.name"),
            Some(ValueRef::Str("api"))
        );
    }
}
