//! Expected results, computed natively with the same logic the guests run.

use abi_bench_logic::metrics::{Aggregator, Point};
use abi_bench_logic::{redact, sampler};

use crate::model::{Batch, Value};

/// The batch with the sampler's drops applied.
pub fn sampled(batch: &Batch) -> Batch {
    let mut out = batch.clone();
    out.spans
        .retain(|s| sampler::keep(s.trace_id_hi, s.trace_id_lo, s.status));
    out
}

/// The batch with sensitive values masked, and how many were.
pub fn redacted(batch: &Batch) -> (Batch, usize) {
    let mut out = batch.clone();
    let mut masked = 0;
    for attr in out.spans.iter_mut().flat_map(|s| s.attributes.iter_mut()) {
        if let Value::Str(value) = &mut attr.value
            && redact::must_mask(attr.key.as_bytes(), value.as_bytes())
        {
            *value = redact::MASK.to_owned();
            masked += 1;
        }
    }
    (out, masked)
}

/// The span-metrics series after observing `batch` `times` times.
pub fn metric_points(batch: &Batch, times: u64) -> Vec<Point> {
    let mut agg = Aggregator::default();
    for s in &batch.spans {
        let service = batch.services[s.service as usize].as_bytes();
        let duration = s.end_unix_nanos.saturating_sub(s.start_unix_nanos);
        agg.observe(service, s.name.as_bytes(), s.kind, s.status, duration);
    }
    let mut points = agg.drain();
    for p in &mut points {
        p.calls *= times;
        p.duration_sum_nanos *= times;
    }
    points
}
