//! TraceQL metrics: bucket every span the search part of the query returns into time
//! intervals and series, then produce Tempo's `TimeSeries` (engine_metrics.go).
//!
//! Time model (Tempo 3.x `IntervalMapperQueryRange`): the range is widened to whole
//! steps (`start` rounded down, `end` rounded up); interval `i` covers
//! `(start + i·step, start + (i+1)·step]` and its sample is stamped with the interval's
//! **end**. A span counts when its start time is in `(start, end]` of the request. Use
//! [`align_request`] and [`clamp_end`] to reproduce what Tempo's query-frontend does to
//! the request before this point.
//!
//! Per function:
//! * `rate()` = count ÷ step in seconds; `count_over_time()` = count; both emit 0 for
//!   empty intervals;
//! * `min/max/sum/avg_over_time(f)`: over the field's numeric values (`duration` in
//!   seconds, other fields as stored); empty intervals have no sample;
//! * `histogram_over_time(f)`: one series per power-of-two bucket (label `__bucket`,
//!   seconds for durations) counting spans;
//! * `quantile_over_time(f, q...)`: the same log2 histogram, then one series per quantile
//!   (label `p`) with Tempo's exponential interpolation inside a bucket, 0 when empty.
//!
//! Labels: `by()` values under the field's TraceQL name (`resource.service.name`), nil
//! values left out (all nil: the first label with value nil); without `by()`, one series
//! `{__name__="rate"}` (function name). Exemplars: at most one per trace (the first span
//! counted; Tempo picks a random one), capped at 100, at most 2 per time slot.
//!
//! Span-level queries can also be fed span by span or as pre-counted totals, by a store
//! that reads spans from columns: [`MetricsEvaluator::span_inputs`],
//! [`MetricsEvaluator::observe_span`] (a trace is a run of spans with one trace id, for
//! the exemplar rule), [`MetricsEvaluator::add_counts`] with
//! [`MetricsEvaluator::interval_index`] and [`MetricsEvaluator::wants_exemplars`].

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

use crate::ast::{Field, Intrinsic, MetricsFunction, MetricsStage};
use crate::eval::{TraceView, Value};
use crate::query::Query;
use crate::value::{AttrValue, hex_lower, trace_id_hex};

mod columnar;

pub use columnar::{ColumnarError, SpanInputs, SpanObservation};

/// Tempo's `maxExemplars`.
pub const MAX_EXEMPLARS: u32 = 100;
const MAX_EXEMPLARS_PER_SLOT: u8 = 2;
const NANOS_PER_SECOND: f64 = 1e9;

/// Why a metrics evaluation cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricsError {
    #[error("not a metrics query")]
    NotAMetricsQuery,
    #[error("end must be greater than start")]
    EmptyRange,
    #[error("step required")]
    MissingStep,
    /// Every series keeps one slot per interval, so the count is bounded.
    #[error("range/step gives {intervals} intervals, more than the {max} allowed")]
    TooManyIntervals { intervals: u64, max: u64 },
}

/// Most intervals a range query may have (Prometheus allows 11,000 points per series).
pub const MAX_INTERVALS: u64 = 50_000;

/// One output series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// In output order (`by()` order, then `__bucket` or `p`).
    pub labels: Vec<(String, AttrValue)>,
    pub samples: Vec<Sample>,
    pub exemplars: Vec<Exemplar>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub timestamp_ms: i64,
    pub value: f64,
}

/// A span standing for a data point; Grafana reads the trace id from label `trace:id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    pub trace_id: Vec<u8>,
    pub span_id: Vec<u8>,
    pub timestamp_ms: i64,
    /// NaN for counting functions, like Tempo.
    pub value: f64,
}

impl Exemplar {
    /// `trace:id` (hex, leading zeros stripped) and `span:id` labels.
    pub fn labels(&self) -> Vec<(String, AttrValue)> {
        vec![
            (
                "trace:id".to_string(),
                AttrValue::Str(trace_id_hex(&self.trace_id)),
            ),
            (
                "span:id".to_string(),
                AttrValue::Str(hex_lower(&self.span_id)),
            ),
        ]
    }
}

