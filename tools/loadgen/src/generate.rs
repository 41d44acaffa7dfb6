//! Builds realistic OTLP trace requests.
//!
//! A request holds whole traces. Each trace has one root SERVER span; the other spans are CLIENT or
//! INTERNAL children of earlier spans, and a CLIENT span may be answered by a SERVER span in another
//! service (a downstream call), so one trace usually spans several `ResourceSpans`. Every child lies
//! inside its parent's time range, so all spans lie inside the root's.
//!
//! Generation is slow-ish (thousands of small allocations per request) and runs once, before the
//! timed phase: `template.rs` then re-stamps ids and timestamps into the encoded bytes.

use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value},
    resource::v1::Resource,
    trace::v1::{
        ResourceSpans, ScopeSpans, Span, Status,
        span::{Event, SpanKind},
        status::StatusCode,
    },
};
use rand::{Rng, seq::IndexedRandom};

/// What one generated request looks like.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Number of distinct services (resources) traces are drawn from.
    pub services: usize,
    /// Spans in every trace (at least 1).
    pub spans_per_trace: usize,
    /// Whole traces in every request (at least 1).
    pub traces_per_request: usize,
}

impl Shape {
    pub fn spans_per_request(&self) -> usize {
        self.spans_per_trace * self.traces_per_request
    }
}

/// Probability that a span ends in error (status ERROR plus an `exception` event).
const ERROR_PROBABILITY: f64 = 0.02;
/// Probability that a span without error carries one ordinary event.
const EVENT_PROBABILITY: f64 = 0.10;

const SERVICE_NAMES: &[&str] = &[
    "frontend",
    "checkout",
    "cart",
    "payment",
    "shipping",
    "currency",
    "email",
    "recommendation",
    "ad",
    "product-catalog",
    "quote",
    "fraud-detection",
    "accounting",
    "inventory",
    "auth",
    "search",
];
const LANGUAGES: &[(&str, &str)] = &[
    ("go", "1.38.0"),
    ("java", "1.52.0"),
    ("python", "1.37.0"),
    ("nodejs", "2.1.0"),
    ("rust", "0.31.0"),
    ("dotnet", "1.13.1"),
];
const HTTP_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/products/{id}"),
    ("GET", "/api/cart"),
    ("POST", "/api/cart/items"),
    ("POST", "/api/checkout"),
    ("GET", "/api/users/{id}/orders"),
    ("PUT", "/api/users/{id}"),
    ("DELETE", "/api/cart/items/{id}"),
    ("GET", "/api/recommendations"),
];
const DB_CALLS: &[(&str, &str, &str, &str)] = &[
    (
        "postgresql",
        "SELECT",
        "orders",
        "SELECT id, total FROM orders WHERE user_id = $1",
    ),
    (
        "postgresql",
        "INSERT",
        "orders",
        "INSERT INTO orders (user_id, total) VALUES ($1, $2)",
    ),
    ("redis", "GET", "sessions", "GET session:*"),
    ("redis", "SET", "cart", "SET cart:* EX 3600"),
    ("mongodb", "find", "catalog", "{\"find\":\"products\"}"),
];
const INTERNAL_FUNCTIONS: &[(&str, &str)] = &[
    ("compute_price", "pricing.engine"),
    ("validate_cart", "cart.rules"),
    ("render_template", "email.templates"),
    ("score_candidates", "reco.model"),
    ("serialize_response", "http.codec"),
];
const ERROR_TYPES: &[(&str, &str)] = &[
    ("TimeoutError", "upstream did not answer within 2s"),
    ("ConnectionResetError", "connection reset by peer"),
    ("ValueError", "invalid quantity: -1"),
];

/// One service as a resource; built once per template.
struct Service {
    name: String,
    resource: Resource,
    scope: InstrumentationScope,
}

/// `service.name` of the generator's service number `index`: `ingest --services N` sends
/// services `0..N` (`frontend`, `checkout`, `cart`, …, then `service-16`, …).
pub fn service_name(index: usize) -> String {
    match SERVICE_NAMES.get(index) {
        Some(name) => (*name).to_string(),
        None => format!("service-{index}"),
    }
}

