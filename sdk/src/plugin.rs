//! The three plugin kinds, one trait each, matching the three wit worlds.
//!
//! Lifecycle (the same for all): the host creates an instance, calls `init` once with
//! the plugin's config, then calls the batch methods one at a time (never
//! concurrently). A trap (panic) or a deadline kills the instance (a panic's message and
//! location reach the gateway's log first, through the export glue's panic hook); the
//! host makes a new one and calls `init` again, so state that must survive lives nowhere
//! but in `Self` and is lost with the instance. Batches are borrowed for the call only.

use crate::batch::{SpanBatch, trace_ids_in_order};
use crate::bindings::types::{MetricPoint, Needs, SamplerNeeds};
use crate::decisions::Decision;
use crate::edits::Edits;

/// Edits spans: redaction, enrichment, renaming, dropping.
pub trait Processor: Sized + 'static {
    /// Parses `config` (JSON text; see [`config::parse`](crate::config::parse)) and says
    /// what the plugin reads. An error refuses the plugin and stops the gateway's
    /// start-up with the message.
    fn init(config: &str) -> Result<(Self, Needs), String>;

    /// Adds to `edits` the changes this batch needs. An error fails the call: the batch
    /// follows the plugin's `on_error` policy and no edit is applied.
    fn process(&mut self, batch: &SpanBatch, edits: &mut Edits) -> Result<(), String>;
}

/// Keeps or drops spans (head) and whole traces (tail).
pub trait Sampler: Sized + 'static {
    /// As [`Processor::init`]; `SamplerNeeds::tail` set to `Some` turns tail sampling
    /// on (declare `SpanFields::TRACE_ID` then: tail answers go by trace).
    fn init(config: &str) -> Result<(Self, SamplerNeeds), String>;

    /// One decision per span, in batch order.
    fn sample_head(&mut self, batch: &SpanBatch) -> Result<Vec<Decision>, String>;

    /// One decision per distinct trace id in order of first appearance (see
    /// [`trace_ids_in_order`]); the batch holds whole traces. Called only when `init`
    /// returned tail settings. The default keeps every trace with policy "".
    fn sample_tail(&mut self, batch: &SpanBatch) -> Result<Vec<Decision>, String> {
        Ok(trace_ids_in_order(batch)
            .into_iter()
            .map(|_| Decision::keep())
            .collect())
    }
}

/// Observes every span (before sampling) and reports metric points.
pub trait Metrics: Sized + 'static {
    /// As [`Processor::init`].
    fn init(config: &str) -> Result<(Self, Needs), String>;

    /// Updates the plugin's series from a batch.
    fn observe(&mut self, batch: &SpanBatch) -> Result<(), String>;

    /// The current value of every series; called on each scrape and export interval.
    fn collect(&mut self, now_unix_nanos: u64) -> Vec<MetricPoint>;
}
