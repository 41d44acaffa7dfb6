//! Service graphs: Tempo's `service-graphs` processor
//! (`modules/generator/processor/servicegraphs/servicegraphs.go` and
//! `store/store.go`, `store/edge.go`).
//!
//! A request between two services shows up as a CLIENT span in one and a
//! SERVER child span in the other (PRODUCER/CONSUMER for messaging). Each half
//! is filed under the key *(trace id, client span id)* — a client span under
//! its own id, a server span under its parent id — and when both halves are
//! present the edge is complete and recorded. Halves wait at most `wait`;
//! the store holds at most `max_items`. Nothing disappears silently: a half
//! that expires either becomes a virtual-node edge (as Tempo infers them) or
//! is counted in `traces_service_graph_unpaired_spans_total`, and a half that
//! does not fit is counted in `traces_service_graph_dropped_spans_total`.

use std::collections::VecDeque;

use crate::config::{RegistryConfig, ServiceGraphsConfig};
use crate::exemplar::{ExemplarLabels, RawExemplar};
use crate::hash::FastMap;
use crate::histogram::{Counter, Histogram, histogram_series_cost};
use crate::labels::{KeyBuilder, dedup_last_wins, lookup, sanitize_with_collisions, truncate};
use crate::model::{SpanId, SpanKind, SpanSource, StatusCode, TraceId};
use crate::reads::Reads;
use crate::registry::{Budget, SeriesMap};
use crate::series::{MetricType, Series};

pub const REQUEST_TOTAL: &str = "traces_service_graph_request_total";
pub const REQUEST_FAILED_TOTAL: &str = "traces_service_graph_request_failed_total";
pub const REQUEST_SERVER_SECONDS: &str = "traces_service_graph_request_server_seconds";
pub const REQUEST_CLIENT_SECONDS: &str = "traces_service_graph_request_client_seconds";
pub const REQUEST_MESSAGING_SYSTEM_SECONDS: &str =
    "traces_service_graph_request_messaging_system_seconds";
pub const UNPAIRED_SPANS_TOTAL: &str = "traces_service_graph_unpaired_spans_total";
pub const DROPPED_SPANS_TOTAL: &str = "traces_service_graph_dropped_spans_total";

/// Attributes naming the server of a database call, in the order
/// `upsert_database_request` tries them (the port goes with the address).
const DATABASE_SERVER_ATTRIBUTES: [&str; 4] = [
    "peer.service",
    "server.address",
    "network.peer.address",
    "network.peer.port",
];

/// Label of virtual-node edges when `enable_virtual_node_label` is set.
const VIRTUAL_NODE_LABEL: &str = "virtual_node";
/// Labels an attribute dimension must not overwrite.
const RESERVED: &[&str] = &["client", "server", "connection_type", VIRTUAL_NODE_LABEL];

/// `store.ConnectionType`; the `connection_type` label value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ConnectionType {
    #[default]
    Unknown,
    MessagingSystem,
    Database,
    VirtualNode,
}

impl ConnectionType {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionType::Unknown => "",
            ConnectionType::MessagingSystem => "messaging_system",
            ConnectionType::Database => "database",
            ConnectionType::VirtualNode => "virtual_node",
        }
    }
}

/// Which half of an edge a span is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct EdgeKey {
    trace: TraceId,
    /// The client span's id; `None` for a root SERVER span (no parent), so
    /// it can never pair with a client (not even one with an invalid zero id).
    span: Option<SpanId>,
}

/// A (possibly half) edge, as Tempo's `store.Edge`.
#[derive(Debug, Default)]
struct Edge {
    trace_id: TraceId,
    client_span: Option<SpanId>,
    server_span: Option<SpanId>,
    connection_type: ConnectionType,
    client_service: String,
    server_service: String,
    client_latency: f64,
    server_latency: f64,
    client_end: u64,
    server_start: u64,
    failed: bool,
    /// Dimension values by slot; `""` = not seen.
    dims: Vec<String>,
    /// Name of an uninstrumented peer (first `peer_attributes` hit).
    peer_node: String,
    virtual_node: &'static str,
    /// Root SERVER span: nobody called it that we know of.
    root: bool,
    generation: u64,
}

impl Edge {
    fn is_complete(&self) -> bool {
        !self.client_service.is_empty() && !self.server_service.is_empty()
    }
}

