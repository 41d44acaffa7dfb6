//! Tail decisions come from whichever sampler the *current* pipeline tail-samples
//! with, so a reload swaps the policy without touching the traces already pending.

use std::collections::HashSet;
use std::sync::Arc;

use crate::model::{ExportTraceServiceRequest, TailVerdict};
use crate::pipeline::PipelineHandle;
use crate::tail::TailDecider;

pub struct CurrentTailSampler {
    pipelines: Arc<PipelineHandle>,
    name: String,
}

impl CurrentTailSampler {
    pub fn new(pipelines: Arc<PipelineHandle>, name: String) -> CurrentTailSampler {
        CurrentTailSampler { pipelines, name }
    }
}

impl TailDecider for CurrentTailSampler {
    fn name(&self) -> &str {
        &self.name
    }

    fn decide(&self, traces: &ExportTraceServiceRequest) -> Vec<([u8; 16], TailVerdict)> {
        let pipeline = self.pipelines.current();
        let Some(sampler) = pipeline.tail_sampler() else {
            // Reloaded without a tail sampler: nothing decides to drop, so keep.
            tracing::warn!("no tail sampler in the current pipeline; keeping pending traces");
            return distinct_trace_ids(traces)
                .into_iter()
                .map(|id| {
                    (
                        id,
                        TailVerdict::Keep {
                            policy: String::new(),
                        },
                    )
                })
                .collect();
        };
        sampler.sample_tail(traces).verdicts
    }
}

fn distinct_trace_ids(traces: &ExportTraceServiceRequest) -> Vec<[u8; 16]> {
    let mut seen = HashSet::new();
    traces
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .filter_map(|span| <[u8; 16]>::try_from(span.trace_id.as_slice()).ok())
        .filter(|id| seen.insert(*id))
        .collect()
}
