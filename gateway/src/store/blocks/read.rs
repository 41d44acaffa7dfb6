//! Reading a whole trace from the hot rows and every block that holds part of it.

use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

use super::list::BlockList;
use crate::model::{TraceId, TracesData};
use crate::store::keys::TenantId;
use crate::store::{StoreError, StoredTrace, TimeWindow, TraceStore};

impl TraceStore {
    /// Only the hot rows of a trace (those the blocks of `blocks` do not replace): for
    /// callers that read the blocks' part from columns themselves.
    pub fn hot_trace(
        &self,
        blocks: &BlockList,
        tenant: TenantId,
        trace_id: &TraceId,
    ) -> Result<Option<StoredTrace>, StoreError> {
        let (mut span_values, inspected_bytes) = self.read_span_values(tenant, trace_id)?;
        if blocks.has_shadows(tenant) {
            span_values.retain(|v| !blocks.shadows(tenant, &trace_id.0, &v.span.span_id));
        }
        if span_values.is_empty() {
            return Ok(None);
        }
        Ok(Some(StoredTrace {
            data: self.assemble(tenant, span_values)?,
            inspected_bytes,
        }))
    }

    /// A trace as `tenant_trace` reads it, with the blocks of `blocks` (a query's list).
    pub fn trace_with_blocks(
        &self,
        blocks: &BlockList,
        tenant: TenantId,
        trace_id: &TraceId,
        window: Option<TimeWindow>,
    ) -> Result<Option<StoredTrace>, StoreError> {
        let (mut span_values, mut inspected_bytes) = self.read_span_values(tenant, trace_id)?;
        if blocks.has_shadows(tenant) {
            span_values.retain(|v| !blocks.shadows(tenant, &trace_id.0, &v.span.span_id));
        }
        let mut parts: Vec<Vec<ResourceSpans>> = Vec::new();
        for listed in blocks.of_tenant(tenant) {
            let block = &listed.open.block;
            if !block.may_contain(&trace_id.0) {
                continue;
            }
            if let Some(part) = block.trace(&trace_id.0)? {
                let meta = &listed.open.meta;
                let spans = count(&part) as u64;
                inspected_bytes += meta.bytes * spans / meta.span_count.max(1);
                parts.push(part);
            }
        }
        let data = match (span_values.is_empty(), parts.len()) {
            (true, 0) => return Ok(None),
            (false, 0) => self.assemble(tenant, span_values)?,
            (true, 1) => TracesData {
                resource_spans: parts.pop().unwrap_or_default(),
            },
            _ => {
                // Newest first, so the copy of a span sent again is the one kept, as
                // when it overwrites itself in the hot rows.
                if !span_values.is_empty() {
                    parts.insert(0, self.assemble(tenant, span_values)?.resource_spans);
                }
                TracesData {
                    resource_spans: merge(parts),
                }
            }
        };
        if let Some(window) = window {
            let overlaps = data
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
                .any(|s| {
                    s.start_time_unix_nano <= window.end_unix_nano
                        && s.end_time_unix_nano >= window.start_unix_nano
                });
            if !overlaps {
                return Ok(None);
            }
        }
        Ok(Some(StoredTrace {
            data,
            inspected_bytes,
        }))
    }
}

fn count(trace: &[ResourceSpans]) -> usize {
    trace
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum()
}

/// Parts of one trace (from the hot rows and blocks, or from several tenants; newest
/// first) as one: a span id kept once (its newest copy), spans
/// in Tempo's order (start, then span id), regrouped under equal resources and scopes in
/// order of first appearance — what reading the trace from one place gives.
pub fn merge(parts: Vec<Vec<ResourceSpans>>) -> Vec<ResourceSpans> {
    let mut rows: Vec<(ResourceSpans, ScopeSpans, Span)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for part in parts {
        for mut resource_spans in part {
            let scopes = std::mem::take(&mut resource_spans.scope_spans);
            for mut scope_spans in scopes {
                let spans = std::mem::take(&mut scope_spans.spans);
                for span in spans {
                    if seen.insert(span.span_id.clone()) {
                        rows.push((resource_spans.clone(), scope_spans.clone(), span));
                    }
                }
            }
        }
    }
    rows.sort_by(|a, b| {
        (a.2.start_time_unix_nano, &a.2.span_id).cmp(&(b.2.start_time_unix_nano, &b.2.span_id))
    });
    let mut out: Vec<ResourceSpans> = Vec::new();
    for (resource_spans, scope_spans, span) in rows {
        let group = match out.iter().position(|r| {
            r.resource == resource_spans.resource && r.schema_url == resource_spans.schema_url
        }) {
            Some(index) => index,
            None => {
                out.push(resource_spans);
                out.len() - 1
            }
        };
        let scopes = &mut out[group].scope_spans;
        match scopes
            .iter_mut()
            .find(|s| s.scope == scope_spans.scope && s.schema_url == scope_spans.schema_url)
        {
            Some(existing) => existing.spans.push(span),
            None => scopes.push(ScopeSpans {
                spans: vec![span],
                ..scope_spans
            }),
        }
    }
    out
}
