//! One upstream's OTLP client: sends a queued batch's bytes as they are (no decoding,
//! no re-encoding) over OTLP/gRPC (tonic) or OTLP/HTTP protobuf (reqwest), and sorts
//! the answer into sent / retry later / never, by the OTLP specification's rules:
//! gRPC `UNAVAILABLE`, `CANCELLED`, `DEADLINE_EXCEEDED`, `ABORTED`, `OUT_OF_RANGE`,
//! `DATA_LOSS` and `RESOURCE_EXHAUSTED` with `RetryInfo` are retried, other codes are
//! not; HTTP 429, 502, 503 and 504 are retried (after `Retry-After` when given), other
//! statuses are not; a connection that fails or times out (whatever code tonic gives
//! it: a failed TLS handshake is `UNKNOWN`) is retried.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use bytes::{BufMut, Bytes};
use flate2::Compression;
use flate2::write::GzEncoder;
use http::uri::PathAndQuery;
use prost::Message;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{MetadataKey, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic_types::StatusExt;

use super::config::{ExportCompression, ExporterConfig, Protocol, TlsConfig};
use crate::model::{ExportTraceServiceResponse, SINGLE_TENANT};

const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const ORG_ID_HEADER: &str = "x-scope-orgid";

/// How a send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SendOutcome {
    /// Acknowledged; `rejected` spans were refused individually (`partial_success`).
    Sent { rejected: i64, message: String },
    /// Failed for now: try again, not before `after` when the upstream said so.
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// Refused for good (bad request, unauthorized, unknown method…): never retried.
    Permanent { reason: String },
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    #[error("{path}: {source}")]
    ReadFile {
        path: String,
        source: std::io::Error,
    },
    #[error("endpoint `{endpoint}`: {message}")]
    Endpoint { endpoint: String, message: String },
}

/// An upstream's client, cheap to clone (connections are shared).
#[derive(Clone)]
pub(crate) enum UpstreamClient {
    Grpc(GrpcUpstream),
    Http(HttpUpstream),
}

#[derive(Clone)]
pub(crate) struct GrpcUpstream {
    channel: Channel,
    settings: Settings,
}

#[derive(Clone)]
pub(crate) struct HttpUpstream {
    client: reqwest::Client,
    url: String,
    settings: Settings,
}

/// What every request of an exporter carries.
#[derive(Clone)]
struct Settings {
    headers: Vec<(String, String)>,
    gzip: bool,
    timeout: Duration,
    /// Whether `headers` already name an `X-Scope-OrgID` (then it wins over the batch's tenant).
    fixed_org_id: bool,
}

impl UpstreamClient {
    /// A client for `endpoint` with `config`'s protocol, headers, compression, timeout
    /// and TLS (files relative to `base_dir`). Connects lazily: an upstream that is down
    /// at start-up is an upstream to retry, not a start-up failure.
    pub(crate) fn new(
        config: &ExporterConfig,
        endpoint: &str,
        base_dir: &Path,
    ) -> Result<UpstreamClient, ClientError> {
        let settings = Settings {
            headers: config
                .headers
                .iter()
                .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
                .collect(),
            gzip: config.compression == ExportCompression::Gzip,
            timeout: config.timeout,
            fixed_org_id: config
                .headers
                .keys()
                .any(|name| name.eq_ignore_ascii_case(ORG_ID_HEADER)),
        };
        let tls = TlsFiles::read(&config.tls, base_dir)?;
        let endpoint_error = |message: String| ClientError::Endpoint {
            endpoint: endpoint.to_owned(),
            message,
        };
        match config.protocol {
            Protocol::Grpc => {
                let mut builder = Endpoint::from_shared(endpoint.to_owned())
                    .map_err(|e| endpoint_error(e.to_string()))?
                    .connect_timeout(config.timeout.min(Duration::from_secs(5)))
                    .tcp_nodelay(true)
                    .http2_keep_alive_interval(Duration::from_secs(30));
                if endpoint.starts_with("https://") {
                    builder = builder
                        .tls_config(tls.grpc(config.tls.server_name.as_deref()))
                        .map_err(|e| endpoint_error(e.to_string()))?;
                }
                Ok(UpstreamClient::Grpc(GrpcUpstream {
                    channel: builder.connect_lazy(),
                    settings,
                }))
            }
            Protocol::Http => {
                let mut builder = reqwest::Client::builder()
                    .timeout(config.timeout)
                    .connect_timeout(config.timeout.min(Duration::from_secs(5)))
                    .tcp_nodelay(true)
                    .pool_max_idle_per_host(config.queue.concurrency);
                if let Some(ca) = &tls.ca {
                    builder = builder.tls_built_in_root_certs(false);
                    for certificate in reqwest::Certificate::from_pem_bundle(ca)
                        .map_err(|e| endpoint_error(format!("tls.ca_file: {e}")))?
                    {
                        builder = builder.add_root_certificate(certificate);
                    }
                }
                if let Some((cert, key)) = &tls.identity {
                    let mut pem = cert.clone();
                    pem.extend_from_slice(key);
                    builder = builder.identity(
                        reqwest::Identity::from_pem(&pem)
                            .map_err(|e| endpoint_error(format!("tls.cert_file/key_file: {e}")))?,
                    );
                }
                let client = builder.build().map_err(|e| endpoint_error(e.to_string()))?;
                Ok(UpstreamClient::Http(HttpUpstream {
                    client,
                    url: traces_url(endpoint),
                    settings,
                }))
            }
        }
    }