/// Tempo's `AlignRequest` (query-frontend): start rounded down to a step, one extra step
/// before it, end rounded up. Returns `(start, end)`.
pub fn align_request(start: u64, end: u64, step: u64) -> (u64, u64) {
    if step == 0 {
        return (start, end);
    }
    let mut aligned_start = start - start % step;
    if aligned_start > step {
        aligned_start -= step;
    }
    (aligned_start, align_up(end, step))
}

/// Tempo's end cutoff: an end later than `max_end` (now minus `query_end_cutoff`, 30s by
/// default) becomes `max_end` rounded down to a step.
pub fn clamp_end(end: u64, step: u64, max_end: u64) -> u64 {
    if end <= max_end {
        return end;
    }
    if step == 0 {
        max_end
    } else {
        max_end - max_end % step
    }
}

/// Tempo's `DefaultQueryRangeStep`: about 240 points, whole 5s or 1s steps, at least 1s.
pub fn default_step(start: u64, end: u64) -> u64 {
    const SECOND: u64 = 1_000_000_000;
    let baseline = end.saturating_sub(start) / 240;
    let mut interval = baseline / (5 * SECOND) * (5 * SECOND);
    if interval < 5 * SECOND {
        interval = baseline / SECOND * SECOND;
    }
    interval.max(SECOND)
}

fn align_up(end: u64, step: u64) -> u64 {
    match end % step {
        0 => end,
        m => end.saturating_add(step - m),
    }
}

/// Maps span start times to intervals.
#[derive(Debug, Clone, Copy)]
enum Intervals {
    Range {
        start: u64,
        end: u64,
        step: u64,
        count: usize,
    },
    Instant {
        start: u64,
        end: u64,
    },
}

impl Intervals {
    fn count(&self) -> usize {
        match self {
            Intervals::Range { count, .. } => *count,
            Intervals::Instant { .. } => 1,
        }
    }

    fn index(&self, ts: u64) -> Option<usize> {
        match *self {
            Intervals::Range {
                start, end, step, ..
            } => {
                if ts <= start || ts > end {
                    return None;
                }
                // Right-closed: a timestamp on a boundary belongs to the interval it ends.
                let offset = ts - start;
                let index = offset.div_ceil(step).checked_sub(1)?;
                usize::try_from(index).ok()
            }
            Intervals::Instant { start, end } => (ts >= start && ts <= end).then_some(0),
        }
    }

    fn timestamp_ms(&self, index: usize) -> i64 {
        let nanos = match *self {
            Intervals::Range { start, step, .. } => {
                start.saturating_add((index as u64 + 1).saturating_mul(step))
            }
            Intervals::Instant { end, .. } => end,
        };
        i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
    }

    fn start_end(&self) -> (u64, u64) {
        match *self {
            Intervals::Range { start, end, .. } | Intervals::Instant { start, end } => (start, end),
        }
    }
}

/// Per-interval accumulation.
#[derive(Debug, Clone)]
enum Accumulator {
    Count(Vec<f64>),
    Min(Vec<f64>),
    Max(Vec<f64>),
    Sum(Vec<f64>),
    /// Running mean and weight.
    Mean(Vec<(f64, f64)>),
}

impl Accumulator {
    fn new(function: &MetricsFunction, intervals: usize) -> Self {
        match function {
            MetricsFunction::MinOverTime(_) => Accumulator::Min(vec![f64::NAN; intervals]),
            MetricsFunction::MaxOverTime(_) => Accumulator::Max(vec![f64::NAN; intervals]),
            MetricsFunction::SumOverTime(_) => Accumulator::Sum(vec![f64::NAN; intervals]),
            MetricsFunction::AvgOverTime(_) => Accumulator::Mean(vec![(f64::NAN, 0.0); intervals]),
            _ => Accumulator::Count(vec![0.0; intervals]),
        }
    }

