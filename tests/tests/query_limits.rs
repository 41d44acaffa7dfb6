//! Query limits through the binary: with `query.query_timeout` far below what reading
//! the data takes (5 ms against 1000 traces), a structural query over every span
//! (`{} >> {}`) and a regex over an unindexed attribute of every span end with 504
//! naming the setting, over HTTP, while exports sent meanwhile are acknowledged; a trace
//! over `query.max_bytes_per_trace` is partial or refused; a TraceQL expression over
//! `query.max_query_expression_size_bytes` is refused on every HTTP and gRPC entry point.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use spangate::query::tempopb;
use spangate_integration_tests::clients::grpc_stream_with;
use spangate_integration_tests::fixtures::{kv_str, named_spans_request, simple_request, span};
use spangate_integration_tests::{GatewayOptions, TestGateway, ids};

const TRACES: usize = 1_000;
const SPANS_PER_TRACE: u64 = 50;

fn load(gw: &TestGateway) {
    let grpc = gw.grpc();
    let now = ids::now_nanos();
    for batch in 0..TRACES / 20 {
        let mut spans = Vec::new();
        for _ in 0..20 {
            let trace = ids::trace_id();
            let root = ids::span_id();
            for i in 0..SPANS_PER_TRACE {
                let id = if i == 0 { root.clone() } else { ids::span_id() };
                let parent = (i > 0).then_some(root.as_slice());
                let start = now + (batch as u64 * 1_000 + i) * 1_000;
                let mut s = span(
                    &trace,
                    &id,
                    parent,
                    "op",
                    SpanKind::Internal,
                    start,
                    start + 500,
                );
                s.attributes
                    .push(kv_str("note", &format!("value-{i}-abcdefghij")));
                spans.push(s);
            }
        }
        grpc.export_ok(&simple_request("busy", spans));
    }
}

