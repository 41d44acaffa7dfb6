//! The rendered texts parse back (with a strict parser) to exactly the
//! snapshot's values, for both formats, including hostile label values.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap fails it loudly, as it should

mod common;

use common::{Format, parse, samples};
use spangate_plugin_span_metrics::model::{Attribute, Span, SpanId, SpanKind, StatusCode, TraceId};
use spangate_plugin_span_metrics::{
    Config, Series, SpanMetrics, Value, render_openmetrics, render_prometheus,
};

const NOW: u64 = 1_700_000_000_123_456_789;

fn span(
    trace: u8,
    id: u8,
    parent: Option<u8>,
    svc: &str,
    name: &str,
    kind: SpanKind,
    ms: u64,
) -> Span {
    Span {
        trace_id: TraceId([trace; 16]),
        span_id: SpanId([id; 8]),
        parent_span_id: parent.map(|p| SpanId([p; 8])),
        name: name.to_owned(),
        kind,
        start_unix_nanos: NOW - 10_000_000_000,
        end_unix_nanos: NOW - 10_000_000_000 + ms * 1_000_000,
        resource: vec![Attribute::new("service.name", svc)],
        attributes: vec![Attribute::new("http.route", "/a\\b\"c\nd}e,f=g")],
        encoded_size: 123,
        ..Span::default()
    }
}

fn populated() -> SpanMetrics {
    let cfg = Config::parse(
        r#"{"span_metrics": {"dimensions": ["http.route"], "intrinsic_dimensions": {"status_message": true}},
            "service_graphs": {"enable_virtual_node_label": true, "dimensions": ["http.route"]}}"#,
    )
    .unwrap();
    let mut m = SpanMetrics::new(cfg).unwrap();
    let mut spans = vec![
        span(1, 1, None, "frontend", "GET /", SpanKind::Server, 12),
        span(
            1,
            2,
            Some(1),
            "frontend",
            "call backend",
            SpanKind::Client,
            40,
        ),
        span(1, 3, Some(2), "bäckend ✓", "handle", SpanKind::Server, 30),
        span(1, 4, Some(3), "bäckend ✓", "SELECT", SpanKind::Client, 3),
        span(2, 5, Some(9), "frontend", "call", SpanKind::Client, 40),
    ];
    spans[3]
        .attributes
        .push(Attribute::new("db.system", "postgresql"));
    spans[2].status_code = StatusCode::Error;
    spans[2].status_message = "line1\nline2 \"quoted\" \\ back".into();
    m.observe_batch(&spans, NOW);
    m.expire(NOW + 11_000_000_000);
    m
}

/// Every snapshot series value is found, identical, in the parsed text.
fn assert_matches(snapshot: &[Series], families: &[common::Family], format: Format) {
    let all: Vec<&common::Sample> = samples(families).collect();
    let find = |name: String, labels: &[(String, String)], le: Option<String>| {
        let mut want: Vec<(String, String)> = labels.to_vec();
        if let Some(le) = le {
            want.push(("le".into(), le));
        }
        want.sort();
        all.iter()
            .find(|s| {
                let mut l = s.labels.clone();
                l.sort();
                s.name == name && l == want
            })
            .unwrap_or_else(|| panic!("{name} {want:?} not in output"))
            .to_owned()
    };
    let mut n = 0;
    for s in snapshot {
        match &s.value {
            Value::Counter { value, exemplar } => {
                let got = find(s.name.to_owned(), &s.labels, None);
                assert_eq!(got.value, *value);
                n += 1;
                match format {
                    Format::OpenMetrics => {
                        let ex = got.exemplar.as_ref();
                        assert_eq!(ex.map(|e| &e.labels), exemplar.as_ref().map(|e| &e.labels));
                    }
                    Format::Prometheus => assert!(got.exemplar.is_none()),
                }
            }
            Value::Gauge(v) => {
                assert_eq!(find(s.name.to_owned(), &s.labels, None).value, *v);
                n += 1;
            }
            Value::Histogram(h) => {
                for b in &h.buckets {
                    let le = if b.le.is_infinite() {
                        "+Inf".to_owned()
                    } else if format == Format::OpenMetrics && b.le.fract() == 0.0 {
                        format!("{}.0", b.le)
                    } else {
                        b.le.to_string()
                    };
                    let got = find(format!("{}_bucket", s.name), &s.labels, Some(le));
                    assert_eq!(got.value, b.cumulative_count as f64);
                    if format == Format::OpenMetrics {
                        let (want, have) = (b.exemplar.as_ref(), got.exemplar.as_ref());
                        assert_eq!(want.is_some(), have.is_some());
                        if let (Some(w), Some(h)) = (want, have) {
                            assert_eq!(w.labels, h.labels);
                            assert_eq!(w.value, h.value);
                            let ts = h.timestamp.unwrap();
                            assert!((ts - w.timestamp_unix_nanos as f64 / 1e9).abs() < 1e-6);
                        }
                    }
                    n += 1;
                }
                assert_eq!(
                    find(format!("{}_sum", s.name), &s.labels, None).value,
                    h.sum
                );
                assert_eq!(
                    find(format!("{}_count", s.name), &s.labels, None).value,
                    h.count as f64
                );
                n += 2;
            }
        }
    }
    assert_eq!(n, all.len(), "no extra samples in the output");
}

