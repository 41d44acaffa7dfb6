//! Design B: declared fields in (one reduced record per span), decisions or
//! edits out.
//!
//! The plugin's `init` says what it reads; `views` builds records holding
//! only that (an undeclared `option` costs one tag byte and no copy), and the
//! host applies small answers to its own spans instead of taking spans back.

use std::time::Instant;

use abi_bench_logic::metrics::Point;
use anyhow::{Result, bail, ensure};
use wasmtime::Store;
use wasmtime::component::Component;

use crate::model::{Batch, Span, Value};
use crate::plugin::{Kind, Phases, Plugin};
use crate::runtime::{HostState, Runtime, arm_deadline};

mod bindings {
    pub mod sampler {
        wasmtime::component::bindgen!({ path: "../wit/edits.wit", world: "sampler-plugin" });
    }
    pub mod redactor {
        wasmtime::component::bindgen!({
            path: "../wit/edits.wit",
            world: "redactor-plugin",
            with: { "bench:edits/types": super::sampler::bench::edits::types },
        });
    }
    pub mod span_metrics {
        wasmtime::component::bindgen!({
            path: "../wit/edits.wit",
            world: "span-metrics-plugin",
            with: { "bench:edits/types": super::sampler::bench::edits::types },
        });
    }
}

use bindings::sampler::bench::edits::types as wit;

enum Exports {
    Sampler(bindings::sampler::SamplerPlugin),
    Redactor(bindings::redactor::RedactorPlugin),
    SpanMetrics(bindings::span_metrics::SpanMetricsPlugin),
}

pub struct EditsPlugin {
    store: Store<HostState>,
    exports: Exports,
    /// What `init` declared, fixed for the instance's life.
    needs: wit::Needs,
    /// Spans the sampler dropped from the previous batch, freed untimed.
    dropped: Vec<Span>,
}

pub fn instantiate(rt: &Runtime, kind: Kind, component: &Component) -> Result<EditsPlugin> {
    use bindings::*;
    let mut store = rt.new_store();
    let linker = &rt.linker;
    let (exports, needs) = match kind {
        Kind::Sampler => {
            let p = sampler::SamplerPlugin::instantiate(&mut store, component, linker)?;
            let needs = p.bench_edits_sampler().call_init(&mut store)?;
            (Exports::Sampler(p), needs)
        }
        Kind::Redactor => {
            let p = redactor::RedactorPlugin::instantiate(&mut store, component, linker)?;
            let needs = p.bench_edits_redactor().call_init(&mut store)?;
            (Exports::Redactor(p), needs)
        }
        Kind::SpanMetrics => {
            let p = span_metrics::SpanMetricsPlugin::instantiate(&mut store, component, linker)?;
            let needs = p.bench_edits_span_metrics().call_init(&mut store)?;
            (Exports::SpanMetrics(p), needs)
        }
    };
    Ok(EditsPlugin {
        store,
        exports,
        needs,
        dropped: Vec::new(),
    })
}

impl Plugin for EditsPlugin {
    fn run(&mut self, batch: &mut Batch) -> Result<Phases> {
        self.dropped.clear();
        let t0 = Instant::now();
        let views = views(batch, &self.needs);
        let t1 = Instant::now();
        arm_deadline(&mut self.store);
        let store = &mut self.store;
        let (call, apply) = match &self.exports {
            Exports::Sampler(p) => {
                let keep = p.bench_edits_sampler().call_decide(store, &views)?;
                let t2 = Instant::now();
                apply_decisions(batch, &keep, &mut self.dropped)?;
                (t2 - t1, t2.elapsed())
            }
            Exports::Redactor(p) => {
                let edits = p.bench_edits_redactor().call_redact(store, &views)?;
                let t2 = Instant::now();
                apply_edits(batch, edits)?;
                (t2 - t1, t2.elapsed())
            }
            Exports::SpanMetrics(p) => {
                p.bench_edits_span_metrics().call_observe(store, &views)?;
                (t1.elapsed(), Default::default())
            }
        };
        Ok(Phases {
            prep: t1 - t0,
            call,
            apply,
        })
    }

