//! The pure logic of Spangate's built-in `redaction` plugin.
//!
//! Redaction runs before anything is persisted, so no secret reaches the WAL or disk. This
//! crate knows nothing of the plugin ABI: the WIT glue parses the config handed to `init` with
//! [`RedactionConfig::parse`] (refusing it with the error's message), builds one [`Redactor`],
//! and maps each span onto [`model::Span`] (or calls [`Redactor::redact_attribute`] /
//! [`Redactor::redact_text`] field by field). Everything is tested natively; the crate builds
//! for `wasm32-wasip2` with pure-Rust dependencies only.
//!
//! Module map, each with one job:
//! - [`config`]: JSON config, checked and compiled once;
//! - [`keys`]: exact / glob / regex key matchers;
//! - [`patterns`]: value patterns (built-in scanners, Luhn, custom regexes) with a prefilter;
//! - [`hash`]: the keyed hash of the `hash` action;
//! - [`model`]: the owned span model;
//! - [`apply`]: the [`Redactor`] that puts them together.

pub mod apply;
pub mod config;
pub mod hash;
pub mod keys;
pub mod model;
pub mod patterns;

pub use apply::{AttributeScope, AttributeVerdict, RedactedText, Redactor};
pub use config::{Action, ApplyTo, ConfigError, KeyMode, RedactionConfig};
pub use model::{Attributes, Event, Link, Span, Value};
pub use patterns::BuiltinPattern;