    fn observe(&mut self, interval: usize, value: f64) {
        let fold = |slot: &mut f64, pick: fn(f64, f64) -> f64| {
            *slot = if slot.is_nan() {
                value
            } else {
                pick(*slot, value)
            };
        };
        match self {
            Accumulator::Count(v) => {
                if let Some(slot) = v.get_mut(interval) {
                    *slot += 1.0;
                }
            }
            Accumulator::Min(v) => {
                if let Some(slot) = v.get_mut(interval) {
                    fold(slot, f64::min);
                }
            }
            Accumulator::Max(v) => {
                if let Some(slot) = v.get_mut(interval) {
                    fold(slot, f64::max);
                }
            }
            Accumulator::Sum(v) => {
                if let Some(slot) = v.get_mut(interval) {
                    fold(slot, |a, b| a + b);
                }
            }
            Accumulator::Mean(v) => {
                if let Some((mean, weight)) = v.get_mut(interval) {
                    *weight += 1.0;
                    *mean = if mean.is_nan() {
                        value
                    } else {
                        *mean + (value - *mean) / *weight
                    };
                }
            }
        }
    }

    /// Adds `n` spans to a count (no-op for other accumulators); the same as `n` calls
    /// of `observe` while the count stays below 2^53.
    fn add_count(&mut self, interval: usize, n: f64) {
        if let Accumulator::Count(v) = self
            && let Some(slot) = v.get_mut(interval)
        {
            *slot += n;
        }
    }

    fn values(&self, rate_multiplier: f64) -> Vec<f64> {
        match self {
            Accumulator::Count(v) => v.iter().map(|c| c * rate_multiplier).collect(),
            Accumulator::Min(v) | Accumulator::Max(v) | Accumulator::Sum(v) => v.clone(),
            Accumulator::Mean(v) => v.iter().map(|(mean, _)| *mean).collect(),
        }
    }
}

#[derive(Debug, Clone)]
struct SeriesState {
    by_values: Vec<AttrValue>,
    /// Log2 bucket for histogram and quantile series.
    bucket: Option<f64>,
    acc: Accumulator,
    exemplars: Vec<Exemplar>,
    exemplar_slots: Vec<u8>,
}

/// Accumulates a metrics query over traces; see the module docs for the semantics.
#[derive(Debug, Clone)]
pub struct MetricsEvaluator {
    query: Query,
    stage: MetricsStage,
    intervals: Intervals,
    /// Spans must start in `(start, end]`.
    start: u64,
    end: u64,
    rate_multiplier: f64,
    series: Vec<SeriesState>,
    /// Series by hash of their `by()` values and bucket; collisions resolved by equality.
    index: HashMap<u64, Vec<usize>>,
    exemplar_limit: u32,
    /// Traces that took an exemplar (at most one each, while below `exemplar_limit`).
    exemplar_traces: u32,
    /// The trace id of the last trace that took an exemplar through `observe_span`:
    /// spans arrive one at a time, grouped by trace, so a span from the same trace must
    /// not take another.
    exemplar_trace: Option<Vec<u8>>,
    /// The query's filter and metrics inputs are span-level (`span_inputs` is `Some`).
    span_level: bool,
}

/// A span [`MetricsEvaluator::count_span`] counted: its series and numeric value.
#[derive(Debug, Clone, Copy)]
struct Counted {
    series: usize,
    value: Option<f64>,
}

impl MetricsEvaluator {
    /// A range query over `[start, end]` with `step` (unix nanoseconds).
    pub fn new(query: &Query, start: u64, end: u64, step: u64) -> Result<Self, MetricsError> {
        if step == 0 {
            return Err(MetricsError::MissingStep);
        }
        if end <= start {
            return Err(MetricsError::EmptyRange);
        }
        let aligned_start = start - start % step;
        let aligned_end = align_up(end, step);
        let interval_count = (aligned_end - aligned_start) / step;
        if interval_count > MAX_INTERVALS {
            return Err(MetricsError::TooManyIntervals {
                intervals: interval_count,
                max: MAX_INTERVALS,
            });
        }
        let count = usize::try_from(interval_count).unwrap_or(0);
        let intervals = Intervals::Range {
            start: aligned_start,
            end: aligned_end,
            step,
            count,
        };
        Self::build(query, intervals, start, end, step)
    }

