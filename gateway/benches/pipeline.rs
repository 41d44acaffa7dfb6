//! Cost of the built-in plugins inside the gateway's host, on the spans the load
//! generator sends (`cargo bench -p spangate --bench pipeline`; figures in BENCHMARKS.md):
//!
//! - compile, cached load and start (instantiate + `init`) of each built-in component;
//! - ns per span per plugin at batches of 512 (columns built, guest call, answer applied),
//!   and µs per call at batches of 8 (one trace), where the fixed cost of a call shows;
//! - the three together through `Pipeline::run`, and the store write of the same batch
//!   without plugins as the baseline of the ratio.
//!
//! Every run gets a fresh copy of the batch with new trace and span ids, made just
//! before it and not timed.
//!
//! Usage: `cargo bench -p spangate --bench pipeline -- [--reps N] [--iterations N]
//! [--traces N] [--only PLUGIN [--wasm FILE]] [--component LABEL=FILE ... --config JSON]`: `--traces` sets the batch to N traces of 8
//! spans (default 64: 512 spans); `--only` measures one built-in and nothing else (for
//! profiling); `--wasm` runs FILE with that built-in's bench config instead of the
//! embedded component (e.g. a build with symbols, or a changed plugin); `--component`
//! (repeatable) measures those components instead of the built-ins, each with the
//! `--config` JSON (how the reference plugin's implementations in each language are
//! compared in BENCHMARKS.md), plus the linear memory one instance holds.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use spangate::model::ExportTraceServiceRequest;
use spangate::pipeline::Pipeline;
use spangate::pipeline::builtin;
use spangate::pipeline::config::PluginEntry;
use spangate::plugin::{
    OnError, Plugin, PluginKind, PluginLimits, PluginRuntime, PluginSpec, RuntimeSettings,
};
use spangate::store::TraceStore;
use spangate::store::{Compression, FsyncPolicy, StorageConfig};
use spangate_loadgen::generate::benchmark_request_of;

/// The configs of the built-ins as benchmarked: realistic work, nothing sampled out
/// (so the store baseline and the pipeline write the same spans).
const REDACTION_CONFIG: &str = r#"{"blocked_keys": ["password", "*.secret", "http.request.header.authorization"],
  "value_patterns": ["credit_card", "email", "bearer_token", "ipv4"], "action": "mask"}"#;
const SAMPLING_CONFIG: &str = r#"{"head": {"probability": 1.0}}"#;
const SPAN_METRICS_CONFIG: &str = r#"{"span_metrics": {"dimensions": ["http.request.method"]}}"#;

const PIPELINE_YAML: &str = r#"
- plugin: builtin:span-metrics
  config: {span_metrics: {dimensions: [http.request.method]}}
- plugin: builtin:redaction
  config:
    blocked_keys: [password, "*.secret", http.request.header.authorization]
    value_patterns: [credit_card, email, bearer_token, ipv4]
    action: mask
- plugin: builtin:sampling
  config: {head: {probability: 1.0}}
"#;

/// The gateway's allocator, so allocation costs are the ones it pays.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Options {
    reps: usize,
    iterations: usize,
    only: Option<String>,
    wasm: Option<std::path::PathBuf>,
    /// Traces of 8 spans per batch (64 → the 512-span batch of the figures).
    traces: usize,
    /// `--component LABEL=FILE`: other components to measure, with `config`.
    components: Vec<(String, std::path::PathBuf)>,
    config: String,
}

fn options() -> Options {
    let mut options = Options {
        reps: 7,
        iterations: 200,
        only: None,
        wasm: None,
        traces: 64,
        components: Vec::new(),
        config: "{}".to_owned(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--reps" => options.reps = args.next().and_then(|v| v.parse().ok()).unwrap_or(7),
            "--iterations" => {
                options.iterations = args.next().and_then(|v| v.parse().ok()).unwrap_or(200)
            }
            "--only" => options.only = args.next(),
            "--wasm" => options.wasm = args.next().map(Into::into),
            "--traces" => options.traces = args.next().and_then(|v| v.parse().ok()).unwrap_or(64),
            "--component" => {
                let value = args.next().unwrap_or_default();
                let (label, file) = value.split_once('=').expect("--component LABEL=FILE");
                options.components.push((label.to_owned(), file.into()));
            }
            "--config" => options.config = args.next().expect("--config JSON"),
            _ => {} // cargo bench passes `--bench`
        }
    }
    options
}

