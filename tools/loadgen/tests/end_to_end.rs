//! Runs the real `spangate-loadgen` binary against in-process fakes: an OTLP/gRPC trace receiver
//! that pushes back now and then, and a `/api/v2/traces/{id}` endpoint serving what it received;
//! and a fake search API for the `search` suite.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap fails it loudly, as it should

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    process::Command,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    extract::{Path, Query, State},
    http::{StatusCode, Uri, header},
    response::IntoResponse,
    routing::get,
};
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    trace::v1::{ResourceSpans, ScopeSpans, Span},
};
use prost::Message;
use serde_json::Value;
use tonic::{Code, Request, Response, Status, transport::server::TcpIncoming};
use tonic_types::{ErrorDetails, StatusExt};

/// Every fourth request is refused with RESOURCE_EXHAUSTED, [`MAX_REFUSALS`] times in all.
/// Fewer than the retries one request is given (`--max-retries` below): on a loaded machine
/// one request's retries can land on the refused turns in lock-step, and must still get
/// through.
const MAX_REFUSALS: u64 = 8;
const MAX_RETRIES: &str = "10";

/// Received spans by trace id; see [`MAX_REFUSALS`] for the refusals.
#[derive(Default)]
struct FakeStore {
    requests: AtomicU64,
    spans_by_trace: Mutex<HashMap<Vec<u8>, Vec<Span>>>,
}

#[derive(Clone)]
struct FakeReceiver(Arc<FakeStore>);

#[tonic::async_trait]
impl TraceService for FakeReceiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let turn = self.0.requests.fetch_add(1, Ordering::Relaxed);
        if turn % 4 == 3 && turn < 4 * MAX_REFUSALS {
            return Err(Status::with_error_details(
                Code::ResourceExhausted,
                "queue full",
                ErrorDetails::with_retry_info(Some(Duration::from_millis(2))),
            ));
        }
        let mut by_trace = self.0.spans_by_trace.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            for scope_spans in resource_spans.scope_spans {
                for span in scope_spans.spans {
                    by_trace
                        .entry(span.trace_id.clone())
                        .or_default()
                        .push(span);
                }
            }
        }
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

/// `tempopb.TraceByIDResponse { trace: Trace { resourceSpans } }` on the wire.
#[derive(Clone, PartialEq, Message)]
struct TraceByIdResponse {
    #[prost(message, optional, tag = "1")]
    trace: Option<Trace>,
}

#[derive(Clone, PartialEq, Message)]
struct Trace {
    #[prost(message, repeated, tag = "1")]
    resource_spans: Vec<ResourceSpans>,
}

async fn trace_by_id(
    State(store): State<Arc<FakeStore>>,
    Path(id): Path<String>,
) -> impl IntoResponse {
    let spans = hex::decode(&id)
        .ok()
        .and_then(|id| store.spans_by_trace.lock().unwrap().get(&id).cloned())
        .unwrap_or_default();
    let trace = (!spans.is_empty()).then(|| Trace {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    });
    (
        [(header::CONTENT_TYPE, "application/protobuf")],
        TraceByIdResponse { trace }.encode_to_vec(),
    )
}

async fn start_fakes() -> (Arc<FakeStore>, SocketAddr, SocketAddr) {
    let store = Arc::new(FakeStore::default());
    let grpc_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let grpc_address = grpc_listener.local_addr().unwrap();
    let receiver = TraceServiceServer::new(FakeReceiver(store.clone()));
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(receiver)
            .serve_with_incoming(TcpIncoming::from(grpc_listener)),
    );
    let http_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_address = http_listener.local_addr().unwrap();
    let app = Router::new()
        .route("/api/v2/traces/{id}", get(trace_by_id))
        .with_state(store.clone());
    tokio::spawn(async move { axum::serve(http_listener, app).await });
    (store, grpc_address, http_address)
}

