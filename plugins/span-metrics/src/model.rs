//! What the metrics-generator reads of a span: the [`SpanSource`] trait, and
//! [`Span`], an owned span implementing it (native callers, tests).
//!
//! The processors only read spans through [`SpanSource`], so the component
//! glue implements it directly on the SDK's borrowed batch view and nothing is
//! copied per span. Only the fields the metrics-generator reads are present.

use std::borrow::Cow;
use std::fmt;

/// A 16-byte trace id. Rendered as 32 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TraceId(pub [u8; 16]);

/// An 8-byte span id. Rendered as 16 lower-case hex digits.
///
/// The all-zero id is invalid in OTLP and is used by this crate to mean
/// "no parent" (see [`Span::parent_span_id`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SpanId(pub [u8; 8]);

impl TraceId {
    /// Lower-case hex, always 32 characters (leading zeros kept).
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

impl SpanId {
    /// Lower-case hex, always 16 characters.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// True for the all-zero id, which OTLP uses for "absent".
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 8]
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({})", self.to_hex())
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({})", self.to_hex())
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0x0f) as usize] as char);
    }
    out
}

/// OTLP `Span.SpanKind`. The label value is the protobuf enum name, exactly as
/// Tempo writes it (`span.GetKind().String()` in
/// `modules/generator/processor/spanmetrics/spanmetrics.go`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SpanKind {
    #[default]
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    /// The `span_kind` label value, e.g. `SPAN_KIND_SERVER`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "SPAN_KIND_UNSPECIFIED",
            SpanKind::Internal => "SPAN_KIND_INTERNAL",
            SpanKind::Server => "SPAN_KIND_SERVER",
            SpanKind::Client => "SPAN_KIND_CLIENT",
            SpanKind::Producer => "SPAN_KIND_PRODUCER",
            SpanKind::Consumer => "SPAN_KIND_CONSUMER",
        }
    }

    /// From the OTLP wire value; unknown values map to `Unspecified`.
    pub fn from_otlp(v: i32) -> Self {
        match v {
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => SpanKind::Unspecified,
        }
    }
}

/// OTLP `Status.StatusCode`; the label value is the protobuf enum name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum StatusCode {
    #[default]
    Unset,
    Ok,
    Error,
}

impl StatusCode {
    /// The `status_code` label value, e.g. `STATUS_CODE_ERROR`.
    pub const fn as_str(self) -> &'static str {
        match self {
            StatusCode::Unset => "STATUS_CODE_UNSET",
            StatusCode::Ok => "STATUS_CODE_OK",
            StatusCode::Error => "STATUS_CODE_ERROR",
        }
    }

    /// From the OTLP wire value; unknown values map to `Unset`.
    pub fn from_otlp(v: i32) -> Self {
        match v {
            1 => StatusCode::Ok,
            2 => StatusCode::Error,
            _ => StatusCode::Unset,
        }
    }
}

/// An OTLP `AnyValue`.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    Str(String),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Vec<u8>),
    Array(Vec<AttrValue>),
    KvList(Vec<Attribute>),
}

impl AttrValue {
    /// The label value Tempo derives from an attribute, byte-for-byte as
    /// `StringifyAnyValue` in `pkg/util` (tempo): arrays are `[` + the
    /// concatenated elements + `]`, kv-lists `{` + `key:value`… + `}`, doubles
    /// in shortest non-exponent form, bytes (unhandled there) become `""`.
    pub fn stringify(&self) -> String {
        let mut out = String::new();
        self.stringify_into(&mut out);
        out
    }

    pub(crate) fn stringify_into(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            AttrValue::Str(s) => out.push_str(s),
            AttrValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            AttrValue::Int(i) => {
                let _ = write!(out, "{i}");
            }
            AttrValue::Double(d) => crate::render::write_go_float_f(out, *d),
            AttrValue::Bytes(_) => {}
            AttrValue::Array(items) => {
                out.push('[');
                for v in items {
                    v.stringify_into(out);
                }
                out.push(']');
            }
            AttrValue::KvList(kvs) => {
                out.push('{');
                for kv in kvs {
                    out.push_str(&kv.key);
                    out.push(':');
                    kv.value.stringify_into(out);
                }
                out.push('}');
            }
        }
    }

    /// The string slice when this is a string value (the common case), so
    /// lookups can avoid allocating.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl From<&str> for AttrValue {
    fn from(s: &str) -> Self {
        AttrValue::Str(s.to_owned())
    }
}

impl From<String> for AttrValue {
    fn from(s: String) -> Self {
        AttrValue::Str(s)
    }
}

