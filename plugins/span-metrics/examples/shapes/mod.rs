//! The batch `gateway/benches/pipeline.rs` measures, as test spans: the shape and attribute
//! values of `tools/loadgen`'s `build_request` (15 services with 9 resource attributes each,
//! 64 traces of 8 spans: SERVER roots, CLIENT calls answered by other services' SERVER spans,
//! database CLIENT spans and INTERNAL spans; ~10 attributes per span, 2 % errors with an
//! `exception` event, 10 % `cache.miss` events). Copied rather than depended on, so the plugin
//! crates keep pure-Rust dependencies; a xorshift replaces loadgen's RNG, so the values differ
//! but the mix is the same.

use spangate_plugin_sdk::testing::{TestSpan, TestValue};
use spangate_plugin_sdk::{SpanKind, StatusCode};

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

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64) < p * (1u64 << 53) as f64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn with_resource(mut span: TestSpan, index: usize) -> TestSpan {
    let name = SERVICE_NAMES[index];
    let (language, sdk_version) = LANGUAGES[index % LANGUAGES.len()];
    span = span
        .service(name)
        .resource_attr("service.name", name)
        .resource_attr("service.version", format!("1.{}.{}", index % 7, index % 3))
        .resource_attr(
            "service.instance.id",
            format!("{name}-7c9f8d6b5-{:05x}", index * 7919),
        )
        .resource_attr("service.namespace", "shop")
        .resource_attr("host.name", format!("node-{:02}.prod.internal", index % 5))
        .resource_attr("deployment.environment", "production")
        .resource_attr("telemetry.sdk.name", "opentelemetry")
        .resource_attr("telemetry.sdk.language", language)
        .resource_attr("telemetry.sdk.version", sdk_version);
    span
}

