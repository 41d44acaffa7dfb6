//! The Tempo-compatible query API compared with recorded Grafana Tempo answers: status
//! endpoints, not-found and bad-id answers, id parsing, the start/end window, tenancy
//! header, content negotiation and the exact JSON shape of trace answers.

use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, TracesData};
use prost::Message as _;
use serde_json::Value;
use spangate_integration_tests::fixtures::{
    self, NANOS_PER_SEC, checkout_like_request, rich_request, rich_request_at,
};
use spangate_integration_tests::query::{ACCEPT_JSON, ACCEPT_PROTOBUF};
use spangate_integration_tests::tempo_json::{self, shape_differences};
use spangate_integration_tests::tempopb::TraceByIdResponse;
use spangate_integration_tests::{TestGateway, assert_same_spans, clients, ids, reference};

/// GET the path of a recorded answer and require the same status, content type and body.
#[track_caller]
fn assert_matches_recording(gw: &TestGateway, name: &str) {
    let rec = reference::recorded(name);
    let path = reference::path_of(&rec.url);
    let resp = gw.get(&path);
    assert_eq!(resp.status, rec.status, "GET {path}: {}", resp.describe());
    assert_eq!(
        resp.content_type.as_deref().unwrap_or(""),
        rec.content_type,
        "GET {path}: content type: {}",
        resp.describe()
    );
    assert_eq!(
        resp.text(),
        String::from_utf8_lossy(&reference::bytes(&rec.file)),
        "GET {path}: body"
    );
}

/// GETs every `paths × header sets` combination; returns one line per answer that is not
/// a 400 with a non-empty (and, with `text_plain`, `text/plain`) body.
fn expect_400(
    gw: &TestGateway,
    paths: &[String],
    header_sets: &[&[(&str, &str)]],
    text_plain: bool,
) -> Vec<String> {
    let mut failures = Vec::new();
    for path in paths {
        for headers in header_sets {
            let resp = gw.get_with(path, headers);
            let type_ok = !text_plain || resp.media_type().as_deref() == Some("text/plain");
            if resp.status != 400 || resp.body.is_empty() || !type_ok {
                failures.push(format!(
                    "GET {path} {headers:?}: expected 400 with a {}message, got {}",
                    if text_plain { "text/plain " } else { "" },
                    resp.describe()
                ));
            }
        }
    }
    failures
}

/// `/api/traces/{suffix}` and `/api/v2/traces/{suffix}`.
fn both_versions(suffix: &str) -> [String; 2] {
    [
        format!("/api/traces/{suffix}"),
        format!("/api/v2/traces/{suffix}"),
    ]
}

#[test]
fn echo_matches_recorded_tempo() {
    let gw = TestGateway::start();
    assert_matches_recording(&gw, "echo");
}

#[test]
fn ready_matches_recorded_tempo() {
    let gw = TestGateway::start();
    assert_matches_recording(&gw, "ready");
}

fn is_semver(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
}

#[test]
fn buildinfo_has_the_recorded_keys_and_a_semver_version() {
    let gw = TestGateway::start();
    let rec = reference::recorded("buildinfo");
    let resp = gw.get("/api/status/buildinfo");
    assert_eq!(resp.status, rec.status, "{}", resp.describe());
    assert_eq!(
        resp.media_type().as_deref(),
        Some(rec.content_type.as_str()),
        "{}",
        resp.describe()
    );
    let v = resp.json();
    let diffs = shape_differences(&reference::json(&rec.file), &v);
    assert!(
        diffs.is_empty(),
        "buildinfo shape differs from Tempo's:\n{}\nbody: {v}",
        diffs.join("\n")
    );
    let version = v["version"].as_str().unwrap_or_default();
    assert!(
        is_semver(version),
        "version {version:?} is not semver; Grafana's semver checks would switch every feature on"
    );
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let minor: u32 = version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    assert!(
        (major, minor) >= (2, 7),
        "version {version} is below 2.7.0, so Grafana would assume an old Tempo"
    );
}

#[test]
fn trace_not_found() {
    let gw = TestGateway::start();
    // Some data in the store, so that "not found" is not just "empty store".
    gw.grpc().export_ok(&rich_request().request);
    let missing = ids::hex_id(&ids::trace_id());
    gw.assert_no_trace(&missing, "");
    // v2 JSON: exactly Tempo's recorded body.
    let rec = reference::recorded("trace_v2_notfound");
    let resp = gw.get(&format!("/api/v2/traces/{missing}"));
    assert_eq!(resp.status, rec.status, "{}", resp.describe());
    assert_eq!(resp.json(), reference::json(&rec.file), "v2 not-found body");
    // v1: 404 with an empty body and no content type, like Tempo.
    let rec = reference::recorded("trace_v1_notfound");
    let resp = gw.get(&format!("/api/traces/{missing}"));
    assert_eq!(resp.status, rec.status, "{}", resp.describe());
    assert!(resp.body.is_empty(), "{}", resp.describe());
}

