//! Trace by id: `GET /api/traces/{id}` (v1) and `GET /api/v2/traces/{id}` (v2),
//! protobuf when `Accept` asks for `application/protobuf`, Tempo's JSON otherwise.
//! v2 narrows the trace to the spans a TraceQL filter selects (`q`, see `filter.rs`).

mod filter;

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prost::Message;

use super::QueryState;
use super::error::QueryError;
use super::tempo_json::TraceJson;
use super::tempo_proto::{TraceByIdMetrics, TraceByIdResponse};
use super::tenants;
use crate::model::{TraceId, TracesData};
use crate::store::blocks::merge_trace_parts;
use crate::store::{StoreError, StoredTrace, TimeWindow};
use filter::{FILTERED_MESSAGE, TraceFilter};

const PROTOBUF: &str = "application/protobuf";
const JSON: &str = "application/json";

pub(super) async fn trace_by_id_v1(
    state: State<QueryState>,
    path: Path<String>,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, QueryError> {
    let wants_protobuf = wants_protobuf(&headers);
    let max_bytes = state.max_bytes_per_trace;
    let lookup = TraceLookup::parse(&state, &path, &query, &headers)?;
    let Some(trace) = lookup.read(&state).await? else {
        // Tempo's v1 answers an unknown trace with 404 and no body at all.
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    // v1 has no way to say "partial": a trace over the limit is refused.
    if max_bytes > 0 && trace.data.encoded_len() > max_bytes {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{TOO_LARGE} (max bytes: {max_bytes}); read it with /api/v2/traces, which returns it partially"),
        )
            .into_response());
    }
    if wants_protobuf {
        return Ok(protobuf_response(trace.data.encode_to_vec()));
    }
    let json = TraceJson {
        data: &trace.data,
        resource_spans_key: "batches",
    };
    json_response(&json)
}

pub(super) async fn trace_by_id_v2(
    state: State<QueryState>,
    path: Path<String>,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, QueryError> {
    let wants_protobuf = wants_protobuf(&headers);
    let max_bytes = state.max_bytes_per_trace;
    let lookup = TraceLookup::parse(&state, &path, &query, &headers)?;
    // Checked before reading, so a bad filter costs no read.
    let filter = TraceFilter::from_params(&query)?;
    let has_filter = filter.is_some();
    let found = lookup.read(&state).await?;
    // Tempo's v2 answers an unknown trace with 200 and an empty trace.
    let (mut data, inspected_bytes) = match found {
        Some(StoredTrace {
            data,
            inspected_bytes,
        }) => (data, inspected_bytes),
        None => (TracesData::default(), 0),
    };
    // Over the limit, v2 answers the spans that fit, marked partial; then the filter
    // runs on what is left (Tempo's order), and a subset is marked partial too. Both
    // walk every span of a trace of up to `max_bytes_per_trace`: off the async workers,
    // and a filter (a TraceQL query over one trace) in a query slot.
    let shape = move || {
        let mut reasons = Vec::new();
        if max_bytes > 0 && truncate_to_bytes(&mut data, max_bytes) {
            reasons.push(format!(
                "{TOO_LARGE} (max bytes: {max_bytes}), partial trace returned"
            ));
        }
        if let Some(filter) = filter
            && filter.apply(&mut data)
        {
            reasons.push(FILTERED_MESSAGE.to_owned());
        }
        Ok((data, reasons))
    };
    let (data, reasons) = if has_filter {
        state.limits.run(shape).await?
    } else {
        tokio::task::spawn_blocking(shape)
            .await
            .map_err(|error| QueryError::Internal(error.to_string()))??
    };
    let partial = (!reasons.is_empty()).then(|| reasons.join("; "));
    if wants_protobuf {
        let response = TraceByIdResponse {
            trace: Some(data),
            metrics: Some(TraceByIdMetrics { inspected_bytes }),
            status: i32::from(partial.is_some()),
            message: partial.unwrap_or_default(),
        };
        return Ok(protobuf_response(response.encode_to_vec()));
    }
    json_response(&TraceByIdJson {
        trace: TraceJson {
            data: &data,
            resource_spans_key: "resourceSpans",
        },
        metrics: TraceByIdMetricsJson {
            inspected_bytes: (inspected_bytes > 0).then(|| inspected_bytes.to_string()),
        },
        status: partial.is_some().then_some("PARTIAL"),
        message: partial,
    })
}

/// Tempo's words for a trace over `max_bytes_per_trace`.
const TOO_LARGE: &str = "trace exceeds max size";

/// Keeps the spans of `data`, in order, while their encoded size stays within
/// `max_bytes`; returns whether any span was left out.
fn truncate_to_bytes(data: &mut TracesData, max_bytes: usize) -> bool {
    if data.encoded_len() <= max_bytes {
        return false;
    }
    let mut used = 0usize;
    for resource_spans in &mut data.resource_spans {
        for scope_spans in &mut resource_spans.scope_spans {
            scope_spans.spans.retain(|span| {
                used += span.encoded_len();
                used <= max_bytes
            });
        }
        resource_spans
            .scope_spans
            .retain(|scope_spans| !scope_spans.spans.is_empty());
    }
    data.resource_spans
        .retain(|resource_spans| !resource_spans.scope_spans.is_empty());
    // The spans' own sizes leave out their framing and the resources': trim the last
    // spans until the whole message fits.
    while data.encoded_len() > max_bytes {
        let Some(resource_spans) = data.resource_spans.last_mut() else {
            break;
        };
        match resource_spans.scope_spans.last_mut() {
            Some(scope_spans) if scope_spans.spans.len() > 1 => {
                scope_spans.spans.pop();
            }
            Some(_) => {
                resource_spans.scope_spans.pop();
            }
            None => {}
        }
        if resource_spans.scope_spans.is_empty() {
            data.resource_spans.pop();
        }
    }
    true
}

/// v2's JSON body: `{"trace": {...}, "metrics": {...}}`, in Tempo's field order.
#[derive(serde::Serialize)]
struct TraceByIdJson<'a> {
    trace: TraceJson<'a>,
    metrics: TraceByIdMetricsJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct TraceByIdMetricsJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    inspected_bytes: Option<String>,
}

