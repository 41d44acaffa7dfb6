//! The wasmtime bindings of `wit/plugin.wit` (`spangate:plugin@0.2.0`), one module per
//! world.
//!
//! `types` and `host` are generated once, in `processor`, and shared by the sampler
//! and metrics worlds through `with`: one `SpanBatch` type is built for every kind of
//! plugin, and the `host` imports are linked once for all three.

pub(super) mod processor {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "processor-plugin",
        // Tests compare batches.
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

/// The WIT package this host speaks; its version is the layout crate's.
pub(super) const PACKAGE: &str = "spangate:plugin";
pub(super) const VERSION: &str = spangate_plugin_abi::WIT_VERSION;

/// Export names the host recognises, one per plugin kind.
pub(super) const PROCESSOR_EXPORT: &str = "spangate:plugin/processor@0.2.0";
pub(super) const SAMPLER_EXPORT: &str = "spangate:plugin/sampler@0.2.0";
pub(super) const METRICS_EXPORT: &str = "spangate:plugin/metrics@0.2.0";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_names_carry_the_layout_version() {
        for export in [PROCESSOR_EXPORT, SAMPLER_EXPORT, METRICS_EXPORT] {
            assert!(export.starts_with(&format!("{PACKAGE}/")), "{export}");
            assert!(export.ends_with(&format!("@{VERSION}")), "{export}");
        }
    }
}
