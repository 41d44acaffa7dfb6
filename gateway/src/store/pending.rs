//! Traces held for a tail-sampling decision (`tail/`), and the writes that settle them.
//!
//! ```text
//! pending key   = tenant_id:u32 BE | trace_id:16     (20 bytes, the trace's span-key prefix)
//! pending value = first_seen_unix_millis:u64 BE
//! ```
//! A marker is written in the same `WriteBatch` as the spans of an undecided trace, and
//! deleted in the same `WriteBatch` that applies the trace's decision (deletes its spans,
//! or rewrites them with the policy that kept them). So after a crash every marker names
//! a trace whose spans are stored and whose decision was not applied yet.

use std::collections::{HashMap, HashSet};

use rocksdb::{IteratorMode, WriteBatch};

use super::keys::{self, TENANT_ID_LEN, TRACE_KEY_LEN, TenantId};
use super::{CF_PENDING, CF_SPANS, Outgoing, StoreError, TraceStore, index};
use crate::model::{ExportTraceServiceRequest, SPAN_ID_LEN, TraceId};

/// A trace waiting for its tail-sampling decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingMarker {
    pub trace_id: TraceId,
    /// When the gateway first saw a span of the trace; the decision is due
    /// `decision_wait` later, also after a restart.
    pub first_seen_unix_millis: u64,
}

/// What applying tail-sampling decisions changes, written as one atomic batch.
#[derive(Debug, Default)]
pub struct DecisionWrite {
    /// Spans of kept traces rewritten in place (same keys), e.g. with the policy that
    /// kept them.
    pub rewrite: ExportTraceServiceRequest,
    /// Spans of dropped traces.
    pub delete: Vec<(TraceId, [u8; SPAN_ID_LEN])>,
    /// Traces whose marker goes: their decision is applied by this write.
    pub decided: Vec<TraceId>,
}

impl DecisionWrite {
    pub fn is_empty(&self) -> bool {
        self.rewrite.resource_spans.is_empty() && self.delete.is_empty() && self.decided.is_empty()
    }
}

impl TraceStore {
    /// Like `write`, and in the same atomic batch records `markers`: traces of the
    /// request (or earlier ones) that wait for a tail-sampling decision. A marker
    /// written again keeps the value of the last write.
    ///
    /// `outgoing` is queued for the exporters in the same batch. With storage off, only
    /// the spans of marked traces are written (unindexed: they are kept for recovery
    /// until their decision, not for queries).
    pub fn write_pending(
        &self,
        tenant: TenantId,
        request: &ExportTraceServiceRequest,
        markers: &[PendingMarker],
        outgoing: &Outgoing,
    ) -> Result<usize, StoreError> {
        let mut batch = WriteBatch::default();
        let clock = self.write_clock(&mut batch, tenant);
        let (span_count, registered) = if self.keeps_spans {
            self.put_spans(&mut batch, tenant, request, clock)
        } else {
            let marked: HashSet<TraceId> = markers.iter().map(|m| m.trace_id).collect();
            let count = self.put_spans_unindexed(&mut batch, tenant, request, |trace_id, _| {
                marked.contains(trace_id).then_some(clock.bucket)
            });
            (count, index::Registered::default())
        };
        self.put_outgoing(&mut batch, outgoing);
        let pending_cf = self.cf(CF_PENDING);
        for marker in markers {
            batch.put_cf(
                pending_cf,
                keys::trace_key(tenant, &marker.trace_id),
                marker.first_seen_unix_millis.to_be_bytes(),
            );
        }
        self.commit(batch, registered)?;
        Ok(span_count)
    }

