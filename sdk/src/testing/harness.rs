//! Harnesses: a plugin type driven like the host drives it, spans in, answers out.

use super::apply::apply_edits;
use super::encode::to_batch;
use super::span::TestSpan;
use crate::batch::TraceId;
use crate::bindings::types::{MetricPoint, Needs, SamplerNeeds};
use crate::decisions::Decision;
use crate::edits::Edits;
use crate::plugin::{Metrics, Processor, Sampler};

/// Runs a [`Processor`]: builds the batch for its needs, collects its edits and applies
/// them with the host's checks.
pub struct ProcessorHarness<P: Processor> {
    plugin: P,
    needs: Needs,
}

impl<P: Processor> ProcessorHarness<P> {
    /// Calls `P::init(config)`.
    pub fn new(config: &str) -> Result<Self, String> {
        let (plugin, needs) = P::init(config)?;
        Ok(Self { plugin, needs })
    }

    pub fn needs(&self) -> &Needs {
        &self.needs
    }

    /// The spans after the plugin's edits (dropped spans removed); an error from the
    /// plugin or an edit the host would refuse.
    pub fn process(&mut self, spans: &[TestSpan]) -> Result<Vec<TestSpan>, String> {
        let edits = self.edits(spans)?;
        apply_edits(spans, &self.needs, &edits)
    }

    /// The plugin's edits for `spans`, unapplied (`.to_vec()` decodes them).
    pub fn edits(&mut self, spans: &[TestSpan]) -> Result<Edits, String> {
        let batch = to_batch(spans, &self.needs);
        let mut edits = Edits::new();
        self.plugin.process(&batch, &mut edits)?;
        Ok(edits)
    }

    pub fn plugin(&mut self) -> &mut P {
        &mut self.plugin
    }
}

/// Runs a [`Sampler`], checking its answers have the length the host requires.
pub struct SamplerHarness<S: Sampler> {
    plugin: S,
    needs: SamplerNeeds,
}

impl<S: Sampler> SamplerHarness<S> {
    pub fn new(config: &str) -> Result<Self, String> {
        let (plugin, needs) = S::init(config)?;
        Ok(Self { plugin, needs })
    }

    pub fn needs(&self) -> &SamplerNeeds {
        &self.needs
    }

    /// One decision per span.
    pub fn sample_head(&mut self, spans: &[TestSpan]) -> Result<Vec<Decision>, String> {
        let batch = to_batch(spans, &self.needs.needs);
        let decisions = self.plugin.sample_head(&batch)?;
        if decisions.len() != spans.len() {
            return Err(format!(
                "sample_head returned {} decisions for {} spans",
                decisions.len(),
                spans.len()
            ));
        }
        Ok(decisions)
    }

    /// One decision per distinct trace id, paired with it, in order of first
    /// appearance. The count is checked against the spans' real trace ids, so a
    /// sampler that did not declare `trace-id` is caught here.
    pub fn sample_tail(&mut self, spans: &[TestSpan]) -> Result<Vec<(u128, Decision)>, String> {
        let batch = to_batch(spans, &self.needs.needs);
        let decisions = self.plugin.sample_tail(&batch)?;
        let traces = distinct_trace_ids(spans);
        if decisions.len() != traces.len() {
            return Err(format!(
                "sample_tail returned {} decisions for {} traces",
                decisions.len(),
                traces.len()
            ));
        }
        Ok(traces
            .into_iter()
            .map(|TraceId(id)| id)
            .zip(decisions)
            .collect())
    }

    pub fn plugin(&mut self) -> &mut S {
        &mut self.plugin
    }
}

fn distinct_trace_ids(spans: &[TestSpan]) -> Vec<TraceId> {
    let mut seen = std::collections::HashSet::new();
    spans
        .iter()
        .map(|span| TraceId(span.trace_id))
        .filter(|trace_id| seen.insert(*trace_id))
        .collect()
}

/// Runs a [`Metrics`] plugin.
pub struct MetricsHarness<M: Metrics> {
    plugin: M,
    needs: Needs,
}

impl<M: Metrics> MetricsHarness<M> {
    pub fn new(config: &str) -> Result<Self, String> {
        let (plugin, needs) = M::init(config)?;
        Ok(Self { plugin, needs })
    }

    pub fn needs(&self) -> &Needs {
        &self.needs
    }

    pub fn observe(&mut self, spans: &[TestSpan]) -> Result<(), String> {
        let batch = to_batch(spans, &self.needs);
        self.plugin.observe(&batch)
    }

    pub fn collect(&mut self, now_unix_nanos: u64) -> Vec<MetricPoint> {
        self.plugin.collect(now_unix_nanos)
    }

    pub fn plugin(&mut self) -> &mut M {
        &mut self.plugin
    }
}
