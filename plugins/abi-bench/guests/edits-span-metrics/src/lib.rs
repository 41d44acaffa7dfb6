//! Design B span-metrics: reads service, name, kind, status and times;
//! returns nothing per batch.

wit_bindgen::generate!({ path: "../../wit/edits.wit", world: "span-metrics-plugin" });

use std::cell::RefCell;

use abi_bench_logic::metrics::Aggregator;
use bench::edits::types::{AttrSelection, SpanFields, SpanKind, StatusCode};
use exports::bench::edits::span_metrics::{Guest, MetricPoint, Needs, SpanView};

thread_local! {
    static AGGREGATOR: RefCell<Aggregator> = RefCell::default();
}

struct SpanMetrics;

impl Guest for SpanMetrics {
    fn init() -> Needs {
        Needs {
            fields: SpanFields::SERVICE_NAME
                | SpanFields::NAME
                | SpanFields::KIND
                | SpanFields::STATUS
                | SpanFields::TIMES,
            attributes: AttrSelection::None,
        }
    }

    fn observe(batch: Vec<SpanView>) {
        AGGREGATOR.with_borrow_mut(|agg| {
            for s in &batch {
                let duration = s
                    .end_unix_nanos
                    .unwrap_or(0)
                    .saturating_sub(s.start_unix_nanos.unwrap_or(0));
                agg.observe(
                    s.service_name.as_deref().unwrap_or("").as_bytes(),
                    s.name.as_deref().unwrap_or("").as_bytes(),
                    s.kind.map_or(0, |k| k as u8),
                    s.status.map_or(0, |st| st as u8),
                    duration,
                );
            }
        });
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
