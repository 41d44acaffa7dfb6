//! Tag autocompletion: attribute names per scope, and the values of one tag.
//!
//! Names come from the `tag_keys` index. Values of indexed tags (span names, resource
//! attributes, configured span attributes) come from their posting lists, one seek per
//! distinct value; statuses and kinds are fixed keyword lists; anything else, and any
//! request filtered by a `q` query, is answered from the most recent traces
//! (`tag_value_scan_traces` of them).

use std::collections::BTreeSet;

use spangate_traceql::{SpanLocation, parse_lenient};

use super::api::{TagValueKind, TypedTagValue};
use super::{SearchEngine, SearchError};
use crate::model::{KeyValue, ResourceSpans, Span, TagScope, TraceId, any_value};
use crate::store::index::{Field, IndexValue};
use crate::store::{TenantId, TimeWindow};

/// Constructors of the values the tag endpoints answer with.
impl TypedTagValue {
    fn new(kind: TagValueKind, value: impl Into<String>) -> TypedTagValue {
        TypedTagValue {
            kind,
            value: value.into(),
        }
    }

    fn of_index(value: IndexValue) -> TypedTagValue {
        match value {
            IndexValue::Str(text) => TypedTagValue::new(TagValueKind::String, text),
            IndexValue::Int(int) => TypedTagValue::new(TagValueKind::Int, int.to_string()),
            IndexValue::Double(double) => {
                TypedTagValue::new(TagValueKind::Float, double.to_string())
            }
            IndexValue::Bool(boolean) => {
                TypedTagValue::new(TagValueKind::Bool, boolean.to_string())
            }
        }
    }

    fn of_attribute(value: Option<&any_value::Value>) -> Option<TypedTagValue> {
        Some(match value? {
            any_value::Value::StringValue(text) => {
                TypedTagValue::new(TagValueKind::String, text.clone())
            }
            any_value::Value::IntValue(int) => {
                TypedTagValue::new(TagValueKind::Int, int.to_string())
            }
            any_value::Value::DoubleValue(double) => {
                TypedTagValue::new(TagValueKind::Float, double.to_string())
            }
            any_value::Value::BoolValue(boolean) => {
                TypedTagValue::new(TagValueKind::Bool, boolean.to_string())
            }
            _ => return None,
        })
    }
}

/// What a tag name (`resource.service.name`, `.http.method`, `name`, `span:name`, or a
/// v1 bare `http.method`) reads. `status` and `kind` never get here: the query layer
/// answers their fixed keyword lists itself.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tag {
    SpanName,
    StatusMessage,
    RootName,
    RootServiceName,
    EventName,
    InstrumentationName,
    InstrumentationVersion,
    Attribute(Option<TagScope>, String),
}

