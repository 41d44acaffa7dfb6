//! In-memory copies of pending traces' spans, in first-seen order.
//!
//! The store holds every pending span already (with a marker, see `store/pending.rs`);
//! this copy spares a store read per decision, gives the sampler whole traces, and lets
//! a kept trace's spans be rewritten with its policy. Losing it (a crash) loses nothing:
//! `TailSampler::recover` rebuilds it from the store.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::model::{
    AnyValue, ExportTraceServiceRequest, KeyValue, ResourceSpans, SPAN_ID_LEN, ScopeSpans, Span,
    TraceId, any_value,
};

/// The span attribute naming the tail-sampling policy that kept a trace.
pub(crate) const POLICY_ATTRIBUTE: &str = "sampling.policy";

/// One span with its resource and scope (each without children, shared by the spans
/// of one request).
#[derive(Debug, Clone)]
pub(super) struct BufferedSpan {
    pub resource: Arc<ResourceSpans>,
    pub scope: Arc<ScopeSpans>,
    pub span: Span,
}

impl BufferedSpan {
    pub(super) fn span_id(&self) -> [u8; SPAN_ID_LEN] {
        <[u8; SPAN_ID_LEN]>::try_from(self.span.span_id.as_slice()).unwrap_or_default()
    }
}

/// Splits the spans of `request` by trace, keeping only traces `wanted` accepts.
pub(super) fn split_by_trace(
    request: &ExportTraceServiceRequest,
    mut wanted: impl FnMut(&TraceId) -> bool,
) -> HashMap<TraceId, Vec<BufferedSpan>> {
    let mut traces: HashMap<TraceId, Vec<BufferedSpan>> = HashMap::new();
    for resource_spans in &request.resource_spans {
        let mut resource_head = None;
        for scope_spans in &resource_spans.scope_spans {
            let mut scope_head = None;
            for span in &scope_spans.spans {
                let Some(trace_id) = TraceId::from_slice(&span.trace_id) else {
                    continue;
                };
                if !wanted(&trace_id) {
                    continue;
                }
                let resource = resource_head
                    .get_or_insert_with(|| {
                        Arc::new(ResourceSpans {
                            resource: resource_spans.resource.clone(),
                            scope_spans: Vec::new(),
                            schema_url: resource_spans.schema_url.clone(),
                        })
                    })
                    .clone();
                let scope = scope_head
                    .get_or_insert_with(|| {
                        Arc::new(ScopeSpans {
                            scope: scope_spans.scope.clone(),
                            spans: Vec::new(),
                            schema_url: scope_spans.schema_url.clone(),
                        })
                    })
                    .clone();
                traces.entry(trace_id).or_default().push(BufferedSpan {
                    resource,
                    scope,
                    span: span.clone(),
                });
            }
        }
    }
    traces
}

/// Appends one trace's spans to `request` under their resources and scopes (equal
/// ones merged), with `policy` recorded on each span when given.
pub(super) fn append_trace<'a>(
    request: &mut ExportTraceServiceRequest,
    spans: impl IntoIterator<Item = &'a BufferedSpan>,
    policy: Option<&str>,
) {
    let first_group = request.resource_spans.len();
    for buffered in spans {
        let groups = &mut request.resource_spans[first_group..];
        let resource_index = match groups.iter().position(|group| {
            group.resource == buffered.resource.resource
                && group.schema_url == buffered.resource.schema_url
        }) {
            Some(index) => first_group + index,
            None => {
                request
                    .resource_spans
                    .push(ResourceSpans::clone(&buffered.resource));
                request.resource_spans.len() - 1
            }
        };
        let scopes = &mut request.resource_spans[resource_index].scope_spans;
        let scope_index = match scopes.iter().position(|group| {
            group.scope == buffered.scope.scope && group.schema_url == buffered.scope.schema_url
        }) {
            Some(index) => index,
            None => {
                scopes.push(ScopeSpans::clone(&buffered.scope));
                scopes.len() - 1
            }
        };
        let mut span = buffered.span.clone();
        if let Some(policy) = policy {
            set_policy(&mut span, policy);
        }
        scopes[scope_index].spans.push(span);
    }
}

/// Records the policy that kept a span's trace, replacing an earlier one.
pub(super) fn set_policy(span: &mut Span, policy: &str) {
    let value = Some(AnyValue {
        value: Some(any_value::Value::StringValue(policy.to_owned())),
    });
    match span
        .attributes
        .iter_mut()
        .find(|attribute| attribute.key == POLICY_ATTRIBUTE)
    {
        Some(attribute) => attribute.value = value,
        None => span.attributes.push(KeyValue {
            key: POLICY_ATTRIBUTE.to_owned(),
            key_strindex: 0,
            value,
        }),
    }
}