fn span_count(request: &ExportTraceServiceRequest) -> usize {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Median over `reps` of the mean ns per span of `iterations` runs of `work`, each on a
/// fresh copy of `batch` made just before it (untimed). In the gateway a batch reaches
/// the plugins straight from the decoder, in cache; copies made long in advance would
/// charge the first plugin for cache misses the gateway does not have.
fn ns_per_span(
    options: &Options,
    batch: &ExportTraceServiceRequest,
    mut work: impl FnMut(&mut ExportTraceServiceRequest),
) -> f64 {
    let spans = span_count(batch) as f64;
    let mut copies = 0u64;
    let runs: Vec<f64> = (0..options.reps)
        .map(|_| {
            let mut timed = Duration::ZERO;
            for _ in 0..options.iterations {
                let mut copy = batch.clone();
                copies += 1;
                stamp_fresh_ids(&mut copy, copies);
                let started = Instant::now();
                work(&mut copy);
                timed += started.elapsed();
            }
            timed.as_nanos() as f64 / (options.iterations as f64 * spans)
        })
        .collect();
    median(runs)
}

/// Makes every trace and span id of `request` new (the same change everywhere, so
/// parent links hold), as the load generator does for each request it sends: plugins
/// that pair spans by id (span-metrics' service graph) would otherwise find each
/// batch's half edges already waiting from the previous copy.
fn stamp_fresh_ids(request: &mut ExportTraceServiceRequest, copy: u64) {
    let stamp = copy.to_le_bytes();
    let restamp = |id: &mut Vec<u8>| {
        for (byte, mask) in id.iter_mut().zip(stamp) {
            *byte ^= mask;
        }
    };
    for resource_spans in &mut request.resource_spans {
        for scope_spans in &mut resource_spans.scope_spans {
            for span in &mut scope_spans.spans {
                restamp(&mut span.trace_id);
                restamp(&mut span.span_id);
                if !span.parent_span_id.is_empty() {
                    restamp(&mut span.parent_span_id);
                }
            }
        }
    }
}

fn start(
    runtime: &Arc<PluginRuntime>,
    name: &str,
    wasm: &[u8],
    config: &str,
) -> (Plugin, Duration, Duration, Duration) {
    let compile_started = Instant::now();
    let compiled = runtime.load(wasm).expect("compile");
    let compile = compile_started.elapsed();
    let cached_started = Instant::now();
    let cached = runtime.load(wasm).expect("cached load");
    let cached_load = cached_started.elapsed();
    assert!(
        cached.load_info().from_cache,
        "second load should hit the cache"
    );
    let spec = PluginSpec {
        name: name.to_owned(),
        config_json: config.to_owned(),
        on_error: OnError::Pass,
        limits: PluginLimits::default(),
    };
    let start_started = Instant::now();
    let plugin = runtime.start(&compiled, spec).expect("start");
    (plugin, compile, cached_load, start_started.elapsed())
}

fn run_stage(plugin: &Plugin, request: &mut ExportTraceServiceRequest) {
    match plugin.kind() {
        PluginKind::Processor => {
            plugin.process(request);
        }
        PluginKind::Sampler => {
            plugin.sample_head(request);
        }
        PluginKind::Metrics => {
            plugin.observe(request);
        }
    }
}

fn main() {
    let options = options();
    let scratch = tempfile::tempdir().expect("temp dir");
    let runtime = PluginRuntime::new(RuntimeSettings {
        cache_dir: Some(scratch.path().join("plugin-cache")),
        ..RuntimeSettings::default()
    })
    .expect("plugin runtime");
    let batch = benchmark_request_of(options.traces);
    println!(
        "batch: {} spans in {} resources; {} reps x {} batches, medians\n",
        span_count(&batch),
        batch.resource_spans.len(),
        options.reps,
        options.iterations
    );

    let small_batch = benchmark_request_of(1);
    let small_spans = span_count(&small_batch) as f64;
    if !options.components.is_empty() {
        measure_components(&options, &runtime, &batch, &small_batch);
        return;
    }
    println!(
        "| plugin | wasm | compile | cached load | start (instantiate + init) | ns/span | µs/call, {small_spans} spans |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, config) in [
        ("redaction", REDACTION_CONFIG),
        ("sampling", SAMPLING_CONFIG),
        ("span-metrics", SPAN_METRICS_CONFIG),
    ] {
        if options.only.as_deref().is_some_and(|only| only != name) {
            continue;
        }
        let wasm = match &options.wasm {
            Some(file) if options.only.is_some() => std::fs::read(file).expect("--wasm file"),
            _ => builtin::component(name)
                .expect("built-in embedded")
                .to_vec(),
        };
        let (plugin, compile, cached, started) = start(&runtime, name, &wasm, config);
        let per_span = ns_per_span(&options, &batch, |request| run_stage(&plugin, request));
        let per_small_call = ns_per_span(&options, &small_batch, |request| {
            run_stage(&plugin, request)
        }) * small_spans
            / 1e3;
        let stats = plugin.stats();
        assert_eq!(stats.failures.total(), 0, "{name} failed during the bench");
        println!(
            "| {name} | {} KB | {:.1} ms | {:.2} ms | {:.2} ms | {per_span:.0} | {per_small_call:.2} |",
            wasm.len() / 1024,
            compile.as_secs_f64() * 1e3,
            cached.as_secs_f64() * 1e3,
            started.as_secs_f64() * 1e3,
        );
    }

    if options.only.is_some() {
        return;
    }
    let entries: Vec<PluginEntry> = serde_yaml_ng::from_str(PIPELINE_YAML).expect("pipeline yaml");
    let pipeline = Pipeline::build(&runtime, &entries, Path::new(".")).expect("pipeline");
    let together = ns_per_span(&options, &batch, |request| pipeline.run(request));

    // Baseline: the store write of the same batch, no plugins; then pipeline + write.
    let store = TraceStore::open(&StorageConfig {
        data_dir: scratch.path().join("data"),
        fsync: FsyncPolicy::Never,
        compression: Compression::Lz4,
        block_cache_mib: 64,
        ..StorageConfig::default()
    })
    .expect("store");
    let tenant = store.tenant_for_write("single-tenant").expect("tenant");
    let write_only = ns_per_span(&options, &batch, |request| {
        store.write(tenant, request).expect("write");
    });
    let with_plugins = ns_per_span(&options, &batch, |request| {
        pipeline.run(request);
        store.write(tenant, request).expect("write");
    });
    println!("\n| path | ns/span |");
    println!("|---|---:|");
    println!("| three built-ins together (`Pipeline::run`) | {together:.0} |");
    println!("| store write, no plugins | {write_only:.0} |");
    println!("| three built-ins + store write | {with_plugins:.0} |");
    println!(
        "\nthroughput ratio of this path, with plugins / without: {:.2}",
        write_only / with_plugins
    );
}

/// The `--component` mode: each component with `--config`, one table row each.
fn measure_components(
    options: &Options,
    runtime: &Arc<PluginRuntime>,
    batch: &ExportTraceServiceRequest,
    small_batch: &ExportTraceServiceRequest,
) {
    let small_spans = span_count(small_batch) as f64;
    println!("config: {}\n", options.config);
    println!(
        "| component | wasm | compile | cached load | start (instantiate + init) | ns/span | µs/call, {small_spans} spans | memory per instance |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (label, file) in &options.components {
        let wasm = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let (plugin, compile, cached, started) = start(runtime, label, &wasm, &options.config);
        let per_span = ns_per_span(options, batch, |request| run_stage(&plugin, request));
        let per_small_call =
            ns_per_span(options, small_batch, |request| run_stage(&plugin, request)) * small_spans
                / 1e3;
        let stats = plugin.stats();
        assert_eq!(stats.failures.total(), 0, "{label} failed during the bench");
        println!(
            "| {label} | {} KB | {:.1} ms | {:.2} ms | {:.2} ms | {per_span:.0} | {per_small_call:.2} | {:.1} MiB |",
            wasm.len() / 1024,
            compile.as_secs_f64() * 1e3,
            cached.as_secs_f64() * 1e3,
            started.as_secs_f64() * 1e3,
            stats.memory_peak_bytes as f64 / (1024.0 * 1024.0),
        );
    }
}
