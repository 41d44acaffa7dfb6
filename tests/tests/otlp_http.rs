//! OTLP/HTTP receiver, end to end: the Rust SDK's HTTP/protobuf exporter, raw protobuf
//! and hand-built OTLP/JSON posts (plain and gzip), partial success, and every error
//! answer. Afterwards the gateway must still serve and hold the earlier data.

use opentelemetry_otlp::{Compression, Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;
use spangate_integration_tests::clients::{self, decode_http_export_response, gzip, post_otlp};
use spangate_integration_tests::fixtures::{self, av_double, kv, rich_request};
use spangate_integration_tests::otlp_json::{JsonStyle, encode_request};
use spangate_integration_tests::{GatewayOptions, HttpResponse, TestGateway, ids, sdk};

/// The limit used by the gateways that test limits.
const LIMIT: u64 = 64 * 1024;

fn limited_gateway() -> TestGateway {
    TestGateway::start_with(GatewayOptions {
        max_body_bytes: LIMIT,
        ..Default::default()
    })
}

/// The Rust SDK's HTTP/protobuf exporter with a real tracer provider.
fn rust_sdk_over_http(compression: Option<Compression>) {
    let gw = TestGateway::start();
    // Built outside any Tokio runtime: the blocking reqwest client needs that.
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(gw.traces_url());
    if let Some(c) = compression {
        builder = builder.with_compression(c);
    }
    let exporter = builder.build().expect("build HTTP span exporter");
    sdk::export_and_check(&gw, exporter, &format!("rust-sdk-http-{compression:?}"));
}

#[test]
fn rust_sdk_http_protobuf_exporter_spans_are_read_back() {
    rust_sdk_over_http(None);
}

#[test]
fn rust_sdk_http_protobuf_exporter_with_gzip_spans_are_read_back() {
    rust_sdk_over_http(Some(Compression::Gzip));
}

/// Sends a fresh rich request with `send`, checks the response is a full success in the
/// request's encoding, and reads both traces back in every form.
fn round_trip(
    gw: &TestGateway,
    json: bool,
    send: impl Fn(&ExportTraceServiceRequest) -> HttpResponse,
) {
    let rich = rich_request();
    let resp = send(&rich.request);
    let decoded = decode_http_export_response(&resp, json);
    clients::assert_no_rejections(&decoded, "rich request");
    gw.assert_rich_stored(&rich);
}

#[test]
fn protobuf_round_trips() {
    let gw = TestGateway::start();
    round_trip(&gw, false, |r| gw.post_protobuf(r, false));
}

#[test]
fn gzip_protobuf_round_trips() {
    let gw = TestGateway::start();
    round_trip(&gw, false, |r| gw.post_protobuf(r, true));
}

#[test]
fn json_with_string_integers_round_trips() {
    let gw = TestGateway::start();
    round_trip(&gw, true, |r| gw.post_json(r, JsonStyle::default(), false));
}

#[test]
fn json_with_number_integers_round_trips() {
    let gw = TestGateway::start();
    let style = JsonStyle {
        int64_as_number: true,
        uint64_as_number: true,
        ..Default::default()
    };
    round_trip(&gw, true, |r| gw.post_json(r, style, false));
}

#[test]
fn json_with_explicit_default_values_round_trips() {
    let gw = TestGateway::start();
    let style = JsonStyle {
        explicit_defaults: true,
        int64_as_number: true,
        ..Default::default()
    };
    round_trip(&gw, true, |r| gw.post_json(r, style, false));
}

#[test]
fn gzip_json_round_trips() {
    let gw = TestGateway::start();
    let style = JsonStyle {
        uint64_as_number: true,
        ..Default::default()
    };
    round_trip(&gw, true, |r| gw.post_json(r, style, true));
}

#[test]
fn json_success_response_is_an_empty_object() {
    let gw = TestGateway::start();
    let trace_id = ids::trace_id();
    let req = fixtures::simple_request(
        "json-ok",
        fixtures::chain_of_spans(&trace_id, 2, ids::now_nanos()),
    );
    let resp = gw.post_json(&req, JsonStyle::default(), false);
    let v = resp.ok_json("POST /v1/traces (JSON)");
    let ok = v == serde_json::json!({})
        || v.get("partialSuccess")
            .is_some_and(|p| p.get("rejectedSpans").is_none_or(|r| r == 0 || r == "0"));
    assert!(
        ok,
        "full success must answer {{}} (or a partialSuccess with nothing rejected): {v}"
    );
}

#[test]
fn content_types_with_parameters_and_mixed_case_are_accepted() {
    let gw = TestGateway::start();
    let cases = [
        ("Application/X-Protobuf", false),
        ("application/x-protobuf; charset=binary", false),
        ("application/json; charset=utf-8", true),
        ("Application/JSON", true),
    ];
    for (content_type, json) in cases {
        let trace_id = ids::trace_id();
        let req = fixtures::simple_request(
            "ct-params",
            fixtures::chain_of_spans(&trace_id, 1, ids::now_nanos()),
        );
        let body = if json {
            serde_json::to_vec(&encode_request(&req, JsonStyle::default())).expect("JSON")
        } else {
            req.encode_to_vec()
        };
        let resp = post_otlp(&gw.traces_url(), body, Some(content_type), None);
        assert_eq!(
            resp.status,
            200,
            "content type {content_type:?}: {}",
            resp.describe()
        );
        gw.assert_trace(&ids::hex_id(&trace_id), &req.resource_spans);
    }
}

#[test]
fn json_unknown_fields_are_ignored() {
    // OTLP/JSON receivers must ignore fields with unknown names (forward compatibility).
    let gw = TestGateway::start();
    let rich = rich_request();
    let mut v = encode_request(&rich.request, JsonStyle::default());
    v["someFutureField"] = serde_json::json!({"nested": [1, 2, 3]});
    let rs = &mut v["resourceSpans"][0];
    rs["unknownResourceSpansField"] = serde_json::json!("x");
    rs["resource"]["entityRefsFromTheFuture"] = serde_json::json!([]);
    rs["scopeSpans"][0]["scope"]["newScopeField"] = serde_json::json!(true);
    rs["scopeSpans"][0]["spans"][0]["brandNewSpanField"] = serde_json::json!(42);
    rs["scopeSpans"][0]["spans"][0]["events"][0]["eventExtra"] = serde_json::json!(null);
    let body = serde_json::to_vec(&v).expect("JSON");
    let resp = post_otlp(&gw.traces_url(), body, JSON, None);
    let decoded = decode_http_export_response(&resp, true);
    clients::assert_no_rejections(&decoded, "JSON with unknown fields");
    gw.assert_rich_stored(&rich);
}

#[test]
fn json_doubles_are_parsed_exactly() {
    let gw = TestGateway::start();
    let trace_id = ids::trace_id();
    let mut spans = fixtures::chain_of_spans(&trace_id, 1, ids::now_nanos());
    // Doubles whose shortest decimal form needs a correctly rounded parser (a fast,
    // approximate parser is off by one ulp on these).
    let doubles = [
        -1.3344203113790407e-29,
        2.0578333288583417e-286,
        2.2250738585072014e-308,
        5e-324,
        1.7976931348623157e308,
        0.1 + 0.2,
        -9.737768025864451e144,
    ];
    for (i, d) in doubles.iter().enumerate() {
        spans[0]
            .attributes
            .push(kv(&format!("double.{i}"), av_double(*d)));
    }
    let req = fixtures::simple_request("json-doubles", spans);
    let resp = gw.post_json(&req, JsonStyle::default(), false);
    decode_http_export_response(&resp, true);
    gw.assert_trace(&ids::hex_id(&trace_id), &req.resource_spans);
}

fn partial_success(json: bool) {
    let gw = TestGateway::start();
    let trace_id = ids::trace_id();
    let (valid, invalid) = fixtures::spans_with_invalid_ids(&trace_id, ids::now_nanos());
    let mut spans = invalid.clone();
    spans.extend(valid.iter().cloned());
    let req = fixtures::simple_request("partial-http", spans);
    let resp = if json {
        gw.post_json(&req, JsonStyle::default(), false)
    } else {
        gw.post_protobuf(&req, false)
    };
    let decoded = decode_http_export_response(&resp, json);
    let ps = decoded
        .partial_success
        .unwrap_or_else(|| panic!("expected a partial success: {}", resp.describe()));
    assert_eq!(
        ps.rejected_spans,
        invalid.len() as i64,
        "{}",
        resp.describe()
    );
    assert!(
        !ps.error_message.is_empty(),
        "partial success needs an error message: {}",
        resp.describe()
    );
    gw.assert_trace(
        &ids::hex_id(&trace_id),
        &fixtures::simple_request("partial-http", valid).resource_spans,
    );
}

#[test]
fn partial_success_protobuf() {
    partial_success(false);
}

#[test]
fn partial_success_json() {
    partial_success(true);
}

// ---------------------------------------------------------------------------------------
// Bad requests
// ---------------------------------------------------------------------------------------

struct BadRequest {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    content_type: Option<&'static str>,
    content_encoding: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
}

impl BadRequest {
    fn post(
        name: &'static str,
        content_type: Option<&'static str>,
        body: Vec<u8>,
        status: u16,
    ) -> Self {
        BadRequest {
            name,
            method: "POST",
            path: "/v1/traces",
            content_type,
            content_encoding: None,
            body,
            status,
        }
    }
    fn gzip(mut self) -> Self {
        self.content_encoding = Some("gzip");
        self
    }
}

const PROTOBUF: Option<&str> = Some("application/x-protobuf");
const JSON: Option<&str> = Some("application/json");

/// A valid request whose encoding is about `size` bytes: one span with a big attribute.
fn request_of_size(size: usize) -> ExportTraceServiceRequest {
    fixtures::request_with_payload(&ids::trace_id(), size)
}

/// Every malformed request and the status it must get (for a gateway with `LIMIT`).
fn bad_requests() -> Vec<BadRequest> {
    let valid = fixtures::simple_request(
        "x",
        fixtures::chain_of_spans(&ids::trace_id(), 1, ids::now_nanos()),
    );
    let valid_gzip = gzip(&valid.encode_to_vec());
    let mut truncated_gzip = valid_gzip.clone();
    truncated_gzip.truncate(valid_gzip.len() / 2);
    let mut flipped_gzip = valid_gzip.clone();
    let mid = flipped_gzip.len() / 2;
    for b in &mut flipped_gzip[mid - 4..mid + 4] {
        *b ^= 0x5a;
    }
    // 16 MiB of one repeated byte inside a valid protobuf compresses to a few KiB.
    let bomb = gzip(&request_of_size(16 * 1024 * 1024).encode_to_vec());
    assert!(
        bomb.len() < LIMIT as usize,
        "the gzip bomb itself must be under the limit"
    );
    vec![
        // LEN field 1 announcing 5 bytes, only 1 present.
        BadRequest::post("truncated protobuf", PROTOBUF, vec![0x0a, 0x05, 0x01], 400),
        // Wire type 7 does not exist.
        BadRequest::post("invalid wire type", PROTOBUF, vec![0x0f, 0x01], 400),
        BadRequest::post(
            "protobuf garbage",
            PROTOBUF,
            b"this is not protobuf at all".to_vec(),
            400,
        ),
        BadRequest::post(
            "unterminated JSON",
            JSON,
            br#"{"resourceSpans": ["#.to_vec(),
            400,
        ),
        BadRequest::post(
            "JSON of the wrong type",
            JSON,
            br#"{"resourceSpans": 5}"#.to_vec(),
            400,
        ),
        BadRequest::post(
            "JSON that is not an object",
            JSON,
            b"[1, 2, 3]".to_vec(),
            400,
        ),
        BadRequest::post(
            "wrong content type",
            Some("text/plain"),
            valid.encode_to_vec(),
            415,
        ),
        BadRequest::post(
            "form content type",
            Some("application/x-www-form-urlencoded"),
            b"a=b".to_vec(),
            415,
        ),
        BadRequest::post("no content type", None, valid.encode_to_vec(), 415),
        BadRequest::post(
            "body over the limit",
            PROTOBUF,
            request_of_size(LIMIT as usize + 1024).encode_to_vec(),
            413,
        ),
        BadRequest::post(
            "gzip bomb over the limit once decompressed",
            PROTOBUF,
            bomb,
            413,
        )
        .gzip(),
        BadRequest::post("gzip header missing", PROTOBUF, valid.encode_to_vec(), 400).gzip(),
        BadRequest::post("truncated gzip", PROTOBUF, truncated_gzip, 400).gzip(),
        BadRequest::post("corrupt gzip", PROTOBUF, flipped_gzip, 400).gzip(),
        BadRequest {
            path: "/v1/nope",
            ..BadRequest::post("unknown path", PROTOBUF, valid.encode_to_vec(), 404)
        },
        BadRequest {
            path: "/v2/traces",
            ..BadRequest::post("unknown version path", PROTOBUF, valid.encode_to_vec(), 404)
        },
        BadRequest {
            method: "GET",
            ..BadRequest::post("GET /v1/traces", None, vec![], 405)
        },
        BadRequest {
            method: "PUT",
            ..BadRequest::post("PUT /v1/traces", PROTOBUF, valid.encode_to_vec(), 405)
        },
        BadRequest {
            method: "DELETE",
            ..BadRequest::post("DELETE /v1/traces", None, vec![], 405)
        },
    ]
}

fn send(gw: &TestGateway, bad: &BadRequest) -> HttpResponse {
    let mut headers = Vec::new();
    if let Some(ct) = bad.content_type {
        headers.push(("content-type", ct));
    }
    if let Some(ce) = bad.content_encoding {
        headers.push(("content-encoding", ce));
    }
    let body = (bad.method != "GET" || !bad.body.is_empty()).then(|| bad.body.clone());
    clients::http_request(
        bad.method,
        &format!("{}{}", gw.http_url(), bad.path),
        &headers,
        body,
    )
}

/// Sends every bad request whose name contains `filter`; returns one line per wrong answer.
fn check_bad_requests(gw: &TestGateway, filter: &str) -> Vec<String> {
    let mut failures = Vec::new();
    let cases: Vec<BadRequest> = bad_requests()
        .into_iter()
        .filter(|b| b.name.contains(filter))
        .collect();
    assert!(!cases.is_empty(), "no bad request matches {filter:?}");
    for bad in &cases {
        let resp = send(gw, bad);
        if resp.status != bad.status {
            failures.push(format!(
                "{}: expected HTTP {}, got {}",
                bad.name,
                bad.status,
                resp.describe()
            ));
        } else if let Err(problem) = check_error_body(bad, &resp) {
            failures.push(format!("{}: {problem}: {}", bad.name, resp.describe()));
        }
    }
    failures
}

/// The error answer must say what is wrong. For 400/413 on an OTLP request the body is a
/// `google.rpc.Status` in the request's encoding (OTLP/HTTP spec); 405 names the allowed
/// method.
fn check_error_body(bad: &BadRequest, resp: &HttpResponse) -> Result<(), String> {
    match bad.status {
        405 => match resp.header("allow") {
            Some(allow) if allow.contains("POST") => Ok(()),
            other => Err(format!("405 without `Allow: POST` (got {other:?})")),
        },
        400 | 413 if bad.content_type == PROTOBUF => {
            let status = clients::RpcStatus::decode(resp.body.as_slice())
                .map_err(|e| format!("body is not a protobuf google.rpc.Status: {e}"))?;
            if status.message.is_empty() {
                return Err("google.rpc.Status without a message".into());
            }
            Ok(())
        }
        400 | 413 if bad.content_type == JSON => {
            let v: serde_json::Value = serde_json::from_slice(&resp.body)
                .map_err(|e| format!("body is not a JSON google.rpc.Status: {e}"))?;
            match v.get("message").and_then(|m| m.as_str()) {
                Some(m) if !m.is_empty() => Ok(()),
                _ => Err("JSON google.rpc.Status without a message".into()),
            }
        }
        _ if resp.body.is_empty() => Err("no body naming the problem".into()),
        _ => Ok(()),
    }
}

#[track_caller]
fn assert_bad_requests(filter: &str) {
    let gw = limited_gateway();
    let failures = check_bad_requests(&gw, filter);
    assert!(
        failures.is_empty(),
        "wrong answers:\n{}",
        failures.join("\n")
    );
    assert!(
        gw.get("/ready").status == 200,
        "gateway stopped serving after bad requests"
    );
}

#[test]
fn malformed_protobuf_is_400() {
    assert_bad_requests("protobuf");
    assert_bad_requests("wire type");
}

#[test]
fn malformed_json_is_400() {
    assert_bad_requests("JSON");
}

#[test]
fn wrong_content_type_is_415() {
    assert_bad_requests("content type");
}

#[test]
fn body_over_limit_is_413() {
    assert_bad_requests("over the limit");
}

#[test]
fn corrupt_gzip_is_400() {
    assert_bad_requests("gzip header missing");
    assert_bad_requests("truncated gzip");
    assert_bad_requests("corrupt gzip");
}

#[test]
fn unknown_path_is_404() {
    assert_bad_requests("path");
}

#[test]
fn wrong_method_is_405() {
    assert_bad_requests("/v1/traces");
}

#[test]
fn body_of_exactly_the_limit_is_accepted_and_one_more_byte_is_413() {
    let gw = limited_gateway();
    let trace_id = ids::trace_id();
    let at_limit = fixtures::request_of_encoded_size(&trace_id, LIMIT as usize);
    let resp = gw.post_protobuf(&at_limit, false);
    decode_http_export_response(&resp, false);
    gw.assert_trace(&ids::hex_id(&trace_id), &at_limit.resource_spans);

    let over = fixtures::request_of_encoded_size(&ids::trace_id(), LIMIT as usize + 1);
    let resp = gw.post_protobuf(&over, false);
    assert_eq!(
        resp.status,
        413,
        "{} bytes over a {LIMIT} byte limit: {}",
        LIMIT + 1,
        resp.describe()
    );
    // The same limit applies after decompression.
    let resp = gw.post_protobuf(&over, true);
    assert_eq!(
        resp.status,
        413,
        "gzip of {} bytes over a {LIMIT} byte limit: {}",
        LIMIT + 1,
        resp.describe()
    );
}

#[test]
fn gateway_survives_bad_requests_and_keeps_earlier_data() {
    let mut gw = limited_gateway();
    let rich = rich_request();
    let resp = gw.post_protobuf(&rich.request, false);
    decode_http_export_response(&resp, false);
    gw.assert_trace(&rich.trace_hex(), &rich.expected(&rich.trace_id));

    let failures = check_bad_requests(&gw, "");
    assert!(
        gw.is_running(),
        "spangate exited after the bad requests\n{}",
        gw.logs()
    );
    assert!(
        failures.is_empty(),
        "wrong answers:\n{}",
        failures.join("\n")
    );

    gw.assert_rich_stored(&rich);
    // And it still takes new data over both encodings.
    round_trip(&gw, false, |r| gw.post_protobuf(r, true));
    round_trip(&gw, true, |r| gw.post_json(r, JsonStyle::default(), false));
}
