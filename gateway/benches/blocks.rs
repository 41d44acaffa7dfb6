//! Cost of moving spans from the hot tier into a columnar block (`cargo bench -p
//! spangate --bench blocks -- [--spans N]`; figures in BENCHMARKS.md, "Blocks").
//!
//! Writes N spans of the load generator's shape (10-span traces over several services,
//! fresh ids per copy) into a fresh store — not timed — then times
//! `TraceStore::build_block` until everything moved: wall time and the process's CPU
//! time (RocksDB's background threads included), per span, and the block's bytes per
//! span. A second, in-memory measurement times only the block writer (columns and zstd)
//! on the same traces, so the hot-tier reads and deletes show as the difference.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Instant;

use spangate::model::{ExportTraceServiceRequest, ResourceSpans, SINGLE_TENANT};
use spangate::store::{StorageConfig, TraceStore};
use spangate_blocks::{BlockOptions, BlockWriter};
use spangate_loadgen::generate::benchmark_request_of;

/// User + system CPU seconds of this process so far.
fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn stamp(request: &mut ExportTraceServiceRequest, copy: u64) {
    let stamp = copy.to_le_bytes();
    let restamp = |id: &mut Vec<u8>| id.iter_mut().zip(stamp).for_each(|(b, m)| *b ^= m);
    for resource_spans in &mut request.resource_spans {
        for scope_spans in &mut resource_spans.scope_spans {
            for span in &mut scope_spans.spans {
                restamp(&mut span.trace_id);
                restamp(&mut span.span_id);
                if !span.parent_span_id.is_empty() {
                    restamp(&mut span.parent_span_id);
                }
                span.start_time_unix_nano += copy * 1_000_000;
                span.end_time_unix_nano += copy * 1_000_000;
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let spans: u64 = args
        .iter()
        .position(|a| a == "--spans")
        .and_then(|i| args.get(i + 1))
        .map_or(500_000, |n| n.parse().unwrap());
    let template = benchmark_request_of(10);
    let per_request = template
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len() as u64)
        .sum::<u64>();
    let requests = spans.div_ceil(per_request);
    let dir = tempfile::tempdir().unwrap();
    let store = TraceStore::open(&StorageConfig {
        data_dir: dir.path().to_owned(),
        ..StorageConfig::default()
    })
    .unwrap();
    let tenant = store.tenant_for_write(SINGLE_TENANT).unwrap();
    let mut traces: BTreeMap<Vec<u8>, Vec<ResourceSpans>> = BTreeMap::new();
    for copy in 0..requests {
        let mut request = template.clone();
        stamp(&mut request, copy + 1);
        store.write(tenant, &request).unwrap();
        for resource_spans in &request.resource_spans {
            for scope_spans in &resource_spans.scope_spans {
                for span in &scope_spans.spans {
                    let mut part = resource_spans.clone();
                    part.scope_spans = vec![scope_spans.clone()];
                    part.scope_spans[0].spans = vec![span.clone()];
                    traces.entry(span.trace_id.clone()).or_default().push(part);
                }
            }
        }
    }
    let total = requests * per_request;
    println!(
        "{total} spans in {} traces written to the hot tier",
        traces.len()
    );

    let (wall, cpu) = (Instant::now(), process_cpu_seconds());
    let mut blocks = 0;
    let mut bytes = 0;
    while let Some(outcome) = store.build_block(tenant, u64::MAX).unwrap() {
        blocks += 1;
        bytes += outcome.meta.bytes;
    }
    let (wall, cpu) = (wall.elapsed().as_secs_f64(), process_cpu_seconds() - cpu);
    println!(
        "build_block: {blocks} blocks, {:.1} bytes/span; {:.2} us/span wall, {:.2} CPU-us/span",
        bytes as f64 / total as f64,
        wall * 1e6 / total as f64,
        cpu * 1e6 / total as f64
    );

    let (wall, cpu) = (Instant::now(), process_cpu_seconds());
    let mut writer = BlockWriter::new(Vec::new(), BlockOptions::default()).unwrap();
    for (id, trace) in &traces {
        writer
            .push_trace(<[u8; 16]>::try_from(id.as_slice()).unwrap(), trace)
            .unwrap();
    }
    let (bytes, _) = writer.finish().unwrap();
    let (wall, cpu) = (wall.elapsed().as_secs_f64(), process_cpu_seconds() - cpu);
    println!(
        "block writer alone (in memory): {:.1} bytes/span; {:.2} us/span wall, {:.2} CPU-us/span",
        bytes.len() as f64 / total as f64,
        wall * 1e6 / total as f64,
        cpu * 1e6 / total as f64
    );
}
