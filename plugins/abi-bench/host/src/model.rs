//! The host's own span model and a deterministic generator of realistic batches.
//!
//! The gateway keeps spans grouped by resource (as OTLP does), so a batch
//! holds its distinct service names once and spans refer to them by index.
//! Each ABI design converts from this model and applies results back to it.

/// `span-kind` discriminants, in WIT order.
pub mod kind {
    pub const INTERNAL: u8 = 1;
    pub const SERVER: u8 = 2;
    pub const CLIENT: u8 = 3;
    pub const PRODUCER: u8 = 4;
    pub const CONSUMER: u8 = 5;
}

/// `status-code` discriminants, in WIT order.
pub mod status {
    pub const UNSET: u8 = 0;
    pub const OK: u8 = 1;
    pub const ERROR: u8 = 2;
}

#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub services: Vec<String>,
    pub spans: Vec<Span>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub trace_id_hi: u64,
    pub trace_id_lo: u64,
    pub span_id: u64,
    pub parent_span_id: u64,
    /// Index into `Batch::services`.
    pub service: u32,
    pub name: String,
    pub kind: u8,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub status: u8,
    pub status_message: String,
    pub attributes: Vec<Attribute>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub key: String,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Double(f64),
    Bool(bool),
}

impl Batch {
    /// Index of `name` in `services`, adding it if new (a naive plugin may
    /// return any service name).
    pub fn service_index(&mut self, name: &str) -> u32 {
        match self.services.iter().position(|s| s == name) {
            Some(i) => i as u32,
            None => {
                self.services.push(name.to_owned());
                (self.services.len() - 1) as u32
            }
        }
    }
}

pub const SPANS_PER_TRACE: usize = 10;
pub const SERVICES: usize = 10;

const BLOCKED_KEYS: [&str; 3] = ["password", "authorization", "credit_card"];
const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const ROUTES: [&str; 5] = [
    "/api/v1/orders/{id}",
    "/api/v1/users/{id}/profile",
    "/api/v1/cart",
    "/healthz",
    "/api/v2/payments/{id}/capture",
];
const STATEMENTS: [&str; 3] = [
    "SELECT id, total, status FROM orders WHERE customer_id = $1",
    "UPDATE carts SET updated_at = now() WHERE id = $1",
    "INSERT INTO payments (id, amount) VALUES ($1, $2)",
];

/// A batch of `len` spans: `SPANS_PER_TRACE` spans per trace, `SERVICES`
/// services, 10 attributes per span (7 strings, 3 ints). Every 16th span
/// carries a blocked key and every 25th an email value; ~3% are errors.
pub fn generate_batch(len: usize, seed: u64) -> Batch {
    let mut rng = SplitMix64(seed);
    let services = (0..SERVICES)
        .map(|i| {
            format!(
                "service-{i:02}-{}",
                ["api", "db", "cache", "queue", "web"][i % 5]
            )
        })
        .collect();
    let mut spans = Vec::with_capacity(len);
    let (mut trace_hi, mut trace_lo) = (0, 0);
    let base_time = 1_764_000_000_000_000_000u64;
    for i in 0..len {
        if i % SPANS_PER_TRACE == 0 {
            (trace_hi, trace_lo) = (rng.next(), rng.next());
        }
        let r = rng.next();
        let method = METHODS[(r % 4) as usize];
        let route = ROUTES[(r >> 8) as usize % ROUTES.len()];
        let start = base_time + (i as u64) * 1_000_000 + (r >> 40) % 1000;
        let is_error = (r >> 16) % 100 < 3;
        let mut attributes = vec![
            str_attr("http.method", method),
            str_attr("http.route", route),
            int_attr("http.status_code", if is_error { 500 } else { 200 }),
            str_attr(
                "net.peer.name",
                &format!("peer-{}.internal", (r >> 24) % 50),
            ),
            str_attr("user.id", &format!("user-{:06}", (r >> 32) % 1_000_000)),
            int_attr("thread.id", ((r >> 12) % 64) as i64),
            str_attr("component", ["http", "grpc", "db"][(r >> 4) as usize % 3]),
            str_attr("db.statement", STATEMENTS[(r >> 20) as usize % 3]),
            int_attr("retry.count", ((r >> 28) % 3) as i64),
        ];
        attributes.push(if i % 16 == 3 {
            str_attr(BLOCKED_KEYS[(i / 16) % 3], "s3cr3t-Bearer-abcdef0123456789")
        } else if i % 25 == 7 {
            str_attr("user.email", &format!("first.last{}@example.com", i))
        } else {
            str_attr("deployment.environment", "production")
        });
        spans.push(Span {
            trace_id_hi: trace_hi,
            trace_id_lo: trace_lo,
            span_id: rng.next(),
            parent_span_id: if i % SPANS_PER_TRACE == 0 {
                0
            } else {
                rng.next()
            },
            service: ((i / 3 + (trace_lo as usize)) % SERVICES) as u32,
            name: format!("{method} {route}"),
            kind: [
                kind::SERVER,
                kind::CLIENT,
                kind::INTERNAL,
                kind::PRODUCER,
                kind::CONSUMER,
            ][(r >> 36) as usize % 5],
            start_unix_nanos: start,
            end_unix_nanos: start + 50_000 + (r >> 44) % 5_000_000,
            status: if is_error {
                status::ERROR
            } else if r.is_multiple_of(7) {
                status::OK
            } else {
                status::UNSET
            },
            status_message: if is_error {
                "upstream timed out".into()
            } else {
                String::new()
            },
            attributes,
        });
    }
    Batch { services, spans }
}

fn str_attr(key: &str, value: &str) -> Attribute {
    Attribute {
        key: key.to_owned(),
        value: Value::Str(value.to_owned()),
    }
}

fn int_attr(key: &str, value: i64) -> Attribute {
    Attribute {
        key: key.to_owned(),
        value: Value::Int(value),
    }
}

/// Deterministic, dependency-free random numbers (same batch on every run).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
