//! OTLP/gRPC receiver, end to end: the Rust OpenTelemetry SDK and a raw tonic client send
//! spans; they are read back through the query API.

use opentelemetry_otlp::Compression;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use prost::Message as _;
use spangate_integration_tests::fixtures::{self, NANOS_PER_SEC, av_int, kv, rich_request};
use spangate_integration_tests::{GatewayOptions, TestGateway, assert_same_spans, ids, sdk};
use tonic::Code;

/// The Rust SDK's tonic exporter with a real tracer provider, optionally gzip-compressing.
fn rust_sdk_over_tonic(compression: Option<Compression>) {
    let gw = TestGateway::start();
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let exporter = sdk::tonic_exporter(&rt, &gw, compression);
    sdk::export_and_check(&gw, exporter, &format!("rust-sdk-grpc-{compression:?}"));
}

#[test]
fn rust_sdk_tonic_exporter_spans_are_read_back() {
    rust_sdk_over_tonic(None);
}

#[test]
fn rust_sdk_tonic_exporter_with_gzip_spans_are_read_back() {
    rust_sdk_over_tonic(Some(Compression::Gzip));
}

#[test]
fn rich_request_round_trips_in_every_form() {
    let gw = TestGateway::start();
    let rich = rich_request();
    gw.grpc().export_ok(&rich.request);
    gw.assert_rich_stored(&rich);
}

#[test]
fn gzip_compressed_rich_request_round_trips() {
    let gw = TestGateway::start();
    let rich = rich_request();
    let resp = gw
        .grpc()
        .export_gzip(&rich.request)
        .unwrap_or_else(|s| panic!("gzip Export failed: {s:?}"));
    assert_eq!(
        resp.partial_success.map(|p| p.rejected_spans).unwrap_or(0),
        0
    );
    gw.assert_rich_stored(&rich);
}

#[test]
fn empty_request_is_accepted() {
    let gw = TestGateway::start();
    let resp = gw
        .grpc()
        .export(&fixtures::request(vec![]))
        .unwrap_or_else(|s| panic!("empty Export failed: {s:?}"));
    assert_eq!(
        resp.partial_success.map(|p| p.rejected_spans).unwrap_or(0),
        0
    );
}

#[test]
fn spans_with_invalid_ids_are_rejected_individually() {
    let gw = TestGateway::start();
    let trace_id = ids::trace_id();
    let (valid, invalid) = fixtures::spans_with_invalid_ids(&trace_id, ids::now_nanos());
    let mut spans = invalid.clone();
    spans.insert(1, valid[0].clone());
    spans.push(valid[1].clone());
    let resp = gw
        .grpc()
        .export(&fixtures::simple_request("partial-grpc", spans))
        .unwrap_or_else(|s| {
            panic!("Export with some invalid spans must succeed partially, got {s:?}")
        });
    let ps = resp.partial_success.unwrap_or_else(|| {
        panic!(
            "expected partial_success for {} invalid spans",
            invalid.len()
        )
    });
    assert_eq!(
        ps.rejected_spans,
        invalid.len() as i64,
        "rejected_spans: {ps:?}"
    );
    assert!(
        !ps.error_message.is_empty(),
        "partial_success needs an error_message: {ps:?}"
    );
    gw.assert_trace(
        &ids::hex_id(&trace_id),
        &fixtures::simple_request("partial-grpc", valid).resource_spans,
    );
}

