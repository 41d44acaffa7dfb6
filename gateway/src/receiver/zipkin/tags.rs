//! The Zipkin tags that are not plain attributes, as the OpenTelemetry Collector's Zipkin
//! translator reads them: resource attributes, the instrumentation scope, the status,
//! the span kind of a span without one, the W3C trace state, and OTLP links and event
//! attributes encoded in text.

use std::collections::BTreeMap;

use crate::model::{AnyValue, KeyValue, any_value, span::Link};

pub(super) const SERVICE_NAME: &str = "service.name";
/// Names the resource attribute that gets the local service name instead of `service.name`.
pub(super) const SERVICE_NAME_SOURCE: &str = "otlp.service.name.source";
pub(super) const SCOPE_NAME: &str = "otel.scope.name";
pub(super) const SCOPE_VERSION: &str = "otel.scope.version";
pub(super) const LIBRARY_NAME: &str = "otel.library.name";
pub(super) const LIBRARY_VERSION: &str = "otel.library.version";
pub(super) const STATUS_CODE: &str = "otel.status_code";
pub(super) const STATUS_DESCRIPTION: &str = "otel.status_description";
pub(super) const ERROR: &str = "error";
pub(super) const SPAN_KIND: &str = "span.kind";
pub(super) const TRACE_STATE: &str = "w3c.tracestate";
/// `otlp.link.0`, `otlp.link.1`, ... up to this many.
pub(super) const MAX_LINKS: usize = 128;
/// The resource of a span without a local service name has no attributes.
pub(super) const NO_SERVICE_NAME: &str = "OTLPResourceNoServiceName";

/// Tags that describe the resource (semantic conventions 1.6.1's resource attributes, and
/// OpenCensus's): moved to the resource of the first span of each service, never kept
/// on a span.
const RESOURCE_KEYS: [&str; 84] = [
    "cloud.provider",
    "cloud.account.id",
    "cloud.region",
    "cloud.availability_zone",
    "cloud.platform",
    "aws.ecs.container.arn",
    "aws.ecs.cluster.arn",
    "aws.ecs.launchtype",
    "aws.ecs.task.arn",
    "aws.ecs.task.family",
    "aws.ecs.task.revision",
    "aws.eks.cluster.arn",
    "aws.log.group.names",
    "aws.log.group.arns",
    "aws.log.stream.names",
    "aws.log.stream.arns",
    "container.name",
    "container.id",
    "container.runtime",
    "container.image.name",
    "container.image.tag",
    "deployment.environment",
    "device.id",
    "device.model.identifier",
    "device.model.name",
    "device.manufacturer",
    "faas.name",
    "faas.id",
    "faas.version",
    "faas.instance",
    "faas.max_memory",
    "host.id",
    "host.name",
    "host.type",
    "host.arch",
    "host.image.name",
    "host.image.id",
    "host.image.version",
    "k8s.cluster.name",
    "k8s.node.name",
    "k8s.node.uid",
    "k8s.namespace.name",
    "k8s.pod.uid",
    "k8s.pod.name",
    "k8s.container.name",
    "k8s.container.restart_count",
    "k8s.replicaset.uid",
    "k8s.replicaset.name",
    "k8s.deployment.uid",
    "k8s.deployment.name",
    "k8s.statefulset.uid",
    "k8s.statefulset.name",
    "k8s.daemonset.uid",
    "k8s.daemonset.name",
    "k8s.job.uid",
    "k8s.job.name",
    "k8s.cronjob.uid",
    "k8s.cronjob.name",
    "os.type",
    "os.description",
    "os.name",
    "os.version",
    "process.pid",
    "process.executable.name",
    "process.executable.path",
    "process.command",
    "process.command_line",
    "process.command_args",
    "process.owner",
    "process.runtime.name",
    "process.runtime.version",
    "process.runtime.description",
    SERVICE_NAME,
    "service.namespace",
    "service.instance.id",
    "service.version",
    "telemetry.sdk.name",
    "telemetry.sdk.language",
    "telemetry.sdk.version",
    "telemetry.auto.version",
    "webengine.name",
    "webengine.version",
    "webengine.description",
    "opencensus.starttime",
];

/// OpenCensus's other resource tags, also moved to the resource.
const OPENCENSUS_KEYS: [&str; 2] = ["opencensus.exporterversion", "opencensus.resourcetype"];

/// Whether a tag is moved to the resource (of the first span of a service).
pub(super) fn is_resource_key(key: &str) -> bool {
    RESOURCE_KEYS.contains(&key) || OPENCENSUS_KEYS.contains(&key)
}

/// Whether a tag never becomes a span attribute: resource and scope tags.
pub(super) fn is_non_span_key(key: &str) -> bool {
    is_resource_key(key)
        || [
            SERVICE_NAME_SOURCE,
            SCOPE_NAME,
            SCOPE_VERSION,
            LIBRARY_NAME,
            LIBRARY_VERSION,
        ]
        .contains(&key)
}

