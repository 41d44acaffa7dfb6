//! Property tests: arbitrary spans never panic the plugin or break the
//! output, span counts are conserved, and service-graph halves are conserved.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap fails it loudly, as it should

mod common;

use common::{Format, parse};
use proptest::prelude::*;
use spangate_plugin_span_metrics::model::{
    AttrValue, Attribute, Span, SpanId, SpanKind, StatusCode, TraceId,
};
use spangate_plugin_span_metrics::{Config, SpanMetrics, render_openmetrics, render_prometheus};

const NOW: u64 = 1_700_000_000_000_000_000;

fn kind() -> impl Strategy<Value = SpanKind> {
    (0i32..7).prop_map(SpanKind::from_otlp)
}

fn attr_value() -> impl Strategy<Value = AttrValue> {
    prop_oneof![
        ".{0,12}".prop_map(AttrValue::Str),
        any::<i64>().prop_map(AttrValue::Int),
        any::<f64>().prop_map(AttrValue::Double),
        any::<bool>().prop_map(AttrValue::Bool),
        prop::collection::vec(any::<u8>(), 0..4).prop_map(AttrValue::Bytes),
        prop::collection::vec(".{0,4}".prop_map(AttrValue::Str), 0..3).prop_map(AttrValue::Array),
    ]
}

fn attrs() -> impl Strategy<Value = Vec<Attribute>> {
    let key = prop_oneof![
        Just("http.method".to_owned()),
        Just("service.name".to_owned()),
        Just("peer.service".to_owned()),
        Just("db.system".to_owned()),
        Just("region".to_owned()),
        ".{0,8}",
    ];
    prop::collection::vec(
        (key, attr_value()).prop_map(|(k, v)| Attribute { key: k, value: v }),
        0..4,
    )
}

prop_compose! {
    fn arb_span()(
        trace in 0u8..4,
        id in any::<u8>(),
        parent in proptest::option::of(any::<u8>()),
        name in prop_oneof![Just("GET /".to_owned()), ".{0,10}"],
        kind in kind(),
        status in 0i32..4,
        message in ".{0,10}",
        start in any::<u64>(),
        end in any::<u64>(),
        attributes in attrs(),
        resource in attrs(),
        size in any::<u32>(),
    ) -> Span {
        Span {
            trace_id: TraceId([trace; 16]),
            span_id: SpanId([id; 8]),
            parent_span_id: parent.map(|p| SpanId([p; 8])),
            name,
            kind,
            status_code: StatusCode::from_otlp(status),
            status_message: message,
            start_unix_nanos: start,
            end_unix_nanos: end,
            attributes,
            resource,
            encoded_size: u64::from(size),
        }
    }
}

fn calls_total(m: &SpanMetrics) -> f64 {
    m.snapshot()
        .iter()
        .filter(|s| s.name == "traces_spanmetrics_calls_total")
        .map(|s| s.scalar().unwrap())
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_spans_never_panic_and_output_stays_well_formed(
        spans in prop::collection::vec(arb_span(), 0..40),
        step in 0u64..30_000_000_000,
    ) {
        let cfg = Config::parse(r#"{
            "registry": {"max_series": 0},
            "span_metrics": {"dimensions": ["http.method", "region"], "intrinsic_dimensions": {"status_message": true}},
            "service_graphs": {"dimensions": ["region"], "enable_virtual_node_label": true,
                               "enable_messaging_system_latency_histogram": true, "max_items": 8}
        }"#).unwrap();
        let mut m = SpanMetrics::new(cfg).unwrap();
        let mut now = NOW;
        for chunk in spans.chunks(7) {
            m.observe_batch(chunk, now);
            now += step;
            m.expire(now);
        }
        prop_assert_eq!(calls_total(&m), spans.len() as f64);
        let snap = m.snapshot();
        let prom = render_prometheus(&snap);
        parse(&prom, Format::Prometheus).map_err(|e| TestCaseError::fail(format!("{e}\n{prom}")))?;
        let om = render_openmetrics(&snap);
        parse(&om, Format::OpenMetrics).map_err(|e| TestCaseError::fail(format!("{e}\n{om}")))?;
    }

    #[test]
    fn calls_plus_refusals_equal_spans_under_any_cap(
        spans in prop::collection::vec(arb_span(), 0..60),
        max_series in 0usize..200,
    ) {
        let cfg = Config::parse(&format!(
            r#"{{"processors": ["span-metrics"], "registry": {{"max_series": {max_series}}}}}"#
        )).unwrap();
        let mut m = SpanMetrics::new(cfg).unwrap();
        m.observe_batch(&spans, NOW);
        let calls = calls_total(&m);
        prop_assert!(max_series == 0 || m.active_series() <= max_series);
        prop_assert_eq!(calls + m.series_limited() as f64, spans.len() as f64);
        if max_series == 0 {
            prop_assert_eq!(calls, spans.len() as f64);
        }
    }

    #[test]
    fn service_graph_conserves_halves(
        pairs in prop::collection::vec((0u8..3, any::<bool>(), any::<bool>()), 1..40),
        order in any::<u64>(),
    ) {
        // Pair i: client span id i+1 in "c<k>", server child in "s<k>".
        // Each half is present or not; arrival order is shuffled.
        let mut spans = Vec::new();
        let mut complete = 0u64;
        let mut halves = 0u64;
        for (i, (svc, has_client, has_server)) in pairs.iter().enumerate() {
            let id = (i + 1) as u8;
            let mk = |kind, sid: u8, parent: Option<u8>, name: String| Span {
                trace_id: TraceId([7; 16]),
                span_id: SpanId([sid; 8]),
                parent_span_id: parent.map(|p| SpanId([p; 8])),
                kind,
                resource: vec![Attribute::new("service.name", name)],
                end_unix_nanos: 1_000,
                ..Span::default()
            };
            if *has_client {
                spans.push(mk(SpanKind::Client, id, Some(200), format!("c{svc}")));
            }
            if *has_server {
                spans.push(mk(SpanKind::Server, id + 100, Some(id), format!("s{svc}")));
            }
            match (has_client, has_server) {
                (true, true) => complete += 1,
                (false, false) => {}
                _ => halves += 1,
            }
        }
        // Deterministic shuffle from `order`.
        let n = spans.len();
        let mut seed = order | 1;
        for i in (1..n).rev() {
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
            spans.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        let mut m = SpanMetrics::new(Config::parse(r#"{"processors": ["service-graphs"]}"#).unwrap()).unwrap();
        m.observe_batch(&spans, NOW);
        m.expire(NOW + 10_000_000_000);
        prop_assert_eq!(m.pending_edges(), 0);
        let snap = m.snapshot();
        let sum = |name: &str| -> f64 { snap.iter().filter(|s| s.name == name).map(|s| s.scalar().unwrap()).sum() };
        prop_assert_eq!(sum("traces_service_graph_request_total"), complete as f64);
        prop_assert_eq!(sum("traces_service_graph_unpaired_spans_total"), halves as f64);
        prop_assert_eq!(m.service_graph_stats().edges, complete + halves);
    }
}