pub(super) struct PendingTrace {
    pub first_seen: Instant,
    pub first_seen_unix_millis: u64,
    /// By span id: a span received twice is held once, the last copy winning, as in the store.
    pub spans: BTreeMap<[u8; SPAN_ID_LEN], BufferedSpan>,
    /// Key in `PendingBuffer::order`, unless forced.
    order_key: (Instant, u64),
    forced: bool,
}

/// A pending trace taken out of the buffer to be decided.
pub(super) struct TakenTrace {
    pub trace_id: TraceId,
    pub first_seen_unix_millis: u64,
    pub spans: Vec<BufferedSpan>,
    /// Decided before `decision_wait` passed, because a bound was reached.
    pub early: bool,
}

/// Pending traces, bounded by `max_traces` and `max_spans_per_trace`: reaching a bound
/// forces traces to be decided at the next round instead of refusing spans.
pub(super) struct PendingBuffer {
    traces: HashMap<TraceId, PendingTrace>,
    /// Traces not forced, oldest first; the sequence number breaks ties.
    order: BTreeMap<(Instant, u64), TraceId>,
    forced: Vec<TraceId>,
    next_sequence: u64,
    span_count: usize,
    max_traces: usize,
    max_spans_per_trace: usize,
}

impl PendingBuffer {
    pub(super) fn new(max_traces: usize, max_spans_per_trace: usize) -> PendingBuffer {
        PendingBuffer {
            traces: HashMap::new(),
            order: BTreeMap::new(),
            forced: Vec::new(),
            next_sequence: 0,
            span_count: 0,
            max_traces: max_traces.max(1),
            max_spans_per_trace: max_spans_per_trace.max(1),
        }
    }

    pub(super) fn trace_count(&self) -> usize {
        self.traces.len()
    }

    pub(super) fn span_count(&self) -> usize {
        self.span_count
    }

    pub(super) fn contains(&self, trace_id: &TraceId) -> bool {
        self.traces.contains_key(trace_id)
    }

    pub(super) fn first_seen_unix_millis(&self, trace_id: &TraceId) -> Option<u64> {
        self.traces
            .get(trace_id)
            .map(|trace| trace.first_seen_unix_millis)
    }

    /// Adds spans to a pending trace, creating it first-seen at `first_seen` if new.
    /// Returns whether a bound forced some trace to be decided early.
    pub(super) fn insert(
        &mut self,
        trace_id: TraceId,
        first_seen: Instant,
        first_seen_unix_millis: u64,
        spans: Vec<BufferedSpan>,
    ) -> bool {
        let mut forced_any = false;
        if !self.traces.contains_key(&trace_id) {
            let order_key = (first_seen, self.next_sequence);
            self.next_sequence += 1;
            self.order.insert(order_key, trace_id);
            self.traces.insert(
                trace_id,
                PendingTrace {
                    first_seen,
                    first_seen_unix_millis,
                    spans: BTreeMap::new(),
                    order_key,
                    forced: false,
                },
            );
            while self.traces.len() - self.forced.len() > self.max_traces {
                let Some((_, oldest)) = self.order.first_key_value() else {
                    break;
                };
                let oldest = *oldest;
                self.force(&oldest);
                forced_any = true;
            }
        }
        let trace = self.traces.get_mut(&trace_id).expect("inserted above");
        let before = trace.spans.len();
        for buffered in spans {
            trace.spans.insert(buffered.span_id(), buffered);
        }
        let after = trace.spans.len();
        self.span_count += after - before;
        if after >= self.max_spans_per_trace && !self.traces[&trace_id].forced {
            self.force(&trace_id);
            forced_any = true;
        }
        forced_any
    }

    fn force(&mut self, trace_id: &TraceId) {
        let Some(trace) = self.traces.get_mut(trace_id) else {
            return;
        };
        if trace.forced {
            return;
        }
        trace.forced = true;
        self.order.remove(&trace.order_key);
        self.forced.push(*trace_id);
    }

