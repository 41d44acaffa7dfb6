//! The Tempo-compatible query API read by Grafana's Tempo datasource
//! (see `../shared/reference/tempo-api.md` §2). One route table; handlers live
//! beside it by topic.

mod error;
mod status;
mod tempo_json;
mod tempo_proto;
mod traces;

use std::sync::Arc;

use axum::Router;
use axum::routing::{any, get};

use crate::pipeline::PipelineHandle;
use crate::remote_write::RemoteWriteStats;
use crate::store::TraceStore;
use crate::tail::TailSampler;
use crate::telemetry::Telemetry;

#[derive(Clone)]
pub struct QueryState {
    pub store: Arc<TraceStore>,
    pub telemetry: Arc<Telemetry>,
    /// Read on `/metrics`: plugin counters and the series of metrics plugins.
    pub pipelines: Arc<PipelineHandle>,
    pub tail: Option<Arc<TailSampler>>,
    /// Outcome counters of `metrics.remote_write`, when it is on.
    pub remote_write: Option<Arc<RemoteWriteStats>>,
}

/// Every route Grafana needs from Tempo so far, plus our own `/metrics`. Query routes accept any method, as
/// Tempo's do; unknown paths answer Go's `404 page not found`.
pub fn router(state: QueryState) -> Router {
    Router::new()
        .route("/ready", any(status::ready))
        .route("/api/echo", any(status::echo))
        .route("/api/status/buildinfo", get(status::buildinfo))
        .route("/metrics", get(status::metrics))
        .route("/api/traces/{trace_id}", any(traces::trace_by_id_v1))
        .route("/api/v2/traces/{trace_id}", any(traces::trace_by_id_v2))
        .fallback(error::not_found)
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
        .with_state(state)
}
