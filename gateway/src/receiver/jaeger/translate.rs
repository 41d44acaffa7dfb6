//! Jaeger → OTLP, as the OpenTelemetry specification's Jaeger mapping describes it and
//! the OpenTelemetry Collector's Jaeger receiver does it (ARCHITECTURE.md, "Jaeger
//! receivers", has the table). One mapping for every transport.

use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

use super::attributes::{Attributes, as_str};
use super::model::{Batch, Log, Process, RefType, Span, SpanRef, Tag};
use crate::model::span::{Event, Link, SpanKind};
use crate::model::{
    ExportTraceServiceRequest, InstrumentationScope, Resource, ResourceSpans, ScopeSpans, Status,
    any_value::Value,
};

/// Jaeger's bit for a sampled span, and W3C's (the low byte of OTLP's span flags).
const JAEGER_SAMPLED: u32 = 0x1;
const W3C_SAMPLED: u32 = 0x1;
/// A service name the Collector writes when OTLP had none: no resource attributes.
const NO_SERVICE_NAME: &str = "OTLPResourceNoServiceName";

/// The OTLP request for `batch`: one `ResourceSpans` per distinct process (the batch's,
/// and any span's own), and in each one `ScopeSpans` per instrumentation scope.
pub(super) fn to_otlp(batch: Batch) -> ExportTraceServiceRequest {
    let mut groups: Vec<(Option<Process>, Vec<Span>)> = vec![(batch.process, Vec::new())];
    for mut span in batch.spans {
        if span.is_blank() {
            continue;
        }
        let process = span.process.take();
        let slot = match process {
            None => 0,
            Some(process) => match groups
                .iter()
                .position(|(p, _)| p.as_ref() == Some(&process))
            {
                Some(position) => position,
                None => {
                    groups.push((Some(process), Vec::new()));
                    groups.len() - 1
                }
            },
        };
        groups[slot].1.push(span);
    }
    let resource_spans = groups
        .into_iter()
        .filter(|(_, spans)| !spans.is_empty())
        .map(|(process, spans)| ResourceSpans {
            resource: Some(resource(process.as_ref())),
            scope_spans: scope_spans(spans),
            schema_url: String::new(),
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

/// `service.name` from the service name, then the process tags, with `hostname` renamed
/// `host.name` and `jaeger.version` turned into `opencensus.exporterversion`.
fn resource(process: Option<&Process>) -> Resource {
    let mut resource = Resource::default();
    let Some(process) = process else {
        return resource;
    };
    if process.service_name == NO_SERVICE_NAME {
        return resource;
    }
    let mut attributes = Attributes::default();
    if !process.service_name.is_empty() {
        attributes.put(
            "service.name",
            Value::StringValue(process.service_name.clone()),
        );
    }
    attributes.put_tags(&process.tags);
    if !attributes.contains("host.name")
        && let Some(hostname) = attributes.remove("hostname")
    {
        attributes.put("host.name", hostname);
    }
    if !attributes.contains("opencensus.exporterversion")
        && let Some(version) = attributes.remove("jaeger.version")
    {
        attributes.put(
            "opencensus.exporterversion",
            Value::StringValue(format!("Jaeger-{}", as_str(&version))),
        );
    }
    resource.attributes = attributes.into_list();
    resource
}

/// Groups spans by the scope their tags name, in the order the scopes first appear.
fn scope_spans(spans: Vec<Span>) -> Vec<ScopeSpans> {
    let mut out: Vec<ScopeSpans> = Vec::new();
    for mut span in spans {
        // No scope rather than an empty one, as OTLP clients send it.
        let scope = Some(take_scope(&mut span.tags))
            .filter(|scope| *scope != InstrumentationScope::default());
        let span = otlp_span(span);
        match out.iter_mut().find(|group| group.scope == scope) {
            Some(group) => group.spans.push(span),
            None => out.push(ScopeSpans {
                scope,
                spans: vec![span],
                schema_url: String::new(),
            }),
        }
    }
    out
}

/// The scope from `otel.scope.name`/`otel.scope.version`, or else from the deprecated
/// `otel.library.name`/`otel.library.version`; the tags read are removed (the first of
/// each key). A version is read only with a name.
fn take_scope(tags: &mut Vec<Tag>) -> InstrumentationScope {
    let mut scope = InstrumentationScope::default();
    for (name_key, version_key) in [
        ("otel.scope.name", "otel.scope.version"),
        ("otel.library.name", "otel.library.version"),
    ] {
        if let Some(name) = take_tag_str(tags, name_key) {
            scope.name = name;
            scope.version = take_tag_str(tags, version_key).unwrap_or_default();
            break;
        }
    }
    scope
}

fn take_tag_str(tags: &mut Vec<Tag>, key: &str) -> Option<String> {
    let position = tags.iter().position(|tag| tag.key == key)?;
    Some(match tags.remove(position).value {
        super::model::TagValue::String(text) => text,
        _ => String::new(),
    })
}

fn otlp_span(span: Span) -> crate::model::Span {
    let parent = parent_span_id(&span);
    let mut attributes = Attributes::from_tags(&span.tags);
    let mut kind = SpanKind::Unspecified;
    if let Some(value) = attributes.remove("span.kind") {
        kind = span_kind(as_str(&value));
    }
    let status = take_status(&mut attributes, kind);
    let trace_state = attributes
        .remove("w3c.tracestate")
        .map(|value| as_str(&value).to_owned())
        .unwrap_or_default();
    crate::model::Span {
        trace_id: trace_id(span.trace_id_high, span.trace_id_low),
        span_id: span.span_id.to_be_bytes().to_vec(),
        trace_state,
        parent_span_id: if parent == 0 {
            Vec::new()
        } else {
            parent.to_be_bytes().to_vec()
        },
        flags: if span.flags & JAEGER_SAMPLED != 0 {
            W3C_SAMPLED
        } else {
            0
        },
        name: span.operation_name,
        kind: kind as i32,
        start_time_unix_nano: span.start_unix_nano,
        end_time_unix_nano: span.end_unix_nano,
        attributes: attributes.into_list(),
        dropped_attributes_count: 0,
        events: span.logs.iter().map(event).collect(),
        dropped_events_count: 0,
        links: links(&span.references, parent),
        dropped_links_count: 0,
        status,
    }
}

fn trace_id(high: u64, low: u64) -> Vec<u8> {
    let mut id = Vec::with_capacity(16);
    id.extend_from_slice(&high.to_be_bytes());
    id.extend_from_slice(&low.to_be_bytes());
    id
}

/// Thrift's `parentSpanId` when set; otherwise the first `CHILD_OF` reference into the
/// same trace, or else the first `FOLLOWS_FROM` one (Jaeger's own rule); 0 for none.
fn parent_span_id(span: &Span) -> u64 {
    if span.parent_span_id != 0 {
        return span.parent_span_id;
    }
    let same_trace = |reference: &&SpanRef| {
        reference.trace_id_high == span.trace_id_high && reference.trace_id_low == span.trace_id_low
    };
    let first = |wanted: RefType| {
        span.references
            .iter()
            .filter(same_trace)
            .find(|reference| reference.ref_type == wanted)
            .map(|reference| reference.span_id)
    };
    first(RefType::ChildOf)
        .or_else(|| first(RefType::FollowsFrom))
        .unwrap_or(0)
}

/// Every reference but the `CHILD_OF` one to the parent becomes a link, with its type
/// in `opentracing.ref_type`.
fn links(references: &[SpanRef], parent: u64) -> Vec<Link> {
    references
        .iter()
        .filter(|reference| {
            !(reference.span_id == parent && reference.ref_type == RefType::ChildOf)
        })
        .map(|reference| {
            let ref_type = if reference.ref_type == RefType::ChildOf {
                "child_of"
            } else {
                "follows_from"
            };
            let mut attributes = Attributes::default();
            attributes.put(
                "opentracing.ref_type",
                Value::StringValue(ref_type.to_owned()),
            );
            Link {
                trace_id: trace_id(reference.trace_id_high, reference.trace_id_low),
                span_id: reference.span_id.to_be_bytes().to_vec(),
                attributes: attributes.into_list(),
                ..Link::default()
            }
        })
        .collect()
}

/// A log as an event: its fields as attributes, the `event` field as the name.
fn event(log: &Log) -> Event {
    let mut attributes = Attributes::from_tags(&log.fields);
    let name = attributes
        .remove("event")
        .map(|value| as_str(&value).to_owned())
        .unwrap_or_default();
    Event {
        time_unix_nano: log.timestamp_unix_nano,
        name,
        attributes: attributes.into_list(),
        dropped_attributes_count: 0,
    }
}

fn span_kind(value: &str) -> SpanKind {
    match value {
        "client" => SpanKind::Client,
        "server" => SpanKind::Server,
        "producer" => SpanKind::Producer,
        "consumer" => SpanKind::Consumer,
        "internal" => SpanKind::Internal,
        _ => SpanKind::Unspecified,
    }
}

/// The status from the tags: `error=true` (bool) is an error whatever else says;
/// otherwise `otel.status_code` (`OK`/`ERROR`, any case); otherwise `http.status_code`
/// (5xx, and 4xx unless the span is a server's, are errors). The message comes from
/// `otel.status_description`, or `http.status_message`. The tags that decided are
/// removed; `None` when nothing set a status.
fn take_status(attributes: &mut Attributes, kind: SpanKind) -> Option<Status> {
    let mut code = StatusCode::Unset;
    let mut message = String::new();
    let mut exists = false;
    if attributes.get("error") == Some(&Value::BoolValue(true)) {
        attributes.remove("error");
        code = StatusCode::Error;
        exists = true;
        if let Some(description) = attributes.remove("otel.status_description") {
            message = as_str(&description).to_owned();
        } else if let Some(http_message) = attributes.get_str("http.status_message") {
            message = http_message.to_owned();
        }
    }
    if let Some(value) = attributes.remove("otel.status_code") {
        if !exists {
            exists = true;
            code = match as_str(&value).to_ascii_uppercase().as_str() {
                "OK" => StatusCode::Ok,
                "ERROR" => StatusCode::Error,
                _ => StatusCode::Unset,
            };
            if let Some(description) = attributes.remove("otel.status_description") {
                message = as_str(&description).to_owned();
            }
        }
    } else if !exists && let Some(number) = attributes.get("http.status_code").and_then(http_code) {
        let from_http = http_status(number, kind);
        if from_http != StatusCode::Unset {
            exists = true;
            code = from_http;
        }
        if let Some(http_message) = attributes.get_str("http.status_message") {
            message = http_message.to_owned();
        }
    }
    exists.then_some(Status {
        message,
        code: code as i32,
    })
}

fn http_code(value: &Value) -> Option<i64> {
    match value {
        Value::IntValue(code) => Some(*code),
        Value::StringValue(text) => text.parse().ok(),
        _ => None,
    }
}

fn http_status(code: i64, kind: SpanKind) -> StatusCode {
    if (400..500).contains(&code) {
        match kind {
            SpanKind::Client => return StatusCode::Error,
            SpanKind::Server => return StatusCode::Unset,
            _ => {}
        }
    }
    if (100..399).contains(&code) {
        StatusCode::Unset
    } else {
        StatusCode::Error
    }
}

#[cfg(test)]
mod tests;
