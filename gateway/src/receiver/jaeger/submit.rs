//! What every Jaeger transport does with a decoded batch: map it to OTLP, hand it to
//! ingest for its tenant, and count the outcome under the transport's label.

use std::sync::Arc;

use super::model::Batch;
use super::translate;
use crate::ingest::{Ingest, IngestError, IngestOutcome};
use crate::receiver::stats::{ReceiverStats, Refusal, Transport};
use crate::receiver::status;

#[derive(Clone)]
pub(crate) struct Sink {
    ingest: Ingest,
    stats: Arc<ReceiverStats>,
}

/// Why a decoded batch was not stored.
#[derive(Debug)]
pub(super) enum SubmitError {
    /// Ingest refused the whole request (overload, storage, limits).
    Ingest(IngestError),
    /// Every span was invalid (e.g. an all-zero id); the message names the first.
    AllRejected(String),
}

impl Sink {
    pub(crate) fn new(ingest: Ingest, stats: Arc<ReceiverStats>) -> Sink {
        Sink { ingest, stats }
    }

    pub(super) fn refused(&self, transport: Transport, refusal: Refusal) {
        self.stats.record_refusal(transport, refusal);
    }

    /// Stores `batch` for `tenant`. Jaeger's protocols have no partial success: spans
    /// rejected one by one are counted and logged, and only a batch with nothing left
    /// to store is refused.
    pub(super) async fn submit(
        &self,
        transport: Transport,
        tenant: &str,
        batch: Batch,
    ) -> Result<IngestOutcome, SubmitError> {
        let request = translate::to_otlp(batch);
        match self.ingest.export(tenant, request).await {
            Ok(outcome) => {
                self.stats
                    .record_export(transport, outcome.accepted_spans, outcome.rejected_spans);
                if outcome.rejected_spans > 0 {
                    tracing::debug!(
                        transport = transport.label(),
                        rejected = outcome.rejected_spans,
                        message = %outcome.rejection_message,
                        "jaeger spans rejected"
                    );
                    if outcome.accepted_spans == 0 {
                        return Err(SubmitError::AllRejected(outcome.rejection_message));
                    }
                }
                Ok(outcome)
            }
            Err(error) => {
                crate::receiver::status::log_refusal(&error, transport.label());
                self.stats
                    .record_refusal(transport, status::refusal(&error));
                Err(SubmitError::Ingest(error))
            }
        }
    }
}
