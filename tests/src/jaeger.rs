//! The Jaeger clients of `tests/clients/jaeger-*` and what the gateway must store for
//! them. Each client script prints the Jaeger batches it sent (the JSON described in
//! `tests/clients/jaeger-python/jaeger_json.py`); [`expected_otlp`] maps them to OTLP
//! by the rules of ARCHITECTURE.md ("Jaeger receivers"), written again here, apart
//! from the gateway's code, so that the two can disagree.

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use serde_json::Value;

use crate::clients::RawCodec;

/// What a client script printed: the trace id (32 hex digits) and the batches it sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub trace_id: String,
    pub batches: Vec<Value>,
}

impl Sent {
    /// Parses a script's stdout (its last line is the JSON).
    pub fn parse(stdout: &str) -> Sent {
        let line = stdout.lines().last().unwrap_or_default();
        let value: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("client output is not JSON ({e}): {stdout}"));
        Sent {
            trace_id: value["traceId"].as_str().expect("traceId").to_owned(),
            batches: value["batches"].as_array().expect("batches").clone(),
        }
    }

    /// How many spans were sent.
    pub fn span_count(&self) -> usize {
        self.batches
            .iter()
            .map(|batch| batch["spans"].as_array().map_or(0, Vec::len))
            .sum()
    }

    /// The span sent with this operation name (panics when there is none).
    pub fn span(&self, name: &str) -> &Value {
        self.batches
            .iter()
            .flat_map(|batch| batch["spans"].as_array().into_iter().flatten())
            .find(|span| span["operationName"] == name)
            .unwrap_or_else(|| panic!("no span {name:?} was sent: {:?}", self.batches))
    }
}

/// An attribute list with unique keys: a repeated key keeps its first place and takes
/// the last value; removal keeps the order of the rest.
#[derive(Default)]
struct Attrs(Vec<KeyValue>);

impl Attrs {
    fn set(&mut self, key: &str, value: any_value::Value) {
        let value = Some(AnyValue { value: Some(value) });
        match self.0.iter_mut().find(|kv| kv.key == key) {
            Some(kv) => kv.value = value,
            None => self.0.push(KeyValue {
                key: key.to_owned(),
                value,
                ..KeyValue::default()
            }),
        }
    }

    fn get(&self, key: &str) -> Option<any_value::Value> {
        self.0
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.clone()?.value)
    }

    fn take(&mut self, key: &str) -> Option<any_value::Value> {
        let position = self.0.iter().position(|kv| kv.key == key)?;
        self.0.remove(position).value?.value
    }

    fn of(tags: &Value) -> Attrs {
        let mut attrs = Attrs::default();
        for tag in tags.as_array().into_iter().flatten() {
            attrs.set(tag["key"].as_str().expect("tag key"), tag_value(tag));
        }
        attrs
    }
}

fn tag_value(tag: &Value) -> any_value::Value {
    let value = &tag["value"];
    match tag["type"].as_str().expect("tag type") {
        "string" => any_value::Value::StringValue(value.as_str().expect("string").to_owned()),
        "bool" => any_value::Value::BoolValue(value.as_bool().expect("bool")),
        "long" => any_value::Value::IntValue(value.as_str().expect("long").parse().expect("i64")),
        "double" => any_value::Value::DoubleValue(value.as_f64().expect("double")),
        "binary" => {
            any_value::Value::BytesValue(hex::decode(value.as_str().expect("hex")).expect("hex"))
        }
        other => panic!("unknown tag type {other}"),
    }
}

fn text_of(value: Option<any_value::Value>) -> String {
    match value {
        Some(any_value::Value::StringValue(text)) => text,
        _ => String::new(),
    }
}

fn id(value: &Value) -> u64 {
    u64::from_str_radix(value.as_str().expect("hex id"), 16).expect("hex id")
}

fn nanos(value: &Value) -> u64 {
    value
        .as_str()
        .expect("decimal time")
        .parse()
        .expect("u64 time")
}

fn trace_id(high: &Value, low: &Value) -> Vec<u8> {
    let mut bytes = id(high).to_be_bytes().to_vec();
    bytes.extend_from_slice(&id(low).to_be_bytes());
    bytes
}

