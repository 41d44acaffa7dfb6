//! Tempo's JSON for traces: gogo `jsonpb` with default options over OTLP messages.
//! Fields appear in proto declaration order, default values are omitted, enums are
//! names, 64-bit integers are strings, `bytes` (ids) are standard base64, and a span
//! always has a `status` object. This is not OTLP/JSON (which uses hex ids).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::model::{
    AnyValue, InstrumentationScope, KeyValue, Resource, ResourceSpans, ScopeSpans, Span, Status,
    TracesData, any_value::Value, span,
};

/// `{"batches": [...]}` (v1) or `{"resourceSpans": [...]}` (inside v2's `trace`).
pub(super) struct TraceJson<'a> {
    pub data: &'a TracesData,
    pub resource_spans_key: &'static str,
}

impl Serialize for TraceJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if !self.data.resource_spans.is_empty() {
            let list: Vec<_> = self
                .data
                .resource_spans
                .iter()
                .map(ResourceSpansJson)
                .collect();
            map.serialize_entry(self.resource_spans_key, &list)?;
        }
        map.end()
    }
}

/// Writes `key: value` only when the value differs from its default, as jsonpb does.
fn entry_unless_default<M: SerializeMap, T: Serialize + Default + PartialEq>(
    map: &mut M,
    key: &'static str,
    value: T,
) -> Result<(), M::Error> {
    if value != T::default() {
        map.serialize_entry(key, &value)?;
    }
    Ok(())
}

/// Writes a 64-bit integer as a JSON string unless it is zero.
fn entry_u64<M: SerializeMap>(map: &mut M, key: &'static str, value: u64) -> Result<(), M::Error> {
    if value != 0 {
        map.serialize_entry(key, &value.to_string())?;
    }
    Ok(())
}

/// Writes bytes as base64 unless empty.
fn entry_bytes<M: SerializeMap>(
    map: &mut M,
    key: &'static str,
    value: &[u8],
) -> Result<(), M::Error> {
    if !value.is_empty() {
        map.serialize_entry(key, &BASE64.encode(value))?;
    }
    Ok(())
}

fn entry_attributes<M: SerializeMap>(
    map: &mut M,
    key: &'static str,
    attributes: &[KeyValue],
) -> Result<(), M::Error> {
    if !attributes.is_empty() {
        let list: Vec<_> = attributes.iter().map(KeyValueJson).collect();
        map.serialize_entry(key, &list)?;
    }
    Ok(())
}

struct ResourceSpansJson<'a>(&'a ResourceSpans);

impl Serialize for ResourceSpansJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(resource) = &self.0.resource {
            map.serialize_entry("resource", &ResourceJson(resource))?;
        }
        if !self.0.scope_spans.is_empty() {
            let list: Vec<_> = self.0.scope_spans.iter().map(ScopeSpansJson).collect();
            map.serialize_entry("scopeSpans", &list)?;
        }
        entry_unless_default(&mut map, "schemaUrl", self.0.schema_url.as_str())?;
        map.end()
    }
}

struct ResourceJson<'a>(&'a Resource);

impl Serialize for ResourceJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        entry_attributes(&mut map, "attributes", &self.0.attributes)?;
        entry_unless_default(
            &mut map,
            "droppedAttributesCount",
            self.0.dropped_attributes_count,
        )?;
        map.end()
    }
}

struct ScopeSpansJson<'a>(&'a ScopeSpans);

impl Serialize for ScopeSpansJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(scope) = &self.0.scope {
            map.serialize_entry("scope", &ScopeJson(scope))?;
        }
        if !self.0.spans.is_empty() {
            let list: Vec<_> = self.0.spans.iter().map(SpanJson).collect();
            map.serialize_entry("spans", &list)?;
        }
        entry_unless_default(&mut map, "schemaUrl", self.0.schema_url.as_str())?;
        map.end()
    }
}

struct ScopeJson<'a>(&'a InstrumentationScope);

impl Serialize for ScopeJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        entry_unless_default(&mut map, "name", self.0.name.as_str())?;
        entry_unless_default(&mut map, "version", self.0.version.as_str())?;
        entry_attributes(&mut map, "attributes", &self.0.attributes)?;
        entry_unless_default(
            &mut map,
            "droppedAttributesCount",
            self.0.dropped_attributes_count,
        )?;
        map.end()
    }
}

struct SpanJson<'a>(&'a Span);

