//! Behaviour tests of the whole plugin with exact expected values.

use crate::config::{Config, Processor};
use crate::model::{Attribute, Span, SpanId, SpanKind, StatusCode, TraceId};
use crate::series::{Series, Value};
use crate::{SpanMetrics, render_openmetrics};

const NOW: u64 = 1_700_000_000_000_000_000;
const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;

fn span(service: &str, name: &str, kind: SpanKind, duration_ms: u64) -> Span {
    Span {
        trace_id: TraceId([1; 16]),
        span_id: SpanId([2; 8]),
        name: name.to_owned(),
        kind,
        start_unix_nanos: NOW - SEC,
        end_unix_nanos: NOW - SEC + duration_ms * MS,
        resource: vec![Attribute::new("service.name", service)],
        encoded_size: 100,
        ..Span::default()
    }
}

fn ids(mut s: Span, trace: u8, id: u8, parent: Option<u8>) -> Span {
    s.trace_id = TraceId([trace; 16]);
    s.span_id = SpanId([id; 8]);
    s.parent_span_id = parent.map(|p| SpanId([p; 8]));
    s
}

fn with_status(mut s: Span, code: StatusCode, msg: &str) -> Span {
    s.status_code = code;
    s.status_message = msg.to_owned();
    s
}

fn with_attr(mut s: Span, k: &str, v: impl Into<crate::model::AttrValue>) -> Span {
    s.attributes.push(Attribute::new(k, v));
    s
}

fn only(p: Processor) -> Config {
    Config {
        processors: vec![p],
        ..Config::default()
    }
}

fn cfg(json: &str) -> Config {
    Config::parse(json).unwrap()
}

fn find<'a>(snap: &'a [Series], name: &str, labels: &[(&str, &str)]) -> &'a Series {
    let mut want: Vec<(String, String)> = labels
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    want.sort();
    snap.iter()
        .find(|s| s.name == name && s.labels == want)
        .unwrap_or_else(|| panic!("no {name}{labels:?} in\n{}", crate::render_prometheus(snap)))
}

fn count(snap: &[Series], name: &str) -> usize {
    snap.iter().filter(|s| s.name == name).count()
}

fn scalar(snap: &[Series], name: &str, labels: &[(&str, &str)]) -> f64 {
    find(snap, name, labels).scalar().unwrap()
}

const API_GET: &[(&str, &str)] = &[
    ("service", "api"),
    ("span_name", "GET /"),
    ("span_kind", "SPAN_KIND_SERVER"),
    ("status_code", "STATUS_CODE_UNSET"),
];

// ---------------------------------------------------------------- span metrics