#[test]
fn malformed_protobuf_is_invalid_argument() {
    let gw = TestGateway::start();
    let client = gw.grpc();
    let cases: [(&str, Vec<u8>); 3] = [
        // LEN field 1 announcing 5 bytes, only 1 present.
        ("truncated message", vec![0x0a, 0x05, 0x01]),
        // Wire type 7 does not exist.
        ("invalid wire type", vec![0x0f, 0x01]),
        ("garbage", b"this is not protobuf at all".to_vec()),
    ];
    let mut failures = Vec::new();
    for (name, bytes) in cases {
        for gzip in [false, true] {
            match client.export_raw(bytes.clone(), gzip) {
                Err(s) if s.code() == Code::InvalidArgument && !s.message().is_empty() => {}
                other => failures.push(format!(
                    "{name} (gzip: {gzip}): expected INVALID_ARGUMENT with a message, got {other:?}"
                )),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // A valid message through the same raw path works, and the receiver still serves.
    let rich = rich_request();
    client
        .export_raw(rich.request.encode_to_vec(), false)
        .unwrap_or_else(|s| panic!("valid raw Export failed: {s:?}"));
    gw.assert_rich_stored(&rich);
}

#[test]
fn oversized_message_is_resource_exhausted() {
    const LIMIT: usize = 64 * 1024;
    let gw = TestGateway::start_with(GatewayOptions {
        max_message_bytes: LIMIT as u64,
        ..Default::default()
    });
    let client = gw.grpc();
    let big_trace = ids::trace_id();
    let big = fixtures::request_with_payload(&big_trace, 100 * 1024);
    let err = client
        .export(&big)
        .expect_err("a 100 KiB message over a 64 KiB limit must fail");
    assert_eq!(
        err.code(),
        Code::ResourceExhausted,
        "plain oversized message: {err:?}"
    );
    // Compressed it is tiny; the limit applies to the decompressed message.
    let err = client
        .export_gzip(&big)
        .expect_err("a gzip message that decompresses over the limit must fail");
    assert_eq!(
        err.code(),
        Code::ResourceExhausted,
        "gzip oversized message: {err:?}"
    );
    let err = client
        .export(&fixtures::request_of_encoded_size(
            &ids::trace_id(),
            LIMIT + 1,
        ))
        .expect_err("one byte over the limit must fail");
    assert_eq!(
        err.code(),
        Code::ResourceExhausted,
        "limit + 1 byte: {err:?}"
    );
    gw.assert_no_trace(&ids::hex_id(&big_trace), "");

    // Exactly the limit is fine, and the receiver still works.
    let ok_trace = ids::trace_id();
    let ok = fixtures::request_of_encoded_size(&ok_trace, LIMIT);
    client.export_ok(&ok);
    gw.assert_trace(&ids::hex_id(&ok_trace), &ok.resource_spans);
}

#[test]
fn span_sent_twice_is_stored_once() {
    let gw = TestGateway::start();
    let client = gw.grpc();
    let rich = rich_request();
    client.export_ok(&rich.request);
    client.export_ok(&rich.request);
    gw.assert_trace(&rich.trace_hex(), &rich.expected(&rich.trace_id));

    // Overlapping batches: {a, b} then {b, c} → a, b, c once each.
    let trace_id = ids::trace_id();
    let spans = fixtures::chain_of_spans(&trace_id, 3, ids::now_nanos());
    client.export_ok(&fixtures::simple_request("dedup", spans[..2].to_vec()));
    client.export_ok(&fixtures::simple_request("dedup", spans[1..].to_vec()));
    gw.assert_trace(
        &ids::hex_id(&trace_id),
        &fixtures::simple_request("dedup", spans).resource_spans,
    );
}

#[test]
fn trace_split_over_requests_from_different_resources_is_returned_whole() {
    let gw = TestGateway::start();
    let client = gw.grpc();
    let trace_id = ids::trace_id();
    let start = ids::now_nanos() - 5 * NANOS_PER_SEC;
    let spans = fixtures::chain_of_spans(&trace_id, 6, start);
    let services = ["frontend", "cart", "payments"];
    let mut expected = Vec::new();
    for (i, chunk) in spans.chunks(2).enumerate() {
        let req = fixtures::request(vec![fixtures::resource_spans(
            fixtures::resource(services[i], vec![kv("instance", av_int(i as i64))]),
            fixtures::scope(&format!("lib-{i}"), "1.0"),
            chunk.to_vec(),
        )]);
        client.export_ok(&req);
        expected.extend(req.resource_spans);
    }
    gw.assert_trace(&ids::hex_id(&trace_id), &expected);
}

#[test]
fn concurrent_exports_are_all_stored() {
    let gw = TestGateway::start_with(GatewayOptions {
        max_inflight_writes: 4,
        ..Default::default()
    });
    const THREADS: usize = 4;
    const REQUESTS: usize = 25;
    let start = ids::now_nanos() - 60 * NANOS_PER_SEC;
    let sent: Vec<Vec<(String, Vec<ResourceSpans>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let gw = &gw;
                scope.spawn(move || {
                    let client = gw.grpc();
                    (0..REQUESTS)
                        .map(|i| {
                            let trace_id = ids::trace_id();
                            let spans =
                                fixtures::chain_of_spans(&trace_id, 1 + (i % 5), start + i as u64);
                            let req = fixtures::simple_request(&format!("worker-{t}"), spans);
                            client.export_ok(&req);
                            (ids::hex_id(&trace_id), req.resource_spans)
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("exporter thread"))
            .collect()
    });
    for (hex, expected) in sent.iter().flatten() {
        let actual = gw.wait_for_spans(hex, fixtures::span_count(expected));
        assert_same_spans(expected, &actual, &format!("trace {hex} sent concurrently"));
    }
}

#[test]
fn large_trace_round_trips() {
    let gw = TestGateway::start();
    let trace_id = ids::trace_id();
    let spans = fixtures::chain_of_spans(&trace_id, 2000, ids::now_nanos() - 60 * NANOS_PER_SEC);
    // Sent in four requests of 500 spans.
    let requests: Vec<_> = spans
        .chunks(500)
        .map(|chunk| fixtures::simple_request("large", chunk.to_vec()))
        .collect();
    let client = gw.grpc();
    for req in &requests {
        client.export_ok(req);
    }
    let expected: Vec<ResourceSpans> = requests
        .into_iter()
        .flat_map(|r| r.resource_spans)
        .collect();
    gw.assert_trace(&ids::hex_id(&trace_id), &expected);
}

#[test]
fn same_span_id_in_two_traces_is_two_spans() {
    // Span ids are only unique within a trace.
    let gw = TestGateway::start();
    let client = gw.grpc();
    let shared = ids::span_id();
    let start = ids::now_nanos() - NANOS_PER_SEC;
    let mut requests = Vec::new();
    for name in ["first", "second"] {
        let trace_id = ids::trace_id();
        let mut spans = fixtures::chain_of_spans(&trace_id, 1, start);
        spans[0].span_id = shared.clone();
        spans[0].name = name.to_owned();
        let req = fixtures::simple_request(name, spans);
        client.export_ok(&req);
        requests.push((trace_id, req));
    }
    for (trace_id, req) in &requests {
        gw.assert_trace(&ids::hex_id(trace_id), &req.resource_spans);
    }
}
