//! Query limits through the binary: with `query.query_timeout` small against the data,
//! a structural query over every span (`{} >> {}`) and a regex over an unindexed
//! attribute of every span end with 504 naming the setting, over HTTP, while exports
//! sent meanwhile are acknowledged and a selective query still answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use spangate_integration_tests::fixtures::{kv_str, simple_request, span};
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
        query_extra: "query_timeout: 300ms\nmax_concurrent_queries: 2\n".to_owned(),
        ..GatewayOptions::default()
    });
    load(&gw);
    // A selective query reads one trace: within the budget.
    let small = ids::trace_id();
    let now = ids::now_nanos();
    gw.grpc().export_ok(&simple_request(
        "lonely",
        vec![span(
            &small,
            &ids::span_id(),
            None,
            "one",
            SpanKind::Server,
            now,
            now + 10,
        )],
    ));

    let exporting = Arc::new(AtomicBool::new(true));
    let exporter = {
        let (exporting, url) = (exporting.clone(), gw.grpc_url());
        std::thread::spawn(move || {
            let client = spangate_integration_tests::clients::GrpcClient::connect(&url);
            let mut acknowledged = 0;
            while exporting.load(Ordering::Relaxed) {
                let trace = ids::trace_id();
                let now = ids::now_nanos();
                let request = simple_request(
                    "during",
                    vec![span(
                        &trace,
                        &ids::span_id(),
                        None,
                        "x",
                        SpanKind::Server,
                        now,
                        now + 10,
                    )],
                );
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

    let selective = search(&gw, r#"{ resource.service.name = "lonely" }"#);
    assert_eq!(selective.status, 200, "{}", selective.describe());
    assert!(
        selective.text().contains(&ids::hex_id(&small)),
        "{}",
        selective.text()
    );
}
