//! Native test harness: run a plugin's logic without wasm or a gateway.
//!
//! [`to_batch`] builds the batch the host would send for a plugin's needs and
//! [`apply_edits`] applies a processor's edits the way the host does (same checks, same
//! error cases), so a test goes spans in, spans out. Unlike the gateway, a batch from
//! `to_batch` panics when the plugin reads a field or attribute it did not declare,
//! naming what to add to its needs. The harnesses wrap both around a plugin type:
//!
//! ```
//! # use spangate_plugin_sdk::{Processor, Needs, SpanFields, batch::SpanBatch, edits::Edits};
//! # struct Upper;
//! # impl Processor for Upper {
//! #     fn init(_: &str) -> Result<(Self, Needs), String> {
//! #         Ok((Upper, Needs::new("upper", "0.1.0").fields(SpanFields::NAME)))
//! #     }
//! #     fn process(&mut self, batch: &SpanBatch, edits: &mut Edits) -> Result<(), String> {
//! #         for span in batch.spans() { edits.set_name(span, span.name().to_uppercase()); }
//! #         Ok(())
//! #     }
//! # }
//! use spangate_plugin_sdk::testing::{ProcessorHarness, TestSpan};
//!
//! let mut harness = ProcessorHarness::<Upper>::new("{}").unwrap();
//! let out = harness.process(&[TestSpan::new(1, 1).named("get")]).unwrap();
//! assert_eq!(out[0].name, "GET");
//! ```

mod apply;
mod encode;
mod harness;
mod span;

#[doc(hidden)]
pub use apply::apply_decisions;
pub use apply::apply_edits;
pub use encode::to_batch;
pub use harness::{MetricsHarness, ProcessorHarness, SamplerHarness};
pub use span::{TestEvent, TestLink, TestSpan, TestValue};

use crate::bindings::types::LogLevel;

/// The messages logged through [`host::log`](crate::host::log) on this thread since the
/// last call (native builds; always empty in wasm, where logs go to the host).
pub fn take_logs() -> Vec<(LogLevel, String)> {
    #[cfg(not(target_arch = "wasm32"))]
    return crate::host::native::take_logs();
    #[cfg(target_arch = "wasm32")]
    return Vec::new();
}

/// Pins [`host::now_unix_nanos`](crate::host::now_unix_nanos) on this thread to
/// `unix_nanos`; `None` returns to the system clock. No effect in wasm.
pub fn set_now(unix_nanos: Option<u64>) {
    #[cfg(not(target_arch = "wasm32"))]
    crate::host::native::set_now(unix_nanos);
    #[cfg(target_arch = "wasm32")]
    let _ = unix_nanos;
}

#[cfg(test)]
mod tests;