    /// Takes the traces to decide now: forced ones, those first seen `decision_wait`
    /// or longer before `now`, or all of them with `take_all`. Forced ones first, then
    /// oldest first.
    pub(super) fn take_due(
        &mut self,
        now: Instant,
        decision_wait: Duration,
        take_all: bool,
    ) -> Vec<TakenTrace> {
        let mut due: Vec<TraceId> = std::mem::take(&mut self.forced);
        while let Some((&(first_seen, _), trace_id)) = self.order.first_key_value() {
            if !take_all && first_seen + decision_wait > now {
                break;
            }
            due.push(*trace_id);
            self.order.pop_first();
        }
        let mut taken = Vec::with_capacity(due.len());
        for trace_id in due {
            let Some(trace) = self.traces.remove(&trace_id) else {
                debug_assert!(false, "ordered traces are held");
                continue;
            };
            self.span_count -= trace.spans.len();
            taken.push(TakenTrace {
                trace_id,
                first_seen_unix_millis: trace.first_seen_unix_millis,
                early: trace.first_seen + decision_wait > now,
                spans: trace.spans.into_values().collect(),
            });
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffered(trace: u8, span: u8, resource: &Arc<ResourceSpans>) -> BufferedSpan {
        BufferedSpan {
            resource: resource.clone(),
            scope: Arc::new(ScopeSpans::default()),
            span: Span {
                trace_id: vec![trace; 16],
                span_id: vec![span; 8],
                ..Default::default()
            },
        }
    }

    #[test]
    fn due_traces_come_out_oldest_first_and_only_when_due() {
        let start = Instant::now();
        let wait = Duration::from_secs(1);
        let resource = Arc::new(ResourceSpans::default());
        let mut buffer = PendingBuffer::new(10, 10);
        buffer.insert(TraceId([2; 16]), start, 0, vec![buffered(2, 1, &resource)]);
        buffer.insert(
            TraceId([1; 16]),
            start + Duration::from_millis(10),
            0,
            vec![buffered(1, 1, &resource), buffered(1, 1, &resource)],
        );
        assert_eq!(buffer.span_count(), 2, "a span id is held once");
        assert!(buffer.take_due(start + wait / 2, wait, false).is_empty());
        let taken = buffer.take_due(start + wait, wait, false);
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].trace_id, TraceId([2; 16]));
        assert!(!taken[0].early);
        let rest = buffer.take_due(start, wait, true);
        assert_eq!(rest.len(), 1);
        assert!(rest[0].early);
        assert_eq!(buffer.trace_count(), 0);
        assert_eq!(buffer.span_count(), 0);
    }

    #[test]
    fn bounds_force_early_decisions() {
        let start = Instant::now();
        let resource = Arc::new(ResourceSpans::default());
        let mut buffer = PendingBuffer::new(2, 3);
        assert!(!buffer.insert(TraceId([1; 16]), start, 0, vec![buffered(1, 1, &resource)]));
        assert!(!buffer.insert(TraceId([2; 16]), start, 0, vec![buffered(2, 1, &resource)]));
        // A third trace forces the oldest.
        assert!(buffer.insert(TraceId([3; 16]), start, 0, vec![buffered(3, 1, &resource)]));
        // The third span of trace 2 forces it.
        assert!(buffer.insert(
            TraceId([2; 16]),
            start,
            0,
            vec![buffered(2, 2, &resource), buffered(2, 3, &resource)],
        ));
        let taken = buffer.take_due(start, Duration::from_secs(1), false);
        let ids: Vec<_> = taken.iter().map(|trace| trace.trace_id.0[0]).collect();
        assert_eq!(ids, [1, 2]);
        assert!(taken.iter().all(|trace| trace.early));
        assert_eq!(buffer.trace_count(), 1);
    }

    #[test]
    fn append_trace_merges_equal_resources_and_records_the_policy() {
        let resource_a = Arc::new(ResourceSpans::default());
        let resource_b = Arc::new(ResourceSpans::default());
        let mut request = ExportTraceServiceRequest::default();
        let spans = [buffered(1, 1, &resource_a), buffered(1, 2, &resource_b)];
        append_trace(&mut request, &spans, Some("errors"));
        append_trace(&mut request, &[buffered(2, 1, &resource_a)], None);
        // Equal resources merge within a trace; each trace keeps its own groups.
        assert_eq!(request.resource_spans.len(), 2);
        let first = &request.resource_spans[0].scope_spans[0].spans;
        assert_eq!(first.len(), 2);
        assert!(
            first.iter().all(
                |span| span.attributes.len() == 1 && span.attributes[0].key == POLICY_ATTRIBUTE
            )
        );
        assert!(
            request.resource_spans[1].scope_spans[0].spans[0]
                .attributes
                .is_empty()
        );
    }
}
