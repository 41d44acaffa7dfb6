//! Design A: `process(list<span>) -> list<span>` for every plugin kind.
//!
//! Every string of every span is cloned into the bindings' types, lowered
//! into the guest (one `cabi_realloc` each), lifted back into new host
//! strings and converted into the host model again.

use std::time::Instant;

use abi_bench_logic::metrics::Point;
use anyhow::Result;
use wasmtime::Store;
use wasmtime::component::Component;

use crate::model::{Attribute, Batch, Span, Value};
use crate::plugin::{Kind, Phases, Plugin};
use crate::runtime::{HostState, Runtime, arm_deadline};

mod bindings {
    pub mod sampler {
        wasmtime::component::bindgen!({ path: "../wit/naive.wit", world: "sampler-plugin" });
    }
    pub mod redactor {
        wasmtime::component::bindgen!({
            path: "../wit/naive.wit",
            world: "redactor-plugin",
            with: { "bench:naive/types": super::sampler::bench::naive::types },
        });
    }
    pub mod span_metrics {
        wasmtime::component::bindgen!({
            path: "../wit/naive.wit",
            world: "span-metrics-plugin",
            with: { "bench:naive/types": super::sampler::bench::naive::types },
        });
    }
}

use bindings::sampler::bench::naive::types as wit;

enum Exports {
    Sampler(bindings::sampler::SamplerPlugin),
    Redactor(bindings::redactor::RedactorPlugin),
    SpanMetrics(bindings::span_metrics::SpanMetricsPlugin),
}

pub struct NaivePlugin {
    store: Store<HostState>,
    exports: Exports,
    /// The spans replaced by the previous batch's result, freed untimed so
    /// that only the conversions count (a lower bound for this design).
    replaced: Vec<Span>,
}

pub fn instantiate(rt: &Runtime, kind: Kind, component: &Component) -> Result<NaivePlugin> {
    let mut store = rt.new_store();
    let exports = match kind {
        Kind::Sampler => Exports::Sampler(bindings::sampler::SamplerPlugin::instantiate(
            &mut store, component, &rt.linker,
        )?),
        Kind::Redactor => Exports::Redactor(bindings::redactor::RedactorPlugin::instantiate(
            &mut store, component, &rt.linker,
        )?),
        Kind::SpanMetrics => {
            Exports::SpanMetrics(bindings::span_metrics::SpanMetricsPlugin::instantiate(
                &mut store, component, &rt.linker,
            )?)
        }
    };
    Ok(NaivePlugin {
        store,
        exports,
        replaced: Vec::new(),
    })
}

impl Plugin for NaivePlugin {
    fn run(&mut self, batch: &mut Batch) -> Result<Phases> {
        self.replaced.clear();
        let t0 = Instant::now();
        let spans = to_wit(batch);
        let t1 = Instant::now();
        arm_deadline(&mut self.store);
        let store = &mut self.store;
        let out = match &self.exports {
            Exports::Sampler(p) => p.bench_naive_sampler().call_process(store, &spans)?,
            Exports::Redactor(p) => p.bench_naive_redactor().call_process(store, &spans)?,
            Exports::SpanMetrics(p) => p.bench_naive_span_metrics().call_process(store, &spans)?,
        };
        let t2 = Instant::now();
        // Whatever came back replaces the batch: the host cannot tell what
        // the plugin changed, so it must take every field back.
        let spans = out.into_iter().map(|s| from_wit(batch, s)).collect();
        self.replaced = std::mem::replace(&mut batch.spans, spans);
        let t3 = Instant::now();
        Ok(Phases {
            prep: t1 - t0,
            call: t2 - t1,
            apply: t3 - t2,
        })
    }

    fn flush(&mut self) -> Result<Vec<Point>> {
        let Exports::SpanMetrics(p) = &self.exports else {
            return Ok(Vec::new());
        };
        arm_deadline(&mut self.store);
        let points = p.bench_naive_span_metrics().call_flush(&mut self.store)?;
        Ok(points
            .into_iter()
            .map(|p| Point {
                service_name: p.service_name,
                span_name: p.span_name,
                kind: p.kind as u8,
                status: p.status as u8,
                calls: p.calls,
                duration_sum_nanos: p.duration_sum_nanos,
            })
            .collect())
    }
}

fn to_wit(batch: &Batch) -> Vec<wit::Span> {
    batch
        .spans
        .iter()
        .map(|s| wit::Span {
            trace_id_hi: s.trace_id_hi,
            trace_id_lo: s.trace_id_lo,
            span_id: s.span_id,
            parent_span_id: s.parent_span_id,
            service_name: batch.services[s.service as usize].clone(),
            name: s.name.clone(),
            kind: kind_from_u8(s.kind),
            start_unix_nanos: s.start_unix_nanos,
            end_unix_nanos: s.end_unix_nanos,
            status: status_from_u8(s.status),
            status_message: s.status_message.clone(),
            attributes: s
                .attributes
                .iter()
                .map(|a| wit::Attribute {
                    key: a.key.clone(),
                    value: match &a.value {
                        Value::Str(v) => wit::AttrValue::Str(v.clone()),
                        Value::Int(v) => wit::AttrValue::Int(*v),
                        Value::Double(v) => wit::AttrValue::Dbl(*v),
                        Value::Bool(v) => wit::AttrValue::Boolean(*v),
                    },
                })
                .collect(),
        })
        .collect()
}

fn from_wit(batch: &mut Batch, s: wit::Span) -> Span {
    Span {
        trace_id_hi: s.trace_id_hi,
        trace_id_lo: s.trace_id_lo,
        span_id: s.span_id,
        parent_span_id: s.parent_span_id,
        service: batch.service_index(&s.service_name),
        name: s.name,
        kind: s.kind as u8,
        start_unix_nanos: s.start_unix_nanos,
        end_unix_nanos: s.end_unix_nanos,
        status: s.status as u8,
        status_message: s.status_message,
        attributes: s
            .attributes
            .into_iter()
            .map(|a| Attribute {
                key: a.key,
                value: match a.value {
                    wit::AttrValue::Str(v) => Value::Str(v),
                    wit::AttrValue::Int(v) => Value::Int(v),
                    wit::AttrValue::Dbl(v) => Value::Double(v),
                    wit::AttrValue::Boolean(v) => Value::Bool(v),
                },
            })
            .collect(),
    }
}

fn kind_from_u8(d: u8) -> wit::SpanKind {
    match d {
        1 => wit::SpanKind::Internal,
        2 => wit::SpanKind::Server,
        3 => wit::SpanKind::Client,
        4 => wit::SpanKind::Producer,
        5 => wit::SpanKind::Consumer,
        _ => wit::SpanKind::Unspecified,
    }
}

fn status_from_u8(d: u8) -> wit::StatusCode {
    match d {
        1 => wit::StatusCode::Ok,
        2 => wit::StatusCode::Error,
        _ => wit::StatusCode::Unset,
    }
}
