//! The mapping, rule by rule.

use super::*;
use crate::model::{AnyValue, KeyValue};
use crate::receiver::jaeger::model::TagValue;

fn tag(key: &str, value: TagValue) -> Tag {
    Tag {
        key: key.to_owned(),
        value,
    }
}

fn text(key: &str, value: &str) -> Tag {
    tag(key, TagValue::String(value.to_owned()))
}

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

fn s(value: &str) -> Value {
    Value::StringValue(value.to_owned())
}

fn span(tags: Vec<Tag>) -> Span {
    Span {
        trace_id_high: 1,
        trace_id_low: 2,
        span_id: 3,
        operation_name: "op".to_owned(),
        start_unix_nano: 1_000,
        end_unix_nano: 5_000,
        tags,
        ..Span::default()
    }
}

fn one(span: Span) -> crate::model::Span {
    let request = to_otlp(Batch {
        process: Some(Process {
            service_name: "svc".to_owned(),
            tags: Vec::new(),
        }),
        spans: vec![span],
    });
    request.resource_spans[0].scope_spans[0].spans[0].clone()
}

#[test]
fn ids_times_name_and_flags() {
    let mut jaeger = span(Vec::new());
    jaeger.trace_id_high = 0x0102_0304_0506_0708;
    jaeger.trace_id_low = 0x1112_1314_1516_1718;
    jaeger.span_id = u64::MAX;
    jaeger.flags = 3; // sampled and debug
    let otlp = one(jaeger);
    assert_eq!(
        hex::encode(&otlp.trace_id),
        "01020304050607081112131415161718"
    );
    assert_eq!(hex::encode(&otlp.span_id), "ffffffffffffffff");
    assert_eq!(otlp.name, "op");
    assert_eq!(
        (otlp.start_time_unix_nano, otlp.end_time_unix_nano),
        (1_000, 5_000)
    );
    assert_eq!(otlp.flags, 1, "only the sampled bit has a W3C meaning");
    assert!(otlp.parent_span_id.is_empty());
    assert_eq!(otlp.status, None);
    assert_eq!(otlp.kind, SpanKind::Unspecified as i32);
    let mut unsampled = span(Vec::new());
    unsampled.flags = 2;
    assert_eq!(one(unsampled).flags, 0);
}

#[test]
fn the_process_is_the_resource() {
    let request = to_otlp(Batch {
        process: Some(Process {
            service_name: "svc".to_owned(),
            tags: vec![
                text("hostname", "h1"),
                text("jaeger.version", "Python-4.8.0"),
                tag("ip", TagValue::Int64(7)),
            ],
        }),
        spans: vec![span(Vec::new())],
    });
    assert_eq!(
        request.resource_spans[0]
            .resource
            .as_ref()
            .unwrap()
            .attributes,
        [
            kv("service.name", s("svc")),
            kv("ip", Value::IntValue(7)),
            kv("host.name", s("h1")),
            kv("opencensus.exporterversion", s("Jaeger-Python-4.8.0")),
        ]
    );
    // An explicit host.name wins; hostname then stays as it is.
    let resource = resource(Some(&Process {
        service_name: String::new(),
        tags: vec![text("hostname", "h1"), text("host.name", "h2")],
    }));
    assert_eq!(
        resource.attributes,
        [kv("hostname", s("h1")), kv("host.name", s("h2"))]
    );
    let resource = resource_of("OTLPResourceNoServiceName");
    assert!(resource.attributes.is_empty());
}

fn resource_of(service_name: &str) -> Resource {
    resource(Some(&Process {
        service_name: service_name.to_owned(),
        tags: vec![text("a", "b")],
    }))
}

#[test]
fn tags_of_every_type_are_attributes() {
    let otlp = one(span(vec![
        text("s", "x"),
        tag("b", TagValue::Bool(false)),
        tag("i", TagValue::Int64(-3)),
        tag("d", TagValue::Float64(0.25)),
        tag("x", TagValue::Binary(vec![1, 2, 3])),
        tag("u", TagValue::Unknown(7)),
    ]));
    assert_eq!(
        otlp.attributes,
        [
            kv("s", s("x")),
            kv("b", Value::BoolValue(false)),
            kv("i", Value::IntValue(-3)),
            kv("d", Value::DoubleValue(0.25)),
            kv("x", Value::BytesValue(vec![1, 2, 3])),
            kv("u", s("<Unknown Jaeger TagType \"7\">")),
        ]
    );
}

#[test]
fn span_kind_comes_from_its_tag() {
    for (value, kind) in [
        ("client", SpanKind::Client),
        ("server", SpanKind::Server),
        ("producer", SpanKind::Producer),
        ("consumer", SpanKind::Consumer),
        ("internal", SpanKind::Internal),
        ("CLIENT", SpanKind::Unspecified),
    ] {
        let otlp = one(span(vec![text("span.kind", value), text("k", "v")]));
        assert_eq!(otlp.kind, kind as i32, "{value}");
        assert_eq!(otlp.attributes, [kv("k", s("v"))]);
    }
}

