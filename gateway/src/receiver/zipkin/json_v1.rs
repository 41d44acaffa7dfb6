//! `POST /api/v1/spans` with `Content-Type: application/json`: a JSON list of Zipkin v1
//! spans, converted to the v2 model as Zipkin's own server reads them, so that one
//! mapping (`translate.rs`) serves both versions:
//!
//! - the kind comes from the first core annotation: `cs`/`cr` client, `sr`/`ss`
//!   server, `ms` producer, `mr` consumer; core annotations are not kept as events, nor
//!   are `ws`/`wr` (wire send / receive) of a producer or consumer, which only mark its
//!   ends; the other annotations are (in order);
//! - the local endpoint is that of the first core annotation with a service name, else
//!   of the first other annotation or binary annotation with one, else just the service
//!   named by an `lc` binary annotation;
//! - the address binary annotations `ca` (client), `sa` (server) and `ma` (broker) are
//!   not tags but the remote endpoint: the one facing the span's kind (`sa` for a
//!   client, `ca` for a server, `ma` for a producer or consumer), else the first; a span
//!   with no core annotation is a client when it has `sa`, a server when it has `ca`;
//! - the other binary annotations are tags (values as text);
//! - `timestamp`/`duration` when given, else the first and last annotation;
//! - a span holding both client and server annotations (one id shared by two hosts)
//!   stays one span, of the first core annotation's kind (Zipkin splits it in two).

use serde::Deserialize;

use super::error::DecodeError;
use super::json::{self, JsonEndpoint, TagValue};
use super::model::{Annotation, Endpoint, Kind, ZipkinSpan};

/// The spans of a v1 JSON body (null entries are skipped).
pub(super) fn decode(payload: &[u8]) -> Result<Vec<ZipkinSpan>, DecodeError> {
    let spans: Vec<Option<V1Span>> = json::decode(payload, "v1")?;
    Ok(spans.into_iter().flatten().map(to_v2).collect())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct V1Span {
    #[serde(deserialize_with = "json::trace_id")]
    trace_id: [u8; 16],
    #[serde(deserialize_with = "json::span_id")]
    id: [u8; 8],
    #[serde(default, deserialize_with = "json::parent_id")]
    parent_id: Option<[u8; 8]>,
    #[serde(default, deserialize_with = "json::text")]
    name: String,
    #[serde(default, deserialize_with = "json::micros")]
    timestamp: u64,
    #[serde(default, deserialize_with = "json::micros")]
    duration: u64,
    #[serde(default)]
    #[allow(dead_code)]
    debug: Option<bool>,
    #[serde(default)]
    annotations: Option<Vec<V1Annotation>>,
    #[serde(default)]
    binary_annotations: Option<Vec<V1BinaryAnnotation>>,
}

#[derive(Debug, Deserialize)]
struct V1Annotation {
    #[serde(default, deserialize_with = "json::micros")]
    timestamp: u64,
    #[serde(default, deserialize_with = "json::text")]
    value: String,
    #[serde(default)]
    endpoint: Option<JsonEndpoint>,
}

#[derive(Debug, Deserialize)]
struct V1BinaryAnnotation {
    #[serde(default, deserialize_with = "json::text")]
    key: String,
    #[serde(default)]
    value: Option<TagValue>,
    #[serde(default)]
    endpoint: Option<JsonEndpoint>,
}

/// The kind a core annotation tells, or `None` for any other annotation.
fn core_kind(value: &str) -> Option<Kind> {
    match value {
        "cs" | "cr" => Some(Kind::Client),
        "sr" | "ss" => Some(Kind::Server),
        "ms" => Some(Kind::Producer),
        "mr" => Some(Kind::Consumer),
        _ => None,
    }
}

/// Address binary annotations, in order of preference by kind.
const ADDRESS_KEYS: [&str; 3] = ["ca", "sa", "ma"];

fn address_key_for(kind: Option<Kind>) -> Option<&'static str> {
    match kind? {
        Kind::Client => Some("sa"),
        Kind::Server => Some("ca"),
        Kind::Producer | Kind::Consumer => Some("ma"),
    }
}

fn named(endpoint: &Option<JsonEndpoint>) -> Option<Endpoint> {
    let endpoint: Endpoint = endpoint.as_ref().map(JsonEndpoint::to_endpoint)?;
    (!endpoint.service_name.is_empty()).then_some(endpoint)
}

