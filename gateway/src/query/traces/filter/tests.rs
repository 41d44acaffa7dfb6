//! Span selection and parameter parsing, on Tempo's reference trace:
//! A(root) → B → C(http.status_code=500) → E → F, and A → D(http.status_code=200);
//! spans are named by the last byte of their id (A=1 ... F=6).

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;
use crate::model::{
    AnyValue, InstrumentationScope, KeyValue, Resource, ResourceSpans, ScopeSpans, Span, any_value,
    span::{Event, Link},
};

/// Request parameters besides `q`.
type Params<'a> = &'a [(&'a str, &'a str)];

const MATCH_C: &str = "{ .http.status_code = 500 }";
const MATCH_C_AND_D: &str = "{ .http.status_code > 0 }";

fn id(n: u8) -> Vec<u8> {
    if n == 0 {
        return Vec::new();
    }
    vec![0, 0, 0, 0, 0, 0, 0, n]
}

fn int_attribute(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..KeyValue::default()
    }
}

fn span(n: u8, parent: u8, status_code: Option<i64>) -> Span {
    Span {
        trace_id: vec![1; 16],
        span_id: id(n),
        parent_span_id: id(parent),
        name: format!("span-{n}"),
        attributes: status_code
            .map(|code| int_attribute("http.status_code", code))
            .into_iter()
            .collect(),
        ..Span::default()
    }
}

fn scope(name: &str, spans: Vec<Span>) -> ScopeSpans {
    ScopeSpans {
        scope: Some(InstrumentationScope {
            name: name.to_owned(),
            ..InstrumentationScope::default()
        }),
        spans,
        ..ScopeSpans::default()
    }
}

/// Two resources, the first with two scopes, so pruning of empty groups shows.
fn reference_trace() -> TracesData {
    TracesData {
        resource_spans: vec![
            ResourceSpans {
                resource: Some(Resource::default()),
                scope_spans: vec![
                    scope("front", vec![span(1, 0, None), span(2, 1, None)]),
                    scope("db", vec![span(4, 1, Some(200))]),
                ],
                ..ResourceSpans::default()
            },
            ResourceSpans {
                resource: Some(Resource::default()),
                scope_spans: vec![scope(
                    "back",
                    vec![span(3, 2, Some(500)), span(5, 3, None), span(6, 5, None)],
                )],
                ..ResourceSpans::default()
            },
        ],
    }
}

fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

fn filter(pairs: &[(&str, &str)]) -> TraceFilter {
    TraceFilter::from_params(&params(pairs))
        .expect("valid parameters")
        .expect("a filter")
}

fn refusal(pairs: &[(&str, &str)]) -> String {
    TraceFilter::from_params(&params(pairs))
        .expect_err("refused")
        .to_string()
}

/// The last byte of every kept span's id, in trace order, and whether spans were dropped.
fn kept(pairs: &[(&str, &str)]) -> (Vec<u8>, bool) {
    let mut data = reference_trace();
    let dropped = filter(pairs).apply(&mut data);
    (span_names(&data), dropped)
}

fn span_names(data: &TracesData) -> Vec<u8> {
    data.resource_spans
        .iter()
        .flat_map(|resource_spans| &resource_spans.scope_spans)
        .flat_map(|scope_spans| &scope_spans.spans)
        .map(|span| span.span_id.last().copied().unwrap_or(0))
        .collect()
}

