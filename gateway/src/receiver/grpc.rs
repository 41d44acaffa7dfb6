//! OTLP/gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export`, gzip accepted.

use std::sync::Arc;

use http::{HeaderMap, HeaderValue};
use http_body_util::BodyExt;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tonic::codec::CompressionEncoding;
use tonic::transport::server::TcpIncoming;
use tonic::{Code, Request, Response, Status};

use super::stats::{ReceiverStats, Refusal, Transport};
use super::{export_response, status};
use crate::access::ListenerAccess;
use crate::ingest::Ingest;
use crate::model::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use crate::tenant::{ORG_ID_HEADER, Tenancy};

pub(crate) struct OtlpGrpcReceiver {
    ingest: Ingest,
    tenancy: Tenancy,
    stats: Arc<ReceiverStats>,
}

#[tonic::async_trait]
impl TraceService for OtlpGrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let tenant = self.tenancy.for_write(
            request
                .metadata()
                .get_all(ORG_ID_HEADER)
                .iter()
                .map(|value| value.as_bytes()),
        );
        let tenant = match tenant {
            Ok(tenant) => tenant,
            Err(error) => {
                tracing::debug!(%error, "otlp grpc export refused: no usable tenant");
                self.stats
                    .record_refusal(Transport::Grpc, status::tenant_refusal(&error));
                return Err(status::grpc_tenant_status(&error));
            }
        };
        match self.ingest.export(&tenant, request.into_inner()).await {
            Ok(outcome) => {
                self.stats.record_export(
                    Transport::Grpc,
                    outcome.accepted_spans,
                    outcome.rejected_spans,
                );
                Ok(Response::new(export_response(&outcome)))
            }
            Err(error) => {
                status::log_refusal(&error, "otlp grpc");
                self.stats
                    .record_refusal(Transport::Grpc, status::refusal(&error));
                Err(status::grpc_status(&error))
            }
        }
    }
}

/// Serves OTLP/gRPC on `listener` until `shutdown`, with the TLS and credentials of
/// `access` when it has them.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    access: ListenerAccess,
    ingest: Ingest,
    tenancy: Tenancy,
    stats: Arc<ReceiverStats>,
    max_message_bytes: usize,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error> {
    let service = TraceServiceServer::new(OtlpGrpcReceiver {
        ingest,
        tenancy,
        stats: stats.clone(),
    })
    .accept_compressed(CompressionEncoding::Gzip)
    .send_compressed(CompressionEncoding::Gzip)
    .max_decoding_message_size(max_message_bytes);
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    access.watch(&shutdown);
    let router = tonic::transport::Server::builder()
        .layer(tower::util::MapResponseLayer::new(move |response| {
            correct_tonic_status(response, &stats, Transport::Grpc)
        }))
        .layer(tower::util::option_layer(access.auth_layer()))
        .add_service(service);
    let stop = shutdown.clone().cancelled_owned();
    match access.tls_incoming(listener, shutdown) {
        Ok(tls) => {
            tracing::info!(%address, tls = true, "otlp grpc receiver listening");
            router
                .serve_with_incoming_shutdown(tls.into_stream(), stop)
                .await
        }
        Err(listener) => {
            tracing::info!(%address, "otlp grpc receiver listening");
            router
                .serve_with_incoming_shutdown(
                    // Without TCP_NODELAY, small responses wait out delayed ACKs (~40 ms stalls).
                    TcpIncoming::from(listener).with_nodelay(Some(true)),
                    stop,
                )
                .await
        }
    }
}

/// Corrects two codes tonic produces before our handler runs:
/// - a message over the size limit gets OUT_OF_RANGE, which OTLP exporters retry, so
///   they would resend the same oversized batch forever; gRPC specifies
///   RESOURCE_EXHAUSTED (without RetryInfo: permanent) for it;
/// - an undecodable message gets INTERNAL (a server fault, retried by some SDKs) where
///   the client sent bad input: INVALID_ARGUMENT.
///
/// The status sits in the headers of a trailers-only response or in the trailers, so
/// both are checked. No handler here returns OUT_OF_RANGE or INTERNAL itself.
/// Each corrected refusal is counted, since our handler never saw the request.
/// (The Jaeger gRPC receiver has the same needs and uses it too.)
pub(super) fn correct_tonic_status(
    response: http::Response<Body>,
    stats: &Arc<ReceiverStats>,
    transport: Transport,
) -> http::Response<Body> {
    let (mut parts, body) = response.into_parts();
    count_corrected(stats, transport, correct_status_in(&mut parts.headers));
    let stats = stats.clone();
    let body = body.map_frame(move |mut frame| {
        if let Some(trailers) = frame.trailers_mut() {
            count_corrected(&stats, transport, correct_status_in(trailers));
        }
        frame
    });
    http::Response::from_parts(parts, Body::new(body))
}

fn count_corrected(stats: &ReceiverStats, transport: Transport, corrected: Option<Code>) {
    match corrected {
        Some(Code::ResourceExhausted) => stats.record_refusal(transport, Refusal::TooLarge),
        Some(_) => stats.record_refusal(transport, Refusal::Malformed),
        None => {}
    }
}

/// Rewrites the status in `headers` if it is one of tonic's; returns the new code.
fn correct_status_in(headers: &mut HeaderMap) -> Option<Code> {
    let status = Status::from_header_map(headers)?;
    let corrected = match status.code() {
        Code::OutOfRange => Code::ResourceExhausted,
        Code::Internal
            if status
                .message()
                .starts_with("failed to decode Protobuf message") =>
        {
            Code::InvalidArgument
        }
        _ => return None,
    };
    headers.insert("grpc-status", HeaderValue::from(corrected as i32));
    Some(corrected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_after(code: &str, message: &str) -> String {
        let mut headers = HeaderMap::new();
        headers.insert("grpc-status", HeaderValue::from_str(code).unwrap());
        headers.insert("grpc-message", HeaderValue::from_str(message).unwrap());
        correct_status_in(&mut headers);
        headers["grpc-status"].to_str().unwrap().to_owned()
    }

    #[test]
    fn oversize_and_undecodable_messages_get_permanent_client_codes() {
        assert_eq!(
            status_after("11", "Error, decoded message length too large"),
            "8"
        );
        // grpc-message is percent-encoded on the wire.
        assert_eq!(
            status_after(
                "13",
                "failed%20to%20decode%20Protobuf%20message:%20buffer%20underflow"
            ),
            "3"
        );
        assert_eq!(status_after("13", "something else"), "13");
        assert_eq!(status_after("14", "unavailable"), "14");
    }
}
