//! Builds OTLP traces for tests from a compact description.
#![allow(dead_code)] // Each test binary uses a different part.

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};

/// 2023-11-14T22:13:20Z in nanoseconds.
pub(crate) const BASE: u64 = 1_700_000_000_000_000_000;
pub(crate) const MS: u64 = 1_000_000;

pub(crate) fn s(v: &str) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(v.to_string())),
    }
}

pub(crate) fn i(v: i64) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::IntValue(v)),
    }
}

pub(crate) fn f(v: f64) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::DoubleValue(v)),
    }
}

pub(crate) fn b(v: bool) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::BoolValue(v)),
    }
}

pub(crate) fn arr(values: Vec<AnyValue>) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::ArrayValue(ArrayValue { values })),
    }
}

pub(crate) fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(value),
        ..Default::default()
    }
}

/// Deterministic 8-byte span id for a span name.
pub(crate) fn span_id(name: &str) -> Vec<u8> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        h = (h ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    h.to_be_bytes().to_vec()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Clone)]
pub(crate) struct SpanSpec {
    pub service: String,
    pub resource_attrs: Vec<KeyValue>,
    pub scope: Option<InstrumentationScope>,
    pub span: Span,
    parent_name: Option<String>,
}

/// One span, configured with chained calls.
impl SpanSpec {
    pub(crate) fn new(name: &str) -> Self {
        SpanSpec {
            service: "svc".to_string(),
            resource_attrs: Vec::new(),
            scope: None,
            span: Span {
                name: name.to_string(),
                span_id: span_id(name),
                kind: 1,
                start_time_unix_nano: BASE,
                end_time_unix_nano: BASE + MS,
                ..Default::default()
            },
            parent_name: None,
        }
    }

    pub(crate) fn service(mut self, service: &str) -> Self {
        self.service = service.to_string();
        self
    }

    pub(crate) fn parent(mut self, parent: &str) -> Self {
        self.parent_name = Some(parent.to_string());
        self
    }

    /// OTLP kind number (1 internal, 2 server, 3 client, 4 producer, 5 consumer).
    pub(crate) fn kind(mut self, kind: i32) -> Self {
        self.span.kind = kind;
        self
    }

    /// OTLP status code (1 ok, 2 error).
    pub(crate) fn status(mut self, code: i32, message: &str) -> Self {
        self.span.status = Some(Status {
            code,
            message: message.to_string(),
        });
        self
    }

    /// Start offset and duration in milliseconds from [`BASE`].
    pub(crate) fn at(mut self, start_ms: u64, duration_ms: u64) -> Self {
        self.span.start_time_unix_nano = BASE + start_ms * MS;
        self.span.end_time_unix_nano = BASE + (start_ms + duration_ms) * MS;
        self
    }

    /// Start and duration in nanoseconds from [`BASE`].
    pub(crate) fn at_nanos(mut self, start: u64, duration: u64) -> Self {
        self.span.start_time_unix_nano = BASE + start;
        self.span.end_time_unix_nano = BASE + start + duration;
        self
    }

    pub(crate) fn attr(mut self, key: &str, value: AnyValue) -> Self {
        self.span.attributes.push(kv(key, value));
        self
    }

    pub(crate) fn resource_attr(mut self, key: &str, value: AnyValue) -> Self {
        self.resource_attrs.push(kv(key, value));
        self
    }

    pub(crate) fn event(mut self, name: &str, offset_ms: u64, attrs: Vec<KeyValue>) -> Self {
        let time = self.span.start_time_unix_nano + offset_ms * MS;
        self.span.events.push(span::Event {
            time_unix_nano: time,
            name: name.to_string(),
            attributes: attrs,
            ..Default::default()
        });
        self
    }

    pub(crate) fn link(
        mut self,
        trace_id: Vec<u8>,
        span_id: Vec<u8>,
        attrs: Vec<KeyValue>,
    ) -> Self {
        self.span.links.push(span::Link {
            trace_id,
            span_id,
            attributes: attrs,
            ..Default::default()
        });
        self
    }

    pub(crate) fn scope(mut self, name: &str, version: &str, attrs: Vec<KeyValue>) -> Self {
        self.scope = Some(InstrumentationScope {
            name: name.to_string(),
            version: version.to_string(),
            attributes: attrs,
            ..Default::default()
        });
        self
    }
}

