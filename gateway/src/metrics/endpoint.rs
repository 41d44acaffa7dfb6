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
use crate::pipeline::PipelineHandle;
use crate::receiver::ReceiverStats;
use crate::store::TraceStore;
use crate::tail::TailSampler;

/// Where the counters shown on `/metrics` come from.
#[derive(Clone)]
pub(crate) struct MetricsSources {
    pub receivers: Arc<ReceiverStats>,
    /// Plugin counters and the series of metrics plugins, from the current pipeline.
    pub pipelines: Arc<PipelineHandle>,
    pub tail: Option<Arc<TailSampler>>,
    /// Outcome counters of `metrics.remote_write`, when it is on.
    pub remote_write: Option<Arc<RemoteWriteStats>>,
    /// The store, for the size of its cold tier.
    pub store: Arc<TraceStore>,
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
    let pipeline = sources.pipelines.current();
    let tail = sources.tail.clone();
    // Metrics plugins' `collect` is a guest call: keep it off the async workers.
    let plugin_points = tokio::task::spawn_blocking(move || {
        let mut points = registry::plugin_points(&pipeline);
        points.extend(super::series_points(&pipeline, super::unix_nanos_now()));
        if let Some(tail) = tail {
            points.extend(registry::tail_points(&tail.stats()));
        }
        points
    })
    .await
    .unwrap_or_default();
    let mut points = registry::receiver_points(&sources.receivers);
    points.extend(registry::block_points(&sources.store.block_list()));
    points.extend(registry::store_points(&sources.store));
    if let Some(remote_write) = &sources.remote_write {
        points.extend(registry::remote_write_points(remote_write));
    }
    points.extend(plugin_points);
    (
        [(header::CONTENT_TYPE, format.content_type())],
        exposition::render(&points, format),
    )
        .into_response()
}
