//! The Jaeger receivers through the real binary, driven by independent Jaeger clients
//! (`tests/clients/jaeger-python`: the OpenTelemetry SDK's Jaeger exporters and
//! jaeger-client; `tests/clients/jaeger-node`: the Node.js jaeger-client). Each client
//! sends a known trace and prints the Jaeger batches it sent; the trace read back by id
//! must hold exactly their OTLP mapping (`spangate_integration_tests::jaeger`), field by
//! field, in every answer form. Raw tests cover malformed input on every transport.

use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use spangate_integration_tests::clients::http_request;
use spangate_integration_tests::clients_env::{client_python, run_client};
use spangate_integration_tests::compare::{FlatSpan, flatten};
use spangate_integration_tests::harness::{free_port, run_until_exit};
use spangate_integration_tests::jaeger::{
    Sent, expected_otlp, grpc_raw, grpc_raw_with, thrift_batch,
};
use spangate_integration_tests::prom;
use spangate_integration_tests::{GatewayOptions, TestGateway};

const PYTHON: &str = "jaeger-python";
const NODE: &str = "jaeger-node";
const POST_SPANS: &str = "/jaeger.api_v2.CollectorService/PostSpans";

/// A gateway with the Jaeger receivers of `transports` (`grpc`, `thrift_http`,
/// `thrift_compact`, `thrift_binary`), each on a fresh loopback port; returns the ports.
fn gateway_with(transports: &[&str]) -> (TestGateway, Vec<u16>) {
    let ports: Vec<u16> = transports.iter().map(|_| free_port()).collect();
    let entries: Vec<String> = transports
        .iter()
        .zip(&ports)
        .map(|(transport, port)| format!("{transport}: {{ listen: \"127.0.0.1:{port}\" }}"))
        .collect();
    let gateway = TestGateway::start_with(GatewayOptions {
        receivers_extra: format!("  jaeger: {{ {} }}\n", entries.join(", ")),
        ..GatewayOptions::default()
    });
    (gateway, ports)
}

/// The trace the client sent, stored exactly as mapped, in every answer form.
fn assert_stored(gateway: &TestGateway, sent: &Sent) -> Vec<FlatSpan> {
    assert!(
        sent.span_count() >= 4,
        "the client sent too little: {sent:?}"
    );
    gateway.assert_trace(&sent.trace_id, &expected_otlp(sent));
    flatten(&gateway.wait_for_spans(&sent.trace_id, sent.span_count()))
}

fn stored<'a>(spans: &'a [FlatSpan], name: &str) -> &'a FlatSpan {
    spans
        .iter()
        .find(|flat| flat.span.name == name)
        .unwrap_or_else(|| panic!("no stored span {name:?}"))
}

fn attribute(
    flat: &[opentelemetry_proto::tonic::common::v1::KeyValue],
    key: &str,
) -> Option<Value> {
    flat.iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.clone()?.value)
}

fn python(args: &[&str]) -> Sent {
    let output = run_client(PYTHON, &client_python(PYTHON), args, &[]);
    Sent::parse(&output.stdout)
}

fn node(args: &[&str]) -> Sent {
    let mut all = vec!["send.js"];
    all.extend_from_slice(args);
    let output = run_client(NODE, Path::new("node"), &all, &[]);
    Sent::parse(&output.stdout)
}

/// What the OpenTelemetry exporters' trace must look like, whatever the transport.
fn assert_otel_semantics(spans: &[FlatSpan], service: &str) {
    let root = stored(spans, "checkout");
    assert_eq!(root.span.kind, 2, "SERVER");
    let status = root.span.status.clone().unwrap_or_default();
    assert_eq!((status.code, status.message.as_str()), (2, "card declined"));
    assert_eq!(root.scope.name, "shop.checkout");
    assert_eq!(root.scope.version, "1.2.3");
    assert_eq!(
        attribute(&root.resource.attributes, "service.name"),
        Some(Value::StringValue(service.to_owned()))
    );
    assert_eq!(
        attribute(&root.span.attributes, "items"),
        Some(Value::IntValue(3))
    );
    assert_eq!(
        attribute(&root.span.attributes, "amount"),
        Some(Value::DoubleValue(12.5))
    );
    assert_eq!(
        attribute(&root.span.attributes, "retry"),
        Some(Value::BoolValue(true))
    );
    assert_eq!(root.span.events.len(), 1);
    let charge = stored(spans, "charge");
    assert_eq!(charge.span.kind, 3, "CLIENT");
    assert_eq!(charge.span.status.clone().unwrap_or_default().code, 1, "OK");
    assert_eq!(charge.span.parent_span_id, root.span.span_id);
    let enqueue = stored(spans, "enqueue");
    assert_eq!(enqueue.span.kind, 4, "PRODUCER");
    assert_eq!(charge.span.links.len(), 1, "the link to enqueue");
    assert_eq!(charge.span.links[0].span_id, enqueue.span.span_id);
    assert_eq!(stored(spans, "consume").span.kind, 5, "CONSUMER");
    assert_eq!(stored(spans, "compute").span.kind, 1, "INTERNAL");
    assert!(spans.iter().all(|flat| flat.span.flags == 1), "sampled");
}