/// The scope name a span's tags give (`otel.scope.name`, else `otel.library.name`);
/// empty when neither.
pub(super) fn scope_name(tags: &BTreeMap<String, String>) -> &str {
    tags.get(SCOPE_NAME)
        .or_else(|| tags.get(LIBRARY_NAME))
        .map_or("", String::as_str)
}

/// The scope version, likewise.
pub(super) fn scope_version(tags: &BTreeMap<String, String>) -> &str {
    tags.get(SCOPE_VERSION)
        .or_else(|| tags.get(LIBRARY_VERSION))
        .map_or("", String::as_str)
}

/// OTLP's status code for an `otel.status_code` value: the specification's names
/// (`OK`, `ERROR`), OTLP's (`STATUS_CODE_OK`, ...) and the older exporters' (`Ok`,
/// `Error`); anything else is unset.
fn status_code(value: &str) -> i32 {
    match value {
        "OK" | "Ok" | "STATUS_CODE_OK" => 1,
        "ERROR" | "Error" | "STATUS_CODE_ERROR" => 2,
        _ => 0,
    }
}

/// The status from `otel.status_code` (with `otel.status_description` as its message),
/// then `error`: any `error` tag makes the status an error; the tag stays an attribute
/// unless its value is `true`. The tags read are removed.
pub(super) fn take_status(tags: &mut BTreeMap<String, String>) -> (i32, String) {
    let mut status = (0, String::new());
    if let Some(code) = tags.remove(STATUS_CODE) {
        status.0 = status_code(&code);
        if let Some(description) = tags.remove(STATUS_DESCRIPTION) {
            status.1 = description;
        }
    }
    if let Some(error) = tags.get(ERROR) {
        status.0 = 2;
        if error == "true" {
            tags.remove(ERROR);
        }
    }
    status
}

/// Why an encoded link or event could not be read.
#[derive(Debug, thiserror::Error)]
pub(super) enum EncodedError {
    #[error("the {0} is not {1} hex digits")]
    Id(&'static str, usize),
    #[error("the attributes are not a JSON object: {0}")]
    Attributes(String),
    #[error("the dropped attributes count `{0}` is not a 32-bit unsigned number")]
    Dropped(String),
}

/// The links encoded as `otlp.link.0`, `otlp.link.1`, ... (up to the first missing
/// index), each `trace id|span id|trace state|attributes as JSON|dropped attributes
/// count`; a value of fewer parts is dropped. The tags are removed.
pub(super) fn take_links(
    tags: &mut BTreeMap<String, String>,
) -> Result<Vec<Link>, (String, EncodedError)> {
    let mut links = Vec::new();
    for index in 0..MAX_LINKS {
        let key = format!("otlp.link.{index}");
        let Some(value) = tags.remove(&key) else {
            break;
        };
        let parts: Vec<&str> = value.split('|').collect();
        if parts.len() < 5 {
            continue;
        }
        let link = || -> Result<Link, EncodedError> {
            let (attributes, dropped_attributes_count) = attributes_and_dropped(&parts[3..])?;
            Ok(Link {
                trace_id: quoted_hex_id(parts[0], 16).ok_or(EncodedError::Id("trace id", 32))?,
                span_id: quoted_hex_id(parts[1], 8).ok_or(EncodedError::Id("span id", 16))?,
                trace_state: parts[2].to_owned(),
                attributes,
                dropped_attributes_count,
                flags: 0,
            })
        };
        links.push(link().map_err(|error| (key, error))?);
    }
    Ok(links)
}

/// An event from an annotation: its value, or, when the value is encoded as `name|
/// attributes as JSON|dropped attributes count`, its parts. A value that looks encoded
/// but cannot be read stays the name.
pub(super) fn event_parts(value: &str) -> (String, Vec<KeyValue>, u32) {
    let parts: Vec<&str> = value.split('|').collect();
    if parts.len() < 3 {
        return (parts[0].to_owned(), Vec::new(), 0);
    }
    match attributes_and_dropped(&parts[1..]) {
        Ok((attributes, dropped)) => (parts[0].to_owned(), attributes, dropped),
        Err(_) => (value.to_owned(), Vec::new(), 0),
    }
}

/// `parts` is the JSON (itself possibly holding `|`) then the dropped count.
fn attributes_and_dropped(parts: &[&str]) -> Result<(Vec<KeyValue>, u32), EncodedError> {
    let (dropped, json) = parts
        .split_last()
        .ok_or(EncodedError::Dropped(String::new()))?;
    let json = json.join("|");
    let object: Option<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(&json).map_err(|error| EncodedError::Attributes(error.to_string()))?;
    let attributes = object
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(key, value)| {
            let value = match value {
                serde_json::Value::String(text) => any_value::Value::StringValue(text),
                serde_json::Value::Bool(flag) => any_value::Value::BoolValue(flag),
                serde_json::Value::Number(number) => match number.as_i64() {
                    Some(integer) => any_value::Value::IntValue(integer),
                    None => {
                        let float = number.as_f64()?;
                        if float.fract() == 0.0 {
                            any_value::Value::IntValue(float as i64)
                        } else {
                            any_value::Value::DoubleValue(float)
                        }
                    }
                },
                _ => return None,
            };
            Some(KeyValue {
                key,
                value: Some(AnyValue { value: Some(value) }),
                ..KeyValue::default()
            })
        })
        .collect();
    let dropped_count = (!dropped.is_empty() && dropped.bytes().all(|b| b.is_ascii_digit()))
        .then(|| dropped.parse::<u32>().ok())
        .flatten()
        .ok_or_else(|| EncodedError::Dropped((*dropped).to_owned()))?;
    Ok((attributes, dropped_count))
}

