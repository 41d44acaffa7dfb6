//! The Jaeger Thrift receivers' decoding and translation, for the fuzz targets (`fuzz/`,
//! re-exported by `crate::fuzzing`): what `udp.rs` does with a datagram and `http.rs` with
//! a body before handing the OTLP request to ingest.

use super::thrift::{BinaryProtocol, read_batch};
use super::translate::to_otlp;
use super::udp::UdpProtocol;
use crate::model::ExportTraceServiceRequest;

/// Which Jaeger Thrift input the bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JaegerThrift {
    /// A datagram of the compact-protocol agent port (`Agent.emitBatch`).
    UdpCompact,
    /// A datagram of the binary-protocol agent port (`Agent.emitBatch`).
    UdpBinary,
    /// A body of `POST /api/traces`: a bare `Batch` in the binary protocol.
    HttpBinary,
}

/// Decodes `payload` as the receiver would and translates it to OTLP; also returns the
/// number of Jaeger spans decoded (translation keeps each one).
pub fn decode_jaeger_thrift(
    input: JaegerThrift,
    payload: &[u8],
) -> Result<(ExportTraceServiceRequest, usize), String> {
    let batch = match input {
        JaegerThrift::UdpCompact => UdpProtocol::Compact.decode(payload),
        JaegerThrift::UdpBinary => UdpProtocol::Binary.decode(payload),
        JaegerThrift::HttpBinary => read_batch(&mut BinaryProtocol::new(payload)),
    }
    .map_err(|error| error.to_string())?;
    let spans = batch.spans.len();
    Ok((to_otlp(batch), spans))
}
