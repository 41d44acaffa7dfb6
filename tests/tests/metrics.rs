//! `GET /metrics`: the gateway counts what it accepted, rejected span by span, and
//! refused whole, per transport and reason.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap fails it loudly, as it should

use spangate_integration_tests::clients::post_otlp;
use spangate_integration_tests::fixtures::{
    chain_of_spans, simple_request, spans_with_invalid_ids,
};
use spangate_integration_tests::harness::TestGateway;

/// The value of one series in the Prometheus text, e.g.
/// `spangate_spans_accepted_total{transport="grpc"}`.
fn series_value(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("series {series} missing from:\n{text}"))
        .parse()
        .unwrap()
}

#[test]
fn metrics_count_accepted_rejected_and_refused() {
    let gateway = TestGateway::start();
    let grpc = gateway.grpc();
    grpc.export_ok(&simple_request("svc", chain_of_spans(&[7; 16], 3, 1_000)));
    let (valid, invalid) = spans_with_invalid_ids(&[8; 16], 2_000);
    let mut mixed = valid.clone();
    mixed.extend(invalid.iter().cloned());
    let response = gateway.post_protobuf(&simple_request("svc", mixed), false);
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(grpc.export_raw(b"\x0f\x01".to_vec(), false).is_err());
    let refused = post_otlp(
        &gateway.traces_url(),
        b"{".to_vec(),
        Some("application/json"),
        None,
    );
    assert_eq!(refused.status, 400);
    let refused = post_otlp(
        &gateway.traces_url(),
        b"x".to_vec(),
        Some("text/plain"),
        None,
    );
    assert_eq!(refused.status, 415);

    let metrics = gateway.get("/metrics");
    assert_eq!(metrics.status, 200);
    assert_eq!(metrics.media_type().as_deref(), Some("text/plain"));
    let text = metrics.text();
    assert_eq!(
        series_value(&text, "spangate_spans_accepted_total{transport=\"grpc\"}"),
        3
    );
    assert_eq!(
        series_value(&text, "spangate_spans_accepted_total{transport=\"http\"}"),
        valid.len() as u64
    );
    assert_eq!(
        series_value(&text, "spangate_spans_rejected_total{transport=\"http\"}"),
        invalid.len() as u64
    );
    let refused = |transport: &str, reason: &str| {
        series_value(
            &text,
            &format!(
                "spangate_requests_refused_total{{transport=\"{transport}\",reason=\"{reason}\"}}"
            ),
        )
    };
    assert_eq!(refused("grpc", "malformed"), 1);
    assert_eq!(refused("http", "malformed"), 1);
    assert_eq!(refused("http", "unsupported_media"), 1);
    assert_eq!(refused("grpc", "overloaded"), 0);
}