/// Assembles spans into `ResourceSpans`, keeping span order: consecutive spans with the
/// same service, resource attributes and scope share a `ResourceSpans`/`ScopeSpans`.
pub(crate) fn build_trace(trace_id: &[u8], specs: Vec<SpanSpec>) -> Vec<ResourceSpans> {
    let ids: Vec<(String, Vec<u8>)> = specs
        .iter()
        .map(|s| (s.span.name.clone(), s.span.span_id.clone()))
        .collect();
    let mut out: Vec<ResourceSpans> = Vec::new();
    let mut last_key: Option<(String, Vec<KeyValue>)> = None;
    for spec in specs {
        let mut span = spec.span;
        span.trace_id = trace_id.to_vec();
        if let Some(parent) = &spec.parent_name {
            span.parent_span_id = ids
                .iter()
                .find(|(n, _)| n == parent)
                .map(|(_, id)| id.clone())
                .unwrap_or_else(|| span_id(parent));
        }
        let mut attrs = vec![kv("service.name", s(&spec.service))];
        attrs.extend(spec.resource_attrs);
        let key = (spec.service.clone(), attrs.clone());
        if last_key.as_ref() != Some(&key) {
            out.push(ResourceSpans {
                resource: Some(Resource {
                    attributes: attrs,
                    ..Default::default()
                }),
                scope_spans: Vec::new(),
                schema_url: String::new(),
            });
            last_key = Some(key);
        }
        let rs = out.last_mut().expect("pushed above");
        if rs.scope_spans.last().map(|ss| &ss.scope) != Some(&spec.scope) {
            rs.scope_spans.push(ScopeSpans {
                scope: spec.scope.clone(),
                spans: Vec::new(),
                schema_url: String::new(),
            });
        }
        rs.scope_spans
            .last_mut()
            .expect("pushed above")
            .spans
            .push(span);
    }
    out
}

pub(crate) const SHOP_TRACE_ID: [u8; 16] = [
    0x00, 0x0a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56,
];
pub(crate) const OTHER_TRACE_ID: [u8; 16] = [0x11; 16];
pub(crate) const OTHER_SPAN_ID: [u8; 8] = [0x22; 8];

/// The conformance trace:
///
/// ```text
/// GET /checkout   frontend  server   0+100ms  http.method=GET http.status_code=200
/// ├─ auth         auth      client   1+10ms   retry=true weight=0.5 tags=[a,b] "a b"=c
/// │  └─ db query  auth      client   2+5ms    ERROR "timeout" db.system=postgres rows=42
/// │                                           tags=[x], event exception +1ms
/// ├─ charge       payments  server   20+50ms  ERROR "card declined" http.status_code=500
/// │  │                                        amount=19.99, link to another trace
/// │  ├─ charge card payments client  25+30ms  OK http.status_code=402 scores=[1,5]
/// │  └─ fraud check payments internal 30+2ms  score=7
/// └─ publish      queue     producer 80+15ms  (resource http.method=POST)
///    └─ consume   worker    consumer 96+10ms  http.method=PUT (resource http.method=POST)
/// ```
pub(crate) fn shop_trace() -> Vec<ResourceSpans> {
    build_trace(
        &SHOP_TRACE_ID,
        vec![
            SpanSpec::new("GET /checkout")
                .service("frontend")
                .resource_attr("deployment.environment", s("prod"))
                .scope(
                    "io.opentelemetry.http",
                    "1.2.0",
                    vec![kv("lib.lang", s("go"))],
                )
                .kind(2)
                .at(0, 100)
                .attr("http.method", s("GET"))
                .attr("http.status_code", i(200)),
            SpanSpec::new("auth")
                .service("auth")
                .parent("GET /checkout")
                .kind(3)
                .at(1, 10)
                .attr("retry", b(true))
                .attr("weight", f(0.5))
                .attr("tags", arr(vec![s("a"), s("b")]))
                .attr("a b", s("c")),
            SpanSpec::new("db query")
                .service("auth")
                .parent("auth")
                .kind(3)
                .status(2, "timeout")
                .at(2, 5)
                .attr("db.system", s("postgres"))
                .attr("rows", i(42))
                .attr("tags", arr(vec![s("x")]))
                .event("exception", 1, vec![kv("exception.type", s("Timeout"))]),
            SpanSpec::new("charge")
                .service("payments")
                .parent("GET /checkout")
                .kind(2)
                .status(2, "card declined")
                .at(20, 50)
                .attr("http.status_code", i(500))
                .attr("amount", f(19.99))
                .link(
                    OTHER_TRACE_ID.to_vec(),
                    OTHER_SPAN_ID.to_vec(),
                    vec![kv("kind", s("follows"))],
                ),
            SpanSpec::new("charge card")
                .service("payments")
                .parent("charge")
                .kind(3)
                .status(1, "")
                .at(25, 30)
                .attr("http.status_code", i(402))
                .attr("scores", arr(vec![i(1), i(5)])),
            SpanSpec::new("fraud check")
                .service("payments")
                .parent("charge")
                .kind(1)
                .at(30, 2)
                .attr("score", i(7)),
            SpanSpec::new("publish")
                .service("queue")
                .resource_attr("http.method", s("POST"))
                .parent("GET /checkout")
                .kind(4)
                .at(80, 15),
            SpanSpec::new("consume")
                .service("worker")
                .resource_attr("http.method", s("POST"))
                .parent("publish")
                .kind(5)
                .at(96, 10)
                .attr("http.method", s("PUT")),
        ],
    )
}
