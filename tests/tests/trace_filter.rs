//! Trace by id v2 with Tempo's span filter (`q`, `keep_hierarchy`, `match_depth`,
//! `ancestor_depth`) through the binary: which spans come back, the same in JSON and
//! protobuf, the `PARTIAL` status a subset carries, the order of the size cut and the
//! filter, and Tempo's 400s for bad parameters.
//!
//! The trace is Tempo's own test shape: A(root) → B → C(http.status_code=500) → E → F and
//! A → D(http.status_code=200); A, B and D are `front`'s spans, C, E and F `back`'s.
//! Spans are named by the last byte of their id (A=1 … F=6).

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};
use prost::Message as _;
use spangate_integration_tests::fixtures::{
    av_int, kv, named_spans_request, request, resource, resource_spans, scope, span,
};
use spangate_integration_tests::query::{ACCEPT_PROTOBUF, url_encode};
use spangate_integration_tests::tempo_json;
use spangate_integration_tests::tempopb::TraceByIdResponse;
use spangate_integration_tests::{GatewayOptions, TestGateway, assert_same_spans, ids};

const FILTERED: &str = "Trace filtered, only a subset of spans matching the filter is returned";

fn span_id(n: u8) -> Vec<u8> {
    vec![0xab, 0, 0, 0, 0, 0, 0, n]
}

fn tree_span(trace_id: &[u8], n: u8, parent: Option<u8>, status_code: Option<i64>) -> Span {
    let start = ids::now_nanos() - 60_000_000_000 + u64::from(n) * 1_000_000;
    let mut span = span(
        trace_id,
        &span_id(n),
        parent.map(span_id).as_deref(),
        &format!("span {n}"),
        SpanKind::Internal,
        start,
        start + 500_000,
    );
    span.attributes
        .extend(status_code.map(|code| kv("http.status_code", av_int(code))));
    span
}

/// Starts a gateway holding the reference trace; returns it with the trace's hex id.
fn seeded() -> (TestGateway, String) {
    let gw = TestGateway::start();
    let trace_id = ids::trace_id();
    let t = &trace_id;
    let group = |service: &str, spans: Vec<Span>| -> ResourceSpans {
        resource_spans(resource(service, vec![]), scope("tree", "1"), spans)
    };
    gw.grpc().export_ok(&request(vec![
        group(
            "front",
            vec![
                tree_span(t, 1, None, None),
                tree_span(t, 2, Some(1), None),
                tree_span(t, 4, Some(1), Some(200)),
            ],
        ),
        group(
            "back",
            vec![
                tree_span(t, 3, Some(2), Some(500)),
                tree_span(t, 5, Some(3), None),
                tree_span(t, 6, Some(5), None),
            ],
        ),
    ]));
    let id = ids::hex_id(&trace_id);
    assert_eq!(gw.wait_for_spans(&id, 6).len(), 2, "both resources stored");
    (gw, id)
}

/// The kept spans, sorted, with the answer's status and message, read as protobuf and
/// as JSON; both must agree.
#[track_caller]
fn filtered(gw: &TestGateway, id: &str, query: &str) -> (Vec<u8>, bool, String) {
    let path = format!("/api/v2/traces/{id}?{query}");
    let resp = gw.get_with(&path, &[ACCEPT_PROTOBUF]);
    assert_eq!(resp.status, 200, "GET {path}: {}", resp.describe());
    let proto = TraceByIdResponse::decode(resp.body.as_slice()).expect("a TraceByIDResponse");
    let proto_spans = proto.trace.map(|t| t.resource_spans).unwrap_or_default();

    let resp = gw.get(&path);
    assert_eq!(resp.status, 200, "GET {path}: {}", resp.describe());
    let json = tempo_json::decode_v2(&resp.json()).expect("Tempo v2 JSON");
    assert_same_spans(
        &proto_spans,
        &json.trace.resource_spans,
        &format!("GET {path}: JSON"),
    );
    assert_eq!(
        grouping(&json.trace.resource_spans),
        grouping(&proto_spans),
        "{path}"
    );
    assert_eq!(
        json.status.as_deref() == Some("PARTIAL"),
        proto.status == 1,
        "{path}"
    );
    assert_eq!(json.message, proto.message, "{path}");

    // No resource or scope is left without spans.
    for group in &proto_spans {
        assert!(
            group.scope_spans.iter().all(|s| !s.spans.is_empty()),
            "{path}"
        );
        assert!(!group.scope_spans.is_empty(), "{path}");
    }
    let mut names: Vec<u8> = proto_spans
        .iter()
        .flat_map(|group| &group.scope_spans)
        .flat_map(|scope_spans| &scope_spans.spans)
        .map(|span| span.span_id.last().copied().unwrap_or(0))
        .collect();
    names.sort_unstable();
    (names, proto.status == 1, proto.message)
}

