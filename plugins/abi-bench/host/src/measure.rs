//! Bounded timing loops and medians. Nothing here asserts on time.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::model::Batch;
use crate::plugin::{Phases, Plugin};

/// Median of per-repetition figures (ns per span per phase).
#[derive(Clone, Copy, Debug, Default)]
pub struct PerSpan {
    pub prep: f64,
    pub call: f64,
    pub apply: f64,
    pub total: f64,
}

/// Runs `plugin` on fresh copies of `batch`: `reps` repetitions of
/// `iterations` batches each. The copy is made outside the timed phases.
pub fn bench_plugin(
    plugin: &mut dyn Plugin,
    batch: &Batch,
    reps: usize,
    iterations: usize,
) -> Result<PerSpan> {
    let spans = (batch.spans.len() * iterations) as f64;
    let mut samples = Vec::with_capacity(reps);
    for _ in 0..reps {
        let mut sum = Phases::default();
        for _ in 0..iterations {
            let mut copy = batch.clone();
            sum += plugin.run(&mut copy)?;
        }
        samples.push(sum);
    }
    let ns = |f: fn(&Phases) -> Duration| {
        median(
            samples
                .iter()
                .map(|p| f(p).as_nanos() as f64 / spans)
                .collect(),
        )
    };
    Ok(PerSpan {
        prep: ns(|p| p.prep),
        call: ns(|p| p.call),
        apply: ns(|p| p.apply),
        total: ns(|p| p.total()),
    })
}

/// ns per span of cloning the host batch: the representation a pipeline
/// without plugins builds anyway, as a yardstick for the `prep` figures.
pub fn bench_clone(batch: &Batch, reps: usize, iterations: usize) -> f64 {
    let spans = (batch.spans.len() * iterations) as f64;
    let samples = (0..reps)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iterations {
                std::hint::black_box(batch.clone());
            }
            start.elapsed().as_nanos() as f64 / spans
        })
        .collect();
    median(samples)
}

/// Median of `n` timings of `f`.
pub fn median_time(n: usize, mut f: impl FnMut() -> Result<Duration>) -> Result<Duration> {
    let mut times = (0..n).map(|_| f()).collect::<Result<Vec<_>>>()?;
    times.sort();
    Ok(times[times.len() / 2])
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}