#[test]
fn otel_python_thrift_over_agent_udp_compact() {
    let (gateway, ports) = gateway_with(&["thrift_compact"]);
    let sent = python(&[
        "otel_send.py",
        "thrift-udp",
        "127.0.0.1",
        &ports[0].to_string(),
    ]);
    let spans = assert_stored(&gateway, &sent);
    assert_otel_semantics(&spans, "otel-python-thrift-udp");
}

#[test]
fn otel_python_thrift_over_http() {
    let (gateway, ports) = gateway_with(&["thrift_http"]);
    let url = format!(
        "http://127.0.0.1:{}/api/traces?format=jaeger.thrift",
        ports[0]
    );
    let sent = python(&["otel_send.py", "thrift-http", &url]);
    let spans = assert_stored(&gateway, &sent);
    assert_otel_semantics(&spans, "otel-python-thrift-http");
}

#[test]
fn otel_python_protobuf_over_grpc() {
    let (gateway, ports) = gateway_with(&["grpc"]);
    let sent = python(&["otel_send.py", "grpc", &format!("127.0.0.1:{}", ports[0])]);
    let spans = assert_stored(&gateway, &sent);
    assert_otel_semantics(&spans, "otel-python-grpc");
    // The gRPC exporter sends the resource as process tags, and the parent as a CHILD_OF
    // reference, which must not also become a link.
    let root = stored(&spans, "checkout");
    assert_eq!(
        attribute(&root.resource.attributes, "deployment.environment"),
        Some(Value::StringValue("e2e".to_owned()))
    );
    assert!(stored(&spans, "consume").span.links.is_empty());
}

/// Datagrams that are not `emitBatch` messages, and one too large: counted and dropped,
/// nothing else. Returns how many of each (malformed, too large) were sent.
fn send_garbage(port: u16) -> (f64, f64) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    let target = SocketAddr::from(([127, 0, 0, 1], port));
    let datagrams: [&[u8]; 4] = [
        b"",
        b"\x82\x21\x01\x09emitBatch\x1c\x1c\xff\xff\xff\xff\x0f",
        b"\x80\x01\x00\x04\x00\x00\x00\x09emitBatch\x00\x00\x00\x01\x0c\x00\x01\x0f\x00\x02\x0c\x7f\xff\xff\xff",
        &[0xab; 70_000][..65_001],
    ];
    for datagram in datagrams {
        socket.send_to(datagram, target).expect("send datagram");
    }
    (3.0, 1.0)
}

/// Waits until the gateway has counted the garbage of `send_garbage` on `transport`.
fn wait_for_garbage(gateway: &TestGateway, transport: &str, (malformed, too_large): (f64, f64)) {
    gateway.wait_for_metrics("the garbage datagrams counted", |samples| {
        let count = |reason| {
            prom::sum(
                samples,
                "spangate_requests_refused_total",
                &[("transport", transport), ("reason", reason)],
            )
        };
        count("malformed") == malformed && count("too_large") == too_large
    });
}

fn refused(gateway: &TestGateway, transport: &str, reason: &str) -> f64 {
    prom::sum(
        &gateway.metrics(),
        "spangate_requests_refused_total",
        &[("transport", transport), ("reason", reason)],
    )
}