/// Names of the generated SERVER spans (`"{method} {route}"`, e.g. `GET /api/products/{id}`),
/// the spans any service may answer, as root of a trace or as a downstream call.
pub fn server_span_names() -> Vec<String> {
    HTTP_ROUTES
        .iter()
        .map(|(method, route)| format!("{method} {route}"))
        .collect()
}

fn services(count: usize) -> Vec<Service> {
    (0..count)
        .map(|index| {
            let name = service_name(index);
            let (language, sdk_version) = LANGUAGES[index % LANGUAGES.len()];
            let resource = Resource {
                attributes: vec![
                    kv_str("service.name", &name),
                    kv_str("service.version", &format!("1.{}.{}", index % 7, index % 3)),
                    kv_str(
                        "service.instance.id",
                        &format!("{name}-7c9f8d6b5-{:05x}", index * 7919),
                    ),
                    kv_str("service.namespace", "shop"),
                    kv_str("host.name", &format!("node-{:02}.prod.internal", index % 5)),
                    kv_str("deployment.environment", "production"),
                    kv_str("telemetry.sdk.name", "opentelemetry"),
                    kv_str("telemetry.sdk.language", language),
                    kv_str("telemetry.sdk.version", sdk_version),
                ],
                ..Default::default()
            };
            let scope = InstrumentationScope {
                name: format!("io.opentelemetry.{language}"),
                version: sdk_version.to_string(),
                ..Default::default()
            };
            Service {
                name,
                resource,
                scope,
            }
        })
        .collect()
}

/// The fixed 512-span request the plugin benchmarks measure (gateway's
/// `benches/pipeline.rs` and the plugins' bench examples): 64 traces of 8 spans over 15
/// services, same seed and clock every time, so every bench sees the same spans.
pub fn benchmark_request() -> ExportTraceServiceRequest {
    benchmark_request_of(64)
}

/// [`benchmark_request`] with `traces` traces of 8 spans instead of 64 (batch-size
/// comparisons).
pub fn benchmark_request_of(traces: usize) -> ExportTraceServiceRequest {
    use rand::SeedableRng;
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let shape = Shape {
        services: 15,
        spans_per_trace: 8,
        traces_per_request: traces,
    };
    build_request(&mut rng, &shape, 1_764_000_000_000_000_000)
}

