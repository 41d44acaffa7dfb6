//! Zipkin spans → an OTLP request, as the OpenTelemetry Collector's Zipkin v2 translator
//! maps them (the table in ARCHITECTURE.md, "Zipkin receiver"):
//!
//! - spans are grouped by local service name, then by scope name: one resource per
//!   service (`service.name`, plus the resource tags of the group's first span), one
//!   scope per name (`otel.scope.*`, else `otel.library.*`);
//! - ids as they are (a 64-bit trace id is zero-padded on the left), parent unless it is
//!   the span itself, kind by name, microseconds → nanoseconds, end = start + duration;
//! - the remaining tags are string attributes, then the endpoints: `net.host.ip` /
//!   `net.host.port` (local), `peer.service` / `net.peer.ip` / `net.peer.port` (remote);
//! - annotations → events; status, trace state, links and kind from their tags
//!   (`tags.rs`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::error::DecodeError;
use super::model::{Endpoint, Kind, ZipkinSpan};
use super::tags;
use crate::model::{
    AnyValue, ExportTraceServiceRequest, InstrumentationScope, KeyValue, Resource, ResourceSpans,
    ScopeSpans, Span, Status, any_value, span::Event,
};

/// The OTLP request for `spans`; fails only on a link tag that cannot be read.
pub(super) fn to_otlp(
    mut spans: Vec<ZipkinSpan>,
) -> Result<ExportTraceServiceRequest, DecodeError> {
    // Stable: spans of one service and scope keep their order.
    spans.sort_by(|a, b| {
        (service_name(a), tags::scope_name(&a.tags))
            .cmp(&(service_name(b), tags::scope_name(&b.tags)))
    });
    let mut resource_spans: Vec<ResourceSpans> = Vec::new();
    let mut current_service: Option<String> = None;
    let mut current_scope: Option<String> = None;
    for span in spans {
        let service = service_name(&span).to_owned();
        let scope = tags::scope_name(&span.tags).to_owned();
        let mut span_tags = span.tags.clone();
        if current_service.as_ref() != Some(&service) {
            resource_spans.push(ResourceSpans {
                resource: Some(resource(&mut span_tags, &service)),
                ..ResourceSpans::default()
            });
            current_service = Some(service);
            current_scope = None;
        }
        let Some(resource) = resource_spans.last_mut() else {
            continue;
        };
        if current_scope.as_ref() != Some(&scope) {
            resource.scope_spans.push(ScopeSpans {
                scope: (!scope.is_empty()).then(|| InstrumentationScope {
                    name: scope.clone(),
                    version: tags::scope_version(&span.tags).to_owned(),
                    ..InstrumentationScope::default()
                }),
                ..ScopeSpans::default()
            });
            current_scope = Some(scope);
        }
        if let Some(scope_spans) = resource.scope_spans.last_mut() {
            scope_spans.spans.push(otlp_span(span, span_tags)?);
        }
    }
    Ok(ExportTraceServiceRequest { resource_spans })
}

fn service_name(span: &ZipkinSpan) -> &str {
    span.local_endpoint
        .as_ref()
        .map(|endpoint| endpoint.service_name.as_str())
        .filter(|name| !name.is_empty())
        .unwrap_or(tags::NO_SERVICE_NAME)
}

/// The resource of a service, from the first span's tags (the resource tags it moves
/// there are removed from `span_tags`; later spans drop theirs).
fn resource(span_tags: &mut BTreeMap<String, String>, service: &str) -> Resource {
    if service == tags::NO_SERVICE_NAME {
        return Resource::default();
    }
    let mut attributes = BTreeMap::new();
    let name_key = span_tags
        .remove(tags::SERVICE_NAME_SOURCE)
        .filter(|key| !key.is_empty())
        .unwrap_or_else(|| tags::SERVICE_NAME.to_owned());
    attributes.insert(name_key, text(service.to_owned()));
    span_tags.retain(|key, value| {
        if tags::is_resource_key(key) {
            attributes.insert(key.clone(), text(std::mem::take(value)));
            false
        } else {
            true
        }
    });
    Resource {
        attributes: key_values(attributes),
        ..Resource::default()
    }
}

