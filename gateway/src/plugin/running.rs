//! A started plugin: the calls the pipeline makes, each contained and counted.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::circuit::{Admission, Circuit};
use super::columns::Columns;
use super::convert;
use super::decisions::{apply_decisions, check_decisions, tail_verdict};
use super::edits::{EditScratch, apply_edits};
use super::instance::{CreateError, Exports, Failure, Instance, Pool, Recipe, Slot};
use super::runtime::{CompiledPlugin, PluginRuntime};
use super::{
    CallFailure, FailureCounts, FailureKind, OnError, PluginError, PluginInfo, PluginKind,
    PluginLimits, PluginSpec, PluginStats, StageOutcome, TailOutcome,
};
use crate::model::{
    ExportTraceServiceRequest, MetricPoint, TailSettings, TailVerdict, count_spans,
};

/// A running plugin, shared by the ingest workers (`Arc<Plugin>`). Calls block the
/// calling thread for the guest's work (run them on a blocking pool); a processor's
/// calls run on up to `limits.instances` instances in parallel, a sampler's or metrics
/// plugin's one at a time. No call returns an error or panics: a failure is reported in
/// the outcome, logged, counted, and the batch follows `on_error`.
pub struct Plugin {
    name: Arc<str>,
    kind: PluginKind,
    info: PluginInfo,
    tail: Option<TailSettings>,
    on_error: OnError,
    limits: PluginLimits,
    deadline_ticks: u64,
    recipe: Recipe,
    pool: Pool,
    circuit: Mutex<Circuit>,
    /// Shared with the plugin of the same name and kind in the next pipeline after a
    /// reload, so `/metrics` counters keep counting instead of falling back to zero.
    counters: Arc<Counters>,
    last_failure: Mutex<Option<CallFailure>>,
}

#[derive(Default)]
struct Counters {
    calls: AtomicU64,
    collects: AtomicU64,
    spans_in: AtomicU64,
    spans_dropped: AtomicU64,
    failures: [AtomicU64; 7],
    restarts: AtomicU64,
    circuit_opened: AtomicU64,
    circuit_closed: AtomicU64,
    call_nanos: AtomicU64,
    /// The most linear memory one instance has held.
    memory_peak: AtomicU64,
}

