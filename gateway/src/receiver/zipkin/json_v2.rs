//! `POST /api/v2/spans` with `Content-Type: application/json`: a JSON list of v2 spans.
//! Unknown keys are ignored, as Zipkin's own readers do; null is the same as absent.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::error::DecodeError;
use super::json::{self, JsonEndpoint, TagValue};
use super::model::{Annotation, Kind, ZipkinSpan};

/// The spans of a v2 JSON body (null entries are skipped).
pub(super) fn decode(payload: &[u8]) -> Result<Vec<ZipkinSpan>, DecodeError> {
    let spans: Vec<Option<JsonSpan>> = json::decode(payload, "v2")?;
    Ok(spans.into_iter().flatten().map(ZipkinSpan::from).collect())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonSpan {
    #[serde(deserialize_with = "json::trace_id")]
    trace_id: [u8; 16],
    #[serde(deserialize_with = "json::span_id")]
    id: [u8; 8],
    #[serde(default, deserialize_with = "json::parent_id")]
    parent_id: Option<[u8; 8]>,
    #[serde(default, deserialize_with = "json::text")]
    name: String,
    #[serde(default, deserialize_with = "json::text")]
    kind: String,
    #[serde(default, deserialize_with = "json::micros")]
    timestamp: u64,
    #[serde(default, deserialize_with = "json::micros")]
    duration: u64,
    // Read so that a wrong type is reported; not kept (see `model.rs`).
    #[serde(default)]
    #[allow(dead_code)]
    debug: Option<bool>,
    #[serde(default)]
    #[allow(dead_code)]
    shared: Option<bool>,
    #[serde(default)]
    local_endpoint: Option<JsonEndpoint>,
    #[serde(default)]
    remote_endpoint: Option<JsonEndpoint>,
    #[serde(default)]
    annotations: Option<Vec<JsonAnnotation>>,
    #[serde(default)]
    tags: Option<BTreeMap<String, TagValue>>,
}

#[derive(Debug, Deserialize)]
struct JsonAnnotation {
    #[serde(default, deserialize_with = "json::micros")]
    timestamp: u64,
    #[serde(default, deserialize_with = "json::text")]
    value: String,
}

impl From<JsonSpan> for ZipkinSpan {
    fn from(span: JsonSpan) -> ZipkinSpan {
        ZipkinSpan {
            trace_id: span.trace_id,
            id: span.id,
            parent_id: span.parent_id,
            name: span.name,
            kind: Kind::from_name(&span.kind),
            timestamp_micros: span.timestamp,
            duration_micros: span.duration,
            local_endpoint: span.local_endpoint.map(Into::into),
            remote_endpoint: span.remote_endpoint.map(Into::into),
            annotations: span
                .annotations
                .unwrap_or_default()
                .into_iter()
                .map(|annotation| Annotation {
                    timestamp_micros: annotation.timestamp,
                    value: annotation.value,
                })
                .collect(),
            tags: span
                .tags
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(key, TagValue(value))| Some((key, value?)))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receiver::zipkin::model::Endpoint;

    #[test]
    fn reads_every_field() {
        let spans = decode(
            br#"[{"traceId":"5b8efff798038103d269b633813fc60c","id":"eee19b7ec3c1b174",
              "parentId":"eee19b7ec3c1b173","name":"get /api","kind":"SERVER",
              "timestamp":1472470996199000,"duration":207000,"debug":true,"shared":true,
              "localEndpoint":{"serviceName":"backend","ipv4":"192.168.99.101","port":9000},
              "remoteEndpoint":{"serviceName":"frontend","ipv6":"2001:db8::c001","port":-1},
              "annotations":[{"timestamp":1472470996238000,"value":"foo"}],
              "tags":{"http.method":"GET","count":3,"ok":true,"none":null},"extra":{}}, null]"#,
        )
        .unwrap();
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(hex::encode(span.parent_id.unwrap()), "eee19b7ec3c1b173");
        assert_eq!(span.kind, Some(Kind::Server));
        assert_eq!(span.timestamp_micros, 1_472_470_996_199_000);
        assert_eq!(span.duration_micros, 207_000);
        assert_eq!(
            span.local_endpoint,
            Some(Endpoint {
                service_name: "backend".into(),
                ipv4: Some("192.168.99.101".parse().unwrap()),
                ipv6: None,
                port: 9000
            })
        );
        assert_eq!(span.remote_endpoint.as_ref().unwrap().port, -1);
        assert_eq!(span.annotations[0].value, "foo");
        let tags: Vec<_> = span.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(tags, ["count=3", "http.method=GET", "ok=true"]);
    }

    #[test]
    fn nulls_are_absent_and_unknown_kinds_none() {
        let spans = decode(
            br#"[{"traceId":"1","id":"2","parentId":null,"name":null,"kind":null,
                  "timestamp":null,"localEndpoint":null,"annotations":null,"tags":null},
                 {"traceId":"1","id":"3","kind":"INTERNAL"}]"#,
        )
        .unwrap();
        assert_eq!(spans[0].name, "");
        assert_eq!(spans[0].kind, None);
        assert_eq!(spans[1].kind, None);
        assert_eq!(spans[0].timestamp_micros, 0);
    }

    #[test]
    fn errors_name_the_path() {
        let error = |body: &str| decode(body.as_bytes()).unwrap_err().to_string();
        for (body, start) in [
            (
                r#"[{"traceId":"1","id":"2"},{"traceId":"zz","id":"2"}]"#,
                "invalid Zipkin v2 JSON at `[1].traceId`: `zz` is not a hex id of 1 to 32 digits",
            ),
            (
                r#"[{"traceId":"1"}]"#,
                "invalid Zipkin v2 JSON at `[0]`: missing field `id`",
            ),
            (
                r#"[{"traceId":"1","id":"2","localEndpoint":{"ipv4":"1.2.3"}}]"#,
                "invalid Zipkin v2 JSON at `[0].localEndpoint.ipv4`: `1.2.3` is not an IP address",
            ),
            (
                r#"[{"traceId":"1","id":"2","timestamp":-5}]"#,
                "invalid Zipkin v2 JSON at `[0].timestamp`: invalid value: integer `-5`, expected u64",
            ),
            (
                r#"[{"traceId":"0","id":"2"}]"#,
                "invalid Zipkin v2 JSON at `[0].traceId`: must not be all zeros",
            ),
            (
                r#"[{"traceId":"1","id":"2","tags":{"a":[1]}}]"#,
                "invalid Zipkin v2 JSON at `[0].tags.a`: invalid type: sequence, expected a string, number or boolean",
            ),
        ] {
            let error = error(body);
            assert!(error.starts_with(start), "{error}");
        }
        assert!(error(r#"{"traceId":"1"}"#).contains("expected a sequence"));
        assert!(error("[] x").contains("trailing characters"));
    }
}
