//! Spangate's built-in `redaction` plugin: a WebAssembly component (`processor-plugin` world
//! of `spangate:plugin@0.2.0`) over pure, ABI-agnostic logic.
//!
//! Redaction runs before anything is persisted, so no secret reaches the WAL or disk. The
//! glue ([`component`]) parses the config handed to `init` with [`RedactionConfig::parse`]
//! (refusing it with the error's message), builds one [`Redactor`], and reads each batch in
//! place, calling [`Redactor::redact_scalar`] / [`Redactor::redact_text_counted`] field by field
//! and answering with edits. Everything is tested natively; the crate builds for
//! `wasm32-wasip2` with pure-Rust dependencies only.
//!
//! Module map, each with one job:
//! - [`config`]: JSON config, checked and compiled once;
//! - [`keys`]: exact / glob / regex key matchers;
//! - [`patterns`]: value patterns (built-in scanners, Luhn, custom regexes) with a prefilter;
//! - [`hash`]: the keyed hash of the `hash` action;
//! - [`model`]: the owned span model;
//! - [`apply`]: the [`Redactor`] that puts them together;
//! - [`component`]: the SDK glue (needs, edits).

pub mod apply;
pub mod component;
pub mod config;
pub mod hash;
pub mod keys;
pub mod model;
pub mod patterns;

pub use apply::{AttributeScope, AttributeVerdict, RedactedText, Redactor, ScalarRef};
pub use config::{Action, ApplyTo, ConfigError, KeyMode, RedactionConfig};
pub use model::{Attributes, Event, Link, Span, Value};
pub use patterns::BuiltinPattern;

// The component's exports (emitted for wasm32 only, by the SDK).
spangate_plugin_sdk::export_processor!(component::RedactionPlugin);
