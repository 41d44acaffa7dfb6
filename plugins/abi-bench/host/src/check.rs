//! Correctness: every design must produce exactly the native reference.

use abi_bench_logic::metrics::Point;
use anyhow::{Result, ensure};

use crate::model::Batch;
use crate::plugin::{Kind, Plugin};
use crate::reference;

/// Runs one batch through a fresh plugin and compares the outcome with the
/// reference: the spans left (sampler), the whole batch (redactor; this also
/// proves design A's round trip loses nothing), the series (span-metrics).
pub fn check_plugin(plugin: &mut dyn Plugin, kind: Kind, batch: &Batch) -> Result<()> {
    let mut out = batch.clone();
    plugin.run(&mut out)?;
    match kind {
        Kind::Sampler => ensure!(out == reference::sampled(batch), "sampler output differs"),
        Kind::Redactor => ensure!(
            out == reference::redacted(batch).0,
            "redactor output differs"
        ),
        Kind::SpanMetrics => {
            ensure!(out == *batch, "span-metrics changed the batch");
            check_points(plugin.flush()?, batch, 1)?;
        }
    }
    Ok(())
}

/// The series after `times` observations of `batch` must match exactly.
pub fn check_points(points: Vec<Point>, batch: &Batch, times: u64) -> Result<()> {
    let expected = reference::metric_points(batch, times);
    ensure!(
        points == expected,
        "span-metrics series differ: got {} series, expected {}",
        points.len(),
        expected.len()
    );
    Ok(())
}