impl From<i64> for AttrValue {
    fn from(i: i64) -> Self {
        AttrValue::Int(i)
    }
}

impl From<i32> for AttrValue {
    fn from(i: i32) -> Self {
        AttrValue::Int(i64::from(i))
    }
}

impl From<bool> for AttrValue {
    fn from(b: bool) -> Self {
        AttrValue::Bool(b)
    }
}

impl From<f64> for AttrValue {
    fn from(d: f64) -> Self {
        AttrValue::Double(d)
    }
}

impl AttrValue {
    /// The borrowed form the processors read.
    pub fn as_attr_ref(&self) -> AttrRef<'_> {
        match self {
            AttrValue::Str(s) => AttrRef::Str(s),
            AttrValue::Bool(b) => AttrRef::Bool(*b),
            AttrValue::Int(i) => AttrRef::Int(*i),
            AttrValue::Double(d) => AttrRef::Double(*d),
            other => AttrRef::Value(Cow::Borrowed(other)),
        }
    }
}

/// An attribute value as a [`SpanSource`] hands it out: scalars borrowed,
/// arrays, kv-lists and bytes as an [`AttrValue`] (borrowed, or built by the
/// source when its storage is not an `AttrValue`).
#[derive(Clone, Debug, PartialEq)]
pub enum AttrRef<'a> {
    Str(&'a str),
    Bool(bool),
    Int(i64),
    Double(f64),
    Value(Cow<'a, AttrValue>),
}

impl AttrRef<'_> {
    /// Tempo's label value for the attribute; see [`AttrValue::stringify`].
    pub fn stringify(&self) -> String {
        match self {
            AttrRef::Str(s) => (*s).to_owned(),
            other => {
                let mut out = String::new();
                other.stringify_into(&mut out);
                out
            }
        }
    }

    pub(crate) fn stringify_into(&self, out: &mut String) {
        match self {
            AttrRef::Str(s) => out.push_str(s),
            AttrRef::Bool(b) => AttrValue::Bool(*b).stringify_into(out),
            AttrRef::Int(i) => AttrValue::Int(*i).stringify_into(out),
            AttrRef::Double(d) => AttrValue::Double(*d).stringify_into(out),
            AttrRef::Value(v) => v.stringify_into(out),
        }
    }
}

/// One key/value attribute. A list (not a map) because OTLP attributes are a
/// list and Tempo takes the *first* matching key.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub key: String,
    pub value: AttrValue,
}

impl Attribute {
    pub fn new(key: impl Into<String>, value: impl Into<AttrValue>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// First value for `key` in `attrs`.
pub fn find_attr<'a>(attrs: &'a [Attribute], key: &str) -> Option<&'a AttrValue> {
    attrs.iter().find(|a| a.key == key).map(|a| &a.value)
}

/// The resource attribute naming the service (OTel semantic conventions).
pub const SERVICE_NAME: &str = "service.name";

/// A span as the metrics-generator sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Span {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// `None` (or the all-zero id) for a root span.
    pub parent_span_id: Option<SpanId>,
    pub name: String,
    pub kind: SpanKind,
    pub status_code: StatusCode,
    pub status_message: String,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub attributes: Vec<Attribute>,
    /// Attributes of the span's resource; `service.name` lives here.
    pub resource: Vec<Attribute>,
    /// Size in bytes of the span as encoded on the wire (OTLP protobuf), which
    /// is what Tempo adds to `traces_spanmetrics_size_total` (`span.Size()`).
    /// Passed in by the caller because only it has the encoding.
    pub encoded_size: u64,
}

/// Read access to one span: everything span metrics and service graphs look
/// at. Implemented by [`Span`] and, in the component, by the SDK's span view.
pub trait SpanSource {
    fn trace_id(&self) -> TraceId;
    fn span_id(&self) -> SpanId;
    /// The parent id; `None` for a root span (the all-zero id included, as
    /// OTLP uses it for "absent").
    fn parent(&self) -> Option<SpanId>;
    fn name(&self) -> &str;
    fn kind(&self) -> SpanKind;
    fn status_code(&self) -> StatusCode;
    fn status_message(&self) -> &str;
    fn start_unix_nanos(&self) -> u64;
    fn end_unix_nanos(&self) -> u64;
    /// Size in bytes of the span as encoded on the wire.
    fn encoded_size(&self) -> u64;
    /// The resource's `service.name`; `None` when the resource has none.
    fn service_name(&self) -> Option<AttrRef<'_>>;
    /// First resource attribute named `key`.
    fn resource_attribute(&self, key: &str) -> Option<AttrRef<'_>>;
    /// First span attribute named `key`.
    fn span_attribute(&self, key: &str) -> Option<AttrRef<'_>>;