#[test]
fn seven_spans_exact_red_metrics() {
    let mut m = SpanMetrics::new(only(Processor::SpanMetrics)).unwrap();
    let mut spans = vec![
        span("api", "GET /", SpanKind::Server, 1),
        span("api", "GET /", SpanKind::Server, 3),
        span("api", "GET /", SpanKind::Server, 5),
        with_status(
            span("api", "GET /", SpanKind::Server, 20),
            StatusCode::Error,
            "boom",
        ),
        span("api", "SELECT", SpanKind::Client, 1),
        span("api", "SELECT", SpanKind::Client, 2),
        span("worker", "job", SpanKind::Internal, 30_000),
    ];
    spans[3].encoded_size = 50;
    m.observe_batch(&spans, NOW);
    let snap = m.snapshot();

    assert_eq!(count(&snap, "traces_spanmetrics_calls_total"), 4);
    assert_eq!(
        scalar(&snap, "traces_spanmetrics_calls_total", API_GET),
        3.0
    );
    assert_eq!(
        scalar(&snap, "traces_spanmetrics_size_total", API_GET),
        300.0
    );
    let h = find(&snap, "traces_spanmetrics_latency", API_GET)
        .histogram()
        .unwrap();
    assert_eq!(h.count, 3);
    assert!((h.sum - 0.009).abs() < 1e-12);
    let cumulative: Vec<u64> = h.buckets.iter().map(|b| b.cumulative_count).collect();
    // le: .002 .004 .008 .016 … 16.384 +Inf
    assert_eq!(
        cumulative,
        vec![1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]
    );

    let err = [
        ("service", "api"),
        ("span_name", "GET /"),
        ("span_kind", "SPAN_KIND_SERVER"),
        ("status_code", "STATUS_CODE_ERROR"),
    ];
    assert_eq!(scalar(&snap, "traces_spanmetrics_calls_total", &err), 1.0);
    assert_eq!(scalar(&snap, "traces_spanmetrics_size_total", &err), 50.0);
    let h = find(&snap, "traces_spanmetrics_latency", &err)
        .histogram()
        .unwrap();
    // 0.020 s first fits le=0.032 (index 4).
    let cumulative: Vec<u64> = h.buckets.iter().map(|b| b.cumulative_count).collect();
    assert_eq!(cumulative[..6], [0, 0, 0, 0, 1, 1]);

    let select = [
        ("service", "api"),
        ("span_name", "SELECT"),
        ("span_kind", "SPAN_KIND_CLIENT"),
        ("status_code", "STATUS_CODE_UNSET"),
    ];
    assert_eq!(
        scalar(&snap, "traces_spanmetrics_calls_total", &select),
        2.0
    );
    let h = find(&snap, "traces_spanmetrics_latency", &select)
        .histogram()
        .unwrap();
    assert_eq!(
        h.buckets[0].cumulative_count, 2,
        "1 ms and 2 ms: le is inclusive"
    );
    assert!((h.sum - 0.003).abs() < 1e-12);

    let job = [
        ("service", "worker"),
        ("span_name", "job"),
        ("span_kind", "SPAN_KIND_INTERNAL"),
        ("status_code", "STATUS_CODE_UNSET"),
    ];
    let h = find(&snap, "traces_spanmetrics_latency", &job)
        .histogram()
        .unwrap();
    assert_eq!(h.buckets[13].cumulative_count, 0, "30 s > 16.384 s");
    assert_eq!(h.buckets[14].cumulative_count, 1);
    assert!(h.buckets[14].le.is_infinite());
    assert_eq!(h.sum, 30.0);

    let total: f64 = snap
        .iter()
        .filter(|s| s.name == "traces_spanmetrics_calls_total")
        .map(|s| s.scalar().unwrap())
        .sum();
    assert_eq!(total, 7.0);
    // 4 label sets × (calls + size + 14 buckets + Inf + sum + count).
    assert_eq!(m.active_series(), 4 * 19);
    assert_eq!(scalar(&snap, crate::ACTIVE_SERIES, &[]), 76.0);
}

#[test]
fn negative_durations_count_as_zero() {
    let mut m = SpanMetrics::new(only(Processor::SpanMetrics)).unwrap();
    let mut s = span("api", "GET /", SpanKind::Server, 0);
    s.end_unix_nanos = s.start_unix_nanos - 5;
    m.observe(&s, NOW);
    let snap = m.snapshot();
    let h = find(&snap, "traces_spanmetrics_latency", API_GET)
        .histogram()
        .unwrap();
    assert_eq!(h.sum, 0.0);
    assert_eq!(h.buckets[0].cumulative_count, 1);
}

#[test]
fn dimensions_sanitized_resource_first_and_collisions_prefixed() {
    let c = cfg(r#"{"processors": ["span-metrics"],
            "span_metrics": {
              "dimensions": ["http.method", "deployment.environment", "service", "http.status_code", "absent"],
              "intrinsic_dimensions": {"status_message": true}
            }}"#);
    let mut m = SpanMetrics::new(c).unwrap();
    let mut s = span("api", "GET /", SpanKind::Server, 1);
    s.resource
        .push(Attribute::new("deployment.environment", "prod"));
    let s = with_attr(s, "deployment.environment", "dev");
    let s = with_attr(s, "http.method", "GET");
    let s = with_attr(s, "service", "shadow");
    let s = with_attr(s, "http.status_code", 200);
    let s = with_status(s, StatusCode::Error, "db \"down\"");
    m.observe(&s, NOW);
    let snap = m.snapshot();
    let series = find(
        &snap,
        "traces_spanmetrics_calls_total",
        &[
            ("service", "api"),
            ("span_name", "GET /"),
            ("span_kind", "SPAN_KIND_SERVER"),
            ("status_code", "STATUS_CODE_ERROR"),
            ("status_message", "db \"down\""),
            ("http_method", "GET"),
            ("deployment_environment", "prod"),
            ("__service", "shadow"),
            ("http_status_code", "200"),
        ],
    );
    assert_eq!(series.scalar(), Some(1.0));
    assert!(
        series.label("absent").is_none(),
        "empty values are no label"
    );
}

