//! ABI benchmark for Spangate's plugin platform.
//!
//! Loads the sampler, redactor and span-metrics guests of each ABI design,
//! checks they all produce the native reference result, then measures ns per
//! span per plugin at the configured batch size, plus compile / cached-load /
//! instantiate costs. Prints Markdown tables. See ../README.md.

mod check;
mod columns;
mod edits;
mod loading;
mod measure;
mod model;
mod naive;
mod plugin;
mod reference;
mod runtime;

use std::path::PathBuf;

use anyhow::{Context, Result, bail, ensure};
use wasmtime::component::Component;

use crate::loading::LoadStats;
use crate::measure::PerSpan;
use crate::plugin::{Design, Kind, Plugin};
use crate::runtime::Runtime;

/// The plugin platform's target for the three built-ins together.
const TARGET_NS_PER_SPAN: f64 = 1000.0;
/// Seed 1 gives a typical batch: 6 of 52 traces sampled in (10% expected).
const BATCH_SEED: u64 = 1;

struct Options {
    wasm_dir: PathBuf,
    batch: usize,
    iterations: usize,
    reps: usize,
}

impl Options {
    fn parse() -> Result<Self> {
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        let mut opts = Options {
            wasm_dir: PathBuf::from(target).join("wasm32-wasip2/wasm"),
            batch: 512,
            iterations: 100,
            reps: 7,
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--wasm-dir" => opts.wasm_dir = value()?.into(),
                "--batch" => opts.batch = value()?.parse()?,
                "--iterations" => opts.iterations = value()?.parse()?,
                "--reps" => opts.reps = value()?.parse()?,
                "-h" | "--help" => {
                    println!(
                        "usage: abi-bench [--wasm-dir DIR] [--batch N] [--iterations N] [--reps N]\n\
                         defaults: $CARGO_TARGET_DIR/wasm32-wasip2/wasm, 512, 100, 7"
                    );
                    std::process::exit(0);
                }
                other => bail!("unknown argument {other} (try --help)"),
            }
        }
        ensure!(
            opts.batch > 0 && opts.iterations > 0 && opts.reps > 0,
            "sizes must be > 0"
        );
        Ok(opts)
    }
}

fn instantiate(rt: &Runtime, d: Design, k: Kind, c: &Component) -> Result<Box<dyn Plugin>> {
    Ok(match d {
        Design::Naive => Box::new(naive::instantiate(rt, k, c)?),
        Design::Edits => Box::new(edits::instantiate(rt, k, c)?),
        Design::Columns => Box::new(columns::instantiate(rt, k, c)?),
    })
}

struct Row {
    design: Design,
    kind: Kind,
    load: LoadStats,
    per_span: PerSpan,
}

fn main() -> Result<()> {
    let opts = Options::parse()?;
    let rt = Runtime::new()?;
    let batch = model::generate_batch(opts.batch, BATCH_SEED);
    let kept = reference::sampled(&batch).spans.len();
    let (_, masked) = reference::redacted(&batch);
    ensure!(
        0 < kept && kept < batch.spans.len() && masked > 0,
        "reference batch is trivial"
    );
    let traces = batch.spans.len().div_ceil(model::SPANS_PER_TRACE);
    let traces_kept = batch
        .spans
        .iter()
        .step_by(model::SPANS_PER_TRACE)
        .filter(|s| abi_bench_logic::sampler::keep_trace(s.trace_id_hi, s.trace_id_lo))
        .count();
    let errors = batch
        .spans
        .iter()
        .filter(|s| s.status == model::status::ERROR)
        .count();
    println!(
        "batch: {} spans, {traces} traces, {} services, {errors} error spans; reference keeps \
         {kept} spans ({traces_kept} traces by hash + errors), masks {masked} values",
        batch.spans.len(),
        batch.services.len()
    );
    println!(
        "timing: {} reps x {} batches per (design, plugin); medians over reps\n",
        opts.reps, opts.iterations
    );

    let mut rows = Vec::new();
    for design in Design::ALL {
        for kind in Kind::ALL {
            let path = opts
                .wasm_dir
                .join(format!("guest_{}_{}.wasm", design.name(), kind.name()));
            let wasm = std::fs::read(&path).with_context(|| {
                format!(
                    "reading {} (build the guests first: run.sh)",
                    path.display()
                )
            })?;
            let (component, load) = loading::load(&rt, &wasm)?;

            let mut fresh = instantiate(&rt, design, kind, &component)?;
            check::check_plugin(fresh.as_mut(), kind, &batch)
                .with_context(|| format!("{} {}", design.name(), kind.name()))?;

            let mut plugin = instantiate(&rt, design, kind, &component)?;
            // Warm up (first-touch of guest memory, host buffers), then reset the aggregates.
            measure::bench_plugin(plugin.as_mut(), &batch, 1, 10)?;
            plugin.flush()?;
            let per_span =
                measure::bench_plugin(plugin.as_mut(), &batch, opts.reps, opts.iterations)?;
            if kind == Kind::SpanMetrics {
                let runs = (opts.reps * opts.iterations) as u64;
                check::check_points(plugin.flush()?, &batch, runs).with_context(|| {
                    format!("{} span-metrics after the timed runs", design.name())
                })?;
            }
            eprintln!("measured {} {}", design.name(), kind.name());
            rows.push(Row {
                design,
                kind,
                load,
                per_span,
            });
        }
    }
    println!("all designs match the native reference (decisions, redactions, metric series)\n");
    let clone_ns = measure::bench_clone(&batch, opts.reps, opts.iterations);
    print_tables(&rows, clone_ns, opts.batch);
    Ok(())
}

fn print_tables(rows: &[Row], clone_ns: f64, batch: usize) {
    println!(
        "### ns per span (batch {batch}; prep = building the design's batch, call = lower + guest + lift, apply = applying the result)\n"
    );
    println!("| design | plugin | prep | call | apply | total |");
    println!("|---|---|---:|---:|---:|---:|");
    for r in rows {
        let p = &r.per_span;
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.0} | **{:.0}** |",
            r.design.label(),
            r.kind.name(),
            p.prep,
            p.call,
            p.apply,
            p.total
        );
    }
    println!("\n### The three plugins together (ns per span; target <= {TARGET_NS_PER_SPAN:.0})\n");
    println!("| design | sampler + redactor + span-metrics | vs target |");
    println!("|---|---:|---|");
    for design in Design::ALL {
        let sum: f64 = rows
            .iter()
            .filter(|r| r.design == design)
            .map(|r| r.per_span.total)
            .sum();
        let verdict = if sum <= TARGET_NS_PER_SPAN {
            "meets"
        } else {
            "misses"
        };
        println!("| {} | {sum:.0} | {verdict} |", design.label());
    }
    println!(
        "\nbaseline without plugins: cloning the host batch costs {clone_ns:.0} ns per span\n"
    );
    println!("### Load costs (medians)\n");
    println!(
        "| design | plugin | .wasm | artifact | compile (`Component::new`) | `Component::deserialize` | instantiate (`InstancePre`) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for r in rows {
        let l = &r.load;
        println!(
            "| {} | {} | {:.1} KB | {:.1} KB | {:.1} ms | {:.2} ms | {:.1} µs |",
            r.design.name(),
            r.kind.name(),
            l.wasm_bytes as f64 / 1024.0,
            l.artifact_bytes as f64 / 1024.0,
            l.compile.as_secs_f64() * 1e3,
            l.deserialize.as_secs_f64() * 1e3,
            l.instantiate.as_secs_f64() * 1e6
        );
    }
}
