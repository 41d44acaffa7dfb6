//! The WebAssembly plugin host: loads components written against `wit/plugin.wit`
//! (`spangate:plugin@0.2.0`), runs them sandboxed, and applies what they answer to
//! OTLP requests.
//!
//! - `PluginRuntime` (one per process) owns the wasmtime `Engine`, the `Linker` (WASI
//!   with an empty context plus our `host` imports), the epoch ticker and the compiled
//!   artifact cache; `load` compiles a component and detects its kind (refusing one
//!   built against another version of the contract), `start` makes a running
//!   [`Plugin`] from it.
//! - A `Plugin` is shared by the ingest workers: it holds a small pool of long-lived
//!   instances (one `Store` each), builds the columns a plugin declared it reads
//!   (`columns.rs`, with the layout of `spangate_plugin_abi`), calls it under a
//!   deadline and a memory cap, and checks and applies its answer (`edits.rs`,
//!   `decisions.rs`). Whatever the guest does (trap, loop, memory bomb, error,
//!   nonsense answer) the call is contained: the batch follows the plugin's `on_error`
//!   policy, a poisoned instance is re-created on the next call, and repeated failures
//!   open a circuit breaker (`instance.rs`). Calls never return errors to the pipeline;
//!   they report a `FailureKind` and are counted in `PluginStats`.
//!
//! Imports point down: `pipeline` → `plugin` → `model`; nothing here knows the store.

mod bindings;
mod cache;
mod circuit;
mod columns;
mod convert;
mod decisions;
mod dictionary;
mod edits;
mod error;
pub(crate) mod fuzzing;
mod instance;
mod json;
#[cfg(test)]
mod layout_agreement;
mod running;
mod runtime;

use std::fmt;
use std::time::Duration;

pub use error::PluginError;
pub use running::Plugin;
pub use runtime::{CompiledPlugin, LoadInfo, PluginRuntime, RuntimeSettings};

use crate::model::TailVerdict;

/// What a plugin does, from the interface its component exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginKind {
    /// Exports `spangate:plugin/processor@0.2.0`: edits spans.
    Processor,
    /// Exports `spangate:plugin/sampler@0.2.0`: keeps or drops spans (head) or traces (tail).
    Sampler,
    /// Exports `spangate:plugin/metrics@0.2.0`: observes spans, reports metric points.
    Metrics,
}

impl PluginKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Processor => "processor",
            PluginKind::Sampler => "sampler",
            PluginKind::Metrics => "metrics",
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens to a batch when its plugin call fails (or is skipped by the circuit
/// breaker): `pass` leaves the spans as they were (a sampler keeps them all), `drop`
/// removes them all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    Pass,
    Drop,
}

impl OnError {
    pub fn as_str(self) -> &'static str {
        match self {
            OnError::Pass => "pass",
            OnError::Drop => "drop",
        }
    }
}

/// Resources and fault handling of one plugin.
#[derive(Clone, Debug)]
pub struct PluginLimits {
    /// Linear memory per instance; growing past it traps (`FailureKind::Memory`).
    pub max_memory_bytes: usize,
    /// Wall-clock budget of one call (a batch, or `collect`); past it the call traps
    /// (`FailureKind::Timeout`). `init` gets ten times this budget.
    pub call_timeout: Duration,
    /// Processor instances called in parallel by the ingest workers. Samplers and
    /// metrics plugins keep state across batches and always run as one instance.
    pub instances: usize,
    /// Consecutive failed calls that open the circuit breaker.
    pub failure_threshold: u32,
    /// How long an open circuit skips calls before one trial call is let through.
    pub circuit_cooldown: Duration,
}

/// 250 ms: a 512-span batch costs ~2 ms through a Rust plugin and ~30 ms through a
/// Python one (componentize-py, measured on a 2-core machine), so this leaves a
/// wide margin and still stops a looping plugin quickly.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_millis(250);

impl Default for PluginLimits {
    fn default() -> Self {
        let parallelism = std::thread::available_parallelism().map_or(1, |n| n.get());
        PluginLimits {
            max_memory_bytes: 64 << 20,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            instances: parallelism.min(4),
            failure_threshold: 5,
            circuit_cooldown: Duration::from_secs(30),
        }
    }
}

/// How to start a compiled plugin.
#[derive(Clone, Debug)]
pub struct PluginSpec {
    /// The name the gateway's config gives the plugin (logs, metrics, errors).
    pub name: String,
    /// The plugin's own config, as JSON text, passed to its `init`.
    pub config_json: String,
    pub on_error: OnError,
    pub limits: PluginLimits,
}

