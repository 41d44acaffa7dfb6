//! gRPC `jaeger.api_v2.CollectorService/PostSpans`, written the way `tonic-build` would
//! generate it (one unary route, gzip accepted), served with the same status
//! corrections as OTLP/gRPC (`receiver/grpc.rs`).

use std::convert::Infallible;
use std::sync::Arc;

use tonic::codegen::{
    Body, BoxFuture, CompressionEncoding, Context, EnabledCompressionEncodings, Poll, Service,
    StdError, http,
};
use tonic::server::NamedService;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use super::proto::{self, api_v2};
use super::submit::{Sink, SubmitError};
use crate::receiver::grpc::correct_tonic_status;
use crate::receiver::stats::{ReceiverStats, Refusal, Transport};
use crate::receiver::status;
use crate::tenant::{ORG_ID_HEADER, Tenancy};

const TRANSPORT: Transport = Transport::JaegerGrpc;
const POST_SPANS: &str = "/jaeger.api_v2.CollectorService/PostSpans";

#[derive(Clone)]
struct CollectorService {
    sink: Sink,
    tenancy: Tenancy,
    max_message_bytes: usize,
}

impl NamedService for CollectorService {
    const NAME: &'static str = "jaeger.api_v2.CollectorService";
}

impl<B> Service<http::Request<B>> for CollectorService
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() != POST_SPANS {
            return Box::pin(async {
                Ok(Status::unimplemented("").into_http::<tonic::body::Body>())
            });
        }
        let service = self.clone();
        Box::pin(async move {
            let max_message_bytes = service.max_message_bytes;
            let rpc = tower::service_fn(move |request: Request<api_v2::PostSpansRequest>| {
                let service = service.clone();
                async move { service.post_spans(request).await }
            });
            let mut accept = EnabledCompressionEncodings::default();
            accept.enable(CompressionEncoding::Gzip);
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::<
                api_v2::PostSpansResponse,
                api_v2::PostSpansRequest,
            >::default())
            .apply_compression_config(accept, EnabledCompressionEncodings::default())
            .apply_max_message_size_config(Some(max_message_bytes), None);
            Ok(grpc.unary(rpc, request).await)
        })
    }
}

impl CollectorService {
    async fn post_spans(
        &self,
        request: Request<api_v2::PostSpansRequest>,
    ) -> Result<Response<api_v2::PostSpansResponse>, Status> {
        let tenant = self
            .tenancy
            .for_write(
                request
                    .metadata()
                    .get_all(ORG_ID_HEADER)
                    .iter()
                    .map(|value| value.as_bytes()),
            )
            .map_err(|error| {
                self.sink.refused(TRANSPORT, status::tenant_refusal(&error));
                status::grpc_tenant_status(&error)
            })?;
        let batch = request.into_inner().batch.unwrap_or_default();
        let batch = proto::read_batch(batch).map_err(|error| {
            self.sink.refused(TRANSPORT, Refusal::Malformed);
            Status::invalid_argument(format!("invalid jaeger.api_v2 batch: {error}"))
        })?;
        match self.sink.submit(TRANSPORT, &tenant, batch).await {
            Ok(_) => Ok(Response::new(api_v2::PostSpansResponse {})),
            Err(SubmitError::Ingest(error)) => Err(status::grpc_status(&error)),
            Err(SubmitError::AllRejected(message)) => Err(Status::invalid_argument(message)),
        }
    }
}

/// Serves `jaeger.api_v2.CollectorService` on `listener` until `shutdown` resolves.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    sink: Sink,
    tenancy: Tenancy,
    stats: Arc<ReceiverStats>,
    max_message_bytes: usize,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    match listener.local_addr() {
        Ok(address) => tracing::info!(%address, "jaeger grpc receiver listening"),
        Err(_) => tracing::info!("jaeger grpc receiver listening"),
    }
    tonic::transport::Server::builder()
        .layer(tower::util::MapResponseLayer::new(move |response| {
            correct_tonic_status(response, &stats, TRANSPORT)
        }))
        .add_service(CollectorService {
            sink,
            tenancy,
            max_message_bytes,
        })
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
        .await
}