/// The OTLP the gateway must store for every batch sent: one `ResourceSpans` per span
/// (the comparison flattens them).
pub fn expected_otlp(sent: &Sent) -> Vec<ResourceSpans> {
    let mut out = Vec::new();
    for batch in &sent.batches {
        for span in batch["spans"].as_array().into_iter().flatten() {
            let process = match &span["process"] {
                Value::Null => &batch["process"],
                own => own,
            };
            let (scope, span) = expected_span(span);
            out.push(ResourceSpans {
                resource: Some(expected_resource(process)),
                scope_spans: vec![ScopeSpans {
                    scope: Some(scope),
                    spans: vec![span],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            });
        }
    }
    out
}

fn expected_resource(process: &Value) -> Resource {
    let mut attrs = Attrs::default();
    let service = process["serviceName"].as_str().unwrap_or_default();
    if process.is_null() || service == "OTLPResourceNoServiceName" {
        return Resource::default();
    }
    if !service.is_empty() {
        attrs.set(
            "service.name",
            any_value::Value::StringValue(service.to_owned()),
        );
    }
    for kv in Attrs::of(&process["tags"]).0 {
        attrs.set(&kv.key, kv.value.and_then(|v| v.value).expect("value"));
    }
    if attrs.get("host.name").is_none()
        && let Some(hostname) = attrs.take("hostname")
    {
        attrs.set("host.name", hostname);
    }
    if attrs.get("opencensus.exporterversion").is_none()
        && let Some(version) = attrs.take("jaeger.version")
    {
        let version = format!("Jaeger-{}", text_of(Some(version)));
        attrs.set(
            "opencensus.exporterversion",
            any_value::Value::StringValue(version),
        );
    }
    Resource {
        attributes: attrs.0,
        ..Resource::default()
    }
}

fn expected_span(span: &Value) -> (InstrumentationScope, Span) {
    // The scope tags: the first of each key, otel.scope.* before otel.library.*.
    let mut tags: Vec<Value> = span["tags"].as_array().cloned().unwrap_or_default();
    let mut take_first = |key: &str| {
        let position = tags.iter().position(|tag| tag["key"] == key)?;
        let tag = tags.remove(position);
        Some(
            tag["value"]
                .as_str()
                .filter(|_| tag["type"] == "string")
                .unwrap_or("")
                .to_owned(),
        )
    };
    let mut scope = InstrumentationScope::default();
    if let Some(name) = take_first("otel.scope.name") {
        scope.name = name;
        scope.version = take_first("otel.scope.version").unwrap_or_default();
    } else if let Some(name) = take_first("otel.library.name") {
        scope.name = name;
        scope.version = take_first("otel.library.version").unwrap_or_default();
    }
    let mut attrs = Attrs::of(&Value::Array(tags));
    let kind = match attrs.take("span.kind").map(|v| text_of(Some(v))).as_deref() {
        Some("client") => 3,
        Some("server") => 2,
        Some("producer") => 4,
        Some("consumer") => 5,
        Some("internal") => 1,
        _ => 0,
    };
    let status = expected_status(&mut attrs, kind);
    let trace_state = attrs
        .take("w3c.tracestate")
        .map(|v| text_of(Some(v)))
        .unwrap_or_default();

    let own_trace = (id(&span["traceIdHigh"]), id(&span["traceIdLow"]));
    let references: Vec<&Value> = span["references"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let in_trace = |ref_type: &str| {
        references
            .iter()
            .find(|r| {
                r["refType"] == ref_type
                    && (id(&r["traceIdHigh"]), id(&r["traceIdLow"])) == own_trace
            })
            .map(|r| id(&r["spanId"]))
    };
    let parent = match id(&span["parentSpanId"]) {
        0 => in_trace("CHILD_OF")
            .or_else(|| in_trace("FOLLOWS_FROM"))
            .unwrap_or(0),
        parent => parent,
    };
    let links = references
        .iter()
        .filter(|r| !(r["refType"] == "CHILD_OF" && id(&r["spanId"]) == parent))
        .map(|r| Link {
            trace_id: trace_id(&r["traceIdHigh"], &r["traceIdLow"]),
            span_id: id(&r["spanId"]).to_be_bytes().to_vec(),
            attributes: vec![KeyValue {
                key: "opentracing.ref_type".to_owned(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(
                        if r["refType"] == "CHILD_OF" {
                            "child_of"
                        } else {
                            "follows_from"
                        }
                        .to_owned(),
                    )),
                }),
                ..KeyValue::default()
            }],
            ..Link::default()
        })
        .collect();
    let events = span["logs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|log| {
            let mut fields = Attrs::of(&log["fields"]);
            let name = fields
                .take("event")
                .map(|v| text_of(Some(v)))
                .unwrap_or_default();
            Event {
                time_unix_nano: nanos(&log["timeUnixNano"]),
                name,
                attributes: fields.0,
                dropped_attributes_count: 0,
            }
        })
        .collect();
    let otlp = Span {
        trace_id: trace_id(&span["traceIdHigh"], &span["traceIdLow"]),
        span_id: id(&span["spanId"]).to_be_bytes().to_vec(),
        trace_state,
        parent_span_id: if parent == 0 {
            Vec::new()
        } else {
            parent.to_be_bytes().to_vec()
        },
        flags: (span["flags"].as_u64().expect("flags") & 1) as u32,
        name: span["operationName"].as_str().expect("name").to_owned(),
        kind,
        start_time_unix_nano: nanos(&span["startUnixNano"]),
        end_time_unix_nano: nanos(&span["endUnixNano"]),
        attributes: attrs.0,
        events,
        links,
        status,
        ..Span::default()
    };
    (scope, otlp)
}

