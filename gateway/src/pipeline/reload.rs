//! The current pipeline, swapped whole on reload (`SIGHUP`).
//!
//! A batch takes the pipeline current when it starts and finishes with it, so a
//! reload never loses or half-processes a span: the old plugins are dropped once the
//! last batch using them is done. A reload that fails (bad config, a plugin refusing
//! its config) changes nothing and says why.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use crate::config::Config;
use crate::pipeline::{Pipeline, PipelineError};
use crate::plugin::PluginRuntime;

pub struct PipelineHandle {
    runtime: Arc<PluginRuntime>,
    current: RwLock<Arc<Pipeline>>,
    /// The config file re-read on reload; `None` when running on the embedded default.
    config_path: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("no --config file to reload from (running on the embedded default)")]
    NoConfigFile,
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

impl PipelineHandle {
    pub fn new(
        runtime: Arc<PluginRuntime>,
        pipeline: Pipeline,
        config_path: Option<PathBuf>,
    ) -> PipelineHandle {
        PipelineHandle {
            runtime,
            current: RwLock::new(Arc::new(pipeline)),
            config_path,
        }
    }

    /// The pipeline new batches use.
    pub fn current(&self) -> Arc<Pipeline> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn runtime(&self) -> &Arc<PluginRuntime> {
        &self.runtime
    }

    /// Re-reads the config file and swaps in its pipeline. Other sections of the file
    /// are validated but only take effect on restart.
    pub fn reload(&self) -> Result<usize, ReloadError> {
        let path = self
            .config_path
            .as_deref()
            .ok_or(ReloadError::NoConfigFile)?;
        let config = Config::from_file(path)?;
        let pipeline = Pipeline::build(&self.runtime, &config.pipeline, &config.base_dir)?;
        let plugins = pipeline.plugins().len();
        let tail_sampler_added = pipeline.tail_sampler().is_some();
        let previous = std::mem::replace(
            &mut *self
                .current
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            Arc::new(pipeline),
        );
        if tail_sampler_added && previous.tail_sampler().is_none() {
            tracing::warn!(
                "the reloaded pipeline tail-samples but the running one did not: tail sampling \
                 starts after a restart"
            );
        }
        tracing::info!(config = %path.display(), plugins, "pipeline reloaded");
        Ok(plugins)
    }
}
