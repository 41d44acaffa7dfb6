//! Liveness, identity and telemetry endpoints: `/ready`, `/api/echo`,
//! `/api/status/buildinfo`, `/metrics`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::QueryState;
use super::error::go_text;
use crate::exposition::{self, Format};
use crate::pipeline;

/// The Tempo version whose API we mirror, reported so Grafana turns on the features
/// it gates on version (search streaming ≥ 2.2, metrics streaming ≥ 2.7).
pub const COMPATIBLE_TEMPO_VERSION: &str = "2.9.0";

pub async fn ready() -> Response {
    go_text(StatusCode::OK, "ready")
}

/// Grafana's "Save & test" calls this; only the 2xx matters.
pub async fn echo() -> Response {
    go_text(StatusCode::OK, "echo")
}

/// Prometheus-style build info, in Tempo's field order. Grafana reads only `version`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    version: &'static str,
    revision: &'static str,
    branch: &'static str,
    build_user: &'static str,
    build_date: &'static str,
    go_version: &'static str,
}

pub async fn buildinfo() -> Json<BuildInfo> {
    Json(BuildInfo {
        version: COMPATIBLE_TEMPO_VERSION,
        revision: concat!("spangate-", env!("CARGO_PKG_VERSION")),
        branch: "main",
        build_user: "",
        build_date: "",
        go_version: "",
    })
}

/// The gateway's own counters (remote-write's included), its plugins' counters, and the series metrics plugins
/// produce (span-metrics' RED metrics and service graph), for Prometheus to scrape;
/// OpenMetrics with exemplars when the `Accept` header asks for it.
pub async fn metrics(State(state): State<QueryState>, headers: HeaderMap) -> Response {
    let format = Format::negotiate(
        headers
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok()),
    );
    let pipeline = state.pipelines.current();
    let tail = state.tail.clone();
    // Metrics plugins' `collect` is a guest call: keep it off the async workers.
    let plugin_points = tokio::task::spawn_blocking(move || {
        let mut points = pipeline::metrics::plugin_points(&pipeline);
        if let Some(tail) = tail {
            points.extend(pipeline::metrics::tail_points(&tail.stats()));
        }
        points
    })
    .await
    .unwrap_or_default();
    let mut points = state.telemetry.points();
    if let Some(remote_write) = &state.remote_write {
        points.extend(remote_write.points());
    }
    points.extend(plugin_points);
    (
        [(header::CONTENT_TYPE, format.content_type())],
        exposition::render(&points, format),
    )
        .into_response()
}