fn search(gw: &TestGateway, traceql: &str) -> spangate_integration_tests::clients::HttpResponse {
    let encoded: String = url_encode(traceql);
    gw.get(&format!("/api/search?q={encoded}&limit=5000"))
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[test]
fn pathological_queries_end_at_their_time_budget_while_ingest_goes_on() {
    let gw = TestGateway::start_with(GatewayOptions {
        query_extra: "query_timeout: 5ms\nmax_concurrent_queries: 2\n".to_owned(),
        ..GatewayOptions::default()
    });
    load(&gw);
    let exporting = Arc::new(AtomicBool::new(true));
    let (last_trace, request) = named_spans_request("lonely", &["one"]);
    gw.grpc().export_ok(&request);
    let exporter = {
        let (exporting, url) = (exporting.clone(), gw.grpc_url());
        std::thread::spawn(move || {
            let client = spangate_integration_tests::clients::GrpcClient::connect(&url);
            let mut acknowledged = 0;
            while exporting.load(Ordering::Relaxed) {
                let (_, request) = named_spans_request("during", &["x"]);
                client
                    .export(&request)
                    .expect("an export during the queries");
                acknowledged += 1;
            }
            acknowledged
        })
    };
    for traceql in ["{} >> {}", r#"{ span.note =~ ".*j.*i.*h.*g.*f.*e.*" }"#] {
        let answer = search(&gw, traceql);
        assert_eq!(answer.status, 504, "{traceql}: {}", answer.describe());
        let text = answer.text();
        assert!(text.contains("query.query_timeout"), "{traceql}: {text}");
    }
    exporting.store(false, Ordering::Relaxed);
    let acknowledged = exporter.join().expect("exporter thread");
    assert!(
        acknowledged > 0,
        "no export was acknowledged during the queries"
    );

    // Reads that are not engine queries are not bounded by it.
    let stored = gw.trace_v1_json(&ids::hex_id(&last_trace));
    assert_eq!(
        spangate_integration_tests::fixtures::span_count(&stored.resource_spans),
        1
    );
}

/// `query.max_bytes_per_trace` on read: v2 answers the spans that fit, marked PARTIAL
/// (JSON and protobuf); v1, which cannot say "partial", answers 422 with Tempo's words.
#[test]
fn a_trace_over_max_bytes_per_trace_is_partial_in_v2_and_refused_in_v1() {
    let gw = TestGateway::start_with(GatewayOptions {
        query_extra: "max_bytes_per_trace: 10KiB\n".to_owned(),
        ..GatewayOptions::default()
    });
    let (big, request) = named_spans_request(
        "big",
        &["a-span-with-a-long-enough-name-to-fill-the-trace"; 300],
    );
    gw.grpc().export_ok(&request);
    let (small, request) = named_spans_request("small", &["x"]);
    gw.grpc().export_ok(&request);
    let (big, small) = (ids::hex_id(&big), ids::hex_id(&small));

    let v1 = gw.get(&format!("/api/traces/{big}"));
    assert_eq!(v1.status, 422, "{}", v1.describe());
    assert!(
        v1.text()
            .contains("trace exceeds max size (max bytes: 10240)"),
        "{}",
        v1.text()
    );

    let v2 = gw.get(&format!("/api/v2/traces/{big}")).ok_json("v2");
    assert_eq!(v2["status"], "PARTIAL", "{v2}");
    assert!(
        v2["message"]
            .as_str()
            .unwrap()
            .contains("partial trace returned"),
        "{v2}"
    );
    let kept = spangate_integration_tests::tempo_json::decode_v2(&v2).unwrap();
    let kept = spangate_integration_tests::fixtures::span_count(&kept.trace.resource_spans);
    assert!(kept > 0 && kept < 300, "{kept} spans kept");

    let proto = gw.trace_v2_protobuf(&big);
    assert_eq!(proto.status, 1, "PARTIAL");
    assert!(prost::Message::encoded_len(&proto.trace.unwrap()) <= 10 * 1024);

    // A trace under the limit is whole and says nothing more.
    let whole = gw
        .get(&format!("/api/v2/traces/{small}"))
        .ok_json("v2 small");
    assert!(whole.get("status").is_none(), "{whole}");
    assert_eq!(gw.get(&format!("/api/traces/{small}")).status, 200);
}

/// `query.max_query_expression_size_bytes`: a TraceQL expression one byte over the limit
/// is refused before it is parsed, with Tempo's words, on every entry point — the `q`
/// (or `query`) of each HTTP endpoint and the `query` of each gRPC request — while one
/// of exactly the limit is answered.
#[test]
fn a_traceql_expression_over_the_size_limit_is_refused_on_every_entry_point() {
    const LIMIT: usize = 1024;
    let gw = TestGateway::start_with(GatewayOptions {
        query_extra: "max_query_expression_size_bytes: 1KiB\n".to_owned(),
        ..GatewayOptions::default()
    });
    let (trace, request) = named_spans_request("sized", &["one"]);
    gw.grpc().export_ok(&request);
    let trace = ids::hex_id(&trace);
    // `{ name != "xxx…" }` of exactly `bytes` bytes, with a pipeline suffix.
    let expression = |bytes: usize, suffix: &str| {
        let frame = "{ name != \"\" }".len() + suffix.len();
        format!("{{ name != \"{}\" }}{suffix}", "x".repeat(bytes - frame))
    };
    let refused = format!(
        "TraceQL expression exceeds the configured maximum size of {LIMIT} bytes, \
         reduce the query expression size or contact your system administrator"
    );
    let endpoints = |q: &str, metrics: &str| {
        let (q, metrics) = (url_encode(q), url_encode(metrics));
        vec![
            format!("/api/search?q={q}"),
            format!("/api/search/tags?q={q}"),
            format!("/api/v2/search/tags?q={q}"),
            format!("/api/search/tag/name/values?q={q}"),
            format!("/api/v2/search/tag/name/values?q={q}"),
            format!("/api/metrics/query_range?q={metrics}"),
            format!("/api/metrics/query?q={metrics}"),
            format!("/api/v2/traces/{trace}?q={q}"),
            // A second `q` or a `query` is held to it too, as Tempo holds every one.
            format!("/api/search?q=%7B%7D&q={q}"),
            format!("/api/metrics/query_range?query={metrics}"),
        ]
    };
    for path in endpoints(&expression(LIMIT, ""), &expression(LIMIT, " | rate()")) {
        let answer = gw.get(&path);
        assert_eq!(answer.status, 200, "{path}: {}", answer.describe());
    }
    for path in endpoints(
        &expression(LIMIT + 1, ""),
        &expression(LIMIT + 1, " | rate()"),
    ) {
        let answer = gw.get(&path);
        assert_eq!(answer.status, 400, "{path}: {}", answer.describe());
        assert_eq!(answer.text().trim(), refused, "{path}");
    }

    let url = gw.query_url();
    let (over, over_metrics) = (
        expression(LIMIT + 1, ""),
        expression(LIMIT + 1, " | rate()"),
    );
    let refusals = [
        grpc_refusal::<tempopb::SearchResponse>(
            &url,
            "Search",
            tempopb::SearchRequest {
                query: over.clone(),
                ..Default::default()
            },
        ),
        grpc_refusal::<tempopb::SearchTagsV2Response>(
            &url,
            "SearchTagsV2",
            tempopb::SearchTagsRequest {
                query: over.clone(),
                ..Default::default()
            },
        ),
        grpc_refusal::<tempopb::SearchTagValuesV2Response>(
            &url,
            "SearchTagValuesV2",
            tempopb::SearchTagValuesRequest {
                tag_name: "name".to_owned(),
                query: over,
                ..Default::default()
            },
        ),
        grpc_refusal::<tempopb::QueryRangeResponse>(
            &url,
            "MetricsQueryRange",
            tempopb::QueryRangeRequest {
                query: over_metrics.clone(),
                ..Default::default()
            },
        ),
        grpc_refusal::<tempopb::QueryInstantResponse>(
            &url,
            "MetricsQueryInstant",
            tempopb::QueryInstantRequest {
                query: over_metrics,
                ..Default::default()
            },
        ),
    ];
    for (method, status) in refusals {
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{method}");
        assert_eq!(status.message(), refused, "{method}");
    }
    // At the limit, gRPC answers too.
    let answers: Vec<tempopb::SearchResponse> = grpc_stream_with(
        &url,
        "/tempopb.StreamingQuerier/Search",
        tempopb::SearchRequest {
            query: expression(LIMIT, ""),
            ..Default::default()
        },
        &[],
    )
    .expect("a search of exactly the limit");
    assert!(!answers.is_empty());
}

/// The status a `tempopb.StreamingQuerier` call ends with, which must be an error.
fn grpc_refusal<Resp: prost::Message + Default>(
    url: &str,
    method: &'static str,
    request: impl prost::Message,
) -> (&'static str, tonic::Status) {
    let path: &'static str = format!("/tempopb.StreamingQuerier/{method}").leak();
    let status = grpc_stream_with::<Resp>(url, path, request, &[])
        .map(drop)
        .expect_err(method);
    (method, status)
}
