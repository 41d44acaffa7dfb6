//! The Zipkin receiver (`receivers.zipkin`) end to end: independent Zipkin clients
//! (the OpenTelemetry Python exporters for JSON v1/v2 and protobuf, py_zipkin's encoders
//! for JSON v1/v2 and protobuf, zipkin-js with its HTTP transport for JSON v1/v2) send a
//! known trace to the real binary, and the trace read back through the Tempo API must be
//! exactly the OpenTelemetry Collector's mapping of what was sent, field by field. Raw
//! HTTP covers the errors, gzip, v1 and the receiver being off by default.
//!
//! Each client script prints the ids and microsecond times it sent; everything else the
//! trace must hold is written out below, per client.

use std::net::TcpStream;

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use serde_json::Value;
use spangate_integration_tests::clients::{gzip, http_request};
use spangate_integration_tests::clients_env::{client_dir, client_python, run_client};
use spangate_integration_tests::harness::{GatewayOptions, TestGateway, free_port};

const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const PRODUCER: i32 = 4;
const CONSUMER: i32 = 5;
const UNSPECIFIED: i32 = 0;

/// A gateway with the Zipkin receiver on a free port, and that port.
fn gateway() -> (TestGateway, u16) {
    let port = free_port();
    let gateway = TestGateway::start_with(GatewayOptions {
        receivers_extra: format!(
            "  zipkin: {{ listen: \"127.0.0.1:{port}\", max_body_bytes: 65536 }}\n"
        ),
        ..GatewayOptions::default()
    });
    (gateway, port)
}

fn post(port: u16, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let response = http_request(
        "POST",
        &format!("http://127.0.0.1:{port}{path}"),
        headers,
        Some(body.to_vec()),
    );
    (response.status, response.text())
}

const JSON: (&str, &str) = ("content-type", "application/json");

// ---------------------------------------------------------------------------------------
// What a client sent, and what the trace must then hold
// ---------------------------------------------------------------------------------------

/// The ids and times a client script printed.
struct Sent {
    trace_id: String,
    /// The resource attributes of an OpenTelemetry SDK (as text).
    resource: Vec<(String, String)>,
    spans: Vec<SentSpan>,
}

struct SentSpan {
    name: String,
    span_id: String,
    parent_id: String,
    start_us: u64,
    end_us: u64,
    events_us: Vec<u64>,
}

