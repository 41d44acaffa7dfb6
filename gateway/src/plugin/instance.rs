//! Live instances: creating one (instantiate + `init`), calling it under a deadline
//! with its failure classified, and the pool of slots a plugin's callers share.
//!
//! A slot holds at most one instance and the column / edit buffers its calls reuse.
//! A trap, timeout or memory overrun leaves a component instance unusable, so the
//! slot drops it (and its `Store`, with all guest memory); the next call through the
//! slot creates a fresh one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use wasmtime::{Store, Trap};

use super::bindings::{self, wit};
use super::columns::Columns;
use super::convert::Needs;
use super::edits::EditScratch;
use super::runtime::{HostState, MemoryLimitExceeded, PluginRuntime, Pre};
use super::{FailureKind, PluginLimits};

pub(super) enum Exports {
    Processor(bindings::processor::ProcessorPlugin),
    Sampler(bindings::sampler::SamplerPlugin),
    Metrics(bindings::metrics::MetricsPlugin),
}

pub(super) struct Instance {
    pub(super) store: Store<HostState>,
    pub(super) exports: Exports,
    /// What this instance declared at `init`: the columns it gets and the edits it may make.
    pub(super) needs: Needs,
}

/// What `init` answered.
pub(super) struct Declared {
    pub(super) needs: wit::Needs,
    pub(super) tail: Option<wit::TailSettings>,
}

/// A failed guest call (or instance creation), classified.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) kind: FailureKind,
    pub(super) message: String,
}

impl Failure {
    pub(super) fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

pub(super) enum CreateError {
    /// `init` returned `err(message)`.
    Refused(String),
    /// Instantiation or `init` trapped, timed out or ran out of memory.
    Failed(Failure),
}

/// Everything needed to (re-)create an instance of one plugin.
pub(super) struct Recipe {
    pub(super) runtime: Arc<PluginRuntime>,
    pub(super) pre: Pre,
    pub(super) plugin: Arc<str>,
    pub(super) config_json: String,
    pub(super) limits: PluginLimits,
}

/// `init` may build tables or compile patterns: it gets this many call budgets.
const INIT_TIMEOUT_FACTOR: u32 = 10;

impl Recipe {
    pub(super) fn create(&self) -> Result<(Instance, Declared), CreateError> {
        let mut store = self
            .runtime
            .new_store(self.plugin.clone(), self.limits.max_memory_bytes);
        let init_ticks = self
            .runtime
            .deadline_ticks(self.limits.call_timeout.saturating_mul(INIT_TIMEOUT_FACTOR));
        store.set_epoch_deadline(init_ticks);
        store.data_mut().begin_call();
        let instantiated = match &self.pre {
            Pre::Processor(pre) => pre.instantiate(&mut store).map(Exports::Processor),
            Pre::Sampler(pre) => pre.instantiate(&mut store).map(Exports::Sampler),
            Pre::Metrics(pre) => pre.instantiate(&mut store).map(Exports::Metrics),
        };
        let exports = instantiated.map_err(|error| CreateError::Failed(classify(&store, error)))?;
        let config = self.config_json.as_str();
        let answer = match &exports {
            Exports::Processor(plugin) => plugin
                .spangate_plugin_processor()
                .call_init(&mut store, config)
                .map(|answer| answer.map(|needs| Declared { needs, tail: None })),
            Exports::Sampler(plugin) => plugin
                .spangate_plugin_sampler()
                .call_init(&mut store, config)
                .map(|answer| {
                    answer.map(|sampler_needs| Declared {
                        needs: sampler_needs.needs,
                        tail: sampler_needs.tail,
                    })
                }),
            Exports::Metrics(plugin) => plugin
                .spangate_plugin_metrics()
                .call_init(&mut store, config)
                .map(|answer| answer.map(|needs| Declared { needs, tail: None })),
        };
        store.data_mut().end_call();
        let declared = match answer {
            Ok(Ok(declared)) => declared,
            Ok(Err(message)) => return Err(CreateError::Refused(message)),
            Err(error) => return Err(CreateError::Failed(classify(&store, error))),
        };
        let needs = Needs::from_wit(&declared.needs);
        Ok((
            Instance {
                store,
                exports,
                needs,
            },
            declared,
        ))
    }
}

impl Instance {
    /// Runs one guest call under the plugin's deadline; a wasmtime error (trap,
    /// interrupt, refused memory grow) becomes a classified `Failure`.
    pub(super) fn call<R>(
        &mut self,
        deadline_ticks: u64,
        call: impl FnOnce(&Exports, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, Failure> {
        self.store.set_epoch_deadline(deadline_ticks);
        self.store.data_mut().begin_call();
        let result = call(&self.exports, &mut self.store);
        self.store.data_mut().end_call();
        result.map_err(|error| classify(&self.store, error))
    }
}

fn classify(store: &Store<HostState>, error: wasmtime::Error) -> Failure {
    let state = store.data();
    let memory = state.limiter.exceeded || error.downcast_ref::<MemoryLimitExceeded>().is_some();
    let kind = if memory {
        FailureKind::Memory
    } else if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        FailureKind::Timeout
    } else {
        FailureKind::Trap
    };
    // The root cause is the readable part ("wasm `unreachable` instruction executed");
    // the full chain, with the guest backtrace, goes to debug logs.
    tracing::debug!(plugin = %state.plugin, error = ?error, "plugin call failed");
    let mut message = match kind {
        FailureKind::Memory => error
            .downcast_ref::<MemoryLimitExceeded>()
            .map_or_else(|| error.root_cause().to_string(), ToString::to_string),
        _ => error.root_cause().to_string(),
    };
    // A guest that panics logs why just before it traps (the SDKs do).
    if kind == FailureKind::Trap
        && let Some(logged) = state.last_error_log()
    {
        message.push_str("; the plugin logged before it trapped: ");
        message.push_str(logged);
    }
    Failure::new(kind, message)
}

/// One instance (if alive) and the buffers its calls reuse.
#[derive(Default)]
pub(super) struct Slot {
    pub(super) instance: Option<Instance>,
    /// An instance has lived in this slot: creating the next one is a restart.
    pub(super) started: bool,
    pub(super) columns: Columns,
    pub(super) edits: EditScratch,
}

pub(super) struct Pool {
    slots: Box<[Mutex<Slot>]>,
    next: AtomicUsize,
}

impl Pool {
    pub(super) fn new(size: usize, first: Instance) -> Pool {
        let slots: Box<[Mutex<Slot>]> = (0..size.max(1))
            .map(|_| Mutex::new(Slot::default()))
            .collect();
        {
            let mut slot = lock(&slots[0]);
            slot.instance = Some(first);
            slot.started = true;
        }
        Pool {
            slots,
            next: AtomicUsize::new(0),
        }
    }

    /// How many instances the pool holds (created on first use after the first).
    pub(super) fn size(&self) -> usize {
        self.slots.len()
    }

    /// A free slot if there is one, else waits on one (round robin). Instances are
    /// never called concurrently: a slot is held for the whole call.
    pub(super) fn acquire(&self) -> MutexGuard<'_, Slot> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let count = self.slots.len();
        for offset in 0..count {
            if let Ok(slot) = self.slots[(start + offset) % count].try_lock() {
                return slot;
            }
        }
        lock(&self.slots[start % count])
    }
}

/// Host code never panics while holding a slot, but a poisoned lock must not take
/// the plugin down with it either.
fn lock(slot: &Mutex<Slot>) -> MutexGuard<'_, Slot> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}