#[test]
fn dimension_mappings_join_present_values() {
    let c = cfg(r#"{"processors": ["span-metrics"],
            "span_metrics": {
              "intrinsic_dimensions": {"span_name": false, "span_kind": false, "status_code": false},
              "dimension_mappings": [
                {"name": "route", "source_labels": ["http.method", "missing", "http.route"], "join": " "}
              ]
            }}"#);
    let mut m = SpanMetrics::new(c).unwrap();
    let s = with_attr(span("api", "x", SpanKind::Server, 1), "http.method", "GET");
    let s = with_attr(s, "http.route", "/users/{id}");
    m.observe(&s, NOW);
    let snap = m.snapshot();
    assert_eq!(
        scalar(
            &snap,
            "traces_spanmetrics_calls_total",
            &[("service", "api"), ("route", "GET /users/{id}")]
        ),
        1.0
    );
}

#[test]
fn subprocessors_can_be_switched_off() {
    let c = cfg(r#"{"processors": ["span-metrics"],
            "span_metrics": {"subprocessors": {"latency": false, "size": false}}}"#);
    let mut m = SpanMetrics::new(c).unwrap();
    m.observe(&span("api", "GET /", SpanKind::Server, 1), NOW);
    let snap = m.snapshot();
    assert_eq!(count(&snap, "traces_spanmetrics_calls_total"), 1);
    assert_eq!(count(&snap, "traces_spanmetrics_latency"), 0);
    assert_eq!(count(&snap, "traces_spanmetrics_size_total"), 0);
    assert_eq!(m.active_series(), 1);
}