/// An id of `bytes` bytes in hex, possibly in double quotes; empty is all zeros.
fn quoted_hex_id(text: &str, bytes: usize) -> Option<Vec<u8>> {
    let text = text
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or(text);
    if text.is_empty() {
        return Some(vec![0; bytes]);
    }
    if text.len() != 2 * bytes {
        return None;
    }
    hex::decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn status_from_tags() {
        let mut t = tags(&[(STATUS_CODE, "ERROR"), (STATUS_DESCRIPTION, "boom")]);
        assert_eq!(take_status(&mut t), (2, "boom".to_owned()));
        assert!(t.is_empty());
        let mut t = tags(&[(STATUS_CODE, "STATUS_CODE_OK")]);
        assert_eq!(take_status(&mut t).0, 1);
        let mut t = tags(&[(STATUS_CODE, "Unset"), (STATUS_DESCRIPTION, "x")]);
        assert_eq!(take_status(&mut t).0, 0);
        // A description without a code stays an attribute.
        let mut t = tags(&[(STATUS_DESCRIPTION, "x")]);
        assert_eq!(take_status(&mut t), (0, String::new()));
        assert_eq!(t.len(), 1);
        // Any `error` tag is an error; only `true` is removed.
        let mut t = tags(&[(ERROR, "true")]);
        assert_eq!(take_status(&mut t).0, 2);
        assert!(t.is_empty());
        let mut t = tags(&[(STATUS_CODE, "OK"), (ERROR, "timeout")]);
        assert_eq!(take_status(&mut t).0, 2);
        assert_eq!(t[ERROR], "timeout");
    }

    #[test]
    fn links_from_tags() {
        let mut t = tags(&[
            (
                "otlp.link.0",
                "5b8efff798038103d269b633813fc60c|eee19b7ec3c1b174|k=v|{\"a\":\"x|y\",\"n\":2,\"f\":1.5,\"b\":true,\"o\":{}}|3",
            ),
            ("otlp.link.1", "too|few"),
            ("otlp.link.2", "\"\"|||null|0"),
            ("otlp.link.4", "after a gap: not read"),
        ]);
        let links = take_links(&mut t).unwrap();
        assert_eq!(links.len(), 2);
        assert_eq!(
            hex::encode(&links[0].trace_id),
            "5b8efff798038103d269b633813fc60c"
        );
        assert_eq!(links[0].trace_state, "k=v");
        assert_eq!(links[0].dropped_attributes_count, 3);
        let keys: Vec<_> = links[0]
            .attributes
            .iter()
            .map(|kv| kv.key.as_str())
            .collect();
        assert_eq!(keys, ["a", "b", "f", "n"]);
        assert_eq!(links[1].trace_id, vec![0; 16]);
        assert_eq!(t.keys().collect::<Vec<_>>(), ["otlp.link.4"]);

        let mut t = tags(&[("otlp.link.0", "zz|eee19b7ec3c1b174||{}|0")]);
        let (key, error) = take_links(&mut t).unwrap_err();
        assert_eq!(key, "otlp.link.0");
        assert_eq!(error.to_string(), "the trace id is not 32 hex digits");
        let mut t = tags(&[(
            "otlp.link.0",
            "5b8efff798038103d269b633813fc60c|eee19b7ec3c1b174||{}|-1",
        )]);
        assert!(take_links(&mut t).is_err());
    }

    #[test]
    fn events_from_annotations() {
        assert_eq!(event_parts("plain"), ("plain".to_owned(), Vec::new(), 0));
        assert_eq!(event_parts("a|b"), ("a".to_owned(), Vec::new(), 0));
        let (name, attributes, dropped) = event_parts("retry|{\"n\":1}|2");
        assert_eq!((name.as_str(), attributes.len(), dropped), ("retry", 1, 2));
        assert_eq!(
            event_parts("not|json|here"),
            ("not|json|here".to_owned(), Vec::new(), 0)
        );
        // The OpenTelemetry exporters' JSON annotations are names.
        let json = r#"{"retry": {"attempt": 2}}"#;
        assert_eq!(event_parts(json).0, json);
    }

    proptest! {
        #[test]
        fn encoded_text_never_panics(value in ".{0,64}", pipes in "[|{}\"0-9a-f:,]{0,40}") {
            let _ = event_parts(&value);
            let _ = event_parts(&pipes);
            let mut t = tags(&[("otlp.link.0", pipes.as_str()), ("otlp.link.1", value.as_str())]);
            let _ = take_links(&mut t);
        }
    }
}
