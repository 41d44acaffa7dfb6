//! Write Spangate plugins in Rust.
//!
//! A plugin is a WebAssembly component exporting one of the worlds of
//! `wit/plugin.wit`. This crate hides the wit plumbing:
//!
//! - a trait per plugin kind ([`Processor`], [`Sampler`], [`Metrics`]) and an export
//!   macro for each ([`export_processor!`], [`export_sampler!`], [`export_metrics!`]);
//! - [`batch::SpanBatch`]: per-span accessors over the column batch the host sends;
//! - [`edits::Edits`]: the changes a processor answers with;
//! - [`config::parse`]: typed config with errors naming the key;
//! - [`host`]: the gateway's log and clock;
//! - [`testing`]: a native harness that builds batches the way the host does and
//!   applies edits the way the host does, so plugins are unit tested without wasm.
//!
//! See `sdk/README.md` for a walk-through.

// Generated bindings and the export macros name this crate by its path, from inside
// the crate too.
extern crate self as spangate_plugin_sdk;

pub mod batch;
pub mod bindings;
pub mod config;
pub mod edits;
mod export;
pub mod host;
mod plugin;
pub mod testing;

pub use batch::trace_ids_in_order;
pub use bindings::types::{
    AttributeSelection, AttributeValue, Decision, Edit, Exemplar, HistogramValue, LogLevel,
    MetricPoint, MetricValue, Needs, SamplerNeeds, SpanFields, SpanKind, StatusCode, TailSettings,
};
pub use plugin::{Metrics, Processor, Sampler};

// The enums are generated, so `#[derive(Default)]` is not ours to add.
#[allow(clippy::derivable_impls)]
impl Default for SpanKind {
    fn default() -> Self {
        SpanKind::Unspecified
    }
}

#[allow(clippy::derivable_impls)]
impl Default for StatusCode {
    fn default() -> Self {
        StatusCode::Unset
    }
}

impl Needs {
    /// Needs named `name`/`version` that read nothing: add fields and attributes with
    /// the builder methods below or by setting the fields.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Needs {
            name: name.into(),
            version: version.into(),
            fields: SpanFields::empty(),
            span_attributes: AttributeSelection::None,
            resource_attributes: AttributeSelection::None,
            event_attributes: AttributeSelection::None,
            link_attributes: AttributeSelection::None,
        }
    }

    pub fn fields(mut self, fields: SpanFields) -> Self {
        self.fields = fields;
        self
    }

    pub fn span_attributes(mut self, selection: AttributeSelection) -> Self {
        self.span_attributes = selection;
        self
    }

    pub fn resource_attributes(mut self, selection: AttributeSelection) -> Self {
        self.resource_attributes = selection;
        self
    }

    pub fn event_attributes(mut self, selection: AttributeSelection) -> Self {
        self.event_attributes = selection;
        self
    }

    pub fn link_attributes(mut self, selection: AttributeSelection) -> Self {
        self.link_attributes = selection;
        self
    }
}

impl AttributeSelection {
    /// `Keys` from any list of names.
    pub fn keys<K: Into<String>>(keys: impl IntoIterator<Item = K>) -> Self {
        AttributeSelection::Keys(keys.into_iter().map(Into::into).collect())
    }

    /// Whether an attribute with this key and value is sent under this selection
    /// (`is_string`: the value is a plain string, not JSON text of a non-scalar).
    pub fn selects(&self, key: &str, is_string: bool) -> bool {
        match self {
            AttributeSelection::None => false,
            AttributeSelection::Keys(keys) => keys.iter().any(|wanted| wanted == key),
            AttributeSelection::AllStrings => is_string,
            AttributeSelection::All => true,
        }
    }
}

#[doc(hidden)]
pub mod __private {
    pub use crate::export::*;
    pub use wit_bindgen;
}