    /// Applies decisions atomically: rewrites kept spans in the bucket holding them,
    /// deletes dropped ones from every bucket holding them, removes the markers of
    /// `decided`. Dropped spans are deleted by key, not by range: the caller knows every
    /// span it held pending, and point deletes do not slow reads the way many small
    /// range tombstones in a memtable do. A span retention already removed is neither
    /// rewritten nor deleted.
    ///
    /// `outgoing` (the kept spans, for the exporters) is queued in the same batch.
    pub fn apply_decisions(
        &self,
        tenant: TenantId,
        decisions: &DecisionWrite,
        outgoing: &Outgoing,
    ) -> Result<(), StoreError> {
        let mut traces: Vec<TraceId> = decisions
            .delete
            .iter()
            .map(|(trace_id, _)| *trace_id)
            .chain(
                decisions
                    .rewrite
                    .resource_spans
                    .iter()
                    .flat_map(|r| &r.scope_spans)
                    .flat_map(|s| &s.spans)
                    .filter_map(|span| TraceId::from_slice(&span.trace_id)),
            )
            .collect();
        traces.sort_unstable_by_key(|t| t.0);
        traces.dedup();
        // Where each span of the decided traces is stored, newest bucket first.
        let mut located: HashMap<(TraceId, [u8; SPAN_ID_LEN]), Vec<u32>> = HashMap::new();
        for trace_id in &traces {
            for (bucket, span_id) in self.span_locations(tenant, trace_id)? {
                located
                    .entry((*trace_id, span_id))
                    .or_default()
                    .push(bucket);
            }
        }
        let mut batch = WriteBatch::default();
        self.put_spans_unindexed(
            &mut batch,
            tenant,
            &decisions.rewrite,
            |trace_id, span_id| {
                located
                    .get(&(*trace_id, *span_id))
                    .and_then(|buckets| buckets.first().copied())
            },
        );
        let spans_cf = self.cf(CF_SPANS);
        for (trace_id, span_id) in &decisions.delete {
            for bucket in located.get(&(*trace_id, *span_id)).into_iter().flatten() {
                batch.delete_cf(spans_cf, keys::span_key(tenant, *bucket, trace_id, span_id));
            }
        }
        let pending_cf = self.cf(CF_PENDING);
        for trace_id in &decisions.decided {
            batch.delete_cf(pending_cf, keys::trace_key(tenant, trace_id));
        }
        self.put_outgoing(&mut batch, outgoing);
        self.commit(batch, index::Registered::default())
    }

    /// Every marker of `tenant`, in key order. Read at start-up, to resume deciding.
    pub fn pending_markers(&self, tenant: TenantId) -> Result<Vec<PendingMarker>, StoreError> {
        let prefix = tenant.0.to_be_bytes();
        let iterator = self.db.iterator_cf(
            self.cf(CF_PENDING),
            IteratorMode::From(&prefix, rocksdb::Direction::Forward),
        );
        let mut markers = Vec::new();
        let horizon = self.horizons.get(tenant);
        for item in iterator {
            let (key, value) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            let (true, Some(trace_id), Ok(first_seen)) = (
                key.len() == TRACE_KEY_LEN,
                TraceId::from_slice(&key[TENANT_ID_LEN..]),
                <[u8; 8]>::try_from(value.as_ref()),
            ) else {
                return Err(StoreError::CorruptMarker(hex::encode(&key)));
            };
            let first_seen_unix_millis = u64::from_be_bytes(first_seen);
            // Retention removed the trace's spans; the marker goes at the next compaction.
            if horizon.expired(first_seen_unix_millis / 1000) {
                continue;
            }
            markers.push(PendingMarker {
                trace_id,
                first_seen_unix_millis,
            });
        }
        Ok(markers)
    }

    /// A whole trace of a tenant as an export request (resources and scopes regrouped,
    /// spans in Tempo's order); `None` when no span of it is stored.
    pub fn read_trace(
        &self,
        tenant: TenantId,
        trace_id: &TraceId,
    ) -> Result<Option<ExportTraceServiceRequest>, StoreError> {
        let (span_values, _) = self.read_span_values(tenant, trace_id)?;
        if span_values.is_empty() {
            return Ok(None);
        }
        let data = self.assemble(tenant, span_values)?;
        Ok(Some(ExportTraceServiceRequest {
            resource_spans: data.resource_spans,
        }))
    }
}