fn to_v2(span: V1Span) -> ZipkinSpan {
    let annotations: Vec<V1Annotation> = span
        .annotations
        .unwrap_or_default()
        .into_iter()
        .filter(|annotation| !annotation.value.is_empty())
        .collect();
    let binary = span.binary_annotations.unwrap_or_default();

    let mut kind = annotations.iter().find_map(|a| core_kind(&a.value));
    let addresses: Vec<(&str, Endpoint)> = binary
        .iter()
        .filter(|b| ADDRESS_KEYS.contains(&b.key.as_str()))
        .filter_map(|b| Some((b.key.as_str(), b.endpoint.as_ref()?.to_endpoint())))
        .collect();
    if kind.is_none() {
        kind = if addresses.iter().any(|(key, _)| *key == "sa") {
            Some(Kind::Client)
        } else if addresses.iter().any(|(key, _)| *key == "ca") {
            Some(Kind::Server)
        } else {
            None
        };
    }
    let remote_endpoint = address_key_for(kind)
        .and_then(|wanted| addresses.iter().find(|(key, _)| *key == wanted))
        .or_else(|| addresses.first())
        .map(|(_, endpoint)| endpoint.clone());

    let non_address = || {
        binary
            .iter()
            .filter(|b| !ADDRESS_KEYS.contains(&b.key.as_str()))
    };
    let local_endpoint = annotations
        .iter()
        .filter(|a| core_kind(&a.value).is_some())
        .find_map(|a| named(&a.endpoint))
        .or_else(|| annotations.iter().find_map(|a| named(&a.endpoint)))
        .or_else(|| non_address().find_map(|b| named(&b.endpoint)))
        .or_else(|| {
            non_address()
                .find(|b| b.key == "lc")
                .and_then(|b| b.value.as_ref()?.0.clone())
                .filter(|service| !service.is_empty())
                .map(|service_name| Endpoint {
                    service_name,
                    ..Endpoint::default()
                })
        });

    let messaging = matches!(kind, Some(Kind::Producer | Kind::Consumer));
    let (timestamp_micros, duration_micros) = if span.timestamp > 0 {
        (span.timestamp, span.duration)
    } else {
        let times = annotations.iter().map(|a| a.timestamp);
        match (times.clone().min(), times.max()) {
            (Some(first), Some(last)) => (first, last - first),
            _ => (0, span.duration),
        }
    };

    ZipkinSpan {
        trace_id: span.trace_id,
        id: span.id,
        parent_id: span.parent_id,
        name: span.name,
        kind,
        timestamp_micros,
        duration_micros,
        local_endpoint,
        remote_endpoint,
        annotations: annotations
            .iter()
            .filter(|a| core_kind(&a.value).is_none())
            .filter(|a| !(messaging && (a.value == "ws" || a.value == "wr")))
            .map(|a| Annotation {
                timestamp_micros: a.timestamp,
                value: a.value.clone(),
            })
            .collect(),
        tags: non_address()
            .filter_map(|b| Some((b.key.clone(), b.value.as_ref()?.0.clone()?)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = r#"[{"traceId":"463ac35c9f6413ad","id":"72485a3953bb6124",
        "parentId":"463ac35c9f6413ad","name":"get","timestamp":0,
        "annotations":[
          {"timestamp":1472470996199000,"value":"cs","endpoint":{"serviceName":"frontend","ipv4":"192.168.99.101","port":9000}},
          {"timestamp":1472470996238000,"value":"wire.send","endpoint":{"serviceName":"frontend"}},
          {"timestamp":1472470996406000,"value":"cr","endpoint":{"serviceName":"frontend","ipv4":"192.168.99.101","port":9000}}],
        "binaryAnnotations":[
          {"key":"http.path","value":"/api","endpoint":{"serviceName":"frontend"}},
          {"key":"retries","value":2},
          {"key":"sa","value":true,"endpoint":{"serviceName":"backend","ipv4":"192.168.99.101","port":9001}},
          {"key":"ca","value":true,"endpoint":{"serviceName":"other","ipv4":"10.0.0.9"}}]}]"#;

    #[test]
    fn client_span_from_core_annotations_and_addresses() {
        let span = decode(CLIENT.as_bytes()).unwrap().remove(0);
        assert_eq!(span.kind, Some(Kind::Client));
        assert_eq!(span.timestamp_micros, 1_472_470_996_199_000);
        assert_eq!(span.duration_micros, 207_000);
        let local = span.local_endpoint.unwrap();
        assert_eq!(
            (local.service_name.as_str(), local.port),
            ("frontend", 9000)
        );
        let remote = span.remote_endpoint.unwrap();
        assert_eq!(
            (remote.service_name.as_str(), remote.port),
            ("backend", 9001)
        );
        assert_eq!(
            span.annotations,
            [Annotation {
                timestamp_micros: 1_472_470_996_238_000,
                value: "wire.send".into()
            }]
        );
        let tags: Vec<_> = span.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(tags, ["http.path=/api", "retries=2"]);
    }

    #[test]
    fn server_and_messaging_kinds() {
        let server = r#"[{"traceId":"1","id":"2","timestamp":10,"duration":5,
            "annotations":[{"timestamp":10,"value":"sr","endpoint":{"serviceName":"api"}},
                           {"timestamp":15,"value":"ss","endpoint":{"serviceName":"api"}}],
            "binaryAnnotations":[{"key":"ca","value":true,"endpoint":{"serviceName":"web","ipv6":"::1"}},
                                 {"key":"ma","value":true,"endpoint":{"serviceName":"kafka"}}]}]"#;
        let span = decode(server.as_bytes()).unwrap().remove(0);
        assert_eq!(span.kind, Some(Kind::Server));
        assert_eq!((span.timestamp_micros, span.duration_micros), (10, 5));
        assert_eq!(span.remote_endpoint.unwrap().service_name, "web");
        assert!(span.tags.is_empty());

        let producer = r#"[{"traceId":"1","id":"2","annotations":[{"timestamp":7,"value":"ms","endpoint":{"serviceName":"p"}},
            {"timestamp":7,"value":"ws"}],
            "binaryAnnotations":[{"key":"sa","value":true,"endpoint":{"serviceName":"x"}},{"key":"ma","value":true,"endpoint":{"serviceName":"kafka"}}]}]"#;
        let span = decode(producer.as_bytes()).unwrap().remove(0);
        assert_eq!(span.kind, Some(Kind::Producer));
        assert_eq!(span.remote_endpoint.unwrap().service_name, "kafka");
        assert_eq!((span.timestamp_micros, span.duration_micros), (7, 0));
        assert!(span.annotations.is_empty());
        // Wire annotations of an RPC span are events.
        let client = r#"[{"traceId":"1","id":"2","annotations":[{"timestamp":1,"value":"cs"},{"timestamp":2,"value":"ws"},{"timestamp":3,"value":"cr"}]}]"#;
        let span = decode(client.as_bytes()).unwrap().remove(0);
        assert_eq!(span.annotations.len(), 1);
        assert_eq!((span.timestamp_micros, span.duration_micros), (1, 2));
    }

    #[test]
    fn no_core_annotations() {
        let only_address = r#"[{"traceId":"1","id":"2","binaryAnnotations":[
            {"key":"sa","value":true,"endpoint":{"serviceName":"db","port":5432}},
            {"key":"lc","value":"jdbc"}]}]"#;
        let span = decode(only_address.as_bytes()).unwrap().remove(0);
        assert_eq!(span.kind, Some(Kind::Client));
        assert_eq!(span.local_endpoint.unwrap().service_name, "jdbc");
        assert_eq!(span.tags["lc"], "jdbc");
        assert_eq!(span.timestamp_micros, 0);

        let local = r#"[{"traceId":"1","id":"2","timestamp":3,"duration":4,
            "binaryAnnotations":[{"key":"lc","value":"cache","endpoint":{"serviceName":"svc"}}]}]"#;
        let span = decode(local.as_bytes()).unwrap().remove(0);
        assert_eq!(span.kind, None);
        assert_eq!(span.local_endpoint.unwrap().service_name, "svc");
        assert_eq!((span.timestamp_micros, span.duration_micros), (3, 4));
    }

    #[test]
    fn errors_name_the_path() {
        let error =
            decode(br#"[{"traceId":"1","id":"2","binaryAnnotations":[{"key":"k","value":[1]}]}]"#)
                .unwrap_err()
                .to_string();
        assert!(
            error.starts_with("invalid Zipkin v1 JSON at `[0].binaryAnnotations[0].value`: "),
            "{error}"
        );
    }
}