/// Builds one request of `shape.traces_per_request` whole traces whose spans end at or before
/// `now_unix_nano`. Ids are random; `template.rs` replaces them before sending.
pub fn build_request<R: Rng>(
    rng: &mut R,
    shape: &Shape,
    now_unix_nano: u64,
) -> ExportTraceServiceRequest {
    let services = services(shape.services.max(1));
    let mut spans_by_service: Vec<Vec<Span>> = vec![Vec::new(); services.len()];
    for _ in 0..shape.traces_per_request.max(1) {
        // Spread the traces' end times over the last second.
        let trace_end = now_unix_nano - rng.random_range(0..1_000_000_000);
        for (service_index, span) in build_trace(rng, &services, shape.spans_per_trace, trace_end) {
            spans_by_service[service_index].push(span);
        }
    }
    let resource_spans = services
        .into_iter()
        .zip(spans_by_service)
        .filter(|(_, spans)| !spans.is_empty())
        .map(|(service, spans)| ResourceSpans {
            resource: Some(service.resource),
            scope_spans: vec![ScopeSpans {
                scope: Some(service.scope),
                spans,
                schema_url: String::new(),
            }],
            schema_url: "https://opentelemetry.io/schemas/1.24.0".to_string(),
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

/// One trace as (service index, span) pairs, root first.
fn build_trace<R: Rng>(
    rng: &mut R,
    services: &[Service],
    span_count: usize,
    end_unix_nano: u64,
) -> Vec<(usize, Span)> {
    let trace_id: [u8; 16] = random_nonzero(rng);
    // Log-uniform root duration between 2 ms and 800 ms.
    let root_duration = (2e6 * (400f64).powf(rng.random::<f64>())) as u64;
    let root_service = rng.random_range(0..services.len());
    let mut nodes: Vec<(usize, Span, bool)> = Vec::with_capacity(span_count);
    let root = new_span(
        rng,
        &services[root_service].name,
        &trace_id,
        None,
        SpanKind::Server,
        end_unix_nano - root_duration,
        end_unix_nano,
    );
    nodes.push((root_service, root, false));

    for _ in 1..span_count.max(1) {
        let parent_index = pick_parent(rng, &nodes);
        let (parent_service, parent, _) = &nodes[parent_index];
        let parent_is_client = parent.kind == SpanKind::Client as i32;
        let (service, kind) = if parent_is_client && services.len() > 1 {
            // The downstream service answering this client call.
            let offset = rng.random_range(1..services.len());
            ((parent_service + offset) % services.len(), SpanKind::Server)
        } else if rng.random_bool(0.6) {
            (*parent_service, SpanKind::Client)
        } else {
            (*parent_service, SpanKind::Internal)
        };
        let (start, end) =
            sub_interval(rng, parent.start_time_unix_nano, parent.end_time_unix_nano);
        let parent_span_id = parent.span_id.clone();
        let span = new_span(
            rng,
            &services[service].name,
            &trace_id,
            Some(parent_span_id),
            kind,
            start,
            end,
        );
        nodes[parent_index].2 = true;
        nodes.push((service, span, false));
    }
    nodes
        .into_iter()
        .map(|(service, span, _)| (service, span))
        .collect()
}

/// Picks a parent among earlier spans: often the root, never a CLIENT span that already has its
/// downstream SERVER child.
fn pick_parent<R: Rng>(rng: &mut R, nodes: &[(usize, Span, bool)]) -> usize {
    if rng.random_bool(0.4) {
        return 0;
    }
    let candidates: Vec<usize> = nodes
        .iter()
        .enumerate()
        .filter(|(_, (_, span, has_child))| {
            let is_client = span.kind == SpanKind::Client as i32;
            !(is_client && *has_child)
        })
        .map(|(index, _)| index)
        .collect();
    *candidates.choose(rng).unwrap_or(&0)
}

/// A random sub-interval of `[start, end]`, between 5 % and 90 % of its length.
fn sub_interval<R: Rng>(rng: &mut R, start: u64, end: u64) -> (u64, u64) {
    let length = end - start;
    let child_length = (length as f64 * rng.random_range(0.05..0.9)) as u64;
    let slack = length - child_length;
    let child_start = start + rng.random_range(0..=slack);
    (child_start, child_start + child_length)
}

fn new_span<R: Rng>(
    rng: &mut R,
    service_name: &str,
    trace_id: &[u8; 16],
    parent_span_id: Option<Vec<u8>>,
    kind: SpanKind,
    start_time_unix_nano: u64,
    end_time_unix_nano: u64,
) -> Span {
    let is_error = rng.random_bool(ERROR_PROBABILITY);
    let user_id = rng.random_range(1..50_000u32);
    let (name, mut attributes) = match kind {
        SpanKind::Server => server_attributes(rng, is_error),
        SpanKind::Client => client_attributes(rng, is_error),
        _ => internal_attributes(rng, service_name),
    };
    attributes.push(kv_str("enduser.id", &format!("user-{user_id}")));

    let mut events = Vec::new();
    let mut status = None;
    if is_error {
        let (error_type, message) = *ERROR_TYPES.choose(rng).unwrap_or(&ERROR_TYPES[0]);
        status = Some(Status {
            message: message.to_string(),
            code: StatusCode::Error as i32,
        });
        events.push(Event {
            time_unix_nano: end_time_unix_nano - (end_time_unix_nano - start_time_unix_nano) / 10,
            name: "exception".to_string(),
            attributes: vec![
                kv_str("exception.type", error_type),
                kv_str("exception.message", message),
            ],
            dropped_attributes_count: 0,
        });
    } else if rng.random_bool(EVENT_PROBABILITY) {
        events.push(Event {
            time_unix_nano: start_time_unix_nano + (end_time_unix_nano - start_time_unix_nano) / 2,
            name: "cache.miss".to_string(),
            attributes: vec![kv_int("cache.keys", rng.random_range(1..20))],
            dropped_attributes_count: 0,
        });
    }

    Span {
        trace_id: trace_id.to_vec(),
        span_id: random_nonzero::<R, 8>(rng).to_vec(),
        parent_span_id: parent_span_id.unwrap_or_default(),
        // W3C sampled flag plus "has is_remote" (bit 8) as current SDKs send it.
        flags: 0x101,
        name,
        kind: kind as i32,
        start_time_unix_nano,
        end_time_unix_nano,
        attributes,
        events,
        status,
        ..Default::default()
    }
}

fn server_attributes<R: Rng>(rng: &mut R, is_error: bool) -> (String, Vec<KeyValue>) {
    let (method, route) = *HTTP_ROUTES.choose(rng).unwrap_or(&HTTP_ROUTES[0]);
    let status_code = if is_error {
        500
    } else {
        *[200, 200, 200, 200, 201, 204, 404]
            .choose(rng)
            .unwrap_or(&200)
    };
    let target = route.replace("{id}", &rng.random_range(1..100_000u32).to_string());
    let attributes = vec![
        kv_str("http.method", method),
        kv_str("http.route", route),
        kv_str("http.target", &target),
        kv_int("http.status_code", status_code),
        kv_str("http.scheme", "http"),
        kv_int("net.host.port", 8080),
        kv_str(
            "net.peer.ip",
            &format!("10.0.{}.{}", rng.random::<u8>(), rng.random::<u8>()),
        ),
        kv_int(
            "http.response_content_length",
            rng.random_range(100..20_000),
        ),
        kv_bool("app.feature.new_checkout", rng.random_bool(0.3)),
    ];
    (format!("{method} {route}"), attributes)
}

fn client_attributes<R: Rng>(rng: &mut R, is_error: bool) -> (String, Vec<KeyValue>) {
    if rng.random_bool(0.5) {
        let (system, operation, table, statement) = *DB_CALLS.choose(rng).unwrap_or(&DB_CALLS[0]);
        let attributes = vec![
            kv_str("db.system", system),
            kv_str("db.name", "shop"),
            kv_str("db.operation", operation),
            kv_str("db.sql.table", table),
            kv_str("db.statement", statement),
            kv_str("net.peer.name", &format!("{system}-0.db.internal")),
            kv_int("net.peer.port", 5432),
            kv_int("db.rows_affected", rng.random_range(0..100)),
            kv_double("db.pool.wait_ms", rng.random_range(0.0..5.0)),
        ];
        (format!("{operation} {table}"), attributes)
    } else {
        let (method, route) = *HTTP_ROUTES.choose(rng).unwrap_or(&HTTP_ROUTES[0]);
        let status_code = if is_error { 503 } else { 200 };
        let attributes = vec![
            kv_str("http.method", method),
            kv_str("http.url", &format!("http://backend:8080{route}")),
            kv_int("http.status_code", status_code),
            kv_str("net.peer.name", "backend"),
            kv_int("net.peer.port", 8080),
            kv_int("http.resend_count", rng.random_range(0..2)),
            kv_bool("http.retry", false),
            kv_double("client.timeout_s", 2.0),
            kv_str("rpc.system", "http"),
        ];
        (method.to_string(), attributes)
    }
}

fn internal_attributes<R: Rng>(rng: &mut R, service_name: &str) -> (String, Vec<KeyValue>) {
    let (function, namespace) = *INTERNAL_FUNCTIONS
        .choose(rng)
        .unwrap_or(&INTERNAL_FUNCTIONS[0]);
    let attributes = vec![
        kv_str("code.function", function),
        kv_str("code.namespace", &format!("{service_name}.{namespace}")),
        kv_int("code.lineno", rng.random_range(10..900)),
        kv_int("app.items", rng.random_range(0..50)),
        kv_bool("app.cache.hit", rng.random_bool(0.8)),
        kv_double("app.score", rng.random::<f64>()),
        kv_str("tenant.id", &format!("tenant-{}", rng.random_range(1..40))),
        kv_int("thread.id", rng.random_range(1..64)),
        kv_str("thread.name", "worker"),
    ];
    (function.to_string(), attributes)
}

fn random_nonzero<R: Rng, const N: usize>(rng: &mut R) -> [u8; N] {
    loop {
        let bytes: [u8; N] = rng.random();
        if bytes.iter().any(|byte| *byte != 0) {
            return bytes;
        }
    }
}

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn kv_str(key: &str, value: &str) -> KeyValue {
    kv(key, Value::StringValue(value.to_string()))
}

fn kv_int(key: &str, value: i64) -> KeyValue {
    kv(key, Value::IntValue(value))
}

fn kv_bool(key: &str, value: bool) -> KeyValue {
    kv(key, Value::BoolValue(value))
}

fn kv_double(key: &str, value: f64) -> KeyValue {
    kv(key, Value::DoubleValue(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use rand::{SeedableRng, rngs::SmallRng};
    use std::collections::{HashMap, HashSet};

    const NOW: u64 = 1_750_000_000_000_000_000;

    fn shape() -> Shape {
        Shape {
            services: 10,
            spans_per_trace: 10,
            traces_per_request: 10,
        }
    }

    fn all_spans(request: &ExportTraceServiceRequest) -> Vec<&Span> {
        request
            .resource_spans
            .iter()
            .flat_map(|resource_spans| &resource_spans.scope_spans)
            .flat_map(|scope_spans| &scope_spans.spans)
            .collect()
    }

    #[test]
    fn traces_are_whole_trees_with_one_server_root_and_nested_times() {
        let mut rng = SmallRng::seed_from_u64(1);
        for _ in 0..20 {
            let request = build_request(&mut rng, &shape(), NOW);
            let spans = all_spans(&request);
            assert_eq!(spans.len(), 100);
            let mut by_trace: HashMap<&[u8], Vec<&Span>> = HashMap::new();
            for span in &spans {
                by_trace.entry(&span.trace_id).or_default().push(span);
            }
            assert_eq!(by_trace.len(), 10);
            for trace_spans in by_trace.values() {
                assert_eq!(trace_spans.len(), 10);
                let by_id: HashMap<&[u8], &Span> = trace_spans
                    .iter()
                    .map(|span| (span.span_id.as_slice(), *span))
                    .collect();
                let roots: Vec<_> = trace_spans
                    .iter()
                    .filter(|span| span.parent_span_id.is_empty())
                    .collect();
                assert_eq!(roots.len(), 1, "exactly one root");
                let root = roots[0];
                assert_eq!(root.kind, SpanKind::Server as i32);
                for span in trace_spans {
                    assert!(span.end_time_unix_nano <= NOW);
                    assert!(span.start_time_unix_nano <= span.end_time_unix_nano);
                    assert!(span.start_time_unix_nano >= root.start_time_unix_nano);
                    assert!(span.end_time_unix_nano <= root.end_time_unix_nano);
                    if span.parent_span_id.is_empty() {
                        continue;
                    }
                    let parent = by_id
                        .get(span.parent_span_id.as_slice())
                        .expect("parent id names a span of the same trace");
                    assert!(span.start_time_unix_nano >= parent.start_time_unix_nano);
                    assert!(span.end_time_unix_nano <= parent.end_time_unix_nano);
                    assert_ne!(span.kind, SpanKind::Unspecified as i32);
                }
            }
        }
    }

    #[test]
    fn ids_are_unique_and_nonzero() {
        let mut rng = SmallRng::seed_from_u64(2);
        let mut trace_ids = HashSet::new();
        let mut span_ids = HashSet::new();
        let mut span_count = 0;
        for _ in 0..50 {
            let request = build_request(&mut rng, &shape(), NOW);
            for span in all_spans(&request) {
                assert_eq!(span.trace_id.len(), 16);
                assert_eq!(span.span_id.len(), 8);
                assert!(span.span_id.iter().any(|byte| *byte != 0));
                trace_ids.insert(span.trace_id.clone());
                span_ids.insert(span.span_id.clone());
                span_count += 1;
            }
        }
        assert_eq!(trace_ids.len(), 50 * 10);
        assert_eq!(span_ids.len(), span_count);
    }

    #[test]
    fn encoded_size_per_span_is_realistic() {
        let mut rng = SmallRng::seed_from_u64(3);
        let mut bytes = 0;
        let mut spans = 0;
        for _ in 0..20 {
            let request = build_request(&mut rng, &shape(), NOW);
            bytes += request.encoded_len();
            spans += all_spans(&request).len();
        }
        let average = bytes / spans;
        assert!(
            (250..=500).contains(&average),
            "average {average} bytes/span"
        );
    }

    #[test]
    fn spans_carry_about_ten_attributes_and_some_errors() {
        let mut rng = SmallRng::seed_from_u64(4);
        let mut errors = 0;
        let mut events = 0;
        for _ in 0..20 {
            let request = build_request(&mut rng, &shape(), NOW);
            for resource_spans in &request.resource_spans {
                let resource = resource_spans.resource.as_ref().expect("resource");
                assert!(
                    resource
                        .attributes
                        .iter()
                        .any(|kv| kv.key == "service.name")
                );
            }
            for span in all_spans(&request) {
                assert!((9..=12).contains(&span.attributes.len()));
                if span.status.as_ref().map(|status| status.code) == Some(StatusCode::Error as i32)
                {
                    errors += 1;
                }
                events += span.events.len();
            }
        }
        assert!(errors > 0 && errors < 200, "errors {errors} of 2000");
        assert!(events > errors);
    }

    #[test]
    fn published_names_are_the_generated_ones() {
        let mut rng = SmallRng::seed_from_u64(6);
        let server_names: HashSet<String> = server_span_names().into_iter().collect();
        let mut seen_server_names = HashSet::new();
        let mut seen_services = HashSet::new();
        for _ in 0..20 {
            let request = build_request(&mut rng, &shape(), NOW);
            for resource_spans in &request.resource_spans {
                let resource = resource_spans.resource.as_ref().expect("resource");
                let name = resource
                    .attributes
                    .iter()
                    .find(|kv| kv.key == "service.name")
                    .and_then(|kv| kv.value.as_ref()?.value.clone());
                let Some(Value::StringValue(name)) = name else {
                    panic!("service.name is a string");
                };
                seen_services.insert(name);
                for span in resource_spans.scope_spans.iter().flat_map(|s| &s.spans) {
                    if span.kind == SpanKind::Server as i32 {
                        assert!(server_names.contains(&span.name), "{}", span.name);
                        seen_server_names.insert(span.name.clone());
                    }
                }
            }
        }
        let expected_services: HashSet<String> = (0..10).map(service_name).collect();
        assert_eq!(seen_services, expected_services);
        assert_eq!(seen_server_names, server_names);
        assert_eq!(service_name(0), "frontend");
        assert_eq!(service_name(20), "service-20");
    }

    #[test]
    fn single_service_and_single_span_traces_work() {
        let mut rng = SmallRng::seed_from_u64(5);
        let tiny = Shape {
            services: 1,
            spans_per_trace: 1,
            traces_per_request: 3,
        };
        let request = build_request(&mut rng, &tiny, NOW);
        assert_eq!(request.resource_spans.len(), 1);
        assert_eq!(all_spans(&request).len(), 3);
        let many = Shape {
            services: 1,
            spans_per_trace: 30,
            traces_per_request: 1,
        };
        let request = build_request(&mut rng, &many, NOW);
        assert_eq!(all_spans(&request).len(), 30);
    }
}