/// One label of the edge metrics.
#[derive(Clone, Copy, Debug)]
enum Slot {
    Client,
    Server,
    ConnectionType,
    Dim(usize),
    VirtualNode,
}

/// Series of one completed-edge label set.
struct EdgeSeries {
    requests: Counter,
    failed: Counter,
    server: Histogram,
    client: Histogram,
    messaging: Option<Histogram>,
}

/// Self-observability counters (Tempo exports these as
/// `tempo_metrics_generator_processor_service_graphs_*`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ServiceGraphStats {
    /// New edges seen (`..._edges`).
    pub edges: u64,
    /// Edges that expired without a pair and without a virtual node
    /// (`..._expired_edges`).
    pub expired_edges: u64,
    /// Spans refused because the store was full (`..._dropped_spans`).
    pub dropped_spans: u64,
}

pub struct ServiceGraphProcessor {
    wait: u64,
    max_items: usize,
    bounds: Vec<f64>,
    dims: Vec<String>,
    prefix: bool,
    peer_attributes: Vec<String>,
    database_name_attributes: Vec<String>,
    messaging_histogram: bool,
    slots: Vec<Slot>,

    store: FastMap<EdgeKey, Edge>,
    /// Insertion order with expiry times; entries of edges completed since
    /// are skipped lazily (their generation no longer matches).
    queue: VecDeque<(EdgeKey, u64, u64)>,
    next_generation: u64,

    edges: SeriesMap<EdgeSeries>,
    unpaired: SeriesMap<Counter>,
    dropped: SeriesMap<Counter>,
    stats: ServiceGraphStats,
    key: KeyBuilder,
}

impl ServiceGraphProcessor {
    pub fn new(cfg: &ServiceGraphsConfig, reg: &RegistryConfig) -> Self {
        let max_name = reg.max_label_name_length;
        let mut names = vec![
            "client".to_owned(),
            "server".to_owned(),
            "connection_type".to_owned(),
        ];
        let mut slots = vec![Slot::Client, Slot::Server, Slot::ConnectionType];
        let label = |n: &str| truncate(&sanitize_with_collisions(n, RESERVED), max_name).to_owned();
        for (i, d) in cfg.dimensions.iter().enumerate() {
            if cfg.enable_client_server_prefix {
                names.push(label(&format!("client_{d}")));
                slots.push(Slot::Dim(2 * i));
                names.push(label(&format!("server_{d}")));
                slots.push(Slot::Dim(2 * i + 1));
            } else {
                names.push(label(d));
                slots.push(Slot::Dim(i));
            }
        }
        if cfg.enable_virtual_node_label {
            names.push(VIRTUAL_NODE_LABEL.to_owned());
            slots.push(Slot::VirtualNode);
        }
        let keep = dedup_last_wins(&names);
        let names: Vec<String> = keep.iter().map(|&i| names[i].clone()).collect();
        let slots: Vec<Slot> = keep.iter().map(|&i| slots[i]).collect();
        let side_labels = vec![
            "client".to_owned(),
            "server".to_owned(),
            "connection_type".to_owned(),
        ];
        Self {
            wait: cfg.wait.as_nanos(),
            max_items: cfg.max_items,
            bounds: cfg.histogram_buckets.clone(),
            dims: cfg.dimensions.clone(),
            prefix: cfg.enable_client_server_prefix,
            peer_attributes: cfg.peer_attributes.clone(),
            database_name_attributes: cfg.database_name_attributes.clone(),
            messaging_histogram: cfg.enable_messaging_system_latency_histogram,
            slots,
            store: FastMap::default(),
            queue: VecDeque::new(),
            next_generation: 0,
            edges: SeriesMap::new(names),
            unpaired: SeriesMap::new(side_labels.clone()),
            dropped: SeriesMap::new(side_labels),
            stats: ServiceGraphStats::default(),
            key: KeyBuilder::new(reg.max_label_value_length),
        }
    }

    /// Adds what [`observe`](Self::observe) reads of a span to `reads`.
    pub fn reads(&self, reads: &mut Reads) {
        reads.trace_id = true;
        reads.span_id = true;
        reads.parent_span_id = true;
        reads.service_name = true;
        reads.kind = true;
        reads.times = true;
        reads.status = true;
        for d in &self.dims {
            reads.resource_then_span(d);
        }
        for k in &self.peer_attributes {
            reads.span_only(k);
        }
        for k in self
            .database_name_attributes
            .iter()
            .map(String::as_str)
            .chain(DATABASE_SERVER_ATTRIBUTES)
        {
            reads.resource_then_span(k);
        }
    }