/// What a plugin said about itself at `init`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginInfo {
    /// The name the plugin reported (not the configured one).
    pub name: String,
    pub version: String,
    /// What it reads, for humans: e.g. `fields: name, service-name; span attributes:
    /// keys [http.url]; resource attributes: none; ...`.
    pub needs: String,
}

/// Why a plugin call did not produce an applied answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The guest trapped (panic, unreachable, out-of-bounds access, ...).
    Trap,
    /// The call ran past `call_timeout`.
    Timeout,
    /// The guest tried to grow its memory past `max_memory_bytes`.
    Memory,
    /// The plugin returned `err(message)`.
    Error,
    /// The answer broke the contract: wrong number of decisions, an edit addressing a
    /// row, span or event that does not exist or a field the plugin did not declare,
    /// or malformed metric points. Nothing of it is applied.
    Invalid,
    /// The circuit breaker is open: the call was skipped.
    CircuitOpen,
    /// Re-creating a poisoned instance failed (instantiation or `init`).
    Init,
}

impl FailureKind {
    pub const ALL: [FailureKind; 7] = [
        FailureKind::Trap,
        FailureKind::Timeout,
        FailureKind::Memory,
        FailureKind::Error,
        FailureKind::Invalid,
        FailureKind::CircuitOpen,
        FailureKind::Init,
    ];

    /// Stable lowercase name, for metric labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Trap => "trap",
            FailureKind::Timeout => "timeout",
            FailureKind::Memory => "memory",
            FailureKind::Error => "error",
            FailureKind::Invalid => "invalid",
            FailureKind::CircuitOpen => "circuit_open",
            FailureKind::Init => "init",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// Failures after which the instance cannot be trusted and is re-created.
    fn kills_instance(self) -> bool {
        matches!(
            self,
            FailureKind::Trap | FailureKind::Timeout | FailureKind::Memory | FailureKind::Init
        )
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed (or skipped) call and why, as logged: e.g. a trap's cause and the panic
/// message the guest logged before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallFailure {
    pub kind: FailureKind,
    pub message: String,
}

impl fmt::Display for CallFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

/// What one processor, head-sampler or metrics call did to a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StageOutcome {
    /// Spans in the request before the call.
    pub spans_in: usize,
    /// Spans removed from the request, by the plugin or by `on_error: drop`.
    pub spans_dropped: usize,
    /// Set when the call failed or was skipped; `on_error` was applied.
    pub failure: Option<FailureKind>,
}

/// A tail sampler's answer: one verdict per distinct trace id of the request, in order
/// of first appearance.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TailOutcome {
    pub verdicts: Vec<([u8; 16], TailVerdict)>,
    /// Set when the call failed or was skipped: every verdict then follows `on_error`
    /// (`pass` → keep with policy "", `drop` → drop).
    pub failure: Option<FailureKind>,
}

/// Failures counted by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FailureCounts([u64; 7]);

impl FailureCounts {
    pub fn get(&self, kind: FailureKind) -> u64 {
        self.0[kind.index()]
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    pub fn iter(&self) -> impl Iterator<Item = (FailureKind, u64)> + '_ {
        FailureKind::ALL.iter().map(|&kind| (kind, self.get(kind)))
    }
}

/// A snapshot of a plugin's counters (monotonic since `start`, except `circuit_open`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PluginStats {
    /// Batches handed to the plugin (process / sample_head / sample_tail / observe),
    /// including the ones the circuit breaker skipped; empty batches are not calls.
    pub calls: u64,
    /// `collect` calls.
    pub collects: u64,
    /// Spans in those batches.
    pub spans_in: u64,
    /// Spans removed: by the plugin (drop-span, drop decisions, dropped traces) or by
    /// `on_error: drop`.
    pub spans_dropped: u64,
    /// Failed or skipped calls (batches and `collect`), by kind.
    pub failures: FailureCounts,
    /// Instances re-created after a trap, timeout, memory overrun or failed re-init.
    pub restarts: u64,
    /// Wall-clock time spent in calls (batches and `collect`): waiting for a free
    /// instance, building the columns, the guest's work, checking and applying its
    /// answer. Divided by `spans_in`, what the plugin costs per span.
    pub call_time: std::time::Duration,
    /// Times the circuit breaker opened (a failed half-open trial re-opens it: counted).
    pub circuit_opened: u64,
    /// Times it closed again: a half-open trial call succeeded.
    pub circuit_closed: u64,
    /// Whether the circuit is open (or half-open, waiting on its trial call) now.
    pub circuit_open: bool,
    /// The most linear memory (all its memories) one instance of the plugin has held
    /// after a call: what an instance costs in guest memory.
    pub memory_peak_bytes: u64,
}
