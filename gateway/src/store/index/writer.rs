//! Index entries for one write, added to the same `WriteBatch` as its spans, so the
//! indexes are never out of step with the spans after a crash.
//!
//! Per trace in the write: one `trace_times` entry, one summary part (merged), and one
//! posting per distinct (field, key, value) among its spans: the span name, an `error`
//! or `ok` status, every resource attribute, and the configured span attributes. Tag
//! keys (every attribute key of every scope) are put once per write.

use std::collections::{HashMap, HashSet};

use rocksdb::{ColumnFamily, WriteBatch};

use super::keys::{self, Field, TagScope, ValueRef};
use super::summary::TraceSummary;
use crate::model::{ExportTraceServiceRequest, KeyValue, Status, TraceId, any_value, service_name};
use crate::store::keys::TenantId;

/// Which span attributes get posting lists (resource attributes always do).
#[derive(Debug, Clone, Default)]
pub struct IndexConfig {
    pub span_attributes: HashSet<String>,
}

pub(in crate::store) struct IndexFamilies<'a> {
    pub postings: &'a ColumnFamily,
    pub trace_times: &'a ColumnFamily,
    pub summaries: &'a ColumnFamily,
    pub tag_keys: &'a ColumnFamily,
}

/// What one write adds for one trace.
#[derive(Default)]
struct TraceEntries<'a> {
    earliest_start: u64,
    summary: TraceSummary,
    postings: HashSet<(Field, &'a str, ValueRef<'a>)>,
}

const STATUS_ERROR: i32 = 2;
const STATUS_OK: i32 = 1;

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

fn status_code(status: Option<&Status>) -> i32 {
    status.map_or(0, |status| status.code)
}

/// Adds the index entries of `request` (validated spans) to `batch`.
pub(in crate::store) fn add_index_entries(
    batch: &mut WriteBatch,
    families: &IndexFamilies<'_>,
    tenant: TenantId,
    request: &ExportTraceServiceRequest,
    config: &IndexConfig,
) {
    let mut traces: HashMap<TraceId, TraceEntries<'_>> = HashMap::new();
    let mut tag_keys: HashSet<(TagScope, &str)> = HashSet::new();
    for resource_spans in &request.resource_spans {
        let resource_attributes = resource_spans
            .resource
            .as_ref()
            .map_or(&[][..], |resource| resource.attributes.as_slice());
        let service = service_name(resource_attributes);
        for attribute in resource_attributes {
            tag_keys.insert((TagScope::Resource, &attribute.key));
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
                let code = status_code(span.status.as_ref());
                let entries = traces.entry(trace_id).or_insert_with(|| TraceEntries {
                    earliest_start: span.start_time_unix_nano,
                    ..TraceEntries::default()
                });
                entries.earliest_start = entries.earliest_start.min(span.start_time_unix_nano);
                entries.summary.add_span(
                    service,
                    &span.name,
                    span.parent_span_id.is_empty(),
                    code == STATUS_ERROR,
                    span.start_time_unix_nano,
                    span.end_time_unix_nano,
                );
                let postings = &mut entries.postings;
                postings.insert((Field::Name, "", ValueRef::Str(&span.name)));
                match code {
                    STATUS_ERROR => postings.insert((Field::Status, "", ValueRef::Str("error"))),
                    STATUS_OK => postings.insert((Field::Status, "", ValueRef::Str("ok"))),
                    _ => false,
                };
                for attribute in resource_attributes {
                    if let Some(value) = attribute_value(attribute) {
                        postings.insert((Field::ResourceAttribute, &attribute.key, value));
                    }
                }
                for attribute in &span.attributes {
                    tag_keys.insert((TagScope::Span, &attribute.key));
                    if config.span_attributes.contains(&attribute.key)
                        && let Some(value) = attribute_value(attribute)
                    {
                        postings.insert((Field::SpanAttribute, &attribute.key, value));
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

    let tenant_prefix = keys::tenant_prefix(tenant);
    for (trace_id, entries) in &traces {
        let start = entries.earliest_start;
        batch.put_cf(
            families.trace_times,
            keys::entry_key(&tenant_prefix, start, trace_id),
            [],
        );
        batch.merge_cf(
            families.summaries,
            keys::summary_key(tenant, trace_id),
            entries.summary.encode(),
        );
        for (field, key, value) in &entries.postings {
            if let Some(prefix) = keys::posting_prefix(tenant, *field, key, *value) {
                batch.put_cf(
                    families.postings,
                    keys::entry_key(&prefix, start, trace_id),
                    [],
                );
            }
        }
    }
    for (scope, key) in tag_keys {
        batch.put_cf(families.tag_keys, keys::tag_key(tenant, scope, key), []);
    }
}
