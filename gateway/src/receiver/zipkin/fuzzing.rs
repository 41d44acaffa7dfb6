//! The Zipkin receiver's decoding and translation, for the fuzz targets (`fuzz/`,
//! re-exported by `crate::fuzzing`): what `http.rs` does with a body after gunzip.

use super::{json_v1, json_v2, proto, translate};
use crate::model::ExportTraceServiceRequest;

/// Which body format the bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZipkinFormat {
    V1Json,
    V2Json,
    V2Protobuf,
}

/// Decodes a Zipkin body and translates it to OTLP; also returns the number of Zipkin
/// spans decoded. The error is the 400 text.
pub fn decode_zipkin(
    format: ZipkinFormat,
    payload: &[u8],
) -> Result<(ExportTraceServiceRequest, usize), String> {
    let spans = match format {
        ZipkinFormat::V1Json => json_v1::decode(payload),
        ZipkinFormat::V2Json => json_v2::decode(payload),
        ZipkinFormat::V2Protobuf => proto::decode(payload),
    }
    .map_err(|error| error.to_string())?;
    let count = spans.len();
    let request = translate::to_otlp(spans).map_err(|error| error.to_string())?;
    Ok((request, count))
}