#[test]
fn jaeger_client_python_over_agent_udp_compact_after_garbage() {
    let (mut gateway, ports) = gateway_with(&["thrift_compact"]);
    let garbage = send_garbage(ports[0]);
    wait_for_garbage(&gateway, "jaeger_thrift_compact", garbage);
    let sent = python(&["jaeger_client_send.py", "127.0.0.1", &ports[0].to_string()]);
    let spans = assert_stored(&gateway, &sent);
    let root = stored(&spans, "checkout");
    assert_eq!(root.span.kind, 2);
    assert_eq!(
        root.span.status.clone().unwrap_or_default().code,
        2,
        "error=true"
    );
    assert_eq!(root.span.events[0].name, "validated");
    assert_eq!(
        attribute(&root.resource.attributes, "opencensus.exporterversion"),
        Some(Value::StringValue("Jaeger-Python-4.8.0".to_owned()))
    );
    assert!(attribute(&root.resource.attributes, "host.name").is_some());
    let charge = stored(&spans, "charge");
    // 503 from a client span is an error; the follows-from reference is a link.
    assert_eq!(charge.span.status.clone().unwrap_or_default().code, 2);
    assert_eq!(charge.span.parent_span_id, root.span.span_id);
    assert_eq!(charge.span.links.len(), 1);
    assert!(
        gateway.is_running(),
        "the garbage must not stop the gateway"
    );
    // Nothing else was refused.
    wait_for_garbage(&gateway, "jaeger_thrift_compact", garbage);
}

#[test]
fn jaeger_client_node_over_agent_udp_binary_after_garbage() {
    let (gateway, ports) = gateway_with(&["thrift_binary"]);
    let garbage = send_garbage(ports[0]);
    let sent = node(&["udp", "127.0.0.1", &ports[0].to_string()]);
    let spans = assert_stored(&gateway, &sent);
    assert_node_semantics(&spans);
    wait_for_garbage(&gateway, "jaeger_thrift_binary", garbage);
}

#[test]
fn jaeger_client_node_over_http_chunked() {
    let (gateway, ports) = gateway_with(&["thrift_http"]);
    let sent = node(&["http", &format!("http://127.0.0.1:{}/api/traces", ports[0])]);
    let spans = assert_stored(&gateway, &sent);
    assert_node_semantics(&spans);
    let accepted = prom::sum(
        &gateway.metrics(),
        "spangate_spans_accepted_total",
        &[("transport", "jaeger_thrift_http")],
    );
    assert_eq!(accepted, sent.span_count() as f64);
}

fn assert_node_semantics(spans: &[FlatSpan]) {
    let root = stored(spans, "checkout");
    assert_eq!(root.span.kind, 2);
    let status = root.span.status.clone().unwrap_or_default();
    assert_eq!((status.code, status.message.as_str()), (2, "card declined"));
    assert_eq!(root.span.trace_state, "vendor=value");
    assert_eq!(
        attribute(&root.span.attributes, "payload"),
        Some(Value::BytesValue(vec![0, 1, 254, 255]))
    );
    // Node's numbers are doubles.
    assert_eq!(
        attribute(&root.span.attributes, "items"),
        Some(Value::DoubleValue(3.0))
    );
    assert_eq!(root.span.events[0].name, "validated");
    let charge = stored(spans, "charge");
    // Node sends http.status_code as a double, which is no status code: no status, and
    // the tag stays an attribute.
    assert_eq!(charge.span.status.clone().unwrap_or_default().code, 0);
    assert_eq!(
        attribute(&charge.span.attributes, "http.status_code"),
        Some(Value::DoubleValue(404.0))
    );
    assert_eq!(charge.span.events[0].name, "");
    let consume = stored(spans, "consume");
    assert_eq!(consume.span.kind, 5);
    assert_eq!(consume.span.links.len(), 1, "follows_from stays a link");
}

