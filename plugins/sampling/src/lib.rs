//! Spangate's built-in `sampling` plugin: a WebAssembly component (`sampler-plugin` world of
//! `spangate:plugin@0.2.0`, glue in [`component`]) over logic that is independent of the ABI.
//!
//! The logic is pure Rust with no clock, no OS randomness and no I/O: time is handed in by the
//! caller as unix nanoseconds and randomness comes from trace ids, so the same inputs give the
//! same decisions natively, in `wasm32-wasip2`, and on every gateway:
//!
//! * [`HeadSampler::decide`] per incoming span: consistent probability by trace id, then an
//!   optional traces-per-second limit ([`head`]);
//! * [`TailDecider::decide`] per whole trace (the host holds spans for `decision_wait`):
//!   [`policy::PolicySet::evaluate`], remembered per trace id so stragglers follow it ([`tail`]).
//!
//! Policies read spans through [`model::SpanLike`], which the glue implements on the SDK's batch
//! view, so nothing is copied per span. Configuration is JSON, parsed and validated by
//! [`Config::parse`]; see `README.md`.

pub mod cache;
pub mod component;
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
pub use model::{
    Span, SpanId, SpanKind, SpanLike, StatusCode, TraceId, TraceView, Value, ValueRef,
};
pub use policy::{ALWAYS_KEEP_ERRORS_POLICY, Decision, PolicySet, evaluate};
pub use tail::TailDecider;

// The component's exports (emitted for wasm32 only, by the SDK).
spangate_plugin_sdk::export_sampler!(component::SamplingPlugin);
