//! An independent decoder for Tempo's trace-by-id JSON (gogo jsonpb of `tempopb.Trace` /
//! `TraceByIDResponse`) into OTLP protobuf structs, plus checks of Tempo's JSON
//! conventions and a structural "shape" comparison with recorded Tempo answers.
//!
//! The decoder is strict, on purpose, about what Tempo writes and Grafana's parsers
//! expect: ids are standard base64, enums are names, 64-bit integers are strings,
//! 32-bit integers are numbers, and unknown keys are errors.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, TracesData, span::Event, span::Link,
};
use serde_json::{Map, Value};

pub type DecodeResult<T> = Result<T, String>;

/// The decoded v2 answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraceByIdJson {
    pub trace: TracesData,
    /// Whether the `trace` key was present.
    pub has_trace: bool,
    pub metrics: Option<Map<String, Value>>,
    /// `"PARTIAL"` or absent (COMPLETE is the default and omitted).
    pub status: Option<String>,
    pub message: String,
}

const SPAN_KINDS: &[(&str, i32)] = &[
    ("SPAN_KIND_UNSPECIFIED", 0),
    ("SPAN_KIND_INTERNAL", 1),
    ("SPAN_KIND_SERVER", 2),
    ("SPAN_KIND_CLIENT", 3),
    ("SPAN_KIND_PRODUCER", 4),
    ("SPAN_KIND_CONSUMER", 5),
];
const STATUS_CODES: &[(&str, i32)] = &[
    ("STATUS_CODE_UNSET", 0),
    ("STATUS_CODE_OK", 1),
    ("STATUS_CODE_ERROR", 2),
];

/// Keys whose values are 64-bit integers and therefore JSON strings.
const INT64_KEYS: &[&str] = &[
    "startTimeUnixNano",
    "endTimeUnixNano",
    "timeUnixNano",
    "intValue",
    "inspectedBytes",
];

/// `SPAN_KIND_SERVER` → 2, etc.
pub fn span_kind_from_name(name: &str) -> Option<i32> {
    SPAN_KINDS.iter().find(|(n, _)| *n == name).map(|(_, i)| *i)
}

/// `STATUS_CODE_ERROR` → 2, etc.
pub fn status_code_from_name(name: &str) -> Option<i32> {
    STATUS_CODES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, i)| *i)
}

// ---------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------

/// Decodes a v1 answer `{"batches":[...]}`.
pub fn decode_v1(v: &Value) -> DecodeResult<TracesData> {
    let m = object(v, "$")?;
    allow_keys(m, "$", &["batches"])?;
    let resource_spans = array_of(m, "batches", "$", decode_resource_spans)?;
    Ok(TracesData { resource_spans })
}