fn otlp_span(
    span: ZipkinSpan,
    mut span_tags: BTreeMap<String, String>,
) -> Result<Span, DecodeError> {
    let trace_state = span_tags.remove(tags::TRACE_STATE).unwrap_or_default();
    let kind = match span.kind {
        Some(kind) => otlp_kind(kind),
        // SPAN_KIND_INTERNAL from `span.kind: internal`, else unspecified.
        None => match span_tags.remove(tags::SPAN_KIND).as_deref() {
            Some("internal") => 1,
            _ => 0,
        },
    };
    let (code, message) = tags::take_status(&mut span_tags);
    let links = tags::take_links(&mut span_tags).map_err(|(tag, error)| DecodeError::Tag {
        span: hex::encode(span.id),
        tag,
        message: error.to_string(),
    })?;
    let mut attributes: BTreeMap<String, AnyValue> = span_tags
        .into_iter()
        .filter(|(key, _)| !tags::is_non_span_key(key))
        .map(|(key, value)| (key, text(value)))
        .collect();
    endpoint_attributes(
        &mut attributes,
        span.local_endpoint.as_ref(),
        span.remote_endpoint.as_ref(),
    );
    let start = span.timestamp_micros.saturating_mul(1000);
    Ok(Span {
        trace_id: span.trace_id.to_vec(),
        span_id: span.id.to_vec(),
        trace_state,
        parent_span_id: span
            .parent_id
            .filter(|parent| *parent != span.id)
            .map(|parent| parent.to_vec())
            .unwrap_or_default(),
        name: span.name,
        kind,
        start_time_unix_nano: start,
        end_time_unix_nano: start.saturating_add(span.duration_micros.saturating_mul(1000)),
        attributes: key_values(attributes),
        events: span
            .annotations
            .into_iter()
            .map(|annotation| {
                let (name, attributes, dropped_attributes_count) =
                    tags::event_parts(&annotation.value);
                Event {
                    time_unix_nano: annotation.timestamp_micros.saturating_mul(1000),
                    name,
                    attributes,
                    dropped_attributes_count,
                }
            })
            .collect(),
        links,
        status: Some(Status { message, code }),
        ..Span::default()
    })
}

/// OTLP's `SpanKind` number.
fn otlp_kind(kind: Kind) -> i32 {
    match kind {
        Kind::Server => 2,
        Kind::Client => 3,
        Kind::Producer => 4,
        Kind::Consumer => 5,
    }
}

/// The endpoints' addresses and ports (an IPv6 address wins over an IPv4 one), and the
/// remote service name; these replace tags of the same names.
fn endpoint_attributes(
    attributes: &mut BTreeMap<String, AnyValue>,
    local: Option<&Endpoint>,
    remote: Option<&Endpoint>,
) {
    let mut put = |key: &str, value: AnyValue| {
        attributes.insert(key.to_owned(), value);
    };
    if let Some(local) = local {
        if let Some(ip) = local.ipv6.or(local.ipv4) {
            put("net.host.ip", text(ip_text(ip)));
        }
        if local.port > 0 {
            put("net.host.port", int(local.port));
        }
    }
    if let Some(remote) = remote {
        if !remote.service_name.is_empty() {
            put("peer.service", text(remote.service_name.clone()));
        }
        if let Some(ip) = remote.ipv6.or(remote.ipv4) {
            put("net.peer.ip", text(ip_text(ip)));
        }
        if remote.port > 0 {
            put("net.peer.port", int(remote.port));
        }
    }
}

/// An address as Go prints it: an IPv4-mapped IPv6 address as IPv4.
fn ip_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

fn text(value: String) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(value)),
    }
}

fn int(value: i64) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::IntValue(value)),
    }
}

