//! Raw OTLP clients (tonic gRPC, HTTP) and small HTTP helpers.

use std::io::{Read, Write};

use bytes::{Buf as _, BufMut as _};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;

use crate::harness::http_client;

/// A blocking wrapper around tonic's generated `TraceServiceClient`.
pub struct GrpcClient {
    rt: tokio::runtime::Runtime,
    channel: Channel,
    client: TraceServiceClient<Channel>,
}

/// The full gRPC method path of OTLP trace export.
pub const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// A codec that sends and receives message bytes as they are, so that malformed
/// messages can be sent.
#[derive(Clone, Copy, Debug, Default)]
pub struct RawCodec;

#[derive(Clone, Copy, Debug, Default)]
pub struct RawEncoder;

#[derive(Clone, Copy, Debug, Default)]
pub struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

/// The single-threaded runtime a blocking client drives its calls on.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

impl GrpcClient {
    pub fn connect(url: &str) -> Self {
        let rt = runtime();
        let channel = rt
            .block_on(
                Channel::from_shared(url.to_owned())
                    .expect("grpc url")
                    .connect(),
            )
            .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
        GrpcClient::over(rt, channel)
    }

    /// Like `connect`, but connects on first use (and again after a failure), so it
    /// can be made while the gateway is restarting.
    pub fn connect_lazy(url: &str) -> Self {
        let rt = runtime();
        let channel = {
            let _entered = rt.enter();
            Channel::from_shared(url.to_owned())
                .expect("grpc url")
                .connect_lazy()
        };
        GrpcClient::over(rt, channel)
    }

    fn over(rt: tokio::runtime::Runtime, channel: Channel) -> Self {
        let client = TraceServiceClient::new(channel.clone())
            .max_encoding_message_size(usize::MAX)
            .max_decoding_message_size(64 * 1024 * 1024);
        GrpcClient {
            rt,
            channel,
            client,
        }
    }

    /// Calls `Export` with `message` as the raw message bytes (which need not be a valid
    /// `ExportTraceServiceRequest`); returns the raw response message bytes.
    pub fn export_raw(&self, message: Vec<u8>, gzip: bool) -> Result<Vec<u8>, tonic::Status> {
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        if gzip {
            grpc = grpc.send_compressed(CompressionEncoding::Gzip);
        }
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(EXPORT_PATH);
        self.rt.block_on(async move {
            grpc.ready()
                .await
                .map_err(|e| tonic::Status::unavailable(format!("channel not ready: {e}")))?;
            grpc.unary(tonic::Request::new(message), path, RawCodec)
                .await
                .map(tonic::Response::into_inner)
        })
    }

    /// `Export` without compression.
    pub fn export(
        &self,
        req: &ExportTraceServiceRequest,
    ) -> Result<ExportTraceServiceResponse, tonic::Status> {
        self.export_with(req, false, &[])
    }

    /// `Export` with the request message gzip-compressed (`grpc-encoding: gzip`).
    pub fn export_gzip(
        &self,
        req: &ExportTraceServiceRequest,
    ) -> Result<ExportTraceServiceResponse, tonic::Status> {
        self.export_with(req, true, &[])
    }

    /// `Export` with optional gzip and extra request metadata.
    pub fn export_with(
        &self,
        req: &ExportTraceServiceRequest,
        gzip: bool,
        metadata: &[(&'static str, &str)],
    ) -> Result<ExportTraceServiceResponse, tonic::Status> {
        let mut client = self.client.clone();
        if gzip {
            client = client
                .send_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Gzip);
        }
        let mut request = tonic::Request::new(req.clone());
        for (k, v) in metadata {
            request
                .metadata_mut()
                .insert(*k, v.parse().expect("metadata value"));
        }
        self.rt
            .block_on(client.export(request))
            .map(tonic::Response::into_inner)
    }

    /// `export` that must succeed without any rejected span.
    #[track_caller]
    pub fn export_ok(&self, req: &ExportTraceServiceRequest) {
        let resp = self
            .export(req)
            .unwrap_or_else(|s| panic!("gRPC Export failed: {s:?}"));
        assert_no_rejections(&resp, "gRPC Export");
    }
}

/// `google.rpc.Status`, the OTLP/HTTP error body (details are skipped).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

/// Panics when a response reports rejected spans.
#[track_caller]
pub fn assert_no_rejections(resp: &ExportTraceServiceResponse, context: &str) {
    if let Some(ps) = &resp.partial_success {
        assert_eq!(
            ps.rejected_spans, 0,
            "{context}: unexpected partial success: {ps:?}"
        );
    }
}

/// A complete HTTP response.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The media type without parameters, lower-case (`application/json`).
    pub fn media_type(&self) -> Option<String> {
        self.content_type.as_deref().map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("<non-ascii>").to_owned())
    }

    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {:?}", self.text()))
    }

    /// Asserts a 200 with an `application/json` body and parses it; `context` starts
    /// the failure messages.
    #[track_caller]
    pub fn ok_json(&self, context: &str) -> serde_json::Value {
        assert_eq!(self.status, 200, "{context}: {}", self.describe());
        assert_eq!(
            self.media_type().as_deref(),
            Some("application/json"),
            "{context}: {}",
            self.describe()
        );
        self.json()
    }

    /// A one-line description for assertion messages.
    pub fn describe(&self) -> String {
        let body = shorten(&self.text(), 2000);
        format!(
            "HTTP {} content-type={:?} content-encoding={:?} body={body:?}",
            self.status,
            self.content_type,
            self.header("content-encoding")
        )
    }
}