/// Decodes a v2 answer `{"trace":{"resourceSpans":[...]},"metrics":{...},"status":..,"message":..}`.
pub fn decode_v2(v: &Value) -> DecodeResult<TraceByIdJson> {
    let m = object(v, "$")?;
    allow_keys(m, "$", &["trace", "metrics", "status", "message"])?;
    let mut out = TraceByIdJson::default();
    if let Some(trace) = m.get("trace") {
        out.has_trace = true;
        let t = object(trace, "$.trace")?;
        allow_keys(t, "$.trace", &["resourceSpans"])?;
        out.trace.resource_spans = array_of(t, "resourceSpans", "$.trace", decode_resource_spans)?;
    }
    if let Some(metrics) = m.get("metrics") {
        let mm = object(metrics, "$.metrics")?;
        for (k, val) in mm {
            if k == "inspectedBytes" {
                uint64_string(val, "$.metrics.inspectedBytes")?;
            }
        }
        out.metrics = Some(mm.clone());
    }
    if let Some(status) = m.get("status") {
        let s = status
            .as_str()
            .ok_or_else(|| format!("$.status: expected an enum name string, got {status}"))?;
        if s != "PARTIAL" {
            return Err(format!(
                "$.status: only \"PARTIAL\" may appear (COMPLETE is the default and omitted), got {s:?}"
            ));
        }
        out.status = Some(s.to_owned());
    }
    out.message = string_field(m, "message", "$")?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------

fn decode_resource_spans(v: &Value, path: &str) -> DecodeResult<ResourceSpans> {
    let m = object(v, path)?;
    allow_keys(m, path, &["resource", "scopeSpans", "schemaUrl"])?;
    Ok(ResourceSpans {
        resource: optional(m, "resource", path, decode_resource)?,
        scope_spans: array_of(m, "scopeSpans", path, decode_scope_spans)?,
        schema_url: string_field(m, "schemaUrl", path)?,
    })
}

fn decode_resource(v: &Value, path: &str) -> DecodeResult<Resource> {
    let m = object(v, path)?;
    allow_keys(m, path, &["attributes", "droppedAttributesCount"])?;
    Ok(Resource {
        attributes: array_of(m, "attributes", path, decode_key_value)?,
        dropped_attributes_count: u32_field(m, "droppedAttributesCount", path)?,
        entity_refs: vec![],
    })
}

fn decode_scope_spans(v: &Value, path: &str) -> DecodeResult<ScopeSpans> {
    let m = object(v, path)?;
    allow_keys(m, path, &["scope", "spans", "schemaUrl"])?;
    Ok(ScopeSpans {
        scope: optional(m, "scope", path, decode_scope)?,
        spans: array_of(m, "spans", path, decode_span)?,
        schema_url: string_field(m, "schemaUrl", path)?,
    })
}

fn decode_scope(v: &Value, path: &str) -> DecodeResult<InstrumentationScope> {
    let m = object(v, path)?;
    allow_keys(
        m,
        path,
        &["name", "version", "attributes", "droppedAttributesCount"],
    )?;
    Ok(InstrumentationScope {
        name: string_field(m, "name", path)?,
        version: string_field(m, "version", path)?,
        attributes: array_of(m, "attributes", path, decode_key_value)?,
        dropped_attributes_count: u32_field(m, "droppedAttributesCount", path)?,
    })
}

fn decode_span(v: &Value, path: &str) -> DecodeResult<Span> {
    let m = object(v, path)?;
    allow_keys(
        m,
        path,
        &[
            "traceId",
            "spanId",
            "traceState",
            "parentSpanId",
            "flags",
            "name",
            "kind",
            "startTimeUnixNano",
            "endTimeUnixNano",
            "attributes",
            "droppedAttributesCount",
            "events",
            "droppedEventsCount",
            "links",
            "droppedLinksCount",
            "status",
        ],
    )?;
    Ok(Span {
        trace_id: bytes_field(m, "traceId", path)?,
        span_id: bytes_field(m, "spanId", path)?,
        trace_state: string_field(m, "traceState", path)?,
        parent_span_id: bytes_field(m, "parentSpanId", path)?,
        flags: u32_field(m, "flags", path)?,
        name: string_field(m, "name", path)?,
        kind: enum_field(m, "kind", path, SPAN_KINDS)?,
        start_time_unix_nano: u64_field(m, "startTimeUnixNano", path)?,
        end_time_unix_nano: u64_field(m, "endTimeUnixNano", path)?,
        attributes: array_of(m, "attributes", path, decode_key_value)?,
        dropped_attributes_count: u32_field(m, "droppedAttributesCount", path)?,
        events: array_of(m, "events", path, decode_event)?,
        dropped_events_count: u32_field(m, "droppedEventsCount", path)?,
        links: array_of(m, "links", path, decode_link)?,
        dropped_links_count: u32_field(m, "droppedLinksCount", path)?,
        status: optional(m, "status", path, decode_status)?,
    })
}

fn decode_event(v: &Value, path: &str) -> DecodeResult<Event> {
    let m = object(v, path)?;
    allow_keys(
        m,
        path,
        &[
            "timeUnixNano",
            "name",
            "attributes",
            "droppedAttributesCount",
        ],
    )?;
    Ok(Event {
        time_unix_nano: u64_field(m, "timeUnixNano", path)?,
        name: string_field(m, "name", path)?,
        attributes: array_of(m, "attributes", path, decode_key_value)?,
        dropped_attributes_count: u32_field(m, "droppedAttributesCount", path)?,
    })
}

fn decode_link(v: &Value, path: &str) -> DecodeResult<Link> {
    let m = object(v, path)?;
    allow_keys(
        m,
        path,
        &[
            "traceId",
            "spanId",
            "traceState",
            "attributes",
            "droppedAttributesCount",
            "flags",
        ],
    )?;
    Ok(Link {
        trace_id: bytes_field(m, "traceId", path)?,
        span_id: bytes_field(m, "spanId", path)?,
        trace_state: string_field(m, "traceState", path)?,
        attributes: array_of(m, "attributes", path, decode_key_value)?,
        dropped_attributes_count: u32_field(m, "droppedAttributesCount", path)?,
        flags: u32_field(m, "flags", path)?,
    })
}

fn decode_status(v: &Value, path: &str) -> DecodeResult<Status> {
    let m = object(v, path)?;
    allow_keys(m, path, &["message", "code"])?;
    Ok(Status {
        message: string_field(m, "message", path)?,
        code: enum_field(m, "code", path, STATUS_CODES)?,
    })
}

fn decode_key_value(v: &Value, path: &str) -> DecodeResult<KeyValue> {
    let m = object(v, path)?;
    allow_keys(m, path, &["key", "value"])?;
    Ok(KeyValue {
        key: string_field(m, "key", path)?,
        value: optional(m, "value", path, decode_any_value)?,
        ..Default::default()
    })
}

fn decode_any_value(v: &Value, path: &str) -> DecodeResult<AnyValue> {
    use any_value::Value as V;
    let m = object(v, path)?;
    allow_keys(
        m,
        path,
        &[
            "stringValue",
            "boolValue",
            "intValue",
            "doubleValue",
            "arrayValue",
            "kvlistValue",
            "bytesValue",
        ],
    )?;
    if m.len() > 1 {
        return Err(format!(
            "{path}: more than one member of the oneof: {:?}",
            m.keys()
        ));
    }
    let Some((k, val)) = m.iter().next() else {
        return Ok(AnyValue { value: None });
    };
    let p = format!("{path}.{k}");
    let value = match k.as_str() {
        "stringValue" => V::StringValue(
            val.as_str()
                .ok_or_else(|| format!("{p}: expected a string, got {val}"))?
                .to_owned(),
        ),
        "boolValue" => V::BoolValue(
            val.as_bool()
                .ok_or_else(|| format!("{p}: expected a bool, got {val}"))?,
        ),
        "intValue" => V::IntValue(int64_string(val, &p)?),
        "doubleValue" => V::DoubleValue(double(val, &p)?),
        "bytesValue" => V::BytesValue(base64_string(val, &p)?),
        "arrayValue" => {
            let am = object(val, &p)?;
            allow_keys(am, &p, &["values"])?;
            V::ArrayValue(ArrayValue {
                values: array_of(am, "values", &p, decode_any_value)?,
            })
        }
        "kvlistValue" => {
            let km = object(val, &p)?;
            allow_keys(km, &p, &["values"])?;
            V::KvlistValue(KeyValueList {
                values: array_of(km, "values", &p, decode_key_value)?,
            })
        }
        _ => unreachable!("keys were checked"),
    };
    Ok(AnyValue { value: Some(value) })
}

// ---------------------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------------------

fn object<'a>(v: &'a Value, path: &str) -> DecodeResult<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| format!("{path}: expected an object, got {}", short(v)))
}

