//! The two ways of calling `TraceService/Export`.
//!
//! * `generated`: opentelemetry-proto's tonic client. Every send clones the template message and
//!   tonic encodes it, as an SDK exporter would.
//! * `raw` (default): tonic's generic gRPC client with a codec that writes already-encoded bytes,
//!   so a send costs one memcpy. Same method, same wire bytes, a fraction of the loadgen's CPU.

use bytes::{BufMut, Bytes};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceResponse, trace_service_client::TraceServiceClient,
};
use prost::Message;
use tonic::{
    Code, Status,
    codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder},
    codegen::http::uri::PathAndQuery,
    transport::Channel,
};

use crate::template::{FreshIds, Template};

const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientKind {
    /// Pre-encoded protobuf bytes through tonic's generic client (cheap).
    Raw,
    /// opentelemetry-proto's generated `TraceServiceClient` (encodes each request).
    Generated,
}

/// What one send carries. The generated client stamps a fresh message per attempt because tonic
/// takes the message by value.
pub(crate) enum Payload<'a> {
    Encoded(Bytes),
    Stamp {
        template: &'a Template,
        ids: &'a FreshIds,
        time_shift_nanos: u64,
    },
}

pub(crate) enum ExportClient {
    Raw(tonic::client::Grpc<Channel>),
    Generated(TraceServiceClient<Channel>),
}

impl ExportClient {
    pub(crate) fn new(kind: ClientKind, channel: Channel, gzip: bool) -> Self {
        match kind {
            ClientKind::Raw => {
                let mut grpc = tonic::client::Grpc::new(channel);
                if gzip {
                    grpc = grpc.send_compressed(CompressionEncoding::Gzip);
                }
                ExportClient::Raw(grpc)
            }
            ClientKind::Generated => {
                let mut client = TraceServiceClient::new(channel);
                if gzip {
                    client = client.send_compressed(CompressionEncoding::Gzip);
                }
                ExportClient::Generated(client)
            }
        }
    }

    pub(crate) async fn export(
        &mut self,
        payload: &Payload<'_>,
    ) -> Result<ExportTraceServiceResponse, Status> {
        match (self, payload) {
            (ExportClient::Raw(grpc), Payload::Encoded(bytes)) => {
                grpc.ready()
                    .await
                    .map_err(|error| Status::unavailable(format!("channel not ready: {error}")))?;
                let response = grpc
                    .unary(
                        tonic::Request::new(bytes.clone()),
                        PathAndQuery::from_static(EXPORT_PATH),
                        PreEncodedCodec,
                    )
                    .await?;
                Ok(response.into_inner())
            }
            (
                ExportClient::Generated(client),
                Payload::Stamp {
                    template,
                    ids,
                    time_shift_nanos,
                },
            ) => {
                let message = template.stamp_message(ids, *time_shift_nanos);
                let response = client.export(message).await?;
                Ok(response.into_inner())
            }
            _ => Err(Status::internal("payload does not match the client kind")),
        }
    }
}

/// Whether a failed export should be retried (the OTLP exporter's retryable set as the brief
/// asks: `RESOURCE_EXHAUSTED` and `UNAVAILABLE`).
pub(crate) fn is_retryable(code: Code) -> bool {
    matches!(code, Code::ResourceExhausted | Code::Unavailable)
}

/// The server's requested back-off, if the status carries a `google.rpc.RetryInfo`.
pub(crate) fn retry_delay(status: &Status) -> Option<std::time::Duration> {
    use tonic_types::StatusExt;
    status.get_details_retry_info()?.retry_delay
}

/// Short upper-snake name of a gRPC code for reports, e.g. `RESOURCE_EXHAUSTED`.
pub(crate) fn code_name(code: Code) -> String {
    format!("{code:?}")
        .chars()
        .enumerate()
        .flat_map(|(index, character)| {
            let separator = (index > 0 && character.is_ascii_uppercase()).then_some('_');
            separator
                .into_iter()
                .chain(std::iter::once(character.to_ascii_uppercase()))
        })
        .collect()
}

#[derive(Clone, Copy, Debug, Default)]
struct PreEncodedCodec;

impl Codec for PreEncodedCodec {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = PreEncodedCodec;
    type Decoder = PreEncodedCodec;

    fn encoder(&mut self) -> Self::Encoder {
        PreEncodedCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        PreEncodedCodec
    }
}

impl Encoder for PreEncodedCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for PreEncodedCodec {
    type Item = ExportTraceServiceResponse;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        ExportTraceServiceResponse::decode(src)
            .map(Some)
            .map_err(|error| Status::internal(format!("bad ExportTraceServiceResponse: {error}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_are_upper_snake() {
        assert_eq!(code_name(Code::ResourceExhausted), "RESOURCE_EXHAUSTED");
        assert_eq!(code_name(Code::Unavailable), "UNAVAILABLE");
        assert_eq!(code_name(Code::InvalidArgument), "INVALID_ARGUMENT");
        assert_eq!(code_name(Code::Ok), "OK");
    }

    #[test]
    fn only_backpressure_codes_are_retried() {
        assert!(is_retryable(Code::ResourceExhausted));
        assert!(is_retryable(Code::Unavailable));
        assert!(!is_retryable(Code::InvalidArgument));
        assert!(!is_retryable(Code::Internal));
    }
}
