//! A hand-written OTLP/JSON encoder (the OTLP/HTTP JSON flavour: hex ids, enums as
//! integers, lowerCamelCase keys), with switches for the encodings OTLP/JSON allows.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span::Event, span::Link,
};
use serde_json::{Map, Value, json};

/// Encoding choices that OTLP/JSON leaves open.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonStyle {
    /// `intValue` as a JSON number instead of a string.
    pub int64_as_number: bool,
    /// `startTimeUnixNano` etc. as JSON numbers instead of strings.
    pub uint64_as_number: bool,
    /// Write fields at their default value too (`"droppedAttributesCount":0`, `"traceState":""`, ...).
    pub explicit_defaults: bool,
}

struct Enc {
    style: JsonStyle,
}

impl Enc {
    fn put(&self, m: &mut Map<String, Value>, key: &str, v: Value, is_default: bool) {
        if !is_default || self.style.explicit_defaults {
            m.insert(key.to_owned(), v);
        }
    }
    fn put_str(&self, m: &mut Map<String, Value>, key: &str, s: &str) {
        self.put(m, key, json!(s), s.is_empty());
    }
    fn put_hex(&self, m: &mut Map<String, Value>, key: &str, b: &[u8]) {
        self.put(m, key, json!(hex::encode(b)), b.is_empty());
    }
    fn put_u32(&self, m: &mut Map<String, Value>, key: &str, n: u32) {
        self.put(m, key, json!(n), n == 0);
    }
    fn put_i32(&self, m: &mut Map<String, Value>, key: &str, n: i32) {
        self.put(m, key, json!(n), n == 0);
    }
    fn put_u64(&self, m: &mut Map<String, Value>, key: &str, n: u64) {
        let v = if self.style.uint64_as_number {
            json!(n)
        } else {
            json!(n.to_string())
        };
        self.put(m, key, v, n == 0);
    }
    fn put_list<T>(
        &self,
        m: &mut Map<String, Value>,
        key: &str,
        items: &[T],
        f: impl Fn(&T) -> Value,
    ) {
        self.put(
            m,
            key,
            Value::Array(items.iter().map(f).collect()),
            items.is_empty(),
        );
    }

