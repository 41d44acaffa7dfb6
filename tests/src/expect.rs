//! Expectations for traces produced by real SDKs (Rust, Python), whose timestamps and
//! SDK-added details are not known in advance: names, ids, parent/child structure,
//! kinds, attributes, events, links, status, `service.name` and scope are checked.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

use crate::compare::flatten;

#[derive(Clone, Debug, Default)]
pub struct ExpectedEvent {
    pub name: String,
    pub attributes: Vec<KeyValue>,
    /// `false`: `attributes` only need to be a subset of the actual ones.
    pub exact: bool,
}

#[derive(Clone, Debug, Default)]
pub struct ExpectedLink {
    pub trace_id: Vec<u8>,
    pub span_id: Vec<u8>,
    pub attributes: Vec<KeyValue>,
}

#[derive(Clone, Debug, Default)]
pub struct ExpectedSpan {
    pub name: String,
    pub span_id: Vec<u8>,
    /// Empty for a root span.
    pub parent_span_id: Vec<u8>,
    pub kind: i32,
    /// Compared exactly, ignoring order.
    pub attributes: Vec<KeyValue>,
    pub events: Vec<ExpectedEvent>,
    pub links: Vec<ExpectedLink>,
    pub status_code: i32,
    pub status_message: String,
}

/// What a whole trace should look like.
#[derive(Clone, Debug, Default)]
pub struct ExpectedTrace {
    pub trace_id: Vec<u8>,
    pub service_name: String,
    /// Resource attributes that must be present (a subset; SDKs add their own).
    pub resource_attributes: Vec<KeyValue>,
    /// Expected instrumentation scope `(name, version)`, if known.
    pub scope: Option<(String, String)>,
    pub spans: Vec<ExpectedSpan>,
}

fn sorted(attrs: &[KeyValue]) -> Vec<KeyValue> {
    let mut v = attrs.to_vec();
    v.sort_by(|a, b| a.key.cmp(&b.key));
    v
}

fn missing_from<'a>(wanted: &'a [KeyValue], actual: &[KeyValue]) -> Vec<&'a KeyValue> {
    wanted.iter().filter(|w| !actual.contains(w)).collect()
}

