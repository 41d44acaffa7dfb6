//! The wasmtime bindings of `wit/plugin.wit`, one module per world.
//!
//! `types` and `host` are generated once, in `processor`, and shared by the sampler
//! and metrics worlds through `with`: one `SpanBatch` type is built for every kind of
//! plugin, and the `host` imports are linked once for all three.

pub(super) mod processor {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "processor-plugin",
        // Tests compare column sets.
        additional_derives: [PartialEq],
    });
}

pub(super) mod sampler {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "sampler-plugin",
        with: {
            "spangate:plugin/types": super::processor::spangate::plugin::types,
            "spangate:plugin/host": super::processor::spangate::plugin::host,
        },
    });
}

pub(super) mod metrics {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "metrics-plugin",
        with: {
            "spangate:plugin/types": super::processor::spangate::plugin::types,
            "spangate:plugin/host": super::processor::spangate::plugin::host,
        },
    });
}

pub(super) use processor::spangate::plugin::host;
pub(super) use processor::spangate::plugin::types as wit;

/// Export names the host recognises, one per plugin kind.
pub(super) const PROCESSOR_EXPORT: &str = "spangate:plugin/processor@0.1.0";
pub(super) const SAMPLER_EXPORT: &str = "spangate:plugin/sampler@0.1.0";
pub(super) const METRICS_EXPORT: &str = "spangate:plugin/metrics@0.1.0";