    /// Sends one OTLP `ExportTraceServiceRequest` (protobuf bytes) of `tenant`.
    pub(crate) async fn send(&self, payload: Bytes, tenant: &str) -> SendOutcome {
        match self {
            UpstreamClient::Grpc(grpc) => grpc.send(payload, tenant).await,
            UpstreamClient::Http(http) => http.send(payload, tenant).await,
        }
    }
}

impl Settings {
    /// The tenant header a batch carries: its tenant's, unless configured or single-tenant.
    fn org_id<'a>(&self, tenant: &'a str) -> Option<&'a str> {
        (!self.fixed_org_id && tenant != SINGLE_TENANT).then_some(tenant)
    }
}

/// `<endpoint>/v1/traces` unless the URL already has a path.
fn traces_url(endpoint: &str) -> String {
    let has_path = endpoint
        .parse::<http::Uri>()
        .ok()
        .and_then(|uri| uri.path_and_query().map(|p| p.path().len() > 1))
        .unwrap_or(false);
    if has_path {
        endpoint.to_owned()
    } else {
        format!("{}/v1/traces", endpoint.trim_end_matches('/'))
    }
}

impl GrpcUpstream {
    async fn send(&self, payload: Bytes, tenant: &str) -> SendOutcome {
        let mut grpc = tonic::client::Grpc::new(self.channel.clone())
            .accept_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(4 << 20);
        if self.settings.gzip {
            grpc = grpc.send_compressed(CompressionEncoding::Gzip);
        }
        if let Err(error) = grpc.ready().await {
            return SendOutcome::Retry {
                reason: format!("connecting: {error}"),
                after: None,
            };
        }
        let mut request = tonic::Request::new(payload);
        request.set_timeout(self.settings.timeout);
        let metadata = request.metadata_mut();
        for (name, value) in &self.settings.headers {
            if let (Ok(key), Ok(value)) = (
                MetadataKey::from_bytes(name.as_bytes()),
                MetadataValue::try_from(value.as_str()),
            ) {
                metadata.insert(key, value);
            }
        }
        if let Some(org_id) = self.settings.org_id(tenant)
            && let Ok(value) = MetadataValue::try_from(org_id)
        {
            metadata.insert(ORG_ID_HEADER, value);
        }
        let path = PathAndQuery::from_static(EXPORT_PATH);
        match grpc.unary(request, path, PassThroughCodec).await {
            Ok(response) => sent(response.into_inner()),
            Err(status) => grpc_failure(&status),
        }
    }
}

fn sent(response: ExportTraceServiceResponse) -> SendOutcome {
    let (rejected, message) = response
        .partial_success
        .map(|p| (p.rejected_spans, p.error_message))
        .unwrap_or_default();
    SendOutcome::Sent { rejected, message }
}

/// The OTLP specification's retryable gRPC codes; `RESOURCE_EXHAUSTED` only when the
/// server says when to come back (`RetryInfo`), else it is a permanent refusal.
fn grpc_failure(status: &tonic::Status) -> SendOutcome {
    use tonic::Code;
    let retry_info = status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay);
    let reason = format!("gRPC {:?}: {}", status.code(), status.message());
    // A status tonic made up from a connection failure (TLS handshake, reset, hyper
    // error) carries that error as its source: the upstream never answered.
    if std::error::Error::source(status).is_some() {
        return SendOutcome::Retry {
            reason: format!("{reason} (connection: no answer from the upstream)"),
            after: None,
        };
    }
    let retryable = match status.code() {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => true,
        Code::ResourceExhausted => retry_info.is_some(),
        _ => false,
    };
    if retryable {
        SendOutcome::Retry {
            reason,
            after: retry_info,
        }
    } else {
        SendOutcome::Permanent { reason }
    }
}