#[test]
fn depths_and_hierarchy_select_as_tempo_does() {
    // Tempo's own cases for this trace: (query, params, kept spans).
    let cases: &[(&str, Params, &[u8])] = &[
        (MATCH_C, &[], &[3]),
        (MATCH_C, &[("match_depth", "0")], &[3]),
        (MATCH_C, &[("match_depth", "1")], &[3, 5]),
        (MATCH_C, &[("match_depth", "2")], &[3, 5, 6]),
        (MATCH_C, &[("match_depth", "9")], &[3, 5, 6]),
        (MATCH_C, &[("match_depth", "-1")], &[3, 5, 6]),
        // ancestor_depth does nothing without keep_hierarchy, even out of range.
        (MATCH_C, &[("ancestor_depth", "-1")], &[3]),
        (MATCH_C, &[("ancestor_depth", "-2")], &[3]),
        (MATCH_C, &[("ancestor_depth", "x")], &[3]),
        (
            MATCH_C,
            &[("keep_hierarchy", "false"), ("ancestor_depth", "2")],
            &[3],
        ),
        (
            MATCH_C,
            &[
                ("keep_hierarchy", "false"),
                ("ancestor_depth", "-1"),
                ("match_depth", "1"),
            ],
            &[3, 5],
        ),
        (MATCH_C, &[("keep_hierarchy", "true")], &[1, 2, 3]),
        (
            MATCH_C,
            &[("keep_hierarchy", "true"), ("ancestor_depth", "0")],
            &[3],
        ),
        (
            MATCH_C,
            &[("keep_hierarchy", "true"), ("ancestor_depth", "1")],
            &[2, 3],
        ),
        (
            MATCH_C,
            &[("keep_hierarchy", "true"), ("ancestor_depth", "2")],
            &[1, 2, 3],
        ),
        (
            MATCH_C,
            &[("keep_hierarchy", "true"), ("ancestor_depth", "9")],
            &[1, 2, 3],
        ),
        (
            MATCH_C,
            &[
                ("keep_hierarchy", "true"),
                ("ancestor_depth", "1"),
                ("match_depth", "1"),
            ],
            &[2, 3, 5],
        ),
        (
            MATCH_C,
            &[
                ("keep_hierarchy", "true"),
                ("ancestor_depth", "2"),
                ("match_depth", "1"),
            ],
            &[1, 2, 3, 5],
        ),
        // Unbounded both ways still leaves out D, a sibling branch.
        (
            MATCH_C,
            &[
                ("keep_hierarchy", "1"),
                ("ancestor_depth", "-1"),
                ("match_depth", "-1"),
            ],
            &[1, 2, 3, 5, 6],
        ),
        // Several matches: depths count from each, the kept set is the union.
        (MATCH_C_AND_D, &[], &[4, 3]),
        (
            MATCH_C_AND_D,
            &[("keep_hierarchy", "true"), ("ancestor_depth", "1")],
            &[1, 2, 4, 3],
        ),
        (
            MATCH_C_AND_D,
            &[
                ("keep_hierarchy", "true"),
                ("ancestor_depth", "0"),
                ("match_depth", "1"),
            ],
            &[4, 3, 5],
        ),
    ];
    for (query, extra, expected) in cases {
        let mut pairs = vec![("q", *query)];
        pairs.extend_from_slice(extra);
        let (names, dropped) = kept(&pairs);
        assert_eq!(&names, expected, "{query} {extra:?}");
        assert!(dropped, "{query} {extra:?}");
    }
}

#[test]
fn a_selection_covering_the_trace_is_not_a_subset() {
    let (names, dropped) = kept(&[
        ("q", MATCH_C_AND_D),
        ("keep_hierarchy", "true"),
        ("ancestor_depth", "-1"),
        ("match_depth", "-1"),
    ]);
    assert_eq!(names, [1, 2, 4, 3, 5, 6]);
    assert!(!dropped);
    let (names, dropped) = kept(&[("q", "{ }")]);
    assert_eq!(names.len(), 6);
    assert!(!dropped);
}

#[test]
fn nothing_matched_leaves_an_empty_trace() {
    let mut data = reference_trace();
    assert!(
        filter(&[("q", "{ .http.status_code = 404 }"), ("match_depth", "-1")]).apply(&mut data)
    );
    assert!(data.resource_spans.is_empty());
}

