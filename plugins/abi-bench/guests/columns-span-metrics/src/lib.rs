//! Design C span-metrics: reads the service/name/kind/status/time columns;
//! returns nothing per batch.

wit_bindgen::generate!({ path: "../../wit/columns.wit", world: "span-metrics-plugin" });

use std::cell::RefCell;

use abi_bench_logic::columns::string_at;
use abi_bench_logic::metrics::Aggregator;
use bench::columns::types::{AttrSelection, SpanFields, SpanKind, StatusCode};
use exports::bench::columns::span_metrics::{Batch, Guest, MetricPoint, Needs};

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

    fn observe(batch: Batch) {
        let b = &batch;
        AGGREGATOR.with_borrow_mut(|agg| {
            for i in 0..b.len as usize {
                let service = b.service_index.get(i).map_or(&[][..], |&s| {
                    string_at(&b.services.bytes, &b.services.offsets, s as usize)
                });
                let name = string_at(&b.names.bytes, &b.names.offsets, i);
                let start = b.start_unix_nanos.get(i).copied().unwrap_or(0);
                let end = b.end_unix_nanos.get(i).copied().unwrap_or(0);
                let kind = b.kind.get(i).copied().unwrap_or(0);
                let status = b.status.get(i).copied().unwrap_or(0);
                agg.observe(service, name, kind, status, end.saturating_sub(start));
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