fn parse_sent(stdout: &str) -> Sent {
    let line = stdout
        .lines()
        .rev()
        .find(|line| line.starts_with('{'))
        .unwrap_or_else(|| panic!("the client printed no JSON line: {stdout:?}"));
    let v: Value = serde_json::from_str(line).expect("the client's line is JSON");
    let text = |v: &Value, key: &str| {
        v[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} in {v}"))
            .to_owned()
    };
    let number = |v: &Value| v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"));
    Sent {
        trace_id: text(&v, "trace_id"),
        resource: v["resource"]
            .as_object()
            .map(|map| {
                map.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().expect("text").to_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        spans: v["spans"]
            .as_array()
            .expect("a list of spans")
            .iter()
            .map(|s| SentSpan {
                name: text(s, "name"),
                span_id: text(s, "span_id"),
                parent_id: text(s, "parent_id"),
                start_us: number(&s["start_us"]),
                end_us: number(&s["end_us"]),
                events_us: s["events_us"]
                    .as_array()
                    .expect("a list of times")
                    .iter()
                    .map(number)
                    .collect(),
            })
            .collect(),
    }
}

#[derive(Clone, Copy)]
enum V {
    S(&'static str),
    I(i64),
}

/// What one span must hold besides ids and times.
struct Expected {
    name: &'static str,
    kind: i32,
    attributes: Vec<(&'static str, V)>,
    status: (i32, &'static str),
    /// Event names, in order (their times are the client's).
    events: Vec<&'static str>,
}

fn expected(
    name: &'static str,
    kind: i32,
    attributes: &[(&'static str, V)],
    status: (i32, &'static str),
    events: &[&'static str],
) -> Expected {
    Expected {
        name,
        kind,
        attributes: attributes.to_vec(),
        status,
        events: events.to_vec(),
    }
}

fn key_value(key: &str, value: V) -> KeyValue {
    let value = match value {
        V::S(text) => any_value::Value::StringValue(text.to_owned()),
        V::I(number) => any_value::Value::IntValue(number),
    };
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

/// Sorted by key, as the receiver writes attributes.
fn sorted(mut attributes: Vec<KeyValue>) -> Vec<KeyValue> {
    attributes.sort_by(|a, b| a.key.cmp(&b.key));
    attributes
}

/// The trace the gateway must return: one resource (`resource`) and scope, every sent
/// span with its expectation (matched by name), ids and times as sent.
fn expected_trace(
    sent: &Sent,
    resource: Vec<KeyValue>,
    scope: Option<InstrumentationScope>,
    spans: &[Expected],
) -> Vec<ResourceSpans> {
    assert_eq!(sent.spans.len(), spans.len(), "spans sent");
    let trace_id = hex::decode(&sent.trace_id).expect("a hex trace id");
    let otlp_spans = sent
        .spans
        .iter()
        .map(|s| {
            let e = spans
                .iter()
                .find(|e| e.name == s.name)
                .unwrap_or_else(|| panic!("no expectation for span {:?}", s.name));
            assert_eq!(s.events_us.len(), e.events.len(), "events of {}", e.name);
            Span {
                trace_id: trace_id.clone(),
                span_id: hex::decode(&s.span_id).expect("a hex span id"),
                parent_span_id: hex::decode(&s.parent_id).expect("a hex parent id"),
                name: e.name.to_owned(),
                kind: e.kind,
                start_time_unix_nano: s.start_us * 1000,
                end_time_unix_nano: s.end_us * 1000,
                attributes: sorted(e.attributes.iter().map(|(k, v)| key_value(k, *v)).collect()),
                events: e
                    .events
                    .iter()
                    .zip(&s.events_us)
                    .map(|(name, us)| span::Event {
                        time_unix_nano: us * 1000,
                        name: (*name).to_owned(),
                        ..span::Event::default()
                    })
                    .collect(),
                status: Some(Status {
                    code: e.status.0,
                    message: e.status.1.to_owned(),
                }),
                ..Span::default()
            }
        })
        .collect();
    vec![ResourceSpans {
        resource: Some(Resource {
            attributes: sorted(resource),
            ..Resource::default()
        }),
        scope_spans: vec![ScopeSpans {
            scope,
            spans: otlp_spans,
            ..ScopeSpans::default()
        }],
        ..ResourceSpans::default()
    }]
}

fn service(name: &str) -> Vec<KeyValue> {
    vec![key_value_owned("service.name", name)]
}

fn key_value_owned(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    }
}

fn with(base: &[(&'static str, V)], more: &[(&'static str, V)]) -> Vec<(&'static str, V)> {
    base.iter().chain(more).copied().collect()
}

// ---------------------------------------------------------------------------------------
// The OpenTelemetry Python exporters
// ---------------------------------------------------------------------------------------

/// The OpenTelemetry exporters' trace (`tests/clients/zipkin-python/otel_scene.py`):
/// attributes become text tags, resource attributes and the scope travel as tags and come
/// back as resource and scope, events become JSON annotations that the Collector's
/// mapping keeps as event names, an OK status is `otel.status_code: OK`, an error adds an
/// `error` tag with the description (an attribute, as its value is not `true`). The v1
/// encoding carries no kind.
fn otel_expected(sent: &Sent, with_kinds: bool) -> Vec<ResourceSpans> {
    let kind = |k: i32| if with_kinds { k } else { UNSPECIFIED };
    let host = [
        ("net.host.ip", V::S("10.1.2.3")),
        ("net.host.port", V::I(8080)),
    ];
    let spans = [
        expected(
            "GET /checkout",
            kind(SERVER),
            &with(
                &host,
                &[
                    ("http.method", V::S("GET")),
                    ("http.status_code", V::S("200")),
                    ("cached", V::S("false")),
                    ("ratio", V::S("0.5")),
                    ("labels", V::S(r#"["a","b"]"#)),
                ],
            ),
            (1, ""),
            &[r#"{"cache.miss": {"key": "cart:42"}}"#],
        ),
        expected(
            "POST /pay",
            kind(CLIENT),
            &with(
                &host,
                &[
                    ("peer.service", V::S("payments")),
                    ("error", V::S("payment declined")),
                ],
            ),
            (2, ""),
            &[],
        ),
        expected(
            "publish order",
            kind(PRODUCER),
            &with(&host, &[("messaging.system", V::S("kafka"))]),
            (0, ""),
            &[],
        ),
        expected("consume order", kind(CONSUMER), &host, (0, ""), &[]),
        expected("render", UNSPECIFIED, &host, (0, ""), &[r#"{"done": {}}"#]),
    ];
    let resource = sent
        .resource
        .iter()
        .map(|(k, v)| key_value_owned(k, v))
        .collect::<Vec<_>>();
    assert!(
        resource.iter().any(|kv| kv.key == "service.name"),
        "the SDK's resource: {:?}",
        sent.resource
    );
    let scope = InstrumentationScope {
        name: "shop.checkout".to_owned(),
        version: "0.9.1".to_owned(),
        ..InstrumentationScope::default()
    };
    expected_trace(sent, resource, Some(scope), &spans)
}

fn run_otel_json(version: &str) {
    let (gateway, port) = gateway();
    let python = client_python("zipkin-python");
    let output = run_client(
        "zipkin-python",
        &python,
        &["otel_json.py", &format!("http://127.0.0.1:{port}"), version],
        &[],
    );
    let sent = parse_sent(&output.stdout);
    gateway.assert_trace(&sent.trace_id, &otel_expected(&sent, version == "v2"));
}

#[test]
fn opentelemetry_exporter_json_v2() {
    run_otel_json("v2");
}

#[test]
fn opentelemetry_exporter_json_v1() {
    run_otel_json("v1");
}

#[test]
fn opentelemetry_exporter_protobuf() {
    let (gateway, port) = gateway();
    let python = client_python("zipkin-proto-python");
    let output = run_client(
        "zipkin-proto-python",
        &python,
        &["otel_proto.py", &format!("http://127.0.0.1:{port}")],
        &[],
    );
    let sent = parse_sent(&output.stdout);
    gateway.assert_trace(&sent.trace_id, &otel_expected(&sent, true));
}

// ---------------------------------------------------------------------------------------
// py_zipkin and zipkin-js
// ---------------------------------------------------------------------------------------

/// The trace of py_zipkin (`tests/clients/zipkin-python/py_zipkin_client.py`) and zipkin-js
/// (`tests/clients/zipkin-node/client.js`): remote endpoints become `peer.service` /
/// `net.peer.ip` / `net.peer.port`, the local one `net.host.*`; `error: true` is an error
/// status and no attribute, `error: <text>` both. The clients differ in the payment
/// service's address (`payments_ip`), and py_zipkin's v1 encoder cannot write a messaging
/// span's remote endpoint (`broker`).
fn zipkin_clients_expected(
    sent: &Sent,
    service_name: &str,
    payments_ip: &'static str,
    broker: bool,
) -> Vec<ResourceSpans> {
    let host = [
        ("net.host.ip", V::S("10.1.2.3")),
        ("net.host.port", V::I(8080)),
    ];
    let broker: &[(&str, V)] = if broker {
        &[
            ("peer.service", V::S("kafka")),
            ("net.peer.ip", V::S("10.0.0.5")),
            ("net.peer.port", V::I(9092)),
        ]
    } else {
        &[]
    };
    let spans = [
        expected(
            "get /checkout",
            SERVER,
            &with(
                &host,
                &[
                    ("http.method", V::S("GET")),
                    ("http.path", V::S("/checkout")),
                    ("net.peer.ip", V::S("192.168.0.7")),
                    ("net.peer.port", V::I(51000)),
                ],
            ),
            (0, ""),
            &["cache.miss"],
        ),
        expected(
            "post /pay",
            CLIENT,
            &with(
                &host,
                &[
                    ("error", V::S("payment declined")),
                    ("http.status_code", V::S("502")),
                    ("peer.service", V::S("payments")),
                    ("net.peer.ip", V::S(payments_ip)),
                    ("net.peer.port", V::I(9000)),
                ],
            ),
            (2, ""),
            &[],
        ),
        expected(
            "publish order",
            PRODUCER,
            &with(&with(&host, &[("messaging.system", V::S("kafka"))]), broker),
            (0, ""),
            &[],
        ),
        expected(
            "consume order",
            CONSUMER,
            &with(&host, &[("messaging.destination", V::S("orders"))]),
            (0, ""),
            &[],
        ),
        expected(
            "render",
            UNSPECIFIED,
            &with(&host, &[("lc", V::S("templates"))]),
            (2, ""),
            &[],
        ),
    ];
    expected_trace(sent, service(service_name), None, &spans)
}

fn run_py_zipkin(encoding: &str) {
    let (gateway, port) = gateway();
    let python = client_python("zipkin-python");
    let output = run_client(
        "zipkin-python",
        &python,
        &[
            "py_zipkin_client.py",
            &format!("http://127.0.0.1:{port}"),
            encoding,
        ],
        &[],
    );
    let sent = parse_sent(&output.stdout);
    let v1 = encoding == "V1_JSON";
    if v1 {
        assert!(
            sent.trace_id.starts_with("0000000000000000"),
            "a 64-bit trace id"
        );
    }
    gateway.assert_trace(
        &sent.trace_id,
        &zipkin_clients_expected(&sent, "shop-py", "2001:db8::7", !v1),
    );
}

#[test]
fn py_zipkin_json_v2() {
    run_py_zipkin("V2_JSON");
}

#[test]
fn py_zipkin_json_v1_with_a_64_bit_trace_id() {
    run_py_zipkin("V1_JSON");
}

#[test]
fn py_zipkin_protobuf() {
    run_py_zipkin("V2_PROTO3");
}

fn run_zipkin_js(version: &str) {
    let (gateway, port) = gateway();
    let node = std::path::Path::new("node");
    assert!(
        client_dir("zipkin-node")
            .join("node_modules/zipkin")
            .is_dir(),
        "tests/clients/zipkin-node has no node_modules: run `make clients`"
    );
    let output = run_client(
        "zipkin-node",
        node,
        &["client.js", &format!("http://127.0.0.1:{port}"), version],
        &[],
    );
    let sent = parse_sent(&output.stdout);
    gateway.assert_trace(
        &sent.trace_id,
        &zipkin_clients_expected(&sent, "shop-js", "10.9.8.7", true),
    );
}

#[test]
fn zipkin_js_json_v2() {
    run_zipkin_js("v2");
}

#[test]
fn zipkin_js_json_v1() {
    run_zipkin_js("v1");
}

// ---------------------------------------------------------------------------------------
// Raw HTTP
// ---------------------------------------------------------------------------------------

/// A v2 JSON span of trace `trace_id` (32 hex digits), started now.
fn v2_span(trace_id: &str, span_id: &str) -> String {
    let now_us = spangate_integration_tests::ids::now_nanos() / 1000;
    format!(
        r#"{{"traceId":"{trace_id}","id":"{span_id}","name":"raw","kind":"SERVER",
            "timestamp":{now_us},"duration":1500,
            "localEndpoint":{{"serviceName":"raw-svc","ipv6":"::1","port":80}},
            "tags":{{"k":"v","otel.status_code":"STATUS_CODE_ERROR","otel.status_description":"bad"}}}}"#
    )
}

#[test]
fn raw_v2_json_plain_and_gzip_is_accepted_and_stored() {
    let (gateway, port) = gateway();
    let trace_id = hex::encode(spangate_integration_tests::ids::trace_id());
    let body = format!(
        "[{},{}]",
        v2_span(&trace_id, "00000000000000a1"),
        v2_span(&trace_id, "00000000000000a2")
    );
    let (status, text) = post(port, "/api/v2/spans", &[JSON], body.as_bytes());
    assert_eq!((status, text.as_str()), (202, ""));
    let other = hex::encode(spangate_integration_tests::ids::trace_id());
    let gzipped = gzip(format!("[{}]", v2_span(&other, "00000000000000b1")).as_bytes());
    let (status, text) = post(
        port,
        "/api/v2/spans",
        &[JSON, ("content-encoding", "gzip")],
        &gzipped,
    );
    assert_eq!(status, 202, "{text}");
    for (trace, count) in [(&trace_id, 2), (&other, 1)] {
        let stored = gateway.wait_for_spans(trace, count);
        let spans: Vec<&Span> = stored
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
            .collect();
        assert_eq!(spans.len(), count, "{stored:?}");
        for span in spans {
            assert_eq!(span.kind, SERVER);
            assert_eq!(
                span.end_time_unix_nano - span.start_time_unix_nano,
                1_500_000
            );
            assert_eq!(
                span.status,
                Some(Status {
                    code: 2,
                    message: "bad".to_owned()
                })
            );
            let keys: Vec<_> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
            assert_eq!(keys, ["k", "net.host.ip", "net.host.port"]);
        }
        let resource = stored[0].resource.clone().unwrap_or_default();
        assert_eq!(resource.attributes, service("raw-svc"));
    }
}

#[test]
fn raw_v1_json_is_accepted_and_converted() {
    let (gateway, port) = gateway();
    let trace_id = &hex::encode(spangate_integration_tests::ids::trace_id())[16..];
    let now_us = spangate_integration_tests::ids::now_nanos() / 1000;
    let body = format!(
        r#"[{{"traceId":"{trace_id}","id":"00000000000000c1","name":"get","annotations":[
            {{"timestamp":{now_us},"value":"cs","endpoint":{{"serviceName":"web","ipv4":"10.0.0.1"}}}},
            {{"timestamp":{},"value":"cr","endpoint":{{"serviceName":"web","ipv4":"10.0.0.1"}}}}],
            "binaryAnnotations":[{{"key":"sa","value":true,"endpoint":{{"serviceName":"db","port":5432}}}},
            {{"key":"retries","value":3}}]}}]"#,
        now_us + 2000
    );
    let (status, text) = post(port, "/api/v1/spans", &[JSON], body.as_bytes());
    assert_eq!(status, 202, "{text}");
    let full_id = format!("0000000000000000{trace_id}");
    let stored = gateway.wait_for_spans(&full_id, 1);
    let span = &stored[0].scope_spans[0].spans[0];
    assert_eq!(span.kind, CLIENT);
    assert_eq!(span.start_time_unix_nano, now_us * 1000);
    assert_eq!(span.end_time_unix_nano, (now_us + 2000) * 1000);
    assert!(span.events.is_empty(), "core annotations are not events");
    assert_eq!(
        span.attributes,
        [
            key_value("net.host.ip", V::S("10.0.0.1")),
            key_value("net.peer.port", V::I(5432)),
            key_value("peer.service", V::S("db")),
            key_value("retries", V::S("3")),
        ]
    );
    assert_eq!(
        stored[0].resource.clone().unwrap().attributes,
        service("web")
    );
}

#[test]
fn malformed_payloads_are_400_with_the_problem_named() {
    let (_gateway, port) = gateway();
    for (path, headers, body, expected) in [
        (
            "/api/v2/spans",
            vec![JSON],
            &br#"[{"traceId":"xyz","id":"1"}]"#[..],
            "invalid Zipkin v2 JSON at `[0].traceId`: `xyz` is not a hex id of 1 to 32 digits",
        ),
        (
            "/api/v2/spans",
            vec![JSON],
            b"[{\"traceId\":",
            "invalid Zipkin v2 JSON at `[0]",
        ),
        (
            "/api/v1/spans",
            vec![JSON],
            br#"[{"traceId":"1","id":"2","annotations":[{"timestamp":-1,"value":"cs"}]}]"#,
            "invalid Zipkin v1 JSON at `[0].annotations[0].timestamp`",
        ),
        (
            "/api/v2/spans",
            vec![("content-type", "application/x-protobuf")],
            b"\x0a\x05\x0a",
            "invalid Zipkin protobuf: ",
        ),
        (
            "/api/v2/spans",
            vec![("content-type", "application/x-protobuf")],
            // One span whose trace_id has 3 bytes.
            b"\x0a\x05\x0a\x03\x01\x02\x03",
            "invalid Zipkin protobuf at `spans[0].trace_id`: has 3 bytes; expected 8 or 16",
        ),
        (
            "/api/v2/spans",
            vec![JSON, ("content-encoding", "gzip")],
            b"not gzip",
            "invalid gzip body",
        ),
    ] {
        let (status, text) = post(port, path, &headers, body);
        assert_eq!(status, 400, "{path} {body:?}: {text}");
        assert!(text.starts_with(expected), "{path} {body:?}: {text:?}");
    }
}

#[test]
fn wrong_content_types_and_sizes_are_refused() {
    let (_gateway, port) = gateway();
    let (status, text) = post(
        port,
        "/api/v2/spans",
        &[("content-type", "text/plain")],
        b"[]",
    );
    assert_eq!(status, 415, "{text}");
    assert!(
        text.contains("application/json or application/x-protobuf"),
        "{text}"
    );
    let (status, text) = post(
        port,
        "/api/v1/spans",
        &[("content-type", "application/x-thrift")],
        b"\x0c",
    );
    assert_eq!(status, 415, "{text}");
    let (status, text) = post(
        port,
        "/api/v2/spans",
        &[JSON, ("content-encoding", "br")],
        b"[]",
    );
    assert_eq!(status, 415, "{text}");
    // 65536 bytes as sent, and after decompression.
    let big = format!("[{}]", " ".repeat(70_000));
    let (status, text) = post(port, "/api/v2/spans", &[JSON], big.as_bytes());
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("receivers.zipkin.max_body_bytes"), "{text}");
    let (status, text) = post(
        port,
        "/api/v2/spans",
        &[JSON, ("content-encoding", "gzip")],
        &gzip(big.as_bytes()),
    );
    assert_eq!(status, 413, "{text}");
    // An empty list is fine; a missing content type is JSON, as Zipkin reads it.
    assert_eq!(post(port, "/api/v2/spans", &[], b"[]").0, 202);
    let response = http_request(
        "GET",
        &format!("http://127.0.0.1:{port}/api/v2/spans"),
        &[],
        None,
    );
    assert_eq!(response.status, 405);
    assert_eq!(post(port, "/api/v3/spans", &[JSON], b"[]").0, 404);
}

#[test]
fn refusals_and_acceptances_are_counted() {
    let (gateway, port) = gateway();
    let trace_id = hex::encode(spangate_integration_tests::ids::trace_id());
    let body = format!("[{}]", v2_span(&trace_id, "00000000000000d1"));
    assert_eq!(post(port, "/api/v2/spans", &[JSON], body.as_bytes()).0, 202);
    assert_eq!(post(port, "/api/v2/spans", &[JSON], b"{").0, 400);
    let metrics = gateway.get("/metrics").text();
    for line in [
        r#"spangate_spans_accepted_total{transport="zipkin"} 1"#,
        r#"spangate_requests_refused_total{transport="zipkin",reason="malformed"} 1"#,
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line:?} in\n{metrics}"
        );
    }
}

#[test]
fn the_receiver_is_off_unless_configured() {
    let without = TestGateway::start();
    let log = without.stderr();
    for server in ["otlp grpc receiver", "otlp http", "query"] {
        assert!(
            log.contains(&format!("{server} listening")),
            "{}",
            without.logs()
        );
    }
    assert!(!log.contains("zipkin listening"), "{}", without.logs());
    let (with_zipkin, port) = gateway();
    assert!(
        with_zipkin.stderr().contains("zipkin listening"),
        "{}",
        with_zipkin.logs()
    );
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
}

#[test]
fn the_tenant_is_the_scope_org_id() {
    let port = free_port();
    let gateway = TestGateway::start_with(GatewayOptions {
        receivers_extra: format!("  zipkin: {{ listen: \"127.0.0.1:{port}\" }}\n"),
        extra_yaml: "multitenancy: { enabled: true }\n".to_owned(),
        ..GatewayOptions::default()
    });
    let trace_id = hex::encode(spangate_integration_tests::ids::trace_id());
    let body = format!("[{}]", v2_span(&trace_id, "00000000000000e1"));
    let (status, text) = post(port, "/api/v2/spans", &[JSON], body.as_bytes());
    assert_eq!((status, text.as_str()), (401, "no org id\n"));
    let (status, text) = post(
        port,
        "/api/v2/spans",
        &[JSON, ("x-scope-orgid", "team-a")],
        body.as_bytes(),
    );
    assert_eq!(status, 202, "{text}");
    let path = format!("/api/v2/traces/{trace_id}");
    let mut found = false;
    for _ in 0..100 {
        let response = gateway.get_with(&path, &[("x-scope-orgid", "team-a")]);
        if response.status == 200 && response.text().contains("raw-svc") {
            found = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(found, "team-a does not see its trace");
    let other = gateway.get_with(&path, &[("x-scope-orgid", "team-b")]);
    assert!(!other.text().contains("raw-svc"), "{}", other.describe());
    let metrics = gateway.get("/metrics").text();
    let line = r#"spangate_requests_refused_total{transport="zipkin",reason="unauthenticated"} 1"#;
    assert!(
        metrics.lines().any(|l| l == line),
        "no {line:?} in\n{metrics}"
    );
}
