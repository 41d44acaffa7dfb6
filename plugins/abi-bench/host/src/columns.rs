//! Design C: declared fields in as columns, decisions or edits out.
//!
//! Fixed-size fields travel as `list<u64>`/`list<u8>` (one memcpy each),
//! strings as one byte blob + offsets per column (one allocation in the guest
//! instead of one per string), service names and attribute keys as per-batch
//! dictionaries. The column buffers are kept between batches so steady state
//! allocates nothing on the host side.

use std::collections::HashMap;
use std::time::Instant;

use abi_bench_logic::metrics::{Fnv, Point};
use anyhow::{Result, bail};
use wasmtime::Store;
use wasmtime::component::Component;

use crate::edits::apply_decisions;
use crate::model::{Batch, Span, Value};
use crate::plugin::{Kind, Phases, Plugin};
use crate::runtime::{HostState, Runtime, arm_deadline};

mod bindings {
    pub mod sampler {
        wasmtime::component::bindgen!({ path: "../wit/columns.wit", world: "sampler-plugin" });
    }
    pub mod redactor {
        wasmtime::component::bindgen!({
            path: "../wit/columns.wit",
            world: "redactor-plugin",
            with: { "bench:columns/types": super::sampler::bench::columns::types },
        });
    }
    pub mod span_metrics {
        wasmtime::component::bindgen!({
            path: "../wit/columns.wit",
            world: "span-metrics-plugin",
            with: { "bench:columns/types": super::sampler::bench::columns::types },
        });
    }
}

use bindings::sampler::bench::columns::types as wit;

enum Exports {
    Sampler(bindings::sampler::SamplerPlugin),
    Redactor(bindings::redactor::RedactorPlugin),
    SpanMetrics(bindings::span_metrics::SpanMetricsPlugin),
}

pub struct ColumnsPlugin {
    store: Store<HostState>,
    exports: Exports,
    needs: wit::Needs,
    /// Column buffers, refilled for every batch.
    columns: wit::Batch,
    /// Attribute row → (span index, attribute index), to apply edits.
    rows: Vec<(u32, u32)>,
    /// Spans the sampler dropped from the previous batch, freed untimed.
    dropped: Vec<Span>,
}

pub fn instantiate(rt: &Runtime, kind: Kind, component: &Component) -> Result<ColumnsPlugin> {
    use bindings::*;
    let mut store = rt.new_store();
    let linker = &rt.linker;
    let (exports, needs) = match kind {
        Kind::Sampler => {
            let p = sampler::SamplerPlugin::instantiate(&mut store, component, linker)?;
            let needs = p.bench_columns_sampler().call_init(&mut store)?;
            (Exports::Sampler(p), needs)
        }
        Kind::Redactor => {
            let p = redactor::RedactorPlugin::instantiate(&mut store, component, linker)?;
            let needs = p.bench_columns_redactor().call_init(&mut store)?;
            (Exports::Redactor(p), needs)
        }
        Kind::SpanMetrics => {
            let p = span_metrics::SpanMetricsPlugin::instantiate(&mut store, component, linker)?;
            let needs = p.bench_columns_span_metrics().call_init(&mut store)?;
            (Exports::SpanMetrics(p), needs)
        }
    };
    Ok(ColumnsPlugin {
        store,
        exports,
        needs,
        columns: empty_batch(),
        rows: Vec::new(),
        dropped: Vec::new(),
    })
}