#[test]
fn malformed_thrift_over_http_is_refused_with_a_message() {
    let (gateway, ports) = gateway_with(&["thrift_http"]);
    let url = format!("http://127.0.0.1:{}/api/traces", ports[0]);
    let thrift = [("content-type", "application/x-thrift")];
    let response = http_request(
        "POST",
        &url,
        &thrift,
        Some(b"\x0c\x00\x01\x0b\x00\x01\x7f\xff\xff\xff".to_vec()),
    );
    assert_eq!(response.status, 400, "{}", response.describe());
    assert!(
        response
            .text()
            .contains("invalid Thrift batch: Batch.process: Process.serviceName: invalid length"),
        "{}",
        response.describe()
    );
    let response = http_request("POST", &url, &thrift, Some(b"\x00".to_vec()));
    assert_eq!(response.status, 400);
    assert!(
        response
            .text()
            .contains("required field `process` is missing"),
        "{}",
        response.text()
    );
    let response = http_request(
        "POST",
        &url,
        &[("content-type", "application/json")],
        Some(b"{}".to_vec()),
    );
    assert_eq!(response.status, 415, "{}", response.describe());
    assert!(response.text().contains("application/x-thrift"));
    let response = http_request(
        "POST",
        &format!("http://127.0.0.1:{}/v1/traces", ports[0]),
        &thrift,
        Some(Vec::new()),
    );
    assert_eq!(response.status, 404);
    // A batch of spans with all-zero ids stores nothing and says why.
    let zero_ids = thrift_batch(0, 0, 0);
    let response = http_request("POST", &url, &thrift, Some(zero_ids));
    assert_eq!(response.status, 400, "{}", response.describe());
    assert!(
        response.text().contains("invalid trace_id: all zero"),
        "{}",
        response.text()
    );
    assert_eq!(refused(&gateway, "jaeger_thrift_http", "malformed"), 2.0);
    assert_eq!(
        refused(&gateway, "jaeger_thrift_http", "unsupported_media"),
        1.0
    );
}

/// A length-delimited protobuf field.
fn field(number: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![(number << 3) | 2];
    let mut length = bytes.len();
    while length >= 0x80 {
        out.push((length as u8) | 0x80);
        length >>= 7;
    }
    out.push(length as u8);
    out.extend_from_slice(bytes);
    out
}

#[test]
fn malformed_grpc_is_invalid_argument() {
    let (gateway, ports) = gateway_with(&["grpc"]);
    let url = format!("http://127.0.0.1:{}", ports[0]);
    let status = grpc_raw(&url, POST_SPANS, vec![0x0a, 0xff, 0x01]).unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status
            .message()
            .contains("failed to decode Protobuf message"),
        "{status:?}"
    );
    let span = [field(1, &[7; 16]), field(2, &[1, 2, 3])].concat();
    let request = field(1, &field(1, &span));
    let status = grpc_raw(&url, POST_SPANS, request).unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert_eq!(
        status.message(),
        "invalid jaeger.api_v2 batch: span 0: span_id has 3 bytes; expected 8"
    );
    let status =
        grpc_raw(&url, "/jaeger.api_v2.CollectorService/GetTrace", Vec::new()).unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unimplemented);
    // A valid one is stored.
    let span = [
        field(1, &[7; 16]),
        field(2, &[0, 0, 0, 0, 0, 0, 0, 9]),
        field(3, b"op"),
        field(6, &[0x08, 0x80, 0xe2, 0xcf, 0xaa, 0x06]), // start 1_700_000_000 s
        field(7, &[0x10, 0xe8, 0x07]),                   // 1000 ns
    ]
    .concat();
    let request = field(1, &[field(1, &span), field(2, &field(1, b"svc"))].concat());
    grpc_raw(&url, POST_SPANS, request).expect("a valid PostSpans");
    let spans = gateway.wait_for_spans(&"07".repeat(16), 1);
    let flat = flatten(&spans);
    assert_eq!(flat.len(), 1);
    assert_eq!(flat[0].span.name, "op");
    assert_eq!(flat[0].span.start_time_unix_nano, 1_700_000_000_000_000_000);
    assert_eq!(flat[0].span.end_time_unix_nano, 1_700_000_000_000_001_000);
    assert_eq!(refused(&gateway, "jaeger_grpc", "malformed"), 2.0);
}

