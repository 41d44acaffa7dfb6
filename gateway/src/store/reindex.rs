//! Indexes for a data directory written before search existed: at open, when no write
//! record exists but spans do, every stored trace is read back and indexed (a hundred
//! traces per `WriteBatch`, each batch a write of its own), so spans stored by an older
//! version become searchable. Runs once: afterwards write records exist.

use rocksdb::{IteratorMode, WriteBatch};

use super::keys::{self, TenantId};
use super::{CF_SPANS, StoreError, TraceStore, index};
use crate::model::{ExportTraceServiceRequest, TraceId};

const TRACES_PER_BATCH: usize = 100;

impl TraceStore {
    /// Spans exist but no write record does.
    fn needs_reindex(&self) -> bool {
        let has = |family: &str| {
            self.db
                .iterator_cf(self.cf(family), IteratorMode::Start)
                .next()
                .is_some()
        };
        has(CF_SPANS) && !has(index::CF_WRITES)
    }

    /// Indexes every stored trace if the data directory has spans but no indexes.
    /// Returns the number of traces indexed.
    pub(super) fn reindex_if_needed(&self) -> Result<usize, StoreError> {
        if !self.needs_reindex() {
            return Ok(0);
        }
        tracing::info!("indexing the spans of a data directory written before search existed");
        let mut traces: Vec<(TenantId, TraceId)> = Vec::new();
        for item in self.db.iterator_cf(self.cf(CF_SPANS), IteratorMode::Start) {
            let (key, _) = item?;
            if let Some((tenant, _, trace, _)) = keys::parse_span_key(&key) {
                traces.push((tenant, trace));
            }
        }
        // Keys are ordered by bucket before trace: a trace may be in several buckets.
        traces.sort_unstable_by_key(|(tenant, trace)| (tenant.0, trace.0));
        traces.dedup();
        for chunk in traces.chunks(TRACES_PER_BATCH) {
            // One batch per tenant within the chunk (index entries are per tenant).
            let mut tenants: Vec<TenantId> = chunk.iter().map(|(tenant, _)| *tenant).collect();
            tenants.dedup();
            for tenant in tenants {
                let mut request = ExportTraceServiceRequest::default();
                for (_, trace) in chunk.iter().filter(|(t, _)| *t == tenant) {
                    if let Some(stored) = self.read_trace(tenant, trace)? {
                        request.resource_spans.extend(stored.resource_spans);
                    }
                }
                let mut batch = WriteBatch::default();
                let clock = self.write_clock(&mut batch, tenant);
                let registered = self.put_index_entries(&mut batch, tenant, &request, clock);
                self.commit(batch, registered)?;
            }
        }
        tracing::info!(traces = traces.len(), "stored spans indexed");
        Ok(traces.len())
    }
}
