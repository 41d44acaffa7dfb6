//! Checks the fuzz targets share: what must hold of any OTLP request a receiver
//! produces (ingest validation accounts for every span; protobuf encoding is stable),
//! and the query-string splitting of the query-API target.

use prost::Message;
use spangate::model::ExportTraceServiceRequest;

/// The number of spans in `request`.
pub fn span_count(request: &ExportTraceServiceRequest) -> usize {
    spangate::model::count_spans(&request.resource_spans)
}

/// Encoding a decoded request and decoding it again gives the same bytes: nothing a
/// decoder accepts is lost or changed by the store's protobuf round trip. Bytes, not
/// values, are compared: a NaN double is never equal to itself.
pub fn check_protobuf_round_trip(request: &ExportTraceServiceRequest) {
    let encoded = request.encode_to_vec();
    let decoded =
        ExportTraceServiceRequest::decode(encoded.as_slice()).expect("an encoded request decodes");
    assert_eq!(
        decoded.encode_to_vec(),
        encoded,
        "re-encoding changed the request"
    );
}

/// Runs ingest's validation as every receiver's request goes through it: each span is
/// accepted or rejected (counted, explained), and what is kept passes validation again.
pub fn check_ingest_validation(mut request: ExportTraceServiceRequest) {
    let before = span_count(&request);
    let (rejected, message) = spangate::fuzzing::retain_valid_spans(&mut request);
    assert_eq!(
        span_count(&request) + rejected,
        before,
        "spans lost or invented"
    );
    assert_eq!(
        rejected > 0,
        !message.is_empty(),
        "rejections explained: {message:?}"
    );
    for span in request
        .resource_spans
        .iter()
        .flat_map(|resource| &resource.scope_spans)
        .flat_map(|scope| &scope.spans)
    {
        assert_eq!(span.trace_id.len(), 16);
        assert!(span.trace_id.iter().any(|byte| *byte != 0));
        assert_eq!(span.span_id.len(), 8);
        assert!(span.span_id.iter().any(|byte| *byte != 0));
        assert!(matches!(span.parent_span_id.len(), 0 | 8));
    }
    let (again, _) = spangate::fuzzing::retain_valid_spans(&mut request);
    assert_eq!(again, 0, "validation is idempotent");
}

/// Both checks, for a request a receiver decoded.
pub fn check_request(request: ExportTraceServiceRequest) {
    check_protobuf_round_trip(&request);
    check_ingest_validation(request);
}

/// For a decoder that reports how many spans it read (Jaeger, Zipkin): translation to
/// OTLP kept each of them, then the checks of `check_request`.
pub fn check_translated(decoded: Result<(ExportTraceServiceRequest, usize), String>) {
    if let Ok((request, spans)) = decoded {
        assert_eq!(
            span_count(&request),
            spans,
            "translation lost or invented spans"
        );
        check_request(request);
    }
}

/// `a=1&b=2` as the query API's routes see it (already percent-decoded by the HTTP
/// layer, so no decoding here): pairs in order, a pair without `=` has an empty value.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

/// A batch with what the plugin columns hold: two resources (one without a service
/// name), scopes, spans with every attribute value type, events and links with
/// attributes, a status, a parent.
pub fn sample_request() -> ExportTraceServiceRequest {
    use spangate::model::any_value::Value;
    use spangate::model::span::{Event, Link};
    use spangate::model::{
        AnyValue, ArrayValue, KeyValue, KeyValueList, Resource, ResourceSpans, ScopeSpans, Span,
        Status,
    };
    let kv = |key: &str, value: Value| KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    };
    let text = |text: &str| Value::StringValue(text.to_owned());
    let span = |id: u8, parent: Option<u8>, name: &str| Span {
        trace_id: vec![7; 16],
        span_id: vec![0, 0, 0, 0, 0, 0, 0, id],
        parent_span_id: parent
            .map(|p| vec![0, 0, 0, 0, 0, 0, 0, p])
            .unwrap_or_default(),
        name: name.to_owned(),
        kind: i32::from(id % 6),
        start_time_unix_nano: 1_000 * u64::from(id),
        end_time_unix_nano: 1_500 * u64::from(id),
        ..Span::default()
    };
    let mut root = span(1, None, "GET /");
    root.attributes = vec![
        kv("http.method", text("GET")),
        kv("http.status_code", Value::IntValue(200)),
        kv("ratio", Value::DoubleValue(0.25)),
        kv("cached", Value::BoolValue(true)),
        kv("raw", Value::BytesValue(vec![0, 255])),
        kv(
            "list",
            Value::ArrayValue(ArrayValue {
                values: vec![AnyValue {
                    value: Some(text("a")),
                }],
            }),
        ),
        kv(
            "map",
            Value::KvlistValue(KeyValueList {
                values: vec![kv("inner", Value::IntValue(-1))],
            }),
        ),
    ];
    root.status = Some(Status {
        message: "ok".to_owned(),
        code: 1,
    });
    root.events = vec![
        Event {
            time_unix_nano: 1_100,
            name: "retry".to_owned(),
            attributes: vec![kv("attempt", Value::IntValue(2))],
            ..Event::default()
        },
        Event {
            name: "done".to_owned(),
            ..Event::default()
        },
    ];
    let mut child = span(2, Some(1), "SELECT");
    child.attributes = vec![kv("db.system", text("postgres"))];
    child.links = vec![Link {
        trace_id: vec![9; 16],
        span_id: vec![1; 8],
        attributes: vec![kv("link.kind", text("follows"))],
        ..Link::default()
    }];
    child.status = Some(Status {
        message: "timeout".to_owned(),
        code: 2,
    });
    let resource = |attributes: Vec<KeyValue>, spans: Vec<Span>| ResourceSpans {
        resource: Some(Resource {
            attributes,
            ..Resource::default()
        }),
        scope_spans: vec![ScopeSpans {
            spans,
            ..ScopeSpans::default()
        }],
        ..ResourceSpans::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![
            resource(
                vec![
                    kv("service.name", text("checkout")),
                    kv("host.name", text("a")),
                ],
                vec![root, child],
            ),
            resource(
                vec![kv("host.name", text("b"))],
                vec![span(3, None, "tick")],
            ),
        ],
    }
}
