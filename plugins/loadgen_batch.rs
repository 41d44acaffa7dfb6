//! The batch `gateway/benches/pipeline.rs` measures, as the SDK's test spans: the load
//! generator's `benchmark_request` (15 services, 64 traces of 8 spans), so the plugins' native benches and the in-gateway bench run on the very
//! same spans. Shared by the plugin crates' bench examples (`#[path]`); dev-only.

use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value::Value};
use opentelemetry_proto::tonic::trace::v1::Span;
use spangate_loadgen::generate::benchmark_request;
use spangate_plugin_sdk::testing::{TestEvent, TestLink, TestSpan, TestValue};
use spangate_plugin_sdk::{SpanKind, StatusCode};

/// 512 spans in resource order, as the host sees the request.
pub(crate) fn loadgen_batch() -> Vec<TestSpan> {
    let request = benchmark_request();
    let mut spans = Vec::new();
    for resource_spans in &request.resource_spans {
        let resource_attributes = resource_spans
            .resource
            .as_ref()
            .map(|resource| pairs(&resource.attributes))
            .unwrap_or_default();
        let service_name = resource_attributes
            .iter()
            .find_map(|(key, value)| match (key.as_str(), value) {
                ("service.name", TestValue::Str(name)) => Some(name.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for span in resource_spans.scope_spans.iter().flat_map(|s| &s.spans) {
            spans.push(test_span(span, &service_name, &resource_attributes));
        }
    }
    spans
}

fn test_span(span: &Span, service_name: &str, resource: &[(String, TestValue)]) -> TestSpan {
    let status = span.status.as_ref();
    TestSpan {
        trace_id: u128::from_be_bytes(span.trace_id.as_slice().try_into().expect("16-byte id")),
        span_id: u64::from_be_bytes(span.span_id.as_slice().try_into().expect("8-byte id")),
        parent_span_id: span
            .parent_span_id
            .as_slice()
            .try_into()
            .map_or(0, u64::from_be_bytes),
        service_name: service_name.to_owned(),
        name: span.name.clone(),
        kind: match span.kind {
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => SpanKind::Unspecified,
        },
        start_unix_nanos: span.start_time_unix_nano,
        end_unix_nanos: span.end_time_unix_nano,
        status: match status.map_or(0, |s| s.code) {
            1 => StatusCode::Ok,
            2 => StatusCode::Error,
            _ => StatusCode::Unset,
        },
        status_message: status.map(|s| s.message.clone()).unwrap_or_default(),
        attributes: pairs(&span.attributes),
        resource_attributes: resource.to_vec(),
        events: span
            .events
            .iter()
            .map(|event| TestEvent {
                name: event.name.clone(),
                attributes: pairs(&event.attributes),
            })
            .collect(),
        links: span
            .links
            .iter()
            .map(|link| TestLink {
                attributes: pairs(&link.attributes),
            })
            .collect(),
    }
}

fn pairs(attributes: &[KeyValue]) -> Vec<(String, TestValue)> {
    attributes
        .iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Value::StringValue(text)) => TestValue::Str(text.clone()),
                Some(Value::IntValue(number)) => TestValue::Int(*number),
                Some(Value::DoubleValue(number)) => TestValue::Double(*number),
                Some(Value::BoolValue(flag)) => TestValue::Bool(*flag),
                other => panic!("loadgen sends scalar attributes only, got {other:?}"),
            };
            (kv.key.clone(), value)
        })
        .collect()
}
