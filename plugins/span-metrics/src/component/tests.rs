//! The glue through the SDK's native harness: needs, exact counts via `collect`, the naming
//! contract with the host's renderer, exemplars, and service-graph pairing across batches.

use spangate_plugin_sdk::testing::{MetricsHarness, TestSpan, TestValue, set_now};
use spangate_plugin_sdk::{
    AttributeSelection, MetricPoint, MetricValue, SpanFields, SpanKind as WitSpanKind,
    StatusCode as WitStatusCode,
};

use super::*;

const MS: u64 = 1_000_000;
const SECOND: u64 = 1_000 * MS;
const NOW: u64 = 1_700_000_000 * SECOND;

type Harness = MetricsHarness<SpanMetricsPlugin>;

fn harness(config: &str) -> Harness {
    Harness::new(config).unwrap_or_else(|error| panic!("{config}: {error}"))
}

fn refusal(config: &str) -> String {
    match Harness::new(config) {
        Ok(_) => panic!("accepted: {config}"),
        Err(message) => message,
    }
}

/// The one point named `name` whose labels include every pair of `labels`.
fn point<'a>(points: &'a [MetricPoint], name: &str, labels: &[(&str, &str)]) -> &'a MetricPoint {
    let found: Vec<&MetricPoint> = points
        .iter()
        .filter(|point| point.name == name)
        .filter(|point| {
            labels
                .iter()
                .all(|(key, value)| point.labels.iter().any(|(k, v)| k == key && v == value))
        })
        .collect();
    assert_eq!(found.len(), 1, "{name} {labels:?} in {points:#?}");
    found[0]
}

fn counter(point: &MetricPoint) -> f64 {
    match point.value {
        MetricValue::Counter(value) => value,
        ref other => panic!("not a counter: {other:?}"),
    }
}

fn span(trace_id: u128, span_id: u64, service: &str, kind: WitSpanKind, ms: u64) -> TestSpan {
    TestSpan::new(trace_id, span_id)
        .service(service)
        .kind(kind)
        .times(NOW, NOW + ms * MS)
}

#[test]
fn bad_config_is_refused_with_the_key_path() {
    assert_eq!(
        refusal(r#"{"span_metrics": {"histogram_buckets": [1, 0.5]}}"#),
        "invalid span-metrics config at `span_metrics.histogram_buckets[1]`: \
         bucket bounds must be strictly increasing"
    );
    let message = refusal(r#"{"service_graphs": {"wait": "soon"}}"#);
    assert!(
        message.starts_with("invalid span-metrics config at `service_graphs.wait`: "),
        "{message}"
    );
}

#[test]
fn needs_are_what_the_processors_read() {
    let defaults = harness("{}");
    let needs = defaults.needs();
    assert_eq!(needs.name, "span-metrics");
    assert_eq!(
        needs.fields,
        SpanFields::TRACE_ID
            | SpanFields::SPAN_ID
            | SpanFields::PARENT_SPAN_ID
            | SpanFields::SERVICE_NAME
            | SpanFields::NAME
            | SpanFields::KIND
            | SpanFields::TIMES
            | SpanFields::STATUS
            | SpanFields::SIZE
    );
    let database = [
        "db.name",
        "db.namespace",
        "db.system",
        "network.peer.address",
        "network.peer.port",
        "peer.service",
        "server.address",
    ];
    assert_eq!(needs.span_attributes, AttributeSelection::keys(database));
    assert_eq!(
        needs.resource_attributes,
        AttributeSelection::keys(database)
    );
    assert_eq!(needs.event_attributes, AttributeSelection::None);
    assert_eq!(needs.link_attributes, AttributeSelection::None);

    let narrow = harness(
        r#"{"processors": ["span-metrics"], "span_metrics": {
              "dimensions": ["http.method"],
              "intrinsic_dimensions": {"span_name": false, "status_code": false, "status_message": true},
              "subprocessors": {"latency": false, "size": false}}}"#,
    );
    let needs = narrow.needs();
    assert_eq!(
        needs.fields,
        SpanFields::TRACE_ID
            | SpanFields::SPAN_ID
            | SpanFields::SERVICE_NAME
            | SpanFields::KIND
            | SpanFields::STATUS_MESSAGE
    );
    assert_eq!(
        needs.span_attributes,
        AttributeSelection::keys(["http.method"])
    );
    assert_eq!(
        needs.resource_attributes,
        AttributeSelection::keys(["http.method"])
    );
}