fn key_values(attributes: BTreeMap<String, AnyValue>) -> Vec<KeyValue> {
    attributes
        .into_iter()
        .map(|(key, value)| KeyValue {
            key,
            value: Some(value),
            ..KeyValue::default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receiver::zipkin::model::Annotation;

    fn span(id: u8, service: &str, pairs: &[(&str, &str)]) -> ZipkinSpan {
        ZipkinSpan {
            trace_id: [
                0, 0, 0, 0, 0, 0, 0, 0, 0x46, 0x3a, 0xc3, 0x5c, 0x9f, 0x64, 0x13, 0xad,
            ],
            id: [0, 0, 0, 0, 0, 0, 0, id],
            local_endpoint: (!service.is_empty()).then(|| Endpoint {
                service_name: service.to_owned(),
                ..Endpoint::default()
            }),
            tags: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..ZipkinSpan::default()
        }
    }

    fn attributes(key_values: &[KeyValue]) -> Vec<String> {
        key_values
            .iter()
            .map(
                |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(any_value::Value::StringValue(s)) => format!("{}={s}", kv.key),
                    Some(any_value::Value::IntValue(i)) => format!("{}={i}i", kv.key),
                    other => format!("{}={other:?}", kv.key),
                },
            )
            .collect()
    }

    #[test]
    fn one_resource_per_service_and_one_scope_per_name() {
        let request = to_otlp(vec![
            span(
                1,
                "web",
                &[(tags::LIBRARY_NAME, "flask"), (tags::LIBRARY_VERSION, "3")],
            ),
            span(
                2,
                "api",
                &[("telemetry.sdk.language", "python"), ("k", "v")],
            ),
            span(
                3,
                "web",
                &[(tags::SCOPE_NAME, "flask"), (tags::SCOPE_VERSION, "4")],
            ),
            span(4, "web", &[]),
            span(5, "api", &[("telemetry.sdk.language", "java")]),
            span(6, "", &[("host.name", "h")]),
        ])
        .unwrap();
        let services: Vec<_> = request
            .resource_spans
            .iter()
            .map(|rs| attributes(&rs.resource.as_ref().unwrap().attributes))
            .collect();
        // Sorted by service name; no name sorts as `OTLPResourceNoServiceName`, first.
        assert_eq!(
            services,
            [
                vec![],
                vec!["service.name=api", "telemetry.sdk.language=python"],
                vec!["service.name=web"],
            ]
        );
        let api = &request.resource_spans[1];
        assert_eq!(api.scope_spans.len(), 1);
        assert_eq!(api.scope_spans[0].scope, None);
        // The second span of a service drops its resource tags.
        let spans: Vec<_> = api.scope_spans[0]
            .spans
            .iter()
            .map(|s| (s.span_id[7], attributes(&s.attributes)))
            .collect();
        assert_eq!(spans, [(2, vec!["k=v".to_owned()]), (5, vec![])]);
        // Without a service name, no resource attributes and no resource tags on the span.
        assert!(
            request.resource_spans[0].scope_spans[0].spans[0]
                .attributes
                .is_empty()
        );
        let web = &request.resource_spans[2];
        let scopes: Vec<_> = web
            .scope_spans
            .iter()
            .map(|ss| {
                let scope = ss.scope.clone().unwrap_or_default();
                let ids: Vec<u8> = ss.spans.iter().map(|s| s.span_id[7]).collect();
                (scope.name, scope.version, ids)
            })
            .collect();
        assert_eq!(
            scopes,
            [
                (String::new(), String::new(), vec![4]),
                ("flask".to_owned(), "3".to_owned(), vec![1, 3]),
            ]
        );
        assert!(
            web.scope_spans[1]
                .spans
                .iter()
                .all(|s| s.attributes.is_empty())
        );
    }

    #[test]
    fn the_service_name_source_names_the_attribute() {
        let request = to_otlp(vec![span(
            1,
            "svc",
            &[(tags::SERVICE_NAME_SOURCE, "peer.service")],
        )])
        .unwrap();
        let resource = request.resource_spans[0].resource.as_ref().unwrap();
        assert_eq!(attributes(&resource.attributes), ["peer.service=svc"]);
    }

    #[test]
    fn every_span_field() {
        let mut zipkin = span(
            7,
            "svc",
            &[
                ("http.method", "GET"),
                ("net.peer.ip", "overwritten"),
                (tags::STATUS_CODE, "ERROR"),
                (tags::STATUS_DESCRIPTION, "boom"),
                (tags::TRACE_STATE, "a=b"),
                (tags::SPAN_KIND, "internal"),
            ],
        );
        zipkin.parent_id = Some([0, 0, 0, 0, 0, 0, 0, 1]);
        zipkin.name = "get /".into();
        zipkin.kind = Some(Kind::Client);
        zipkin.timestamp_micros = 1_472_470_996_199_000;
        zipkin.duration_micros = 207_000;
        zipkin.local_endpoint = Some(Endpoint {
            service_name: "svc".into(),
            ipv4: Some("10.0.0.1".parse().unwrap()),
            ipv6: Some("::ffff:10.0.0.2".parse().unwrap()),
            port: 8080,
        });
        zipkin.remote_endpoint = Some(Endpoint {
            service_name: "db".into(),
            ipv4: Some("10.0.0.3".parse().unwrap()),
            ipv6: Some("2001:db8::1".parse().unwrap()),
            port: 0,
        });
        zipkin.annotations = vec![Annotation {
            timestamp_micros: 1_472_470_996_238_000,
            value: "retry".into(),
        }];
        let request = to_otlp(vec![zipkin]).unwrap();
        let span = &request.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(
            hex::encode(&span.trace_id),
            "0000000000000000463ac35c9f6413ad"
        );
        assert_eq!(hex::encode(&span.span_id), "0000000000000007");
        assert_eq!(hex::encode(&span.parent_span_id), "0000000000000001");
        assert_eq!(span.trace_state, "a=b");
        assert_eq!(span.name, "get /");
        assert_eq!(span.kind, 3);
        assert_eq!(span.start_time_unix_nano, 1_472_470_996_199_000_000);
        assert_eq!(span.end_time_unix_nano, 1_472_470_996_406_000_000);
        assert_eq!(
            span.status,
            Some(Status {
                message: "boom".into(),
                code: 2
            })
        );
        // `span.kind` stays an attribute when the span has a kind.
        assert_eq!(
            attributes(&span.attributes),
            [
                "http.method=GET",
                "net.host.ip=10.0.0.2",
                "net.host.port=8080i",
                "net.peer.ip=2001:db8::1",
                "peer.service=db",
                "span.kind=internal",
            ]
        );
        assert_eq!(span.events.len(), 1);
        assert_eq!(span.events[0].name, "retry");
        assert_eq!(span.events[0].time_unix_nano, 1_472_470_996_238_000_000);
        assert_eq!(span.flags, 0);
    }

    #[test]
    fn kinds_and_parents() {
        let mut spans = Vec::new();
        for (id, kind) in [
            (1, Some(Kind::Server)),
            (2, Some(Kind::Producer)),
            (3, Some(Kind::Consumer)),
            (4, None),
        ] {
            let mut s = span(id, "svc", &[]);
            s.kind = kind;
            s.parent_id = Some(s.id);
            spans.push(s);
        }
        spans.push(span(5, "svc", &[(tags::SPAN_KIND, "internal")]));
        spans.push(span(6, "svc", &[(tags::SPAN_KIND, "client")]));
        let request = to_otlp(spans).unwrap();
        let kinds: Vec<_> = request.resource_spans[0].scope_spans[0]
            .spans
            .iter()
            .map(|s| (s.kind, s.parent_span_id.is_empty(), s.attributes.is_empty()))
            .collect();
        assert_eq!(
            kinds,
            [
                (2, true, true),
                (4, true, true),
                (5, true, true),
                (0, true, true),
                (1, true, true),
                (0, true, true)
            ]
        );
    }

    #[test]
    fn a_bad_link_names_the_span_and_tag() {
        let error = to_otlp(vec![span(9, "svc", &[("otlp.link.0", "x|y|z|{}|0")])]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid span 0000000000000009 tag `otlp.link.0`: the trace id is not 32 hex digits"
        );
    }
}