#[test]
fn prometheus_text_parses_back_to_the_snapshot() {
    let m = populated();
    let snap = m.snapshot();
    let text = render_prometheus(&snap);
    let families = parse(&text, Format::Prometheus).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_matches(&snap, &families, Format::Prometheus);
    assert!(
        families
            .iter()
            .any(|f| f.name == "traces_spanmetrics_calls_total" && f.metric_type == "counter")
    );
}

#[test]
fn openmetrics_parses_back_to_the_snapshot_with_exemplars() {
    let m = populated();
    let snap = m.snapshot();
    let text = render_openmetrics(&snap);
    let families = parse(&text, Format::OpenMetrics).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_matches(&snap, &families, Format::OpenMetrics);
    assert!(
        families
            .iter()
            .any(|f| f.name == "traces_spanmetrics_calls" && f.metric_type == "counter")
    );
    assert!(
        families
            .iter()
            .any(|f| f.name == "traces_service_graph_request" && f.metric_type == "counter")
    );
    let with_exemplar = samples(&families).filter(|s| s.exemplar.is_some()).count();
    assert!(with_exemplar > 10, "{with_exemplar}");
    // The hostile values survive escaping.
    let route = "/a\\b\"c\nd}e,f=g";
    assert!(samples(&families).any(|s| s.label("http_route") == Some(route)));
    assert!(
        samples(&families)
            .any(|s| s.label("status_message") == Some("line1\nline2 \"quoted\" \\ back"))
    );
    assert!(samples(&families).any(|s| s.label("service") == Some("bäckend ✓")));
}

#[test]
fn grafana_service_graph_series_are_present() {
    let m = populated();
    let text = render_prometheus(&m.snapshot());
    let families = parse(&text, Format::Prometheus).unwrap();
    let req = |client: &str, server: &str, ct: Option<&str>| {
        samples(&families)
            .find(|s| {
                s.name == "traces_service_graph_request_total"
                    && s.label("client") == Some(client)
                    && s.label("server") == Some(server)
                    && s.label("connection_type") == ct
            })
            .map(|s| s.value)
    };
    assert_eq!(req("frontend", "bäckend ✓", None), Some(1.0));
    assert_eq!(req("bäckend ✓", "postgresql", Some("database")), Some(1.0));
    assert_eq!(
        req("user", "frontend", Some("virtual_node")),
        Some(1.0),
        "root span caller"
    );
    // The client span of trace 2 never got its server: unpaired.
    assert!(
        samples(&families).any(|s| s.name == "traces_service_graph_unpaired_spans_total"
            && s.label("client") == Some("frontend")
            && s.value == 1.0)
    );
    assert!(text.contains("traces_service_graph_request_server_seconds_bucket{"));
    assert!(text.contains("traces_service_graph_request_client_seconds_count{"));
    assert!(text.contains("traces_spanmetrics_latency_bucket{"));
    assert!(text.contains("traces_spanmetrics_size_total{"));
}

#[test]
fn parser_rejects_malformed_text() {
    // Guards against a parser that accepts everything.
    for (bad, f) in [
        ("x_total 1\n", Format::Prometheus),
        (
            "# TYPE x counter\nx_total{a=\"b} 1\n# EOF\n",
            Format::OpenMetrics,
        ),
        ("# TYPE x counter\nx_total 1\n", Format::OpenMetrics),
        (
            "# TYPE x_total counter\nx_total 1 # {a=\"b\"} 1\n",
            Format::Prometheus,
        ),
        (
            "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
            Format::Prometheus,
        ),
        (
            "# TYPE x_total counter\nx_total{a=\"1\",a=\"2\"} 1\n",
            Format::Prometheus,
        ),
        (
            "# TYPE x_total counter\nx_total{a=\"\\t\"} 1\n",
            Format::Prometheus,
        ),
    ] {
        assert!(parse(bad, f).is_err(), "accepted {bad:?}");
    }
}
