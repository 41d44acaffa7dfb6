//! Counters and classic (bucketed) histograms with per-bucket exemplars.
//!
//! Bucket bounds live once per metric (not per series); a series holds only
//! its per-bucket counts, so an observation is a binary search plus a few
//! additions. Counts are stored per bucket and made cumulative at snapshot
//! time, which gives the same `_bucket{le}` values as Tempo's cumulative
//! update loop (`value <= bucket` for every bucket).

use crate::exemplar::{ExemplarLabels, RawExemplar};
use crate::series::{Bucket, HistogramValue, Value};

/// A monotonically increasing counter with the latest exemplar.
#[derive(Clone, Debug, Default)]
pub struct Counter {
    value: f64,
    exemplar: Option<RawExemplar>,
}

impl Counter {
    /// Add `by`; the exemplar's value is the increment (OpenMetrics counter
    /// exemplars describe one increment).
    pub fn add(&mut self, by: f64, exemplar: Option<RawExemplar>) {
        self.value += by;
        if exemplar.is_some() {
            self.exemplar = exemplar;
        }
    }

    pub fn value(&self) -> f64 {
        self.value
    }

    pub fn export(&self, names: &ExemplarLabels) -> Value {
        Value::Counter {
            value: self.value,
            exemplar: self.exemplar.map(|e| e.export(names)),
        }
    }
}

/// Number of Prometheus series one classic histogram adds: every bucket,
/// the implicit `+Inf` bucket, `_sum` and `_count` (Tempo's
/// `activeSeriesPerHistogramSerie`).
pub fn histogram_series_cost(bounds: &[f64]) -> usize {
    bounds.len() + 3
}

/// A classic histogram series. `bounds` are passed to each call rather than
/// stored, because they are shared by every series of the metric.
#[derive(Clone, Debug)]
pub struct Histogram {
    /// Non-cumulative count per bucket; the last slot is `+Inf`.
    counts: Box<[u64]>,
    sum: f64,
    count: u64,
    exemplars: Box<[Option<RawExemplar>]>,
}

impl Histogram {
    pub fn new(bounds: &[f64]) -> Self {
        Self {
            counts: vec![0; bounds.len() + 1].into_boxed_slice(),
            sum: 0.0,
            count: 0,
            exemplars: vec![None; bounds.len() + 1].into_boxed_slice(),
        }
    }

    /// Record `value`; the exemplar replaces the previous one of the bucket
    /// the value falls in (`sort.SearchFloat64s(buckets, value)` in Tempo).
    pub fn observe(&mut self, bounds: &[f64], value: f64, exemplar: RawExemplar) {
        let idx = bounds.partition_point(|b| *b < value);
        self.counts[idx] += 1;
        self.count += 1;
        self.sum += value;
        self.exemplars[idx] = Some(exemplar);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn sum(&self) -> f64 {
        self.sum
    }

    pub fn export(&self, bounds: &[f64], names: &ExemplarLabels) -> Value {
        let mut cumulative = 0u64;
        let buckets = self
            .counts
            .iter()
            .enumerate()
            .map(|(i, c)| {
                cumulative += c;
                Bucket {
                    le: bounds.get(i).copied().unwrap_or(f64::INFINITY),
                    cumulative_count: cumulative,
                    exemplar: self.exemplars[i].map(|e| e.export(names)),
                }
            })
            .collect();
        Value::Histogram(HistogramValue {
            buckets,
            sum: self.sum,
            count: self.count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SpanId, TraceId};

    fn ex(n: u8, value: f64) -> RawExemplar {
        RawExemplar {
            trace_id: TraceId([n; 16]),
            span_id: SpanId([n; 8]),
            value,
            timestamp_unix_nanos: u64::from(n),
        }
    }

    fn names() -> ExemplarLabels {
        ExemplarLabels {
            trace_id: "traceID".into(),
            span_id: String::new(),
        }
    }

    #[test]
    fn buckets_are_cumulative_with_le_inclusive() {
        let bounds = [0.1, 0.5, 1.0];
        let mut h = Histogram::new(&bounds);
        for (i, v) in [0.05, 0.1, 0.3, 0.5, 0.7, 2.0, 9.0].iter().enumerate() {
            h.observe(&bounds, *v, ex(i as u8, *v));
        }
        let Value::Histogram(v) = h.export(&bounds, &names()) else {
            panic!("not a histogram")
        };
        let counts: Vec<u64> = v.buckets.iter().map(|b| b.cumulative_count).collect();
        assert_eq!(counts, vec![2, 4, 5, 7], "0.1 and 0.5 fall in their own le");
        assert_eq!(v.count, 7);
        assert!((v.sum - 12.65).abs() < 1e-12);
        assert!(v.buckets[3].le.is_infinite());
        // The latest exemplar per bucket: 0.1 (index 1) replaced 0.05 in bucket 0.
        let e0 = v.buckets[0].exemplar.as_ref().unwrap();
        assert_eq!(e0.value, 0.1);
        assert_eq!(e0.timestamp_unix_nanos, 1);
        assert_eq!(v.buckets[3].exemplar.as_ref().unwrap().value, 9.0);
    }

    #[test]
    fn empty_buckets_have_no_exemplar() {
        let bounds = [1.0, 2.0];
        let mut h = Histogram::new(&bounds);
        h.observe(&bounds, 1.5, ex(1, 1.5));
        let Value::Histogram(v) = h.export(&bounds, &names()) else {
            panic!()
        };
        assert!(v.buckets[0].exemplar.is_none());
        assert!(v.buckets[1].exemplar.is_some());
        assert!(v.buckets[2].exemplar.is_none());
        assert_eq!(histogram_series_cost(&bounds), 5);
    }

    #[test]
    fn counter_keeps_latest_exemplar() {
        let mut c = Counter::default();
        c.add(1.0, Some(ex(1, 1.0)));
        c.add(1.0, Some(ex(2, 1.0)));
        c.add(1.0, None);
        assert_eq!(c.value(), 3.0);
        let Value::Counter { value, exemplar } = c.export(&names()) else {
            panic!()
        };
        assert_eq!(value, 3.0);
        assert_eq!(exemplar.unwrap().timestamp_unix_nanos, 2);
    }
}
