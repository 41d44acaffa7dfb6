//! Liveness, identity and telemetry endpoints: `/ready`, `/api/echo`,
//! `/api/status/buildinfo`, `/metrics`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::QueryState;
use super::error::go_text;

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

/// The gateway's own counters, for Prometheus to scrape.
pub async fn metrics(State(state): State<QueryState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.telemetry.render_prometheus(),
    )
        .into_response()
}