fn parse_tag(tag: &str) -> Tag {
    match tag {
        "name" | "span:name" => return Tag::SpanName,
        "statusMessage" | "span:statusMessage" => return Tag::StatusMessage,
        "rootName" | "trace:rootName" => return Tag::RootName,
        "rootServiceName" | "trace:rootService" => return Tag::RootServiceName,
        "event:name" => return Tag::EventName,
        "instrumentation:name" => return Tag::InstrumentationName,
        "instrumentation:version" => return Tag::InstrumentationVersion,
        _ => {}
    }
    for scope in TagScope::ATTRIBUTE_SCOPES {
        if let Some(key) = tag
            .strip_prefix(scope.as_str())
            .and_then(|rest| rest.strip_prefix('.'))
        {
            return Tag::Attribute(Some(scope), key.to_owned());
        }
    }
    Tag::Attribute(None, tag.strip_prefix('.').unwrap_or(tag).to_owned())
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

/// Adds the values `tag` has on one span to `out`.
fn span_values(
    tag: &Tag,
    resource: &ResourceSpans,
    scope_index: usize,
    span: &Span,
    out: &mut BTreeSet<TypedTagValue>,
) {
    let resource_attributes = resource
        .resource
        .as_ref()
        .map_or(&[][..], |r| r.attributes.as_slice());
    let scope = resource
        .scope_spans
        .get(scope_index)
        .and_then(|s| s.scope.as_ref());
    let mut add = |value: Option<TypedTagValue>| {
        if let Some(value) = value {
            out.insert(value);
        }
    };
    match tag {
        Tag::StatusMessage => {
            if let Some(status) = &span.status
                && !status.message.is_empty()
            {
                add(Some(TypedTagValue::new(
                    TagValueKind::String,
                    status.message.clone(),
                )));
            }
        }
        Tag::SpanName => add(Some(TypedTagValue::new(
            TagValueKind::String,
            span.name.clone(),
        ))),
        Tag::EventName => {
            for event in &span.events {
                add(Some(TypedTagValue::new(
                    TagValueKind::String,
                    event.name.clone(),
                )));
            }
        }
        Tag::InstrumentationName => {
            add(scope.map(|s| TypedTagValue::new(TagValueKind::String, s.name.clone())));
        }
        Tag::InstrumentationVersion => {
            add(scope.map(|s| TypedTagValue::new(TagValueKind::String, s.version.clone())));
        }
        Tag::Attribute(scope_name, key) => match scope_name {
            Some(TagScope::Resource) => add(TypedTagValue::of_attribute(attribute(
                resource_attributes,
                key,
            ))),
            Some(TagScope::Span) => add(TypedTagValue::of_attribute(attribute(
                &span.attributes,
                key,
            ))),
            Some(TagScope::Event) => {
                for event in &span.events {
                    add(TypedTagValue::of_attribute(attribute(
                        &event.attributes,
                        key,
                    )));
                }
            }
            Some(TagScope::Link) => {
                for link in &span.links {
                    add(TypedTagValue::of_attribute(attribute(
                        &link.attributes,
                        key,
                    )));
                }
            }
            Some(TagScope::Instrumentation) => {
                add(scope.and_then(|s| TypedTagValue::of_attribute(attribute(&s.attributes, key))));
            }
            // `parse_tag` never yields an intrinsic "scope" for an attribute.
            Some(TagScope::Intrinsic) => {}
            None => add(TypedTagValue::of_attribute(
                attribute(&span.attributes, key).or_else(|| attribute(resource_attributes, key)),
            )),
        },
        // Read from the whole trace by the caller.
        Tag::RootName | Tag::RootServiceName => {}
    }
}

impl SearchEngine {
    /// Attribute names seen per scope (`scope`: one, or every attribute scope).
    pub(crate) fn tag_names(
        &self,
        tenant: &str,
        scope: Option<TagScope>,
    ) -> Result<Vec<(TagScope, Vec<String>)>, SearchError> {
        let Some(tenant) = self.store.tenant(tenant) else {
            return Ok(Vec::new());
        };
        let scopes: Vec<TagScope> = match scope {
            Some(scope) => vec![scope],
            None => TagScope::ATTRIBUTE_SCOPES.to_vec(),
        };
        let mut names = Vec::new();
        for scope in scopes {
            if scope != TagScope::Intrinsic {
                let keys = self
                    .store
                    .tag_keys(tenant, scope, self.settings.max_tag_names)?;
                names.push((scope, keys));
            }
        }
        Ok(names)
    }

    /// The distinct values of `tag`, among spans matching `filter` (a possibly incomplete
    /// TraceQL query) when one is given; sorted, at most `max_tag_values`.
    pub(crate) fn tag_values(
        &self,
        tenant: &str,
        tag: &str,
        filter: Option<&str>,
    ) -> Result<Vec<TypedTagValue>, SearchError> {
        let tag = parse_tag(tag);
        let Some(tenant) = self.store.tenant(tenant) else {
            return Ok(Vec::new());
        };
        let lenient = filter
            .map(str::trim)
            .filter(|q| !q.is_empty() && *q != "{}")
            .map(parse_lenient)
            .filter(|q| !q.is_unfiltered());
        let limit = self.settings.max_tag_values;
        if lenient.is_none()
            && let Some(values) = self.indexed_tag_values(tenant, &tag, limit)?
        {
            return Ok(values);
        }
        let mut values: BTreeSet<TypedTagValue> = BTreeSet::new();
        let blocks = self.store.block_list();
        let mut candidates = super::block_scan::candidates(
            &self.store,
            &blocks,
            tenant,
            &spangate_traceql::IndexHints::default(),
            TimeWindow::ALL,
        )?;
        let mut seen = std::collections::HashSet::<TraceId>::new();
        while let Some((_, trace_id)) = candidates.next_entry()? {
            if values.len() >= limit || seen.len() >= self.settings.tag_value_scan_traces {
                break;
            }
            if !seen.insert(trace_id) {
                continue;
            }
            let Some(stored) = self
                .store
                .trace_with_blocks(&blocks, tenant, &trace_id, None)?
            else {
                continue;
            };
            let trace = &stored.data.resource_spans;
            let locations: Vec<SpanLocation> = match &lenient {
                Some(query) => query.matching_spans(trace),
                None => all_locations(trace),
            };
            if locations.is_empty() {
                continue;
            }
            match tag {
                Tag::RootName | Tag::RootServiceName => {
                    if let Some(summary) = spangate_traceql::TraceSummary::of(trace)
                        && !summary.root_span_name.is_empty()
                    {
                        let value = if tag == Tag::RootName {
                            summary.root_span_name
                        } else {
                            summary.root_service_name
                        };
                        values.insert(TypedTagValue::new(TagValueKind::String, value));
                    }
                }
                _ => {
                    for location in locations {
                        let resource = &trace[location.resource];
                        let span = &resource.scope_spans[location.scope].spans[location.span];
                        span_values(&tag, resource, location.scope, span, &mut values);
                    }
                }
            }
        }
        Ok(values.into_iter().take(limit).collect())
    }

    /// Values of a tag straight from its posting lists; `None` when it has none.
    fn indexed_tag_values(
        &self,
        tenant: TenantId,
        tag: &Tag,
        limit: usize,
    ) -> Result<Option<Vec<TypedTagValue>>, SearchError> {
        let places: Vec<(Field, &str)> = match tag {
            Tag::SpanName => vec![(Field::Name, "")],
            Tag::Attribute(Some(TagScope::Resource), key) => vec![(Field::ResourceAttribute, key)],
            Tag::Attribute(Some(TagScope::Span), key)
                if self.store.is_indexed_span_attribute(key) =>
            {
                vec![(Field::SpanAttribute, key)]
            }
            Tag::Attribute(None, key) if self.store.is_indexed_span_attribute(key) => {
                vec![(Field::SpanAttribute, key), (Field::ResourceAttribute, key)]
            }
            _ => return Ok(None),
        };
        let mut values: BTreeSet<TypedTagValue> = BTreeSet::new();
        for (field, key) in places {
            for value in self.store.indexed_values(tenant, field, key, limit)? {
                values.insert(TypedTagValue::of_index(value));
            }
        }
        Ok(Some(values.into_iter().take(limit).collect()))
    }
}

fn all_locations(trace: &[ResourceSpans]) -> Vec<SpanLocation> {
    let mut out = Vec::new();
    for (resource, resource_spans) in trace.iter().enumerate() {
        for (scope, scope_spans) in resource_spans.scope_spans.iter().enumerate() {
            for span in 0..scope_spans.spans.len() {
                out.push(SpanLocation {
                    resource,
                    scope,
                    span,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_names_are_read_like_tempo_reads_them() {
        assert_eq!(parse_tag("span:name"), Tag::SpanName);
        assert_eq!(parse_tag("name"), Tag::SpanName);
        assert_eq!(
            parse_tag("resource.service.name"),
            Tag::Attribute(Some(TagScope::Resource), "service.name".into())
        );
        assert_eq!(
            parse_tag(".http.method"),
            Tag::Attribute(None, "http.method".into())
        );
        assert_eq!(
            parse_tag("http.method"),
            Tag::Attribute(None, "http.method".into())
        );
        assert_eq!(
            parse_tag("spanish.flag"),
            Tag::Attribute(None, "spanish.flag".into()),
            "a scope name must be followed by a dot"
        );
    }
}