impl Serialize for SpanJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let span = self.0;
        let mut map = serializer.serialize_map(None)?;
        entry_bytes(&mut map, "traceId", &span.trace_id)?;
        entry_bytes(&mut map, "spanId", &span.span_id)?;
        entry_unless_default(&mut map, "traceState", span.trace_state.as_str())?;
        entry_bytes(&mut map, "parentSpanId", &span.parent_span_id)?;
        entry_unless_default(&mut map, "flags", span.flags)?;
        entry_unless_default(&mut map, "name", span.name.as_str())?;
        if span.kind != 0 {
            map.serialize_entry("kind", &EnumJson(span.kind, span_kind_name(span.kind)))?;
        }
        entry_u64(&mut map, "startTimeUnixNano", span.start_time_unix_nano)?;
        entry_u64(&mut map, "endTimeUnixNano", span.end_time_unix_nano)?;
        entry_attributes(&mut map, "attributes", &span.attributes)?;
        entry_unless_default(
            &mut map,
            "droppedAttributesCount",
            span.dropped_attributes_count,
        )?;
        if !span.events.is_empty() {
            let list: Vec<_> = span.events.iter().map(EventJson).collect();
            map.serialize_entry("events", &list)?;
        }
        entry_unless_default(&mut map, "droppedEventsCount", span.dropped_events_count)?;
        if !span.links.is_empty() {
            let list: Vec<_> = span.links.iter().map(LinkJson).collect();
            map.serialize_entry("links", &list)?;
        }
        entry_unless_default(&mut map, "droppedLinksCount", span.dropped_links_count)?;
        let unset = Status::default();
        map.serialize_entry(
            "status",
            &StatusJson(span.status.as_ref().unwrap_or(&unset)),
        )?;
        map.end()
    }
}

struct EventJson<'a>(&'a span::Event);

impl Serialize for EventJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        entry_u64(&mut map, "timeUnixNano", self.0.time_unix_nano)?;
        entry_unless_default(&mut map, "name", self.0.name.as_str())?;
        entry_attributes(&mut map, "attributes", &self.0.attributes)?;
        entry_unless_default(
            &mut map,
            "droppedAttributesCount",
            self.0.dropped_attributes_count,
        )?;
        map.end()
    }
}

struct LinkJson<'a>(&'a span::Link);

impl Serialize for LinkJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let link = self.0;
        let mut map = serializer.serialize_map(None)?;
        entry_bytes(&mut map, "traceId", &link.trace_id)?;
        entry_bytes(&mut map, "spanId", &link.span_id)?;
        entry_unless_default(&mut map, "traceState", link.trace_state.as_str())?;
        entry_attributes(&mut map, "attributes", &link.attributes)?;
        entry_unless_default(
            &mut map,
            "droppedAttributesCount",
            link.dropped_attributes_count,
        )?;
        entry_unless_default(&mut map, "flags", link.flags)?;
        map.end()
    }
}

struct StatusJson<'a>(&'a Status);

impl Serialize for StatusJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        entry_unless_default(&mut map, "message", self.0.message.as_str())?;
        if self.0.code != 0 {
            map.serialize_entry(
                "code",
                &EnumJson(self.0.code, status_code_name(self.0.code)),
            )?;
        }
        map.end()
    }
}

/// An enum by name, or by number when the value is unknown (as jsonpb writes it).
struct EnumJson(i32, Option<&'static str>);

impl Serialize for EnumJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.1 {
            Some(name) => serializer.serialize_str(name),
            None => serializer.serialize_i32(self.0),
        }
    }
}

fn span_kind_name(kind: i32) -> Option<&'static str> {
    Some(match kind {
        0 => "SPAN_KIND_UNSPECIFIED",
        1 => "SPAN_KIND_INTERNAL",
        2 => "SPAN_KIND_SERVER",
        3 => "SPAN_KIND_CLIENT",
        4 => "SPAN_KIND_PRODUCER",
        5 => "SPAN_KIND_CONSUMER",
        _ => return None,
    })
}

fn status_code_name(code: i32) -> Option<&'static str> {
    Some(match code {
        0 => "STATUS_CODE_UNSET",
        1 => "STATUS_CODE_OK",
        2 => "STATUS_CODE_ERROR",
        _ => return None,
    })
}

/// A `KeyValue` in Tempo's JSON (also used by the search answers, `tempopb::json`).
pub(super) struct KeyValueJson<'a>(pub(super) &'a KeyValue);

impl Serialize for KeyValueJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        entry_unless_default(&mut map, "key", self.0.key.as_str())?;
        if let Some(value) = &self.0.value {
            map.serialize_entry("value", &AnyValueJson(value))?;
        }
        map.end()
    }
}

pub(super) struct AnyValueJson<'a>(pub(super) &'a AnyValue);

