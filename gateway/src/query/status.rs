//! Liveness and identity endpoints: `/ready`, `/api/echo`, `/api/status/buildinfo`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::Response;

use super::error::go_text;

/// The Tempo version whose API we mirror, reported so Grafana turns on the features
/// it gates on version (search streaming ≥ 2.2, metrics streaming ≥ 2.7).
pub(super) const COMPATIBLE_TEMPO_VERSION: &str = "2.9.0";

pub(super) async fn ready() -> Response {
    go_text(StatusCode::OK, "ready")
}

/// Grafana's "Save & test" calls this; only the 2xx matters.
pub(super) async fn echo() -> Response {
    go_text(StatusCode::OK, "echo")
}

/// Prometheus-style build info, in Tempo's field order. Grafana reads only `version`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BuildInfo {
    version: &'static str,
    revision: &'static str,
    branch: &'static str,
    build_user: &'static str,
    build_date: &'static str,
    go_version: &'static str,
}

pub(super) async fn buildinfo() -> Json<BuildInfo> {
    Json(BuildInfo {
        version: COMPATIBLE_TEMPO_VERSION,
        revision: concat!("spangate-", env!("CARGO_PKG_VERSION")),
        branch: "main",
        build_user: "",
        build_date: "",
        go_version: "",
    })
}
