//! Decided traces whose decision is not applied in the store yet.
//!
//! A decision is applied in one `WriteBatch` (spans deleted or rewritten, marker
//! removed); until that write succeeds the trace stays here, so spans arriving meanwhile
//! follow the decision and a failed write is retried at the next round. Only then does
//! the decision move to the (evicting) decision cache.

use std::collections::HashMap;

use super::buffer::{BufferedSpan, append_trace};
use crate::model::{ExportTraceServiceRequest, TailVerdict, TraceId};
use crate::store::DecisionWrite;

pub(super) struct Settlement {
    pub verdict: TailVerdict,
    /// Stored spans the verdict is still to be applied to.
    pub spans: Vec<BufferedSpan>,
    /// A write is owed: spans were added, or the marker is not known to be gone.
    pub owed: bool,
}

/// One trace's share of a settling write.
pub(super) struct SettlementWork {
    pub trace_id: TraceId,
    pub verdict: TailVerdict,
    pub spans: Vec<BufferedSpan>,
}

#[derive(Default)]
pub(super) struct Settlements {
    traces: HashMap<TraceId, Settlement>,
}

impl Settlements {
    pub(super) fn verdict(&self, trace_id: &TraceId) -> Option<&TailVerdict> {
        self.traces
            .get(trace_id)
            .map(|settlement| &settlement.verdict)
    }

    /// Adds spans (possibly none) to apply `verdict` to.
    pub(super) fn add(
        &mut self,
        trace_id: TraceId,
        verdict: TailVerdict,
        spans: Vec<BufferedSpan>,
    ) {
        let settlement = self.traces.entry(trace_id).or_insert(Settlement {
            verdict,
            spans: Vec::new(),
            owed: true,
        });
        settlement.spans.extend(spans);
        settlement.owed = true;
    }

    /// Takes the owed work, of every trace or of `only` those.
    pub(super) fn take_owed(&mut self, only: Option<&[TraceId]>) -> Vec<SettlementWork> {
        let mut work = Vec::new();
        let mut take = |trace_id: &TraceId, settlement: &mut Settlement| {
            if settlement.owed {
                settlement.owed = false;
                work.push(SettlementWork {
                    trace_id: *trace_id,
                    verdict: settlement.verdict.clone(),
                    spans: std::mem::take(&mut settlement.spans),
                });
            }
        };
        match only {
            Some(trace_ids) => {
                for trace_id in trace_ids {
                    if let Some(settlement) = self.traces.get_mut(trace_id) {
                        take(trace_id, settlement);
                    }
                }
            }
            None => {
                for (trace_id, settlement) in &mut self.traces {
                    take(trace_id, settlement);
                }
            }
        }
        work
    }

    /// After a successful write: the trace's verdict if nothing more is owed (the trace
    /// is settled and leaves), `None` if spans arrived meanwhile.
    pub(super) fn finish(&mut self, trace_id: &TraceId) -> Option<TailVerdict> {
        if self.traces.get(trace_id)?.owed {
            return None;
        }
        self.traces
            .remove(trace_id)
            .map(|settlement| settlement.verdict)
    }
}

/// The store write applying `work`: kept spans rewritten with their policy (only when
/// there is one: otherwise the stored spans are already right), dropped spans deleted,
/// every marker removed. With `forwarding`, also the kept spans (with their policy) for
/// the exporters; without `keeps_spans` (storage off) kept spans are deleted too, once
/// forwarded in the same write.
pub(super) fn decision_write(
    work: &[SettlementWork],
    keeps_spans: bool,
    forwarding: bool,
) -> (DecisionWrite, ExportTraceServiceRequest) {
    let mut write = DecisionWrite::default();
    let mut kept = ExportTraceServiceRequest::default();
    for item in work {
        let delete = match &item.verdict {
            TailVerdict::Keep { policy } => {
                let policy = (!policy.is_empty()).then_some(policy.as_str());
                if forwarding {
                    append_trace(&mut kept, &item.spans, policy);
                }
                if keeps_spans && let Some(policy) = policy {
                    append_trace(&mut write.rewrite, &item.spans, Some(policy));
                }
                !keeps_spans
            }
            TailVerdict::Drop => true,
        };
        if delete {
            write.delete.extend(
                item.spans
                    .iter()
                    .map(|buffered| (item.trace_id, buffered.span_id())),
            );
        }
        write.decided.push(item.trace_id);
    }
    (write, kept)
}