    /// Duration in seconds; zero when end is before start, as Tempo does
    /// ("Spans with negative latency are treated as zero").
    fn duration_seconds(&self) -> f64 {
        let (start, end) = (self.start_unix_nanos(), self.end_unix_nanos());
        if end > start {
            (end - start) as f64 / 1e9
        } else {
            0.0
        }
    }
}

impl SpanSource for Span {
    fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    fn span_id(&self) -> SpanId {
        self.span_id
    }

    fn parent(&self) -> Option<SpanId> {
        self.parent_span_id.filter(|p| !p.is_zero())
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> SpanKind {
        self.kind
    }

    fn status_code(&self) -> StatusCode {
        self.status_code
    }

    fn status_message(&self) -> &str {
        &self.status_message
    }

    fn start_unix_nanos(&self) -> u64 {
        self.start_unix_nanos
    }

    fn end_unix_nanos(&self) -> u64 {
        self.end_unix_nanos
    }

    fn encoded_size(&self) -> u64 {
        self.encoded_size
    }

    fn service_name(&self) -> Option<AttrRef<'_>> {
        self.resource_attribute(SERVICE_NAME)
    }

    fn resource_attribute(&self, key: &str) -> Option<AttrRef<'_>> {
        find_attr(&self.resource, key).map(AttrValue::as_attr_ref)
    }

    fn span_attribute(&self, key: &str) -> Option<AttrRef<'_>> {
        find_attr(&self.attributes, key).map(AttrValue::as_attr_ref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_render_as_full_lower_hex() {
        let t = TraceId([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0x01]);
        assert_eq!(t.to_hex(), "0000000000000000000000000000ab01");
        assert_eq!(
            SpanId([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3]).to_hex(),
            "deadbeef00010203"
        );
    }

    #[test]
    fn enum_names_match_otlp_protobuf() {
        assert_eq!(SpanKind::from_otlp(2).as_str(), "SPAN_KIND_SERVER");
        assert_eq!(SpanKind::from_otlp(99).as_str(), "SPAN_KIND_UNSPECIFIED");
        assert_eq!(StatusCode::from_otlp(2).as_str(), "STATUS_CODE_ERROR");
        assert_eq!(StatusCode::from_otlp(0).as_str(), "STATUS_CODE_UNSET");
    }

    #[test]
    fn stringify_matches_tempo() {
        assert_eq!(AttrValue::Int(-42).stringify(), "-42");
        assert_eq!(AttrValue::Bool(true).stringify(), "true");
        assert_eq!(AttrValue::Double(0.5).stringify(), "0.5");
        assert_eq!(
            AttrValue::Double(1e21).stringify(),
            "1000000000000000000000"
        );
        assert_eq!(AttrValue::Double(3.0).stringify(), "3");
        assert_eq!(
            AttrValue::Array(vec!["a".into(), AttrValue::Int(1)]).stringify(),
            "[a1]"
        );
        assert_eq!(
            AttrValue::KvList(vec![Attribute::new("k", "v"), Attribute::new("n", 2)]).stringify(),
            "{k:vn:2}"
        );
        assert_eq!(AttrValue::Bytes(vec![1, 2]).stringify(), "");
        for v in [
            AttrValue::Str("s".into()),
            AttrValue::Bool(false),
            AttrValue::Int(7),
            AttrValue::Double(0.25),
            AttrValue::Array(vec!["a".into(), AttrValue::Int(1)]),
        ] {
            assert_eq!(v.as_attr_ref().stringify(), v.stringify());
        }
    }

    #[test]
    fn duration_is_never_negative_and_zero_parent_is_root() {
        let s = Span {
            start_unix_nanos: 10,
            end_unix_nanos: 5,
            parent_span_id: Some(SpanId([0; 8])),
            ..Span::default()
        };
        assert_eq!(s.duration_seconds(), 0.0);
        assert_eq!(s.parent(), None);
        let named = Span {
            resource: vec![Attribute::new(SERVICE_NAME, "api")],
            attributes: vec![Attribute::new("k", 1)],
            ..Span::default()
        };
        assert_eq!(named.service_name(), Some(AttrRef::Str("api")));
        assert_eq!(named.span_attribute("k"), Some(AttrRef::Int(1)));
        assert_eq!(named.resource_attribute("k"), None);
    }
}