/// `error=true` first, then `otel.status_code`, then `http.status_code`.
fn expected_status(attrs: &mut Attrs, kind: i32) -> Option<Status> {
    if attrs.get("error") == Some(any_value::Value::BoolValue(true)) {
        attrs.take("error");
        attrs.take("otel.status_code");
        let message = match attrs.take("otel.status_description") {
            Some(description) => text_of(Some(description)),
            None => text_of(attrs.get("http.status_message")),
        };
        return Some(Status { message, code: 2 });
    }
    if let Some(code) = attrs.take("otel.status_code") {
        let code = match text_of(Some(code)).to_uppercase().as_str() {
            "OK" => 1,
            "ERROR" => 2,
            _ => 0,
        };
        let message = text_of(attrs.take("otel.status_description"));
        return Some(Status { message, code });
    }
    let http = match attrs.get("http.status_code")? {
        any_value::Value::IntValue(code) => code,
        any_value::Value::StringValue(text) => text.parse().ok()?,
        _ => return None,
    };
    let code = match (http, kind) {
        (400..=499, 3) => 2,
        (400..=499, 2) => 0,
        (100..=398, _) => 0,
        _ => 2,
    };
    (code != 0).then(|| Status {
        message: text_of(attrs.get("http.status_message")),
        code,
    })
}

/// Calls gRPC `method` (a full path) at `url` with `message` as the raw request bytes.
pub fn grpc_raw(
    url: &str,
    method: &'static str,
    message: Vec<u8>,
) -> Result<Vec<u8>, tonic::Status> {
    grpc_raw_with(url, method, message, &[])
}

/// `grpc_raw` with request metadata (e.g. `x-scope-orgid`).
pub fn grpc_raw_with(
    url: &str,
    method: &'static str,
    message: Vec<u8>,
    metadata: &[(&'static str, &str)],
) -> Result<Vec<u8>, tonic::Status> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut request = tonic::Request::new(message);
    for (key, value) in metadata {
        request
            .metadata_mut()
            .insert(*key, value.parse().expect("metadata value"));
    }
    runtime.block_on(async move {
        let channel = tonic::transport::Channel::from_shared(url.to_owned())
            .expect("grpc url")
            .connect()
            .await
            .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready()
            .await
            .map_err(|e| tonic::Status::unavailable(format!("channel not ready: {e}")))?;
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(method);
        grpc.unary(request, path, RawCodec)
            .await
            .map(tonic::Response::into_inner)
    })
}

/// A binary-Thrift `Batch` of one span (service `svc`, operation `op`) whose trace id
/// halves are both `trace_half` and whose span id is `span_id`; with `padding` bytes of
/// an extra tag, to make it large.
pub fn thrift_batch(trace_half: u64, span_id: u64, padding: usize) -> Vec<u8> {
    let i64_field = |out: &mut Vec<u8>, id: u8, value: u64| {
        out.extend_from_slice(&[0x0a, 0, id]);
        out.extend_from_slice(&value.to_be_bytes());
    };
    let string_field = |out: &mut Vec<u8>, id: u8, value: &[u8]| {
        out.extend_from_slice(&[0x0b, 0, id]);
        out.extend_from_slice(&(value.len() as u32).to_be_bytes());
        out.extend_from_slice(value);
    };
    // Batch.process = Process { serviceName: "svc" }; Batch.spans = [one span].
    let mut out = vec![0x0c, 0, 1];
    string_field(&mut out, 1, b"svc");
    out.push(0);
    out.extend_from_slice(&[0x0f, 0, 2, 0x0c, 0, 0, 0, 1]);
    for (id, value) in [(1, trace_half), (2, trace_half), (3, span_id), (4, 0)] {
        i64_field(&mut out, id, value);
    }
    string_field(&mut out, 5, b"op");
    out.extend_from_slice(&[0x08, 0, 7, 0, 0, 0, 1]); // flags: sampled
    i64_field(&mut out, 8, 1_700_000_000_000_000); // startTime, microseconds
    i64_field(&mut out, 9, 1_000); // duration
    // tags: [Tag { key: "pad", vType: STRING, vStr: padding }]
    out.extend_from_slice(&[0x0f, 0, 10, 0x0c, 0, 0, 0, 1]);
    string_field(&mut out, 1, b"pad");
    out.extend_from_slice(&[0x08, 0, 2, 0, 0, 0, 0]);
    string_field(&mut out, 3, &vec![b'x'; padding]);
    out.push(0);
    out.extend_from_slice(&[0, 0]); // end of the span, of the batch
    out
}
