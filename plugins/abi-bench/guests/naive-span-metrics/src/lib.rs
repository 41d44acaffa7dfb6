//! Design A span-metrics: aggregates, and must hand the whole batch back.

wit_bindgen::generate!({ path: "../../wit/naive.wit", world: "span-metrics-plugin" });

use std::cell::RefCell;

use abi_bench_logic::metrics::Aggregator;
use bench::naive::types::{SpanKind, StatusCode};
use exports::bench::naive::span_metrics::{Guest, MetricPoint, Span};

thread_local! {
    // Lives as long as the instance: the host keeps one instance per worker.
    static AGGREGATOR: RefCell<Aggregator> = RefCell::default();
}

struct SpanMetrics;

impl Guest for SpanMetrics {
    fn process(batch: Vec<Span>) -> Vec<Span> {
        AGGREGATOR.with_borrow_mut(|agg| {
            for s in &batch {
                let duration = s.end_unix_nanos.saturating_sub(s.start_unix_nanos);
                agg.observe(
                    s.service_name.as_bytes(),
                    s.name.as_bytes(),
                    s.kind as u8,
                    s.status as u8,
                    duration,
                );
            }
        });
        batch
    }

    fn flush() -> Vec<MetricPoint> {
        AGGREGATOR
            .with_borrow_mut(|agg| agg.drain())
            .into_iter()
            .map(|p| MetricPoint {
                service_name: p.service_name,
                span_name: p.span_name,
                kind: kind_from(p.kind),
                status: status_from(p.status),
                calls: p.calls,
                duration_sum_nanos: p.duration_sum_nanos,
            })
            .collect()
    }
}

fn kind_from(d: u8) -> SpanKind {
    match d {
        1 => SpanKind::Internal,
        2 => SpanKind::Server,
        3 => SpanKind::Client,
        4 => SpanKind::Producer,
        5 => SpanKind::Consumer,
        _ => SpanKind::Unspecified,
    }
}

fn status_from(d: u8) -> StatusCode {
    match d {
        1 => StatusCode::Ok,
        2 => StatusCode::Error,
        _ => StatusCode::Unset,
    }
}

export!(SpanMetrics);