async fn run_loadgen(args: Vec<String>) -> Value {
    tokio::task::spawn_blocking(move || {
        let output = Command::new(env!("CARGO_BIN_EXE_spangate-loadgen"))
            .args(&args)
            .output()
            .expect("runs the binary");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "loadgen failed: {stderr}");
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|error| panic!("stdout is not one JSON object ({error}): {stderr}"))
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_then_lookup_against_fakes() {
    let (store, grpc_address, http_address) = start_fakes().await;
    let directory = std::env::temp_dir().join(format!("loadgen-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let ids_file = directory.join("ids.txt");

    let ingest = run_loadgen(
        [
            "ingest",
            "--endpoint",
            &format!("http://{grpc_address}"),
            "--total-spans",
            "3000",
            "--duration",
            "20s",
            "--concurrency",
            "3",
            "--connections",
            "1",
            "--templates",
            "4",
            "--max-retries",
            MAX_RETRIES,
            "--pid",
            &std::process::id().to_string(),
            "--write-ids",
            ids_file.to_str().unwrap(),
            "--max-ids",
            "20",
            "--progress",
            "0s",
            "--json",
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;

    let accepted = ingest["spans_accepted"].as_u64().unwrap();
    assert_eq!(accepted, 3000, "{ingest}");
    assert_eq!(ingest["requests_ok"], 30);
    assert_eq!(ingest["requests_failed_total"], 0);
    let retries = ingest["retries"]["RESOURCE_EXHAUSTED"].as_u64().unwrap();
    // Every refusal was retried, and every retry was answered in the end.
    assert_eq!(retries, MAX_REFUSALS, "{ingest}");
    assert_eq!(ingest["retries_with_retry_info"].as_u64(), Some(retries));
    assert_eq!(ingest["latency"]["count"], 30);
    let bytes_per_span = ingest["encoded_bytes_per_span"].as_f64().unwrap();
    assert!(
        (250.0..=500.0).contains(&bytes_per_span),
        "{bytes_per_span}"
    );
    assert!(ingest["gateway"]["cpu_seconds"].as_f64().unwrap() >= 0.0);
    assert!(ingest["gateway"]["vm_hwm_mib"].as_f64().unwrap() > 0.0);
    assert_eq!(ingest["gateway"]["alive_at_end"], true);
    assert_eq!(ingest["ids_written"], 20);

    // Every received trace is whole: 10 spans, one root, parents inside the trace.
    {
        let by_trace = store.spans_by_trace.lock().unwrap();
        assert_eq!(by_trace.len(), 300);
        for spans in by_trace.values() {
            assert_eq!(spans.len(), 10);
            let ids: HashSet<&[u8]> = spans.iter().map(|span| span.span_id.as_slice()).collect();
            assert_eq!(ids.len(), 10);
            let roots = spans
                .iter()
                .filter(|span| span.parent_span_id.is_empty())
                .count();
            assert_eq!(roots, 1);
            assert!(
                spans
                    .iter()
                    .filter(|span| !span.parent_span_id.is_empty())
                    .all(|span| ids.contains(span.parent_span_id.as_slice()))
            );
        }
    }

    // The ids file names received traces; an unknown id comes back empty.
    let mut ids = std::fs::read_to_string(&ids_file).unwrap();
    assert_eq!(ids.lines().count(), 20);
    ids.push_str(&"ab".repeat(16));
    ids.push('\n');
    std::fs::write(&ids_file, ids).unwrap();
    let lookup = run_loadgen(
        [
            "lookup",
            "--query",
            &format!("http://{http_address}"),
            "--ids",
            ids_file.to_str().unwrap(),
            "--count",
            "21",
            "--concurrency",
            "2",
            "--expect-spans",
            "10",
            "--json",
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    assert_eq!(lookup["requests"], 21, "{lookup}");
    assert_eq!(lookup["found"], 20, "{lookup}");
    assert_eq!(lookup["empty"], 1, "{lookup}");
    assert_eq!(lookup["incomplete"], 0, "{lookup}");
    assert_eq!(lookup["latency"]["count"], 21);
    std::fs::remove_dir_all(&directory).unwrap();
}

/// Requests the fake search API received: path and decoded query parameters.
type SeenRequests = Arc<Mutex<Vec<(String, HashMap<String, String>)>>>;

/// Answers the search suite's endpoints with fixed result counts (and a 400 for the `count()`
/// query) and records every path and decoded query.
async fn fake_search_api(
    State(seen): State<SeenRequests>,
    uri: Uri,
    Query(params): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    let path = uri.path().to_string();
    let query = params.get("q").cloned().unwrap_or_default();
    seen.lock().unwrap().push((path.clone(), params));
    let (status, body) = match path.as_str() {
        "/api/search" if query.contains("count()") => (StatusCode::BAD_REQUEST, "no".to_string()),
        "/api/search" => (
            StatusCode::OK,
            r#"{"traces":[{"traceID":"1"},{"traceID":"2"}],"metrics":{}}"#.to_string(),
        ),
        "/api/v2/search/tags" => (
            StatusCode::OK,
            r#"{"scopes":[{"name":"resource","tags":["service.name"]},{"name":"span","tags":["a","b"]}]}"#
                .to_string(),
        ),
        "/api/v2/search/tag/resource.service.name/values" | "/api/v2/search/tag/name/values" => (
            StatusCode::OK,
            r#"{"tagValues":[{"type":"string","value":"x"}]}"#.to_string(),
        ),
        "/api/metrics/query_range" => (StatusCode::OK, r#"{"series":[{},{},{},{}]}"#.to_string()),
        _ => (StatusCode::NOT_FOUND, String::new()),
    };
    (status, [(header::CONTENT_TYPE, "application/json")], body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_suite_against_a_fake_query_api() {
    let seen = SeenRequests::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = Router::new()
        .fallback(fake_search_api)
        .with_state(seen.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let report = run_loadgen(
        [
            "search",
            "--query",
            &format!("http://{address}/"),
            "--count",
            "6",
            "--warmup",
            "2",
            "--concurrency",
            "2",
            "--window",
            "2h",
            "--json",
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    let cases = report["cases"].as_array().unwrap();
    let names: Vec<&str> = cases
        .iter()
        .map(|case| case["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "a_builder",
            "a_builder_error",
            "b_unindexed_regex",
            "c_error_count",
            "d_tags",
            "d_tag_values_service",
            "d_tag_values_filtered",
            "e_rate_by_service",
        ]
    );
    let mean = |index: usize| cases[index]["mean_results"].as_f64().unwrap();
    assert_eq!(
        (mean(0), mean(2), mean(4), mean(5), mean(7)),
        (2.0, 2.0, 3.0, 1.0, 4.0)
    );
    for (index, case) in cases.iter().enumerate() {
        assert_eq!(case["requests"], 6, "{case}");
        assert_eq!(case["latency"]["count"], 6, "{case}");
        let errors = if index == 3 { 6 } else { 0 };
        assert_eq!(case["errors"], errors, "{case}");
        assert!(
            case["example"]
                .as_str()
                .unwrap()
                .starts_with(&format!("http://{address}/api/"))
        );
    }
    assert_eq!(cases[3]["non_200"]["400"], 6);

    // 8 requests per case reached the server, each with a 2 h window ending about now.
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 8 * 8);
    for (_, params) in seen.iter() {
        let start: u64 = params["start"].parse().unwrap();
        let end: u64 = params["end"].parse().unwrap();
        assert_eq!(end - start, 7200);
    }
    let builder_queries: HashSet<&str> = seen
        .iter()
        .filter(|(path, params)| path == "/api/search" && !params["q"].contains("status=error"))
        .filter_map(|(_, params)| params["q"].strip_prefix("{resource.service.name=\""))
        .collect();
    assert!(
        builder_queries.len() > 1,
        "service/name pairs vary: {builder_queries:?}"
    );
    assert!(
        seen.iter()
            .any(|(_, params)| params.get("q").map(String::as_str)
                == Some(r#"{span.enduser.id=~"user-4[0-9]{2}"}"#))
    );
    assert!(
        seen.iter()
            .any(|(path, params)| path == "/api/metrics/query_range"
                && params["step"] == "60s"
                && params["q"] == "{} | rate() by (resource.service.name)")
    );
}
