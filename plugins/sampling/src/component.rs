//! The component glue: the SDK's [`Sampler`] over [`HeadSampler`] and [`TailDecider`].
//!
//! * `init` parses the config (refusing it with the crate's dotted-path message) and declares
//!   the trace id, plus what the tail policies read (status, times, the attribute keys they
//!   match), and the tail settings the host buffers traces with.
//! * `sample_head`: one decision per span from the trace id (and the host's clock for the rate
//!   limit). Head keeps name no policy. The `ot=th` threshold cannot be written (the contract has
//!   no tracestate edit), so `record_threshold` has no effect in the component.
//! * `sample_tail`: the batch holds whole traces; each trace is decided on all its spans, read
//!   in place through [`SpanLike`] on the SDK's span view, in order of first appearance.

use std::collections::HashMap;

use spangate_plugin_sdk::batch::{SpanBatch, SpanView, Value as SdkValue};
use spangate_plugin_sdk::{
    AttributeSelection, Decision as WitDecision, Sampler, SamplerNeeds, SpanFields,
    StatusCode as WitStatusCode, TailSettings, host, needs,
};

use crate::config::{SamplingConfig, TailConfig};
use crate::head::{HeadDecision, HeadSampler};
use crate::model::{SpanLike, StatusCode, TraceView, ValueRef};
use crate::policy::Decision;
use crate::tail::TailDecider;

/// The plugin name declared to the host.
pub const PLUGIN_NAME: &str = "sampling";

const NANOS_PER_MILLI: u64 = 1_000_000;

/// The sampling plugin's state inside the component.
pub struct SamplingPlugin {
    head: HeadSampler,
    tail: Option<TailDecider>,
}

impl Sampler for SamplingPlugin {
    fn init(config: &str) -> Result<(Self, SamplerNeeds), String> {
        let config = SamplingConfig::parse(config).map_err(|error| error.to_string())?;
        let plugin = SamplingPlugin {
            head: HeadSampler::new(&config.head),
            tail: config.tail.as_ref().map(TailDecider::new),
        };
        Ok((plugin, sampler_needs(&config)))
    }

    fn sample_head(&mut self, batch: &SpanBatch) -> Result<Vec<WitDecision>, String> {
        let now = host::now_unix_nanos();
        Ok(batch
            .spans()
            .map(|span| match self.head.decide(&span.trace_id_bytes(), now) {
                HeadDecision::Keep { .. } => WitDecision::keep(),
                HeadDecision::Drop(_) => WitDecision::Drop,
            })
            .collect())
    }

    fn sample_tail(&mut self, batch: &SpanBatch) -> Result<Vec<WitDecision>, String> {
        let Some(tail) = self.tail.as_mut() else {
            return Err("sample-tail called, but the config has no `tail` section".to_owned());
        };
        let now = host::now_unix_nanos();
        Ok(traces_in_order(batch)
            .iter()
            .map(|(trace_id, spans)| {
                let trace = TraceView {
                    trace_id: *trace_id,
                    spans,
                };
                match tail.decide(&trace, now) {
                    Decision::Keep { policy } => WitDecision::Keep(policy),
                    Decision::Drop => WitDecision::Drop,
                }
            })
            .collect())
    }
}

/// The spans of each distinct trace of the batch, traces in order of first appearance.
fn traces_in_order(batch: &SpanBatch) -> Vec<([u8; 16], Vec<SpanView<'_>>)> {
    let mut traces: Vec<([u8; 16], Vec<SpanView<'_>>)> = Vec::new();
    let mut position: HashMap<[u8; 16], usize> = HashMap::new();
    for span in batch.spans() {
        let trace_id = span.trace_id_bytes();
        let at = *position.entry(trace_id).or_insert_with(|| {
            traces.push((trace_id, Vec::new()));
            traces.len() - 1
        });
        traces[at].1.push(span);
    }
    traces
}

/// What the plugin declares: the trace id always (head and tail decide by it), and whatever
/// the tail policies read.
fn sampler_needs(config: &SamplingConfig) -> SamplerNeeds {
    let mut needs = needs!(PLUGIN_NAME, TRACE_ID);
    if let Some(tail) = &config.tail {
        let reads = tail.reads();
        if reads.status {
            needs.fields |= SpanFields::STATUS;
        }
        if reads.times {
            needs.fields |= SpanFields::TIMES;
        }
        needs.span_attributes = AttributeSelection::keys_or_none(reads.span_keys);
        needs.resource_attributes = AttributeSelection::keys_or_none(reads.resource_keys);
    }
    SamplerNeeds {
        needs,
        tail: config.tail.as_ref().map(tail_settings),
    }
}

/// The host's buffering settings; the wait is rounded up to whole milliseconds, so a trace is
/// never held shorter than configured.
fn tail_settings(tail: &TailConfig) -> TailSettings {
    TailSettings {
        decision_wait_millis: tail.decision_wait.as_nanos().div_ceil(NANOS_PER_MILLI),
        // Validated to fit in `Config::parse`.
        max_traces: u32::try_from(tail.max_traces).unwrap_or(u32::MAX),
        max_spans_per_trace: u32::try_from(tail.max_spans_per_trace).unwrap_or(u32::MAX),
    }
}

impl SpanLike for SpanView<'_> {
    fn status(&self) -> StatusCode {
        match SpanView::status(self) {
            WitStatusCode::Unset => StatusCode::Unset,
            WitStatusCode::Ok => StatusCode::Ok,
            WitStatusCode::Error => StatusCode::Error,
        }
    }

    fn start_unix_nanos(&self) -> u64 {
        SpanView::start_unix_nanos(self)
    }

    fn end_unix_nanos(&self) -> u64 {
        SpanView::end_unix_nanos(self)
    }

    fn attribute(&self, key: &str) -> Option<ValueRef<'_>> {
        self.attributes().get(key).and_then(scalar)
    }

    fn resource_attribute(&self, key: &str) -> Option<ValueRef<'_>> {
        self.resource_attributes().get(key).and_then(scalar)
    }
}

/// Policies match scalars only; arrays, maps and bytes (JSON text) never match.
fn scalar(value: SdkValue<'_>) -> Option<ValueRef<'_>> {
    match value {
        SdkValue::Str(text) => Some(ValueRef::Str(text)),
        SdkValue::Int(number) => Some(ValueRef::Int(number)),
        SdkValue::Double(number) => Some(ValueRef::Double(number)),
        SdkValue::Bool(flag) => Some(ValueRef::Bool(flag)),
        SdkValue::Json(_) => None,
    }
}

#[cfg(test)]
mod tests;