#[test]
fn tenants_and_size_limits_apply_as_for_otlp() {
    let (grpc, http) = (free_port(), free_port());
    let gateway = TestGateway::start_with(GatewayOptions {
        receivers_extra: format!(
            "  jaeger:\n    grpc: {{ listen: \"127.0.0.1:{grpc}\", max_message_bytes: 1024 }}\n    \
             thrift_http: {{ listen: \"127.0.0.1:{http}\", max_body_bytes: 1024 }}\n"
        ),
        extra_yaml: "multitenancy: { enabled: true }\n".to_owned(),
        ..GatewayOptions::default()
    });
    let url = format!("http://127.0.0.1:{http}/api/traces");
    let thrift = ("content-type", "application/x-thrift");
    let team = ("x-scope-orgid", "team-a");
    let response = http_request(
        "POST",
        &url,
        &[thrift],
        Some(thrift_batch(0x0505_0505_0505_0505, 1, 0)),
    );
    assert_eq!(response.status, 401, "{}", response.describe());
    assert!(response.text().contains("no org id"), "{}", response.text());
    let response = http_request(
        "POST",
        &url,
        &[thrift, team],
        Some(thrift_batch(0x0505_0505_0505_0505, 1, 2000)),
    );
    assert_eq!(response.status, 413, "{}", response.describe());
    assert!(
        response
            .text()
            .contains("receivers.jaeger.thrift_http.max_body_bytes")
    );
    let response = http_request(
        "POST",
        &url,
        &[thrift, team],
        Some(thrift_batch(0x0505_0505_0505_0505, 1, 0)),
    );
    assert_eq!(response.status, 202, "{}", response.describe());
    assert!(response.body.is_empty());

    let grpc_url = format!("http://127.0.0.1:{grpc}");
    let span = [
        field(1, &[6; 16]),
        field(2, &[0, 0, 0, 0, 0, 0, 0, 2]),
        field(3, b"op"),
    ]
    .concat();
    let request = field(1, &[field(1, &span), field(2, &field(1, b"svc"))].concat());
    let status = grpc_raw(&grpc_url, POST_SPANS, request.clone()).unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    let large = field(1, &field(2, &field(1, &[b's'; 120]).repeat(10)));
    let status = grpc_raw_with(&grpc_url, POST_SPANS, large, &[team]).unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    grpc_raw_with(&grpc_url, POST_SPANS, request, &[team]).expect("PostSpans as team-a");

    // Each trace belongs to team-a only.
    for trace in ["05".repeat(16), "06".repeat(16)] {
        let path = format!("/api/traces/{trace}");
        assert_eq!(gateway.get_with(&path, &[team]).status, 200, "{trace}");
        let other = gateway.get_with(&path, &[("x-scope-orgid", "team-b")]);
        assert_eq!(other.status, 404, "{trace}: {}", other.describe());
    }
    assert_eq!(
        refused(&gateway, "jaeger_thrift_http", "unauthenticated"),
        1.0
    );
    assert_eq!(refused(&gateway, "jaeger_thrift_http", "too_large"), 1.0);
    assert_eq!(refused(&gateway, "jaeger_grpc", "unauthenticated"), 1.0);
    assert_eq!(refused(&gateway, "jaeger_grpc", "too_large"), 1.0);
}

#[test]
fn every_jaeger_receiver_is_off_by_default() {
    let gateway = TestGateway::start();
    for port in [14250, 14268] {
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        assert!(
            TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_err(),
            "something listens on {address}"
        );
    }
    assert!(!gateway.stderr().contains("jaeger"), "{}", gateway.stderr());
    let samples = gateway.metrics();
    assert_eq!(
        prom::sum(
            &samples,
            "spangate_spans_accepted_total",
            &[("transport", "jaeger_grpc")]
        ),
        0.0
    );
}

#[test]
fn the_udp_receivers_are_refused_with_multitenancy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("spangate.yaml");
    std::fs::write(
        &config,
        format!(
            "storage: {{ data_dir: ./data }}\nmultitenancy: {{ enabled: true }}\nquery: {{ listen: \"127.0.0.1:{}\" }}\n\
             receivers:\n  otlp_grpc: {{ enabled: false }}\n  otlp_http: {{ enabled: false }}\n  \
             jaeger: {{ thrift_compact: {{ listen: \"127.0.0.1:{}\" }} }}\n",
            free_port(),
            free_port()
        ),
    )
    .expect("write config");
    let failure = run_until_exit(&config, dir.path());
    assert!(!failure.status.success());
    assert!(
        failure
            .stderr
            .contains("receivers.jaeger.thrift_compact.listen")
            && failure.stderr.contains("multitenancy"),
        "{}",
        failure.stderr
    );
}
