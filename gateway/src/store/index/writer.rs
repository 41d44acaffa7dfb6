//! Index entries for one write, added to the same `WriteBatch` as its spans, so the
//! indexes are never out of step with the spans after a crash.
//!
//! Per write: one posting per distinct posting id among its spans (the span name, an
//! `error`/`ok` status, each configured span attribute value, and each resource), one
//! record listing its traces and which postings each holds, one summary part per
//! trace (merged). The `values` registry (indexed values, and which resources hold a
//! resource attribute value) and the tag keys are put only when this process has not
//! written them yet (`KnownKeys`), so a steady stream of the same values costs nothing
//! there.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use rocksdb::{ColumnFamily, WriteBatch};
use xxhash_rust::xxh3::{Xxh3, xxh3_128};

use super::keys::{self, Field, ValueRef};
use super::record::WriteRecord;
use super::summary::TraceSummary;
use crate::fx_hash::FastHash;
use crate::model::TagScope;
use crate::model::{ExportTraceServiceRequest, KeyValue, TraceId, any_value, service_name};
use crate::store::keys::TenantId;

/// Which span attributes get posting lists (resources always do).
#[derive(Debug, Clone, Default)]
pub struct IndexConfig {
    /// Looked up for every span attribute of every write: a cheap hasher.
    pub(crate) span_attributes: HashSet<String, FastHash>,
}

pub(in crate::store) struct IndexFamilies<'a> {
    pub postings: &'a ColumnFamily,
    pub writes: &'a ColumnFamily,
    pub values: &'a ColumnFamily,
    pub summaries: &'a ColumnFamily,
    pub tag_keys: &'a ColumnFamily,
}

type IdSet<T> = HashSet<T, FastHash>;

/// Registry entries (indexed values, tag keys) this process has written, by 128-bit
/// hash of their key: put once, not with every write. Bounded: past `MAX_KNOWN` it
/// starts over (the next writes put again; puts are idempotent).
#[derive(Default)]
pub(in crate::store) struct KnownKeys(Mutex<IdSet<u128>>);

const MAX_KNOWN: usize = 1 << 20;

impl KnownKeys {
    /// Keeps the entries not known yet (one lock for the whole write).
    fn retain_unknown(&self, entries: &mut Vec<(u128, &'static str, Vec<u8>)>) {
        let known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|(hash, _, _)| !known.contains(hash));
    }

    /// Records keys whose write committed.
    pub(in crate::store) fn remember(&self, keys: Vec<u128>) {
        if keys.is_empty() {
            return;
        }
        let mut known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() + keys.len() > MAX_KNOWN {
            known.clear();
        }
        known.extend(keys);
    }
}

fn value_ref(value: Option<&any_value::Value>) -> Option<ValueRef<'_>> {
    Some(match value? {
        any_value::Value::StringValue(text) => ValueRef::Str(text),
        any_value::Value::IntValue(int) => ValueRef::Int(*int),
        any_value::Value::DoubleValue(double) => ValueRef::Double(double.to_bits()),
        any_value::Value::BoolValue(boolean) => ValueRef::Bool(*boolean),
        // Arrays, maps and bytes are left to the bounded scan.
        _ => return None,
    })
}

fn attribute_value(attribute: &KeyValue) -> Option<ValueRef<'_>> {
    value_ref(attribute.value.as_ref().and_then(|v| v.value.as_ref()))
}

/// A resource's id: a hash of its scalar attributes, in order.
fn resource_id(attributes: &[KeyValue]) -> u64 {
    let mut hasher = Xxh3::new();
    let mut encoded = Vec::new();
    for attribute in attributes {
        hasher.update(&(attribute.key.len() as u64).to_le_bytes());
        hasher.update(attribute.key.as_bytes());
        encoded.clear();
        if let Some(value) = attribute_value(attribute) {
            value.encode(&mut encoded);
        }
        hasher.update(&(encoded.len() as u64).to_le_bytes());
        hasher.update(&encoded);
    }
    hasher.digest()
}

const STATUS_ERROR: i32 = 2;
const STATUS_OK: i32 = 1;