    fn request(&self, r: &ExportTraceServiceRequest) -> Value {
        let mut m = Map::new();
        self.put_list(&mut m, "resourceSpans", &r.resource_spans, |rs| {
            self.resource_spans(rs)
        });
        Value::Object(m)
    }
    fn resource_spans(&self, rs: &ResourceSpans) -> Value {
        let mut m = Map::new();
        if let Some(r) = &rs.resource {
            m.insert("resource".into(), self.resource(r));
        }
        self.put_list(&mut m, "scopeSpans", &rs.scope_spans, |ss| {
            self.scope_spans(ss)
        });
        self.put_str(&mut m, "schemaUrl", &rs.schema_url);
        Value::Object(m)
    }
    fn resource(&self, r: &Resource) -> Value {
        let mut m = Map::new();
        self.put_list(&mut m, "attributes", &r.attributes, |kv| self.key_value(kv));
        self.put_u32(&mut m, "droppedAttributesCount", r.dropped_attributes_count);
        Value::Object(m)
    }
    fn scope_spans(&self, ss: &ScopeSpans) -> Value {
        let mut m = Map::new();
        if let Some(s) = &ss.scope {
            m.insert("scope".into(), self.scope(s));
        }
        self.put_list(&mut m, "spans", &ss.spans, |s| self.span(s));
        self.put_str(&mut m, "schemaUrl", &ss.schema_url);
        Value::Object(m)
    }
    fn scope(&self, s: &InstrumentationScope) -> Value {
        let mut m = Map::new();
        self.put_str(&mut m, "name", &s.name);
        self.put_str(&mut m, "version", &s.version);
        self.put_list(&mut m, "attributes", &s.attributes, |kv| self.key_value(kv));
        self.put_u32(&mut m, "droppedAttributesCount", s.dropped_attributes_count);
        Value::Object(m)
    }
    fn span(&self, s: &Span) -> Value {
        let mut m = Map::new();
        self.put_hex(&mut m, "traceId", &s.trace_id);
        self.put_hex(&mut m, "spanId", &s.span_id);
        self.put_str(&mut m, "traceState", &s.trace_state);
        self.put_hex(&mut m, "parentSpanId", &s.parent_span_id);
        self.put_u32(&mut m, "flags", s.flags);
        self.put_str(&mut m, "name", &s.name);
        self.put_i32(&mut m, "kind", s.kind);
        self.put_u64(&mut m, "startTimeUnixNano", s.start_time_unix_nano);
        self.put_u64(&mut m, "endTimeUnixNano", s.end_time_unix_nano);
        self.put_list(&mut m, "attributes", &s.attributes, |kv| self.key_value(kv));
        self.put_u32(&mut m, "droppedAttributesCount", s.dropped_attributes_count);
        self.put_list(&mut m, "events", &s.events, |e| self.event(e));
        self.put_u32(&mut m, "droppedEventsCount", s.dropped_events_count);
        self.put_list(&mut m, "links", &s.links, |l| self.link(l));
        self.put_u32(&mut m, "droppedLinksCount", s.dropped_links_count);
        if let Some(st) = &s.status {
            m.insert("status".into(), self.status(st));
        }
        Value::Object(m)
    }
    fn event(&self, e: &Event) -> Value {
        let mut m = Map::new();
        self.put_u64(&mut m, "timeUnixNano", e.time_unix_nano);
        self.put_str(&mut m, "name", &e.name);
        self.put_list(&mut m, "attributes", &e.attributes, |kv| self.key_value(kv));
        self.put_u32(&mut m, "droppedAttributesCount", e.dropped_attributes_count);
        Value::Object(m)
    }
    fn link(&self, l: &Link) -> Value {
        let mut m = Map::new();
        self.put_hex(&mut m, "traceId", &l.trace_id);
        self.put_hex(&mut m, "spanId", &l.span_id);
        self.put_str(&mut m, "traceState", &l.trace_state);
        self.put_list(&mut m, "attributes", &l.attributes, |kv| self.key_value(kv));
        self.put_u32(&mut m, "droppedAttributesCount", l.dropped_attributes_count);
        self.put_u32(&mut m, "flags", l.flags);
        Value::Object(m)
    }
    fn status(&self, s: &Status) -> Value {
        let mut m = Map::new();
        self.put_str(&mut m, "message", &s.message);
        self.put_i32(&mut m, "code", s.code);
        Value::Object(m)
    }
    fn key_value(&self, kv: &KeyValue) -> Value {
        let mut m = Map::new();
        m.insert("key".into(), json!(kv.key));
        if let Some(v) = &kv.value {
            m.insert("value".into(), self.any_value(v));
        }
        Value::Object(m)
    }
    fn any_value(&self, v: &AnyValue) -> Value {
        use any_value::Value as V;
        let (k, val) = match &v.value {
            None => return json!({}),
            Some(V::StringValue(s)) => ("stringValue", json!(s)),
            Some(V::BoolValue(b)) => ("boolValue", json!(b)),
            Some(V::IntValue(i)) if self.style.int64_as_number => ("intValue", json!(i)),
            Some(V::IntValue(i)) => ("intValue", json!(i.to_string())),
            Some(V::DoubleValue(d)) => ("doubleValue", json!(d)),
            Some(V::BytesValue(b)) => ("bytesValue", json!(B64.encode(b))),
            Some(V::ArrayValue(a)) => (
                "arrayValue",
                json!({ "values": a.values.iter().map(|x| self.any_value(x)).collect::<Vec<_>>() }),
            ),
            Some(V::KvlistValue(l)) => (
                "kvlistValue",
                json!({ "values": l.values.iter().map(|x| self.key_value(x)).collect::<Vec<_>>() }),
            ),
            Some(V::StringValueStrindex(i)) => ("stringValueStrindex", json!(i)),
        };
        let mut m = Map::new();
        m.insert(k.into(), val);
        Value::Object(m)
    }
}

/// Encodes a request as OTLP/JSON.
pub fn encode_request(request: &ExportTraceServiceRequest, style: JsonStyle) -> Value {
    Enc { style }.request(request)
}
