//! Receivers: OTLP (gRPC, HTTP), Jaeger's (`jaeger/`) and Zipkin's (`zipkin/`). Each unpacks
//! its transport, hands an `ExportTraceServiceRequest` to `Ingest`, and translates the
//! outcome once, in `status.rs`; the HTTP ones read bodies with `body.rs`.

mod body;
mod config;
pub(crate) mod fuzzing;
pub(crate) mod grpc;
pub(crate) mod http;
pub(crate) mod jaeger;
mod stats;
mod status;
pub(crate) mod zipkin;

pub(crate) use config::ReceiversConfig;
pub(crate) use stats::{ReceiverStats, Refusal, Transport};

use crate::ingest::IngestOutcome;
use crate::model::{ExportTracePartialSuccess, ExportTraceServiceResponse};

/// The OTLP response for an outcome: `partial_success` only when spans were rejected.
fn export_response(outcome: &IngestOutcome) -> ExportTraceServiceResponse {
    let partial_success = (outcome.rejected_spans > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: i64::try_from(outcome.rejected_spans).unwrap_or(i64::MAX),
        error_message: outcome.rejection_message.clone(),
    });
    ExportTraceServiceResponse { partial_success }
}