/// Tempo reads `Accept` as a substring match, protobuf first; anything else is JSON.
fn wants_protobuf(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains(PROTOBUF))
}

/// What a trace-by-id request reads, validated before anything is read.
struct TraceLookup {
    tenants: Vec<String>,
    trace_id: TraceId,
    window: Option<TimeWindow>,
}

impl TraceLookup {
    fn parse(
        state: &QueryState,
        raw_id: &str,
        params: &HashMap<String, String>,
        headers: &HeaderMap,
    ) -> Result<TraceLookup, QueryError> {
        Ok(TraceLookup {
            tenants: tenants::of_http(&state.tenancy, headers)?,
            trace_id: TraceId::parse_hex(raw_id)
                .map_err(|error| QueryError::BadRequest(error.to_string()))?,
            window: parse_window(params)?,
        })
    }

    /// The trace in every tenant the request reads (with multi-tenancy off, the single
    /// tenant whatever `X-Scope-OrgID` says, as in Tempo). Found in several tenants, its
    /// parts are merged as Tempo's query frontend combines them.
    async fn read(self, state: &QueryState) -> Result<Option<StoredTrace>, QueryError> {
        let TraceLookup {
            tenants,
            trace_id,
            window,
        } = self;
        let store = state.store.clone();
        tokio::task::spawn_blocking(move || -> Result<Option<StoredTrace>, StoreError> {
            let mut parts = Vec::new();
            let mut inspected_bytes = 0;
            for tenant in &tenants {
                if let Some(found) = store.get_trace(tenant, &trace_id, window)? {
                    inspected_bytes += found.inspected_bytes;
                    parts.push(found.data.resource_spans);
                }
            }
            Ok(match parts.len() {
                0 => None,
                1 => Some(StoredTrace {
                    data: TracesData {
                        resource_spans: parts.pop().unwrap_or_default(),
                    },
                    inspected_bytes,
                }),
                _ => Some(StoredTrace {
                    data: TracesData {
                        resource_spans: merge_trace_parts(parts),
                    },
                    inspected_bytes,
                }),
            })
        })
        .await
        .map_err(|error| QueryError::Internal(error.to_string()))?
        .map_err(|error| QueryError::Internal(error.to_string()))
    }
}

/// `start`/`end` in unix seconds and `mode`, validated with Tempo's messages.
pub(super) fn parse_window(
    params: &HashMap<String, String>,
) -> Result<Option<TimeWindow>, QueryError> {
    if let Some(mode) = params.get("mode")
        && !matches!(mode.as_str(), "all" | "ingesters" | "blocks" | "external")
    {
        return Err(QueryError::BadRequest(format!(
            "invalid value for mode {mode}"
        )));
    }
    let start = parse_seconds(params, "start")?;
    let end = parse_seconds(params, "end")?;
    if start != 0 && end != 0 && end <= start {
        return Err(QueryError::BadRequest(format!(
            "http parameter start must be before end. received start={start} end={end}"
        )));
    }
    if start == 0 && end == 0 {
        return Ok(None);
    }
    let to_nanos = |seconds: i64| {
        u64::try_from(seconds)
            .unwrap_or(0)
            .saturating_mul(1_000_000_000)
    };
    Ok(Some(TimeWindow {
        start_unix_nano: to_nanos(start),
        end_unix_nano: if end == 0 {
            u64::MAX
        } else {
            to_nanos(end).saturating_add(999_999_999)
        },
    }))
}

fn parse_seconds(params: &HashMap<String, String>, name: &str) -> Result<i64, QueryError> {
    let Some(text) = params.get(name).filter(|text| !text.is_empty()) else {
        return Ok(0);
    };
    text.parse::<i64>().map_err(|error| {
        let reason = match error.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        QueryError::BadRequest(format!(
            "invalid {name}: strconv.ParseInt: parsing \"{text}\": {reason}"
        ))
    })
}

fn protobuf_response(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, PROTOBUF)], body).into_response()
}

fn json_response(body: &impl serde::Serialize) -> Result<Response, QueryError> {
    let bytes =
        serde_json::to_vec(body).map_err(|error| QueryError::Internal(error.to_string()))?;
    Ok(([(header::CONTENT_TYPE, JSON)], bytes).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn message(result: Result<Option<TimeWindow>, QueryError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn window_parameters_follow_tempo() {
        assert_eq!(parse_window(&params(&[])).unwrap(), None);
        assert_eq!(
            message(parse_window(&params(&[("start", "x")]))),
            "invalid start: strconv.ParseInt: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            message(parse_window(&params(&[("start", "9"), ("end", "3")]))),
            "http parameter start must be before end. received start=9 end=3"
        );
        assert_eq!(
            message(parse_window(&params(&[("mode", "sideways")]))),
            "invalid value for mode sideways"
        );
        let window = parse_window(&params(&[("start", "10"), ("end", "20")]))
            .unwrap()
            .unwrap();
        assert_eq!(window.start_unix_nano, 10_000_000_000);
        assert_eq!(window.end_unix_nano, 20_999_999_999);
    }
}