#[test]
fn bad_trace_ids_are_400() {
    let gw = TestGateway::start();
    let too_long = "a".repeat(33);
    let cases = [
        "not-a-trace-id",                     // non-hex
        "0123456789abcdefg",                  // non-hex at the end
        "zz",                                 // short and non-hex
        too_long.as_str(),                    // 33 hex characters
        "0123456789abcdef0123456789abcdef00", // 34 hex characters
    ];
    let paths: Vec<String> = cases.iter().flat_map(|id| both_versions(id)).collect();
    let failures = expect_400(&gw, &paths, &[&[], &[ACCEPT_PROTOBUF]], true);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn unknown_query_paths_are_404() {
    let gw = TestGateway::start();
    for path in [
        "/api/nope",
        "/api/status/version",
        "/api/v3/traces/abc",
        "/api/traces/abc/extra",
    ] {
        let resp = gw.get(path);
        assert_eq!(resp.status, 404, "GET {path}: {}", resp.describe());
    }
}

#[test]
fn bad_trace_id_answer_matches_recorded_tempo() {
    let gw = TestGateway::start();
    assert_matches_recording(&gw, "trace_v2_badid");
}

#[test]
fn short_trace_ids_are_left_padded_and_case_insensitive() {
    let gw = TestGateway::start();
    let mut trace_id = vec![0u8; 14];
    trace_id.extend_from_slice(&[0x0a, 0xbc]);
    let spans = fixtures::chain_of_spans(&trace_id, 2, ids::now_nanos());
    let req = fixtures::simple_request("short-id", spans);
    gw.grpc().export_ok(&req);
    for id in [
        "abc",
        "ABC",
        "0abc",
        "00000abc",
        "00000000000000000000000000000abc",
        "00000000000000000000000000000ABC",
    ] {
        gw.assert_trace(id, &req.resource_spans);
    }

    // Upper case full-length ids.
    let rich = rich_request();
    gw.grpc().export_ok(&rich.request);
    gw.assert_trace(
        &rich.trace_hex().to_uppercase(),
        &rich.expected(&rich.trace_id),
    );
}

fn fetch_v2_protobuf(gw: &TestGateway, path: &str) -> Vec<ResourceSpans> {
    let resp = gw.get_with(path, &[ACCEPT_PROTOBUF]);
    assert_eq!(resp.status, 200, "GET {path}: {}", resp.describe());
    let decoded = TraceByIdResponse::decode(resp.body.as_slice())
        .unwrap_or_else(|e| panic!("GET {path}: not a TraceByIDResponse: {e}"));
    decoded.trace.map(|t| t.resource_spans).unwrap_or_default()
}

fn fetch_v1_json(gw: &TestGateway, path: &str) -> Vec<ResourceSpans> {
    let resp = gw.get(path);
    assert_eq!(resp.status, 200, "GET {path}: {}", resp.describe());
    tempo_json::decode_v1(&resp.json())
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .resource_spans
}

#[test]
fn start_and_end_restrict_the_time_window() {
    let gw = TestGateway::start();
    // All spans lie within [base, base + 1 s].
    let base_secs: u64 = 1_700_000_000;
    let rich = rich_request_at(base_secs * NANOS_PER_SEC + 123_456_789);
    gw.grpc().export_ok(&rich.request);
    let id = rich.trace_hex();
    let expected = rich.expected(&rich.trace_id);
    gw.assert_trace(&id, &expected);

    let inside = [
        (base_secs - 60, base_secs + 60),
        (base_secs, base_secs + 2),
        (base_secs - 3600, base_secs + 3600),
    ];
    for (start, end) in inside {
        let q = format!("?start={start}&end={end}");
        let got = fetch_v2_protobuf(&gw, &format!("/api/v2/traces/{id}{q}"));
        assert_same_spans(&expected, &got, &format!("v2 protobuf with {q}"));
        let got = fetch_v1_json(&gw, &format!("/api/traces/{id}{q}"));
        assert_same_spans(&expected, &got, &format!("v1 JSON with {q}"));
    }
    let outside = [
        (base_secs - 7200, base_secs - 3600),
        (base_secs + 3600, base_secs + 7200),
        (1, 2),
    ];
    for (start, end) in outside {
        gw.assert_no_trace(&id, &format!("?start={start}&end={end}"));
    }
}

#[test]
fn end_not_after_start_is_400() {
    let gw = TestGateway::start();
    let rich = rich_request();
    gw.grpc().export_ok(&rich.request);
    let id = rich.trace_hex();
    let now = ids::now_nanos() / NANOS_PER_SEC;
    let queries = [
        format!("?start={now}&end={now}"),
        format!("?start={now}&end={}", now - 60),
        "?start=abc&end=10".to_owned(),
        "?start=10&end=xyz".to_owned(),
    ];
    let paths: Vec<String> = queries
        .iter()
        .flat_map(|q| both_versions(&format!("{id}{q}")))
        .collect();
    let failures = expect_400(&gw, &paths, &[&[], &[ACCEPT_PROTOBUF]], false);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn x_scope_orgid_is_accepted_and_ignored() {
    let gw = TestGateway::start();
    // Write with tenant headers over both transports.
    let a = rich_request();
    let resp = clients::http_request(
        "POST",
        &gw.traces_url(),
        &[
            ("content-type", "application/x-protobuf"),
            ("x-scope-orgid", "tenant-a"),
        ],
        Some(a.request.encode_to_vec()),
    );
    clients::decode_http_export_response(&resp, false);
    let b = rich_request();
    gw.grpc()
        .export_with(&b.request, false, &[("x-scope-orgid", "tenant-b")])
        .unwrap_or_else(|s| panic!("gRPC Export with x-scope-orgid: {s:?}"));

    for (rich, name) in [(&a, "a"), (&b, "b")] {
        let expected = rich.expected(&rich.trace_id);
        gw.wait_for_spans(&rich.trace_hex(), fixtures::span_count(&expected));
        for org in [
            None,
            Some("tenant-a"),
            Some("tenant-b"),
            Some("someone-else"),
        ] {
            let mut headers = vec![ACCEPT_PROTOBUF];
            if let Some(org) = org {
                headers.push(("X-Scope-OrgID", org));
            }
            let path = format!("/api/v2/traces/{}", rich.trace_hex());
            let resp = gw.get_with(&path, &headers);
            assert_eq!(
                resp.status,
                200,
                "GET {path} {headers:?}: {}",
                resp.describe()
            );
            let got = TraceByIdResponse::decode(resp.body.as_slice())
                .expect("TraceByIDResponse")
                .trace
                .map(|t| t.resource_spans)
                .unwrap_or_default();
            assert_same_spans(
                &expected,
                &got,
                &format!("trace {name} read with org {org:?}"),
            );
            let path = format!("/api/traces/{}", rich.trace_hex());
            let resp = gw.get_with(&path, &headers);
            assert_eq!(
                resp.status,
                200,
                "GET {path} {headers:?}: {}",
                resp.describe()
            );
        }
    }
}

#[test]
fn accept_header_selects_the_encoding() {
    let gw = TestGateway::start();
    let rich = rich_request();
    gw.grpc().export_ok(&rich.request);
    let id = rich.trace_hex();
    gw.wait_for_spans(&id, fixtures::span_count(&rich.expected(&rich.trace_id)));
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[], "application/json"),
        (&[ACCEPT_JSON], "application/json"),
        (&[("accept", "text/html")], "application/json"),
        (&[("accept", "*/*")], "application/json"),
        (&[ACCEPT_PROTOBUF], "application/protobuf"),
    ];
    for (headers, media_type) in cases {
        for prefix in ["/api/traces/", "/api/v2/traces/"] {
            let resp = gw.get_with(&format!("{prefix}{id}"), headers);
            assert_eq!(
                resp.status,
                200,
                "{prefix} {headers:?}: {}",
                resp.describe()
            );
            assert_eq!(
                resp.media_type().as_deref(),
                Some(media_type),
                "{prefix} {headers:?}: {}",
                resp.describe()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Shape of trace answers compared with recorded Tempo answers
// ---------------------------------------------------------------------------------------

fn get_json(gw: &TestGateway, path: &str) -> Value {
    gw.get(path).ok_json(&format!("GET {path}"))
}

#[track_caller]
fn assert_same_shape(reference_file: &str, actual: &Value, what: &str) {
    let diffs = shape_differences(&reference::json(reference_file), actual);
    assert!(
        diffs.is_empty(),
        "{what}: JSON shape differs from Tempo's {reference_file}:\n{}\nactual body: {actual}",
        diffs.join("\n")
    );
}

#[test]
fn trace_json_has_the_shape_of_recorded_tempo_answers() {
    let gw = TestGateway::start();
    let (req, checkout, consumer) = checkout_like_request(ids::now_nanos() - 30 * NANOS_PER_SEC);
    gw.grpc().export_ok(&req);
    let (checkout, consumer) = (ids::hex_id(&checkout), ids::hex_id(&consumer));
    gw.wait_for_spans(&checkout, 3);
    gw.wait_for_spans(&consumer, 1);

    let v2 = get_json(&gw, &format!("/api/v2/traces/{checkout}"));
    assert_same_shape("trace_v2_grpc_checkout.json", &v2, "v2 checkout trace");
    let v1 = get_json(&gw, &format!("/api/traces/{checkout}"));
    assert_same_shape("trace_v1_grpc_checkout.json", &v1, "v1 checkout trace");
    let v2 = get_json(&gw, &format!("/api/v2/traces/{consumer}"));
    assert_same_shape(
        "trace_v2_grpc_consumer_link.json",
        &v2,
        "v2 consumer trace with a link",
    );
}

#[test]
fn trace_json_encodes_ids_enums_and_integers_like_tempo() {
    let gw = TestGateway::start();
    let (req, checkout, _) = checkout_like_request(ids::now_nanos() - 30 * NANOS_PER_SEC);
    gw.grpc().export_ok(&req);
    let hex = ids::hex_id(&checkout);
    gw.wait_for_spans(&hex, 3);
    let v2 = get_json(&gw, &format!("/api/v2/traces/{hex}"));
    let span = v2["trace"]["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array()
        .and_then(|spans| spans.iter().find(|s| s["name"] == "charge card"))
        .unwrap_or_else(|| panic!("no \"charge card\" span in {v2}"))
        .clone();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    assert_eq!(
        span["traceId"],
        Value::String(b64.encode(&checkout)),
        "traceId must be base64: {span}"
    );
    assert!(
        span["spanId"]
            .as_str()
            .is_some_and(|s| b64.decode(s).is_ok_and(|b| b.len() == 8)),
        "spanId: {span}"
    );
    assert_eq!(span["kind"], "SPAN_KIND_CLIENT", "{span}");
    assert_eq!(span["status"]["code"], "STATUS_CODE_ERROR", "{span}");
    assert_eq!(span["status"]["message"], "insufficient funds", "{span}");
    assert!(
        span["startTimeUnixNano"].is_string() && span["endTimeUnixNano"].is_string(),
        "times as strings: {span}"
    );
    let db = v2["trace"]["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array()
        .and_then(|spans| spans.iter().find(|s| s["name"] == "SELECT orders"))
        .unwrap_or_else(|| panic!("no \"SELECT carts\" span in {v2}"))
        .clone();
    let rows = db["attributes"]
        .as_array()
        .and_then(|a| a.iter().find(|kv| kv["key"] == "rows"))
        .unwrap_or_else(|| panic!("no rows attribute: {db}"));
    assert_eq!(
        rows["value"],
        serde_json::json!({"intValue": "7"}),
        "intValue as a string: {db}"
    );
    assert_eq!(
        db["events"][0]["timeUnixNano"].as_str().map(str::len),
        Some(19),
        "event time as a string: {db}"
    );
    // The whole answer decodes with the strict decoder and equals what was sent.
    let decoded = tempo_json::decode_v2(&v2).unwrap_or_else(|e| panic!("{e}"));
    assert_same_spans(
        &fixtures::only_trace(&req.resource_spans, &checkout),
        &decoded.trace.resource_spans,
        "v2 JSON",
    );
    let metrics = decoded
        .metrics
        .unwrap_or_else(|| panic!("v2 answer without \"metrics\": {v2}"));
    assert!(
        metrics.contains_key("inspectedBytes"),
        "Tempo's v2 metrics carry inspectedBytes: {v2}"
    );
}

#[test]
fn protobuf_answers_decode_as_tempo_messages() {
    let gw = TestGateway::start();
    let (req, checkout, _) = checkout_like_request(ids::now_nanos() - 30 * NANOS_PER_SEC);
    gw.grpc().export_ok(&req);
    let hex = ids::hex_id(&checkout);
    gw.wait_for_spans(&hex, 3);
    let expected = fixtures::only_trace(&req.resource_spans, &checkout);

    let v2 = gw.get_with(&format!("/api/v2/traces/{hex}"), &[ACCEPT_PROTOBUF]);
    assert_eq!(
        v2.media_type().as_deref(),
        Some("application/protobuf"),
        "{}",
        v2.describe()
    );
    let decoded = TraceByIdResponse::decode(v2.body.as_slice()).expect("TraceByIDResponse");
    assert_eq!(decoded.status, 0, "status COMPLETE");
    assert!(
        decoded.message.is_empty(),
        "no message for a complete trace: {:?}",
        decoded.message
    );
    assert_same_spans(
        &expected,
        &decoded.trace.unwrap_or_default().resource_spans,
        "v2 protobuf",
    );

    let v1 = gw.get_with(&format!("/api/traces/{hex}"), &[ACCEPT_PROTOBUF]);
    assert_eq!(
        v1.media_type().as_deref(),
        Some("application/protobuf"),
        "{}",
        v1.describe()
    );
    let decoded = TracesData::decode(v1.body.as_slice()).expect("tempopb.Trace / TracesData");
    assert_same_spans(&expected, &decoded.resource_spans, "v1 protobuf");
}
