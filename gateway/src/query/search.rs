//! HTTP handlers of trace search, tag lookup and TraceQL metrics: parse the parameters,
//! ask the [`SearchApi`] on the blocking pool, answer Tempo's JSON, or protobuf when
//! `Accept` asks for `application/protobuf`. Every route takes any method, as Tempo's do.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

use super::error::QueryError;
use super::limits::QueryLimits;
use super::params::{self, QueryParams};
use super::tempopb;
use super::tenants;
use crate::search::{SearchApi, TagNames, TagNamesQuery, TagScope, TagValuesQuery, TypedTagValue};
use crate::tenant::Tenancy;

/// What the search routes need: the engine and how to find a request's tenants.
#[derive(Clone)]
struct SearchState {
    api: Arc<dyn SearchApi>,
    tenancy: Tenancy,
    limits: QueryLimits,
}

impl SearchState {
    fn tenants(&self, headers: &HeaderMap) -> Result<Vec<String>, QueryError> {
        tenants::of_http(&self.tenancy, headers)
    }
}

type Pairs = Query<Vec<(String, String)>>;

pub(super) fn routes(api: Arc<dyn SearchApi>, tenancy: Tenancy, limits: QueryLimits) -> Router {
    Router::new()
        .route("/api/search", any(search))
        .route("/api/search/tags", any(tag_names_v1))
        .route("/api/v2/search/tags", any(tag_names_v2))
        .route("/api/search/tag/{name}/values", any(tag_values_v1))
        .route("/api/v2/search/tag/{name}/values", any(tag_values_v2))
        .route("/api/metrics/query_range", any(metrics_range))
        .route("/api/metrics/query", any(metrics_instant))
        .with_state(SearchState {
            api,
            tenancy,
            limits,
        })
}

async fn search(
    State(state): State<SearchState>,
    headers: HeaderMap,
    Query(pairs): Pairs,
) -> Result<Response, QueryError> {
    let tenants = state.tenants(&headers)?;
    let query = params::search(&QueryParams::new(pairs))?;
    let api = state.api;
    let response = state
        .limits
        .run(move || {
            let outcome = api.search(&tenants, &query)?;
            Ok(tempopb::search_answer(&query, outcome))
        })
        .await?;
    Format::of(&headers).respond(&response)
}

async fn tag_names_v1(
    State(state): State<SearchState>,
    headers: HeaderMap,
    Query(pairs): Pairs,
) -> Result<Response, QueryError> {
    let (query, names) = tag_names(state, &headers, pairs).await?;
    Format::of(&headers).respond(&tempopb::tag_names_v1(&names, query.scope, query.limit))
}

async fn tag_names_v2(
    State(state): State<SearchState>,
    headers: HeaderMap,
    Query(pairs): Pairs,
) -> Result<Response, QueryError> {
    let (query, names) = tag_names(state, &headers, pairs).await?;
    Format::of(&headers).respond(&tempopb::tag_names_v2(&names, query.scope, query.limit))
}

async fn tag_names(
    state: SearchState,
    headers: &HeaderMap,
    pairs: Vec<(String, String)>,
) -> Result<(TagNamesQuery, TagNames), QueryError> {
    let tenants = state.tenants(headers)?;
    let query = params::tag_names(&QueryParams::new(pairs))?;
    let asked = query.clone();
    let api = state.api;
    let names = state
        .limits
        .run(move || fetch_tag_names(api.as_ref(), &tenants, &asked))
        .await?;
    Ok((query, names))
}

async fn tag_values_v1(
    State(state): State<SearchState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(pairs): Pairs,
) -> Result<Response, QueryError> {
    let tenants = state.tenants(&headers)?;
    let query = params::tag_values(&name, false, &QueryParams::new(pairs))?;
    let values = tag_values(&state, tenants, &query).await?;
    Format::of(&headers).respond(&tempopb::tag_values_v1(&values, query.limit))
}

async fn tag_values_v2(
    State(state): State<SearchState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(pairs): Pairs,
) -> Result<Response, QueryError> {
    let tenants = state.tenants(&headers)?;
    let query = params::tag_values(&name, true, &QueryParams::new(pairs))?;
    let values = tag_values(&state, tenants, &query).await?;
    Format::of(&headers).respond(&tempopb::tag_values_v2(&values, query.limit))
}

async fn tag_values(
    state: &SearchState,
    tenants: Vec<String>,
    query: &TagValuesQuery,
) -> Result<Vec<TypedTagValue>, QueryError> {
    let (api, query) = (state.api.clone(), query.clone());
    state
        .limits
        .run(move || fetch_tag_values(api.as_ref(), &tenants, &query))
        .await
}

async fn metrics_range(
    State(state): State<SearchState>,
    headers: HeaderMap,
    Query(pairs): Pairs,
) -> Result<Response, QueryError> {
    let tenants = state.tenants(&headers)?;
    let query = params::metrics_range(&QueryParams::new(pairs), now_nanos())?;
    let api = state.api;
    let result = state
        .limits
        .run(move || Ok(api.metrics_query(&tenants, &query)?))
        .await?;
    Format::of(&headers).respond(&tempopb::range_answer(result))
}

async fn metrics_instant(
    State(state): State<SearchState>,
    headers: HeaderMap,
    Query(pairs): Pairs,
) -> Result<Response, QueryError> {
    let tenants = state.tenants(&headers)?;
    let query = params::metrics_instant(&QueryParams::new(pairs), now_nanos())?;
    let api = state.api;
    let result = state
        .limits
        .run(move || Ok(api.metrics_query(&tenants, &query)?))
        .await?;
    Format::of(&headers).respond(&tempopb::instant_from_range(tempopb::range_answer(result)))
}

/// Asks the engine for tag names, except for scope `intrinsic`, whose names are the
/// fixed list the query layer adds itself.
pub(super) fn fetch_tag_names(
    api: &dyn SearchApi,
    tenants: &[String],
    request: &TagNamesQuery,
) -> Result<TagNames, QueryError> {
    if request.scope == Some(TagScope::Intrinsic) {
        return Ok(TagNames::default());
    }
    Ok(api.tag_names(tenants, request)?)
}

/// Asks the engine for a tag's values, except for the tags whose values Tempo knows
/// without looking (status and kind keywords, durations).
pub(super) fn fetch_tag_values(
    api: &dyn SearchApi,
    tenants: &[String],
    request: &TagValuesQuery,
) -> Result<Vec<TypedTagValue>, QueryError> {
    match tempopb::virtual_tag_values(&request.tag) {
        Some(values) => Ok(values),
        None => Ok(api.tag_values(tenants, request)?),
    }
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

const PROTOBUF: &str = "application/protobuf";
const JSON: &str = "application/json";

/// The answer's encoding: Tempo reads `Accept` as a substring match, protobuf first;
/// anything else is JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    Protobuf,
}

impl Format {
    fn of(headers: &HeaderMap) -> Format {
        let wants_protobuf = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .any(|value| value.contains(PROTOBUF));
        if wants_protobuf {
            Format::Protobuf
        } else {
            Format::Json
        }
    }

    fn respond<M: prost::Message + serde::Serialize>(
        self,
        message: &M,
    ) -> Result<Response, QueryError> {
        let (content_type, body) = match self {
            Format::Protobuf => (PROTOBUF, message.encode_to_vec()),
            Format::Json => (
                JSON,
                serde_json::to_vec(message)
                    .map_err(|error| QueryError::Internal(error.to_string()))?,
            ),
        };
        Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
    }
}