fn short(v: &Value) -> String {
    crate::clients::shorten(&v.to_string(), 200)
}

fn allow_keys(m: &Map<String, Value>, path: &str, allowed: &[&str]) -> DecodeResult<()> {
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(format!(
                "{path}: unexpected key {k:?} (allowed: {allowed:?})"
            ));
        }
    }
    Ok(())
}

fn optional<T>(
    m: &Map<String, Value>,
    key: &str,
    path: &str,
    f: fn(&Value, &str) -> DecodeResult<T>,
) -> DecodeResult<Option<T>> {
    m.get(key)
        .map(|v| f(v, &format!("{path}.{key}")))
        .transpose()
}

fn array_of<T>(
    m: &Map<String, Value>,
    key: &str,
    path: &str,
    f: fn(&Value, &str) -> DecodeResult<T>,
) -> DecodeResult<Vec<T>> {
    let Some(v) = m.get(key) else {
        return Ok(Vec::new());
    };
    let items = v
        .as_array()
        .ok_or_else(|| format!("{path}.{key}: expected an array, got {}", short(v)))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| f(item, &format!("{path}.{key}[{i}]")))
        .collect()
}

fn string_field(m: &Map<String, Value>, key: &str, path: &str) -> DecodeResult<String> {
    match m.get(key) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!(
            "{path}.{key}: expected a string, got {}",
            short(other)
        )),
    }
}

