//! Write Spangate plugins in Rust.
//!
//! A plugin is a WebAssembly component exporting one of the worlds of
//! `wit/plugin.wit` (`spangate:plugin@0.2.0`). This crate hides the wit plumbing:
//!
//! - a trait per plugin kind ([`Processor`], [`Sampler`], [`Metrics`]) and an export
//!   macro for each ([`export_processor!`], [`export_sampler!`], [`export_metrics!`]);
//! - [`batch::SpanBatch`]: per-span accessors (and column-wise tables) over the batch
//!   the host sends;
//! - [`edits::Edits`]: the changes a processor answers with, encoded as they are made;
//! - [`Decision`]: a sampler's answer per span or trace;
//! - [`config::parse`]: typed config with errors naming the key;
//! - [`host`]: the gateway's log and clock;
//! - [`testing`]: a native harness that builds batches the way the host does and
//!   applies edits the way the host does, so plugins are unit tested without wasm;
//! - [`abi`]: the byte layout itself, shared with the host.
//!
//! See `sdk/README.md` for a walk-through.

// Generated bindings and the export macros name this crate by its path, from inside
// the crate too.
extern crate self as spangate_plugin_sdk;

pub mod batch;
pub mod bindings;
pub mod config;
pub mod decisions;
pub mod edits;
mod export;
pub mod host;
mod needs;
mod plugin;
pub mod testing;

pub use spangate_plugin_abi as abi;

pub use batch::{SpanIndex, trace_ids_in_order};
pub use bindings::types::{
    AttributeSelection, Exemplar, HistogramValue, LogLevel, MetricPoint, MetricValue, Needs,
    SamplerNeeds, SpanFields, SpanKind, StatusCode, TailSettings, ValueKind,
};
pub use decisions::Decision;
pub use edits::{AttributeValue, Edit};
pub use plugin::{Metrics, Processor, Sampler};

#[doc(hidden)]
pub mod __private {
    pub use crate::export::*;
    pub use wit_bindgen;
}