/// Collects one write's registry entries, each once.
#[derive(Default)]
struct Registry {
    added: IdSet<u128>,
    entries: Vec<(u128, &'static str, Vec<u8>)>,
}

impl Registry {
    fn offer(&mut self, family: &'static str, key: Option<Vec<u8>>) {
        let Some(key) = key else { return };
        let hash = xxh3_128(&key) ^ family.len() as u128;
        if self.added.insert(hash) {
            self.entries.push((hash, family, key));
        }
    }
}

const VALUES: &str = "values";
const TAG_KEYS: &str = "tag_keys";

/// Adds the index entries of `request` (validated spans) to `batch` as write
/// `write_id`. Returns the registry hashes to `remember` once the batch committed.
pub(in crate::store) fn add_index_entries(
    batch: &mut WriteBatch,
    families: &IndexFamilies<'_>,
    tenant: TenantId,
    request: &ExportTraceServiceRequest,
    config: &IndexConfig,
    known: &KnownKeys,
    write_id: u64,
) -> Vec<u128> {
    let mut traces: HashMap<TraceId, (IdSet<u64>, TraceSummary), FastHash> = HashMap::default();
    let mut registry = Registry::default();
    // Attribute keys seen in this write, offered to the registry once each.
    let mut tag_keys: HashSet<(TagScope, &str), FastHash> = HashSet::default();
    let mut newest = 0u64;
    // Posting ids whose registry entry was offered in this write already.
    let mut offered: IdSet<u64> = IdSet::default();
    for resource_spans in &request.resource_spans {
        let resource_attributes = resource_spans
            .resource
            .as_ref()
            .map_or(&[][..], |resource| resource.attributes.as_slice());
        let service = service_name(resource_attributes);
        let resource = resource_id(resource_attributes);
        let resource_posting = keys::resource_posting(resource);
        if offered.insert(resource_posting) {
            for attribute in resource_attributes {
                tag_keys.insert((TagScope::Resource, &attribute.key));
                if let Some(value) = attribute_value(attribute) {
                    registry.offer(
                        VALUES,
                        keys::value_key(
                            tenant,
                            Field::ResourceAttribute,
                            &attribute.key,
                            value,
                            Some(resource),
                        ),
                    );
                }
            }
        }
        for scope_spans in &resource_spans.scope_spans {
            if let Some(scope) = &scope_spans.scope {
                for attribute in &scope.attributes {
                    tag_keys.insert((TagScope::Instrumentation, &attribute.key));
                }
            }
            for span in &scope_spans.spans {
                let Some(trace_id) = TraceId::from_slice(&span.trace_id) else {
                    continue;
                };
                newest = newest.max(span.start_time_unix_nano);
                let code = span.status.as_ref().map_or(0, |status| status.code);
                let (postings, summary) = traces.entry(trace_id).or_default();
                summary.add_span(
                    service,
                    &span.name,
                    span.parent_span_id.is_empty(),
                    code == STATUS_ERROR,
                    span.start_time_unix_nano,
                    span.end_time_unix_nano,
                );
                postings.insert(resource_posting);
                let mut add = |field: Field, key: &str, value: ValueRef<'_>| {
                    let id = keys::posting_id(field, key, value);
                    postings.insert(id);
                    if offered.insert(id) {
                        registry.offer(VALUES, keys::value_key(tenant, field, key, value, None));
                    }
                };
                add(Field::Name, "", ValueRef::Str(&span.name));
                match code {
                    STATUS_ERROR => add(Field::Status, "", ValueRef::Str("error")),
                    STATUS_OK => add(Field::Status, "", ValueRef::Str("ok")),
                    _ => {}
                }
                for attribute in &span.attributes {
                    tag_keys.insert((TagScope::Span, &attribute.key));
                    if config.span_attributes.contains(&attribute.key)
                        && let Some(value) = attribute_value(attribute)
                    {
                        add(Field::SpanAttribute, &attribute.key, value);
                    }
                }
                for event in &span.events {
                    for attribute in &event.attributes {
                        tag_keys.insert((TagScope::Event, &attribute.key));
                    }
                }
                for link in &span.links {
                    for attribute in &link.attributes {
                        tag_keys.insert((TagScope::Link, &attribute.key));
                    }
                }
            }
        }
    }
    if traces.is_empty() {
        return Vec::new();
    }

    let write = (newest, write_id);
    let mut record_traces = Vec::with_capacity(traces.len());
    for (trace_id, (postings, summary)) in traces {
        batch.merge_cf(
            families.summaries,
            keys::summary_key(tenant, &trace_id),
            summary.encode(),
        );
        record_traces.push((trace_id, postings.into_iter().collect::<Vec<u64>>()));
    }
    let record = WriteRecord::new(record_traces);
    for id in &record.postings {
        batch.put_cf(
            families.postings,
            keys::entry_key(&keys::posting_prefix(tenant, *id), write),
            [],
        );
    }
    batch.put_cf(
        families.writes,
        keys::entry_key(&keys::tenant_prefix(tenant), write),
        record.encode(),
    );
    for (scope, key) in tag_keys {
        registry.offer(TAG_KEYS, keys::tag_key(tenant, scope, key));
    }
    let mut entries = registry.entries;
    known.retain_unknown(&mut entries);
    let mut remembered = Vec::with_capacity(entries.len());
    for (hash, family, key) in entries {
        remembered.push(hash);
        let family = if family == VALUES {
            families.values
        } else {
            families.tag_keys
        };
        batch.put_cf(family, key, []);
    }
    remembered
}