/// Name and attributes of a span of `kind`, as loadgen's `*_attributes`.
fn attributes(
    rng: &mut Rng,
    kind: SpanKind,
    error: bool,
    service: &str,
) -> (String, Vec<(&'static str, TestValue)>) {
    match kind {
        SpanKind::Server => {
            let &(method, route) = rng.pick(HTTP_ROUTES);
            let status = if error {
                500
            } else {
                *rng.pick(&[200, 200, 200, 200, 201, 204, 404])
            };
            let target = route.replace("{id}", &(1 + rng.below(99_999)).to_string());
            let attributes = vec![
                ("http.method", method.into()),
                ("http.route", route.into()),
                ("http.target", target.into()),
                ("http.status_code", TestValue::Int(status)),
                ("http.scheme", "http".into()),
                ("net.host.port", TestValue::Int(8080)),
                (
                    "net.peer.ip",
                    format!("10.0.{}.{}", rng.below(256), rng.below(256)).into(),
                ),
                (
                    "http.response_content_length",
                    TestValue::Int(100 + rng.below(19_900) as i64),
                ),
                ("app.feature.new_checkout", TestValue::Bool(rng.chance(0.3))),
            ];
            (format!("{method} {route}"), attributes)
        }
        SpanKind::Client if rng.chance(0.5) => {
            let &(system, operation, table, statement) = rng.pick(DB_CALLS);
            let attributes = vec![
                ("db.system", system.into()),
                ("db.name", "shop".into()),
                ("db.operation", operation.into()),
                ("db.sql.table", table.into()),
                ("db.statement", statement.into()),
                ("net.peer.name", format!("{system}-0.db.internal").into()),
                ("net.peer.port", TestValue::Int(5432)),
                ("db.rows_affected", TestValue::Int(rng.below(100) as i64)),
                (
                    "db.pool.wait_ms",
                    TestValue::Double(rng.below(5000) as f64 / 1000.0),
                ),
            ];
            (format!("{operation} {table}"), attributes)
        }
        SpanKind::Client => {
            let &(method, route) = rng.pick(HTTP_ROUTES);
            let attributes = vec![
                ("http.method", method.into()),
                ("http.url", format!("http://backend:8080{route}").into()),
                (
                    "http.status_code",
                    TestValue::Int(if error { 503 } else { 200 }),
                ),
                ("net.peer.name", "backend".into()),
                ("net.peer.port", TestValue::Int(8080)),
                ("http.resend_count", TestValue::Int(rng.below(2) as i64)),
                ("http.retry", TestValue::Bool(false)),
                ("client.timeout_s", TestValue::Double(2.0)),
                ("rpc.system", "http".into()),
            ];
            (method.to_owned(), attributes)
        }
        _ => {
            let &(function, namespace) = rng.pick(INTERNAL_FUNCTIONS);
            let attributes = vec![
                ("code.function", function.into()),
                ("code.namespace", format!("{service}.{namespace}").into()),
                ("code.lineno", TestValue::Int(10 + rng.below(890) as i64)),
                ("app.items", TestValue::Int(rng.below(50) as i64)),
                ("app.cache.hit", TestValue::Bool(rng.chance(0.8))),
                (
                    "app.score",
                    TestValue::Double(rng.below(1000) as f64 / 1000.0),
                ),
                ("tenant.id", format!("tenant-{}", 1 + rng.below(39)).into()),
                ("thread.id", TestValue::Int(1 + rng.below(63) as i64)),
                ("thread.name", "worker".into()),
            ];
            (function.to_owned(), attributes)
        }
    }
}

/// One span of `service`: ids are (trace, span, parent span), times (start, end).
fn span(
    rng: &mut Rng,
    (trace, id, parent): (u128, u64, u64),
    service: usize,
    kind: SpanKind,
    (start, end): (u64, u64),
) -> TestSpan {
    let error = rng.chance(0.02);
    let (name, attributes) = attributes(rng, kind, error, SERVICE_NAMES[service]);
    let mut out = with_resource(TestSpan::new(trace, id), service)
        .named(&name)
        .kind(kind)
        .times(start, end)
        .parent(parent);
    for (key, value) in attributes {
        out = out.attr(key, value);
    }
    out = out.attr("enduser.id", format!("user-{}", 1 + rng.below(49_999)));
    if error {
        let &(error_type, message) = rng.pick(ERROR_TYPES);
        out = out.status(StatusCode::Error, message).event(
            "exception",
            [
                ("exception.type", TestValue::from(error_type)),
                ("exception.message", message.into()),
            ],
        );
    } else if rng.chance(0.10) {
        out = out.event(
            "cache.miss",
            [("cache.keys", TestValue::Int(1 + rng.below(19) as i64))],
        );
    }
    out
}

/// 512 spans: 64 traces of 8, as `gateway/benches/pipeline.rs` sends them.
pub fn loadgen_batch() -> Vec<TestSpan> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut spans = Vec::with_capacity(512);
    let now = 1_764_000_000_000_000_000u64;
    for trace_index in 0..64u64 {
        let trace = (u128::from(rng.next()) << 64) | u128::from(rng.next() | 1);
        let end = now - rng.below(1_000_000_000);
        let duration = 2_000_000 + rng.below(800_000_000);
        let root_service = rng.below(SERVICE_NAMES.len() as u64) as usize;
        let base_id = trace_index * 16 + 1;
        // (service, kind, start, end, has child)
        let mut nodes: Vec<(usize, SpanKind, u64, u64, bool)> =
            vec![(root_service, SpanKind::Server, end - duration, end, false)];
        let mut trace_spans = vec![span(
            &mut rng,
            (trace, base_id, 0),
            root_service,
            SpanKind::Server,
            (end - duration, end),
        )];
        for offset in 1..8u64 {
            let candidates: Vec<usize> = (0..nodes.len())
                .filter(|&n| !(nodes[n].1 == SpanKind::Client && nodes[n].4))
                .collect();
            let parent = if rng.chance(0.4) {
                0
            } else {
                *rng.pick(&candidates)
            };
            let (parent_service, parent_kind, parent_start, parent_end, _) = nodes[parent];
            let (service, kind) = if parent_kind == SpanKind::Client {
                let hop = 1 + rng.below(SERVICE_NAMES.len() as u64 - 1) as usize;
                (
                    (parent_service + hop) % SERVICE_NAMES.len(),
                    SpanKind::Server,
                )
            } else if rng.chance(0.6) {
                (parent_service, SpanKind::Client)
            } else {
                (parent_service, SpanKind::Internal)
            };
            let length = parent_end - parent_start;
            let child_length = length / 20 + rng.below(length * 17 / 20 + 1);
            let start = parent_start + rng.below(length - child_length + 1);
            nodes[parent].4 = true;
            nodes.push((service, kind, start, start + child_length, false));
            trace_spans.push(span(
                &mut rng,
                (trace, base_id + offset, base_id + parent as u64),
                service,
                kind,
                (start, start + child_length),
            ));
        }
        spans.extend(trace_spans);
    }
    // The host groups spans by resource, as the request does.
    spans.sort_by(|a, b| a.service_name.cmp(&b.service_name));
    spans
}
