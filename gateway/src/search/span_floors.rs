//! Span-duration floors: what a query's `duration` conditions say about the longest span
//! of a matching trace, checked against the trace summary before the trace is read.
//!
//! Grafana's search builder writes `{resource.service.name="api" && duration>100ms}`: a
//! span of `api` lasting over 100 ms. The indexes find the traces with a span of `api`,
//! but most of those spans are short; the summary keeps each service's longest span, so
//! a trace whose `api` spans are all shorter is skipped without reading it. A floor
//! only ever rules out traces that cannot match (see
//! `TraceSummary::may_have_span_of_at_least`).

use spangate_traceql::ast::{AttributeScope, CompareOp, Field, Intrinsic};
use spangate_traceql::{Condition, ConditionOp, IndexHints, Literal};

use crate::store::index::TraceSummary;

/// Some span (of `service`, if set) of every matching trace lasts at least `min_nanos`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SpanFloor {
    service: Option<String>,
    min_nanos: u64,
}

/// The floors `hints` imply: one per same-span group with a duration lower bound, and
/// one per lone duration condition.
pub(super) fn span_floors(hints: &IndexHints) -> Vec<SpanFloor> {
    let conditions = |group: &[usize]| {
        group
            .iter()
            .filter_map(|&index| hints.conditions.get(index))
            .collect::<Vec<_>>()
    };
    let groups = hints
        .same_span_groups
        .iter()
        .map(|group| conditions(group))
        .chain(hints.conditions.iter().map(|condition| vec![condition]));
    let mut floors: Vec<SpanFloor> = Vec::new();
    for group in groups {
        let Some(min_nanos) = group.iter().filter_map(|c| duration_floor(c)).max() else {
            continue;
        };
        let service = group
            .iter()
            .find_map(|c| service_equal(c))
            .map(str::to_owned);
        let floor = SpanFloor { service, min_nanos };
        if !floors.contains(&floor) {
            floors.push(floor);
        }
    }
    floors
}

/// Whether `summary` may hold a span meeting every floor.
pub(super) fn admits(summary: &TraceSummary, floors: &[SpanFloor]) -> bool {
    floors
        .iter()
        .all(|floor| summary.may_have_span_of_at_least(floor.service.as_deref(), floor.min_nanos))
}

/// The least span duration `duration > d` or `duration >= d` allows.
fn duration_floor(condition: &Condition) -> Option<u64> {
    if condition.field != Field::Intrinsic(Intrinsic::Duration) {
        return None;
    }
    let Literal::Duration(nanos) = condition.value else {
        return None;
    };
    let nanos = u64::try_from(nanos).unwrap_or(0);
    match condition.op {
        ConditionOp::Compare(CompareOp::Gt) => Some(nanos.saturating_add(1)),
        ConditionOp::Compare(CompareOp::Gte) => Some(nanos),
        _ => None,
    }
}

/// `s` of `resource.service.name = "s"`: the service whose spans a summary counts.
fn service_equal(condition: &Condition) -> Option<&str> {
    let Field::Attribute(attribute) = &condition.field else {
        return None;
    };
    match (&condition.op, &condition.value) {
        (ConditionOp::Compare(CompareOp::Eq), Literal::Str(service))
            if attribute.scope == AttributeScope::Resource && attribute.name == "service.name" =>
        {
            Some(service)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use proptest::prelude::*;
    use spangate_traceql::SearchOptions;

    use crate::search::tests::service_resource;

    fn floors(query: &str) -> Vec<SpanFloor> {
        span_floors(
            &spangate_traceql::parse(query)
                .unwrap()
                .required_conditions(),
        )
    }

    fn floor(service: Option<&str>, min_nanos: u64) -> SpanFloor {
        SpanFloor {
            service: service.map(str::to_owned),
            min_nanos,
        }
    }

    #[test]
    fn builder_queries_give_a_floor_per_service() {
        assert_eq!(
            floors(r#"{resource.service.name="api" && duration>100ms}"#),
            [floor(Some("api"), 100_000_001), floor(None, 100_000_001)]
        );
        assert_eq!(floors("{duration >= 2s}"), [floor(None, 2_000_000_000)]);
        // Bounds from above, other fields and unscoped names give none.
        assert!(floors("{duration < 1s}").is_empty());
        assert!(floors(r#"{.service.name="api" && traceDuration>1s}"#).is_empty());
        assert_eq!(
            floors(r#"{.service.name="api" && duration>1s}"#),
            [floor(None, 1_000_000_001)]
        );
        // Either side of `||` may match: nothing is required.
        assert!(floors("{duration>1s} || {name=\"x\"}").is_empty());
    }

    fn span(start: u64, length: u64, service_index: usize) -> (usize, Span) {
        (
            service_index,
            Span {
                trace_id: vec![1; 16],
                span_id: vec![start as u8 + 1; 8],
                name: "op".into(),
                start_time_unix_nano: start,
                end_time_unix_nano: start + length,
                ..Default::default()
            },
        )
    }

    const SERVICES: [&str; 3] = ["api", "db", "web"];

    fn trace(spans: &[(usize, Span)]) -> Vec<ResourceSpans> {
        SERVICES
            .iter()
            .enumerate()
            .map(|(index, name)| ResourceSpans {
                resource: Some(service_resource(name)),
                scope_spans: vec![ScopeSpans {
                    spans: spans
                        .iter()
                        .filter(|(service, _)| *service == index)
                        .map(|(_, span)| span.clone())
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect()
    }

    proptest! {
        /// A trace the query matches is never ruled out by its summary.
        #[test]
        fn floors_never_rule_out_a_match(
            spans in prop::collection::vec((0u64..50, 0u64..50, 0usize..3), 1..6),
            service in 0usize..3,
            bound in 0u64..50,
            strict in any::<bool>(),
        ) {
            let spans: Vec<_> = spans.iter().map(|&(start, length, s)| span(start, length, s)).collect();
            let mut summary = TraceSummary::default();
            for (index, span) in &spans {
                summary.add_span(SERVICES[*index], &span.name, false, false, span.start_time_unix_nano, span.end_time_unix_nano);
            }
            let op = if strict { ">" } else { ">=" };
            let query = spangate_traceql::parse(&format!(
                r#"{{resource.service.name="{}" && duration {op} {bound}ns}}"#, SERVICES[service]
            )).unwrap();
            let matches = query.evaluate_with(&trace(&spans), &SearchOptions::default()).is_some();
            let admitted = admits(&summary, &span_floors(&query.required_conditions()));
            prop_assert!(!matches || admitted);
            // And the floor is tight: a trace it admits has such a span.
            prop_assert_eq!(admitted, matches);
        }
    }
}