    /// An instant query: one sample for `(start, end]`, stamped `end`.
    pub fn instant(query: &Query, start: u64, end: u64) -> Result<Self, MetricsError> {
        if end <= start {
            return Err(MetricsError::EmptyRange);
        }
        Self::build(
            query,
            Intervals::Instant { start, end },
            start,
            end,
            end - start,
        )
    }

    fn build(
        query: &Query,
        intervals: Intervals,
        start: u64,
        end: u64,
        step: u64,
    ) -> Result<Self, MetricsError> {
        let stage = query
            .metrics()
            .ok_or(MetricsError::NotAMetricsQuery)?
            .clone();
        let rate_multiplier = match stage.function {
            MetricsFunction::Rate => NANOS_PER_SECOND / step as f64,
            _ => 1.0,
        };
        let mut evaluator = MetricsEvaluator {
            query: query.clone(),
            stage,
            intervals,
            start,
            end,
            rate_multiplier,
            series: Vec::new(),
            index: HashMap::new(),
            exemplar_limit: 0,
            exemplar_traces: 0,
            exemplar_trace: None,
            span_level: false,
        };
        evaluator.span_level = columnar::is_span_level(&evaluator.query, &evaluator.stage);
        // Tempo's ungrouped aggregator always yields its one series, so `{} | rate()`
        // over no data is a series of zeros (as in metrics_query_range.json).
        let bucketed = matches!(
            evaluator.stage.function,
            MetricsFunction::QuantileOverTime(..) | MetricsFunction::HistogramOverTime(_)
        );
        if evaluator.stage.by.is_empty() && !bucketed {
            evaluator.new_series(hash_series(&[], None), Vec::new(), None);
        }
        Ok(evaluator)
    }

    /// Collects exemplars: `requested` (as from the `exemplars` request parameter),
    /// overridden by a `with(exemplars=...)` hint and capped at [`MAX_EXEMPLARS`]. Instant
    /// queries have none, as in Tempo.
    pub fn with_exemplars(mut self, requested: u32) -> Self {
        if matches!(self.intervals, Intervals::Range { .. }) {
            self.exemplar_limit = self.query.exemplar_limit(requested).min(MAX_EXEMPLARS);
        }
        self
    }

    /// Feeds every span the search part returns for this trace (no `spss` cut).
    pub fn observe_trace(&mut self, trace: &[ResourceSpans]) {
        let view = TraceView::new(trace, self.query.plan.needs_tree);
        let sets = self.query.matching_spansets(&view);
        let mut exemplar_taken = self.exemplar_traces >= self.exemplar_limit;
        for set in &sets {
            for &i in &set.spans {
                let i = i as usize;
                let span_ref = view.spans[i];
                let span = span_ref.span;
                if self.interval_index(span.start_time_unix_nano).is_none() {
                    continue;
                }
                // The same numbers as `observe_span`: read the span's inputs, then share
                // the counting code.
                let by_values: Vec<Value<'_>> =
                    self.stage.by.iter().map(|f| view.value(f, i)).collect();
                let value = match self.stage.function.field() {
                    Some(f) if *f != Field::Intrinsic(Intrinsic::Duration) => view.value(f, i),
                    // `duration` is read from `duration_nanos`.
                    _ => Value::Nil,
                };
                let observation = SpanObservation {
                    trace_id: &span.trace_id,
                    span_id: &span.span_id,
                    start_time_unix_nano: span.start_time_unix_nano,
                    duration_nanos: span_ref.duration(),
                    by_values: &by_values,
                    value,
                };
                let Some(counted) = self.count_span(&observation) else {
                    continue;
                };
                if !exemplar_taken {
                    exemplar_taken = true;
                    self.exemplar_traces += 1;
                    self.add_exemplar(counted, &observation);
                }
            }
        }
        // A later `observe_span` starts a new trace, whatever its id.
        self.exemplar_trace = None;
    }