fn status_of(tags: Vec<Tag>) -> (Option<Status>, Vec<KeyValue>) {
    let otlp = one(span(tags));
    (otlp.status, otlp.attributes)
}

fn status(code: StatusCode, message: &str) -> Option<Status> {
    Some(Status {
        message: message.to_owned(),
        code: code as i32,
    })
}

#[test]
fn the_error_tag_makes_an_error_status() {
    let (got, attributes) = status_of(vec![
        tag("error", TagValue::Bool(true)),
        text("otel.status_code", "OK"),
        text("otel.status_description", "boom"),
    ]);
    assert_eq!(got, status(StatusCode::Error, "boom"));
    assert!(attributes.is_empty(), "{attributes:?}");
    // Without a description, http.status_message gives the message (and stays).
    let (got, attributes) = status_of(vec![
        tag("error", TagValue::Bool(true)),
        text("http.status_message", "Bad Gateway"),
    ]);
    assert_eq!(got, status(StatusCode::Error, "Bad Gateway"));
    assert_eq!(attributes, [kv("http.status_message", s("Bad Gateway"))]);
    // Only a bool true counts; other values stay attributes.
    let (got, attributes) = status_of(vec![text("error", "true")]);
    assert_eq!(got, None);
    assert_eq!(attributes, [kv("error", s("true"))]);
    let (got, _) = status_of(vec![tag("error", TagValue::Bool(false))]);
    assert_eq!(got, None);
}

#[test]
fn otel_status_code_sets_the_status() {
    let (got, attributes) = status_of(vec![
        text("otel.status_code", "ok"),
        text("otel.status_description", "fine"),
    ]);
    assert_eq!(got, status(StatusCode::Ok, "fine"));
    assert!(attributes.is_empty());
    let (got, _) = status_of(vec![text("otel.status_code", "ERROR")]);
    assert_eq!(got, status(StatusCode::Error, ""));
    let (got, attributes) = status_of(vec![text("otel.status_code", "maybe")]);
    assert_eq!(got, status(StatusCode::Unset, ""));
    assert!(attributes.is_empty());
}

#[test]
fn http_status_code_is_the_fallback() {
    let cases = [
        ("server", TagValue::Int64(404), None),
        (
            "client",
            TagValue::Int64(404),
            status(StatusCode::Error, "Not Found"),
        ),
        (
            "",
            TagValue::String("503".into()),
            status(StatusCode::Error, "Not Found"),
        ),
        ("client", TagValue::Int64(200), None),
        ("client", TagValue::Bool(true), None),
    ];
    for (kind, code, expected) in cases {
        let (got, attributes) = status_of(vec![
            text("span.kind", kind),
            tag("http.status_code", code.clone()),
            text("http.status_message", "Not Found"),
        ]);
        assert_eq!(got, expected, "{kind} {code:?}");
        assert_eq!(attributes.len(), 2, "the http tags stay: {attributes:?}");
    }
    // An explicit status wins over the HTTP code.
    let (got, _) = status_of(vec![
        tag("http.status_code", TagValue::Int64(500)),
        text("otel.status_code", "OK"),
    ]);
    assert_eq!(got, status(StatusCode::Ok, ""));
}

#[test]
fn the_trace_state_tag_is_the_trace_state() {
    let otlp = one(span(vec![text("w3c.tracestate", "vendor=1")]));
    assert_eq!(otlp.trace_state, "vendor=1");
    assert!(otlp.attributes.is_empty());
}

#[test]
fn scope_tags_name_the_scope() {
    let request = to_otlp(Batch {
        process: None,
        spans: vec![
            span(vec![
                text("otel.library.name", "old"),
                text("otel.scope.name", "lib"),
                text("otel.scope.version", "1.0"),
            ]),
            span(vec![
                text("otel.library.name", "old"),
                text("otel.library.version", "0.1"),
            ]),
            span(vec![text("otel.scope.version", "2")]),
            span(vec![
                text("otel.scope.name", "lib"),
                text("otel.scope.version", "1.0"),
            ]),
        ],
    });
    let scopes: Vec<_> = request.resource_spans[0]
        .scope_spans
        .iter()
        .map(|group| {
            let scope = group.scope.clone().unwrap_or_default();
            (scope.name, scope.version, group.spans.len())
        })
        .collect();
    assert_eq!(
        scopes,
        [
            ("lib".to_owned(), "1.0".to_owned(), 2),
            ("old".to_owned(), "0.1".to_owned(), 1),
            (String::new(), String::new(), 1),
        ]
    );
    let groups = &request.resource_spans[0].scope_spans;
    // The deprecated keys stay attributes when the current ones name the scope.
    assert_eq!(
        groups[0].spans[0].attributes,
        [kv("otel.library.name", s("old"))]
    );
    assert!(groups[1].spans[0].attributes.is_empty());
    // A version alone names nothing and stays; no scope is sent as none, not as an empty one.
    assert_eq!(groups[2].scope, None);
    assert_eq!(
        groups[2].spans[0].attributes,
        [kv("otel.scope.version", s("2"))]
    );
}