#[test]
fn span_metrics_counts_are_exact() {
    set_now(Some(NOW));
    let mut harness = harness(
        r#"{"processors": ["span-metrics"], "span_metrics": {"dimensions": ["http.method"]}}"#,
    );
    let get = |span_id: u64, ms: u64| {
        span(1, span_id, "api", WitSpanKind::Server, ms)
            .named("GET /items")
            .attr("http.method", "GET")
    };
    let spans = [
        get(1, 1),
        get(2, 3),
        get(3, 3000),
        span(2, 4, "api", WitSpanKind::Server, 5)
            .named("GET /items")
            .status(WitStatusCode::Error, "boom"),
        span(2, 5, "db", WitSpanKind::Client, 5).named("SELECT"),
    ];
    harness.observe(&spans[..2]).unwrap();
    set_now(Some(NOW + SECOND));
    harness.observe(&spans[2..]).unwrap();
    let points = harness.collect(NOW + 2 * SECOND);

    let get_labels = [
        ("service", "api"),
        ("span_name", "GET /items"),
        ("span_kind", "SPAN_KIND_SERVER"),
        ("status_code", "STATUS_CODE_UNSET"),
        ("http_method", "GET"),
    ];
    let calls = point(&points, "traces_spanmetrics_calls_total", &get_labels);
    assert_eq!(counter(calls), 3.0);
    assert_eq!(calls.labels.len(), 5, "{:?}", calls.labels);
    assert_eq!(
        counter(point(
            &points,
            "traces_spanmetrics_calls_total",
            &[("status_code", "STATUS_CODE_ERROR")]
        )),
        1.0
    );
    assert_eq!(
        counter(point(
            &points,
            "traces_spanmetrics_calls_total",
            &[("service", "db"), ("span_kind", "SPAN_KIND_CLIENT")]
        )),
        1.0
    );
    let size: f64 = spans[..3]
        .iter()
        .map(|span| f64::from(span.estimated_size()))
        .sum();
    assert_eq!(
        counter(point(&points, "traces_spanmetrics_size_total", &get_labels)),
        size
    );

    let latency = point(&points, "traces_spanmetrics_latency", &get_labels);
    let MetricValue::Histogram(histogram) = &latency.value else {
        panic!("{latency:?}");
    };
    // Tempo's default buckets 0.002 .. 16.384; no +Inf (the host adds it from `count`).
    assert_eq!(histogram.upper_bounds.len(), 14);
    assert_eq!(histogram.upper_bounds[0], 0.002);
    assert_eq!(histogram.upper_bounds[13], 16.384);
    assert_eq!(histogram.count, 3);
    assert!((histogram.sum - 3.004).abs() < 1e-9, "{}", histogram.sum);
    // 1 ms ≤ 0.002; 3 ms ≤ 0.004; 3 s ≤ 4.096 (index 11).
    assert_eq!(
        histogram.bucket_counts,
        [1u64, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3]
    );

    // The most recent exemplar of the point: span 3, observed a second later.
    let exemplar = latency.exemplar.as_ref().expect("exemplar");
    assert_eq!((exemplar.trace_id_hi, exemplar.trace_id_lo), (0, 1));
    assert_eq!(exemplar.span_id, 3);
    assert_eq!(exemplar.value, 3.0);
    assert_eq!(exemplar.time_unix_nanos, NOW + SECOND);
    let calls_exemplar = calls.exemplar.as_ref().expect("counter exemplar");
    assert_eq!((calls_exemplar.span_id, calls_exemplar.value), (3, 1.0));

    // The plugin's own health series, unlabelled.
    let active = point(
        &points,
        "spangate_metrics_generator_registry_active_series",
        &[],
    );
    assert!(matches!(active.value, MetricValue::Gauge(series) if series == 3.0 * 19.0));
    assert!(points.iter().all(|point| !point.help.is_empty()));
}