    /// Half edges currently waiting for their pair.
    pub fn pending_edges(&self) -> usize {
        self.store.len()
    }

    pub fn stats(&self) -> ServiceGraphStats {
        self.stats
    }

    pub fn observe<S: SpanSource>(&mut self, span: &S, now: u64, budget: &mut Budget) {
        let (side, connection_type) = match span.kind() {
            SpanKind::Client => (Side::Client, ConnectionType::Unknown),
            SpanKind::Producer => (Side::Client, ConnectionType::MessagingSystem),
            SpanKind::Server => (Side::Server, ConnectionType::Unknown),
            SpanKind::Consumer => (Side::Server, ConnectionType::MessagingSystem),
            // Not part of an edge.
            SpanKind::Internal | SpanKind::Unspecified => return,
        };
        // Tempo skips resources without `service.name` entirely.
        let Some(service) = span.service_name().map(|name| name.stringify()) else {
            return;
        };
        let key = match side {
            Side::Client => EdgeKey {
                trace: span.trace_id(),
                span: Some(span.span_id()),
            },
            Side::Server => EdgeKey {
                trace: span.trace_id(),
                span: span.parent(),
            },
        };

        if let Some(edge) = self.store.get_mut(&key) {
            let mut edge = std::mem::take(edge);
            self.update(&mut edge, side, connection_type, span, service);
            if edge.is_complete() {
                self.store.remove(&key);
                self.complete(&edge, now, budget);
            } else if let Some(slot) = self.store.get_mut(&key) {
                *slot = edge;
            }
            return;
        }

        let mut edge = Edge {
            dims: vec![String::new(); self.dim_slots()],
            ..Edge::default()
        };
        self.update(&mut edge, side, connection_type, span, service);
        self.stats.edges += 1;
        if edge.is_complete() {
            // A database call: the client span alone names both ends.
            self.complete(&edge, now, budget);
            return;
        }
        if self.store.len() >= self.max_items {
            // Tempo drops right away ("todo: try to evict expired items");
            // evicting what has already expired first loses less.
            self.expire(now, budget);
        }
        if self.store.len() >= self.max_items {
            self.stats.dropped_spans += 1;
            self.count_side(&edge, now, budget, CounterKind::Dropped);
            return;
        }
        edge.generation = self.next_generation;
        self.next_generation += 1;
        self.queue
            .push_back((key, edge.generation, now.saturating_add(self.wait)));
        self.store.insert(key, edge);
        self.compact_queue();
    }

    fn dim_slots(&self) -> usize {
        if self.prefix {
            2 * self.dims.len()
        } else {
            self.dims.len()
        }
    }

    /// `updateClientEdge` / `updateServerEdge`.
    fn update<S: SpanSource>(
        &self,
        e: &mut Edge,
        side: Side,
        connection_type: ConnectionType,
        span: &S,
        service: String,
    ) {
        e.trace_id = span.trace_id();
        e.connection_type = connection_type;
        e.failed = e.failed || span.status_code() == StatusCode::Error;
        let latency = span.duration_seconds();
        match side {
            Side::Client => {
                e.client_service = service;
                e.client_latency = latency;
                e.client_end = span.end_unix_nanos();
                e.client_span = Some(span.span_id());
                self.upsert_dims(e, side, span);
                self.upsert_peer_node(e, span);
                self.upsert_database_request(e, span);
            }
            Side::Server => {
                e.server_service = service;
                e.server_latency = latency;
                e.server_start = span.start_unix_nanos();
                e.server_span = Some(span.span_id());
                self.upsert_dims(e, side, span);
                if span.parent().is_none() {
                    e.root = true;
                    self.upsert_peer_node(e, span);
                }
            }
        }
    }

    /// Dimension values: resource first, then span; only found values are
    /// written, so the other half's value survives.
    fn upsert_dims<S: SpanSource>(&self, e: &mut Edge, side: Side, span: &S) {
        for (i, d) in self.dims.iter().enumerate() {
            let Some(v) = lookup(span, d) else {
                continue;
            };
            let slot = match (self.prefix, side) {
                (false, _) => i,
                (true, Side::Client) => 2 * i,
                (true, Side::Server) => 2 * i + 1,
            };
            e.dims[slot] = v.stringify();
        }
    }

