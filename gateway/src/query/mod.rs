//! The Tempo-compatible query API read by Grafana's Tempo datasource (the endpoints
//! of Tempo's query frontend, with its parameters and answers). One route table; handlers live
//! beside it by topic. The same port also serves gRPC `tempopb.StreamingQuerier`.
//!
//! Every endpoint that reads traces resolves the request's tenants first (`tenants.rs`:
//! `X-Scope-OrgID` with multi-tenancy on, 401 `no org id` without it, 400 for a bad
//! one); `/ready`, `/api/echo`, `/api/status/buildinfo` and `/metrics` need no tenant,
//! as in Tempo.
//!
//! `GET /` and `/ui/...` serve the built-in trace view (`crate::ui`), with storage on or
//! off (off, its searches show the 501 that says so).

mod config;
mod error;
pub(crate) mod fuzzing;
mod grpc;
mod limits;
mod params;
mod search;
mod status;
mod tempo_json;
mod tempo_proto;
pub mod tempopb;
mod tenants;
mod traces;

use std::sync::Arc;

use axum::Router;
use axum::routing::{any, get};

use crate::search::SearchApi;
use crate::store::TraceStore;
use crate::tenant::Tenancy;
use crate::ui::ViewSettings;
pub use config::QueryConfig;
pub use error::QueryError;
pub use limits::QueryLimits;

#[derive(Clone)]
pub struct QueryState {
    pub store: Arc<TraceStore>,
    /// Trace search, tag lookup and TraceQL metrics, over HTTP and gRPC.
    pub search: Arc<dyn SearchApi>,
    /// Which tenants a request reads (`X-Scope-OrgID` with multi-tenancy on).
    pub tenancy: Tenancy,
    /// Concurrent engine calls and their time budget.
    pub limits: QueryLimits,
    /// `query.max_bytes_per_trace`: a larger trace is partial in v2, refused in v1 (0: no limit).
    pub max_bytes_per_trace: usize,
    /// What the built-in trace view is told of the config.
    pub view: ViewSettings,
}

/// Every route Grafana needs from Tempo, the built-in trace view, plus `extra` routes
/// served on the same port (the gateway's `/metrics`), and gRPC `tempopb.StreamingQuerier` for HTTP/2 gRPC
/// requests. Query routes accept any method, as Tempo's do; unknown paths answer Go's
/// `404 page not found`.
pub fn router(state: QueryState, extra: Router) -> Router {
    let search = state.search.clone();
    let tenancy = state.tenancy;
    let limits = state.limits.clone();
    let view = crate::ui::routes(&state.view);
    let routes = Router::new()
        .route("/ready", any(status::ready))
        .route("/api/echo", any(status::echo))
        .route("/api/status/buildinfo", get(status::buildinfo))
        .route("/api/traces/{trace_id}", any(traces::trace_by_id_v1))
        .route("/api/v2/traces/{trace_id}", any(traces::trace_by_id_v2))
        .with_state(state)
        .merge(view)
        .merge(extra);
    serve_with_search(routes, search, tenancy, limits)
}

/// The query port of a gateway that keeps no spans (`storage.enabled: false`): the
/// status routes and `extra` (`/metrics`) answer; every Tempo API and gRPC querier route
/// answers 501 saying that storage is off, so nobody mistakes it for an empty store.
pub fn storage_off_router(extra: Router, view: &ViewSettings) -> Router {
    Router::new()
        .route("/ready", any(status::ready))
        .route("/api/echo", any(status::echo))
        .route("/api/status/buildinfo", get(status::buildinfo))
        .route("/api/{*rest}", any(error::storage_off))
        .route("/tempopb.StreamingQuerier/{*rest}", any(error::storage_off))
        .merge(crate::ui::routes(view))
        .merge(extra)
        .fallback(error::not_found)
}

/// `routes` plus the search routes over HTTP and gRPC, the 404 fallback and gzip.
fn serve_with_search(
    routes: Router,
    search: Arc<dyn SearchApi>,
    tenancy: Tenancy,
    limits: QueryLimits,
) -> Router {
    let http = routes
        .merge(search::routes(search.clone(), tenancy, limits.clone()))
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(
            limits.clone(),
            refuse_oversized_expressions,
        ))
        .layer(tower_http::compression::CompressionLayer::new().gzip(true));
    grpc::with_streaming_querier(http, search, tenancy, limits)
}

/// Every `/api/` route's TraceQL (`q`, `query`) is held to the size limit before any
/// handler parses it: search, tags, tag values, metrics and trace by id alike.
async fn refuse_oversized_expressions(
    axum::extract::State(limits): axum::extract::State<QueryLimits>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if request.uri().path().starts_with("/api/")
        && let Ok(axum::extract::Query(pairs)) =
            axum::extract::Query::<Vec<(String, String)>>::try_from_uri(request.uri())
        && let Err(error) = limits.check_expression_params(
            pairs
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
        )
    {
        return error.into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests;
