//! Metrics over spans read one at a time (or pre-counted) from a columnar store, with the
//! numbers [`MetricsEvaluator::observe_trace`] gives for the same spans.
//!
//! When the query has a [`crate::SpanPredicate`] and the metrics stage reads only
//! [span-level fields](crate::ast::Field::is_span_level) ([`MetricsEvaluator::span_inputs`] is
//! `Some`), the caller filters spans with the predicate and feeds each matching span to
//! [`MetricsEvaluator::observe_span`] with the values [`SpanInputs`] names. Fed the
//! matching spans of a set of traces in trace order, trace after trace, `finish()` returns
//! exactly what `observe_trace` over those traces returns: labels, samples, buckets,
//! quantiles and exemplars.
//!
//! Counting functions (`rate()`, `count_over_time()`) have a faster path: the caller counts
//! spans per `by()` value and interval itself ([`MetricsEvaluator::interval_index`]) and
//! hands over the totals with [`MetricsEvaluator::add_counts`]. Counts carry no exemplars;
//! a caller that wants them feeds spans to `observe_span` while
//! [`MetricsEvaluator::wants_exemplars`] holds and counts the rest (exact, since a span
//! fed after that only adds to its count).

use crate::ast::{Field, MetricsFunction, MetricsStage};
use crate::eval::FieldValue;
use crate::metrics::MetricsEvaluator;
use crate::query::Query;

/// What the caller supplies per span: the `by()` fields and the function's field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpanInputs<'q> {
    /// The `by()` fields, in order; [`SpanObservation::by_values`] follows this order.
    pub by: &'q [Field],
    /// The field the function reads (`duration` in `quantile_over_time(duration, .99)`,
    /// `span.x` in `avg_over_time(span.x)`); `None` for `rate()` and `count_over_time()`,
    /// which are also the functions [`MetricsEvaluator::add_counts`] accepts.
    pub value: Option<&'q Field>,
}

/// One span that passed the query's [`crate::SpanPredicate`], as a columnar store reads it.
/// Values are built as [`Field::is_span_level`] documents.
#[derive(Debug, Clone, Copy)]
pub struct SpanObservation<'a> {
    /// Groups spans into traces for exemplars (see [`MetricsEvaluator::observe_span`])
    /// and is reported on the exemplar.
    pub trace_id: &'a [u8],
    pub span_id: &'a [u8],
    pub start_time_unix_nano: u64,
    /// `end.saturating_sub(start)`. The evaluator reads the function's field `duration`
    /// from here, as `observe_trace` does (then [`Self::value`] is ignored).
    pub duration_nanos: u64,
    /// The values of [`SpanInputs::by`], in that order.
    pub by_values: &'a [FieldValue<'a>],
    /// The value of [`SpanInputs::value`]; [`FieldValue::Nil`] when there is none.
    pub value: FieldValue<'a>,
}

/// Why [`MetricsEvaluator::observe_span`] or [`MetricsEvaluator::add_counts`] refused the
/// input. Nothing is recorded when they do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColumnarError {
    /// The query needs more than each span's own fields ([`MetricsEvaluator::span_inputs`]
    /// is `None`); use `observe_trace`.
    #[error("the query is not span-level; evaluate whole traces")]
    NotSpanLevel,
    #[error("{got} by() values given, the query has {expected}")]
    ByValues { expected: usize, got: usize },
    /// `add_counts` is for `rate()` and `count_over_time()` only.
    #[error("pre-counted spans need rate() or count_over_time(), not {function}")]
    NotACountingFunction { function: &'static str },
    #[error("interval {interval} out of range: the query has {intervals} intervals")]
    IntervalOutOfRange { interval: usize, intervals: usize },
}

/// The query's filter is a span predicate and the metrics stage reads only span-level
/// fields.
pub(super) fn is_span_level(query: &Query, stage: &MetricsStage) -> bool {
    query.span_predicate().is_some()
        && stage
            .by
            .iter()
            .chain(stage.function.field())
            .all(Field::is_span_level)
}