/// The span ids of each scope of each resource: how the answer groups its spans.
fn grouping(resource_spans: &[ResourceSpans]) -> Vec<Vec<Vec<Vec<u8>>>> {
    resource_spans
        .iter()
        .map(|group| {
            group
                .scope_spans
                .iter()
                .map(|scope_spans| {
                    scope_spans
                        .spans
                        .iter()
                        .map(|s| s.span_id.clone())
                        .collect()
                })
                .collect()
        })
        .collect()
}

fn q(query: &str) -> String {
    format!("q={}", url_encode(query))
}

#[test]
fn spans_are_selected_by_match_descendants_and_ancestors() {
    let (gw, id) = seeded();
    let match_c = q("{ .http.status_code = 500 }");
    let match_c_and_d = q("{ span.http.status_code > 0 }");
    let cases: &[(&str, &str, &[u8])] = &[
        (&match_c, "", &[3]),
        (&match_c, "&match_depth=1", &[3, 5]),
        (&match_c, "&match_depth=-1", &[3, 5, 6]),
        (&match_c, "&ancestor_depth=1", &[3]),
        (&match_c, "&keep_hierarchy=true", &[1, 2, 3]),
        (
            &match_c,
            "&keep_hierarchy=true&ancestor_depth=1&match_depth=1",
            &[2, 3, 5],
        ),
        (
            &match_c,
            "&keep_hierarchy=true&ancestor_depth=-1&match_depth=-1",
            &[1, 2, 3, 5, 6],
        ),
        (&match_c_and_d, "", &[3, 4]),
        (
            &match_c_and_d,
            "&keep_hierarchy=true&ancestor_depth=1",
            &[1, 2, 3, 4],
        ),
    ];
    for (query, extra, expected) in cases {
        let (names, partial, message) = filtered(&gw, &id, &format!("{query}{extra}"));
        assert_eq!(&names, expected, "{query}{extra}");
        assert!(partial, "{query}{extra}: a subset is partial");
        assert_eq!(message, FILTERED);
    }
    // Everything selected: the whole trace, complete.
    let everything = format!("{match_c_and_d}&keep_hierarchy=true&match_depth=-1");
    assert_eq!(
        filtered(&gw, &id, &everything),
        (vec![1, 2, 3, 4, 5, 6], false, String::new())
    );
}

