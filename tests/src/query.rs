//! Talking to a `TestGateway`: sending OTLP and reading traces back from the
//! Tempo-compatible query API in every form (v1/v2 × JSON/protobuf).

use std::thread::sleep;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, TracesData};
use prost::Message;

use crate::clients::{self, GrpcClient, HttpResponse, decode_http_export_response};
use crate::compare::assert_same_spans;
use crate::fixtures::{RichRequest, span_count};
use crate::harness::TestGateway;
use crate::otlp_json::{JsonStyle, encode_request};
use crate::tempo_json::{self, TraceByIdJson};
use crate::tempopb::TraceByIdResponse;

pub const ACCEPT_PROTOBUF: (&str, &str) = ("accept", "application/protobuf");
pub const ACCEPT_JSON: (&str, &str) = ("accept", "application/json");

/// Bounded wait for a trace to reach an expected size (in case the store acknowledges
/// before a write is visible): 100 × 50 ms.
const VISIBLE_POLLS: u32 = 100;
const VISIBLE_PAUSE: Duration = Duration::from_millis(50);

impl TestGateway {
    /// GET `path` (which starts with `/`) on the query API.
    pub fn get(&self, path: &str) -> HttpResponse {
        self.get_with(path, &[])
    }

    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        clients::http_get(&format!("{}{path}", self.query_url()), headers)
    }

    /// A raw gRPC client connected to the OTLP/gRPC receiver.
    pub fn grpc(&self) -> GrpcClient {
        GrpcClient::connect(&self.grpc_url())
    }

    /// POST the request as protobuf to `/v1/traces` (optionally gzip-compressed).
    pub fn post_protobuf(&self, req: &ExportTraceServiceRequest, gzip: bool) -> HttpResponse {
        let body = req.encode_to_vec();
        if gzip {
            clients::post_otlp(
                &self.traces_url(),
                clients::gzip(&body),
                Some("application/x-protobuf"),
                Some("gzip"),
            )
        } else {
            clients::post_otlp(
                &self.traces_url(),
                body,
                Some("application/x-protobuf"),
                None,
            )
        }
    }

    /// POST the request as OTLP/JSON to `/v1/traces` (optionally gzip-compressed).
    pub fn post_json(
        &self,
        req: &ExportTraceServiceRequest,
        style: JsonStyle,
        gzip: bool,
    ) -> HttpResponse {
        let body = serde_json::to_vec(&encode_request(req, style)).expect("serialize JSON");
        if gzip {
            clients::post_otlp(
                &self.traces_url(),
                clients::gzip(&body),
                Some("application/json"),
                Some("gzip"),
            )
        } else {
            clients::post_otlp(&self.traces_url(), body, Some("application/json"), None)
        }
    }

    /// Sends over OTLP/HTTP protobuf and requires full success.
    #[track_caller]
    pub fn export_http_ok(&self, req: &ExportTraceServiceRequest) {
        let resp = self.post_protobuf(req, false);
        let decoded = decode_http_export_response(&resp, false);
        clients::assert_no_rejections(&decoded, "OTLP/HTTP export");
    }

    fn trace_response(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        media_type: &str,
    ) -> HttpResponse {
        let resp = self.get_with(path, headers);
        assert_eq!(
            resp.status,
            200,
            "GET {path} {headers:?}: {}",
            resp.describe()
        );
        assert_eq!(
            resp.media_type().as_deref(),
            Some(media_type),
            "GET {path} {headers:?}: wrong content type: {}",
            resp.describe()
        );
        resp
    }

    /// GET a trace answer as JSON and check Tempo's JSON conventions on it.
    #[track_caller]
    fn checked_json(&self, path: &str) -> serde_json::Value {
        let v = self.trace_response(path, &[], "application/json").json();
        let violations = tempo_json::convention_violations(&v);
        assert!(
            violations.is_empty(),
            "GET {path}: JSON conventions violated:\n{}\nbody: {v}",
            violations.join("\n")
        );
        v
    }

    /// `GET /api/traces/{id}` as JSON, decoded; checks Tempo's JSON conventions.
    #[track_caller]
    pub fn trace_v1_json(&self, id: &str) -> TracesData {
        let path = format!("/api/traces/{id}");
        let v = self.checked_json(&path);
        tempo_json::decode_v1(&v)
            .unwrap_or_else(|e| panic!("GET {path}: not Tempo v1 JSON: {e}\nbody: {v}"))
    }

    /// `GET /api/v2/traces/{id}` as JSON, decoded; checks Tempo's JSON conventions.
    #[track_caller]
    pub fn trace_v2_json(&self, id: &str) -> TraceByIdJson {
        let path = format!("/api/v2/traces/{id}");
        let v = self.checked_json(&path);
        tempo_json::decode_v2(&v)
            .unwrap_or_else(|e| panic!("GET {path}: not Tempo v2 JSON: {e}\nbody: {v}"))
    }

    /// `GET /api/traces/{id}` with `Accept: application/protobuf`, decoded as `TracesData`.
    #[track_caller]
    pub fn trace_v1_protobuf(&self, id: &str) -> TracesData {
        let path = format!("/api/traces/{id}");
        let resp = self.trace_response(&path, &[ACCEPT_PROTOBUF], "application/protobuf");
        TracesData::decode(resp.body.as_slice())
            .unwrap_or_else(|e| panic!("GET {path}: not a tempopb.Trace/TracesData: {e}"))
    }

    /// `GET /api/v2/traces/{id}` with `Accept: application/protobuf`, decoded as
    /// `TraceByIDResponse`.
    #[track_caller]
    pub fn trace_v2_protobuf(&self, id: &str) -> TraceByIdResponse {
        let path = format!("/api/v2/traces/{id}");
        let resp = self.trace_response(&path, &[ACCEPT_PROTOBUF], "application/protobuf");
        TraceByIdResponse::decode(resp.body.as_slice())
            .unwrap_or_else(|e| panic!("GET {path}: not a TraceByIDResponse: {e}"))
    }

    /// The trace via v2 protobuf once it has at least `n` spans (bounded wait); returns
    /// what was last read.
    pub fn wait_for_spans(&self, id: &str, n: usize) -> Vec<ResourceSpans> {
        let mut last = Vec::new();
        for _ in 0..VISIBLE_POLLS {
            let resp = self.get_with(&format!("/api/v2/traces/{id}"), &[ACCEPT_PROTOBUF]);
            if resp.status == 200
                && let Ok(decoded) = TraceByIdResponse::decode(resp.body.as_slice())
            {
                last = decoded.trace.map(|t| t.resource_spans).unwrap_or_default();
                if span_count(&last) >= n {
                    return last;
                }
            }
            sleep(VISIBLE_PAUSE);
        }
        last
    }

    /// Reads trace `id` in all four forms (v1/v2 × JSON/protobuf) and asserts each holds
    /// exactly `expected`, field by field.
    #[track_caller]
    pub fn assert_trace(&self, id: &str, expected: &[ResourceSpans]) {
        self.wait_for_spans(id, span_count(expected));
        let v2p = self.trace_v2_protobuf(id);
        assert_eq!(
            v2p.status, 0,
            "v2 protobuf status should be COMPLETE: {v2p:?}"
        );
        let v2p = v2p.trace.map(|t| t.resource_spans).unwrap_or_default();
        assert_same_spans(expected, &v2p, &format!("trace {id} via v2 protobuf"));
        let v1p = self.trace_v1_protobuf(id).resource_spans;
        assert_same_spans(expected, &v1p, &format!("trace {id} via v1 protobuf"));
        let v2j = self.trace_v2_json(id);
        assert_eq!(
            v2j.status, None,
            "v2 JSON status should be omitted (COMPLETE)"
        );
        assert_same_spans(
            expected,
            &v2j.trace.resource_spans,
            &format!("trace {id} via v2 JSON"),
        );
        let v1j = self.trace_v1_json(id).resource_spans;
        assert_same_spans(expected, &v1j, &format!("trace {id} via v1 JSON"));
    }

    /// Asserts that both traces of a rich request are stored exactly, in every form.
    #[track_caller]
    pub fn assert_rich_stored(&self, rich: &RichRequest) {
        self.assert_trace(&rich.trace_hex(), &rich.expected(&rich.trace_id));
        self.assert_trace(
            &rich.other_trace_hex(),
            &rich.expected(&rich.other_trace_id),
        );
    }

    /// Asserts that trace `id` is not found: v1 → 404 with an empty body (in both
    /// encodings), v2 → 200 with an empty trace (in both encodings).
    #[track_caller]
    pub fn assert_no_trace(&self, id: &str, query: &str) {
        for headers in [&[][..], &[ACCEPT_PROTOBUF][..]] {
            let path = format!("/api/traces/{id}{query}");
            let v1 = self.get_with(&path, headers);
            assert_eq!(
                v1.status,
                404,
                "GET {path} {headers:?} should be 404: {}",
                v1.describe()
            );
            assert!(
                v1.body.is_empty(),
                "GET {path} {headers:?}: 404 body should be empty: {}",
                v1.describe()
            );
        }
        let path = format!("/api/v2/traces/{id}{query}");
        let v = self.get(&path).ok_json(&format!("GET {path}"));
        let decoded = tempo_json::decode_v2(&v).unwrap_or_else(|e| panic!("GET {path}: {e}: {v}"));
        assert!(
            decoded.trace.resource_spans.is_empty(),
            "GET {path}: expected an empty trace: {v}"
        );
        let v2p = self.get_with(&path, &[ACCEPT_PROTOBUF]);
        assert_eq!(v2p.status, 200, "GET {path} (protobuf): {}", v2p.describe());
        assert_eq!(
            v2p.media_type().as_deref(),
            Some("application/protobuf"),
            "GET {path}: {}",
            v2p.describe()
        );
        let decoded = TraceByIdResponse::decode(v2p.body.as_slice())
            .unwrap_or_else(|e| panic!("GET {path} (protobuf): not a TraceByIDResponse: {e}"));
        let spans = decoded.trace.map(|t| t.resource_spans).unwrap_or_default();
        assert!(
            spans.is_empty(),
            "GET {path} (protobuf): expected an empty trace, got {spans:?}"
        );
    }
}

/// `text` percent-encoded for a URL query value (everything but RFC 3986's unreserved
/// characters is escaped).
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