    /// Counts one span: the `(start, end]` window, its interval, its series (by `by()`
    /// values and, for histograms and quantiles, bucket) and its value. `None` when the
    /// span is not counted (outside the window, or no bucket). Shared by
    /// [`Self::observe_trace`] and [`Self::observe_span`] so both give the same numbers.
    fn count_span(&mut self, span: &SpanObservation<'_>) -> Option<Counted> {
        let interval = self.interval_index(span.start_time_unix_nano)?;
        let bucket = match &self.stage.function {
            MetricsFunction::QuantileOverTime(f, _) | MetricsFunction::HistogramOverTime(f) => {
                // No bucket for this span: not counted (Tempo drops it).
                Some(log2_bucket(f, span)?)
            }
            _ => None,
        };
        let series = self.series_for(span.by_values, bucket);
        let value = self.span_value(span);
        if let Some(v) = value {
            self.series[series].acc.observe(interval, v);
        } else if matches!(self.series[series].acc, Accumulator::Count(_)) {
            self.series[series].acc.observe(interval, 0.0);
        }
        Some(Counted { series, value })
    }

    /// The numeric value a span contributes; `None` for counting functions or when the
    /// span has no numeric value (then it is not counted by min/max/sum/avg).
    fn span_value(&self, span: &SpanObservation<'_>) -> Option<f64> {
        let field = match &self.stage.function {
            MetricsFunction::MinOverTime(f)
            | MetricsFunction::MaxOverTime(f)
            | MetricsFunction::SumOverTime(f)
            | MetricsFunction::AvgOverTime(f) => f,
            _ => return None,
        };
        if *field == Field::Intrinsic(Intrinsic::Duration) {
            return Some(span.duration_nanos as f64 / NANOS_PER_SECOND);
        }
        span.value.as_f64().filter(|x| !x.is_nan())
    }

