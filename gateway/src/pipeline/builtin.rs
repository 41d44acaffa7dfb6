//! The built-in plugins, compiled to components by `build.rs` and embedded here.

include!(concat!(env!("OUT_DIR"), "/builtin_components.rs"));

/// What `builtin:<name>` accepts; `build.rs` embeds exactly these.
pub const BUILTIN_NAMES: [&str; 3] = ["redaction", "sampling", "span-metrics"];

/// The embedded component of a built-in plugin.
pub fn component(name: &str) -> Option<&'static [u8]> {
    BUILTIN_COMPONENTS
        .iter()
        .find(|(builtin, _)| *builtin == name)
        .map(|(_, wasm)| *wasm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_is_embedded_as_a_component() {
        for name in BUILTIN_NAMES {
            let wasm = component(name).unwrap_or_else(|| panic!("{name} is not embedded"));
            // A component's preamble: magic, then version 0x0d and layer 1.
            assert_eq!(
                &wasm[..8],
                b"\0asm\x0d\x00\x01\x00",
                "{name} is not a component"
            );
        }
        assert_eq!(BUILTIN_COMPONENTS.len(), BUILTIN_NAMES.len());
    }
}