impl Plugin for ColumnsPlugin {
    fn run(&mut self, batch: &mut Batch) -> Result<Phases> {
        self.dropped.clear();
        let t0 = Instant::now();
        fill_columns(batch, &self.needs, &mut self.columns, &mut self.rows);
        let t1 = Instant::now();
        arm_deadline(&mut self.store);
        let (store, cols, dropped) = (&mut self.store, &self.columns, &mut self.dropped);
        let (call, apply) = match &self.exports {
            Exports::Sampler(p) => {
                let keep = p.bench_columns_sampler().call_decide(store, cols)?;
                let t2 = Instant::now();
                apply_decisions(batch, &keep, dropped)?;
                (t2 - t1, t2.elapsed())
            }
            Exports::Redactor(p) => {
                let edits = p.bench_columns_redactor().call_redact(store, cols)?;
                let t2 = Instant::now();
                apply_edits(batch, &self.rows, edits)?;
                (t2 - t1, t2.elapsed())
            }
            Exports::SpanMetrics(p) => {
                p.bench_columns_span_metrics().call_observe(store, cols)?;
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
        let points = p.bench_columns_span_metrics().call_flush(&mut self.store)?;
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

fn empty_strings() -> wit::StringColumn {
    wit::StringColumn {
        bytes: Vec::new(),
        offsets: Vec::new(),
    }
}

fn empty_batch() -> wit::Batch {
    wit::Batch {
        len: 0,
        trace_id_hi: Vec::new(),
        trace_id_lo: Vec::new(),
        span_id: Vec::new(),
        services: empty_strings(),
        service_index: Vec::new(),
        names: empty_strings(),
        kind: Vec::new(),
        status: Vec::new(),
        start_unix_nanos: Vec::new(),
        end_unix_nanos: Vec::new(),
        attributes: wit::AttrColumns {
            span_offsets: Vec::new(),
            key: Vec::new(),
            keys: empty_strings(),
            values: empty_strings(),
        },
    }
}

/// Appends one string to a packed column.
fn push_str(col: &mut wit::StringColumn, s: &str) {
    if col.offsets.is_empty() {
        col.offsets.push(0);
    }
    col.bytes.extend_from_slice(s.as_bytes());
    col.offsets.push(col.bytes.len() as u32);
}

fn clear_strings(col: &mut wit::StringColumn) {
    col.bytes.clear();
    col.offsets.clear();
}

/// Refills `out` with the declared columns of `batch` (others stay empty).
fn fill_columns(
    batch: &Batch,
    needs: &wit::Needs,
    out: &mut wit::Batch,
    rows: &mut Vec<(u32, u32)>,
) {
    let has = |f: wit::SpanFields| needs.fields.contains(f);
    let spans = &batch.spans;
    out.len = spans.len() as u32;

    out.trace_id_hi.clear();
    out.trace_id_lo.clear();
    if has(wit::SpanFields::TRACE_ID) {
        out.trace_id_hi.extend(spans.iter().map(|s| s.trace_id_hi));
        out.trace_id_lo.extend(spans.iter().map(|s| s.trace_id_lo));
    }
    out.span_id.clear();
    if has(wit::SpanFields::SPAN_ID) {
        out.span_id.extend(spans.iter().map(|s| s.span_id));
    }
    clear_strings(&mut out.services);
    out.service_index.clear();
    if has(wit::SpanFields::SERVICE_NAME) {
        // The batch is already grouped by resource: its service list is the dictionary.
        for s in &batch.services {
            push_str(&mut out.services, s);
        }
        out.service_index.extend(spans.iter().map(|s| s.service));
    }
    clear_strings(&mut out.names);
    if has(wit::SpanFields::NAME) {
        for s in spans {
            push_str(&mut out.names, &s.name);
        }
    }
    out.kind.clear();
    if has(wit::SpanFields::KIND) {
        out.kind.extend(spans.iter().map(|s| s.kind));
    }
    out.status.clear();
    if has(wit::SpanFields::STATUS) {
        out.status.extend(spans.iter().map(|s| s.status));
    }
    out.start_unix_nanos.clear();
    out.end_unix_nanos.clear();
    if has(wit::SpanFields::TIMES) {
        out.start_unix_nanos
            .extend(spans.iter().map(|s| s.start_unix_nanos));
        out.end_unix_nanos
            .extend(spans.iter().map(|s| s.end_unix_nanos));
    }
    fill_attributes(batch, &needs.attributes, &mut out.attributes, rows);
}

/// String-valued attributes selected by `selection`, one row each, keys
/// dictionary-encoded.
fn fill_attributes(
    batch: &Batch,
    selection: &wit::AttrSelection,
    out: &mut wit::AttrColumns,
    rows: &mut Vec<(u32, u32)>,
) {
    out.span_offsets.clear();
    out.key.clear();
    clear_strings(&mut out.keys);
    clear_strings(&mut out.values);
    rows.clear();
    let wanted = |key: &str| match selection {
        wit::AttrSelection::None => false,
        wit::AttrSelection::AllStrings => true,
        wit::AttrSelection::Keys(keys) => keys.iter().any(|k| k == key),
    };
    if matches!(selection, wit::AttrSelection::None) {
        return;
    }
    let mut dictionary: HashMap<&str, u32, Fnv> = HashMap::default();
    out.span_offsets.push(0);
    for (si, span) in batch.spans.iter().enumerate() {
        for (ai, attr) in span.attributes.iter().enumerate() {
            let Value::Str(value) = &attr.value else {
                continue;
            };
            if !wanted(&attr.key) {
                continue;
            }
            let next_id = dictionary.len() as u32;
            let id = *dictionary.entry(attr.key.as_str()).or_insert_with(|| {
                push_str(&mut out.keys, &attr.key);
                next_id
            });
            out.key.push(id);
            push_str(&mut out.values, value);
            rows.push((si as u32, ai as u32));
        }
        out.span_offsets.push(rows.len() as u32);
    }
}

fn apply_edits(batch: &mut Batch, rows: &[(u32, u32)], edits: Vec<wit::AttrEdit>) -> Result<()> {
    for e in edits {
        let Some(&(span, attr)) = rows.get(e.row as usize) else {
            bail!("redactor edit for unknown attribute row {}", e.row);
        };
        // `rows` was built from this very batch, so the indices are valid.
        batch.spans[span as usize].attributes[attr as usize].value = Value::Str(e.value);
    }
    Ok(())
}