#[test]
fn service_graph_pairs_halves_across_batches() {
    let mut harness = harness(r#"{"processors": ["service-graphs"]}"#);
    set_now(Some(NOW));
    // The client half of two requests in one batch...
    harness
        .observe(&[
            span(7, 1, "frontend", WitSpanKind::Client, 30),
            span(8, 1, "frontend", WitSpanKind::Client, 30).status(WitStatusCode::Error, ""),
        ])
        .unwrap();
    assert!(
        harness
            .collect(NOW)
            .iter()
            .all(|point| point.name != "traces_service_graph_request_total"),
        "no edge before the server half"
    );
    // ...their server halves in the next.
    set_now(Some(NOW + SECOND));
    harness
        .observe(&[
            span(7, 2, "checkout", WitSpanKind::Server, 20).parent(1),
            span(8, 2, "checkout", WitSpanKind::Server, 20).parent(1),
        ])
        .unwrap();
    let points = harness.collect(NOW + SECOND);
    let edge = [("client", "frontend"), ("server", "checkout")];
    let requests = point(&points, "traces_service_graph_request_total", &edge);
    assert_eq!(counter(requests), 2.0);
    assert_eq!(requests.labels.len(), 2, "no empty connection_type label");
    assert_eq!(
        counter(point(
            &points,
            "traces_service_graph_request_failed_total",
            &edge
        )),
        1.0
    );
    let server = point(
        &points,
        "traces_service_graph_request_server_seconds",
        &edge,
    );
    let MetricValue::Histogram(histogram) = &server.value else {
        panic!("{server:?}");
    };
    assert_eq!(histogram.count, 2);
    assert!((histogram.sum - 0.04).abs() < 1e-9);
    assert_eq!(histogram.upper_bounds.len(), 8);
    let exemplar = server.exemplar.as_ref().expect("exemplar");
    assert_eq!(exemplar.trace_id_lo, 8, "the most recent request");
}

#[test]
fn unpaired_halves_expire_into_counters_and_virtual_nodes() {
    let mut harness =
        harness(r#"{"processors": ["service-graphs"], "service_graphs": {"wait": "5s"}}"#);
    set_now(Some(NOW));
    harness
        .observe(&[
            span(1, 1, "frontend", WitSpanKind::Client, 10),
            span(2, 1, "frontend", WitSpanKind::Client, 10).attr("peer.service", "payments"),
            span(3, 1, "frontend", WitSpanKind::Client, 10).attr("db.system", "postgresql"),
        ])
        .unwrap();
    // The database call is an edge at once; the others wait.
    let points = harness.collect(NOW + SECOND);
    assert_eq!(
        counter(point(
            &points,
            "traces_service_graph_request_total",
            &[("server", "postgresql"), ("connection_type", "database")]
        )),
        1.0
    );
    assert!(
        points
            .iter()
            .all(|point| point.name != "traces_service_graph_unpaired_spans_total")
    );
    let points = harness.collect(NOW + 5 * SECOND);
    assert_eq!(
        counter(point(
            &points,
            "traces_service_graph_request_total",
            &[
                ("client", "frontend"),
                ("server", "payments"),
                ("connection_type", "virtual_node")
            ]
        )),
        1.0
    );
    assert_eq!(
        counter(point(
            &points,
            "traces_service_graph_unpaired_spans_total",
            &[("client", "frontend")]
        )),
        1.0
    );
}

#[test]
fn observe_expires_on_the_host_clock_without_a_collect() {
    let mut harness =
        harness(r#"{"processors": ["service-graphs"], "service_graphs": {"wait": "1s"}}"#);
    set_now(Some(NOW));
    harness
        .observe(&[span(1, 1, "frontend", WitSpanKind::Client, 10)])
        .unwrap();
    assert_eq!(harness.plugin().metrics.pending_edges(), 1);
    set_now(Some(NOW + 3 * SECOND));
    harness.observe(&[]).unwrap();
    assert_eq!(harness.plugin().metrics.pending_edges(), 0);
    assert_eq!(
        harness.plugin().metrics.service_graph_stats().expired_edges,
        1
    );
}

#[test]
fn array_attributes_become_labels_as_tempo_stringifies_them() {
    set_now(Some(NOW));
    let mut harness = harness(
        r#"{"processors": ["span-metrics"], "span_metrics": {"dimensions": ["tags", "n"]}}"#,
    );
    harness
        .observe(&[span(1, 1, "api", WitSpanKind::Server, 1)
            .attr("tags", TestValue::Json(r#"["a", "b", 3]"#.to_owned()))
            .resource_attr("n", 2.5)])
        .unwrap();
    let points = harness.collect(NOW);
    assert_eq!(
        counter(point(
            &points,
            "traces_spanmetrics_calls_total",
            &[("tags", "[ab3]"), ("n", "2.5")]
        )),
        1.0
    );
}
