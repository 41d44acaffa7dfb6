//! Order-insensitive, field-by-field comparison of trace data.
//!
//! The store may regroup spans by resource and scope, so the comparison flattens every
//! span together with its resource, scope and schema URLs, sorts by (trace id, span id)
//! and then compares every field, collecting all differences before failing.

use std::fmt::Debug;

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span, Status};

/// One span with the context it was sent in.
#[derive(Clone, Debug, PartialEq)]
pub struct FlatSpan {
    pub resource: Resource,
    pub resource_schema_url: String,
    pub scope: InstrumentationScope,
    pub scope_schema_url: String,
    pub span: Span,
}

/// Flattens and sorts by (trace id, span id). A missing resource, scope or status is
/// the same as an empty one.
pub fn flatten(resource_spans: &[ResourceSpans]) -> Vec<FlatSpan> {
    let mut out = Vec::new();
    for rs in resource_spans {
        for ss in &rs.scope_spans {
            for span in &ss.spans {
                let mut span = span.clone();
                if span.status.is_none() {
                    span.status = Some(Status::default());
                }
                out.push(FlatSpan {
                    resource: rs.resource.clone().unwrap_or_default(),
                    resource_schema_url: rs.schema_url.clone(),
                    scope: ss.scope.clone().unwrap_or_default(),
                    scope_schema_url: ss.schema_url.clone(),
                    span,
                });
            }
        }
    }
    out.sort_by(|a, b| {
        (&a.span.trace_id, &a.span.span_id).cmp(&(&b.span.trace_id, &b.span.span_id))
    });
    out
}

fn diff_field<T: Debug + PartialEq>(
    diffs: &mut Vec<String>,
    span: &str,
    field: &str,
    expected: &T,
    actual: &T,
) {
    if expected != actual {
        diffs.push(format!(
            "span {span}: field `{field}` differs\n    expected: {expected:?}\n    actual:   {actual:?}"
        ));
    }
}

/// Like `diff_field`, for lists: when both have the same length only the differing
/// elements are shown, by index.
fn diff_list<T: Debug + PartialEq>(
    diffs: &mut Vec<String>,
    span: &str,
    field: &str,
    expected: &[T],
    actual: &[T],
) {
    if expected.len() != actual.len() {
        diff_field(
            diffs,
            span,
            &format!("{field} (length {} vs {})", expected.len(), actual.len()),
            &expected,
            &actual,
        );
        return;
    }
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        diff_field(diffs, span, &format!("{field}[{i}]"), e, a);
    }
}

/// Every difference between two flattened span lists, as readable lines.
pub fn differences(expected: &[ResourceSpans], actual: &[ResourceSpans]) -> Vec<String> {
    let expected = flatten(expected);
    let actual = flatten(actual);
    let mut diffs = Vec::new();
    let key = |f: &FlatSpan| (f.span.trace_id.clone(), f.span.span_id.clone());
    let expected_keys: Vec<_> = expected.iter().map(key).collect();
    let actual_keys: Vec<_> = actual.iter().map(key).collect();
    if expected_keys != actual_keys {
        // Multiset differences, so that a span stored twice shows as "unexpected".
        let mut unexpected = actual_keys.clone();
        let mut missing = Vec::new();
        for k in &expected_keys {
            match unexpected.iter().position(|u| u == k) {
                Some(i) => {
                    unexpected.remove(i);
                }
                None => missing.push(k.clone()),
            }
        }
        let fmt = |keys: &[(Vec<u8>, Vec<u8>)]| {
            keys.iter()
                .take(20)
                .map(|(t, s)| format!("{}/{}", hex::encode(t), hex::encode(s)))
                .collect::<Vec<_>>()
        };
        diffs.push(format!(
            "expected {} spans, got {}; missing (trace id/span id, first 20 of {}): {:?}; \
             unexpected or duplicated (first 20 of {}): {:?}",
            expected_keys.len(),
            actual_keys.len(),
            missing.len(),
            fmt(&missing),
            unexpected.len(),
            fmt(&unexpected)
        ));
    }
    for e in &expected {
        let Some(a) = actual.iter().find(|a| key(a) == key(e)) else {
            continue;
        };
        let name = format!("{} ({:?})", hex::encode(&e.span.span_id), e.span.name);
        let d = &mut diffs;
        let before = d.len();
        diff_list(
            d,
            &name,
            "resource.attributes",
            &e.resource.attributes,
            &a.resource.attributes,
        );
        diff_field(
            d,
            &name,
            "resource.dropped_attributes_count",
            &e.resource.dropped_attributes_count,
            &a.resource.dropped_attributes_count,
        );
        diff_field(
            d,
            &name,
            "resource.entity_refs",
            &e.resource.entity_refs,
            &a.resource.entity_refs,
        );
        diff_field(
            d,
            &name,
            "resource schema_url",
            &e.resource_schema_url,
            &a.resource_schema_url,
        );
        diff_field(d, &name, "scope", &e.scope, &a.scope);
        diff_field(
            d,
            &name,
            "scope schema_url",
            &e.scope_schema_url,
            &a.scope_schema_url,
        );
        let (es, as_) = (&e.span, &a.span);
        diff_field(d, &name, "trace_id", &es.trace_id, &as_.trace_id);
        diff_field(d, &name, "span_id", &es.span_id, &as_.span_id);
        diff_field(d, &name, "trace_state", &es.trace_state, &as_.trace_state);
        diff_field(
            d,
            &name,
            "parent_span_id",
            &es.parent_span_id,
            &as_.parent_span_id,
        );
        diff_field(d, &name, "flags", &es.flags, &as_.flags);
        diff_field(d, &name, "name", &es.name, &as_.name);
        diff_field(d, &name, "kind", &es.kind, &as_.kind);
        diff_field(
            d,
            &name,
            "start_time_unix_nano",
            &es.start_time_unix_nano,
            &as_.start_time_unix_nano,
        );
        diff_field(
            d,
            &name,
            "end_time_unix_nano",
            &es.end_time_unix_nano,
            &as_.end_time_unix_nano,
        );
        diff_list(d, &name, "attributes", &es.attributes, &as_.attributes);
        diff_field(
            d,
            &name,
            "dropped_attributes_count",
            &es.dropped_attributes_count,
            &as_.dropped_attributes_count,
        );
        diff_list(d, &name, "events", &es.events, &as_.events);
        diff_field(
            d,
            &name,
            "dropped_events_count",
            &es.dropped_events_count,
            &as_.dropped_events_count,
        );
        diff_list(d, &name, "links", &es.links, &as_.links);
        diff_field(
            d,
            &name,
            "dropped_links_count",
            &es.dropped_links_count,
            &as_.dropped_links_count,
        );
        diff_field(d, &name, "status", &es.status, &as_.status);
        // Catch-all, should a field be added to the model later.
        if d.len() == before && e != a {
            d.push(format!(
                "span {name}: differs\n    expected: {e:?}\n    actual:   {a:?}"
            ));
        }
    }
    diffs
}

/// Panics with every difference when `actual` does not hold exactly the spans of
/// `expected`, each with the same resource, scope and fields.
#[track_caller]
pub fn assert_same_spans(expected: &[ResourceSpans], actual: &[ResourceSpans], context: &str) {
    let diffs = differences(expected, actual);
    assert!(
        diffs.is_empty(),
        "{context}: {} difference(s):\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