fn bytes_field(m: &Map<String, Value>, key: &str, path: &str) -> DecodeResult<Vec<u8>> {
    m.get(key)
        .map(|v| base64_string(v, &format!("{path}.{key}")))
        .transpose()
        .map(Option::unwrap_or_default)
}

fn base64_string(v: &Value, path: &str) -> DecodeResult<Vec<u8>> {
    let s = v
        .as_str()
        .ok_or_else(|| format!("{path}: expected a base64 string, got {}", short(v)))?;
    B64.decode(s).map_err(|e| {
        format!("{path}: {s:?} is not standard base64 (Tempo writes ids as base64, not hex): {e}")
    })
}

fn u32_field(m: &Map<String, Value>, key: &str, path: &str) -> DecodeResult<u32> {
    match m.get(key) {
        None => Ok(0),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| {
                format!(
                    "{path}.{key}: expected a uint32 JSON number, got {}",
                    short(v)
                )
            }),
    }
}

fn u64_field(m: &Map<String, Value>, key: &str, path: &str) -> DecodeResult<u64> {
    m.get(key)
        .map(|v| uint64_string(v, &format!("{path}.{key}")))
        .transpose()
        .map(Option::unwrap_or_default)
}

fn uint64_string(v: &Value, path: &str) -> DecodeResult<u64> {
    let s = v.as_str().ok_or_else(|| {
        format!(
            "{path}: 64-bit integers must be JSON strings, got {}",
            short(v)
        )
    })?;
    s.parse::<u64>()
        .map_err(|e| format!("{path}: {s:?} is not a uint64: {e}"))
}

fn int64_string(v: &Value, path: &str) -> DecodeResult<i64> {
    let s = v.as_str().ok_or_else(|| {
        format!(
            "{path}: 64-bit integers must be JSON strings, got {}",
            short(v)
        )
    })?;
    s.parse::<i64>()
        .map_err(|e| format!("{path}: {s:?} is not an int64: {e}"))
}

fn double(v: &Value, path: &str) -> DecodeResult<f64> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| format!("{path}: not a double: {n}")),
        Value::String(s) if s == "NaN" => Ok(f64::NAN),
        Value::String(s) if s == "Infinity" => Ok(f64::INFINITY),
        Value::String(s) if s == "-Infinity" => Ok(f64::NEG_INFINITY),
        other => Err(format!(
            "{path}: expected a JSON number, got {}",
            short(other)
        )),
    }
}

fn enum_field(
    m: &Map<String, Value>,
    key: &str,
    path: &str,
    names: &[(&str, i32)],
) -> DecodeResult<i32> {
    let Some(v) = m.get(key) else {
        return Ok(0);
    };
    let s = v.as_str().ok_or_else(|| {
        format!(
            "{path}.{key}: enums must be names like {:?}, got {}",
            names[1].0,
            short(v)
        )
    })?;
    names
        .iter()
        .find(|(n, _)| *n == s)
        .map(|(_, i)| *i)
        .ok_or_else(|| format!("{path}.{key}: unknown enum name {s:?}"))
}

// ---------------------------------------------------------------------------------------
// Conventions
// ---------------------------------------------------------------------------------------

/// Tempo's jsonpb conventions that the decoder does not already enforce: every span has a
/// `status` (an empty one is `{}`), and fields at their default value are omitted
/// (outside attribute values, where a oneof member is always written). Returns one line
/// per violation.
pub fn convention_violations(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(m) = v.as_object() {
        for (k, val) in m {
            // The v2 envelope: `"trace":{}` / `"metrics":{}` are Tempo's not-found shape.
            walk_conventions(val, &format!("$.{k}"), k, true, &mut out);
        }
    }
    out
}