    fn flush(&mut self) -> Result<Vec<Point>> {
        let Exports::SpanMetrics(p) = &self.exports else {
            return Ok(Vec::new());
        };
        arm_deadline(&mut self.store);
        let points = p.bench_edits_span_metrics().call_flush(&mut self.store)?;
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

/// One record per span holding only the declared fields and attributes.
fn views(batch: &Batch, needs: &wit::Needs) -> Vec<wit::SpanView> {
    let has = |f: wit::SpanFields| needs.fields.contains(f);
    let (trace_id, span_id, service, name) = (
        has(wit::SpanFields::TRACE_ID),
        has(wit::SpanFields::SPAN_ID),
        has(wit::SpanFields::SERVICE_NAME),
        has(wit::SpanFields::NAME),
    );
    let (kind, times, status) = (
        has(wit::SpanFields::KIND),
        has(wit::SpanFields::TIMES),
        has(wit::SpanFields::STATUS),
    );
    batch
        .spans
        .iter()
        .map(|s| wit::SpanView {
            trace_id: trace_id.then_some((s.trace_id_hi, s.trace_id_lo)),
            span_id: span_id.then_some(s.span_id),
            service_name: service.then(|| batch.services[s.service as usize].clone()),
            name: name.then(|| s.name.clone()),
            kind: kind.then(|| kind_from_u8(s.kind)),
            start_unix_nanos: times.then_some(s.start_unix_nanos),
            end_unix_nanos: times.then_some(s.end_unix_nanos),
            status: status.then(|| status_from_u8(s.status)),
            attributes: select_attributes(s, &needs.attributes),
        })
        .collect()
}

fn select_attributes(
    span: &crate::model::Span,
    selection: &wit::AttrSelection,
) -> Vec<wit::Attribute> {
    let pick = |i: usize, a: &crate::model::Attribute, value: wit::AttrValue| wit::Attribute {
        index: i as u32,
        key: a.key.clone(),
        value,
    };
    let attrs = span.attributes.iter().enumerate();
    match selection {
        wit::AttrSelection::None => Vec::new(),
        wit::AttrSelection::AllStrings => attrs
            .filter_map(|(i, a)| match &a.value {
                Value::Str(v) => Some(pick(i, a, wit::AttrValue::Str(v.clone()))),
                _ => None,
            })
            .collect(),
        wit::AttrSelection::Keys(keys) => attrs
            .filter(|(_, a)| keys.contains(&a.key))
            .map(|(i, a)| pick(i, a, value_to_wit(&a.value)))
            .collect(),
    }
}

fn value_to_wit(v: &Value) -> wit::AttrValue {
    match v {
        Value::Str(v) => wit::AttrValue::Str(v.clone()),
        Value::Int(v) => wit::AttrValue::Int(*v),
        Value::Double(v) => wit::AttrValue::Dbl(*v),
        Value::Bool(v) => wit::AttrValue::Boolean(*v),
    }
}

/// Keeps the spans the plugin said to keep and moves the others to
/// `dropped` (freed later, untimed: the pipeline frees every span once whether
/// or not a sampler ran, so that is not a cost of the ABI). A wrong-length
/// answer is a plugin bug and is refused rather than guessed at.
pub fn apply_decisions(batch: &mut Batch, keep: &[bool], dropped: &mut Vec<Span>) -> Result<()> {
    ensure!(
        keep.len() == batch.spans.len(),
        "sampler returned {} decisions for {} spans",
        keep.len(),
        batch.spans.len()
    );
    let mut decisions = keep.iter();
    dropped.extend(
        batch
            .spans
            .extract_if(.., |_| !decisions.next().unwrap_or(&true)),
    );
    Ok(())
}

fn apply_edits(batch: &mut Batch, edits: Vec<wit::AttrEdit>) -> Result<()> {
    for e in edits {
        let Some(attr) = batch
            .spans
            .get_mut(e.span as usize)
            .and_then(|s| s.attributes.get_mut(e.attr as usize))
        else {
            bail!(
                "redactor edit out of range: span {} attribute {}",
                e.span,
                e.attr
            );
        };
        attr.value = Value::Str(e.value);
    }
    Ok(())
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
