//! Ingest's validation, for the fuzz targets (`fuzz/`, re-exported by `crate::fuzzing`):
//! the step every receiver's request goes through first, which turns it into accepted
//! spans and refused ones (counted, with a message for the partial success).

use crate::model::ExportTraceServiceRequest;

/// Removes the spans the store cannot key; returns how many it removed and why.
pub fn retain_valid_spans(request: &mut ExportTraceServiceRequest) -> (usize, String) {
    let rejection = super::retain_valid_spans(request);
    (rejection.count, rejection.message)
}
