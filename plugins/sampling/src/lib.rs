//! The logic of Spangate's built-in `sampling` plugin, independent of the plugin ABI.
//!
//! Everything here is pure Rust with no clock, no OS randomness and no I/O: time is handed in
//! by the caller as unix nanoseconds and randomness comes from trace ids, so the same inputs
//! give the same decisions natively, in `wasm32-wasip2`, and on every gateway. The plugin's
//! `lib.rs` glue (once the WIT ABI settles) only converts spans into [`model::Span`] and calls:
//!
//! * [`HeadSampler::decide`] per incoming span: consistent probability by trace id, then an
//!   optional traces-per-second limit ([`head`]);
//! * [`TailSampler::add`] / [`TailSampler::ready`] for tail sampling: spans buffered per trace
//!   for `decision_wait`, then [`policy::PolicySet::evaluate`] on the whole trace ([`tail`]).
//!
//! Configuration is JSON, parsed and validated by [`Config::parse`]; see `README.md`.

pub mod buffer;
pub mod cache;
pub mod config;
pub mod consistent;
pub mod duration;
pub mod head;
pub mod model;
pub mod policy;
pub mod rate;
pub mod tail;

pub use config::{Config, ConfigError, SamplingConfig};
pub use consistent::{Threshold, format_ot_th, set_tracestate_th};
pub use head::{HeadDecision, HeadDropReason, HeadSampler, HeadStats};
pub use model::{Span, SpanId, SpanKind, StatusCode, TraceId, TraceView, Value};
pub use policy::{ALWAYS_KEEP_ERRORS_POLICY, Decision, PolicySet, evaluate};
pub use tail::{
    AddOutcome, DecidedTrace, DecisionTrigger, SAMPLING_POLICY_ATTRIBUTE, TailSampler, TailStats,
};
