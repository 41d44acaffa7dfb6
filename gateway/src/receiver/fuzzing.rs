//! The OTLP receivers' body decoding, for the fuzz targets (`fuzz/`, re-exported by
//! `crate::fuzzing`): the function an OTLP/HTTP body goes through after gunzip (OTLP/gRPC
//! decodes the same message with the same prost code).

use super::http::{Encoding, decode_request};
use crate::model::ExportTraceServiceRequest;

/// Decodes an OTLP/HTTP body, JSON when `json`, else protobuf; the error is the 400 text.
pub fn decode_otlp(payload: &[u8], json: bool) -> Result<ExportTraceServiceRequest, String> {
    let encoding = if json {
        Encoding::Json
    } else {
        Encoding::Protobuf
    };
    decode_request(payload, encoding)
}