fn walk_conventions(v: &Value, path: &str, key: &str, top: bool, out: &mut Vec<String>) {
    if key == "value" {
        return; // AnyValue: typed by the decoder; oneof members are never omitted.
    }
    let is_default = match v {
        Value::String(s) => {
            s.is_empty()
                || (INT64_KEYS.contains(&key) && s == "0")
                || (key == "kind" && s == "SPAN_KIND_UNSPECIFIED")
                || (key == "code" && s == "STATUS_CODE_UNSET")
        }
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Bool(b) => !b,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty() && key != "status" && !top,
        Value::Null => true,
    };
    if is_default {
        out.push(format!("{path}: default value {v} should be omitted"));
    }
    match v {
        Value::Object(o) => {
            for (k, val) in o {
                walk_conventions(val, &format!("{path}.{k}"), k, false, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                if key == "spans" && item.get("status").is_none() {
                    out.push(format!(
                        "{p}: span has no \"status\" (Tempo always writes it, `{{}}` when unset)"
                    ));
                }
                walk_conventions(item, &p, key, false, out);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Shape
// ---------------------------------------------------------------------------------------

/// The structure of a JSON value with the values left out: object keys, and JSON types
/// of leaves. Arrays are sorted by the element's `"key"` or `"name"` so that the order of
/// attributes or spans does not matter.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shape {
    Null,
    Bool,
    Number,
    String,
    Array(Vec<(String, Shape)>),
    Object(BTreeMap<String, Shape>),
}

fn sort_label(v: &Value) -> String {
    for k in ["key", "name"] {
        if let Some(s) = v.get(k).and_then(Value::as_str) {
            return format!("{k}={s}");
        }
    }
    String::new()
}

pub fn shape(v: &Value) -> Shape {
    match v {
        Value::Null => Shape::Null,
        Value::Bool(_) => Shape::Bool,
        Value::Number(_) => Shape::Number,
        Value::String(_) => Shape::String,
        Value::Array(items) => {
            let mut elems: Vec<(String, Shape)> =
                items.iter().map(|i| (sort_label(i), shape(i))).collect();
            elems.sort();
            Shape::Array(elems)
        }
        Value::Object(m) => Shape::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
    }
}

fn kind(s: &Shape) -> &'static str {
    match s {
        Shape::Null => "null",
        Shape::Bool => "bool",
        Shape::Number => "number",
        Shape::String => "string",
        Shape::Array(_) => "array",
        Shape::Object(_) => "object",
    }
}

/// Every structural difference between a reference and an actual JSON value: key sets
/// at every object level, JSON types, and array lengths. Array elements are paired after
/// sorting by their `key`/`name` label (labels themselves may differ, e.g. span names).
pub fn shape_differences(reference: &Value, actual: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff_shapes(&shape(reference), &shape(actual), "$", &mut out);
    out
}

fn diff_shapes(r: &Shape, a: &Shape, path: &str, out: &mut Vec<String>) {
    match (r, a) {
        (Shape::Object(rm), Shape::Object(am)) => {
            let missing: Vec<_> = rm.keys().filter(|k| !am.contains_key(*k)).collect();
            let extra: Vec<_> = am.keys().filter(|k| !rm.contains_key(*k)).collect();
            if !missing.is_empty() || !extra.is_empty() {
                out.push(format!(
                    "{path}: keys differ; missing {missing:?}, unexpected {extra:?}"
                ));
            }
            for (k, rv) in rm {
                if let Some(av) = am.get(k) {
                    diff_shapes(rv, av, &format!("{path}.{k}"), out);
                }
            }
        }
        (Shape::Array(ri), Shape::Array(ai)) => {
            if ri.len() != ai.len() {
                out.push(format!(
                    "{path}: array length differs; reference {} {:?}, actual {} {:?}",
                    ri.len(),
                    ri.iter().map(|(l, _)| l).collect::<Vec<_>>(),
                    ai.len(),
                    ai.iter().map(|(l, _)| l).collect::<Vec<_>>()
                ));
            }
            for (i, ((rl, rv), (al, av))) in ri.iter().zip(ai).enumerate() {
                let label = if rl == al || al.is_empty() {
                    rl.clone()
                } else {
                    format!("{rl}|{al}")
                };
                diff_shapes(rv, av, &format!("{path}[{i} {label}]"), out);
            }
        }
        _ if kind(r) != kind(a) => {
            out.push(format!(
                "{path}: reference has a JSON {}, actual a JSON {}",
                kind(r),
                kind(a)
            ));
        }
        _ => {}
    }
}