fn add(counter: &AtomicU64, amount: usize) {
    counter.fetch_add(amount as u64, Ordering::Relaxed);
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("info", &self.info)
            .field("tail", &self.tail)
            .field("on_error", &self.on_error)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    pub(super) fn start(
        runtime: Arc<PluginRuntime>,
        compiled: &CompiledPlugin,
        spec: PluginSpec,
    ) -> Result<Plugin, PluginError> {
        let PluginSpec {
            name,
            config_json,
            on_error,
            limits,
        } = spec;
        check_limits(&name, &limits)?;
        let plugin: Arc<str> = Arc::from(name.as_str());
        let deadline_ticks = runtime.deadline_ticks(limits.call_timeout);
        let recipe = Recipe {
            runtime,
            pre: compiled.pre.clone(),
            plugin: plugin.clone(),
            config_json,
            limits: limits.clone(),
        };
        let (first, declared) = recipe.create().map_err(|error| match error {
            CreateError::Refused(message) => PluginError::InitRefused {
                plugin: name.clone(),
                message,
            },
            CreateError::Failed(failure) => PluginError::Instantiate {
                plugin: name.clone(),
                message: format!("{} ({})", failure.message, failure.kind),
            },
        })?;
        let tail = match &declared.tail {
            Some(settings) => Some(convert::tail_settings(settings).map_err(|message| {
                PluginError::Instantiate {
                    plugin: name.clone(),
                    message,
                }
            })?),
            None => None,
        };
        let info = convert::plugin_info(&declared.needs);
        // Samplers and metrics plugins keep state (rates, pending counts, series)
        // across batches: one instance, or their state would be split.
        let instances = match compiled.kind {
            PluginKind::Processor => limits.instances,
            PluginKind::Sampler | PluginKind::Metrics => 1,
        };
        // Logged once, by the pipeline that starts it ("plugin started").
        Ok(Plugin {
            name: plugin,
            kind: compiled.kind,
            info,
            tail,
            on_error,
            circuit: Mutex::new(Circuit::new(
                limits.failure_threshold,
                limits.circuit_cooldown,
            )),
            limits,
            deadline_ticks,
            recipe,
            pool: Pool::new(instances, first),
            counters: Arc::default(),
            last_failure: Mutex::new(None),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> PluginKind {
        self.kind
    }

    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    pub fn on_error(&self) -> OnError {
        self.on_error
    }

    pub fn limits(&self) -> &PluginLimits {
        &self.limits
    }

    /// Instances calls run on (a processor's `limits.instances`; one for the others).
    pub fn instances(&self) -> usize {
        self.pool.size()
    }

    /// Continues `previous`'s counters when it is the same plugin (name and kind) of the
    /// pipeline this one replaces on reload. Call before the plugin is shared.
    pub fn continue_counters_of(&mut self, previous: &Plugin) {
        if previous.name == self.name && previous.kind == self.kind {
            self.counters = previous.counters.clone();
        }
    }

    /// `Some` for a sampler that tail-samples (it declared tail settings at `init`).
    pub fn tail_settings(&self) -> Option<TailSettings> {
        self.tail
    }

    /// Processor: builds the columns it declared, calls `process`, checks the edits and
    /// applies them to `request` (scope and resource spans left empty are removed).
    pub fn process(&self, request: &mut ExportTraceServiceRequest) -> StageOutcome {
        let Some(spans_in) = self.begin_batch(PluginKind::Processor, "process", request) else {
            return StageOutcome::default();
        };
        let deadline = self.deadline_ticks;
        let result = self.run(|instance, columns, scratch| {
            columns.build(request, &instance.needs);
            let answer = instance.call(deadline, |exports, store| match exports {
                Exports::Processor(plugin) => plugin
                    .spangate_plugin_processor()
                    .call_process(store, &columns.batch),
                _ => Err(wasmtime::Error::msg("not a processor")),
            })?;
            let edits = answer.map_err(|message| Failure::new(FailureKind::Error, message))?;
            apply_edits(request, &edits, columns, &instance.needs, scratch)
                .map_err(|invalid| Failure::new(FailureKind::Invalid, invalid.0))
        });
        self.finish_stage(request, spans_in, result)
    }

    /// Sampler, head: one decision per span; dropped spans are removed from `request`.
    /// (The policy a `keep` names is not recorded for head decisions.)
    pub fn sample_head(&self, request: &mut ExportTraceServiceRequest) -> StageOutcome {
        let Some(spans_in) = self.begin_batch(PluginKind::Sampler, "sample_head", request) else {
            return StageOutcome::default();
        };
        let deadline = self.deadline_ticks;
        let result = self.run(|instance, columns, scratch| {
            columns.build(request, &instance.needs);
            let answer = instance.call(deadline, |exports, store| match exports {
                Exports::Sampler(plugin) => plugin
                    .spangate_plugin_sampler()
                    .call_sample_head(store, &columns.batch),
                _ => Err(wasmtime::Error::msg("not a sampler")),
            })?;
            let decisions = answer.map_err(|message| Failure::new(FailureKind::Error, message))?;
            apply_decisions(request, &decisions, spans_in, scratch)
                .map_err(|invalid| Failure::new(FailureKind::Invalid, invalid.0))
        });
        self.finish_stage(request, spans_in, result)
    }

    /// Sampler, tail: `traces` holds whole traces; one verdict per distinct trace id,
    /// in order of first appearance. On failure `on_error` decides every trace.
    pub fn sample_tail(&self, traces: &ExportTraceServiceRequest) -> TailOutcome {
        if !self.expect_kind(PluginKind::Sampler, "sample_tail") {
            return TailOutcome::default();
        }
        let (trace_ids, spans_per_trace) = distinct_traces(traces);
        let spans_in: usize = spans_per_trace.iter().sum();
        if spans_in == 0 {
            return TailOutcome::default();
        }
        self.count_call(spans_in);
        let deadline = self.deadline_ticks;
        let result = self.run(|instance, columns, _| {
            columns.build(traces, &instance.needs);
            let answer = instance.call(deadline, |exports, store| match exports {
                Exports::Sampler(plugin) => plugin
                    .spangate_plugin_sampler()
                    .call_sample_tail(store, &columns.batch),
                _ => Err(wasmtime::Error::msg("not a sampler")),
            })?;
            let decisions = answer.map_err(|message| Failure::new(FailureKind::Error, message))?;
            check_decisions(&decisions, trace_ids.len(), "traces")
                .map_err(|invalid| Failure::new(FailureKind::Invalid, invalid.0))?;
            Ok(decisions)
        });
        match result {
            Ok(decisions) => {
                let mut dropped = 0;
                let verdicts = trace_ids
                    .iter()
                    .zip(&spans_per_trace)
                    .enumerate()
                    .map(|(position, (trace_id, spans))| {
                        let verdict = tail_verdict(&decisions, position);
                        if verdict == TailVerdict::Drop {
                            dropped += spans;
                        }
                        (*trace_id, verdict)
                    })
                    .collect();
                add(&self.counters.spans_dropped, dropped);
                TailOutcome {
                    verdicts,
                    failure: None,
                }
            }
            Err(failure) => {
                let verdict = match self.on_error {
                    OnError::Pass => TailVerdict::Keep {
                        policy: String::new(),
                    },
                    OnError::Drop => {
                        add(&self.counters.spans_dropped, spans_in);
                        TailVerdict::Drop
                    }
                };
                TailOutcome {
                    verdicts: trace_ids
                        .into_iter()
                        .map(|trace_id| (trace_id, verdict.clone()))
                        .collect(),
                    failure: Some(failure),
                }
            }
        }
    }

    /// Metrics: shows the plugin the batch. The request is never changed (`on_error`
    /// does not apply: a metrics plugin cannot drop spans).
    pub fn observe(&self, request: &ExportTraceServiceRequest) -> StageOutcome {
        let Some(spans_in) = self.begin_batch(PluginKind::Metrics, "observe", request) else {
            return StageOutcome::default();
        };
        let deadline = self.deadline_ticks;
        let result = self.run(|instance, columns, _| {
            columns.build(request, &instance.needs);
            let answer = instance.call(deadline, |exports, store| match exports {
                Exports::Metrics(plugin) => plugin
                    .spangate_plugin_metrics()
                    .call_observe(store, &columns.batch),
                _ => Err(wasmtime::Error::msg("not a metrics plugin")),
            })?;
            answer.map_err(|message| Failure::new(FailureKind::Error, message))
        });
        StageOutcome {
            spans_in,
            spans_dropped: 0,
            failure: result.err(),
        }
    }

    /// Metrics: the plugin's current series; empty on failure (or for other kinds).
    pub fn collect(&self, now_unix_nanos: u64) -> Vec<MetricPoint> {
        if !self.expect_kind(PluginKind::Metrics, "collect") {
            return Vec::new();
        }
        self.counters.collects.fetch_add(1, Ordering::Relaxed);
        let deadline = self.deadline_ticks;
        let result = self.run(|instance, _, _| {
            let points = instance.call(deadline, |exports, store| match exports {
                Exports::Metrics(plugin) => plugin
                    .spangate_plugin_metrics()
                    .call_collect(store, now_unix_nanos),
                _ => Err(wasmtime::Error::msg("not a metrics plugin")),
            })?;
            convert::metric_points(points)
                .map_err(|reason| Failure::new(FailureKind::Invalid, reason))
        });
        result.unwrap_or_default()
    }

    pub fn stats(&self) -> PluginStats {
        let counters = &self.counters;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut failures = [0u64; 7];
        for (count, counter) in failures.iter_mut().zip(&counters.failures) {
            *count = load(counter);
        }
        PluginStats {
            calls: load(&counters.calls),
            collects: load(&counters.collects),
            spans_in: load(&counters.spans_in),
            spans_dropped: load(&counters.spans_dropped),
            failures: FailureCounts(failures),
            restarts: load(&counters.restarts),
            call_time: Duration::from_nanos(load(&counters.call_nanos)),
            circuit_opened: load(&counters.circuit_opened),
            circuit_closed: load(&counters.circuit_closed),
            memory_peak_bytes: load(&counters.memory_peak),
            circuit_open: self.circuit().is_open(),
        }
    }

    /// The last call that failed (or was skipped), with why: for tools that run a
    /// plugin once and report (`spangate plugin run`).
    pub fn last_failure(&self) -> Option<CallFailure> {
        self.last_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn remember_failure(&self, kind: FailureKind, message: &str) {
        *self
            .last_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(CallFailure {
            kind,
            message: message.to_owned(),
        });
    }

    fn expect_kind(&self, kind: PluginKind, call: &str) -> bool {
        if self.kind == kind {
            return true;
        }
        tracing::error!(plugin = %self.name, kind = %self.kind, "{call} called on a {} plugin; ignored", self.kind);
        false
    }

    /// The span count of a batch this plugin should be called with (counted as a call),
    /// or `None` for an empty batch or a call its kind does not have.
    fn begin_batch(
        &self,
        kind: PluginKind,
        call: &str,
        request: &ExportTraceServiceRequest,
    ) -> Option<usize> {
        if !self.expect_kind(kind, call) {
            return None;
        }
        let spans_in = count_spans(&request.resource_spans);
        if spans_in == 0 {
            return None;
        }
        self.count_call(spans_in);
        Some(spans_in)
    }

    fn count_call(&self, spans_in: usize) {
        self.counters.calls.fetch_add(1, Ordering::Relaxed);
        add(&self.counters.spans_in, spans_in);
    }

    fn circuit(&self) -> MutexGuard<'_, Circuit> {
        self.circuit.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts what the plugin dropped, or applies `on_error` to the whole request.
    fn finish_stage(
        &self,
        request: &mut ExportTraceServiceRequest,
        spans_in: usize,
        result: Result<usize, FailureKind>,
    ) -> StageOutcome {
        let (spans_dropped, failure) = match result {
            Ok(dropped) => (dropped, None),
            Err(failure) => match self.on_error {
                OnError::Pass => (0, Some(failure)),
                OnError::Drop => {
                    request.resource_spans.clear();
                    (spans_in, Some(failure))
                }
            },
        };
        add(&self.counters.spans_dropped, spans_dropped);
        StageOutcome {
            spans_in,
            spans_dropped,
            failure,
        }
    }

    /// One guest call through the circuit breaker and a pool slot; logs and counts a
    /// failure, and opens the circuit when it is one too many.
    fn run<R>(
        &self,
        operation: impl FnOnce(&mut Instance, &mut Columns, &mut EditScratch) -> Result<R, Failure>,
    ) -> Result<R, FailureKind> {
        if self.circuit().admit(Instant::now()) == Admission::Skip {
            self.count_failure(FailureKind::CircuitOpen);
            self.remember_failure(
                FailureKind::CircuitOpen,
                "the circuit breaker is open after repeated failures; the call was skipped",
            );
            tracing::debug!(plugin = %self.name, on_error = self.on_error.as_str(), "plugin circuit open; call skipped");
            return Err(FailureKind::CircuitOpen);
        }
        let started = Instant::now();
        let result = {
            let mut slot = self.pool.acquire();
            self.run_in_slot(&mut slot, operation)
        };
        let elapsed = started.elapsed().as_nanos();
        self.counters.call_nanos.fetch_add(
            u64::try_from(elapsed).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        match result {
            Ok(value) => {
                if self.circuit().record_success() {
                    self.counters.circuit_closed.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(
                        plugin = %self.name,
                        "plugin circuit closed: the trial call after the cooldown succeeded; \
                         calls resume"
                    );
                }
                Ok(value)
            }
            Err(failure) => {
                self.count_failure(failure.kind);
                self.remember_failure(failure.kind, &failure.message);
                tracing::warn!(
                    plugin = %self.name,
                    kind = failure.kind.as_str(),
                    error = %failure.message,
                    on_error = self.on_error.as_str(),
                    "plugin call failed"
                );
                let mut circuit = self.circuit();
                if circuit.record_failure(Instant::now()) {
                    self.counters.circuit_opened.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(
                        plugin = %self.name,
                        consecutive_failures = circuit.consecutive_failures(),
                        cooldown = ?self.limits.circuit_cooldown,
                        on_error = self.on_error.as_str(),
                        "plugin circuit opened: calls are skipped until the cooldown ends"
                    );
                }
                Err(failure.kind)
            }
        }
    }

    fn run_in_slot<R>(
        &self,
        slot: &mut Slot,
        operation: impl FnOnce(&mut Instance, &mut Columns, &mut EditScratch) -> Result<R, Failure>,
    ) -> Result<R, Failure> {
        let Slot {
            instance,
            started,
            columns,
            edits,
        } = slot;
        let live = match instance {
            Some(live) => live,
            None => {
                let fresh = self.recipe.create().map_err(|error| match error {
                    CreateError::Refused(message) => Failure::new(
                        FailureKind::Init,
                        format!("init refused while re-creating the instance: {message}"),
                    ),
                    CreateError::Failed(failure) => Failure::new(
                        FailureKind::Init,
                        format!(
                            "re-creating the instance failed ({}): {}",
                            failure.kind, failure.message
                        ),
                    ),
                })?;
                if *started {
                    self.counters.restarts.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(plugin = %self.name, "plugin instance re-created");
                }
                *started = true;
                instance.insert(fresh.0)
            }
        };
        let result = operation(live, columns, edits);
        let memory = live.store.data().limiter.memory_bytes;
        self.counters
            .memory_peak
            .fetch_max(memory as u64, Ordering::Relaxed);
        if let Err(failure) = &result
            && failure.kind.kills_instance()
        {
            // Dropping the store frees the instance and all its memory.
            *instance = None;
        }
        result
    }

    fn count_failure(&self, kind: FailureKind) {
        self.counters.failures[kind.index()].fetch_add(1, Ordering::Relaxed);
    }
}

fn check_limits(plugin: &str, limits: &PluginLimits) -> Result<(), PluginError> {
    let problem = if limits.call_timeout.is_zero() {
        Some("call_timeout must be greater than zero")
    } else if limits.max_memory_bytes < 64 * 1024 {
        Some("max_memory_bytes must be at least one wasm page (64 KiB)")
    } else if limits.instances == 0 {
        Some("instances must be at least 1")
    } else if limits.failure_threshold == 0 {
        Some("failure_threshold must be at least 1")
    } else {
        None
    };
    match problem {
        Some(message) => Err(PluginError::Limits {
            plugin: plugin.to_owned(),
            message: message.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Distinct trace ids in order of first appearance, with their span counts.
fn distinct_traces(request: &ExportTraceServiceRequest) -> (Vec<[u8; 16]>, Vec<usize>) {
    let mut ids = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    let mut positions: HashMap<[u8; 16], usize> = HashMap::new();
    for span in request
        .resource_spans
        .iter()
        .flat_map(|resource_spans| &resource_spans.scope_spans)
        .flat_map(|scope_spans| &scope_spans.spans)
    {
        let mut id = [0u8; 16];
        let length = span.trace_id.len().min(16);
        id[..length].copy_from_slice(&span.trace_id[..length]);
        let position = *positions.entry(id).or_insert_with(|| {
            ids.push(id);
            counts.push(0);
            ids.len() - 1
        });
        counts[position] += 1;
    }
    (ids, counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::convert::trace_id_bytes;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn plugin_is_send_and_sync() {
        assert_send_sync::<Plugin>();
        assert_send_sync::<PluginRuntime>();
        assert_send_sync::<CompiledPlugin>();
    }

    #[test]
    fn distinct_traces_keep_first_appearance_order() {
        let mut request = crate::plugin::columns::tests::sample_request();
        // sample: trace A, A, B; add another A at the end.
        let extra = request.resource_spans[0].scope_spans[0].spans[0].clone();
        request.resource_spans[1].scope_spans[1].spans.push(extra);
        let (ids, counts) = distinct_traces(&request);
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0][0], 1);
        assert_eq!(ids[1], [2; 16]);
        assert_eq!(counts, vec![3, 1]);
        assert_eq!(
            trace_id_bytes(0x0102030405060708, 0x090a0b0c0d0e0f10),
            ids[0]
        );
    }

    #[test]
    fn limits_are_checked() {
        let bad = PluginLimits {
            instances: 0,
            ..PluginLimits::default()
        };
        assert!(
            check_limits("p", &bad)
                .unwrap_err()
                .to_string()
                .contains("instances")
        );
        assert!(check_limits("p", &PluginLimits::default()).is_ok());
    }
}