    /// Finds or creates the series for `by()` values and bucket. Lookups borrow the
    /// values; only a new series copies them.
    fn series_for(&mut self, values: &[Value<'_>], bucket: Option<f64>) -> usize {
        let hash = hash_series(values, bucket);
        let existing = self.index.get(&hash).and_then(|candidates| {
            candidates.iter().copied().find(|&c| {
                let s = &self.series[c];
                s.bucket.map(f64::to_bits) == bucket.map(f64::to_bits)
                    && values.len() == s.by_values.len()
                    && values
                        .iter()
                        .zip(&s.by_values)
                        .all(|(v, a)| same_value(v, a))
            })
        });
        if let Some(existing) = existing {
            return existing;
        }
        let by_values = values.iter().map(|v| v.to_attr_value()).collect();
        self.new_series(hash, by_values, bucket)
    }

    fn new_series(&mut self, hash: u64, by_values: Vec<AttrValue>, bucket: Option<f64>) -> usize {
        self.series.push(SeriesState {
            by_values,
            bucket,
            acc: Accumulator::new(&self.stage.function, self.intervals.count()),
            exemplars: Vec::new(),
            exemplar_slots: Vec::new(),
        });
        let index = self.series.len() - 1;
        self.index.entry(hash).or_default().push(index);
        index
    }

    fn add_exemplar(&mut self, counted: Counted, span: &SpanObservation<'_>) {
        let value = match &self.stage.function {
            MetricsFunction::QuantileOverTime(f, _) => {
                if *f == Field::Intrinsic(Intrinsic::Duration) {
                    span.duration_nanos as f64 / NANOS_PER_SECOND
                } else {
                    span.value.as_f64().unwrap_or(0.0)
                }
            }
            _ => counted.value.unwrap_or(f64::NAN),
        };
        let state = &mut self.series[counted.series];
        if state.exemplar_slots.is_empty() {
            let slots = usize::try_from(self.exemplar_limit / 2).unwrap_or(0).max(1);
            state.exemplar_slots = vec![0; slots];
        }
        // Spread exemplars over the range: at most two per time slot.
        let (start, end) = self.intervals.start_end();
        let slots = state.exemplar_slots.len() as u64;
        let offset = span.start_time_unix_nano.saturating_sub(start);
        let width = (end - start).max(1);
        let slot = usize::try_from(u128::from(offset) * u128::from(slots) / u128::from(width))
            .unwrap_or(0)
            .min(state.exemplar_slots.len() - 1);
        if state.exemplars.len() >= self.exemplar_limit as usize
            || state.exemplar_slots[slot] >= MAX_EXEMPLARS_PER_SLOT
        {
            return;
        }
        state.exemplar_slots[slot] += 1;
        state.exemplars.push(Exemplar {
            trace_id: span.trace_id.to_vec(),
            span_id: span.span_id.to_vec(),
            timestamp_ms: i64::try_from(span.start_time_unix_nano / 1_000_000).unwrap_or(i64::MAX),
            value,
        });
    }

    /// The series, sorted by labels. Intervals whose value is NaN have no sample and
    /// series without samples are left out, as in Tempo's `ToProto`.
    pub fn finish(self) -> Vec<Series> {
        let mut out = match &self.stage.function {
            MetricsFunction::QuantileOverTime(_, quantiles) => self.quantile_series(quantiles),
            _ => self
                .series
                .iter()
                .map(|s| {
                    let mut labels = self.by_labels(&s.by_values, s.bucket.is_some());
                    if let Some(bucket) = s.bucket {
                        labels.push(("__bucket".to_string(), AttrValue::Float(bucket)));
                    }
                    self.to_series(
                        labels,
                        s.acc.values(self.rate_multiplier),
                        s.exemplars.clone(),
                    )
                })
                .collect(),
        };
        out.retain(|s| !s.samples.is_empty());
        out.sort_by_cached_key(|s| format!("{:?}", s.labels));
        out
    }

    /// `by()` labels without nils; `{__name__=fn}` when there is no `by()` (and no bucket).
    fn by_labels(&self, values: &[AttrValue], has_bucket: bool) -> Vec<(String, AttrValue)> {
        if self.stage.by.is_empty() {
            if has_bucket {
                return Vec::new();
            }
            return vec![(
                "__name__".to_string(),
                AttrValue::Str(self.stage.function.name().to_string()),
            )];
        }
        let mut labels: Vec<(String, AttrValue)> = self
            .stage
            .by
            .iter()
            .zip(values)
            .filter(|(_, v)| **v != AttrValue::Nil)
            .map(|(f, v)| (f.to_string(), v.clone()))
            .collect();
        if labels.is_empty() && !has_bucket {
            labels.push((self.stage.by[0].to_string(), AttrValue::Nil));
        }
        labels
    }

    fn to_series(
        &self,
        labels: Vec<(String, AttrValue)>,
        values: Vec<f64>,
        exemplars: Vec<Exemplar>,
    ) -> Series {
        let samples = values
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_nan())
            .map(|(i, v)| Sample {
                timestamp_ms: self.intervals.timestamp_ms(i),
                value: *v,
            })
            .collect();
        // Tempo drops exemplars that fall on an interval without a value.
        let exemplars = exemplars
            .into_iter()
            .filter(|e| {
                let ts = u64::try_from(e.timestamp_ms)
                    .unwrap_or(0)
                    .saturating_mul(1_000_000);
                self.intervals
                    .index(ts)
                    .and_then(|i| values.get(i))
                    .is_some_and(|v| !v.is_nan())
            })
            .collect();
        Series {
            labels,
            samples,
            exemplars,
        }
    }