/// Every way in which `actual` (one trace as read back) differs from `expected`.
pub fn trace_differences(expected: &ExpectedTrace, actual: &[ResourceSpans]) -> Vec<String> {
    let mut out = Vec::new();
    let flat = flatten(actual);
    if flat.len() != expected.spans.len() {
        out.push(format!(
            "expected {} spans {:?}, got {}: {:?}",
            expected.spans.len(),
            expected.spans.iter().map(|s| &s.name).collect::<Vec<_>>(),
            flat.len(),
            flat.iter().map(|f| &f.span.name).collect::<Vec<_>>()
        ));
    }
    for e in &expected.spans {
        let Some(f) = flat.iter().find(|f| f.span.span_id == e.span_id) else {
            out.push(format!(
                "span {:?} ({}) is missing",
                e.name,
                hex::encode(&e.span_id)
            ));
            continue;
        };
        let s = &f.span;
        let who = format!("span {:?}", e.name);
        let mut check = |what: &str, ok: bool, detail: String| {
            if !ok {
                out.push(format!("{who}: {what} differs: {detail}"));
            }
        };
        check(
            "trace id",
            s.trace_id == expected.trace_id,
            format!(
                "{} vs {}",
                hex::encode(&s.trace_id),
                hex::encode(&expected.trace_id)
            ),
        );
        check("name", s.name == e.name, format!("got {:?}", s.name));
        check(
            "parent span id",
            s.parent_span_id == e.parent_span_id,
            format!(
                "expected {:?}, got {:?}",
                hex::encode(&e.parent_span_id),
                hex::encode(&s.parent_span_id)
            ),
        );
        check(
            "kind",
            s.kind == e.kind,
            format!("expected {}, got {}", e.kind, s.kind),
        );
        check(
            "attributes",
            sorted(&s.attributes) == sorted(&e.attributes),
            format!(
                "expected {:?}\n      got {:?}",
                sorted(&e.attributes),
                sorted(&s.attributes)
            ),
        );
        let status = s.status.clone().unwrap_or_default();
        check(
            "status",
            status.code == e.status_code && status.message == e.status_message,
            format!(
                "expected ({}, {:?}), got ({}, {:?})",
                e.status_code, e.status_message, status.code, status.message
            ),
        );
        check(
            "times",
            s.start_time_unix_nano > 0 && s.end_time_unix_nano >= s.start_time_unix_nano,
            format!(
                "start {} end {}",
                s.start_time_unix_nano, s.end_time_unix_nano
            ),
        );
        check(
            "event count",
            s.events.len() == e.events.len(),
            format!("got {:?}", s.events),
        );
        for ee in &e.events {
            match s.events.iter().find(|a| a.name == ee.name) {
                None => check(
                    "events",
                    false,
                    format!("no event {:?} in {:?}", ee.name, s.events),
                ),
                Some(a) if ee.exact => check(
                    &format!("event {:?} attributes", ee.name),
                    sorted(&a.attributes) == sorted(&ee.attributes),
                    format!("expected {:?}, got {:?}", ee.attributes, a.attributes),
                ),
                Some(a) => check(
                    &format!("event {:?} attributes", ee.name),
                    missing_from(&ee.attributes, &a.attributes).is_empty(),
                    format!(
                        "missing {:?} in {:?}",
                        missing_from(&ee.attributes, &a.attributes),
                        a.attributes
                    ),
                ),
            }
        }
        check(
            "link count",
            s.links.len() == e.links.len(),
            format!("got {:?}", s.links),
        );
        for el in &e.links {
            let found = s.links.iter().any(|a| {
                a.trace_id == el.trace_id
                    && a.span_id == el.span_id
                    && sorted(&a.attributes) == sorted(&el.attributes)
            });
            check(
                "links",
                found,
                format!(
                    "no link to {}/{} with {:?} in {:?}",
                    hex::encode(&el.trace_id),
                    hex::encode(&el.span_id),
                    el.attributes,
                    s.links
                ),
            );
        }
        let service = f
            .resource
            .attributes
            .iter()
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| kv.value.clone());
        check(
            "service.name",
            service == Some(str_value(&expected.service_name)),
            format!("expected {:?}, got {service:?}", expected.service_name),
        );
        let missing = missing_from(&expected.resource_attributes, &f.resource.attributes);
        check(
            "resource attributes",
            missing.is_empty(),
            format!("missing {missing:?} in {:?}", f.resource.attributes),
        );
        if let Some((name, version)) = &expected.scope {
            check(
                "scope",
                &f.scope.name == name && &f.scope.version == version,
                format!(
                    "expected {name:?} {version:?}, got {:?} {:?}",
                    f.scope.name, f.scope.version
                ),
            );
        }
    }
    out
}

fn str_value(s: &str) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(s.to_owned())),
    }
}

/// Converts a JSON value, as printed by an app, into an OTLP attribute value: strings,
/// bools, integers (`i64`), floats (`f64`), arrays and objects (as key-value lists).
pub fn any_value_from_json(v: &serde_json::Value) -> AnyValue {
    use serde_json::Value as J;
    let value = match v {
        J::String(s) => Value::StringValue(s.clone()),
        J::Bool(b) => Value::BoolValue(*b),
        J::Number(n) if n.is_i64() => Value::IntValue(n.as_i64().expect("i64")),
        J::Number(n) => Value::DoubleValue(n.as_f64().expect("f64")),
        J::Array(items) => Value::ArrayValue(opentelemetry_proto::tonic::common::v1::ArrayValue {
            values: items.iter().map(any_value_from_json).collect(),
        }),
        J::Object(m) => Value::KvlistValue(opentelemetry_proto::tonic::common::v1::KeyValueList {
            values: attributes_from_json(&J::Object(m.clone())),
        }),
        J::Null => return AnyValue { value: None },
    };
    AnyValue { value: Some(value) }
}

/// A JSON object `{key: value}` as OTLP attributes.
pub fn attributes_from_json(v: &serde_json::Value) -> Vec<KeyValue> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| KeyValue {
                    key: k.clone(),
                    value: Some(any_value_from_json(v)),
                    ..Default::default()
                })
                .collect()
        })
        .unwrap_or_default()
}