    /// `upsertPeerNode`: span attributes only, first configured key present.
    fn upsert_peer_node<S: SpanSource>(&self, e: &mut Edge, span: &S) {
        for k in &self.peer_attributes {
            if let Some(v) = span.span_attribute(k) {
                e.peer_node = v.stringify();
                return;
            }
        }
    }

    /// `upsertDatabaseRequest`: a CLIENT span with a database attribute is a
    /// complete edge on its own; the server is named by `peer.service`,
    /// `server.address`, `network.peer.address[:network.peer.port]`, or the
    /// database name, in that order.
    fn upsert_database_request<S: SpanSource>(&self, e: &mut Edge, span: &S) {
        let lookup = |k: &str| lookup(span, k).map(|v| v.stringify());
        let Some(db_name) = self.database_name_attributes.iter().find_map(|k| lookup(k)) else {
            return;
        };
        e.connection_type = ConnectionType::Database;
        e.server_latency = span.duration_seconds();
        let [peer_service, server_address, peer_address, peer_port] = DATABASE_SERVER_ATTRIBUTES;
        if let Some(peer) = lookup(peer_service) {
            e.server_service = peer;
        } else if let Some(addr) = lookup(server_address) {
            e.server_service = addr;
        } else if let Some(host) = lookup(peer_address) {
            e.server_service = match lookup(peer_port) {
                Some(port) => format!("{host}:{port}"),
                None => host,
            };
        } else if !db_name.is_empty() {
            e.server_service = db_name;
        }
    }

    /// `onComplete`: record one request on the edge's label set.
    fn complete(&mut self, e: &Edge, now: u64, budget: &mut Budget) {
        self.key.clear();
        for slot in &self.slots {
            match slot {
                Slot::Client => self.key.push(&e.client_service),
                Slot::Server => self.key.push(&e.server_service),
                Slot::ConnectionType => self.key.push(e.connection_type.as_str()),
                Slot::Dim(i) => self.key.push(&e.dims[*i]),
                Slot::VirtualNode => self.key.push(e.virtual_node),
            }
        }
        let messaging =
            self.messaging_histogram && e.connection_type == ConnectionType::MessagingSystem;
        let hist_cost = histogram_series_cost(&self.bounds);
        let cost = 2 + 2 * hist_cost + if messaging { hist_cost } else { 0 };
        let bounds = &self.bounds;
        let Some(s) = self
            .edges
            .get_or_create(self.key.as_bytes(), now, budget, cost, || EdgeSeries {
                requests: Counter::default(),
                failed: Counter::default(),
                server: Histogram::new(bounds),
                client: Histogram::new(bounds),
                messaging: messaging.then(|| Histogram::new(bounds)),
            })
        else {
            return;
        };
        let any_span = e.client_span.or(e.server_span).unwrap_or_default();
        let exemplar = |span: Option<SpanId>, value: f64| RawExemplar {
            trace_id: e.trace_id,
            span_id: span.unwrap_or(any_span),
            value,
            timestamp_unix_nanos: now,
        };
        s.requests.add(1.0, Some(exemplar(None, 1.0)));
        if e.failed {
            s.failed.add(1.0, Some(exemplar(None, 1.0)));
        }
        s.server.observe(
            bounds,
            e.server_latency,
            exemplar(e.server_span, e.server_latency),
        );
        s.client.observe(
            bounds,
            e.client_latency,
            exemplar(e.client_span, e.client_latency),
        );
        if let Some(h) = s.messaging.as_mut() {
            // Producer end → consumer start; Tempo skips (and warns) when the
            // clocks make it zero or negative.
            if e.client_end < e.server_start {
                let secs = (e.server_start - e.client_end) as f64 / 1e9;
                h.observe(bounds, secs, exemplar(e.server_span, secs));
            }
        }
    }

    /// `onExpire`: infer a virtual node if Tempo would, else count unpaired.
    fn on_expire(&mut self, mut e: Edge, now: u64, budget: &mut Budget) {
        let original_type = e.connection_type;
        if e.client_service.is_empty() {
            if e.root {
                // An uninstrumented caller (a browser, curl): name it by its
                // peer attribute, or "user".
                e.client_service = if e.peer_node.is_empty() {
                    "user".to_owned()
                } else {
                    e.peer_node.clone()
                };
                e.virtual_node = "client";
                e.connection_type = ConnectionType::VirtualNode;
                self.complete(&e, now, budget);
                return;
            }
        } else if e.server_service.is_empty() && !e.peer_node.is_empty() {
            // A call to something that sends no spans (an external API).
            e.server_service = e.peer_node.clone();
            e.virtual_node = "server";
            e.connection_type = ConnectionType::VirtualNode;
            self.complete(&e, now, budget);
            return;
        }
        self.stats.expired_edges += 1;
        e.connection_type = original_type;
        self.count_side(&e, now, budget, CounterKind::Unpaired);
    }

