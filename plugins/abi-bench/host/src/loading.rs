//! Compile, cached-artifact load and instantiate costs of one component.

use std::time::{Duration, Instant};

use anyhow::Result;
use wasmtime::component::Component;

use crate::measure::median_time;
use crate::runtime::Runtime;

pub struct LoadStats {
    pub wasm_bytes: usize,
    pub artifact_bytes: usize,
    /// `Component::new` (Cranelift compile), median.
    pub compile: Duration,
    /// `Component::deserialize` of the serialized artifact, median.
    pub deserialize: Duration,
    /// `InstancePre::instantiate` into a fresh store, median.
    pub instantiate: Duration,
}

const COMPILE_REPS: usize = 3;
const DESERIALIZE_REPS: usize = 11;
const INSTANTIATE_REPS: usize = 51;

/// Measures the load path and returns the compiled component for use.
pub fn load(rt: &Runtime, wasm: &[u8]) -> Result<(Component, LoadStats)> {
    let compile = median_time(COMPILE_REPS, || {
        let start = Instant::now();
        rt.compile(wasm)?;
        Ok(start.elapsed())
    })?;
    let component = rt.compile(wasm)?;
    let artifact = component.serialize()?;
    let deserialize = median_time(DESERIALIZE_REPS, || {
        let start = Instant::now();
        // SAFETY: `artifact` was produced just above by this engine's
        // `serialize`; production must likewise only load artifacts it wrote.
        unsafe { Component::deserialize(&rt.engine, &artifact)? };
        Ok(start.elapsed())
    })?;
    let pre = rt.linker.instantiate_pre(&component)?;
    let instantiate = median_time(INSTANTIATE_REPS, || {
        let mut store = rt.new_store();
        let start = Instant::now();
        pre.instantiate(&mut store)?;
        Ok(start.elapsed())
    })?;
    Ok((
        component,
        LoadStats {
            wasm_bytes: wasm.len(),
            artifact_bytes: artifact.len(),
            compile,
            deserialize,
            instantiate,
        },
    ))
}