#[test]
fn logs_are_events_named_by_their_event_field() {
    let mut jaeger = span(Vec::new());
    jaeger.logs = vec![
        Log {
            timestamp_unix_nano: 2_000,
            fields: vec![text("event", "retry"), tag("n", TagValue::Int64(2))],
        },
        Log {
            timestamp_unix_nano: 3_000,
            fields: vec![text("message", "no name")],
        },
    ];
    let otlp = one(jaeger);
    assert_eq!(otlp.events.len(), 2);
    assert_eq!(otlp.events[0].name, "retry");
    assert_eq!(otlp.events[0].time_unix_nano, 2_000);
    assert_eq!(otlp.events[0].attributes, [kv("n", Value::IntValue(2))]);
    assert_eq!(otlp.events[1].name, "");
    assert_eq!(otlp.events[1].attributes, [kv("message", s("no name"))]);
}

fn reference(ref_type: RefType, trace_id_low: u64, span_id: u64) -> SpanRef {
    SpanRef {
        ref_type,
        trace_id_high: 1,
        trace_id_low,
        span_id,
    }
}

fn link_summary(links: &[Link]) -> Vec<(String, String, String)> {
    links
        .iter()
        .map(|link| {
            let ref_type = match link.attributes[0]
                .value
                .as_ref()
                .and_then(|v| v.value.clone())
            {
                Some(Value::StringValue(text)) => text,
                other => panic!("{other:?}"),
            };
            (
                hex::encode(&link.trace_id),
                hex::encode(&link.span_id),
                ref_type,
            )
        })
        .collect()
}

#[test]
fn the_first_child_of_reference_in_the_trace_is_the_parent_and_the_rest_are_links() {
    let mut jaeger = span(Vec::new());
    jaeger.references = vec![
        reference(RefType::ChildOf, 99, 10), // another trace: a link
        reference(RefType::FollowsFrom, 2, 11),
        reference(RefType::ChildOf, 2, 12), // the parent
        reference(RefType::ChildOf, 2, 13),
    ];
    let otlp = one(jaeger);
    assert_eq!(hex::encode(&otlp.parent_span_id), "000000000000000c");
    assert_eq!(
        link_summary(&otlp.links),
        [
            (
                "00000000000000010000000000000063".to_owned(),
                "000000000000000a".to_owned(),
                "child_of".to_owned()
            ),
            (
                "00000000000000010000000000000002".to_owned(),
                "000000000000000b".to_owned(),
                "follows_from".to_owned()
            ),
            (
                "00000000000000010000000000000002".to_owned(),
                "000000000000000d".to_owned(),
                "child_of".to_owned()
            ),
        ]
    );
}

#[test]
fn follows_from_is_the_parent_without_child_of_and_stays_a_link() {
    let mut jaeger = span(Vec::new());
    jaeger.references = vec![reference(RefType::FollowsFrom, 2, 11)];
    let otlp = one(jaeger);
    assert_eq!(hex::encode(&otlp.parent_span_id), "000000000000000b");
    assert_eq!(otlp.links.len(), 1);
}

#[test]
fn thrift_parent_span_id_wins_over_references() {
    let mut jaeger = span(Vec::new());
    jaeger.parent_span_id = 5;
    jaeger.references = vec![
        reference(RefType::ChildOf, 2, 5),
        reference(RefType::ChildOf, 2, 6),
    ];
    let otlp = one(jaeger);
    assert_eq!(hex::encode(&otlp.parent_span_id), "0000000000000005");
    assert_eq!(link_summary(&otlp.links).len(), 1);
    assert_eq!(hex::encode(&otlp.links[0].span_id), "0000000000000006");
}

#[test]
fn spans_with_their_own_process_get_their_own_resource_and_blank_spans_are_skipped() {
    let own = Process {
        service_name: "other".to_owned(),
        tags: Vec::new(),
    };
    let mut with_process = span(Vec::new());
    with_process.process = Some(own.clone());
    let mut again = span(Vec::new());
    again.span_id = 4;
    again.process = Some(own);
    let request = to_otlp(Batch {
        process: Some(Process {
            service_name: "svc".to_owned(),
            tags: Vec::new(),
        }),
        spans: vec![Span::default(), with_process, span(Vec::new()), again],
    });
    let services: Vec<_> = request
        .resource_spans
        .iter()
        .map(|rs| {
            (
                rs.resource.as_ref().unwrap().attributes[0].clone(),
                rs.scope_spans[0].spans.len(),
            )
        })
        .collect();
    assert_eq!(
        services,
        [
            (kv("service.name", s("svc")), 1),
            (kv("service.name", s("other")), 2)
        ]
    );
}