    fn quantile_series(&self, quantiles: &[f64]) -> Vec<Series> {
        // Group the bucket series by their labels without the bucket.
        let mut groups: Vec<(Vec<AttrValue>, Vec<&SeriesState>)> = Vec::new();
        for s in &self.series {
            match groups.iter_mut().find(|(values, _)| *values == s.by_values) {
                Some((_, members)) => members.push(s),
                None => groups.push((s.by_values.clone(), vec![s])),
            }
        }
        // Quantiles of everything together decide which quantile an exemplar shows on.
        let mut all: Vec<(f64, f64)> = Vec::new();
        for s in &self.series {
            let total: f64 = s.acc.values(1.0).iter().sum();
            if let Some(bucket) = s.bucket {
                add_to_histogram(&mut all, bucket, total);
            }
        }
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        let overall: Vec<f64> = quantiles.iter().map(|q| log2_quantile(*q, &all)).collect();

        let mut out = Vec::new();
        for (by_values, members) in &groups {
            let intervals = self.intervals.count();
            let mut histograms: Vec<Vec<(f64, f64)>> = vec![Vec::new(); intervals];
            for s in members {
                let Some(bucket) = s.bucket else { continue };
                for (i, count) in s.acc.values(1.0).iter().enumerate() {
                    if *count > 0.0
                        && let Some(h) = histograms.get_mut(i)
                    {
                        add_to_histogram(h, bucket, *count);
                    }
                }
            }
            for h in &mut histograms {
                h.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
            let exemplars: Vec<&Exemplar> = members.iter().flat_map(|s| &s.exemplars).collect();
            for (qi, q) in quantiles.iter().enumerate() {
                let mut labels = self.by_labels(by_values, true);
                labels.push(("p".to_string(), AttrValue::Float(*q)));
                let values: Vec<f64> = histograms
                    .iter()
                    .map(|h| {
                        if h.is_empty() {
                            0.0
                        } else {
                            log2_quantile(*q, h)
                        }
                    })
                    .collect();
                let mine = exemplars
                    .iter()
                    .filter(|e| closest(e.value, &overall) == Some(qi))
                    .map(|e| (*e).clone())
                    .collect();
                out.push(self.to_series(labels, values, mine));
            }
        }
        out
    }
}

/// Hash of a series identity, computed from borrowed span values.
fn hash_series(values: &[Value<'_>], bucket: Option<f64>) -> u64 {
    let mut h = DefaultHasher::new();
    for v in values {
        match v {
            Value::Nil => 0u8.hash(&mut h),
            Value::Str(s) => (1u8, s).hash(&mut h),
            Value::Int(n) => (2u8, n).hash(&mut h),
            Value::Float(x) => (3u8, x.to_bits()).hash(&mut h),
            Value::Bool(b) => (4u8, b).hash(&mut h),
            Value::Duration(d) => (5u8, d).hash(&mut h),
            Value::Status(st) => (6u8, st).hash(&mut h),
            Value::Kind(k) => (7u8, k).hash(&mut h),
            Value::Id(id) => (8u8, id).hash(&mut h),
            Value::Array(_) => 9u8.hash(&mut h),
        }
    }
    bucket.map(f64::to_bits).hash(&mut h);
    h.finish()
}

/// Does a span value equal a stored label value (same type and content)?
fn same_value(v: &Value<'_>, a: &AttrValue) -> bool {
    match (v, a) {
        (Value::Nil, AttrValue::Nil) => true,
        (Value::Str(x), AttrValue::Str(y)) => x == y,
        (Value::Int(x), AttrValue::Int(y)) | (Value::Duration(x), AttrValue::Duration(y)) => x == y,
        (Value::Float(x), AttrValue::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Bool(x), AttrValue::Bool(y)) => x == y,
        (Value::Status(x), AttrValue::Status(y)) => x == y,
        (Value::Kind(x), AttrValue::Kind(y)) => x == y,
        // Rare: ids and arrays are compared in their reported form, floats by their
        // bits (a NaN element must find its series again, not start a new one).
        (Value::Id(_) | Value::Array(_), _) => same_reported(&v.to_attr_value(), a),
        _ => false,
    }
}

/// Equality of reported values with floats compared by their bits.
fn same_reported(x: &AttrValue, y: &AttrValue) -> bool {
    match (x, y) {
        (AttrValue::Float(a), AttrValue::Float(b)) => a.to_bits() == b.to_bits(),
        (AttrValue::Array(a), AttrValue::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_reported(a, b))
        }
        _ => x == y,
    }
}

fn add_to_histogram(h: &mut Vec<(f64, f64)>, bucket: f64, count: f64) {
    match h.iter_mut().find(|(b, _)| *b == bucket) {
        Some((_, c)) => *c += count,
        None => h.push((bucket, count)),
    }
}

fn closest(value: f64, candidates: &[f64]) -> Option<usize> {
    candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| (value - **c).abs().is_finite())
        .min_by(|a, b| (value - a.1).abs().total_cmp(&(value - b.1).abs()))
        .map(|(i, _)| i)
}

/// Tempo's `Log2Bucketize`: the next power of two at or above `v` (v ≥ 2).
pub(crate) fn log2_bucketize(v: u64) -> f64 {
    let leading = (v - 1).leading_zeros();
    if leading == 0 {
        return 2f64.powi(64);
    }
    (1u64 << (64 - leading)) as f64
}

