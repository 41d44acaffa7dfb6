//! OTLP/gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export`, gzip accepted.

use std::net::SocketAddr;

use http::HeaderValue;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use super::{export_response, status};
use crate::ingest::Ingest;
use crate::model::{ExportTraceServiceRequest, ExportTraceServiceResponse};

pub struct OtlpGrpcReceiver {
    ingest: Ingest,
}

#[tonic::async_trait]
impl TraceService for OtlpGrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        match self.ingest.export(request.into_inner()).await {
            Ok(outcome) => Ok(Response::new(export_response(&outcome))),
            Err(error) => {
                tracing::warn!(%error, "otlp grpc export refused");
                Err(status::grpc_status(&error))
            }
        }
    }
}

/// Serves OTLP/gRPC on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    ingest: Ingest,
    max_message_bytes: usize,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let service = TraceServiceServer::new(OtlpGrpcReceiver { ingest })
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_message_bytes);
    let local: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(address = ?local, "otlp grpc receiver listening");
    tonic::transport::Server::builder()
        .layer(tower::util::MapResponseLayer::new(
            oversize_is_resource_exhausted,
        ))
        .add_service(service)
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            shutdown,
        )
        .await
}

/// tonic refuses a message over the size limit with OUT_OF_RANGE, which OTLP exporters
/// treat as retryable, so they would resend the same oversized batch forever. gRPC
/// itself specifies RESOURCE_EXHAUSTED (without RetryInfo: permanent) for this, and
/// no handler here returns OUT_OF_RANGE, so the code is rewritten in the trailers-only
/// response tonic produces.
fn oversize_is_resource_exhausted<B>(mut response: http::Response<B>) -> http::Response<B> {
    const OUT_OF_RANGE: &str = "11";
    const RESOURCE_EXHAUSTED: HeaderValue = HeaderValue::from_static("8");
    if response
        .headers()
        .get("grpc-status")
        .is_some_and(|code| code == OUT_OF_RANGE)
    {
        response
            .headers_mut()
            .insert("grpc-status", RESOURCE_EXHAUSTED);
    }
    response
}