impl Serialize for AnyValueJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        // A oneof member is written even when it holds its type's default value.
        match &self.0.value {
            None => {}
            Some(Value::StringValue(text)) => map.serialize_entry("stringValue", text)?,
            Some(Value::BoolValue(flag)) => map.serialize_entry("boolValue", flag)?,
            Some(Value::IntValue(number)) => {
                map.serialize_entry("intValue", &number.to_string())?
            }
            Some(Value::DoubleValue(number)) => {
                map.serialize_entry("doubleValue", &DoubleJson(*number))?
            }
            Some(Value::ArrayValue(array)) => {
                let values: Vec<_> = array.values.iter().map(AnyValueJson).collect();
                map.serialize_entry("arrayValue", &ValuesJson(&values))?
            }
            Some(Value::KvlistValue(list)) => {
                let values: Vec<_> = list.values.iter().map(KeyValueJson).collect();
                map.serialize_entry("kvlistValue", &ValuesJson(&values))?
            }
            Some(Value::BytesValue(bytes)) => {
                map.serialize_entry("bytesValue", &BASE64.encode(bytes))?
            }
            // A dictionary index, used by OTLP profiles only; kept as sent.
            Some(Value::StringValueStrindex(index)) => {
                map.serialize_entry("stringValueStrindex", index)?
            }
        }
        map.end()
    }
}

/// `{"values": [...]}`, with the list omitted when empty.
struct ValuesJson<'a, T>(&'a [T]);

impl<T: Serialize> Serialize for ValuesJson<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if !self.0.is_empty() {
            map.serialize_entry("values", self.0)?;
        }
        map.end()
    }
}

/// Doubles as jsonpb writes them: numbers, with NaN and infinities as strings.
pub(super) struct DoubleJson(pub(super) f64);

impl Serialize for DoubleJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value = self.0;
        if value.is_nan() {
            serializer.serialize_str("NaN")
        } else if value == f64::INFINITY {
            serializer.serialize_str("Infinity")
        } else if value == f64::NEG_INFINITY {
            serializer.serialize_str("-Infinity")
        } else {
            serializer.serialize_f64(value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ArrayValue, KeyValueList};
    use serde_json::json;

    fn value_json(value: Value) -> serde_json::Value {
        serde_json::to_value(AnyValueJson(&AnyValue { value: Some(value) })).unwrap()
    }

    #[test]
    fn any_values_follow_jsonpb() {
        assert_eq!(value_json(Value::IntValue(-42)), json!({"intValue": "-42"}));
        assert_eq!(
            value_json(Value::BoolValue(false)),
            json!({"boolValue": false})
        );
        assert_eq!(
            value_json(Value::DoubleValue(0.5)),
            json!({"doubleValue": 0.5})
        );
        assert_eq!(
            value_json(Value::DoubleValue(f64::NAN)),
            json!({"doubleValue": "NaN"})
        );
        assert_eq!(
            value_json(Value::BytesValue(vec![0xff, 0x00])),
            json!({"bytesValue": "/wA="})
        );
        assert_eq!(
            value_json(Value::ArrayValue(ArrayValue {
                values: vec![AnyValue {
                    value: Some(Value::StringValue("a".into()))
                }]
            })),
            json!({"arrayValue": {"values": [{"stringValue": "a"}]}})
        );
        assert_eq!(
            value_json(Value::KvlistValue(KeyValueList { values: vec![] })),
            json!({"kvlistValue": {}})
        );
    }

    #[test]
    fn span_fields_follow_tempo() {
        let span = Span {
            trace_id: vec![
                0x60, 0x7a, 0xb1, 0xaa, 0x84, 0x09, 0x1d, 0xde, 0x6e, 0x92, 0x61, 0xf4, 0xe2, 0xd5,
                0xbe, 0x04,
            ],
            span_id: vec![0xa8, 0xfb, 0x7b, 0x4e, 0x34, 0x52, 0x16, 0xc8],
            name: "SELECT orders".into(),
            kind: 3,
            start_time_unix_nano: 1_795_461_515_988_100_705,
            end_time_unix_nano: 1_795_461_515_993_428_626,
            status: Some(Status {
                message: "card declined".into(),
                code: 2,
            }),
            ..Default::default()
        };
        let text = serde_json::to_string(&SpanJson(&span)).unwrap();
        assert_eq!(
            text,
            r#"{"traceId":"YHqxqoQJHd5ukmH04tW+BA==","spanId":"qPt7TjRSFsg=","name":"SELECT orders","kind":"SPAN_KIND_CLIENT","startTimeUnixNano":"1795461515988100705","endTimeUnixNano":"1795461515993428626","status":{"message":"card declined","code":"STATUS_CODE_ERROR"}}"#
        );
        let unset = serde_json::to_value(SpanJson(&Span {
            kind: 9,
            ..Default::default()
        }))
        .unwrap();
        assert_eq!(unset, json!({"kind": 9, "status": {}}));
    }
}