#[test]
fn span_metrics_exemplars_carry_trace_and_span_ids() {
    let mut m = SpanMetrics::new(only(Processor::SpanMetrics)).unwrap();
    let a = ids(span("api", "GET /", SpanKind::Server, 3), 0xaa, 0x11, None);
    let b = ids(span("api", "GET /", SpanKind::Server, 3), 0xbb, 0x22, None);
    m.observe(&a, NOW);
    m.observe(&b, NOW + 7);
    let snap = m.snapshot();
    let h = find(&snap, "traces_spanmetrics_latency", API_GET)
        .histogram()
        .unwrap();
    let ex = h.buckets[1]
        .exemplar
        .as_ref()
        .expect("3 ms lands in le=0.004");
    assert_eq!(
        ex.label("traceID"),
        Some("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
    );
    assert_eq!(ex.label("spanID"), Some("2222222222222222"));
    assert_eq!(ex.value, 0.003);
    assert_eq!(ex.timestamp_unix_nanos, NOW + 7);
    assert!(h.buckets[0].exemplar.is_none());
    let Value::Counter { exemplar, .. } =
        &find(&snap, "traces_spanmetrics_calls_total", API_GET).value
    else {
        panic!()
    };
    let ex = exemplar.as_ref().unwrap();
    assert_eq!(ex.value, 1.0);
    assert_eq!(
        ex.label("traceID"),
        Some("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
    );
    let Value::Counter { exemplar, .. } =
        &find(&snap, "traces_spanmetrics_size_total", API_GET).value
    else {
        panic!()
    };
    assert_eq!(exemplar.as_ref().unwrap().value, 100.0);
}

#[test]
fn exemplar_label_names_are_configurable() {
    let c = cfg(r#"{"processors": ["span-metrics"],
            "registry": {"trace_id_label_name": "trace_id", "span_id_label_name": ""}}"#);
    let mut m = SpanMetrics::new(c).unwrap();
    m.observe(&span("api", "GET /", SpanKind::Server, 3), NOW);
    let text = render_openmetrics(&m.snapshot());
    assert!(
        text.contains(r#"# {trace_id="01010101010101010101010101010101"} 0.003 1700000000"#),
        "{text}"
    );
}

#[test]
fn cardinality_cap_refuses_new_series_and_counts() {
    // Room for exactly two label sets of 19 series each.
    let c = cfg(r#"{"processors": ["span-metrics"], "registry": {"max_series": 40}}"#);
    let mut m = SpanMetrics::new(c).unwrap();
    for name in ["a", "b", "c", "d", "a", "c"] {
        m.observe(&span("api", name, SpanKind::Server, 1), NOW);
    }
    let snap = m.snapshot();
    assert_eq!(count(&snap, "traces_spanmetrics_calls_total"), 2);
    let calls = |n: &str| {
        scalar(
            &snap,
            "traces_spanmetrics_calls_total",
            &[
                ("service", "api"),
                ("span_name", n),
                ("span_kind", "SPAN_KIND_SERVER"),
                ("status_code", "STATUS_CODE_UNSET"),
            ],
        )
    };
    assert_eq!(calls("a"), 2.0, "existing series keep counting at the cap");
    assert_eq!(calls("b"), 1.0);
    assert_eq!(m.active_series(), 38);
    assert_eq!(m.series_limited(), 3, "c, d, c refused");
    assert_eq!(scalar(&snap, crate::SERIES_LIMITED_TOTAL, &[]), 3.0);

    // Stale series go away after stale_duration (15m) and free the budget.
    m.expire(NOW + 16 * 60 * SEC);
    assert_eq!(m.active_series(), 0);
    m.observe(&span("api", "c", SpanKind::Server, 1), NOW + 16 * 60 * SEC);
    assert_eq!(m.span_metrics_label_sets(), 1);
}

#[test]
fn stale_series_survive_while_updated() {
    let mut m = SpanMetrics::new(only(Processor::SpanMetrics)).unwrap();
    m.observe(&span("api", "a", SpanKind::Server, 1), NOW);
    m.observe(&span("api", "b", SpanKind::Server, 1), NOW);
    m.observe(&span("api", "a", SpanKind::Server, 1), NOW + 10 * 60 * SEC);
    m.expire(NOW + 20 * 60 * SEC);
    let snap = m.snapshot();
    assert_eq!(count(&snap, "traces_spanmetrics_calls_total"), 1);
    assert_eq!(m.span_metrics_label_sets(), 1);
}

#[test]
fn spans_without_service_name_have_no_service_label() {
    let mut m = SpanMetrics::new(Config::default()).unwrap();
    let mut s = span("x", "GET /", SpanKind::Server, 1);
    s.resource.clear();
    m.observe(&s, NOW);
    let snap = m.snapshot();
    let series = find(
        &snap,
        "traces_spanmetrics_calls_total",
        &[
            ("span_name", "GET /"),
            ("span_kind", "SPAN_KIND_SERVER"),
            ("status_code", "STATUS_CODE_UNSET"),
        ],
    );
    assert_eq!(series.scalar(), Some(1.0));
    assert_eq!(m.pending_edges(), 0, "service graphs skip them");
}

#[test]
fn long_label_values_are_truncated() {
    let c = cfg(r#"{"processors": ["span-metrics"], "registry": {"max_label_value_length": 5}}"#);
    let mut m = SpanMetrics::new(c).unwrap();
    m.observe(&span("api", "GET /users/123", SpanKind::Server, 1), NOW);
    m.observe(&span("api", "GET /users/456", SpanKind::Server, 1), NOW);
    let snap = m.snapshot();
    let s = find(
        &snap,
        "traces_spanmetrics_calls_total",
        &[
            ("service", "api"),
            ("span_name", "GET /"),
            ("span_kind", "SPAN_"),
            ("status_code", "STATU"),
        ],
    );
    assert_eq!(s.scalar(), Some(2.0));
}

// -------------------------------------------------------------- service graphs

fn client(trace: u8, id: u8, svc: &str, ms: u64) -> Span {
    ids(
        span(svc, "call", SpanKind::Client, ms),
        trace,
        id,
        Some(0x99),
    )
}

fn server(trace: u8, id: u8, parent: u8, svc: &str, ms: u64) -> Span {
    ids(
        span(svc, "handle", SpanKind::Server, ms),
        trace,
        id,
        Some(parent),
    )
}

const FE_BE: &[(&str, &str)] = &[("client", "frontend"), ("server", "backend")];

fn graph() -> SpanMetrics {
    SpanMetrics::new(only(Processor::ServiceGraphs)).unwrap()
}

fn assert_one_request(m: &SpanMetrics) {
    let snap = m.snapshot();
    assert_eq!(
        scalar(&snap, "traces_service_graph_request_total", FE_BE),
        1.0
    );
    assert_eq!(
        scalar(&snap, "traces_service_graph_request_failed_total", FE_BE),
        0.0
    );
    let srv = find(&snap, "traces_service_graph_request_server_seconds", FE_BE)
        .histogram()
        .unwrap();
    assert_eq!(srv.count, 1);
    assert!((srv.sum - 0.8).abs() < 1e-12);
    // 0.8 s: le = 0.1 0.2 0.4 0.8 … → first bucket holding it is 0.8.
    let cum: Vec<u64> = srv.buckets.iter().map(|b| b.cumulative_count).collect();
    assert_eq!(cum, vec![0, 0, 0, 1, 1, 1, 1, 1, 1]);
    let cli = find(&snap, "traces_service_graph_request_client_seconds", FE_BE)
        .histogram()
        .unwrap();
    assert!((cli.sum - 1.0).abs() < 1e-12);
    assert_eq!(m.pending_edges(), 0);
    assert_eq!(count(&snap, "traces_service_graph_unpaired_spans_total"), 0);
}

#[test]
fn pairs_client_then_server() {
    let mut m = graph();
    m.observe(&client(1, 0x10, "frontend", 1000), NOW);
    assert_eq!(m.pending_edges(), 1);
    m.observe(&server(1, 0x20, 0x10, "backend", 800), NOW);
    assert_one_request(&m);
}

#[test]
fn pairs_server_then_client() {
    let mut m = graph();
    m.observe(&server(1, 0x20, 0x10, "backend", 800), NOW);
    assert_eq!(m.pending_edges(), 1);
    m.observe(&client(1, 0x10, "frontend", 1000), NOW + SEC);
    assert_one_request(&m);
}

#[test]
fn halves_in_different_traces_do_not_pair() {
    let mut m = graph();
    m.observe(&client(1, 0x10, "frontend", 1000), NOW);
    m.observe(&server(2, 0x20, 0x10, "backend", 800), NOW);
    assert_eq!(m.pending_edges(), 2);
    assert_eq!(
        count(&m.snapshot(), "traces_service_graph_request_total"),
        0
    );
}

#[test]
fn failed_requests_from_either_side() {
    let mut m = graph();
    // Server side failed.
    m.observe(&client(1, 0x10, "frontend", 1000), NOW);
    m.observe(
        &with_status(server(1, 0x20, 0x10, "backend", 800), StatusCode::Error, ""),
        NOW,
    );
    // Client side failed, server arrives first.
    m.observe(&server(2, 0x21, 0x11, "backend", 800), NOW);
    m.observe(
        &with_status(client(2, 0x11, "frontend", 1000), StatusCode::Error, ""),
        NOW,
    );
    // Neither failed.
    m.observe(&client(3, 0x12, "frontend", 1000), NOW);
    m.observe(&server(3, 0x22, 0x12, "backend", 800), NOW);
    let snap = m.snapshot();
    assert_eq!(
        scalar(&snap, "traces_service_graph_request_total", FE_BE),
        3.0
    );
    assert_eq!(
        scalar(&snap, "traces_service_graph_request_failed_total", FE_BE),
        2.0
    );
}

#[test]
fn service_graph_exemplars_use_each_sides_span_id() {
    let mut m = graph();
    m.observe(&client(0xab, 0x10, "frontend", 1000), NOW);
    m.observe(&server(0xab, 0x20, 0x10, "backend", 800), NOW + 3);
    let snap = m.snapshot();
    let trace = "abababababababababababababababab";
    let srv = find(&snap, "traces_service_graph_request_server_seconds", FE_BE)
        .histogram()
        .unwrap();
    let ex = srv.buckets[3].exemplar.as_ref().unwrap();
    assert_eq!(ex.label("traceID"), Some(trace));
    assert_eq!(ex.label("spanID"), Some("2020202020202020"));
    assert_eq!(ex.value, 0.8);
    assert_eq!(ex.timestamp_unix_nanos, NOW + 3);
    let cli = find(&snap, "traces_service_graph_request_client_seconds", FE_BE)
        .histogram()
        .unwrap();
    let ex = cli.buckets[4].exemplar.as_ref().unwrap();
    assert_eq!(ex.label("spanID"), Some("1010101010101010"));
    assert_eq!(ex.value, 1.0);
    let Value::Counter { exemplar, .. } =
        &find(&snap, "traces_service_graph_request_total", FE_BE).value
    else {
        panic!()
    };
    assert_eq!(exemplar.as_ref().unwrap().label("traceID"), Some(trace));
}

#[test]
fn messaging_edges_and_optional_latency_histogram() {
    let c = cfg(r#"{"processors": ["service-graphs"],
            "service_graphs": {"enable_messaging_system_latency_histogram": true}}"#);
    let mut m = SpanMetrics::new(c).unwrap();
    let producer = ids(span("shop", "send", SpanKind::Producer, 100), 1, 0x10, None);
    let mut consumer = ids(
        span("billing", "recv", SpanKind::Consumer, 50),
        1,
        0x20,
        Some(0x10),
    );
    // Consumer starts 300 ms after the producer ended.
    consumer.start_unix_nanos = producer.end_unix_nanos + 300 * MS;
    consumer.end_unix_nanos = consumer.start_unix_nanos + 50 * MS;
    m.observe(&producer, NOW);
    m.observe(&consumer, NOW);
    let snap = m.snapshot();
    let labels = [
        ("client", "shop"),
        ("server", "billing"),
        ("connection_type", "messaging_system"),
    ];
    assert_eq!(
        scalar(&snap, "traces_service_graph_request_total", &labels),
        1.0
    );
    let h = find(
        &snap,
        "traces_service_graph_request_messaging_system_seconds",
        &labels,
    )
    .histogram()
    .unwrap();
    assert_eq!(h.count, 1);
    assert!((h.sum - 0.3).abs() < 1e-9);
    // request, failed, 3 histograms × (8 + 3).
    assert_eq!(m.active_series(), 2 + 3 * 11);
}

#[test]
fn database_calls_complete_from_the_client_span_alone() {
    let mut m = graph();
    let q = with_attr(client(1, 0x10, "api", 40), "db.system", "postgresql");
    let q = with_attr(q, "db.name", "orders");
    m.observe(&q, NOW);
    let q2 = with_attr(client(1, 0x11, "api", 40), "db.system", "redis");
    let q2 = with_attr(q2, "server.address", "cache:6379");
    m.observe(&q2, NOW);
    let snap = m.snapshot();
    let db = [
        ("client", "api"),
        ("server", "orders"),
        ("connection_type", "database"),
    ];
    assert_eq!(
        scalar(&snap, "traces_service_graph_request_total", &db),
        1.0
    );
    let h = find(&snap, "traces_service_graph_request_server_seconds", &db)
        .histogram()
        .unwrap();
    assert!(
        (h.sum - 0.04).abs() < 1e-12,
        "server latency is the client's"
    );
    let cache = [
        ("client", "api"),
        ("server", "cache:6379"),
        ("connection_type", "database"),
    ];
    assert_eq!(
        scalar(&snap, "traces_service_graph_request_total", &cache),
        1.0
    );
    assert_eq!(m.pending_edges(), 0);
}

#[test]
fn unpaired_halves_expire_after_wait_and_are_counted() {
    let mut m = graph();
    m.observe(&client(1, 0x10, "frontend", 10), NOW);
    m.observe(&server(2, 0x20, 0x30, "backend", 10), NOW + 5 * SEC);
    m.expire(NOW + 9 * SEC);
    assert_eq!(m.pending_edges(), 2, "wait is 10s");
    m.expire(NOW + 10 * SEC);
    assert_eq!(m.pending_edges(), 1, "client half expired");
    m.expire(NOW + 15 * SEC);
    assert_eq!(m.pending_edges(), 0);
    let snap = m.snapshot();
    assert_eq!(
        scalar(
            &snap,
            "traces_service_graph_unpaired_spans_total",
            &[("client", "frontend")]
        ),
        1.0
    );
    assert_eq!(
        scalar(
            &snap,
            "traces_service_graph_unpaired_spans_total",
            &[("server", "backend")]
        ),
        1.0
    );
    assert_eq!(count(&snap, "traces_service_graph_request_total"), 0);
    assert_eq!(m.service_graph_stats().expired_edges, 2);
    assert_eq!(m.service_graph_stats().edges, 2);
    assert_eq!(
        scalar(&snap, crate::SERVICE_GRAPH_EXPIRED_EDGES_TOTAL, &[]),
        2.0
    );
    // A late pair is a new half, not a resurrected edge.
    m.observe(&server(1, 0x20, 0x10, "backend", 10), NOW + 16 * SEC);
    assert_eq!(m.pending_edges(), 1);
}

#[test]
fn completed_edges_do_not_expire() {
    let mut m = graph();
    m.observe(&client(1, 0x10, "frontend", 1000), NOW);
    m.observe(&server(1, 0x20, 0x10, "backend", 800), NOW);
    m.expire(NOW + 60 * SEC);
    let snap = m.snapshot();
    assert_eq!(count(&snap, "traces_service_graph_unpaired_spans_total"), 0);
    assert_eq!(m.service_graph_stats().expired_edges, 0);
}

#[test]
fn virtual_nodes_for_uninstrumented_peers() {
    let c = cfg(
        r#"{"processors": ["service-graphs"], "service_graphs": {"enable_virtual_node_label": true}}"#,
    );
    let mut m = SpanMetrics::new(c).unwrap();
    // A client call to an external API that sends no spans.
    m.observe(
        &with_attr(client(1, 0x10, "checkout", 200), "peer.service", "stripe"),
        NOW,
    );
    // A root server span: called by a browser or curl.
    m.observe(
        &ids(
            span("frontend", "GET /", SpanKind::Server, 50),
            2,
            0x20,
            None,
        ),
        NOW,
    );
    // A root server span whose caller is named by a peer attribute.
    m.observe(
        &with_attr(
            ids(
                span("frontend", "GET /", SpanKind::Server, 50),
                3,
                0x21,
                None,
            ),
            "peer.service",
            "mobile-app",
        ),
        NOW,
    );
    m.expire(NOW + 11 * SEC);
    let snap = m.snapshot();
    let vn = |c: &str, s: &str, side: &str| {
        scalar(
            &snap,
            "traces_service_graph_request_total",
            &[
                ("client", c),
                ("server", s),
                ("connection_type", "virtual_node"),
                ("virtual_node", side),
            ],
        )
    };
    assert_eq!(vn("checkout", "stripe", "server"), 1.0);
    assert_eq!(vn("user", "frontend", "client"), 1.0);
    assert_eq!(vn("mobile-app", "frontend", "client"), 1.0);
    assert_eq!(count(&snap, "traces_service_graph_unpaired_spans_total"), 0);
    assert_eq!(m.service_graph_stats().expired_edges, 0);
}

#[test]
fn full_edge_store_drops_and_counts_spans() {
    let c = cfg(r#"{"processors": ["service-graphs"], "service_graphs": {"max_items": 2}}"#);
    let mut m = SpanMetrics::new(c).unwrap();
    m.observe(&client(1, 0x10, "frontend", 10), NOW);
    m.observe(&client(1, 0x11, "frontend", 10), NOW);
    m.observe(&client(1, 0x12, "frontend", 10), NOW);
    m.observe(&server(1, 0x20, 0x13, "backend", 10), NOW);
    assert_eq!(m.pending_edges(), 2);
    // The pair of a stored half still completes at the cap.
    m.observe(&server(1, 0x21, 0x10, "backend", 10), NOW);
    let snap = m.snapshot();
    assert_eq!(
        scalar(&snap, "traces_service_graph_request_total", FE_BE),
        1.0
    );
    assert_eq!(
        scalar(
            &snap,
            "traces_service_graph_dropped_spans_total",
            &[("client", "frontend")]
        ),
        1.0
    );
    assert_eq!(
        scalar(
            &snap,
            "traces_service_graph_dropped_spans_total",
            &[("server", "backend")]
        ),
        1.0
    );
    assert_eq!(m.service_graph_stats().dropped_spans, 2);
    // Full again; once the halves have expired, an insert evicts them
    // (counted as unpaired) instead of dropping the new span.
    m.observe(&client(1, 0x15, "frontend", 10), NOW);
    assert_eq!(m.pending_edges(), 2);
    m.observe(&client(1, 0x14, "frontend", 10), NOW + 11 * SEC);
    assert_eq!(m.pending_edges(), 1);
    assert_eq!(m.service_graph_stats().expired_edges, 2);
    assert_eq!(m.service_graph_stats().dropped_spans, 2);
}

#[test]
fn service_graph_dimensions_with_and_without_prefix() {
    let c = cfg(
        r#"{"processors": ["service-graphs"], "service_graphs": {"dimensions": ["k8s.cluster", "region"]}}"#,
    );
    let mut m = SpanMetrics::new(c).unwrap();
    let mut cl = with_attr(client(1, 0x10, "frontend", 1000), "region", "eu");
    cl.resource.push(Attribute::new("k8s.cluster", "c1"));
    m.observe(&cl, NOW);
    m.observe(&server(1, 0x20, 0x10, "backend", 800), NOW);
    let snap = m.snapshot();
    let labels = [
        ("client", "frontend"),
        ("server", "backend"),
        ("k8s_cluster", "c1"),
        ("region", "eu"),
    ];
    assert_eq!(
        scalar(&snap, "traces_service_graph_request_total", &labels),
        1.0
    );

    let c = cfg(r#"{"processors": ["service-graphs"],
            "service_graphs": {"dimensions": ["region"], "enable_client_server_prefix": true}}"#);
    let mut m = SpanMetrics::new(c).unwrap();
    m.observe(
        &with_attr(client(1, 0x10, "frontend", 1000), "region", "eu"),
        NOW,
    );
    m.observe(
        &with_attr(server(1, 0x20, 0x10, "backend", 800), "region", "us"),
        NOW,
    );
    let snap = m.snapshot();
    let labels = [
        ("client", "frontend"),
        ("server", "backend"),
        ("client_region", "eu"),
        ("server_region", "us"),
    ];
    assert_eq!(
        scalar(&snap, "traces_service_graph_request_total", &labels),
        1.0
    );
}

#[test]
fn internal_spans_are_not_edges() {
    let mut m = graph();
    m.observe(&span("api", "work", SpanKind::Internal, 1), NOW);
    m.observe(&span("api", "work", SpanKind::Unspecified, 1), NOW);
    assert_eq!(m.pending_edges(), 0);
    assert_eq!(m.service_graph_stats().edges, 0);
}

#[test]
fn service_graph_respects_the_series_cap() {
    // One edge label set costs 2 + 2 × 11 = 24 series.
    let c = cfg(r#"{"processors": ["service-graphs"], "registry": {"max_series": 30}}"#);
    let mut m = SpanMetrics::new(c).unwrap();
    m.observe(&client(1, 0x10, "a", 10), NOW);
    m.observe(&server(1, 0x20, 0x10, "b", 10), NOW);
    m.observe(&client(1, 0x11, "a", 10), NOW);
    m.observe(&server(1, 0x21, 0x11, "c", 10), NOW);
    let snap = m.snapshot();
    assert_eq!(count(&snap, "traces_service_graph_request_total"), 1);
    assert_eq!(m.active_series(), 24);
    assert_eq!(m.series_limited(), 1);
}

// ------------------------------------------------------------------- snapshot

#[test]
fn snapshot_is_sorted_and_self_describing() {
    let mut m = SpanMetrics::new(Config::default()).unwrap();
    m.observe(&span("b", "x", SpanKind::Server, 1), NOW);
    m.observe(&span("a", "x", SpanKind::Server, 1), NOW);
    let snap = m.snapshot();
    let keys: Vec<(&str, &Vec<(String, String)>)> =
        snap.iter().map(|s| (s.name, &s.labels)).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    for s in &snap {
        let mut l = s.labels.clone();
        l.sort();
        l.dedup_by(|a, b| a.0 == b.0);
        assert_eq!(l, s.labels, "labels sorted and unique");
    }
    for name in [
        crate::ACTIVE_SERIES,
        crate::SERIES_LIMITED_TOTAL,
        crate::SERVICE_GRAPH_EDGES_TOTAL,
        crate::SERVICE_GRAPH_EXPIRED_EDGES_TOTAL,
        crate::SERVICE_GRAPH_DROPPED_SPANS_TOTAL,
    ] {
        assert_eq!(count(&snap, name), 1, "{name}");
    }
}

#[test]
fn new_rejects_an_invalid_config_built_in_code() {
    let mut c = Config::default();
    c.span_metrics.histogram_buckets = vec![1.0, f64::INFINITY];
    let e = SpanMetrics::new(c).err().unwrap();
    assert_eq!(e.path, "span_metrics.histogram_buckets[1]");
}
