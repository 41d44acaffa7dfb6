//! Index entries for one write, added to the same `WriteBatch` as its spans, so the
//! indexes are never out of step with the spans after a crash.
//!
//! Per write: one posting per distinct posting id among its spans (the span name, an
//! `error`/`ok` status, each configured span attribute value, and each resource), one
//! record listing its traces and which postings each holds, one summary part per
//! trace (merged). The `values` registry (indexed values, and which resources hold a
//! resource attribute value) and the tag keys are put only when this process has not
//! written them within a bucket width (`KnownKeys`), so a steady stream of the same
//! values costs nothing there; their value is the put time, which retention reads.

use std::collections::hash_map::Entry;
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
/// hash of their key, with when (unix seconds): put again only once a bucket width has
/// passed, so the stored put time is never more than a width older than the entry's
/// last use. Bounded: past `MAX_KNOWN` it starts over (the next writes put again; puts
/// are idempotent).
#[derive(Default)]
pub(in crate::store) struct KnownKeys(Mutex<HashMap<u128, u32, FastHash>>);

const MAX_KNOWN: usize = 1 << 20;

/// Registry entries a write puts (to remember once it committed), and when.
#[derive(Debug, Default)]
pub(in crate::store) struct Registered {
    hashes: Vec<u128>,
    seconds: u32,
}

impl KnownKeys {
    /// Keeps the entries not put within `refresh` seconds of `now` (one lock per write).
    fn retain_due(&self, entries: &mut Vec<(u128, &'static str, Vec<u8>)>, now: u32, refresh: u32) {
        let known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|(hash, _, _)| {
            known
                .get(hash)
                .is_none_or(|put| now.saturating_sub(*put) >= refresh)
        });
    }

    /// Records entries whose write committed.
    pub(in crate::store) fn remember(&self, registered: Registered) {
        if registered.hashes.is_empty() {
            return;
        }
        let mut known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() + registered.hashes.len() > MAX_KNOWN {
            known.clear();
        }
        for hash in registered.hashes {
            match known.entry(hash) {
                Entry::Occupied(mut put) => *put.get_mut() = (*put.get()).max(registered.seconds),
                Entry::Vacant(slot) => {
                    slot.insert(registered.seconds);
                }
            }
        }
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
/// `write_id` (its ingest time in unix nanoseconds). Registry entries are put again
/// after `registry_refresh` seconds. Returns the registry entries to `remember` once
/// the batch committed.
#[allow(clippy::too_many_arguments)] // one write's context; a struct would only rename it
pub(in crate::store) fn add_index_entries(
    batch: &mut WriteBatch,
    families: &IndexFamilies<'_>,
    tenant: TenantId,
    request: &ExportTraceServiceRequest,
    config: &IndexConfig,
    known: &KnownKeys,
    write_id: u64,
    registry_refresh: u32,
) -> Registered {
    let seconds =
        u32::try_from(crate::store::retention::write_id_seconds(write_id)).unwrap_or(u32::MAX);
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
        return Registered::default();
    }

    let write = (newest, write_id);
    let mut record_traces = Vec::with_capacity(traces.len());
    for (trace_id, (postings, mut summary)) in traces {
        summary.set_ingest_seconds(seconds);
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
    known.retain_due(&mut entries, seconds, registry_refresh);
    let mut hashes = Vec::with_capacity(entries.len());
    let put_time = crate::store::retention::registry_value(seconds);
    for (hash, family, key) in entries {
        hashes.push(hash);
        let family = if family == VALUES {
            families.values
        } else {
            families.tag_keys
        };
        batch.put_cf(family, key, put_time);
    }
    Registered { hashes, seconds }
}
