//! The WIT bindings (wit-bindgen over `../wit`), one module per world.
//!
//! The `types` and `host` interfaces are generated once, in `processor_world`, and shared
//! by the other two worlds through `with`, so a `Needs` or `SpanBatch` is the same Rust
//! type whichever world a plugin exports. Each world gets its own export macro name; the
//! SDK's `export_processor!` / `export_sampler!` / `export_metrics!` call them.

/// The processor world; also the home of the shared `types` and `host` bindings.
pub mod processor_world {
    wit_bindgen::generate!({
        path: "../wit",
        world: "processor-plugin",
        // The sampler and metrics worlds reuse these types, including the ones this world
        // does not mention (decision, metric-point, sampler-needs, ...).
        generate_unused_types: true,
        additional_derives: [PartialEq],
        pub_export_macro: true,
        export_macro_name: "__spangate_export_processor_world",
        default_bindings_module: "spangate_plugin_sdk::bindings::processor_world",
        runtime_path: "::spangate_plugin_sdk::__private::wit_bindgen::rt",
    });
}

/// The sampler world.
pub mod sampler_world {
    wit_bindgen::generate!({
        path: "../wit",
        world: "sampler-plugin",
        with: {
            "spangate:plugin/types@0.2.0": crate::bindings::processor_world::spangate::plugin::types,
            "spangate:plugin/host@0.2.0": crate::bindings::processor_world::spangate::plugin::host,
        },
        pub_export_macro: true,
        export_macro_name: "__spangate_export_sampler_world",
        default_bindings_module: "spangate_plugin_sdk::bindings::sampler_world",
        runtime_path: "::spangate_plugin_sdk::__private::wit_bindgen::rt",
    });
}

/// The metrics world.
pub mod metrics_world {
    wit_bindgen::generate!({
        path: "../wit",
        world: "metrics-plugin",
        with: {
            "spangate:plugin/types@0.2.0": crate::bindings::processor_world::spangate::plugin::types,
            "spangate:plugin/host@0.2.0": crate::bindings::processor_world::spangate::plugin::host,
        },
        pub_export_macro: true,
        export_macro_name: "__spangate_export_metrics_world",
        default_bindings_module: "spangate_plugin_sdk::bindings::metrics_world",
        runtime_path: "::spangate_plugin_sdk::__private::wit_bindgen::rt",
    });
}

pub use processor_world::spangate::plugin::types;

/// The generated `host` imports (only callable inside a wasm component).
pub use processor_world::spangate::plugin::host as host_imports;