    fn count_side(&mut self, e: &Edge, now: u64, budget: &mut Budget, which: CounterKind) {
        self.key.clear();
        self.key.push(&e.client_service);
        self.key.push(&e.server_service);
        self.key.push(e.connection_type.as_str());
        let map = match which {
            CounterKind::Unpaired => &mut self.unpaired,
            CounterKind::Dropped => &mut self.dropped,
        };
        let span = e.client_span.or(e.server_span).unwrap_or_default();
        if let Some(c) = map.get_or_create(self.key.as_bytes(), now, budget, 1, Counter::default) {
            c.add(
                1.0,
                Some(RawExemplar {
                    trace_id: e.trace_id,
                    span_id: span,
                    value: 1.0,
                    timestamp_unix_nanos: now,
                }),
            );
        }
    }

    /// Evict every half edge whose `wait` has passed at `now`.
    pub fn expire(&mut self, now: u64, budget: &mut Budget) {
        while let Some(&(key, generation, expires_at)) = self.queue.front() {
            if expires_at > now {
                break;
            }
            self.queue.pop_front();
            if self
                .store
                .get(&key)
                .is_some_and(|e| e.generation == generation)
                && let Some(edge) = self.store.remove(&key)
            {
                self.on_expire(edge, now, budget);
            }
        }
    }

    /// Drop queue entries of edges completed since, once they outnumber the
    /// live ones, so the queue stays O(`max_items`) under any rate.
    fn compact_queue(&mut self) {
        if self.queue.len() > 2 * self.store.len().max(1024) {
            let store = &self.store;
            self.queue
                .retain(|(k, g, _)| store.get(k).is_some_and(|e| e.generation == *g));
        }
    }

    pub fn remove_stale(&mut self, cutoff: u64, budget: &mut Budget) {
        self.edges.remove_stale(cutoff, budget);
        self.unpaired.remove_stale(cutoff, budget);
        self.dropped.remove_stale(cutoff, budget);
    }

    pub fn export(&self, names: &ExemplarLabels, out: &mut Vec<Series>) {
        for e in self.edges.iter() {
            let s = &e.value;
            let mut push = |name, metric_type, help, value| {
                out.push(Series {
                    name,
                    metric_type,
                    help,
                    labels: e.labels.clone(),
                    value,
                })
            };
            push(
                REQUEST_TOTAL,
                MetricType::Counter,
                "Total count of requests between two nodes",
                s.requests.export(names),
            );
            push(
                REQUEST_FAILED_TOTAL,
                MetricType::Counter,
                "Total count of failed requests between two nodes",
                s.failed.export(names),
            );
            push(
                REQUEST_SERVER_SECONDS,
                MetricType::Histogram,
                "Time for a request between two nodes as seen from the server",
                s.server.export(&self.bounds, names),
            );
            push(
                REQUEST_CLIENT_SECONDS,
                MetricType::Histogram,
                "Time for a request between two nodes as seen from the client",
                s.client.export(&self.bounds, names),
            );
            if let Some(h) = &s.messaging {
                push(
                    REQUEST_MESSAGING_SYSTEM_SECONDS,
                    MetricType::Histogram,
                    "Time between the producer span end and the consumer span start",
                    h.export(&self.bounds, names),
                );
            }
        }
        for (map, name, help) in [
            (
                &self.unpaired,
                UNPAIRED_SPANS_TOTAL,
                "Total count of unpaired spans (expired without their pair)",
            ),
            (
                &self.dropped,
                DROPPED_SPANS_TOTAL,
                "Total count of dropped spans (edge store full)",
            ),
        ] {
            for e in map.iter() {
                out.push(Series {
                    name,
                    metric_type: MetricType::Counter,
                    help,
                    labels: e.labels.clone(),
                    value: e.value.export(names),
                });
            }
        }
    }
}

#[derive(Clone, Copy)]
enum CounterKind {
    Unpaired,
    Dropped,
}