impl MetricsEvaluator {
    /// The per-span inputs [`Self::observe_span`] needs, or `None` when this query cannot
    /// be evaluated span by span: its search part has no [`crate::SpanPredicate`], or a
    /// `by()` field or the function's field is not [span-level](Field::is_span_level)
    /// (then feed whole traces to [`Self::observe_trace`]).
    pub fn span_inputs(&self) -> Option<SpanInputs<'_>> {
        self.span_level.then(|| SpanInputs {
            by: &self.stage.by,
            value: self.stage.function.field(),
        })
    }

    /// Feeds one span that satisfies the query's [`crate::SpanPredicate`]; applies the
    /// `(start, end]` window, interval, series and exemplar rules of
    /// [`Self::observe_trace`].
    ///
    /// Exemplars: `observe_trace` takes at most one per trace, from its first counted
    /// span, while fewer than the limit of traces have taken one. Here a trace is a run of
    /// consecutive observations with the same `trace_id`: feed each trace's matching spans
    /// together, in trace order, and the exemplars are the same as `observe_trace`'s. (Two
    /// traces in a row with the same id count as one; an `observe_trace` call in between
    /// ends the run.)
    pub fn observe_span(&mut self, span: &SpanObservation<'_>) -> Result<(), ColumnarError> {
        self.check_input(span.by_values.len())?;
        let Some(counted) = self.count_span(span) else {
            return Ok(());
        };
        if self.exemplar_traces < self.exemplar_limit
            && self.exemplar_trace.as_deref() != Some(span.trace_id)
        {
            self.exemplar_traces += 1;
            self.exemplar_trace = Some(span.trace_id.to_vec());
            self.add_exemplar(counted, span);
        }
        Ok(())
    }

    /// The interval a span starting at `start_time_unix_nano` counts in, or `None` when it
    /// starts outside the request's `(start, end]` and is not counted.
    pub fn interval_index(&self, start_time_unix_nano: u64) -> Option<usize> {
        if start_time_unix_nano <= self.start || start_time_unix_nano > self.end {
            return None;
        }
        self.intervals.index(start_time_unix_nano)
    }

    /// How many intervals the query has (1 for an instant query); every
    /// [`Self::interval_index`] is below it.
    pub fn interval_count(&self) -> usize {
        self.intervals.count()
    }

    /// True while an exemplar can still be taken: the exemplar limit is not reached. Once
    /// false it stays false, and spans only add to counts.
    pub fn wants_exemplars(&self) -> bool {
        self.exemplar_traces < self.exemplar_limit
    }

    /// Adds pre-counted spans for `rate()` and `count_over_time()`: `interval_counts` are
    /// `(interval, spans)` pairs for the series of `by_values` (as in
    /// [`SpanObservation::by_values`]), intervals from [`Self::interval_index`]. The
    /// result is the same as feeding that many spans to [`Self::observe_span`] (counts
    /// are exact below 2^53), except that no exemplars are taken; see the module docs for
    /// combining both. A series is created only when some count is non-zero, as a span
    /// would create it; series with equal labels (an id and its hex string) are listed in
    /// order of creation.
    ///
    /// Errors, recording nothing: not span-level, wrong number of `by_values`, another
    /// function, or an interval out of range.
    pub fn add_counts(
        &mut self,
        by_values: &[FieldValue<'_>],
        interval_counts: &[(usize, u64)],
    ) -> Result<(), ColumnarError> {
        self.check_input(by_values.len())?;
        if !matches!(
            self.stage.function,
            MetricsFunction::Rate | MetricsFunction::CountOverTime
        ) {
            return Err(ColumnarError::NotACountingFunction {
                function: self.stage.function.name(),
            });
        }
        let intervals = self.interval_count();
        if let Some(&(interval, _)) = interval_counts.iter().find(|(i, _)| *i >= intervals) {
            return Err(ColumnarError::IntervalOutOfRange {
                interval,
                intervals,
            });
        }
        if interval_counts.iter().all(|(_, n)| *n == 0) {
            return Ok(());
        }
        let series = self.series_for(by_values, None);
        for &(interval, n) in interval_counts {
            self.series[series].acc.add_count(interval, n as f64);
        }
        Ok(())
    }

    fn check_input(&self, by_values: usize) -> Result<(), ColumnarError> {
        if !self.span_level {
            return Err(ColumnarError::NotSpanLevel);
        }
        if by_values != self.stage.by.len() {
            return Err(ColumnarError::ByValues {
                expected: self.stage.by.len(),
                got: by_values,
            });
        }
        Ok(())
    }
}
