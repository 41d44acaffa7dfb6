//! One answer from the search answers of several tenants, as Tempo's query frontend
//! combines the answers of the tenants of a multi-tenant query (its metadata combiner):
//! a trace id found in several tenants is one result, the newest `limit` results are
//! kept, and the work counters add up.

use std::collections::HashMap;

use spangate_traceql::ROOT_SPAN_NOT_YET_RECEIVED;

use super::{SearchOutcome, SpanSetMatch, TraceMatch};

/// Merges per-tenant outcomes (each newest first) into one, newest first, at most `limit`.
pub(super) fn merge_outcomes(outcomes: Vec<SearchOutcome>, limit: usize) -> SearchOutcome {
    let mut outcomes = outcomes.into_iter();
    let Some(mut merged) = outcomes.next() else {
        return SearchOutcome {
            traces: Vec::new(),
            inspected_traces: 0,
            inspected_bytes: 0,
            jobs: 0,
            complete: true,
        };
    };
    let mut rest = outcomes.peekable();
    if rest.peek().is_none() {
        return merged;
    }
    let mut position: HashMap<String, usize> = merged
        .traces
        .iter()
        .enumerate()
        .map(|(index, trace)| (trace.trace_id.clone(), index))
        .collect();
    for outcome in rest {
        merged.inspected_traces += outcome.inspected_traces;
        merged.inspected_bytes += outcome.inspected_bytes;
        merged.jobs += outcome.jobs;
        merged.complete &= outcome.complete;
        for trace in outcome.traces {
            match position.get(&trace.trace_id) {
                Some(&index) => combine(&mut merged.traces[index], trace),
                None => {
                    position.insert(trace.trace_id.clone(), merged.traces.len());
                    merged.traces.push(trace);
                }
            }
        }
    }
    merged.traces.sort_by(|a, b| {
        b.start_time_unix_nano
            .cmp(&a.start_time_unix_nano)
            .then_with(|| a.trace_id.cmp(&b.trace_id))
    });
    merged.traces.truncate(limit);
    merged
}

fn unknown_root(name: &str) -> bool {
    name.is_empty() || name == ROOT_SPAN_NOT_YET_RECEIVED
}

/// Tempo's `combineSearchResults`: the root names of whichever part has them, the
/// earliest start, the longest duration, per service the larger counts, and the
/// spansets of both (one per `by()` group, the one with more matches).
fn combine(existing: &mut TraceMatch, incoming: TraceMatch) {
    if unknown_root(&existing.root_service_name) && !unknown_root(&incoming.root_service_name) {
        existing.root_service_name = incoming.root_service_name;
    }
    if existing.root_trace_name.is_empty() {
        existing.root_trace_name = incoming.root_trace_name;
    }
    if existing.start_time_unix_nano == 0
        || incoming.start_time_unix_nano < existing.start_time_unix_nano
    {
        existing.start_time_unix_nano = incoming.start_time_unix_nano;
    }
    existing.duration_ms = existing.duration_ms.max(incoming.duration_ms);
    for (service, counts) in incoming.service_stats {
        let entry = existing.service_stats.entry(service).or_default();
        entry.span_count = entry.span_count.max(counts.span_count);
        entry.error_count = entry.error_count.max(counts.error_count);
    }
    for spanset in incoming.span_sets {
        let identity = spanset_identity(&spanset);
        match existing
            .span_sets
            .iter_mut()
            .find(|candidate| spanset_identity(candidate) == identity)
        {
            Some(found) if found.matched < spanset.matched => *found = spanset,
            Some(_) => {}
            None => existing.span_sets.push(spanset),
        }
    }
}

/// What identifies a spanset among a trace's: its `by()` attributes.
fn spanset_identity(spanset: &SpanSetMatch) -> Vec<(String, String)> {
    spanset
        .attributes
        .iter()
        .filter(|attribute| attribute.key.starts_with("by"))
        .map(|attribute| (attribute.key.clone(), format!("{:?}", attribute.value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::search::ServiceCounts;

    fn trace(id: &str, start: u64, duration_ms: u32, matched: u32) -> TraceMatch {
        TraceMatch {
            trace_id: id.to_owned(),
            root_service_name: ROOT_SPAN_NOT_YET_RECEIVED.to_owned(),
            root_trace_name: String::new(),
            start_time_unix_nano: start,
            duration_ms,
            span_sets: vec![SpanSetMatch {
                spans: Vec::new(),
                matched,
                attributes: Vec::new(),
            }],
            service_stats: BTreeMap::from([(
                "api".to_owned(),
                ServiceCounts {
                    span_count: matched,
                    error_count: 0,
                },
            )]),
        }
    }

    fn outcome(traces: Vec<TraceMatch>, complete: bool) -> SearchOutcome {
        SearchOutcome {
            inspected_traces: traces.len() as u64,
            inspected_bytes: 100,
            jobs: 1,
            complete,
            traces,
        }
    }

    #[test]
    fn one_outcome_is_unchanged() {
        let single = outcome(vec![trace("a", 5, 1, 1)], true);
        assert_eq!(merge_outcomes(vec![single.clone()], 1), single);
    }

    #[test]
    fn tenants_merge_newest_first_with_shared_trace_ids_combined() {
        let mut rooted = trace("shared", 30, 10, 1);
        rooted.root_service_name = "api".to_owned();
        rooted.root_trace_name = "GET /".to_owned();
        let first = outcome(vec![rooted, trace("a", 10, 1, 1)], true);
        let second = outcome(
            vec![trace("b", 40, 1, 1), trace("shared", 20, 50, 4)],
            false,
        );
        let merged = merge_outcomes(vec![first, second], 3);
        let ids: Vec<&str> = merged.traces.iter().map(|t| t.trace_id.as_str()).collect();
        assert_eq!(ids, ["b", "shared", "a"]);
        let shared = &merged.traces[1];
        assert_eq!(shared.start_time_unix_nano, 20);
        assert_eq!(shared.duration_ms, 50);
        assert_eq!(shared.root_service_name, "api");
        assert_eq!(shared.root_trace_name, "GET /");
        assert_eq!(shared.span_sets.len(), 1);
        assert_eq!(shared.span_sets[0].matched, 4);
        assert_eq!(shared.service_stats["api"].span_count, 4);
        assert_eq!(merged.inspected_traces, 4);
        assert_eq!(merged.inspected_bytes, 200);
        assert_eq!(merged.jobs, 2);
        assert!(!merged.complete);
        let limited = merge_outcomes(
            vec![
                outcome(vec![trace("a", 10, 1, 1)], true),
                outcome(vec![trace("b", 40, 1, 1)], true),
            ],
            1,
        );
        assert_eq!(limited.traces.len(), 1);
        assert_eq!(limited.traces[0].trace_id, "b");
    }
}