impl HttpUpstream {
    async fn send(&self, payload: Bytes, tenant: &str) -> SendOutcome {
        let mut request = self
            .client
            .post(&self.url)
            .header(http::header::CONTENT_TYPE, "application/x-protobuf");
        for (name, value) in &self.settings.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(org_id) = self.settings.org_id(tenant) {
            request = request.header(ORG_ID_HEADER, org_id);
        }
        request = if self.settings.gzip {
            match gzip(&payload) {
                Ok(body) => request
                    .header(http::header::CONTENT_ENCODING, "gzip")
                    .body(body),
                Err(error) => {
                    return SendOutcome::Retry {
                        reason: format!("compressing: {error}"),
                        after: None,
                    };
                }
            }
        } else {
            request.body(payload)
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                return SendOutcome::Retry {
                    reason: format!("HTTP request failed: {error}"),
                    after: None,
                };
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.bytes().await.unwrap_or_default();
        if status.is_success() {
            return sent(ExportTraceServiceResponse::decode(body).unwrap_or_default());
        }
        let reason = format!("HTTP {status}: {}", body_text(&body));
        match status.as_u16() {
            429 | 502 | 503 | 504 => SendOutcome::Retry {
                reason,
                after: retry_after,
            },
            _ => SendOutcome::Permanent { reason },
        }
    }
}

/// An error body as a short line (it may be a protobuf `Status`; keep what is text).
fn body_text(body: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(body)
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    text.trim().to_owned()
}

fn gzip(payload: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(payload.len() / 4), Compression::fast());
    encoder.write_all(payload)?;
    encoder.finish()
}

/// The TLS files of an exporter, read once.
struct TlsFiles {
    ca: Option<Vec<u8>>,
    identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl TlsFiles {
    fn read(config: &TlsConfig, base_dir: &Path) -> Result<TlsFiles, ClientError> {
        let read = |path: &Path| {
            let path = base_dir.join(path);
            std::fs::read(&path).map_err(|source| ClientError::ReadFile {
                path: path.display().to_string(),
                source,
            })
        };
        let ca = config.ca_file.as_deref().map(read).transpose()?;
        let identity = match (&config.cert_file, &config.key_file) {
            (Some(cert), Some(key)) => Some((read(cert)?, read(key)?)),
            _ => None,
        };
        Ok(TlsFiles { ca, identity })
    }

    fn grpc(&self, server_name: Option<&str>) -> ClientTlsConfig {
        let mut tls = ClientTlsConfig::new();
        tls = match &self.ca {
            Some(ca) => tls.ca_certificate(Certificate::from_pem(ca)),
            None => tls.with_webpki_roots(),
        };
        if let Some((cert, key)) = &self.identity {
            tls = tls.identity(Identity::from_pem(cert, key));
        }
        if let Some(name) = server_name {
            tls = tls.domain_name(name);
        }
        tls
    }
}

/// Sends the queued bytes as the request message and decodes the OTLP response.
#[derive(Debug, Clone, Copy, Default)]
struct PassThroughCodec;

#[derive(Debug, Clone, Copy, Default)]
struct PassThroughEncoder;

#[derive(Debug, Clone, Copy, Default)]
struct ResponseDecoder;

impl Codec for PassThroughCodec {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = PassThroughEncoder;
    type Decoder = ResponseDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        PassThroughEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        ResponseDecoder
    }
}

impl Encoder for PassThroughEncoder {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for ResponseDecoder {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        ExportTraceServiceResponse::decode(src)
            .map(Some)
            .map_err(|e| tonic::Status::internal(format!("undecodable export response: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_path_is_appended_only_to_bare_urls() {
        assert_eq!(traces_url("http://a:4318"), "http://a:4318/v1/traces");
        assert_eq!(traces_url("http://a:4318/"), "http://a:4318/v1/traces");
        assert_eq!(
            traces_url("https://a/otlp/v1/traces"),
            "https://a/otlp/v1/traces"
        );
    }

    #[test]
    fn grpc_codes_follow_the_otlp_retry_rules() {
        use tonic::Code;
        let retry = |code| {
            matches!(
                grpc_failure(&tonic::Status::new(code, "x")),
                SendOutcome::Retry { .. }
            )
        };
        assert!(retry(Code::Unavailable));
        assert!(retry(Code::DeadlineExceeded));
        assert!(!retry(Code::InvalidArgument));
        assert!(!retry(Code::Unauthenticated));
        // RESOURCE_EXHAUSTED without RetryInfo is a permanent refusal (a size limit).
        assert!(!retry(Code::ResourceExhausted));
        let with_info = tonic::Status::with_error_details(
            Code::ResourceExhausted,
            "slow down",
            tonic_types::ErrorDetails::with_retry_info(Some(Duration::from_secs(3))),
        );
        assert_eq!(
            grpc_failure(&with_info),
            SendOutcome::Retry {
                reason: "gRPC ResourceExhausted: slow down".to_owned(),
                after: Some(Duration::from_secs(3))
            }
        );
    }
}
