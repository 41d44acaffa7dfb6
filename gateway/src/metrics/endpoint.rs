//! `GET /metrics`: the gateway's own counters, its plugins' counters, and the series
//! metrics plugins produce (span-metrics' RED metrics and service graph), for
//! Prometheus to scrape; OpenMetrics with exemplars when the `Accept` header asks for
//! it. Mounted on the query port by `lib.rs`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::exposition::{self, Format};
use super::registry;
use super::remote_write::RemoteWriteStats;
use crate::forward::Forwarder;
use crate::ingest::Tenants;
use crate::ingest::WriteQueue;
use crate::ingest::memory::MemoryState;
use crate::receiver::ReceiverStats;
use crate::store::TraceStore;

/// Where the counters shown on `/metrics` come from.
#[derive(Clone)]
pub(crate) struct MetricsSources {
    pub receivers: Arc<ReceiverStats>,
    /// Every started tenant: its plugins' counters, the series of its metrics plugins and
    /// its tail sampler; the spans its limits discarded.
    pub tenants: Arc<Tenants>,
    /// With multi-tenancy on, the label naming the tenant on the series of metrics
    /// plugins (`multitenancy.tenant_label`); the `spangate_*` families then carry
    /// `tenant`. `None`: one tenant, no such label.
    pub tenant_label: Option<String>,
    /// Outcome counters of `metrics.remote_write`, when it is on.
    pub remote_write: Option<Arc<RemoteWriteStats>>,
    /// The store, for the size of its cold tier.
    pub store: Arc<TraceStore>,
    /// The exporters' send queues.
    pub forwarder: Arc<Forwarder>,
    /// The memory limiter's last sample.
    pub memory: Arc<MemoryState>,
    /// The ingest write slots: held, waited for, in all.
    pub write_queue: WriteQueue,
}

/// The `/metrics` route.
pub(crate) fn router(sources: MetricsSources) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(sources)
}

async fn metrics(State(sources): State<MetricsSources>, headers: HeaderMap) -> Response {
    let format = Format::negotiate(
        headers
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok()),
    );
    let tenants = sources.tenants.running();
    let tenant_label = sources.tenant_label.clone();
    let store = sources.store.clone();
    // Metrics plugins' `collect` is a guest call, the store's figures read its
    // directory: keep them off the async workers.
    let plugin_points = tokio::task::spawn_blocking(move || {
        let now = super::unix_nanos_now();
        let mut points = registry::store_points(&store.storage_stats(), now / 1_000_000_000);
        for tenant in &tenants {
            let pipeline = tenant.pipeline();
            let mut own = registry::plugin_points(&pipeline);
            if let Some(stats) = tenant.tail_stats() {
                own.extend(registry::tail_points(&stats));
            }
            let mut series = super::series_points(&pipeline, now);
            if let Some(label) = &tenant_label {
                super::label_points(&mut own, registry::TENANT_LABEL, tenant.name());
                super::label_points(&mut series, label, tenant.name());
            }
            points.extend(own);
            points.extend(series);
        }
        points
    })
    .await
    .unwrap_or_default();
    let mut points = registry::receiver_points(&sources.receivers);
    points.extend(registry::discarded_points(&sources.tenants.discarded()));
    points.extend(registry::reload_points(sources.tenants.reloads()));
    points.extend(registry::block_points(&sources.store.block_list()));
    if let Some(remote_write) = &sources.remote_write {
        points.extend(registry::remote_write_points(remote_write));
    }
    if !sources.forwarder.is_empty() {
        points.extend(registry::exporter_points(
            &sources.forwarder.figures(),
            &sources.forwarder.max_bytes(),
            super::unix_nanos_now(),
        ));
    }
    points.extend(registry::memory_points(&sources.memory));
    points.extend(registry::write_queue_points(sources.write_queue.figures()));
    points.extend(plugin_points);
    (
        [(header::CONTENT_TYPE, format.content_type())],
        exposition::render(&points, format),
    )
        .into_response()
}