#[test]
fn groups_left_without_spans_are_dropped() {
    let mut data = reference_trace();
    filter(&[("q", MATCH_C), ("match_depth", "1")]).apply(&mut data);
    assert_eq!(data.resource_spans.len(), 1);
    let scopes = &data.resource_spans[0].scope_spans;
    assert_eq!(scopes.len(), 1);
    assert_eq!(
        scopes[0].scope.as_ref().map(|s| s.name.as_str()),
        Some("back")
    );

    let mut data = reference_trace();
    filter(&[
        ("q", "{ .http.status_code = 200 }"),
        ("keep_hierarchy", "true"),
    ])
    .apply(&mut data);
    // D and its parent A: the second resource and B's place in the first scope go.
    assert_eq!(span_names(&data), [1, 4]);
    assert_eq!(data.resource_spans.len(), 1);
    assert_eq!(data.resource_spans[0].scope_spans.len(), 2);
}

#[test]
fn span_level_intrinsics_and_scopes_are_evaluated() {
    assert_eq!(kept(&[("q", r#"{ name = "span-5" }"#)]).0, [5]);
    assert_eq!(kept(&[("q", r#"{ instrumentation:name = "db" }"#)]).0, [4]);
    assert_eq!(
        kept(&[("q", "{ span:parentID = \"0000000000000003\" }")]).0,
        [5]
    );
}

/// Span 1 (the root) has events `first {a=1}` and `second {b=2}` and links `{l=1}` and
/// `{m=2}`; span 2, its child, has neither.
fn elements_trace() -> TracesData {
    let mut root = span(1, 0, None);
    for (name, key, value) in [("first", "a", 1), ("second", "b", 2)] {
        root.events.push(Event {
            name: name.to_owned(),
            attributes: vec![int_attribute(key, value)],
            ..Event::default()
        });
    }
    for (key, value) in [("l", 1), ("m", 2)] {
        root.links.push(Link {
            trace_id: vec![2; 16],
            span_id: id(9),
            attributes: vec![int_attribute(key, value)],
            ..Link::default()
        });
    }
    TracesData {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource::default()),
            scope_spans: vec![scope("app", vec![root, span(2, 1, None)])],
            ..ResourceSpans::default()
        }],
    }
}

#[test]
fn event_and_link_conditions_are_decided_by_one_event_and_one_link() {
    let kept = |q: &str| {
        let mut data = elements_trace();
        filter(&[("q", q)]).apply(&mut data);
        span_names(&data)
    };
    let none: [u8; 0] = [];
    // No single event has both; each has one.
    assert_eq!(kept("{ event.a = 1 && event.b = 2 }"), none);
    assert_eq!(kept("{ event.a = 1 || event.b = 2 }"), [1]);
    // An event's name and attributes come from the same event.
    assert_eq!(kept(r#"{ event:name = "first" && event.a = 1 }"#), [1]);
    assert_eq!(kept(r#"{ event:name = "second" && event.a = 1 }"#), none);
    // Likewise links; an event and a link pair freely.
    assert_eq!(kept("{ link.l = 1 && link.m = 2 }"), none);
    assert_eq!(kept("{ link.m = 2 && event.a = 1 }"), [1]);
    // Spans without events or links are still evaluated, once.
    assert_eq!(kept(r#"{ name = "span-2" || event.a = 1 }"#), [1, 2]);
    assert_eq!(kept("{ event.a != 1 }"), none);
    // A span is kept once, however many of its pairs matched.
    assert_eq!(kept("{ span:name =~ \"span-.*\" && link.l >= 0 }"), [1]);
}

#[test]
fn a_matched_span_without_an_id_keeps_no_relatives() {
    let mut data = reference_trace();
    data.resource_spans[1].scope_spans[0].spans[0]
        .span_id
        .clear();
    filter(&[
        ("q", MATCH_C),
        ("keep_hierarchy", "true"),
        ("match_depth", "-1"),
    ])
    .apply(&mut data);
    assert_eq!(span_names(&data), [0]);
}

#[test]
fn parent_cycles_end() {
    let mut data = reference_trace();
    // A's parent becomes F: the tree is now a cycle, and unbounded walks still end.
    data.resource_spans[0].scope_spans[0].spans[0].parent_span_id = id(6);
    filter(&[
        ("q", MATCH_C),
        ("keep_hierarchy", "true"),
        ("match_depth", "-1"),
    ])
    .apply(&mut data);
    assert_eq!(span_names(&data), [1, 2, 4, 3, 5, 6]);
}

#[test]
fn a_blank_query_is_no_filter_whatever_the_other_parameters() {
    for q in [None, Some(""), Some("  \t")] {
        let mut pairs = vec![
            ("keep_hierarchy", "maybe"),
            ("match_depth", "-5"),
            ("ancestor_depth", "x"),
        ];
        if let Some(q) = q {
            pairs.push(("q", q));
        }
        assert!(
            TraceFilter::from_params(&params(&pairs))
                .expect("ignored")
                .is_none()
        );
    }
}

#[test]
fn bad_parameters_are_refused_with_tempos_words() {
    let cases: &[(Params, &str)] = &[
        (
            &[("keep_hierarchy", "yes")],
            "invalid value for keep_hierarchy: strconv.ParseBool: parsing \"yes\": invalid syntax",
        ),
        (
            &[("match_depth", "abc")],
            "invalid value for match_depth: strconv.Atoi: parsing \"abc\": invalid syntax",
        ),
        (
            &[("match_depth", "99999999999999999999")],
            "invalid value for match_depth: strconv.Atoi: parsing \"99999999999999999999\": value out of range",
        ),
        (
            &[("match_depth", "-2")],
            "invalid value for match_depth: must be >= -1",
        ),
        (
            &[("keep_hierarchy", "true"), ("ancestor_depth", "-2")],
            "invalid value for ancestor_depth: must be >= -1",
        ),
        (
            &[("keep_hierarchy", "true"), ("ancestor_depth", "1.5")],
            "invalid value for ancestor_depth: strconv.Atoi: parsing \"1.5\": invalid syntax",
        ),
    ];
    for (extra, expected) in cases {
        let mut pairs = vec![("q", MATCH_C)];
        pairs.extend_from_slice(extra);
        assert_eq!(refusal(&pairs), *expected, "{extra:?}");
    }
}

#[test]
fn only_one_span_level_filter_is_accepted() {
    let cases = [
        (
            "{ .a = }",
            "invalid TraceQL filter: failed to parse TraceQL spanset filter: parse error at line 1, col 8: syntax error: unexpected }",
        ),
        (
            "{ .a = 1 } >> { .b = 2 }",
            "invalid TraceQL filter: only a single TraceQL filter is supported: got a structural or aggregate query",
        ),
        (
            "{ .a = 1 } && { .b = 2 }",
            "invalid TraceQL filter: only a single TraceQL filter is supported: got a structural or aggregate query",
        ),
        (
            "{ .a = 1 } | count() > 2",
            "invalid TraceQL filter: only a single TraceQL filter is supported: got a structural or aggregate query",
        ),
        (
            "{ .a = 1 } | select(.b)",
            "invalid TraceQL filter: only a single TraceQL filter is supported: got 2 pipeline elements",
        ),
        (
            "{ .a = 1 } | rate()",
            "invalid TraceQL filter: only a single TraceQL filter is supported: got a metrics query",
        ),
        (
            "{ traceDuration > 1s }",
            "invalid TraceQL filter: intrinsic is not supported by this filter: \"traceDuration\"",
        ),
        (
            "{ trace:id = \"1\" }",
            "invalid TraceQL filter: intrinsic is not supported by this filter: \"trace:id\"",
        ),
        (
            "{ .a = 1 && childCount > 1 }",
            "invalid TraceQL filter: intrinsic is not supported by this filter: \"span:childCount\"",
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(refusal(&[("q", query)]), expected, "{query}");
    }
}

/// A random tree: span `n` (1-based) has parent `parents[n - 1]` (0: none), always an
/// earlier span; `matches[n - 1]` says whether it matches [`MATCH_C`].
#[derive(Debug, Clone)]
struct RandomTree {
    data: TracesData,
    parents: Vec<u8>,
    matches: Vec<bool>,
}

impl RandomTree {
    /// Hops from span `from` up to its ancestor `to`, if `to` is one.
    fn hops_up(&self, from: u8, to: u8) -> Option<u64> {
        let (mut at, mut hops) = (from, 0);
        while at != 0 {
            if at == to {
                return Some(hops);
            }
            at = self.parents[usize::from(at) - 1];
            hops += 1;
        }
        None
    }

    /// The spans Tempo keeps, worked out from parent chains instead of a walk.
    fn expected(&self, keep_hierarchy: bool, match_depth: i64, ancestor_depth: i64) -> Vec<u8> {
        let within = |hops: u64, depth: i64| depth == -1 || hops <= depth.unsigned_abs();
        let matched: Vec<u8> = (1..=self.names())
            .filter(|&n| self.matches[usize::from(n) - 1])
            .collect();
        let mut kept: Vec<u8> = (1..=self.names())
            .filter(|&n| {
                matched.iter().any(|&m| {
                    let below = self.hops_up(n, m).is_some_and(|h| within(h, match_depth));
                    let above = keep_hierarchy
                        && self
                            .hops_up(m, n)
                            .is_some_and(|h| within(h, ancestor_depth));
                    below || above
                })
            })
            .collect();
        kept.sort_unstable();
        kept
    }

    fn names(&self) -> u8 {
        u8::try_from(self.parents.len()).unwrap_or(u8::MAX)
    }
}

fn random_tree() -> impl Strategy<Value = RandomTree> {
    prop::collection::vec(
        (any::<prop::sample::Index>(), any::<bool>(), any::<bool>()),
        1..24,
    )
    .prop_map(|shape| {
        let mut resources = vec![Vec::new(), Vec::new()];
        let (mut parents, mut matches) = (Vec::new(), Vec::new());
        for (i, (parent, is_root, matched)) in shape.iter().enumerate() {
            let n = u8::try_from(i + 1).unwrap_or(u8::MAX);
            let parent = if *is_root || i == 0 {
                0
            } else {
                u8::try_from(parent.index(i) + 1).unwrap_or(0)
            };
            let code = if *matched { 500 } else { 200 };
            resources[i % 2].push(span(n, parent, Some(code)));
            parents.push(parent);
            matches.push(*matched);
        }
        let data = TracesData {
            resource_spans: resources
                .into_iter()
                .map(|spans| ResourceSpans {
                    scope_spans: vec![scope("s", spans)],
                    ..ResourceSpans::default()
                })
                .collect(),
        };
        RandomTree {
            data,
            parents,
            matches,
        }
    })
}

proptest! {
    #[test]
    fn kept_spans_are_the_matches_and_their_relatives_within_the_depths(
        tree in random_tree(),
        keep_hierarchy in any::<bool>(),
        match_depth in -1i64..4,
        ancestor_depth in -1i64..4,
    ) {
        let mut filtered = tree.data.clone();
        let dropped = filter(&[
            ("q", MATCH_C),
            ("keep_hierarchy", &keep_hierarchy.to_string()),
            ("match_depth", &match_depth.to_string()),
            ("ancestor_depth", &ancestor_depth.to_string()),
        ])
        .apply(&mut filtered);
        let before = span_names(&tree.data);
        let after = span_names(&filtered);
        // A subset, in the trace's order, with no empty group.
        let mut rest = before.iter();
        prop_assert!(after.iter().all(|name| rest.any(|other| other == name)));
        prop_assert_eq!(dropped, after.len() < before.len());
        for resource_spans in &filtered.resource_spans {
            prop_assert!(!resource_spans.scope_spans.is_empty());
            prop_assert!(resource_spans.scope_spans.iter().all(|s| !s.spans.is_empty()));
        }
        // Every match is kept, and exactly the relatives within the depths with it.
        for (i, matched) in tree.matches.iter().enumerate() {
            let name = u8::try_from(i + 1).unwrap_or(u8::MAX);
            prop_assert!(!matched || after.contains(&name));
        }
        let mut sorted = after.clone();
        sorted.sort_unstable();
        prop_assert_eq!(sorted, tree.expected(keep_hierarchy, match_depth, ancestor_depth));
    }
}