#[test]
fn nothing_matched_is_an_empty_partial_trace() {
    let (gw, id) = seeded();
    let query = format!(
        "{}&keep_hierarchy=true&match_depth=-1",
        q(r#"{ name = "nope" }"#)
    );
    assert_eq!(
        filtered(&gw, &id, &query),
        (vec![], true, FILTERED.to_owned())
    );
    // An unknown trace stays an empty, complete answer.
    let unknown = ids::hex_id(&ids::trace_id());
    assert_eq!(
        filtered(&gw, &unknown, &q("{ }")),
        (vec![], false, String::new())
    );
}

#[test]
fn without_a_query_the_other_parameters_are_ignored() {
    let (gw, id) = seeded();
    let whole = (vec![1, 2, 3, 4, 5, 6], false, String::new());
    for query in [
        "keep_hierarchy=nope&match_depth=-7&ancestor_depth=x",
        "q=&match_depth=1",
        "q=+%09&keep_hierarchy=true",
    ] {
        assert_eq!(filtered(&gw, &id, query), whole, "{query}");
    }
    // v1 has no filter at all, as in Tempo.
    let path = format!("/api/traces/{id}?{}", q("{ name = \"span 3\" }"));
    let resp = gw.get_with(&path, &[ACCEPT_PROTOBUF]);
    assert_eq!(resp.status, 200, "{}", resp.describe());
    let trace = opentelemetry_proto::tonic::trace::v1::TracesData::decode(resp.body.as_slice())
        .expect("a trace");
    let count: usize = trace
        .resource_spans
        .iter()
        .flat_map(|group| &group.scope_spans)
        .map(|scope_spans| scope_spans.spans.len())
        .sum();
    assert_eq!(count, 6);
}

#[test]
fn bad_parameters_are_400_with_tempos_message() {
    let (gw, id) = seeded();
    let match_c = q("{ .http.status_code = 500 }");
    let cases = [
        (
            format!("{match_c}&keep_hierarchy=yes"),
            "invalid value for keep_hierarchy: strconv.ParseBool: parsing \"yes\": invalid syntax",
        ),
        (
            format!("{match_c}&match_depth=abc"),
            "invalid value for match_depth: strconv.Atoi: parsing \"abc\": invalid syntax",
        ),
        (
            format!("{match_c}&match_depth=-2"),
            "invalid value for match_depth: must be >= -1",
        ),
        (
            format!("{match_c}&keep_hierarchy=true&ancestor_depth=-2"),
            "invalid value for ancestor_depth: must be >= -1",
        ),
        (
            q("{ .a = }"),
            "invalid TraceQL filter: failed to parse TraceQL spanset filter: parse error at line 1, col 8: syntax error: unexpected }",
        ),
        (
            q("{ .a = 1 } >> { .b = 1 }"),
            "invalid TraceQL filter: only a single TraceQL filter is supported: got a structural or aggregate query",
        ),
        (
            q("{ .a = 1 } | rate()"),
            "invalid TraceQL filter: only a single TraceQL filter is supported: got a metrics query",
        ),
        (
            q("{ rootServiceName = \"front\" }"),
            "invalid TraceQL filter: intrinsic is not supported by this filter: \"rootServiceName\"",
        ),
    ];
    for (query, message) in cases {
        for headers in [&[ACCEPT_PROTOBUF][..], &[]] {
            let resp = gw.get_with(&format!("/api/v2/traces/{id}?{query}"), headers);
            assert_eq!(resp.status, 400, "{query}: {}", resp.describe());
            assert_eq!(resp.media_type().as_deref(), Some("text/plain"), "{query}");
            assert_eq!(resp.text(), message, "{query}");
        }
    }
    // An out-of-range ancestor_depth is not read without keep_hierarchy.
    let (names, _, _) = filtered(&gw, &id, &format!("{match_c}&ancestor_depth=-2"));
    assert_eq!(names, [3]);
}

/// Over `max_bytes_per_trace`, the trace is cut first and filtered after, as in Tempo:
/// a span cut off cannot match, and the message gives both reasons, size first.
#[test]
fn a_trace_cut_to_max_bytes_is_filtered_after_the_cut() {
    let gw = TestGateway::start_with(GatewayOptions {
        query_extra: "max_bytes_per_trace: 10KiB\n".to_owned(),
        ..GatewayOptions::default()
    });
    let mut names = vec!["first"];
    names.extend(["a-span-with-a-long-enough-name-to-fill-the-trace"; 298]);
    names.push("last");
    let (trace_id, request) = named_spans_request("big", &names);
    gw.grpc().export_ok(&request);
    let id = ids::hex_id(&trace_id);
    let both = "trace exceeds max size (max bytes: 10240), partial trace returned; \
                Trace filtered, only a subset of spans matching the filter is returned";

    let (kept, partial, message) = filtered(&gw, &id, &q(r#"{ name = "first" }"#));
    assert_eq!((kept.len(), partial, message.as_str()), (1, true, both));
    let (kept, partial, message) = filtered(&gw, &id, &q(r#"{ name = "last" }"#));
    assert_eq!((kept.len(), partial, message.as_str()), (0, true, both));
    // A filter keeping everything that fit adds nothing to the size message.
    let (kept, _, message) = filtered(&gw, &id, &q("{ }"));
    assert!(kept.len() > 1 && kept.len() < 300, "{} spans", kept.len());
    assert_eq!(
        message,
        "trace exceeds max size (max bytes: 10240), partial trace returned"
    );
}