/// The histogram bucket of a span, or `None` when Tempo drops the span (values below
/// 2, floats, non-numbers).
fn log2_bucket(field: &Field, span: &SpanObservation<'_>) -> Option<f64> {
    if *field == Field::Intrinsic(Intrinsic::Duration) {
        let d = span.duration_nanos;
        return (d >= 2).then(|| log2_bucketize(d) / NANOS_PER_SECOND);
    }
    match span.value {
        Value::Int(n) if n >= 2 => Some(log2_bucketize(n as u64)),
        Value::Duration(d) if d >= 2 => Some(log2_bucketize(d as u64) / NANOS_PER_SECOND),
        _ => None,
    }
}

/// Tempo's `Log2Quantile` over `(bucket max, count)` sorted by bucket.
pub(crate) fn log2_quantile(p: f64, buckets: &[(f64, f64)]) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) || buckets.is_empty() {
        return 0.0;
    }
    let total: f64 = buckets.iter().map(|(_, c)| c).sum();
    if total <= 0.0 {
        return 0.0;
    }
    // Round up so low sample counts still reach a bucket; read at least one sample.
    let max_samples = (p * total).ceil().max(1.0);
    let mut consumed = 0.0;
    let mut bucket = 0;
    for (i, (max, count)) in buckets.iter().enumerate() {
        bucket = i;
        if consumed + count > max_samples {
            break;
        }
        consumed += count;
        if consumed == max_samples {
            return *max;
        }
    }
    let (max, count) = buckets[bucket];
    let interp = (max_samples - consumed) / count;
    let max_v = max.log2();
    let min_v = if bucket > 0 {
        buckets[bucket - 1].0.log2()
    } else {
        max_v - 1.0
    };
    2f64.powf(min_v + (max_v - min_v) * interp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucketize_rounds_up_to_powers_of_two() {
        assert_eq!(log2_bucketize(2), 2.0);
        assert_eq!(log2_bucketize(3), 4.0);
        assert_eq!(log2_bucketize(4), 4.0);
        assert_eq!(log2_bucketize(5), 8.0);
        assert_eq!(log2_bucketize(1_000_000), 1_048_576.0);
        assert_eq!(log2_bucketize(u64::MAX), 2f64.powi(64));
    }

    #[test]
    fn quantile_interpolates_exponentially() {
        // Tempo's Log2Quantile test values.
        let buckets = [(1.0, 2.0), (2.0, 2.0), (4.0, 2.0), (8.0, 2.0)];
        assert_eq!(log2_quantile(0.5, &buckets), 2.0);
        assert_eq!(log2_quantile(1.0, &buckets), 8.0);
        // p0 reads one sample: halfway into the first bucket, below it a power of two.
        assert!((log2_quantile(0.0, &buckets) - 2f64.powf(-0.5)).abs() < 1e-12);
        let single = [(4.0, 4.0)];
        assert!((log2_quantile(0.5, &single) - 2f64.powf(1.5)).abs() < 1e-12);
    }

    #[test]
    fn interval_mapping_is_right_closed() {
        let m = Intervals::Range {
            start: 100,
            end: 400,
            step: 100,
            count: 3,
        };
        assert_eq!(m.index(100), None);
        assert_eq!(m.index(101), Some(0));
        assert_eq!(m.index(200), Some(0));
        assert_eq!(m.index(201), Some(1));
        assert_eq!(m.index(400), Some(2));
        assert_eq!(m.index(401), None);
        assert_eq!(m.timestamp_ms(0), 0);
    }

    #[test]
    fn request_alignment_matches_tempo_frontend() {
        let s = 1_000_000_000u64;
        let (start, end) = align_request(1_795_457_950 * s, 1_795_461_550 * s, 60 * s);
        assert_eq!(start, 1_795_457_880 * s);
        assert_eq!(end, 1_795_461_600 * s);
        assert_eq!(clamp_end(end, 60 * s, 1_795_461_520 * s), 1_795_461_480 * s);
        assert_eq!(default_step(0, 3600 * s), 15 * s);
        assert_eq!(default_step(0, 60 * s), s);
    }
}