/// `s` cut to at most `max` bytes (on a char boundary), with `…` when cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let end = (0..=max)
        .rev()
        .find(|i| s.is_char_boundary(*i))
        .unwrap_or(0);
    format!("{}…", &s[..end])
}

fn collect(resp: reqwest::blocking::Response) -> HttpResponse {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("<non-ascii>").to_owned());
    let body = resp.bytes().map(|b| b.to_vec()).unwrap_or_default();
    HttpResponse {
        status,
        content_type,
        headers,
        body,
    }
}

/// Any HTTP request with raw headers and body.
pub fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> HttpResponse {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("http method");
    let mut req = http_client().request(method, url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(body) = body {
        req = req.body(body);
    }
    let resp = req
        .send()
        .unwrap_or_else(|e| panic!("HTTP request to {url} failed: {e}"));
    collect(resp)
}

pub fn http_get(url: &str, headers: &[(&str, &str)]) -> HttpResponse {
    http_request("GET", url, headers, None)
}

/// POST to an OTLP/HTTP endpoint with the given content type and encoding (either may be
/// left out to test its absence).
pub fn post_otlp(
    url: &str,
    body: Vec<u8>,
    content_type: Option<&str>,
    content_encoding: Option<&str>,
) -> HttpResponse {
    let mut headers = Vec::new();
    if let Some(ct) = content_type {
        headers.push(("content-type", ct));
    }
    if let Some(ce) = content_encoding {
        headers.push(("content-encoding", ce));
    }
    http_request("POST", url, &headers, Some(body))
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).expect("gzip write");
    enc.finish().expect("gzip finish")
}

pub fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

/// The OTLP/HTTP success body decoded in the encoding of `resp` (protobuf or JSON):
/// `None` rejected spans when there is no partial success. Panics on anything that is not
/// a 200 with the expected content type.
#[track_caller]
pub fn decode_http_export_response(resp: &HttpResponse, json: bool) -> ExportTraceServiceResponse {
    assert_eq!(
        resp.status,
        200,
        "OTLP/HTTP export failed: {}",
        resp.describe()
    );
    if json {
        assert_eq!(
            resp.media_type().as_deref(),
            Some("application/json"),
            "a JSON request must get a JSON response: {}",
            resp.describe()
        );
        let v = resp.json();
        let obj = v
            .as_object()
            .unwrap_or_else(|| panic!("JSON response is not an object: {}", resp.describe()));
        for k in obj.keys() {
            assert_eq!(
                k,
                "partialSuccess",
                "unexpected key in JSON response: {}",
                resp.describe()
            );
        }
        let mut out = ExportTraceServiceResponse::default();
        if let Some(ps) = obj.get("partialSuccess") {
            let rejected = match ps.get("rejectedSpans") {
                None => 0,
                Some(serde_json::Value::String(s)) => s
                    .parse::<i64>()
                    .unwrap_or_else(|e| panic!("rejectedSpans {s:?}: {e}")),
                Some(serde_json::Value::Number(n)) => n.as_i64().expect("rejectedSpans int"),
                Some(other) => panic!("rejectedSpans has the wrong type: {other}"),
            };
            let message = ps
                .get("errorMessage")
                .map(|m| m.as_str().expect("errorMessage is a string").to_owned())
                .unwrap_or_default();
            out.partial_success = Some(
                opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess {
                    rejected_spans: rejected,
                    error_message: message,
                },
            );
        }
        out
    } else {
        assert_eq!(
            resp.media_type().as_deref(),
            Some("application/x-protobuf"),
            "a protobuf request must get a protobuf response: {}",
            resp.describe()
        );
        ExportTraceServiceResponse::decode(resp.body.as_slice()).unwrap_or_else(|e| {
            panic!(
                "response is not an ExportTraceServiceResponse ({e}): {}",
                resp.describe()
            )
        })
    }
}

/// Calls a server-streaming gRPC method (e.g. `/tempopb.StreamingQuerier/Search`) at
/// `url` over cleartext HTTP/2 and decodes every message of the stream.
pub fn grpc_stream<Resp: Message + Default>(
    url: &str,
    method: &'static str,
    request: impl Message,
) -> Result<Vec<Resp>, tonic::Status> {
    grpc_stream_with(url, method, request, &[])
}

/// `grpc_stream` with request metadata (e.g. `("x-scope-orgid", "team-a")`).
pub fn grpc_stream_with<Resp: Message + Default>(
    url: &str,
    method: &'static str,
    request: impl Message,
    metadata: &[(&'static str, &str)],
) -> Result<Vec<Resp>, tonic::Status> {
    let mut request = tonic::Request::new(request.encode_to_vec());
    for (key, value) in metadata {
        request
            .metadata_mut()
            .insert(*key, value.parse().expect("ASCII metadata value"));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let channel = Channel::from_shared(url.to_owned())
            .expect("url")
            .connect()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let mut messages = grpc
            .server_streaming(
                request,
                tonic::codegen::http::uri::PathAndQuery::from_static(method),
                RawCodec,
            )
            .await?
            .into_inner();
        let mut decoded = Vec::new();
        while let Some(bytes) = messages.message().await? {
            decoded.push(Resp::decode(bytes.as_slice()).expect("a protobuf message"));
        }
        Ok(decoded)
    })
}
